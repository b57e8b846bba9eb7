//! The `[providers.NAME]` sections: kind, endpoint, keys, headers,
//! timeouts, the wire API (for Ollama) and Bedrock's region and credentials.

use super::load::read_timeouts;
use super::section::{Errors, Section, closest, join};
use super::{ProviderConfig, ProviderKind, Timeouts, WireApi};
use http::{HeaderName, HeaderValue};
use secrecy::SecretString;
use toml::{Table, Value};

pub(super) static PROVIDER_KEYS: &[&str] = &[
    "kind",
    "base_url",
    "api_key",
    "headers",
    "timeouts",
    "api",
    "discover",
    "local",
    "stream_whole_answers",
    // Bedrock's own, from here to the end.
    "region",
    "profile",
    "endpoint",
    "access_key_id",
    "secret_access_key",
    "session_token",
];

pub(super) fn read_provider(
    name: &str,
    table: &Table,
    path: &str,
    default_timeouts: Timeouts,
    errors: &mut Errors,
) -> Option<ProviderConfig> {
    let s = Section::new(table, path, PROVIDER_KEYS, errors);
    let kind_names: Vec<&str> = ProviderKind::ALL.iter().map(|(n, _)| *n).collect();
    let kind = match s.str("kind", errors) {
        None => {
            errors.add(
                &s.path("kind"),
                "missing",
                Some(format!("one of: {}", kind_names.join(", "))),
            );
            None
        }
        Some(k) => {
            let found = ProviderKind::ALL
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, kind)| *kind);
            if found.is_none() {
                let hint = match closest(&k, &kind_names) {
                    Some(c) => format!("did you mean '{c}'?"),
                    None => format!("one of: {}", kind_names.join(", ")),
                };
                errors.add(
                    &s.path("kind"),
                    format!("unknown provider kind '{k}'"),
                    Some(hint),
                );
            }
            found
        }
    };
    let bedrock = read_bedrock(&s, kind, errors);
    let base_url = s
        .non_empty_str("base_url", errors)
        .or_else(|| s.non_empty_str("endpoint", errors))
        .or_else(|| {
            bedrock
                .as_ref()
                .map(|b| format!("https://bedrock-runtime.{}.amazonaws.com", b.region))
        })
        .unwrap_or_else(|| {
            kind.unwrap_or(ProviderKind::Anthropic)
                .default_base_url()
                .to_string()
        });
    let base_url = base_url.trim_end_matches('/').to_string();
    match reqwest::Url::parse(&base_url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
        _ => errors.add(
            &s.path("base_url"),
            format!("'{base_url}' is not an http(s) URL"),
            Some("e.g. \"https://api.anthropic.com\"".into()),
        ),
    }
    let api_key = s.non_empty_str("api_key", errors);
    for (host, var) in [
        ("api.anthropic.com", "ANTHROPIC_API_KEY"),
        ("api.openai.com", "OPENAI_API_KEY"),
    ] {
        if api_key.is_none() && base_url.contains(host) {
            errors.add(
                &s.path("api_key"),
                format!("{host} needs an API key"),
                Some(format!("api_key = \"${{{var}}}\" and export {var}")),
            );
        }
    }
    let api = read_api(&s, kind, errors);
    let discover = match s.get("discover") {
        None => kind == Some(ProviderKind::Ollama),
        Some(Value::Boolean(b)) => *b,
        Some(other) => {
            s.wrong_type("discover", "true or false", other, errors);
            false
        }
    };
    // Ollama runs beside the gateway unless told otherwise; any other kind
    // is a service elsewhere unless the config says it is on this machine.
    let local = s
        .bool("local", errors)
        .unwrap_or(kind == Some(ProviderKind::Ollama));
    let stream_whole_answers = s.bool("stream_whole_answers", errors).unwrap_or(true);
    let mut headers = Vec::new();
    if let Some(h) = s.table("headers", errors) {
        for (k, v) in h {
            let hp = join(&s.path("headers"), k);
            let value = match v {
                Value::String(v) => v,
                other => {
                    errors.add(
                        &hp,
                        format!("expected a string, found {}", other.type_str()),
                        None,
                    );
                    continue;
                }
            };
            match (
                HeaderName::try_from(k.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                (Ok(n), Ok(v)) => headers.push((n, v)),
                _ => errors.add(&hp, "not a valid HTTP header", None),
            }
        }
    }
    let timeouts = read_timeouts(
        s.table("timeouts", errors),
        &s.path("timeouts"),
        default_timeouts,
        errors,
    );
    Some(ProviderConfig {
        name: name.to_string(),
        kind: kind?,
        api,
        discover,
        local,
        stream_whole_answers,
        bedrock,
        base_url,
        api_key: api_key.map(SecretString::from),
        headers,
        timeouts,
    })
}

fn read_bedrock(
    s: &Section<'_>,
    kind: Option<ProviderKind>,
    errors: &mut Errors,
) -> Option<super::BedrockSettings> {
    if kind != Some(ProviderKind::Bedrock) {
        // The keys after `discover` are Bedrock's own.
        let own = PROVIDER_KEYS.iter().skip_while(|k| **k != "region");
        for k in own {
            if s.has(k) {
                errors.add(&s.path(k), "only bedrock providers take this key", None);
            }
        }
        return None;
    }
    let region = s.non_empty_str("region", errors).unwrap_or_else(|| {
        errors.add(
            &s.path("region"),
            "missing",
            Some("region = \"${AWS_REGION:-us-east-1}\"".into()),
        );
        "us-east-1".into()
    });
    let access_key_id = s.non_empty_str("access_key_id", errors);
    let secret_access_key = s
        .non_empty_str("secret_access_key", errors)
        .map(SecretString::from);
    if access_key_id.is_some() != secret_access_key.is_some() {
        errors.add(
            &s.path("access_key_id"),
            "access_key_id and secret_access_key go together",
            None,
        );
    }
    if s.non_empty_str("api_key", errors).is_some() && access_key_id.is_some() {
        errors.add(
            &s.path("api_key"),
            "a Bedrock API key and AWS access keys cannot be mixed",
            Some("keep one of them".into()),
        );
    }
    Some(super::BedrockSettings {
        region,
        profile: s.non_empty_str("profile", errors),
        access_key_id,
        secret_access_key,
        session_token: s
            .non_empty_str("session_token", errors)
            .map(SecretString::from),
    })
}

fn read_api(s: &Section<'_>, kind: Option<ProviderKind>, errors: &mut Errors) -> WireApi {
    let api = s.str("api", errors);
    match (kind, api.as_deref()) {
        (Some(ProviderKind::OpenAi), None) => WireApi::OpenAi,
        (Some(ProviderKind::Bedrock), None) => WireApi::Bedrock,
        (Some(ProviderKind::Ollama), None | Some("native")) => WireApi::OllamaNative,
        (Some(ProviderKind::Ollama), Some("anthropic")) => WireApi::Anthropic,
        (Some(ProviderKind::Ollama), Some("openai")) => WireApi::OpenAi,
        (Some(ProviderKind::Ollama), Some(other)) => {
            errors.add(
                &s.path("api"),
                format!("unknown ollama api '{other}'"),
                Some("\"native\" (/api/chat), \"anthropic\" (/v1/messages, Ollama ≥ 0.14) or \"openai\" (/v1)".into()),
            );
            WireApi::OllamaNative
        }
        (_, Some(_)) => {
            errors.add(&s.path("api"), "only ollama providers take 'api'", None);
            WireApi::Anthropic
        }
        (_, None) => WireApi::Anthropic,
    }
}

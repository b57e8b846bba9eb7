//! The config loader: parse, interpolate, validate, and collect every error.
//!
//! Sections are read key by key against an explicit list of accepted keys, so
//! one pass reports every unknown key (with a "did you mean"), every bad value
//! and every broken reference, each with its dotted path.

use super::interpolate::interpolate;
use super::section::{ConfigError, ConfigErrors, Errors, Section, closest, join};
use super::{
    AuthConfig, Capabilities, Config, ConfigSource, DEFAULT_BODY_LIMIT, DEFAULT_LISTEN,
    ModelConfig, ProviderConfig, ProviderKind, RetryPolicy, Timeouts, WireApi, is_loopback,
};
use http::{HeaderName, HeaderValue};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::Path;

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;
use std::time::Duration;
use toml::{Table, Value};

/// Load a config file.
pub fn load_file(path: &Path, env: Env<'_>) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            path: String::new(),
            message: format!("cannot read {}: {e}", path.display()),
            hint: Some("pass --config FILE, or run without one for the built-in default".into()),
        }])
    })?;
    load_str(&text, ConfigSource::File(path.to_path_buf()), env)
}

/// Load a config from TOML text.
pub fn load_str(text: &str, source: ConfigSource, env: Env<'_>) -> Result<Config, ConfigErrors> {
    let mut root: Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigErrors(vec![ConfigError {
            path: String::new(),
            message: format!("not valid TOML: {}", e.message()),
            hint: e.span().map(|s| {
                let (line, col) = line_col(text, s.start);
                format!("look at line {line}, column {col}")
            }),
        }])
    })?;
    let mut errors = Errors::default();
    interpolate_table(&mut root, "", env, &mut errors);
    let config = build(&root, source, env, &mut errors);
    if errors.0.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(errors.0))
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

fn interpolate_table(table: &mut Table, path: &str, env: Env<'_>, errors: &mut Errors) {
    for (key, value) in table.iter_mut() {
        interpolate_value(value, &join(path, key), env, errors);
    }
}

fn interpolate_value(value: &mut Value, path: &str, env: Env<'_>, errors: &mut Errors) {
    match value {
        Value::String(s) => match interpolate(s, env) {
            Ok(v) => *s = v,
            Err(e) => errors.add(
                path,
                e.to_string(),
                Some("export the variable, or write ${VAR:-default}".into()),
            ),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_value(item, &format!("{path}[{i}]"), env, errors);
            }
        }
        Value::Table(t) => interpolate_table(t, path, env, errors),
        _ => {}
    }
}

const TOP_KEYS: &[&str] = &[
    "listen",
    "master_key",
    "auth",
    "body_limit",
    "shutdown_timeout",
    "timeouts",
    "retry",
    "providers",
    "models",
    "tiers",
    "routes",
    "router",
    "health",
    "database_url",
    "retention",
    "prices_file",
    "costs",
    "cache",
    "redis_url",
];
const TIMEOUT_KEYS: &[&str] = &["connect", "first_byte", "idle", "total"];
const RETRY_KEYS: &[&str] = &["attempts", "backoff", "max_backoff"];
const PROVIDER_KEYS: &[&str] = &[
    "kind",
    "base_url",
    "api_key",
    "headers",
    "timeouts",
    "api",
    "discover",
    "region",
    "profile",
    "endpoint",
    "access_key_id",
    "secret_access_key",
    "session_token",
];
const PRICE_KEYS: &[&str] = &[
    "input",
    "output",
    "cache_write_5m",
    "cache_write_1h",
    "cache_read",
    "long_context",
];
const MODEL_KEYS: &[&str] = &[
    "provider",
    "id",
    "aliases",
    "capabilities",
    "context_window",
    "price",
];

fn build(root: &Table, source: ConfigSource, env: Env<'_>, errors: &mut Errors) -> Config {
    let top = Section::new(root, "", TOP_KEYS, errors);
    let listen_text = top
        .str("listen", errors)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen: SocketAddr = listen_text.parse().unwrap_or_else(|_| {
        errors.add(
            "listen",
            format!("'{listen_text}' is not an address"),
            Some("write it as IP:PORT, e.g. \"127.0.0.1:4000\"".into()),
        );
        SocketAddr::from(([127, 0, 0, 1], 4000))
    });
    let auth = read_auth(&top, &listen, env, errors);
    let body_limit = top
        .size("body_limit", errors)
        .map(|b| usize::try_from(b).unwrap_or(usize::MAX))
        .unwrap_or(DEFAULT_BODY_LIMIT);
    let shutdown_timeout = top
        .duration("shutdown_timeout", errors)
        .unwrap_or(Duration::from_secs(30));
    let timeouts = read_timeouts(
        top.table("timeouts", errors),
        "timeouts",
        Timeouts::default(),
        errors,
    );
    let retry = read_retry(top.table("retry", errors), errors);

    let mut providers = Vec::new();
    if let Some(table) = top.table("providers", errors) {
        for (name, value) in table {
            let path = join("providers", name);
            match value {
                Value::Table(t) => {
                    if let Some(p) = read_provider(name, t, &path, timeouts, errors) {
                        providers.push(p);
                    }
                }
                other => errors.add(
                    &path,
                    format!("expected a table, found {}", other.type_str()),
                    None,
                ),
            }
        }
    }
    // Models may name any provider section, even one with errors of its own.
    let provider_names: Vec<&str> = match root.get("providers") {
        Some(Value::Table(t)) => t.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let mut models = Vec::new();
    if let Some(table) = top.table("models", errors) {
        for (name, value) in table {
            let path = join("models", name);
            match value {
                Value::Table(t) => {
                    if let Some(m) = read_model(name, t, &path, &provider_names, errors) {
                        models.push(m);
                    }
                }
                other => errors.add(
                    &path,
                    format!("expected a table, found {}", other.type_str()),
                    None,
                ),
            }
        }
    }
    let model_names: Vec<&str> = match root.get("models") {
        Some(Value::Table(t)) => t.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let routing = super::routing::read(root, &model_names, errors);
    let ledger = read_ledger(&top, errors);
    let cache = super::cache::read(root, errors);
    Config {
        listen,
        cache,
        routing,
        ledger,
        auth,
        body_limit,
        shutdown_timeout,
        timeouts,
        retry,
        providers,
        models,
        source,
        notes: Vec::new(),
    }
}

fn read_ledger(top: &Section<'_>, errors: &mut Errors) -> super::LedgerConfig {
    let database_url = top.non_empty_str("database_url", errors);
    if let Some(u) = &database_url
        && !["sqlite:", "postgres:", "postgresql:"]
            .iter()
            .any(|p| u.starts_with(p))
    {
        errors.add(
            "database_url",
            format!("'{u}' is not a sqlite:// or postgres:// URL"),
            None,
        );
    }
    let retention = match top.duration("retention", errors) {
        Some(d) if d.is_zero() => None,
        Some(d) => Some(d),
        None => Some(Duration::from_secs(365 * 86_400)),
    };
    let mut fixed_monthly = Vec::new();
    if let Some(costs) = top.table("costs", errors) {
        let s = Section::new(costs, "costs", &["fixed_monthly"], errors);
        if let Some(t) = s.table("fixed_monthly", errors) {
            for (name, v) in t {
                let amount = match v {
                    Value::Integer(i) if *i >= 0 => Some(rust_decimal::Decimal::from(*i)),
                    Value::Float(f) if *f >= 0.0 => f.to_string().parse().ok(),
                    _ => None,
                };
                match amount {
                    Some(a) => fixed_monthly.push((name.clone(), a)),
                    None => errors.add(
                        &join("costs.fixed_monthly", name),
                        "expected USD per month",
                        Some("e.g. ec2 = 35.0".into()),
                    ),
                }
            }
        }
    }
    super::LedgerConfig {
        database_url,
        retention,
        prices_file: top
            .non_empty_str("prices_file", errors)
            .map(std::path::PathBuf::from),
        fixed_monthly,
    }
}

fn read_auth(
    top: &Section<'_>,
    listen: &SocketAddr,
    env: Env<'_>,
    errors: &mut Errors,
) -> AuthConfig {
    let key = top
        .non_empty_str("master_key", errors)
        .or_else(|| env("SWITCHYARD_MASTER_KEY").filter(|k| !k.trim().is_empty()));
    let mode = top.str("auth", errors);
    match (mode.as_deref(), key) {
        (Some("none"), _) if !is_loopback(listen) => {
            errors.add(
                "auth",
                format!("auth = \"none\" is only allowed on a loopback address, not {listen}"),
                Some("set master_key (or SWITCHYARD_MASTER_KEY), or listen on 127.0.0.1".into()),
            );
            AuthConfig::Disabled
        }
        (Some("none"), _) => AuthConfig::Disabled,
        (None | Some("key"), Some(k)) => AuthConfig::MasterKey(SecretString::from(k)),
        (None | Some("key"), None) => {
            errors.add(
                "master_key",
                "no master key: clients could not authenticate",
                Some(
                    "set master_key = \"${SWITCHYARD_MASTER_KEY}\" and export it, \
                     or auth = \"none\" when listening on loopback"
                        .into(),
                ),
            );
            AuthConfig::Disabled
        }
        (Some(other), _) => {
            errors.add(
                "auth",
                format!("unknown auth mode '{other}'"),
                Some("use \"key\" or \"none\"".into()),
            );
            AuthConfig::Disabled
        }
    }
}

fn read_timeouts(
    table: Option<&Table>,
    path: &str,
    base: Timeouts,
    errors: &mut Errors,
) -> Timeouts {
    let Some(table) = table else { return base };
    let s = Section::new(table, path, TIMEOUT_KEYS, errors);
    Timeouts {
        connect: s.duration("connect", errors).unwrap_or(base.connect),
        first_byte: s.duration("first_byte", errors).unwrap_or(base.first_byte),
        idle: s.duration("idle", errors).unwrap_or(base.idle),
        total: s.duration("total", errors).unwrap_or(base.total),
    }
}

fn read_retry(table: Option<&Table>, errors: &mut Errors) -> RetryPolicy {
    let base = RetryPolicy::default();
    let Some(table) = table else { return base };
    let s = Section::new(table, "retry", RETRY_KEYS, errors);
    let attempts = s.u64("attempts", errors).map(|a| a.min(10) as u32);
    RetryPolicy {
        attempts: attempts.unwrap_or(base.attempts),
        backoff: s.duration("backoff", errors).unwrap_or(base.backoff),
        max_backoff: s
            .duration("max_backoff", errors)
            .unwrap_or(base.max_backoff),
    }
}

fn read_provider(
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
    let discover = match s.table.get("discover") {
        None => kind == Some(ProviderKind::Ollama),
        Some(Value::Boolean(b)) => *b,
        Some(other) => {
            s.wrong_type("discover", "true or false", other, errors);
            false
        }
    };
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
    let own = [
        "region",
        "profile",
        "endpoint",
        "access_key_id",
        "secret_access_key",
        "session_token",
    ];
    if kind != Some(ProviderKind::Bedrock) {
        for k in own {
            if s.table.contains_key(k) {
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

fn read_model(
    name: &str,
    table: &Table,
    path: &str,
    names: &[&str],
    errors: &mut Errors,
) -> Option<ModelConfig> {
    let s = Section::new(table, path, MODEL_KEYS, errors);
    let provider = s.str("provider", errors);
    match &provider {
        None => errors.add(
            &s.path("provider"),
            "missing",
            Some("name a [providers.NAME] section".into()),
        ),
        Some(p) if !names.contains(&p.as_str()) => {
            let hint = match closest(p, names) {
                Some(c) => format!("did you mean '{c}'?"),
                None if names.is_empty() => {
                    "no providers are defined; add a [providers.NAME] section".into()
                }
                None => format!("defined providers: {}", names.join(", ")),
            };
            errors.add(
                &s.path("provider"),
                format!("unknown provider '{p}'"),
                Some(hint),
            );
        }
        Some(_) => {}
    }
    let id = s.str("id", errors);
    if id.as_deref().is_some_and(|i| i.trim().is_empty()) {
        errors.add(
            &s.path("id"),
            "empty",
            Some("leave it out to forward the name the client asked for".into()),
        );
    }
    let aliases = s.str_list("aliases", errors).unwrap_or_default();
    for (i, a) in aliases.iter().enumerate() {
        if a.trim().is_empty() {
            errors.add(&format!("{}[{i}]", s.path("aliases")), "empty alias", None);
        }
    }
    let capabilities = match s.str_list("capabilities", errors) {
        None => Capabilities::all(),
        Some(list) => {
            let mut c = Capabilities::default();
            for (i, cap) in list.iter().enumerate() {
                match cap.as_str() {
                    "tools" => c.tools = true,
                    "vision" => c.vision = true,
                    "thinking" => c.thinking = true,
                    other => errors.add(
                        &format!("{}[{i}]", s.path("capabilities")),
                        format!("unknown capability '{other}'"),
                        Some(format!("one of: {}", Capabilities::NAMES.join(", "))),
                    ),
                }
            }
            c
        }
    };
    let context_window = s.u64("context_window", errors);
    let price = s
        .table("price", errors)
        .map(|t| read_price(t, &s.path("price"), errors));
    Some(ModelConfig {
        name: name.to_string(),
        provider: provider?,
        id,
        aliases,
        capabilities,
        context_window,
        price,
    })
}

fn read_rates(t: &Table, path: &str, errors: &mut Errors) -> crate::core::Rates {
    use rust_decimal::Decimal;
    let s = Section::new(t, path, PRICE_KEYS, errors);
    let mut get = |key: &str| -> Option<Decimal> {
        match t.get(key)? {
            Value::Integer(i) if *i >= 0 => Some(Decimal::from(*i)),
            Value::Float(f) if *f >= 0.0 => f.to_string().parse().ok(),
            _ => {
                errors.add(
                    &s.path(key),
                    "expected a price in USD per million tokens",
                    Some("e.g. 3.75".into()),
                );
                None
            }
        }
    };
    let input = get("input").unwrap_or_default();
    let output = get("output").unwrap_or_default();
    // Anthropic's rule: 5m writes 1.25x input, 1h writes 2x, reads 0.1x.
    let cache_write_5m = get("cache_write_5m").unwrap_or(input * Decimal::new(125, 2));
    let cache_write_1h = get("cache_write_1h").unwrap_or(input * Decimal::from(2));
    let cache_read = get("cache_read").unwrap_or(input * Decimal::new(1, 1));
    crate::core::Rates {
        input,
        output,
        cache_write_5m,
        cache_write_1h,
        cache_read,
    }
}

fn read_price(t: &Table, path: &str, errors: &mut Errors) -> crate::core::Price {
    let long_context = match t.get("long_context") {
        Some(Value::Table(l)) => Some(read_rates(l, &join(path, "long_context"), errors)),
        Some(_) => {
            errors.add(
                &join(path, "long_context"),
                "expected a table of rates",
                None,
            );
            None
        }
        None => None,
    };
    let mut base_table = t.clone();
    base_table.remove("long_context");
    crate::core::Price {
        base: read_rates(&base_table, path, errors),
        long_context,
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;

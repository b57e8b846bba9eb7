//! `switchyard import litellm`: a LiteLLM proxy `config.yaml` read into a
//! switchyard config, with every setting that could not be carried over
//! named, and why.
//!
//! What maps: `model_list` deployments (bedrock/, anthropic/, ollama/,
//! ollama_chat/, openai/ and the OpenAI-compatible hosts, bare OpenAI and
//! Claude names), `os.environ/VAR` references (as `${VAR}`), deployments
//! sharing a name (an ordered fallback route), `fallbacks`,
//! `model_group_alias`, retries, timeouts, cool-downs, the response cache
//! (Redis or memory, TTL), the master key and the database URL.
//! [`super::litellm_render`] writes the TOML.

use yaml_rust2::{Yaml, YamlLoader};

/// A provider the imported models call.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// Its name (`[providers.NAME]`).
    pub name: String,
    /// `anthropic`, `openai`, `ollama` or `bedrock`.
    pub kind: &'static str,
    /// Its base URL (none: the kind's default, or Bedrock's region).
    pub base_url: Option<String>,
    /// The API key (a `${VAR}` reference or, as LiteLLM had it, literal).
    pub api_key: Option<String>,
    /// Bedrock: region, profile and static keys.
    pub region: Option<String>,
    /// Bedrock: the AWS profile.
    pub profile: Option<String>,
    /// Bedrock: access key id and secret.
    pub access_keys: Option<(String, String)>,
    /// Per-deployment timeouts: total and first byte of a stream, seconds.
    pub total_s: Option<f64>,
    /// Seconds to the first byte of a stream.
    pub first_byte_s: Option<f64>,
}

/// A model clients can ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Its name (LiteLLM's `model_name`; `-2`, `-3` for further deployments).
    pub name: String,
    /// The provider it runs on.
    pub provider: String,
    /// The upstream id (none: the name the client asked for).
    pub id: Option<String>,
    /// Other names clients use for it.
    pub aliases: Vec<String>,
}

/// A route carried over: requests for `model` go to `targets` in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Its name.
    pub name: String,
    /// The model name it matches.
    pub model: String,
    /// Models tried in order.
    pub targets: Vec<String>,
    /// Where it came from (a comment in the file).
    pub why: String,
}

/// A setting left behind, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// Where it was in the LiteLLM file (`model_list[3]`, `litellm_settings.callbacks`).
    pub path: String,
    /// Why switchyard does not take it.
    pub why: String,
}

/// The result of reading a LiteLLM config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Import {
    /// Providers, in the order first used.
    pub providers: Vec<Provider>,
    /// Models, in file order.
    pub models: Vec<Model>,
    /// Fallback and load-balancing routes.
    pub routes: Vec<Route>,
    /// `[retry] retries`.
    pub retries: Option<i64>,
    /// `[timeouts] total`, seconds.
    pub timeout_s: Option<f64>,
    /// `[health] failures`.
    pub allowed_fails: Option<i64>,
    /// `[health] cooldown`, seconds.
    pub cooldown_s: Option<f64>,
    /// The cache: `Some(None)` in memory, `Some(Some(url))` in Redis.
    pub cache: Option<Option<String>>,
    /// The cache's TTL, seconds.
    pub cache_ttl_s: Option<f64>,
    /// The master key.
    pub master_key: Option<String>,
    /// The database URL.
    pub database_url: Option<String>,
    /// What was not carried over.
    pub skipped: Vec<Skipped>,
    /// Literal secrets written into the file (paths, never values).
    pub literal_secrets: Vec<String>,
}

/// `os.environ/VAR` → `${VAR}`; anything else as written.
pub(super) fn value(y: &Yaml) -> Option<String> {
    let text = match y {
        Yaml::String(s) => s.trim().to_string(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Real(r) => r.clone(),
        Yaml::Boolean(b) => b.to_string(),
        _ => return None,
    };
    if text.is_empty() {
        return None;
    }
    Some(match text.strip_prefix("os.environ/") {
        Some(var) => format!("${{{var}}}"),
        None => text,
    })
}

/// A number, written as one or as text.
pub(super) fn number(y: &Yaml) -> Option<f64> {
    match y {
        Yaml::Integer(i) => Some(*i as f64),
        Yaml::Real(_) => y.as_f64(),
        Yaml::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn is_env_ref(text: &str) -> bool {
    text.starts_with("${")
}

/// OpenAI-compatible hosts LiteLLM knows by prefix: base URL, key variable.
const OPENAI_HOSTS: &[(&str, &str, &str)] = &[
    (
        "openrouter",
        "https://openrouter.ai/api/v1",
        "OPENROUTER_API_KEY",
    ),
    ("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    ("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    (
        "deepseek",
        "https://api.deepseek.com/v1",
        "DEEPSEEK_API_KEY",
    ),
    (
        "together_ai",
        "https://api.together.xyz/v1",
        "TOGETHERAI_API_KEY",
    ),
    (
        "fireworks_ai",
        "https://api.fireworks.ai/inference/v1",
        "FIREWORKS_API_KEY",
    ),
    ("xai", "https://api.x.ai/v1", "XAI_API_KEY"),
];

/// Prefixes of servers that speak OpenAI's API at an `api_base` of their own.
const OPENAI_SELF_HOSTED: &[(&str, &str)] = &[
    ("openai", "https://api.openai.com/v1"),
    ("hosted_vllm", "http://127.0.0.1:8000/v1"),
    ("vllm", "http://127.0.0.1:8000/v1"),
    ("lm_studio", "http://127.0.0.1:1234/v1"),
    ("llamafile", "http://127.0.0.1:8080/v1"),
];

/// What LiteLLM's `model` string names: the provider kind, the upstream id,
/// the default base URL and key variable; or why it cannot be served.
struct Target {
    kind: &'static str,
    id: String,
    base_url: Option<&'static str>,
    key_var: Option<&'static str>,
}

fn target_of(model: &str) -> Result<Target, String> {
    let (prefix, rest) = match model.split_once('/') {
        Some((p, r)) => (p, r),
        None => ("", model),
    };
    let t = |kind, id: &str, base_url, key_var| {
        Ok(Target {
            kind,
            id: id.to_string(),
            base_url,
            key_var,
        })
    };
    match prefix {
        "bedrock" => {
            // bedrock/converse/ID and bedrock/invoke/ID pick LiteLLM's API.
            let id = rest
                .strip_prefix("converse/")
                .or_else(|| rest.strip_prefix("invoke/"))
                .unwrap_or(rest);
            if id.contains("anthropic.") || id.contains("claude") {
                t("bedrock", id, None, None)
            } else {
                Err(format!(
                    "Bedrock model '{id}' is not a Claude model: switchyard's Bedrock provider \
                     speaks Anthropic's format on Bedrock"
                ))
            }
        }
        "anthropic" => t("anthropic", rest, None, Some("ANTHROPIC_API_KEY")),
        "ollama" | "ollama_chat" => t("ollama", rest, None, None),
        "" if rest.starts_with("claude") => t("anthropic", rest, None, Some("ANTHROPIC_API_KEY")),
        "" if is_openai_chat(rest) => t(
            "openai",
            rest,
            Some("https://api.openai.com/v1"),
            Some("OPENAI_API_KEY"),
        ),
        "" => Err(format!(
            "'{rest}' is not a chat model switchyard knows (no provider prefix)"
        )),
        p => {
            if let Some((_, base, var)) = OPENAI_HOSTS.iter().find(|(n, _, _)| *n == p) {
                return t("openai", rest, Some(base), Some(var));
            }
            if let Some((_, base)) = OPENAI_SELF_HOSTED.iter().find(|(n, _)| *n == p) {
                let var = (p == "openai").then_some("OPENAI_API_KEY");
                return t("openai", rest, Some(base), var);
            }
            Err(format!(
                "provider '{p}' (from '{model}') is not one switchyard speaks: it serves \
                 Anthropic, Bedrock, Ollama and OpenAI-compatible servers"
            ))
        }
    }
}

fn is_openai_chat(id: &str) -> bool {
    let chat = ["gpt-", "o1", "o3", "o4", "chatgpt-"];
    chat.iter().any(|p| id.starts_with(p)) && !id.contains("instruct")
}

/// Read a LiteLLM config.
pub fn import(text: &str) -> Result<Import, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let root = docs.first().ok_or("the file is empty")?;
    if !root.is_hash() {
        return Err("not a LiteLLM config: the top level is not a mapping".into());
    }
    let mut out = Import::default();
    let list = &root["model_list"];
    let Some(entries) = list.as_vec() else {
        return Err("not a LiteLLM config: it has no model_list".into());
    };
    for (i, entry) in entries.iter().enumerate() {
        deployment(&mut out, entry, &format!("model_list[{i}]"));
    }
    out.balance_shared_names();
    super::litellm_settings::settings(&mut out, root);
    Ok(out)
}

fn deployment(out: &mut Import, entry: &Yaml, path: &str) {
    let name = entry["model_name"].as_str().map(str::trim).unwrap_or("");
    let params = &entry["litellm_params"];
    let model = params["model"].as_str().map(str::trim).unwrap_or("");
    if name.is_empty() || model.is_empty() {
        out.skip(path, "no model_name or litellm_params.model");
        return;
    }
    let path = format!("{path} ({name})");
    let mode = entry["model_info"]["mode"].as_str().unwrap_or("chat");
    if mode != "chat"
        || ["embed", "dall-e", "whisper", "tts"]
            .iter()
            .any(|w| model.contains(w))
    {
        out.skip(
            &path,
            "not a chat model: switchyard serves /v1/messages and /v1/chat/completions",
        );
        return;
    }
    let target = match target_of(model) {
        Ok(t) => t,
        Err(why) => {
            out.skip(&path, &why);
            return;
        }
    };
    let wildcard = target.id.contains('*');
    if wildcard && name != "*" {
        out.skip(
            &path,
            &format!(
                "a wildcard group named '{name}': clients would send the provider prefix, which \
                 switchyard forwards unchanged; give the models they ask for aliases instead"
            ),
        );
        return;
    }
    let provider = out.provider_for(&target, params, &path);
    out.models.push(Model {
        name: if wildcard {
            format!("{provider}-any-model")
        } else {
            name.to_string()
        },
        provider,
        id: (!wildcard).then(|| target.id.clone()),
        aliases: if wildcard {
            vec!["*".into()]
        } else {
            Vec::new()
        },
    });
    out.note_params(entry, params, &path);
}

impl Import {
    pub(super) fn skip(&mut self, path: &str, why: &str) {
        self.skipped.push(Skipped {
            path: path.to_string(),
            why: why.to_string(),
        });
    }

    /// The provider a deployment calls: shared when kind, URL, key and
    /// region are the same, new otherwise.
    fn provider_for(&mut self, target: &Target, params: &Yaml, path: &str) -> String {
        // No api_key: LiteLLM reads the provider's usual variable; an
        // explicit "none" is a server that wants no key.
        let api_key = match value(&params["api_key"]) {
            Some(k) if k.eq_ignore_ascii_case("none") => None,
            Some(k) => Some(k),
            None => target.key_var.map(|v| format!("${{{v}}}")),
        };
        if api_key.as_deref().is_some_and(|k| !is_env_ref(k)) {
            self.literal_secrets.push(format!("{path}: api_key"));
        }
        let base_url = value(&params["api_base"])
            .map(|u| u.trim_end_matches('/').to_string())
            .or_else(|| target.base_url.map(str::to_string));
        let bedrock = target.kind == "bedrock";
        let region = bedrock.then(|| {
            value(&params["aws_region_name"]).unwrap_or_else(|| "${AWS_REGION:-us-east-1}".into())
        });
        let access_keys = match (
            value(&params["aws_access_key_id"]),
            value(&params["aws_secret_access_key"]),
        ) {
            (Some(id), Some(secret)) if bedrock => {
                if !is_env_ref(&secret) {
                    self.literal_secrets
                        .push(format!("{path}: aws_secret_access_key"));
                }
                Some((id, secret))
            }
            _ => None,
        };
        let candidate = Provider {
            name: String::new(),
            kind: target.kind,
            base_url: if bedrock { None } else { base_url },
            api_key: if bedrock { None } else { api_key },
            region,
            profile: value(&params["aws_profile_name"]).filter(|_| bedrock),
            access_keys,
            total_s: number(&params["timeout"]),
            first_byte_s: number(&params["stream_timeout"]),
        };
        if let Some(p) = self.providers.iter().find(|p| {
            Provider {
                name: String::new(),
                ..(*p).clone()
            } == candidate
        }) {
            return p.name.clone();
        }
        let base = provider_name(&candidate);
        let mut name = base.clone();
        let mut n = 2;
        while self.providers.iter().any(|p| p.name == name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        self.providers.push(Provider {
            name: name.clone(),
            ..candidate
        });
        name
    }

    /// Deployments sharing a `model_name`: the first keeps the name, the
    /// others are numbered, and a route tries them in file order.
    fn balance_shared_names(&mut self) {
        let mut seen: Vec<String> = Vec::new();
        let mut routes = Vec::new();
        for i in 0..self.models.len() {
            let name = self.models[i].name.clone();
            let count = seen.iter().filter(|n| **n == name).count();
            seen.push(name.clone());
            if count == 0 {
                continue;
            }
            let numbered = format!("{name}-{}", count + 1);
            self.models[i].name = numbered.clone();
            match routes.iter_mut().find(|r: &&mut Route| r.model == name) {
                Some(r) => r.targets.push(numbered),
                None => routes.push(Route {
                    name: format!("{name}-deployments"),
                    model: name.clone(),
                    targets: vec![name.clone(), numbered],
                    why: format!(
                        "LiteLLM load-balanced the deployments named '{name}'; switchyard \
                         tries them in order (the next when one fails or cools down)"
                    ),
                }),
            }
        }
        self.routes.extend(routes);
    }

    fn note_params(&mut self, entry: &Yaml, params: &Yaml, path: &str) {
        let carried = [
            "model",
            "api_key",
            "api_base",
            "aws_region_name",
            "aws_access_key_id",
            "aws_secret_access_key",
            "aws_profile_name",
            "timeout",
            "stream_timeout",
        ];
        if let Some(h) = params.as_hash() {
            for key in h.keys().filter_map(Yaml::as_str) {
                if carried.contains(&key) {
                    continue;
                }
                let why = match key {
                    "rpm" | "tpm" => {
                        "per-deployment rate limits: switchyard limits per key, \
                                      developer or team ([[rate_limits]])"
                    }
                    "temperature" | "max_tokens" | "seed" | "top_p" => {
                        "default request parameters: switchyard sends what the client asked for"
                    }
                    "input_cost_per_token" | "output_cost_per_token" | "input_cost_per_second" => {
                        "a custom price: give the model `price = {…}` in switchyard"
                    }
                    _ => "no switchyard equivalent",
                };
                self.skip(&format!("{path}.litellm_params.{key}"), why);
            }
        }
        for key in ["rpm", "tpm"] {
            if !entry[key].is_badvalue() {
                self.skip(
                    &format!("{path}.{key}"),
                    "per-deployment rate limits: switchyard limits per key, developer or team",
                );
            }
        }
    }

    /// The model a name refers to (by name or alias).
    pub(super) fn has_model(&self, name: &str) -> bool {
        self.models.iter().any(|m| m.name == name)
    }
}

fn provider_name(p: &Provider) -> String {
    let host = p
        .base_url
        .as_deref()
        .and_then(|u| u.split("://").nth(1))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    let known = OPENAI_HOSTS
        .iter()
        .find(|(_, base, _)| p.base_url.as_deref() == Some(*base))
        .map(|(n, _, _)| n.replace('_', "-"));
    match (p.kind, known) {
        ("openai", Some(n)) => n,
        ("openai", None) if host == "api.openai.com" => "openai".into(),
        ("openai", None) => {
            let (h, port) = host.split_once(':').unwrap_or((host, ""));
            let first = h.split('.').next().unwrap_or("server");
            let first = if first.chars().all(|c| c.is_ascii_digit()) || first == "localhost" {
                "local-server"
            } else {
                first
            };
            let slug: String = first
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect();
            if port.is_empty() {
                slug
            } else {
                format!("{slug}-{port}")
            }
        }
        ("bedrock", _) => match p.region.as_deref() {
            Some(r) if !is_env_ref(r) => format!("bedrock-{r}"),
            _ => "bedrock".into(),
        },
        (kind, _) => kind.to_string(),
    }
}

//! `switchyard init`'s findings and the config it proposes: Ollama (its
//! models and which handle tools), AWS (credentials, region, profiles),
//! `ANTHROPIC_API_KEY`; tiers with current-generation models (a tool-capable
//! local model → Haiku 5.5 → Sonnet 5.5, Sonnet the baseline).

use crate::config::{self, ConfigSource};
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Current-generation Claude models: (tier, Anthropic API id, Bedrock base id).
pub const HAIKU: (&str, &str) = ("claude-haiku-5-5", "anthropic.claude-haiku-5-5");
/// The premium tier and the baseline.
pub const SONNET: (&str, &str) = ("claude-sonnet-5-5", "anthropic.claude-sonnet-5-5");

/// An Ollama model and whether it takes tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModel {
    /// Its name (`qwen2.5-coder:7b`).
    pub name: String,
    /// It handles tool calls (the server said so, or its family does).
    pub tools: bool,
}

/// What this machine offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Ollama's URL and models, when it answered.
    pub ollama: Option<(String, Vec<LocalModel>)>,
    /// Why Ollama was not found (tried URL, error).
    pub ollama_missing: Option<String>,
    /// AWS: where credentials came from, when they resolved.
    pub aws: Option<String>,
    /// Why AWS was not used.
    pub aws_missing: Option<String>,
    /// The AWS region (AWS_REGION, AWS_DEFAULT_REGION, else us-east-1).
    pub region: String,
    /// The AWS profile in use (AWS_PROFILE), and the profiles configured.
    pub profile: Option<String>,
    /// Profiles in ~/.aws/config and ~/.aws/credentials.
    pub profiles: Vec<String>,
    /// `ANTHROPIC_API_KEY` is set.
    pub anthropic_key: bool,
    /// Bedrock's endpoint when the AWS convention names one
    /// (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, e.g. a VPC endpoint).
    pub bedrock_endpoint: Option<String>,
}

/// Families Ollama serves with tool support, for servers too old to say.
const TOOL_FAMILIES: &[&str] = &[
    "qwen2.5",
    "qwen3",
    "llama3.1",
    "llama3.2",
    "llama3.3",
    "llama4",
    "mistral",
    "mixtral",
    "command-r",
    "granite3",
    "hermes3",
    "gpt-oss",
    "devstral",
    "firefunction",
    "smollm2",
];

/// The local model to propose: a coding model that takes tools, else any
/// model that takes tools.
pub fn pick_local(models: &[LocalModel]) -> Option<&LocalModel> {
    let tools = || models.iter().filter(|m| m.tools);
    tools()
        .find(|m| m.name.contains("coder") || m.name.contains("devstral"))
        .or_else(|| tools().next())
}

/// The Bedrock inference-profile prefix for a region.
pub fn profile_prefix(region: &str) -> &'static str {
    match region.split('-').next() {
        Some("us") => "us.",
        Some("eu") => "eu.",
        Some("ap") if region.starts_with("ap-northeast-1") => "jp.",
        Some("ap") if region.starts_with("ap-southeast-2") => "au.",
        Some("ap") => "apac.",
        _ => "global.",
    }
}

/// Look around: Ollama at `ollama_url`, AWS, the Anthropic key.
pub async fn detect(ollama_url: &str, env: &dyn Fn(&str) -> Option<String>) -> Findings {
    let mut f = Findings {
        region: env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into()),
        profile: env("AWS_PROFILE"),
        profiles: aws_profiles(env),
        anthropic_key: env("ANTHROPIC_API_KEY").is_some_and(|k| !k.is_empty()),
        bedrock_endpoint: env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME"),
        ..Findings::default()
    };
    match ollama_models(ollama_url).await {
        Ok(models) => f.ollama = Some((ollama_url.to_string(), models)),
        Err(e) => f.ollama_missing = Some(format!("{ollama_url}: {e}")),
    }
    let hinted = [
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_BEARER_TOKEN_BEDROCK",
    ]
    .iter()
    .any(|v| env(v).is_some())
        || !f.profiles.is_empty();
    if !hinted {
        f.aws_missing = Some(
            "no AWS credentials in the environment or ~/.aws (on EC2/ECS with a role, run \
             `switchyard init --aws`)"
                .into(),
        );
    } else {
        match aws_credentials(&f).await {
            Ok(source) => f.aws = Some(source),
            Err(e) => f.aws_missing = Some(e),
        }
    }
    f
}

fn aws_profiles(env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let Some(home) = env("HOME") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for file in [".aws/config", ".aws/credentials"] {
        let text = std::fs::read_to_string(PathBuf::from(&home).join(file)).unwrap_or_default();
        for line in text.lines() {
            let line = line.trim();
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let name = name.trim_start_matches("profile ").trim().to_string();
                if !name.starts_with("sso-session") && !out.contains(&name) {
                    out.push(name);
                }
            }
        }
    }
    out
}

/// A provider section loaded the way `serve` loads it.
fn provider_config(toml: &str) -> Result<config::ProviderConfig, String> {
    let none = |_: &str| None;
    let toml = format!("auth = \"none\"\n{toml}");
    config::load_str(&toml, ConfigSource::Embedded, &none)
        .map_err(|e| e.to_string())?
        .providers
        .into_iter()
        .next()
        .ok_or_else(|| "no provider".to_string())
}

async fn ollama_models(url: &str) -> Result<Vec<LocalModel>, String> {
    let p = provider_config(&format!(
        "[providers.ollama]\nkind = \"ollama\"\nbase_url = {}\n",
        toml::Value::String(url.to_string())
    ))?;
    let provider = crate::providers::Provider::from_config(&p)?;
    let listed = provider
        .discover_models(Duration::from_secs(2))
        .await
        .unwrap_or_else(|| Err("cannot list models".into()))?;
    Ok(listed
        .into_iter()
        .map(|m| LocalModel {
            tools: match &m.capabilities {
                Some(c) => c.tools,
                None => TOOL_FAMILIES.iter().any(|f| m.name.starts_with(f)),
            },
            name: m.name,
        })
        .collect())
}

/// Resolve AWS credentials through the same chain `serve` uses.
pub async fn aws_credentials(f: &Findings) -> Result<String, String> {
    let mut toml = format!(
        "[providers.bedrock]\nkind = \"bedrock\"\nregion = {}\n",
        toml::Value::String(f.region.clone())
    );
    if let Some(p) = &f.profile {
        let _ = writeln!(toml, "profile = {}", toml::Value::String(p.clone()));
    }
    let p = provider_config(&toml)?;
    crate::providers::bedrock::credentials::check_all(&[p])
        .await
        .into_iter()
        .next()
        .map(|(_, r)| r)
        .unwrap_or_else(|| Err("not a Bedrock provider".into()))
}

/// What the user chose (defaults from the findings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choices {
    /// The Ollama model for the local tier, and Ollama's URL.
    pub local: Option<(String, String)>,
    /// Claude through Bedrock (the region).
    pub bedrock: Option<String>,
    /// Claude through the Anthropic API (as well, or instead).
    pub anthropic: bool,
    /// The address to listen on.
    pub listen: String,
    /// The master key written as the default of `${SWITCHYARD_MASTER_KEY}`.
    pub master_key: String,
    /// The ledger file.
    pub ledger: PathBuf,
}

/// The defaults the findings suggest.
pub fn default_choices(f: &Findings, master_key: String, ledger: PathBuf) -> Choices {
    Choices {
        local: f
            .ollama
            .as_ref()
            .and_then(|(url, models)| pick_local(models).map(|m| (m.name.clone(), url.clone()))),
        bedrock: f.aws.as_ref().map(|_| f.region.clone()),
        anthropic: f.anthropic_key || f.aws.is_none(),
        listen: "127.0.0.1:4000".into(),
        master_key,
        ledger,
    }
}

/// The commented config for `c`.
pub fn render(c: &Choices, f: &Findings, now: &str) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# switchyard config written by `switchyard init` on {now}.\n\
         # Check it: switchyard check-config    Run it: switchyard serve\n"
    );
    let _ = writeln!(t, "listen = {}", q(&c.listen));
    let _ = writeln!(
        t,
        "# The admin key (dashboard, /admin, and Claude Code until developers have their own:\n\
         # `switchyard keys create --user NAME`). SWITCHYARD_MASTER_KEY overrides it.\n\
         master_key = {}",
        q(&format!("${{SWITCHYARD_MASTER_KEY:-{}}}", c.master_key))
    );
    let _ = writeln!(
        t,
        "# The spend ledger: one priced row per request.\ndatabase_url = {}",
        q(&config::sqlite_url(&c.ledger).replace("?mode=rwc", ""))
    );
    let mut premium: Vec<&str> = Vec::new();
    let mut cheap: Vec<&str> = Vec::new();
    if let Some((model, url)) = &c.local {
        let _ = writeln!(
            t,
            "\n[providers.ollama]                 # found at {url}\nkind     = \"ollama\"\n\
             base_url = {}\n\n[models.local]\nprovider     = \"ollama\"\nid           = {}\n\
             capabilities = [\"tools\"]",
            q(url),
            q(model)
        );
    }
    if let Some(region) = &c.bedrock {
        let prefix = profile_prefix(region);
        let _ = writeln!(
            t,
            "\n[providers.bedrock]                # credentials: {}\nkind   = \"bedrock\"\n\
             region = {}",
            f.aws.as_deref().unwrap_or("the AWS credential chain"),
            q(&format!("${{AWS_REGION:-{region}}}"))
        );
        if let Some(p) = &f.profile {
            let _ = writeln!(t, "profile = {}", q(p));
        }
        if let Some(e) = &f.bedrock_endpoint {
            let _ = writeln!(
                t,
                "endpoint = {}        # AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
                q(e)
            );
        }
        let _ = writeln!(
            t,
            "\n[models.haiku]\nprovider = \"bedrock\"\nid       = {}\ncapabilities = [\"tools\", \"vision\", \"thinking\"]\n\
             \n[models.sonnet]\nprovider = \"bedrock\"\nid       = {}\n\
             aliases  = [\"claude-*\"]                # every name Claude Code asks for\n\
             capabilities = [\"tools\", \"vision\", \"thinking\"]",
            q(&format!("{prefix}{}-v1:0", HAIKU.1)),
            q(&format!("{prefix}{}-v1:0", SONNET.1)),
        );
        cheap.push("haiku");
        premium.push("sonnet");
    }
    if c.anthropic {
        let bedrock_too = c.bedrock.is_some();
        let _ = writeln!(
            t,
            "\n[providers.anthropic]\nkind    = \"anthropic\"\napi_key = \"${{ANTHROPIC_API_KEY}}\"\n\
             \n[models.haiku-api]\nprovider = \"anthropic\"\nid       = {}\ncapabilities = [\"tools\", \"vision\", \"thinking\"]\n\
             \n[models.sonnet-api]\nprovider = \"anthropic\"\nid       = {}{}\ncapabilities = [\"tools\", \"vision\", \"thinking\"]",
            q(HAIKU.0),
            q(SONNET.0),
            if bedrock_too {
                ""
            } else {
                "\naliases  = [\"claude-*\"]                # every name Claude Code asks for"
            }
        );
        cheap.push("haiku-api");
        premium.push("sonnet-api");
    }
    let list = |v: &[&str]| v.iter().map(|m| q(m)).collect::<Vec<_>>().join(", ");
    let mut local = Vec::new();
    if c.local.is_some() {
        local.push("local");
    }
    local.extend(cheap.iter().take(1));
    let _ = writeln!(
        t,
        "\n# Cheapest first; each tier is an ordered fallback chain. With [tiers] and no\n\
         # [[routes]], Claude Code's background calls go to local, thinking to premium,\n\
         # and the rest is classified (`switchyard route --prompt \"…\"` explains).\n[tiers]"
    );
    if !local.is_empty() {
        let _ = writeln!(t, "local    = [{}]", list(&local));
    }
    let mut cheap_chain = cheap.clone();
    cheap_chain.extend(premium.iter().take(1));
    let _ = writeln!(t, "cheap    = [{}]", list(&cheap_chain));
    let _ = writeln!(t, "premium  = [{}]", list(&premium));
    if let Some(b) = premium.first() {
        let _ = writeln!(
            t,
            "baseline = {}                 # savings are measured against it",
            q(b)
        );
    }
    let _ = writeln!(
        t,
        "\n[health]\nfailures = 3                         # consecutive failures before a target cools down\n\
         cooldown = \"30s\""
    );
    let _ = writeln!(
        t,
        "\n# Guardrails (README: \"Guardrails\"); `report decision` scores security by them.\n\
         # [guard]\n# secrets = \"redact\"                # keep keys and passwords off the providers\n\
         # tools   = [\"jail\", \"sensitive_files\"]  # refuse tool calls outside the workspace or on .env, keys\n\
         # max_response_bytes = 4000000"
    );
    t
}

/// The file beside the ledger that says when `init` ran: the start of the
/// setup time `report decision` measures.
pub fn setup_marker(ledger: &std::path::Path) -> PathBuf {
    ledger.with_file_name("setup-started.json")
}

/// Create the ledger's directory and note when setup started.
pub fn mark_setup_start(ledger: &std::path::Path, at: time::OffsetDateTime) -> Result<(), String> {
    if let Some(dir) = ledger.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "cannot create the ledger's directory {}: {e}",
                dir.display()
            )
        })?;
    }
    let marker = setup_marker(ledger);
    if marker.exists() {
        return Ok(());
    }
    let ms = (at.unix_timestamp_nanos() / 1_000_000) as i64;
    std::fs::write(&marker, format!("{{\"started_ms\": {ms}}}\n"))
        .map_err(|e| format!("cannot write {}: {e}", marker.display()))
}

/// When setup started, if `init` wrote the marker.
pub fn setup_started(ledger: &std::path::Path) -> Option<i64> {
    let text = std::fs::read_to_string(setup_marker(ledger)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("started_ms")?.as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigSource, load_str};

    fn findings(ollama: bool, aws: bool, key: bool) -> Findings {
        Findings {
            ollama: ollama.then(|| {
                let m = |name: &str, tools| LocalModel {
                    name: name.into(),
                    tools,
                };
                (
                    "http://127.0.0.1:11434".to_string(),
                    vec![
                        m("gemma2:2b", false),
                        m("llama3.1:8b", true),
                        m("qwen2.5-coder:7b", true),
                    ],
                )
            }),
            aws: aws.then(|| "environment variables".to_string()),
            region: "eu-west-1".into(),
            anthropic_key: key,
            ..Findings::default()
        }
    }

    fn load(f: &Findings) -> crate::config::Config {
        let c = default_choices(f, "sk-test".into(), PathBuf::from("/tmp/sy/ledger.db"));
        let text = render(&c, f, "2026-12-06");
        let env = |n: &str| (n == "ANTHROPIC_API_KEY").then(|| "sk-ant".to_string());
        load_str(&text, ConfigSource::Embedded, &env).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn tiers(c: &crate::config::Config) -> Vec<(String, Vec<String>)> {
        c.routing
            .tiers
            .iter()
            .map(|t| (t.name.clone(), t.models.clone()))
            .collect()
    }

    #[test]
    fn everything_found_makes_three_tiers_with_fallbacks() {
        let c = load(&findings(true, true, true));
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            tiers(&c),
            [
                ("local".to_string(), s(&["local", "haiku"])),
                ("cheap".to_string(), s(&["haiku", "haiku-api", "sonnet"])),
                ("premium".to_string(), s(&["sonnet", "sonnet-api"])),
            ]
        );
        assert_eq!(c.routing.baseline.as_deref(), Some("sonnet"));
        let id = |n: &str| c.models.iter().find(|m| m.name == n).unwrap().id.clone();
        assert_eq!(
            id("local").as_deref(),
            Some("qwen2.5-coder:7b"),
            "a coding model with tools"
        );
        assert_eq!(
            id("sonnet").as_deref(),
            Some("eu.anthropic.claude-sonnet-5-5-v1:0")
        );
        assert_eq!(id("haiku-api").as_deref(), Some("claude-haiku-5-5"));
        let sonnet = c.models.iter().find(|m| m.name == "sonnet").unwrap();
        assert_eq!(
            sonnet.aliases,
            ["claude-*"],
            "Claude Code's names are served"
        );
    }

    #[test]
    fn with_only_an_anthropic_key_the_api_serves_both_claude_tiers() {
        let c = load(&findings(false, false, true));
        assert_eq!(tiers(&c)[0].0, "local");
        assert_eq!(tiers(&c)[0].1, ["haiku-api"]);
        assert_eq!(c.routing.baseline.as_deref(), Some("sonnet-api"));
        let api = c.models.iter().find(|m| m.name == "sonnet-api").unwrap();
        assert_eq!(api.aliases, ["claude-*"]);
    }

    #[test]
    fn a_local_model_must_take_tools() {
        let m = |name: &str, tools| LocalModel {
            name: name.into(),
            tools,
        };
        assert_eq!(pick_local(&[m("gemma2:2b", false)]), None);
        assert_eq!(
            pick_local(&[m("llama3.1:8b", true), m("devstral:24b", true)]).map(|m| m.name.as_str()),
            Some("devstral:24b")
        );
        assert_eq!(profile_prefix("us-west-2"), "us.");
        assert_eq!(profile_prefix("ap-northeast-1"), "jp.");
        assert_eq!(profile_prefix("ap-south-1"), "apac.");
        assert_eq!(profile_prefix("ca-central-1"), "global.");
    }

    #[test]
    fn the_setup_mark_is_written_once() {
        let dir = std::env::temp_dir().join(format!("sy-init-{}", std::process::id()));
        let ledger = dir.join("deep/ledger.db");
        let t0 = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        mark_setup_start(&ledger, t0).unwrap();
        mark_setup_start(&ledger, t0 + time::Duration::hours(1)).unwrap();
        assert_eq!(setup_started(&ledger), Some(1_800_000_000_000));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

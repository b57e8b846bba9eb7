//! `switchyard bench --day`: a simulated Claude Code working day through a
//! real gateway, priced by its own ledger.
//!
//! [`script`] draws the day (developers, sessions, tasks, agent loops);
//! [`shapes`] turns it into Claude Code's requests; [`upstream`] answers as
//! Anthropic (prompt caching emulated) and as a local OpenAI-compatible
//! model. The gateway runs in this process with tiers of current-generation
//! models (local → Claude Haiku 5.5 → Claude Sonnet 5.5, baseline Sonnet)
//! and a SQLite ledger; the day runs on a compressed clock (`--day-speed`
//! virtual seconds per second; the prompt cache's five minutes scaled with
//! it). At the end the daily report is read from the ledger, next to what
//! the replay saw: premium tasks planned below premium, each escalation
//! path and how often it fired.

pub mod run;
pub mod script;
pub mod shapes;
pub mod upstream;

use std::path::PathBuf;

/// Options of the simulated day.
#[derive(Debug, Clone, clap::Args)]
pub struct DayArgs {
    /// Seed of the day (one seed, one day).
    #[arg(long = "day-seed", default_value_t = 2026)]
    pub seed: u64,
    /// Developers working in parallel.
    #[arg(long = "day-developers", default_value_t = 5)]
    pub developers: u64,
    /// Hours each works.
    #[arg(long = "day-hours", default_value_t = 8)]
    pub hours: u64,
    /// Virtual seconds per real second.
    #[arg(long = "day-speed", default_value_t = 1000)]
    pub speed: u64,
    /// Labelled prompts to draw tasks from (JSON Lines: tier, prompt);
    /// default: the routing corpus's test split, built in.
    #[arg(long = "day-prompts", value_name = "FILE")]
    pub prompts: Option<PathBuf>,
    /// The classifier the gateway routes with.
    #[arg(long = "day-classifier", default_value = "learned")]
    pub classifier: String,
    /// A model file for the learned classifier (`route train --out`);
    /// default: the built-in model.
    #[arg(long = "day-model", value_name = "FILE")]
    pub model: Option<PathBuf>,
}

impl Default for DayArgs {
    fn default() -> Self {
        DayArgs {
            seed: 2026,
            developers: 5,
            hours: 8,
            speed: 1000,
            prompts: None,
            classifier: "learned".into(),
            model: None,
        }
    }
}

/// The gateway's config for the day: its upstream at `upstream`, its
/// ledger in `dir`, times scaled by `speed`.
pub fn config(upstream: std::net::SocketAddr, dir: &std::path::Path, args: &DayArgs) -> String {
    let ms = |virtual_secs: u64| format!("{}ms", (virtual_secs * 1000 / args.speed.max(1)).max(1));
    format!(
        r#"listen = "127.0.0.1:0"
auth = "none"
database_url = "sqlite://{db}"

[retry]
attempts = 1
backoff = "1ms"
max_backoff = "2ms"

[providers.anthropic]
kind = "anthropic"
base_url = "http://{upstream}"
api_key = "day"

[providers.workstation]
kind = "openai"
base_url = "http://{upstream}/v1"

[models.local]
provider = "workstation"
id = "qwen2.5-coder:32b"
capabilities = ["tools"]
context_window = 131072

[models.haiku]
provider = "anthropic"
id = "claude-haiku-5-5"
capabilities = ["tools", "vision", "thinking"]

[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-5-5"
capabilities = ["tools", "vision", "thinking"]

[tiers]
local = ["local", "haiku"]
cheap = ["haiku", "sonnet"]
premium = ["sonnet"]
baseline = "sonnet"

[router]
classifier = "{classifier}"{model}
cache_ttl = "{ttl}"
session_idle = "{idle}"

[health]
failures = 3
cooldown = "{cooldown}"
max_cooldown = "{max_cooldown}"
"#,
        db = dir.join("day.db").display(),
        classifier = args.classifier,
        model = args.model.as_ref().map_or_else(String::new, |m| {
            format!(
                "\nmodel = {}",
                serde_json::Value::from(m.display().to_string())
            )
        }),
        ttl = ms(300),
        idle = ms(3600),
        cooldown = ms(30),
        max_cooldown = ms(300),
    )
}

/// The day's log: what the replay saw, then the ledger's daily report.
pub fn render(o: &run::DayOutcome, args: &DayArgs) -> String {
    let mut out = format!(
        "# A simulated Claude Code day\n\nseed {}, {} developers × {} h, classifier {}, speed {}×\n\n",
        args.seed, args.developers, args.hours, args.classifier, args.speed
    );
    let count = |k: &str| o.tasks.get(k).copied().unwrap_or(0);
    out.push_str(&format!(
        "- tasks: {} local, {} cheap, {} premium; {} requests sent, {} not answered 200\n",
        count("local"),
        count("cheap"),
        count("premium"),
        o.requests,
        o.errors
    ));
    out.push_str(&format!(
        "- premium tasks planned below premium: {} of {}\n",
        o.premium_plans_below.len(),
        o.premium_plans
    ));
    let tiers: Vec<String> = o.tiers.iter().map(|(t, n)| format!("{t} {n}")).collect();
    out.push_str(&format!(
        "- main-loop turns by tier: {}\n",
        tiers.join(", ")
    ));
    out.push_str("- decisions:");
    for (_, name) in run::PATHS {
        out.push_str(&format!(
            " {name} {},",
            o.decisions.get(*name).copied().unwrap_or(0)
        ));
    }
    out.push_str(&format!(
        " kept by the cache {}\n",
        o.decisions.get("kept by the cache").copied().unwrap_or(0)
    ));
    for p in &o.premium_plans_below {
        out.push_str(&format!("  - planned below premium: {p}\n"));
    }
    out.push('\n');
    if let Some(r) = &o.report {
        out.push_str(&crate::usage::render::markdown(r));
    }
    out
}

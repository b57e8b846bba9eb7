//! `switchyard check-config`: load and validate a config, say what it
//! serves (providers, models, tiers, routes, the baseline, the cache), and,
//! unless `--offline`, check that Bedrock's credentials resolve and that
//! each Ollama server answers.

use super::{ConfigArgs, load_config, load_config_offline};
use crate::config::{CacheBackend, ClassifierChoice, Config, ConfigSource, RouteAction};
use crate::config::{ProviderKind, RoutingMode};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `check-config`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Config source.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Validate the file only: no credential lookup, no call to Ollama, and
    /// secrets (API keys, the master key) may be unset.
    #[arg(long)]
    pub offline: bool,
}

/// Run `check-config`.
pub fn run(args: &CheckArgs) -> ExitCode {
    let loaded = if args.offline {
        load_config_offline(&args.config)
    } else {
        load_config(&args.config)
    };
    let config = match loaded {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::FAILURE;
        }
    };
    for line in describe(&config) {
        println!("{line}");
    }
    if !args.offline && !check_upstreams(&config) {
        return ExitCode::FAILURE;
    }
    println!("config OK");
    ExitCode::SUCCESS
}

/// A short description of what a config serves.
pub fn describe(config: &Config) -> Vec<String> {
    let mut lines = Vec::new();
    match &config.source {
        ConfigSource::File(p) => lines.push(format!("config: {}", p.display())),
        ConfigSource::Embedded => {
            lines.push("config: built-in default (no file given)".to_string())
        }
    }
    lines.push(format!("listen: {}", config.listen));
    for p in &config.providers {
        let region = p
            .bedrock
            .as_ref()
            .map(|b| format!(" (region {})", b.region))
            .unwrap_or_default();
        lines.push(format!(
            "provider {}: {} at {}{region}",
            p.name,
            p.kind.as_str(),
            p.base_url
        ));
    }
    for m in &config.models {
        let id = m.id.as_deref().unwrap_or("(the name asked for)");
        let aliases = if m.aliases.is_empty() {
            String::new()
        } else {
            format!(" aliases [{}]", m.aliases.join(", "))
        };
        lines.push(format!(
            "model {} -> {} on {}{aliases}",
            m.name, id, m.provider
        ));
    }
    if config.models.is_empty() {
        lines.push("no models configured: every request will get a 404".to_string());
    }
    lines.extend(describe_routing(config));
    lines.push(format!("ledger: {}", ledger_place(config)));
    lines.push(format!("cache: {}", describe_cache(config)));
    lines.extend(config.notes.iter().map(|n| format!("note: {n}")));
    lines
}

fn describe_routing(config: &Config) -> Vec<String> {
    let r = &config.routing;
    let mut lines: Vec<String> = r
        .tiers
        .iter()
        .map(|t| format!("tier {}: {}", t.name, t.models.join(", ")))
        .collect();
    for route in &r.routes {
        let action = match &route.action {
            RouteAction::Tier(t) => format!("tier {t}"),
            RouteAction::Targets(ms) => ms.join(", "),
            RouteAction::Auto => {
                let by = match &r.classifier {
                    ClassifierChoice::Learned(None) => "the built-in learned classifier".into(),
                    ClassifierChoice::Learned(Some(p)) => format!("the model {}", p.display()),
                    ClassifierChoice::Rules => "the rules classifier".into(),
                };
                format!("auto ({by})")
            }
        };
        let when = if route.matcher.models.is_empty() {
            String::new()
        } else {
            format!(" for {}", route.matcher.models.join(", "))
        };
        let shadow = match route.mode.unwrap_or(r.mode) {
            RoutingMode::Shadow => " [shadow: served as asked]",
            _ => "",
        };
        lines.push(format!("route {}{when} -> {action}{shadow}", route.name));
    }
    lines.push(match &r.baseline {
        Some(b) => format!("baseline: {b} (savings are measured against it)"),
        None => "baseline: none (no savings are computed; set [router] baseline)".into(),
    });
    lines
}

fn ledger_place(config: &Config) -> String {
    let url = config.database_url();
    match crate::config::sqlite_path(&url) {
        Some(file) => format!("SQLite {}", file.display()),
        // A PostgreSQL URL may carry a password: name the engine only.
        None => url.split(':').next().unwrap_or("database").to_string(),
    }
}

fn describe_cache(config: &Config) -> String {
    let Some(c) = &config.cache else {
        return "off".into();
    };
    let place = match &c.backend {
        CacheBackend::Memory => "in memory".to_string(),
        CacheBackend::Redis(_) => "in Redis".to_string(),
    };
    let semantic = match &c.semantic {
        Some(s) => format!(
            ", semantic at similarity {} ({} for a rewording the guard fully explains)",
            s.threshold, s.explained_threshold
        ),
        None => String::new(),
    };
    format!("exact {place}, ttl {} s{semantic}", c.ttl.as_secs())
}

/// Bedrock credentials resolve and Ollama servers answer (2 s each).
fn check_upstreams(config: &Config) -> bool {
    let runtime = match crate::server::runtime(false) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return false;
        }
    };
    runtime.block_on(async {
        let mut ok = true;
        if config.providers.iter().any(|p| p.bedrock.is_some()) {
            for (provider, result) in
                crate::providers::bedrock::credentials::check_all(&config.providers).await
            {
                match result {
                    Ok(source) => println!("provider {provider}: credentials from {source}"),
                    Err(e) => {
                        eprintln!("provider {provider}: {e}");
                        ok = false;
                    }
                }
            }
        }
        for p in config
            .providers
            .iter()
            .filter(|p| p.kind == ProviderKind::Ollama)
        {
            let answer = match crate::providers::Provider::from_config(p) {
                Ok(provider) => provider.discover_models(Duration::from_secs(2)).await,
                Err(e) => Some(Err(e)),
            };
            match answer {
                Some(Ok(models)) => {
                    let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
                    println!(
                        "provider {}: Ollama answers, {} model(s): {}",
                        p.name,
                        names.len(),
                        names.join(", ")
                    );
                }
                Some(Err(e)) => {
                    eprintln!(
                        "provider {}: Ollama at {} does not answer: {e} \
                         (start it with `ollama serve`, or run check-config --offline)",
                        p.name, p.base_url
                    );
                    ok = false;
                }
                None => {}
            }
        }
        ok
    })
}

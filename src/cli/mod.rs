//! Command line: `serve`, `check-config`, `route`, `report`, `export`,
//! `prices`, `reconcile`, `cache`, `keys`, `guard`, `bench`, `env`, `claude`.
//!
//! Both load the config the same way: `--config FILE`, else
//! `SWITCHYARD_CONFIG`, else `./switchyard.toml` when it exists, else the
//! embedded default built from the environment.

mod cache;
mod claude;
mod guard;
mod keys;
pub mod prices;
mod reconcile;
pub mod report;
mod route;
mod route_model;
mod serve;

use crate::config::{self, Config, ConfigErrors, ConfigSource};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// switchyard — an LLM gateway that routes each request to the cheapest
/// model that can do it, and proves the savings.
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the config comes from.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Config file (default: $SWITCHYARD_CONFIG, ./switchyard.toml, or the built-in default).
    #[arg(long, short = 'c', env = "SWITCHYARD_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve {
        /// Config source.
        #[command(flatten)]
        config: ConfigArgs,
        /// Address to listen on (overrides the config), e.g. 127.0.0.1:4000.
        #[arg(long)]
        #[arg(value_parser = crate::config::parse_listen)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Show how requests would be routed (route, tier, model, score, reasons)
    /// without calling any model.
    Route(route::RouteArgs),
    /// Reports from the spend ledger (daily, weekly, models, sessions, users, teams,
    /// guardrails).
    Report(report::ReportArgs),
    /// Prices: show, check the config's models, diff or import a price file.
    Prices(prices::PricesArgs),
    /// Compare the ledger with the provider's usage and cost export.
    Reconcile(reconcile::ReconcileArgs),
    /// Export ledger rows for a date range as CSV or JSON Lines.
    Export(report::ExportArgs),
    /// Measure the gateway's added latency, throughput, streams and memory
    /// against a built-in mock upstream.
    Bench(crate::bench::BenchArgs),
    /// The response cache (purge).
    Cache(cache::CacheArgs),
    /// Client keys: one per developer (create, list, show, revoke, rotate).
    Keys(keys::KeysArgs),
    /// Guardrails: scan files for what the guard would find in a request.
    Guard(guard::GuardArgs),
    /// Print the shell lines that send Claude Code through the gateway
    /// (bash, zsh, fish): `eval "$(switchyard env)"`.
    Env(claude::EnvArgs),
    /// Run Claude Code through the gateway: `switchyard claude [ARGS…]`.
    Claude(claude::ClaudeArgs),
    /// Load and validate the config, print what it serves, and exit.
    CheckConfig {
        /// Config source.
        #[command(flatten)]
        config: ConfigArgs,
    },
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Load the config the way every command does.
pub fn load_config(args: &ConfigArgs) -> Result<Config, ConfigErrors> {
    let path = args
        .config
        .clone()
        .or_else(|| Some(PathBuf::from("switchyard.toml")).filter(|p| p.exists()));
    match path {
        Some(p) => config::load_file(&p, &env_lookup),
        None => config::detect_default(&env_lookup),
    }
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
            "model {} → {} on {}{aliases}",
            m.name, id, m.provider
        ));
    }
    if config.models.is_empty() {
        lines.push("no models configured: every request will get a 404".to_string());
    }
    lines.extend(config.notes.iter().map(|n| format!("note: {n}")));
    lines
}

/// Check that providers needing credentials (Bedrock) find them.
fn check_credentials(config: &Config) -> bool {
    if config.providers.iter().all(|p| p.bedrock.is_none()) {
        return true;
    }
    let runtime = match crate::server::runtime(false) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return false;
        }
    };
    let checked = runtime.block_on(crate::providers::bedrock::credentials::check_all(
        &config.providers,
    ));
    let mut ok = true;
    for (provider, result) in checked {
        match result {
            Ok(source) => println!("provider {provider}: credentials from {source}"),
            Err(e) => {
                eprintln!("provider {provider}: {e}");
                ok = false;
            }
        }
    }
    ok
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, listen } => serve::run(&config, listen),
        Command::Route(args) => route::run(&args),
        Command::Report(args) => report::report(&args),
        Command::Export(args) => report::export(&args),
        Command::Cache(args) => cache::run(&args),
        Command::Keys(args) => keys::run(&args),
        Command::Guard(args) => guard::run(&args),
        Command::Prices(args) => prices::run(&args),
        Command::Reconcile(args) => reconcile::run(&args),
        Command::Bench(args) => crate::bench::run(&args),
        Command::Env(args) => claude::env(&args),
        Command::Claude(args) => claude::claude(&args),
        Command::CheckConfig { config } => match load_config(&config) {
            Ok(c) => {
                for line in describe(&c) {
                    println!("{line}");
                }
                if !check_credentials(&c) {
                    return ExitCode::FAILURE;
                }
                println!("config OK");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprint!("{e}");
                ExitCode::FAILURE
            }
        },
    }
}

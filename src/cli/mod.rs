//! Command line: `serve`, `check-config`, `route`, `report`, `export`,
//! `prices`, `reconcile`, `cache`, `keys`, `guard`, `bench`, `env`, `claude`,
//! `init`, `import`, `completions`, `man`.
//!
//! All load the config the same way: `--config FILE`, else
//! `SWITCHYARD_CONFIG`, else `./switchyard.toml` when it exists, else
//! `$XDG_CONFIG_HOME/switchyard/switchyard.toml`, else the embedded default
//! built from the environment.

mod cache;
mod cache_pairs;
mod check;
mod claude;
mod guard;
mod import;
mod init;
mod keys;
mod manual;
pub mod prices;
mod reconcile;
pub mod report;
mod route;
mod route_model;
mod serve;

use crate::config::{self, Config, ConfigErrors, Secrets};
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
    /// Config file (default: $SWITCHYARD_CONFIG, ./switchyard.toml,
    /// $XDG_CONFIG_HOME/switchyard/switchyard.toml, or the built-in default).
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
    /// Load and validate the config, print what it serves (providers,
    /// models, tiers, routes, baseline, cache), check credentials and that
    /// Ollama answers, and exit.
    CheckConfig(check::CheckArgs),
    /// Detect Ollama, AWS and an Anthropic key, propose tiers, and write a
    /// commented switchyard.toml (asks first; `--yes` for scripts).
    Init(init::InitArgs),
    /// Write a switchyard config from another gateway's (`import litellm
    /// config.yaml`), naming what could not be carried over.
    Import(import::ImportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(manual::CompletionArgs),
    /// Print the man page, or write every command's page with `--out DIR`.
    Man(manual::ManArgs),
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Load the config the way every command does, every secret it names
/// required.
pub fn load_config(args: &ConfigArgs) -> Result<Config, ConfigErrors> {
    load_config_with(args, Secrets::Needed)
}

/// Load the config for a command that never calls a provider (reports,
/// exports, routing explanations): unset secrets are no error.
pub fn load_config_offline(args: &ConfigArgs) -> Result<Config, ConfigErrors> {
    load_config_with(args, Secrets::NotNeeded)
}

fn load_config_with(args: &ConfigArgs, secrets: Secrets) -> Result<Config, ConfigErrors> {
    match args
        .config
        .clone()
        .or_else(|| config_file_found(&env_lookup))
    {
        Some(p) => config::load_file_with(&p, &env_lookup, secrets),
        None => config::detect_default(&env_lookup),
    }
}

/// The config file used when none is given: `./switchyard.toml`, else
/// `$XDG_CONFIG_HOME/switchyard/switchyard.toml` (`~/.config/…` when
/// `XDG_CONFIG_HOME` is unset).
pub fn config_file_found(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    config_candidates(env).into_iter().find(|p| p.is_file())
}

/// Where a config file is looked for, in order.
pub fn config_candidates(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("switchyard.toml")];
    let base = env("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(base) = base {
        out.push(base.join("switchyard").join("switchyard.toml"));
    }
    out
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
        Command::CheckConfig(args) => check::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Completions(args) => manual::completions(&args),
        Command::Man(args) => manual::man(&args),
    }
}

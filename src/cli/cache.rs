//! `switchyard cache purge`: drop every cached answer. A Redis cache is
//! purged directly (no gateway needs to run); an in-memory cache lives in
//! the running gateway, which is asked through `DELETE /admin/cache` with
//! the master key.

use super::{ConfigArgs, load_config_offline};
use crate::config::{AuthConfig, CacheBackend};
use crate::server::runtime;
use secrecy::ExposeSecret;
use std::process::ExitCode;

/// `switchyard cache …`.
#[derive(Debug, clap::Args)]
pub struct CacheArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: CacheAction,
}

/// Cache actions.
#[derive(Debug, clap::Subcommand)]
pub enum CacheAction {
    /// Drop every cached answer.
    Purge {
        /// Config source.
        #[command(flatten)]
        config: ConfigArgs,
        /// The running gateway (default: the config's listen address).
        #[arg(long)]
        url: Option<String>,
    },
    /// Measure the semantic cache on labelled pairs (paraphrases and near
    /// misses): paraphrases served and wrong answers served per threshold,
    /// with and without the lexical guard, using the in-process embedder.
    Pairs(super::cache_pairs::PairsArgs),
}

/// Run a cache command.
pub fn run(args: &CacheArgs) -> ExitCode {
    let (config, url) = match &args.action {
        CacheAction::Purge { config, url } => (config, url),
        CacheAction::Pairs(a) => return super::cache_pairs::run(a),
    };
    let config = match load_config_offline(config) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(cache) = &config.cache else {
        eprintln!("the config has no [cache]: nothing to purge");
        return ExitCode::FAILURE;
    };
    let runtime = match runtime(false) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cache.backend {
            CacheBackend::Redis(redis_url) => {
                crate::cache::redis::RedisStore::new(redis_url, cache.ttl, 1)?
                    .purge()
                    .await
            }
            CacheBackend::Memory => {
                let base = url
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", config.listen));
                purge_running(&base, &config.auth).await
            }
        }
    });
    match result {
        Ok(n) => {
            println!("purged {n} cached answers");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cache purge failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn purge_running(base: &str, auth: &AuthConfig) -> Result<u64, String> {
    crate::providers::upstream::install_crypto_provider();
    let client = reqwest::Client::new();
    let mut req = client.delete(format!("{}/admin/cache", base.trim_end_matches('/')));
    if let AuthConfig::MasterKey(k) = auth {
        req = req.bearer_auth(k.expose_secret());
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("{base} (is the gateway running?): {e}"))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    v["purged"]
        .as_u64()
        .ok_or_else(|| "unexpected answer".to_string())
}

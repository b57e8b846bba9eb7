//! `switchyard keys create|list|show|revoke|rotate`: client keys in the
//! ledger's database. A key is printed once, when it is made; afterwards
//! only its id and hint exist. Running gateways pick changes up within
//! about a second.

use super::{ConfigArgs, load_config_offline};
use crate::server::runtime;
use crate::store::{KeyRow, Store};
use crate::teams::view::{describe as as_json, now_ms, status, when};
use crate::teams::{NewKey, mint, successor};
use serde_json::json;
use std::process::ExitCode;

/// `switchyard keys …`.
#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    /// Config source (the ledger's database holds the keys).
    #[command(flatten)]
    pub config: ConfigArgs,
    /// What to do.
    #[command(subcommand)]
    pub action: KeysAction,
}

/// A key's own budget and rate limits (beside the configured ones).
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Spend limit in USD over --budget-window.
    #[arg(long)]
    budget_usd: Option<rust_decimal::Decimal>,
    /// day, week, month (default) or total.
    #[arg(long, requires = "budget_usd")]
    budget_window: Option<String>,
    /// Requests in any 60 s.
    #[arg(long)]
    rpm: Option<u64>,
    /// Prompt and answer tokens in any 60 s.
    #[arg(long)]
    tpm: Option<u64>,
    /// While Redis is unreachable: open (count locally) or closed (refuse).
    #[arg(long)]
    redis_down: Option<String>,
    /// Guardrail action for its requests that carry secrets: allow, redact,
    /// force_local or block (over the route's and [guard]'s).
    #[arg(long)]
    guard: Option<String>,
    /// Ceiling on an answer's tokens (a request's max_tokens is lowered to it).
    #[arg(long)]
    max_tokens: Option<u64>,
}

/// Key actions.
#[derive(Debug, clap::Subcommand)]
pub enum KeysAction {
    /// Make a key (printed once).
    Create {
        /// What it is for ("alice laptop", "ci").
        #[arg(long)]
        name: String,
        /// The developer it belongs to.
        #[arg(long)]
        user: Option<String>,
        /// Their team.
        #[arg(long)]
        team: Option<String>,
        /// Model names (globs) it may ask for, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        models: Vec<String>,
        /// Lifetime, e.g. 90d or 12h (default: no expiry).
        #[arg(long)]
        #[arg(value_parser = crate::config::units::parse_duration)]
        expires_in: Option<std::time::Duration>,
        /// Free-form JSON kept with the key.
        #[arg(long)]
        metadata: Option<String>,
        /// The key's own limits.
        #[command(flatten)]
        limits: Box<LimitArgs>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// List keys (live ones unless --all).
    List {
        /// Revoked and expired keys too.
        #[arg(long)]
        all: bool,
        /// JSON Lines output.
        #[arg(long)]
        json: bool,
    },
    /// One key's details.
    Show {
        /// Its id (`key_…`).
        id: String,
    },
    /// Revoke a key: every gateway refuses it within about a second.
    Revoke {
        /// Its id (`key_…`).
        id: String,
    },
    /// Make a new key with the same owner and limits, and revoke the old one.
    Rotate {
        /// Its id (`key_…`).
        id: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

fn print_secret(secret: &str, row: &KeyRow, json_out: bool) {
    if json_out {
        let mut v = as_json(row, row.created_ms);
        v["key"] = json!(secret);
        println!("{v}");
    } else {
        println!("{secret}");
        eprintln!(
            "key {} for {} — shown once: store it now (Claude Code: ANTHROPIC_AUTH_TOKEN={}…)",
            row.id,
            row.user_id.as_deref().unwrap_or(&row.name),
            &secret[..10.min(secret.len())]
        );
    }
}

async fn create(store: &Store, new: NewKey, json_out: bool) -> Result<(), String> {
    if let Some(m) = &new.metadata {
        serde_json::from_str::<serde_json::Value>(m)
            .map_err(|e| format!("--metadata is not JSON: {e}"))?;
    }
    let (secret, row) = mint(&new, now_ms())?;
    store
        .insert_key(&row)
        .await
        .map_err(|e| format!("cannot store the key: {e}"))?;
    print_secret(&secret, &row, json_out);
    Ok(())
}

async fn find(store: &Store, id: &str) -> Result<KeyRow, String> {
    store
        .key(id)
        .await
        .map_err(|e| format!("cannot read the keys: {e}"))?
        .ok_or_else(|| format!("no key {id}"))
}

async fn act(store: &Store, action: &KeysAction) -> Result<(), String> {
    let now = now_ms();
    match action {
        KeysAction::Create {
            name,
            user,
            team,
            models,
            expires_in,
            metadata,
            limits,
            json,
        } => {
            let expires_ms = expires_in
                .map(|d| now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
            let limits = crate::teams::KeyLimits {
                budget_usd: limits.budget_usd,
                budget_window: limits.budget_window.clone(),
                requests_per_minute: limits.rpm,
                tokens_per_minute: limits.tpm,
                redis_down: limits.redis_down.clone(),
                guard: limits.guard.clone(),
                max_tokens: limits.max_tokens,
            };
            limits.check()?;
            let new = NewKey {
                name: name.clone(),
                user: user.clone(),
                team: team.clone(),
                models: models.iter().filter(|m| !m.is_empty()).cloned().collect(),
                expires_ms,
                metadata: metadata.clone(),
                limits,
            };
            create(store, new, *json).await
        }
        KeysAction::List { all, json } => {
            let keys = store
                .keys_changed_since(0)
                .await
                .map_err(|e| format!("cannot read the keys: {e}"))?;
            let shown: Vec<&KeyRow> = keys
                .iter()
                .filter(|k| *all || status(k, now) == "live")
                .collect();
            if *json {
                shown.iter().for_each(|k| println!("{}", as_json(k, now)));
                return Ok(());
            }
            println!(
                "{:<17} {:<12} {:<8} {:<18} {:<12} {:<10} expires",
                "id", "hint", "status", "name", "user", "team"
            );
            for k in shown {
                println!(
                    "{:<17} {:<12} {:<8} {:<18} {:<12} {:<10} {}",
                    k.id,
                    k.hint,
                    status(k, now),
                    k.name,
                    k.user_id.as_deref().unwrap_or("-"),
                    k.team.as_deref().unwrap_or("-"),
                    when(k.expires_ms)
                );
            }
            Ok(())
        }
        KeysAction::Show { id } => {
            let k = find(store, id).await?;
            let text = serde_json::to_string_pretty(&as_json(&k, now))
                .map_err(|e| format!("cannot print the key: {e}"))?;
            println!("{text}");
            Ok(())
        }
        KeysAction::Revoke { id } => {
            let k = find(store, id).await?;
            if !store
                .revoke_key(&k.id, now)
                .await
                .map_err(|e| format!("cannot revoke: {e}"))?
            {
                return Err(format!("key {id} was already revoked"));
            }
            println!("revoked {} ({})", k.id, k.hint);
            Ok(())
        }
        KeysAction::Rotate { id, json } => {
            let old = find(store, id).await?;
            if old.revoked_ms.is_some() {
                return Err(format!("key {id} is revoked; create a new one"));
            }
            let new = successor(&old, now);
            create(store, new, *json).await?;
            store.revoke_key(&old.id, now).await.map_err(|e| {
                format!("the new key is stored, but revoking the old one failed: {e}")
            })?;
            eprintln!("revoked {} ({})", old.id, old.hint);
            Ok(())
        }
    }
}

/// Run a keys command.
pub fn run(args: &KeysArgs) -> ExitCode {
    let result = load_config_offline(&args.config)
        .map_err(|e| e.to_string())
        .and_then(|config| {
            runtime(false)?.block_on(async {
                let store = crate::usage::setup::open_store(&config).await?;
                act(&store, &args.action).await
            })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.trim_end());
            ExitCode::FAILURE
        }
    }
}

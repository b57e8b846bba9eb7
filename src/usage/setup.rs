//! Putting the ledger together from config: the store, the prices, the
//! writer.

use super::ledger::Pricer;
use super::pricing::{PriceBook, parse_file};
use super::writer::{Ledger, LedgerWriter, WriterConfig, start};
use crate::config::Config;
use crate::store::Store;
use std::sync::Arc;

/// The price book for a config (its prices file, if any).
pub fn price_book(config: &Config) -> Result<PriceBook, String> {
    let overrides = Vec::new();
    let file = match config.prices_file() {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read prices_file {}: {e}", path.display()))?;
            let source = path.display().to_string();
            let entries =
                parse_file(&text, &source, "").map_err(|e| format!("{}: {e}", path.display()))?;
            tracing::info!(entries = entries.len(), file = %path.display(), "loaded prices");
            entries
        }
        None => Vec::new(),
    };
    Ok(PriceBook::new(overrides, file))
}

/// The price of each configured model that has one, for routing's cost
/// model.
pub fn model_prices(
    config: &Config,
) -> Result<std::collections::HashMap<String, crate::core::Price>, String> {
    Ok(Pricer::new(config, price_book(config)?).model_prices(config))
}

/// Open the ledger database named by a config, creating a SQLite ledger
/// (and its directory) when it does not exist yet: what `serve` does.
pub async fn open_store(config: &Config) -> Result<Store, String> {
    let url = config.database_url();
    if let Some(file) = crate::config::sqlite_path(&url) {
        let dir = file.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir.filter(|d| !d.exists()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                format!(
                    "cannot create the ledger's directory {}: {e} (database_url in {})",
                    dir.display(),
                    config_name(config)
                )
            })?;
        }
        return Store::connect(&url)
            .await
            .map_err(|e| format!("{e} (the ledger file: {})", file.display()));
    }
    Store::connect(&url).await
}

/// Open a ledger that must already exist: what `report`, `export` and
/// `reconcile` read. A SQLite file that is not there is an error naming it
/// (run from the wrong directory, a report would otherwise read an empty,
/// new ledger).
pub async fn open_existing_store(config: &Config) -> Result<Store, String> {
    let url = config.database_url();
    if let Some(file) = crate::config::sqlite_path(&url)
        && !file.exists()
    {
        return Err(format!(
            "no ledger at {} (the ledger of {}): pass --config with the gateway's config, \
             or run where the gateway runs",
            file.display(),
            config_name(config)
        ));
    }
    Store::connect(&url).await
}

fn config_name(config: &Config) -> String {
    match &config.source {
        crate::config::ConfigSource::File(p) => p.display().to_string(),
        crate::config::ConfigSource::Embedded => "the built-in default config".into(),
    }
}

/// The ledger sink, its writer, and the store (for reports) for a config.
pub async fn open_ledger(config: &Config) -> Result<(Arc<Ledger>, LedgerWriter, Store), String> {
    let store = open_store(config).await?;
    let pricer = Pricer::new(config, price_book(config)?);
    let writer = WriterConfig {
        retention: config.ledger.retention,
        cache_ttl: config.routing.cache_ttl,
        spool: Some(config.spool_file()),
        ..WriterConfig::default()
    };
    let (ledger, writer) = start(store.clone(), pricer, writer);
    Ok((ledger, writer, store))
}

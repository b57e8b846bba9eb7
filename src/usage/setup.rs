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

/// Open the ledger database named by a config.
pub async fn open_store(config: &Config) -> Result<Store, String> {
    Store::connect(&config.database_url()).await
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

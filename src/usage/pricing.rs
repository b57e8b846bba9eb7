//! Prices and exact cost.
//!
//! Prices are USD per million tokens, in decimal, for each kind of token:
//! uncached input, output, cache writes at the 5-minute and 1-hour TTLs, and
//! cache reads — plus, for some models, a long-context tier that bills a
//! whole request at other rates once its prompt passes a threshold of its
//! own. The table is data (`prices/claude.csv`, see `price_table`); config
//! overrides a model's price, and `prices_file` (the same format, or
//! LiteLLM's `model_prices_and_context_window.json`) adds or replaces rows.
//!
//! A Claude model id that no row names is priced as the newest known model
//! of its family (under the same inference-profile prefix when there is
//! one) and marked estimated; any other unknown model is unpriced.

pub use super::price_table::Row;
use super::price_table::{self, EMBEDDED, base_id, claude};
pub use crate::core::{LONG_CONTEXT_TOKENS, LongContext, Price, Rates};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use std::collections::HashMap;
use std::sync::LazyLock;

/// A price and how sure it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    /// The price.
    pub price: Price,
    /// `Some(model)` when the model is unknown and priced as `model`.
    pub estimated_from: Option<String>,
}

impl Priced {
    fn exact(price: Price) -> Self {
        Priced {
            price,
            estimated_from: None,
        }
    }
}

/// Rows by base id.
#[derive(Debug, Clone, Default)]
struct Table(HashMap<String, Row>);

impl Table {
    fn of(rows: Vec<Row>) -> Self {
        Table(
            rows.into_iter()
                .map(|r| (base_id(&r.id).to_string(), r))
                .collect(),
        )
    }

    fn get(&self, model: &str) -> Option<&Row> {
        self.0.get(model).or_else(|| self.0.get(base_id(model)))
    }

    /// The newest model of `family` under `prefix`.
    fn newest(&self, prefix: &str, family: &str) -> Option<&Row> {
        self.0
            .values()
            .filter_map(|r| claude(&r.id).map(|c| (r, c)))
            .filter(|(_, c)| c.prefix == prefix && c.family == family)
            .max_by(|(a, x), (b, y)| x.version.cmp(&y.version).then(b.id.cmp(&a.id)))
            .map(|(r, _)| r)
    }
}

fn embedded() -> &'static Table {
    static TABLE: LazyLock<Table> = LazyLock::new(|| match price_table::parse(EMBEDDED) {
        Ok(rows) => Table::of(rows),
        Err(e) => {
            // A unit test keeps this from ever shipping.
            tracing::error!(error = %e, "the embedded price table does not parse");
            Table::default()
        }
    });
    &TABLE
}

/// The embedded rows, sorted by id.
pub fn embedded_rows() -> Vec<Row> {
    let mut rows: Vec<Row> = embedded().0.values().cloned().collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows
}

/// Where prices come from, in order: per-model config, a prices file, the
/// embedded table; then an estimate from the model's family.
#[derive(Debug, Clone, Default)]
pub struct PriceBook {
    overrides: HashMap<String, Price>,
    file: Table,
}

impl PriceBook {
    /// A book with these overrides (upstream model id → price) and file rows.
    pub fn new(overrides: Vec<(String, Price)>, file: Vec<Row>) -> Self {
        PriceBook {
            overrides: overrides.into_iter().collect(),
            file: Table::of(file),
        }
    }

    /// The row a model id is priced by exactly, if any.
    pub fn row(&self, model: &str) -> Option<&Row> {
        self.file.get(model).or_else(|| embedded().get(model))
    }

    /// The price of an upstream model id: exact, estimated, or `None`.
    pub fn lookup(&self, model: &str) -> Option<Priced> {
        if let Some(p) = self.overrides.get(model) {
            return Some(Priced::exact(*p));
        }
        if let Some(r) = self.row(model) {
            return Some(Priced::exact(r.price));
        }
        let c = claude(base_id(model))?;
        let newest = [&self.file, embedded()]
            .into_iter()
            .find_map(|t| t.newest(c.prefix, c.family))
            .or_else(|| {
                // No row under this profile prefix: the API's family.
                [&self.file, embedded()]
                    .into_iter()
                    .find_map(|t| t.newest("", c.family))
            })?;
        Some(Priced {
            price: newest.price,
            estimated_from: Some(newest.id.clone()),
        })
    }
}

/// Parse a LiteLLM `model_prices_and_context_window.json` (USD per token)
/// into rows. Lenient: entries without token prices, and `sample_spec`, are
/// skipped; the long-context tier is read at whatever threshold the entry
/// names (`…_above_200k_tokens`, `…_above_100k_tokens`).
pub fn parse_litellm(json: &str, source: &str, date: &str) -> Result<Vec<Row>, String> {
    let root: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|e| format!("not a LiteLLM price file: {e}"))?;
    let per_million = |v: Option<&serde_json::Value>| -> Option<Decimal> {
        let x = v?.as_f64()?;
        // Per-token floats like 3e-06 → exactly 3 per million.
        Decimal::from_f64(x * 1e6).map(|d| d.round_dp(6).normalize())
    };
    let mut out = Vec::new();
    for (name, entry) in root {
        if name == "sample_spec" {
            continue;
        }
        let get = |k: &str| per_million(entry.get(k));
        let rates = |suffix: &str, input: Decimal, output: Decimal| Rates {
            input,
            output,
            cache_write_5m: get(&format!("cache_creation_input_token_cost{suffix}"))
                .unwrap_or(input * Decimal::new(125, 2)),
            cache_write_1h: get(&format!(
                "cache_creation_input_token_cost_above_1hr{suffix}"
            ))
            .unwrap_or(input * Decimal::from(2)),
            cache_read: get(&format!("cache_read_input_token_cost{suffix}"))
                .unwrap_or(input * Decimal::new(1, 1)),
        };
        let (Some(input), Some(output)) =
            (get("input_cost_per_token"), get("output_cost_per_token"))
        else {
            continue;
        };
        let threshold = entry.as_object().and_then(|o| {
            o.keys().find_map(|k| {
                let n = k
                    .strip_prefix("input_cost_per_token_above_")?
                    .strip_suffix("k_tokens")?;
                n.parse::<u64>().ok()
            })
        });
        let long_context = threshold.and_then(|k| {
            let suffix = format!("_above_{k}k_tokens");
            let li = get(&format!("input_cost_per_token{suffix}"))?;
            let lo = get(&format!("output_cost_per_token{suffix}"))?;
            Some(LongContext {
                above: k * 1000,
                rates: rates(&suffix, li, lo),
            })
        });
        out.push(Row {
            id: name,
            price: Price {
                base: rates("", input, output),
                long_context,
            },
            source: source.to_string(),
            date: date.to_string(),
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Read a prices file: LiteLLM's JSON, or the table format.
pub fn parse_file(text: &str, source: &str, date: &str) -> Result<Vec<Row>, String> {
    if text.trim_start().starts_with('{') {
        parse_litellm(text, source, date)
    } else {
        price_table::parse(text)
    }
}

#[cfg(test)]
#[path = "pricing_tests.rs"]
mod tests;

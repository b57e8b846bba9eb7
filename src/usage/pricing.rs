//! Prices and exact cost.
//!
//! Prices are USD per million tokens, in decimal, for each kind of token:
//! uncached input, output, cache writes at the 5-minute and 1-hour TTLs, and
//! cache reads — plus the long-context tier that bills a whole request at
//! higher rates once its prompt exceeds 200K tokens. The embedded table
//! covers Claude on the Anthropic API and on Bedrock (global and regional
//! inference profiles; regional ones cost 10% more from the 4.5 models on);
//! config and a LiteLLM `model_prices_and_context_window.json` override it.

pub use crate::core::{LONG_CONTEXT_TOKENS, Price, Rates};
use crate::routing::glob_match;
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

/// Decimal from a literal like "3.75".
fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

fn rates(input: &str, write_5m: &str, write_1h: &str, read: &str, output: &str) -> Rates {
    Rates {
        input: d(input),
        output: d(output),
        cache_write_5m: d(write_5m),
        cache_write_1h: d(write_1h),
        cache_read: d(read),
    }
}

/// One row of the embedded table: model-id patterns and their price.
struct Row {
    patterns: Vec<String>,
    price: Price,
}

/// Patterns for a Bedrock model under each of these profile prefixes.
fn bedrock(prefixes: &[&str], base_id: &str) -> Vec<String> {
    prefixes
        .iter()
        .map(|p| format!("{p}anthropic.{base_id}*"))
        .collect()
}

const GLOBAL: &[&str] = &["global.", ""];
const REGIONAL: &[&str] = &["us.", "eu.", "jp.", "au.", "apac."];

/// The embedded table, most specific first. Sources:
/// ../shared/reference/wire-protocols.md §5 (Anthropic's pricing page for
/// the API; LiteLLM's table for Bedrock).
fn embedded() -> &'static [Row] {
    static TABLE: std::sync::LazyLock<Vec<Row>> = std::sync::LazyLock::new(embedded_table);
    &TABLE
}

fn embedded_table() -> Vec<Row> {
    let sonnet = rates("3", "3.75", "6", "0.30", "15");
    let sonnet_long = rates("6", "7.50", "12", "0.60", "22.50");
    let sonnet_regional = rates("3.30", "4.125", "6.60", "0.33", "16.50");
    let sonnet_regional_long = rates("6.60", "8.25", "13.20", "0.66", "24.75");
    let haiku45 = rates("1", "1.25", "2", "0.10", "5");
    let haiku45_regional = rates("1.10", "1.375", "2.20", "0.11", "5.50");
    let haiku35 = rates("0.80", "1", "1.6", "0.08", "4");
    let opus41 = rates("15", "18.75", "30", "1.50", "75");
    let opus45 = rates("5", "6.25", "10", "0.50", "25");
    let opus45_regional = rates("5.50", "6.875", "11", "0.55", "27.50");
    let row = |patterns: Vec<String>, base: Rates, long: Option<Rates>| Row {
        patterns,
        price: Price {
            base,
            long_context: long,
        },
    };
    let api = |p: &str| vec![format!("{p}*")];
    vec![
        // Anthropic API
        row(api("claude-sonnet-4-5"), sonnet, Some(sonnet_long)),
        row(api("claude-sonnet-4-2"), sonnet, Some(sonnet_long)),
        row(api("claude-haiku-4-5"), haiku45, None),
        row(api("claude-3-5-haiku"), haiku35, None),
        row(api("claude-opus-4-1"), opus41, None),
        row(api("claude-opus-4-5"), opus45, None),
        // Bedrock: regional profiles first (they also start with the base id's prefix letters).
        row(
            bedrock(REGIONAL, "claude-sonnet-4-5"),
            sonnet_regional,
            Some(sonnet_regional_long),
        ),
        row(
            bedrock(GLOBAL, "claude-sonnet-4-5"),
            sonnet,
            Some(sonnet_long),
        ),
        row(
            bedrock(&["global.", "us.", "eu.", "apac.", ""], "claude-sonnet-4-2"),
            sonnet,
            Some(sonnet_long),
        ),
        row(
            bedrock(REGIONAL, "claude-haiku-4-5"),
            haiku45_regional,
            None,
        ),
        row(bedrock(GLOBAL, "claude-haiku-4-5"), haiku45, None),
        row(bedrock(&["us.", ""], "claude-3-5-haiku"), haiku35, None),
        row(
            bedrock(&["us.", "eu.", ""], "claude-opus-4-1"),
            opus41,
            None,
        ),
        row(
            bedrock(&["us.", "eu."], "claude-opus-4-5"),
            opus45_regional,
            None,
        ),
        row(bedrock(GLOBAL, "claude-opus-4-5"), opus45, None),
    ]
}

/// Where prices come from, in order: per-model config, a LiteLLM file, the
/// embedded table.
#[derive(Debug, Clone, Default)]
pub struct PriceBook {
    overrides: Vec<(String, Price)>,
    file: Vec<(String, Price)>,
}

impl PriceBook {
    /// A book with these overrides (upstream model id → price) and file entries.
    pub fn new(overrides: Vec<(String, Price)>, file: Vec<(String, Price)>) -> Self {
        PriceBook { overrides, file }
    }

    /// The price of an upstream model id, if known.
    pub fn lookup(&self, model: &str) -> Option<Price> {
        let exact =
            |list: &[(String, Price)]| list.iter().find(|(m, _)| m == model).map(|(_, p)| *p);
        if let Some(p) = exact(&self.overrides).or_else(|| exact(&self.file)) {
            return Some(p);
        }
        // LiteLLM keys Bedrock ids with region prefixes ("bedrock/us-east-1/...").
        if let Some(p) = self
            .file
            .iter()
            .find(|(m, _)| m.rsplit('/').next() == Some(model))
            .map(|(_, p)| *p)
        {
            return Some(p);
        }
        embedded()
            .iter()
            .find(|r| r.patterns.iter().any(|p| glob_match(p, model)))
            .map(|r| r.price)
    }
}

/// Parse a LiteLLM `model_prices_and_context_window.json` (USD per token).
/// Lenient: entries without token prices, and `sample_spec`, are skipped.
pub fn parse_litellm(json: &str) -> Result<Vec<(String, Price)>, String> {
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
        let (Some(input), Some(output)) =
            (get("input_cost_per_token"), get("output_cost_per_token"))
        else {
            continue;
        };
        let write_5m = get("cache_creation_input_token_cost").unwrap_or(input);
        let base = Rates {
            input,
            output,
            cache_write_5m: write_5m,
            cache_write_1h: get("cache_creation_input_token_cost_above_1hr")
                .unwrap_or(input * Decimal::from(2)),
            cache_read: get("cache_read_input_token_cost").unwrap_or(input),
        };
        let long_context = match (
            get("input_cost_per_token_above_200k_tokens"),
            get("output_cost_per_token_above_200k_tokens"),
        ) {
            (Some(li), Some(lo)) => Some(Rates {
                input: li,
                output: lo,
                cache_write_5m: get("cache_creation_input_token_cost_above_200k_tokens")
                    .unwrap_or(li),
                cache_write_1h: get("cache_creation_input_token_cost_above_1hr_above_200k_tokens")
                    .unwrap_or(li * Decimal::from(2)),
                cache_read: get("cache_read_input_token_cost_above_200k_tokens").unwrap_or(li),
            }),
            _ => None,
        };
        out.push((name, Price { base, long_context }));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "pricing_tests.rs"]
mod tests;

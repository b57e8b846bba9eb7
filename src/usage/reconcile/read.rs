//! Reading a provider's own usage and cost export into bill lines (day ×
//! model × token kind, tokens and/or USD). Formats are recognized by their
//! columns; unknown columns are ignored.
//!
//! - AWS Cost and Usage Report, CUR 2.0 (`line_item_usage_type`,
//!   `line_item_usage_amount`, `line_item_unblended_cost`,
//!   `line_item_usage_start_date`) or legacy (`lineItem/UsageType`, …):
//!   Bedrock rows only; the token kind and model come from the usage type
//!   (`USE1-Claude4.6Sonnet-cache-read-input-token-count`).
//! - AWS Cost Explorer CSV export: one row per day, one `… ($)` column per
//!   usage type (cost only).
//! - Anthropic Console usage / cost exports: one row per day and model, with
//!   token columns (`uncached_input_tokens`, `output_tokens`,
//!   `cache_read_input_tokens`, `cache_creation_input_tokens`, or the
//!   `usage_input_tokens_*` spellings) and/or a cost column (`cost_usd`,
//!   `amount`), or one row per token type (`token_type`).

use super::{BillLine, TokenKind, model_key};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// Which export a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// AWS Cost and Usage Report (CUR 2.0 or legacy).
    AwsCur,
    /// AWS Cost Explorer CSV export.
    AwsCostExplorer,
    /// Anthropic Console usage or cost export.
    Anthropic,
}

/// A header: column name (lowercased, trimmed) → index.
struct Header(HashMap<String, usize>);

impl Header {
    fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.0.get(*n).copied())
    }
}

fn number(s: &str) -> Option<Decimal> {
    let s = s.trim().trim_start_matches('$').replace(',', "");
    if s.is_empty() {
        return None;
    }
    s.parse().ok().or_else(|| {
        s.parse::<f64>()
            .ok()
            .and_then(rust_decimal::prelude::FromPrimitive::from_f64)
    })
}

/// `2026-11-28…` → `2026-11-28`.
fn day(s: &str) -> Option<String> {
    let s = s.trim();
    (s.len() >= 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-')
        .then(|| s[..10].to_string())
}

/// The token kind a usage type names, from its end.
fn kind_of_usage_type(t: &str) -> Option<TokenKind> {
    let t = t.to_ascii_lowercase();
    if t.contains("cache-read") {
        Some(TokenKind::CacheRead)
    } else if t.contains("cache-write") {
        Some(TokenKind::CacheWrite)
    } else if t.contains("output-tokens") {
        Some(TokenKind::Output)
    } else if t.contains("input-tokens") {
        Some(TokenKind::Input)
    } else {
        None
    }
}

/// Tokens per unit of a CUR pricing unit ("1K tokens", "Million Tokens").
fn unit_tokens(unit: &str) -> Decimal {
    let u = unit.to_ascii_lowercase();
    if u.contains("million") || u.contains("1m") {
        Decimal::from(1_000_000)
    } else if u.contains("1k") || u.contains("thousand") || u.starts_with("k ") {
        Decimal::from(1000)
    } else {
        Decimal::ONE
    }
}

/// Read an export.
pub fn read(text: &str) -> Result<(Format, Vec<BillLine>), String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = Header(
        reader
            .headers()
            .map_err(|e| format!("not a CSV file: {e}"))?
            .iter()
            .enumerate()
            .map(|(i, h)| {
                (
                    h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase(),
                    i,
                )
            })
            .collect(),
    );
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad CSV: {e}"))?;
    if header
        .find(&["line_item_usage_type", "lineitem/usagetype"])
        .is_some()
    {
        return cur(&header, &records).map(|l| (Format::AwsCur, l));
    }
    if header.0.keys().any(|k| k.ends_with("($)")) {
        return Ok((Format::AwsCostExplorer, cost_explorer(&header, &records)));
    }
    if header.find(&["model", "model_version"]).is_some() {
        return anthropic(&header, &records).map(|l| (Format::Anthropic, l));
    }
    Err("unknown export: expected an AWS CUR, a Cost Explorer CSV export, or an Anthropic Console usage or cost export".into())
}

fn cur(h: &Header, records: &[csv::StringRecord]) -> Result<Vec<BillLine>, String> {
    let col = |names: &[&str], what: &str| {
        h.find(names)
            .ok_or_else(|| format!("the CUR has no {what} column ({})", names.join(" or ")))
    };
    let usage_type = col(
        &["line_item_usage_type", "lineitem/usagetype"],
        "usage type",
    )?;
    let start = col(
        &["line_item_usage_start_date", "lineitem/usagestartdate"],
        "usage start date",
    )?;
    let amount = h.find(&["line_item_usage_amount", "lineitem/usageamount"]);
    let cost = h.find(&[
        "line_item_unblended_cost",
        "lineitem/unblendedcost",
        "line_item_net_unblended_cost",
    ]);
    let product = h.find(&["line_item_product_code", "lineitem/productcode"]);
    let unit = h.find(&["pricing_unit", "pricing/unit"]);
    fn get(r: &csv::StringRecord, i: Option<usize>) -> &str {
        i.and_then(|i| r.get(i)).unwrap_or("")
    }
    let mut out = Vec::new();
    for r in records {
        let product = get(r, product);
        if !product.is_empty() && !product.to_ascii_lowercase().contains("bedrock") {
            continue;
        }
        let t = get(r, Some(usage_type));
        let (Some(kind), Some(model), Some(day)) = (
            kind_of_usage_type(t),
            model_key(t),
            day(get(r, Some(start))),
        ) else {
            continue;
        };
        out.push(BillLine {
            day,
            model,
            kind: Some(kind),
            tokens: number(get(r, amount)).map(|n| n * unit_tokens(get(r, unit))),
            usd: number(get(r, cost)),
        });
    }
    Ok(out)
}

fn cost_explorer(h: &Header, records: &[csv::StringRecord]) -> Vec<BillLine> {
    let mut columns: Vec<(usize, String, TokenKind)> =
        h.0.iter()
            .filter_map(|(name, i)| {
                let t = name.strip_suffix("($)")?.trim();
                Some((*i, model_key(t)?, kind_of_usage_type(t)?))
            })
            .collect();
    columns.sort_by_key(|c| c.0);
    let mut out = Vec::new();
    for r in records {
        let Some(day) = r.get(0).and_then(day) else {
            continue; // the "… total" row
        };
        for (i, model, kind) in &columns {
            if let Some(usd) = r.get(*i).and_then(number) {
                out.push(BillLine {
                    day: day.clone(),
                    model: model.clone(),
                    kind: Some(*kind),
                    tokens: None,
                    usd: Some(usd),
                });
            }
        }
    }
    out
}

fn anthropic(h: &Header, records: &[csv::StringRecord]) -> Result<Vec<BillLine>, String> {
    let date = h
        .find(&["usage_date_utc", "date", "starting_at", "day"])
        .ok_or("the export has no date column (usage_date_utc, date or starting_at)")?;
    let model = h.find(&["model", "model_version"]).unwrap_or(0);
    let cost = h.find(&["cost_usd", "cost", "amount_usd", "amount"]);
    // Cost reports give amounts in cents ("amount" with a currency column).
    let cents =
        h.find(&["currency"]).is_some() && h.find(&["cost_usd", "cost", "amount_usd"]).is_none();
    let token_type = h.find(&["token_type"]);
    let wide = [
        (
            TokenKind::Input,
            &[
                "uncached_input_tokens",
                "usage_input_tokens_no_cache",
                "input_tokens",
            ][..],
        ),
        (
            TokenKind::Output,
            &["output_tokens", "usage_output_tokens"][..],
        ),
        (
            TokenKind::CacheRead,
            &["cache_read_input_tokens", "usage_input_tokens_cache_read"][..],
        ),
        (
            TokenKind::CacheWrite,
            &[
                "cache_creation_input_tokens",
                "usage_input_tokens_cache_write",
                "cache_write_input_tokens",
            ][..],
        ),
    ];
    let extra_writes: Vec<usize> = [
        "usage_input_tokens_cache_write_5m",
        "usage_input_tokens_cache_write_1h",
    ]
    .iter()
    .filter_map(|n| h.find(&[n]))
    .collect();
    let mut out = Vec::new();
    for r in records {
        let (Some(day), Some(model)) =
            (r.get(date).and_then(day), r.get(model).and_then(model_key))
        else {
            continue;
        };
        let usd = cost
            .and_then(|i| r.get(i))
            .and_then(number)
            .map(|n| if cents { n / Decimal::from(100) } else { n });
        if let Some(t) = token_type {
            let t = r.get(t).unwrap_or("");
            let kind = match t {
                "uncached_input_tokens" | "input_tokens" => TokenKind::Input,
                "output_tokens" => TokenKind::Output,
                "cache_read_input_tokens" => TokenKind::CacheRead,
                t if t.starts_with("cache_creation") => TokenKind::CacheWrite,
                _ => continue,
            };
            out.push(BillLine {
                day,
                model,
                kind: Some(kind),
                tokens: None,
                usd,
            });
            continue;
        }
        for (kind, names) in &wide {
            let mut tokens = h.find(names).and_then(|i| r.get(i)).and_then(number);
            if *kind == TokenKind::CacheWrite && tokens.is_none() && !extra_writes.is_empty() {
                tokens = Some(
                    extra_writes
                        .iter()
                        .filter_map(|i| r.get(*i).and_then(number))
                        .sum(),
                );
            }
            if let Some(tokens) = tokens {
                out.push(BillLine {
                    day: day.clone(),
                    model: model.clone(),
                    kind: Some(*kind),
                    tokens: Some(tokens),
                    usd: None,
                });
            }
        }
        if usd.is_some() {
            out.push(BillLine {
                day,
                model,
                kind: None,
                tokens: None,
                usd,
            });
        }
    }
    Ok(out)
}

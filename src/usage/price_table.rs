//! The price table as data: `prices/claude.csv` (embedded at build), or a
//! team's own file in the same format. One row per model id, each with its
//! source and the date it was checked, so a price change is a one-line diff.
//!
//! Ids are matched by their base: dated ids (`-20250929`), Bedrock version
//! suffixes (`-v1:0`), `@…` tags and ARN or LiteLLM paths (`…/id`) fall back
//! to the row of the id they name.

use crate::core::{LongContext, Price, Rates};
use rust_decimal::Decimal;

/// The embedded table.
pub const EMBEDDED: &str = include_str!("../../prices/claude.csv");

/// The columns, in order.
pub const HEADER: &str = "id,input,output,cache_write_5m,cache_write_1h,cache_read,long_above,\
long_input,long_output,long_cache_write_5m,long_cache_write_1h,long_cache_read,source,date";

/// One priced model id.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The base model id (`claude-opus-5-5`, `us.anthropic.claude-sonnet-5`).
    pub id: String,
    /// Its price.
    pub price: Price,
    /// Where the price came from.
    pub source: String,
    /// When it was checked (YYYY-MM-DD).
    pub date: String,
}

fn decimal(field: &str, what: &str) -> Result<Decimal, String> {
    field
        .trim()
        .parse()
        .map_err(|_| format!("{what}: '{field}' is not a number"))
}

/// Parse a table (comment lines start with `#`; the header is required).
pub fn parse(text: &str) -> Result<Vec<Row>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    match lines.next() {
        Some((_, h)) if h.trim() == HEADER => {}
        _ => return Err(format!("the first line must be the header: {HEADER}")),
    }
    let mut rows = Vec::new();
    for (n, line) in lines {
        let at = |e: String| format!("line {}: {e}", n + 1);
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != 14 {
            return Err(at(format!("{} fields, expected 14", f.len())));
        }
        let rates = |i: usize| -> Result<Rates, String> {
            Ok(Rates {
                input: decimal(f[i], "input")?,
                output: decimal(f[i + 1], "output")?,
                cache_write_5m: decimal(f[i + 2], "cache_write_5m")?,
                cache_write_1h: decimal(f[i + 3], "cache_write_1h")?,
                cache_read: decimal(f[i + 4], "cache_read")?,
            })
        };
        let base = rates(1).map_err(at)?;
        let long_context = match f[6] {
            "" => None,
            above => Some(LongContext {
                above: above
                    .parse()
                    .map_err(|_| at(format!("long_above: '{above}' is not a token count")))?,
                rates: rates(7).map_err(at)?,
            }),
        };
        rows.push(Row {
            id: base_id(f[0]).to_string(),
            price: Price { base, long_context },
            source: f[12].to_string(),
            date: f[13].to_string(),
        });
    }
    Ok(rows)
}

/// Write rows in the table format.
pub fn render(rows: &[Row]) -> String {
    let mut out = format!("{HEADER}\n");
    for r in rows {
        let rates = |r: &Rates| {
            format!(
                "{},{},{},{},{}",
                r.input.normalize(),
                r.output.normalize(),
                r.cache_write_5m.normalize(),
                r.cache_write_1h.normalize(),
                r.cache_read.normalize()
            )
        };
        let long = match &r.price.long_context {
            Some(l) => format!("{},{}", l.above, rates(&l.rates)),
            None => ",,,,,".to_string(),
        };
        out.push_str(&format!(
            "{},{},{long},{},{}\n",
            r.id,
            rates(&r.price.base),
            r.source,
            r.date
        ));
    }
    out
}

/// The id a model id is priced under: without a path, an `@` tag, a
/// Bedrock version suffix (`-v1:0`), a date (`-20250929`) or `-latest`.
pub fn base_id(model: &str) -> &str {
    let mut id = model.rsplit('/').next().unwrap_or(model);
    if let Some(i) = id.find('@') {
        id = &id[..i];
    }
    if let Some(i) = id.rfind("-v") {
        let tail = &id[i + 2..];
        if !tail.is_empty()
            && tail
                .split(':')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            id = &id[..i];
        }
    }
    if let Some(rest) = id.strip_suffix("-latest") {
        id = rest;
    }
    if let Some(i) = id.rfind('-') {
        let tail = &id[i + 1..];
        if tail.len() == 8 && tail.bytes().all(|b| b.is_ascii_digit()) {
            id = &id[..i];
        }
    }
    id
}

/// A Claude model id taken apart: its profile prefix (`us.anthropic.`,
/// empty on the API), family (`opus`) and version (`[5, 5]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claude<'a> {
    /// Everything before `claude-`.
    pub prefix: &'a str,
    /// opus, sonnet, haiku, …
    pub family: &'a str,
    /// Version numbers, most significant first.
    pub version: Vec<u32>,
}

/// Take a (base) Claude model id apart; `None` for other models.
pub fn claude(id: &str) -> Option<Claude<'_>> {
    let at = id.find("claude-")?;
    let (prefix, rest) = (&id[..at], &id[at + "claude-".len()..]);
    let mut family = None;
    let mut version = Vec::new();
    for part in rest.split('-') {
        match part.parse::<u32>() {
            Ok(n) => version.push(n),
            Err(_) if family.is_none() && part.bytes().all(|b| b.is_ascii_alphabetic()) => {
                family = Some(part)
            }
            Err(_) => {}
        }
    }
    Some(Claude {
        prefix,
        family: family?,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_parses_and_renders_back() {
        let rows = parse(EMBEDDED).unwrap();
        assert!(rows.len() > 100, "{} rows", rows.len());
        let again = parse(&render(&rows)).unwrap();
        assert_eq!(rows, again);
        let mut ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "an id is listed twice");
        assert!(
            rows.iter()
                .all(|r| !r.source.is_empty() && r.date.len() == 10)
        );
    }

    #[test]
    fn base_ids() {
        for (id, base) in [
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            (
                "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                "us.anthropic.claude-haiku-4-5",
            ),
            ("anthropic.claude-opus-4-6-v1", "anthropic.claude-opus-4-6"),
            ("claude-opus-5-5", "claude-opus-5-5"),
            ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
            ("vertex_ai/claude-opus-4-8@default", "claude-opus-4-8"),
            (
                "arn:aws:bedrock:us-east-1:1:inference-profile/eu.anthropic.claude-sonnet-5",
                "eu.anthropic.claude-sonnet-5",
            ),
        ] {
            assert_eq!(base_id(id), base, "{id}");
        }
    }

    #[test]
    fn claude_ids_apart() {
        let c = claude("us.anthropic.claude-opus-5-5").unwrap();
        assert_eq!(
            (c.prefix, c.family, c.version),
            ("us.anthropic.", "opus", vec![5, 5])
        );
        let c = claude("claude-3-5-haiku").unwrap();
        assert_eq!((c.family, c.version), ("haiku", vec![3, 5]));
        assert!(claude("gpt-4o").is_none());
    }

    #[test]
    fn bad_rows_say_where() {
        let text = format!("{HEADER}\nclaude-x,1,2,3,4,x,,,,,,,s,2026-01-01\n");
        assert!(parse(&text).unwrap_err().contains("line 2"));
        assert!(parse("id,input\n").is_err());
    }
}

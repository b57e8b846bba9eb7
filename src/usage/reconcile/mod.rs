//! Reconciling the ledger with the provider's bill: the provider's own
//! usage and cost export (`read`) against the ledger, per day × model —
//! tokens by kind and USD — with the deviation of each row and overall, and
//! rows beyond the tolerance flagged with their likely cause.
//!
//! Models are matched by family and version (`Claude4.6Sonnet`,
//! `us.anthropic.claude-sonnet-4-6`, `claude-sonnet-4-6-20260101` are all
//! `sonnet-4.6`), because each export names them its own way.

pub mod read;

use super::price_table::{base_id, claude};
use crate::store::DayModel;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// A kind of token, as bills count them (cache writes of both TTLs together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum TokenKind {
    /// Uncached input.
    Input,
    /// Output.
    Output,
    /// Cache reads.
    CacheRead,
    /// Cache writes.
    CacheWrite,
}

/// One line of a provider's export.
#[derive(Debug, Clone, PartialEq)]
pub struct BillLine {
    /// UTC day, YYYY-MM-DD.
    pub day: String,
    /// Model key (`sonnet-4.6`).
    pub model: String,
    /// Token kind, when the line is about one.
    pub kind: Option<TokenKind>,
    /// Tokens, when the export counts them.
    pub tokens: Option<Decimal>,
    /// USD, when the export prices them.
    pub usd: Option<Decimal>,
}

/// A model's key for matching across exports: family and version, e.g.
/// `sonnet-4.6`; `None` for text that names no Claude model.
pub fn model_key(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    if let Some(c) = claude(base_id(&lower)) {
        let v: Vec<String> = c.version.iter().map(u32::to_string).collect();
        return Some(format!("{}-{}", c.family, v.join(".")));
    }
    // Usage types and labels: `USE1-Claude4.6Sonnet-input-tokens`,
    // `Claude Sonnet 4.5`. The version is the run of small numbers right
    // before the family word, or else right after it.
    let at = lower.find("claude")?;
    let words = words(&lower[at + "claude".len()..]);
    let fam = words
        .iter()
        .position(|w| ["opus", "sonnet", "haiku", "fable", "mythos"].contains(w))?;
    let is_version = |w: &&&str| w.len() <= 2 && w.bytes().all(|b| b.is_ascii_digit());
    let before: Vec<&str> = {
        let mut v: Vec<&str> = words[..fam]
            .iter()
            .rev()
            .take_while(is_version)
            .copied()
            .collect();
        v.reverse();
        v
    };
    let version: Vec<&str> = if before.is_empty() {
        words[fam + 1..]
            .iter()
            .take_while(is_version)
            .copied()
            .collect()
    } else {
        before
    };
    Some(format!("{}-{}", words[fam], version.join(".")))
}

/// Runs of letters or of digits.
fn words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut digit = false;
    for (i, c) in s.char_indices() {
        let kind = if c.is_ascii_digit() {
            Some(true)
        } else if c.is_ascii_alphabetic() {
            Some(false)
        } else {
            None
        };
        match (start, kind) {
            (Some(st), Some(k)) if k == digit => {
                let _ = st;
            }
            (Some(st), _) => {
                out.push(&s[st..i]);
                start = kind.map(|k| {
                    digit = k;
                    i
                });
            }
            (None, Some(k)) => {
                digit = k;
                start = Some(i);
            }
            (None, None) => {}
        }
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

/// Ledger or bill figures of one day and model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Tokens by kind (input, output, cache reads, cache writes), where counted.
    pub tokens: Option<[Decimal; 4]>,
    /// USD, where priced.
    pub usd: Option<Decimal>,
}

/// One day × model of the reconciliation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// UTC day.
    pub day: String,
    /// Model key.
    pub model: String,
    /// The ledger's figures.
    pub ledger: Figures,
    /// The bill's figures.
    pub bill: Figures,
    /// (ledger − bill) / bill, percent, on USD when both price it, else on tokens.
    pub deviation_pct: Option<Decimal>,
    /// Beyond the tolerance.
    pub flagged: bool,
    /// The likely cause, when flagged.
    pub cause: Option<String>,
}

/// The whole reconciliation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reconciliation {
    /// Day × model rows.
    pub rows: Vec<Row>,
    /// Ledger USD over the compared rows.
    pub ledger_usd: Decimal,
    /// Bill USD over the compared rows.
    pub bill_usd: Decimal,
    /// Overall deviation, percent.
    pub deviation_pct: Option<Decimal>,
    /// Tolerance, percent.
    pub tolerance_pct: Decimal,
}

fn pct(ledger: Decimal, bill: Decimal) -> Option<Decimal> {
    (!bill.is_zero()).then(|| ((ledger - bill) * Decimal::from(100) / bill).round_dp(2))
}

fn idx(k: TokenKind) -> usize {
    match k {
        TokenKind::Input => 0,
        TokenKind::Output => 1,
        TokenKind::CacheRead => 2,
        TokenKind::CacheWrite => 3,
    }
}

/// Reconcile `ledger` (day × upstream model) with `bill` lines.
pub fn reconcile(ledger: &[DayModel], bill: &[BillLine], tolerance_pct: Decimal) -> Reconciliation {
    let mut ours: BTreeMap<(String, String), (Figures, i64)> = BTreeMap::new();
    for d in ledger {
        let Some(key) = model_key(&d.model) else {
            continue;
        };
        let e = ours.entry((d.day.clone(), key)).or_default();
        let t = e.0.tokens.get_or_insert([Decimal::ZERO; 4]);
        for (i, n) in d.tokens.iter().enumerate() {
            t[i] += Decimal::from(*n);
        }
        *e.0.usd.get_or_insert(Decimal::ZERO) += super::ledger::from_nanos(d.cost_nusd);
        e.1 += d.doubtful;
    }
    let mut theirs: BTreeMap<(String, String), Figures> = BTreeMap::new();
    for l in bill {
        let f = theirs.entry((l.day.clone(), l.model.clone())).or_default();
        if let (Some(k), Some(n)) = (l.kind, l.tokens) {
            f.tokens.get_or_insert([Decimal::ZERO; 4])[idx(k)] += n;
        }
        if let Some(u) = l.usd {
            *f.usd.get_or_insert(Decimal::ZERO) += u;
        }
    }
    let keys: std::collections::BTreeSet<_> = ours.keys().chain(theirs.keys()).cloned().collect();
    let (mut ledger_usd, mut bill_usd) = (Decimal::ZERO, Decimal::ZERO);
    let mut rows = Vec::new();
    for key in keys {
        let (mine, doubtful) = ours.get(&key).cloned().unwrap_or_default();
        let bill = theirs.get(&key).cloned().unwrap_or_default();
        let deviation = match (mine.usd, bill.usd) {
            (Some(a), Some(b)) => pct(a, b),
            (None, Some(b)) => pct(Decimal::ZERO, b),
            _ => match (mine.tokens, bill.tokens) {
                (a, Some(b)) => pct(a.map_or(Decimal::ZERO, |a| a.iter().sum()), b.iter().sum()),
                _ => None,
            },
        };
        if bill.usd.is_some() {
            ledger_usd += mine.usd.unwrap_or_default();
            bill_usd += bill.usd.unwrap_or_default();
        }
        let flagged = match deviation {
            Some(d) => d.abs() > tolerance_pct,
            None => bill.usd.is_none() && bill.tokens.is_none(),
        };
        let cause = flagged.then(|| cause(&mine, &bill, doubtful));
        rows.push(Row {
            day: key.0,
            model: key.1,
            ledger: mine,
            bill,
            deviation_pct: deviation,
            flagged,
            cause,
        });
    }
    Reconciliation {
        rows,
        deviation_pct: pct(ledger_usd, bill_usd),
        ledger_usd,
        bill_usd,
        tolerance_pct,
    }
}

fn cause(mine: &Figures, bill: &Figures, doubtful: i64) -> String {
    if mine.tokens.is_none() && mine.usd.is_none() {
        return "not in the ledger: traffic that did not pass the gateway".into();
    }
    if bill.tokens.is_none() && bill.usd.is_none() {
        return "not on the bill: another account or region, or the export does not cover it"
            .into();
    }
    if doubtful > 0 {
        return format!(
            "{doubtful} requests of this model are unpriced or priced by an estimate: set its price (switchyard prices check)"
        );
    }
    let tokens_agree = match (mine.tokens, bill.tokens) {
        (Some(a), Some(b)) => {
            let (a, b): (Decimal, Decimal) = (a.iter().sum(), b.iter().sum());
            pct(a, b).is_some_and(|d| d.abs() <= Decimal::ONE)
        }
        _ => false,
    };
    if tokens_agree {
        return "tokens agree, money does not: a price change (switchyard prices diff)".into();
    }
    match (mine.tokens, bill.tokens) {
        (Some(a), Some(b)) if a.iter().sum::<Decimal>() < b.iter().sum::<Decimal>() => {
            "fewer tokens in the ledger: traffic that did not pass the gateway".into()
        }
        _ => "more in the ledger than billed: check the export's period and account".into(),
    }
}

/// The reconciliation as Markdown.
pub fn markdown(r: &Reconciliation) -> String {
    let money =
        |d: Option<Decimal>| d.map_or("-".to_string(), |d| format!("${:.4}", d.round_dp(4)));
    let dev = |d: Option<Decimal>| d.map_or("-".to_string(), |d| format!("{d:+.2}%"));
    let mut out = String::from(
        "| day | model | ledger | bill | deviation | |\n|---|---|---:|---:|---:|---|\n",
    );
    for row in &r.rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            row.day,
            row.model,
            money(row.ledger.usd),
            money(row.bill.usd),
            dev(row.deviation_pct),
            match (&row.flagged, &row.cause) {
                (true, Some(c)) => format!("⚠ {c}"),
                _ => "ok".into(),
            }
        ));
    }
    out.push_str(&format!(
        "\nOverall: ledger {} vs bill {} ({}); tolerance ±{}%; {} of {} rows flagged.\n",
        money(Some(r.ledger_usd)),
        money(Some(r.bill_usd)),
        dev(r.deviation_pct),
        r.tolerance_pct,
        r.rows.iter().filter(|x| x.flagged).count(),
        r.rows.len()
    ));
    out
}

#[cfg(test)]
mod tests;

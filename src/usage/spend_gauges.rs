//! The spend gauges the ledger writer moves with every row it prices:
//! spend, baseline and savings in USD since the start, by model, tier,
//! provider, key and team.
//!
//! The writer keeps the gauge handles of each label set it has seen, so a
//! row costs a lookup and three atomic adds instead of three registry
//! lookups of a five-label key built from five cloned strings (about
//! 10,000 instructions a row; BENCHMARKS.md). Labels are configured names
//! and issued keys, so they stay bounded; past [`MAX_SETS`] the handles are
//! dropped and made again as rows come.

use super::ledger::LedgerRow;
use metrics::Gauge;
use std::collections::HashMap;

/// Most label sets whose handles are kept.
const MAX_SETS: usize = 10_000;

/// Spend, baseline and saved gauges of one label set.
struct Set {
    spend: Gauge,
    baseline: Gauge,
    saved: Gauge,
}

/// Gauge handles by label set.
#[derive(Default)]
pub struct SpendGauges {
    sets: HashMap<String, Set>,
    /// The lookup key being built (kept to reuse its allocation).
    key: String,
}

impl std::fmt::Debug for SpendGauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpendGauges")
            .field("sets", &self.sets.len())
            .finish()
    }
}

impl SpendGauges {
    /// Add `row`'s cost, baseline and savings to its label set's gauges.
    pub fn count(&mut self, row: &LedgerRow) {
        let parts = [
            row.model.as_deref(),
            row.tier.as_deref(),
            row.provider.as_deref(),
            row.key_id.as_deref(),
            row.team.as_deref(),
        ];
        self.key.clear();
        for part in parts {
            // A separator no configured name or key id holds; `none` and
            // an absent value are the same label, as before.
            self.key.push_str(part.unwrap_or("none"));
            self.key.push('\u{1f}');
        }
        let usd = |nusd: i64| nusd as f64 / 1e9;
        let add = |set: &Set| {
            set.spend.increment(usd(row.cost_nusd));
            set.baseline.increment(usd(row.baseline_nusd));
            set.saved.increment(usd(row.baseline_nusd - row.cost_nusd));
        };
        if let Some(set) = self.sets.get(&self.key) {
            return add(set);
        }
        if self.sets.len() >= MAX_SETS {
            self.sets.clear();
        }
        let label = |v: Option<&str>| v.unwrap_or("none").to_string();
        let labels = [
            ("model", label(parts[0])),
            ("tier", label(parts[1])),
            ("provider", label(parts[2])),
            ("key", label(parts[3])),
            ("team", label(parts[4])),
        ];
        let set = Set {
            spend: metrics::gauge!("switchyard_spend_usd", &labels),
            baseline: metrics::gauge!("switchyard_baseline_usd", &labels),
            saved: metrics::gauge!("switchyard_saved_usd", &labels),
        };
        add(&set);
        self.sets.insert(self.key.clone(), set);
    }
}

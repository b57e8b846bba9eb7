//! The ledger's guardrail notes read back as decisions (action and rule),
//! for `switchyard report guardrails`. A note holds one or more decisions
//! separated by `; `, in the forms the pipeline writes:
//!
//! - `redact: aws_access_key_id 3a0e…, sensitive_file /app/.env` (and
//!   `allow`, `block`, `force_local`, `local`): one decision per finding;
//! - `escalated from qwen: shell:download_to_shell Bash (…)`;
//! - `refused: read_only Write (…)`;
//! - `max_tokens 32000 lowered to 16000`.

use super::reports::Line;
use crate::store::GroupRow;
use std::collections::BTreeMap;

/// The (action, rule) decisions of one note.
pub fn decisions(note: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in note.split("; ").map(str::trim).filter(|p| !p.is_empty()) {
        if part.starts_with("max_tokens ") {
            out.push(("max_tokens".into(), "lowered".into()));
            continue;
        }
        let Some((head, rest)) = part.split_once(": ") else {
            out.push(("other".into(), part.to_string()));
            continue;
        };
        let action = if head.starts_with("escalated") {
            "escalated"
        } else {
            head
        };
        if matches!(action, "escalated" | "refused") {
            let rule = rest.split_whitespace().next().unwrap_or("");
            out.push((action.to_string(), rule.to_string()));
            continue;
        }
        // Findings: `kind fingerprint-or-path`, comma separated (a path
        // may hold ", " too: only items starting with a known-looking
        // kind — lowercase and underscores — count).
        for item in rest.split(", ") {
            let kind = item.split_whitespace().next().unwrap_or("");
            if !kind.is_empty()
                && kind
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                out.push((action.to_string(), kind.to_string()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Report lines, one per decision ("ACTION RULE"), from sums per note.
pub fn lines(rows: Vec<GroupRow>, total: i64) -> Vec<Line> {
    let mut by: BTreeMap<String, GroupRow> = BTreeMap::new();
    for row in rows {
        let Some(note) = row.key.as_deref() else {
            continue;
        };
        for (action, rule) in decisions(note) {
            let name = format!("{action} {rule}");
            let sum = by.entry(name.clone()).or_insert_with(|| GroupRow {
                key: Some(name),
                key2: None,
                requests: 0,
                failed: 0,
                fallbacks: 0,
                cost_nusd: 0,
                baseline_nusd: 0,
                input_tokens: 0,
                output_tokens: 0,
                first_ms: row.first_ms,
                last_ms: row.last_ms,
            });
            sum.requests += row.requests;
            sum.failed += row.failed;
            sum.fallbacks += row.fallbacks;
            sum.cost_nusd += row.cost_nusd;
            sum.baseline_nusd += row.baseline_nusd;
            sum.input_tokens += row.input_tokens;
            sum.output_tokens += row.output_tokens;
        }
    }
    let mut sums: Vec<GroupRow> = by.into_values().collect();
    sums.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.key.cmp(&b.key)));
    super::reports::lines(sums, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(note: &str) -> Vec<(String, String)> {
        decisions(note)
    }

    fn p(a: &str, r: &str) -> (String, String) {
        (a.to_string(), r.to_string())
    }

    #[test]
    fn every_form_the_pipeline_writes() {
        assert_eq!(
            pairs("redact: aws_access_key_id 3a0ea87c37ea, sensitive_file /work/a, b/.env"),
            [
                p("redact", "aws_access_key_id"),
                p("redact", "sensitive_file")
            ]
        );
        assert_eq!(
            pairs(
                "escalated from qwen: shell:download_to_shell Bash (pipes a download into a shell); refused: read_only Write (changes files)"
            ),
            [
                p("escalated", "shell:download_to_shell"),
                p("refused", "read_only")
            ]
        );
        assert_eq!(
            pairs("local: github_token 1a2b; max_tokens 32000 lowered to 16000"),
            [p("local", "github_token"), p("max_tokens", "lowered")]
        );
        assert_eq!(
            pairs("block: private_key 9f9f"),
            [p("block", "private_key")]
        );
    }

    #[test]
    fn a_request_counts_once_per_decision() {
        let row = |note: &str, n: i64| GroupRow {
            key: Some(note.into()),
            key2: None,
            requests: n,
            failed: 0,
            fallbacks: n,
            cost_nusd: 1_000_000_000 * n,
            baseline_nusd: 0,
            input_tokens: 0,
            output_tokens: 0,
            first_ms: 0,
            last_ms: 0,
        };
        let out = lines(
            vec![
                row("redact: aws_access_key_id aaaa", 3),
                row("redact: aws_access_key_id bbbb, sensitive_file /x/.env", 2),
            ],
            10,
        );
        let got: Vec<(&str, i64)> = out.iter().map(|l| (l.name.as_str(), l.requests)).collect();
        assert_eq!(
            got,
            [
                ("redact aws_access_key_id", 5),
                ("redact sensitive_file", 2)
            ]
        );
    }
}

//! Score the complexity classifier on a labelled prompt set and print its
//! accuracy and confusion matrix.
//!
//! cargo run --example route_eval [-- SET.jsonl ...]
//! (default: ../shared/routing/dev-set.jsonl and the held-out sets in
//! tests/fixtures/routing)

use switchyard::routing::classifier::{Thresholds, classify};
use switchyard::routing::devset;

fn main() -> Result<(), String> {
    let mut sets: Vec<String> = std::env::args().skip(1).collect();
    if sets.is_empty() {
        sets = vec![
            "../shared/routing/dev-set.jsonl".into(),
            "tests/fixtures/routing/check-20.jsonl".into(),
            "tests/fixtures/routing/realistic-100.jsonl".into(),
        ];
    }
    for path in sets {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let lines = devset::parse(&text)?;
        let score = devset::evaluate(&lines, |c| classify(c, &Thresholds::default()));
        println!(
            "{path}: {} prompts, accuracy {:.1}%, sent below their label: {}",
            score.total(),
            score.accuracy() * 100.0,
            score.under_routed()
        );
        println!("{}", score.table());
        if std::env::var_os("SHOW_MISSES").is_some() {
            for (id, want, got) in &score.misses {
                println!(
                    "  {id}: expected {}, routed {}",
                    want.as_str(),
                    got.as_str()
                );
            }
        }
    }
    Ok(())
}

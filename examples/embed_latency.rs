//! How long the in-process embedder takes per question: every question,
//! paraphrase and near miss of the semantic cache's labelled set embedded
//! one at a time, after a warm-up; p50 / p99 / max in milliseconds. The
//! semantic cache's hit latency is this plus a lookup. Two rows, measured
//! question by question in turn: the whole text, and what the cache embeds
//! (the question without its opening, `phrasing::asked`).
//!
//! eval "$(scripts/local-model.sh)"
//! cargo run --release --example embed_latency -- tests/fixtures/semantic/pairs.txt "$SWITCHYARD_MINILM_DIR"

use std::time::Instant;
use switchyard::cache::semantic::local::LocalEmbedder;
use switchyard::cache::semantic::pairs::parse;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(pairs), Some(dir)) = (args.get(1), args.get(2)) else {
        return Err("usage: embed_latency PAIRS_FILE MODEL_DIR".into());
    };
    let text = std::fs::read_to_string(pairs).map_err(|e| format!("{pairs}: {e}"))?;
    let pairs = parse(&text).map_err(|e| format!("{pairs}: {e}"))?;
    // Every line of the file: each cached question, then what is asked of it.
    let mut questions: Vec<&str> = Vec::new();
    for (i, p) in pairs.iter().enumerate() {
        if i == 0 || pairs[i - 1].cached != p.cached {
            questions.push(&p.cached);
        }
        questions.push(&p.asked);
    }
    let model = LocalEmbedder::load(std::path::Path::new(dir))?;
    for q in questions.iter().take(10) {
        model.embed(q)?;
    }
    let (mut whole, mut asked) = (Vec::new(), Vec::new());
    for q in &questions {
        let t = Instant::now();
        model.embed(q)?;
        whole.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        model.embed_question(q)?;
        asked.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    for (name, mut ms) in [("whole text", whole), ("as the cache embeds it", asked)] {
        ms.sort_by(f64::total_cmp);
        let at = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
        println!(
            "{} questions, {name}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms.len(),
            at(0.5),
            at(0.99),
            ms[ms.len() - 1]
        );
    }
    Ok(())
}

//! `switchyard cache pairs FILE --model-dir DIR`: the semantic cache's
//! precision and recall on labelled pairs (see `cache::semantic::pairs`),
//! per threshold, with the in-process sentence embedder.

use crate::cache::semantic::pairs::{self, Scored};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `cache pairs`.
#[derive(Debug, clap::Args)]
pub struct PairsArgs {
    /// The labelled pairs (`Q` question, `=` same meaning, `! category:` near miss).
    pub file: PathBuf,
    /// Directory of the sentence-embedding model (model.safetensors,
    /// config.json, tokenizer.json), e.g. all-MiniLM-L6-v2.
    #[arg(long, env = "SWITCHYARD_MINILM_DIR")]
    pub model_dir: PathBuf,
    /// Only this split (`dev`, `test`, or a held-out one, `holdout` …
    /// `holdout7`; default: all).
    #[arg(long)]
    pub split: Option<String>,
    /// Thresholds to report.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.8,0.85,0.88,0.9,0.92,0.94,0.96,0.98"
    )]
    pub thresholds: Vec<f32>,
    /// With the guard, pairs whose every differing word it explains are
    /// served from this similarity (`[cache.semantic] explained_threshold`).
    #[arg(long, default_value_t = 0.80)]
    pub explained_threshold: f32,
    /// List the wrong answers served and the paraphrases the guard refused
    /// at this threshold.
    #[arg(long)]
    pub show: Option<f32>,
    /// Also write every scored pair to this file as tab-separated values
    /// (split, same, category, similarity, guard's refusal, whether it
    /// explains every differing word, cached, asked).
    #[arg(long)]
    pub tsv: Option<PathBuf>,
}

/// Run `cache pairs`.
pub fn run(args: &PairsArgs) -> ExitCode {
    match measure(args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "local-embed")]
fn embedder(dir: &std::path::Path) -> Result<impl FnMut(&str) -> Result<Vec<f32>, String>, String> {
    let model = crate::cache::semantic::local::LocalEmbedder::load(dir)?;
    Ok(move |text: &str| model.embed_question(text))
}

/// What a build without the in-process embedder offers in its place.
#[cfg(not(feature = "local-embed"))]
type NoEmbedder = fn(&str) -> Result<Vec<f32>, String>;

#[cfg(not(feature = "local-embed"))]
fn embedder(_: &std::path::Path) -> Result<NoEmbedder, String> {
    Err("this build has no in-process embedder (feature local-embed)".into())
}

fn measure(args: &PairsArgs) -> Result<String, String> {
    let text =
        std::fs::read_to_string(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let all = pairs::parse(&text).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|p| args.split.as_deref().is_none_or(|s| s == p.split))
        .collect();
    let started = std::time::Instant::now();
    let scored = pairs::score(&chosen, embedder(&args.model_dir)?)?;
    let elapsed = started.elapsed();
    let same = scored.iter().filter(|s| s.pair.same).count();
    let near = scored.len() - same;
    let mut out = format!(
        "{}: {} paraphrases, {} near misses{} (embedded in {:.1} s)\n",
        args.file.display(),
        same,
        near,
        args.split
            .as_ref()
            .map_or(String::new(), |s| format!(", split {s}")),
        elapsed.as_secs_f64()
    );
    let median = |same| pairs::median(&scored, same).map_or("-".into(), |m| format!("{m:.3}"));
    out.push_str(&format!(
        "median similarity: paraphrases {}, near misses {}\n",
        median(true),
        median(false)
    ));
    out.push_str(&format!(
        "threshold | similarity only: served / wrong / precision | with the guard (explained from {:.2}): served / wrong / precision\n",
        args.explained_threshold
    ));
    let pct = |n: usize, of: usize| {
        if of == 0 {
            0.0
        } else {
            n as f64 * 100.0 / of as f64
        }
    };
    for t in &args.thresholds {
        let e = args.explained_threshold;
        let (a, b) = (
            pairs::at(&scored, *t, e, false),
            pairs::at(&scored, *t, e, true),
        );
        out.push_str(&format!(
            "{t:.2}      | {:5.1}% / {:3} / {:5.1}%                   | {:5.1}% / {:3} / {:5.1}%\n",
            pct(a.served, same),
            a.wrong,
            a.precision() * 100.0,
            pct(b.served, same),
            b.wrong,
            b.precision() * 100.0
        ));
    }
    if let Some(t) = args.show {
        out.push_str(&listing(&scored, t, args.explained_threshold));
    }
    if let Some(path) = &args.tsv {
        std::fs::write(path, tsv(&scored)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(out)
}

fn tsv(scored: &[Scored]) -> String {
    let mut out =
        String::from("split\tsame\tcategory\tsimilarity\trefused\texplained\tcached\tasked\n");
    for s in scored {
        out.push_str(&format!(
            "{}\t{}\t{}\t{:.4}\t{}\t{}\t{}\t{}\n",
            s.pair.split,
            s.pair.same,
            s.pair.category,
            s.similarity,
            s.refused.unwrap_or(""),
            s.explained,
            s.pair.cached,
            s.pair.asked
        ));
    }
    out
}

fn listing(scored: &[Scored], t: f32, explained: f32) -> String {
    let mut out = String::new();
    let considered = t.min(explained);
    for s in scored.iter().filter(|s| s.similarity >= considered) {
        match (s.pair.same, s.refused) {
            (false, None) if s.served(t, explained) => out.push_str(&format!(
                "wrong {:.3} [{}] {} | {}\n",
                s.similarity, s.pair.category, s.pair.asked, s.pair.cached
            )),
            (true, Some(why)) if s.similarity >= t => out.push_str(&format!(
                "refused {:.3} ({why}) {} | {}\n",
                s.similarity, s.pair.asked, s.pair.cached
            )),
            _ => {}
        }
    }
    out
}

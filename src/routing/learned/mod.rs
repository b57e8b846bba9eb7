//! The learned complexity classifier: multinomial logistic regression over
//! hashed features (`features`), trained on a labelled corpus (`train`,
//! `switchyard route train`). Two weight sets: `base` reads one request on
//! its own; `full` reads the latest request plus what `base` made of the
//! request before it, so a follow-up ("yes go ahead") inherits the level of
//! the work it continues.
//!
//! It answers with the probability of each level. Two thresholds cut them
//! into a level: premium when P(premium) reaches `premium_from`, cheap when
//! P(cheap or premium) reaches `cheap_from` — so a team can trade savings
//! for safety with two numbers. The score shown with a decision is the
//! expected level on the 0–1 scale (local 0, cheap 0.5, premium 1). The
//! thresholds chosen at training time travel with the model. Every decision names the features that pushed it hardest.
//!
//! The default model is trained on `routing/corpus.jsonl` and ships inside
//! the binary; `[router] model = "FILE"` loads a team's own.

pub mod features;
mod file;
pub mod train;
mod weights;

pub use super::classifier::level_of_probabilities;
use super::classifier::{Classification, Level, Thresholds};
use super::conversation::Conversation;
use features::Feature;
use weights::Weights;

/// The model that ships in the binary (`switchyard route train
/// routing/corpus.jsonl --out routing/model.bin`).
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../../../routing/model.bin");

/// How a model was made, stored with it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelInfo {
    /// Number of hash buckets.
    pub buckets: u32,
    /// Thresholds chosen at training time.
    pub cheap_from: f64,
    /// Thresholds chosen at training time.
    pub premium_from: f64,
    /// From this P(premium) a person's turn is planned on premium even
    /// when its tier is cheaper (chosen at training time; older models
    /// have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_from: Option<f64>,
    /// What it was trained on (file name and split).
    pub trained_on: String,
    /// Examples per level, cheapest first.
    pub examples: [usize; 3],
    /// Training passes.
    pub epochs: usize,
}

/// A trained model.
#[derive(Clone, PartialEq)]
pub struct Model {
    /// How it was made.
    pub info: ModelInfo,
    /// One request on its own: one weight per level for each bucket.
    base: Weights,
    /// The latest request in its conversation.
    full: Weights,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("info", &self.info).finish()
    }
}

/// Reasons shown with a decision.
const REASONS: usize = 4;

impl Model {
    /// The model that ships in the binary.
    pub fn builtin() -> Result<Model, String> {
        Model::from_bytes(DEFAULT_MODEL).map_err(|e| format!("the built-in routing model: {e}"))
    }

    /// The thresholds chosen at training time.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            cheap_from: self.info.cheap_from,
            premium_from: self.info.premium_from,
        }
    }

    /// The planning cutoff chosen at training time, if any.
    pub fn plan_from(&self) -> Option<f64> {
        self.info.plan_from
    }

    /// Level probabilities of one request on its own.
    pub fn base_probabilities(&self, own: &[Feature]) -> [f64; 3] {
        softmax(dot(&self.base, own))
    }

    /// Level probabilities of a request in its conversation.
    pub fn probabilities(&self, features: &[Feature]) -> [f64; 3] {
        softmax(dot(&self.full, features))
    }

    /// The features of a conversation as this model reads it.
    pub fn features(&self, c: &Conversation) -> Vec<Feature> {
        let (mut f, shape) = features::own(&c.prompt, self.info.buckets);
        f.extend(self.context_features(c, shape));
        f
    }

    fn context_features(&self, c: &Conversation, shape: features::Shape) -> Vec<Feature> {
        let buckets = self.info.buckets;
        let previous = c
            .previous
            .as_deref()
            .map(|p| self.base_probabilities(&features::own(p, buckets).0));
        features::context(shape, previous, c.prompt_out_of_reach, buckets)
    }

    /// Classify a conversation.
    pub fn classify(&self, c: &Conversation, thresholds: &Thresholds) -> Classification {
        let (mut features, shape) = features::own(&c.prompt, self.info.buckets);
        let context = self.context_features(c, shape);
        // Read on its own too, for planning (`Classification::alone_premium`).
        let alone_premium = (!context.is_empty() && !c.prompt_out_of_reach)
            .then(|| (self.probabilities(&features)[2] * 1000.0).round() / 1000.0);
        features.extend(context);
        let p = self.probabilities(&features);
        let score = 0.5 * p[1] + p[2];
        let level = level_of_probabilities(&p, thresholds);
        Classification {
            level,
            score: (score * 1000.0).round() / 1000.0,
            reasons: self.explain(&features, level),
            probabilities: Some(p.map(|x| (x * 1000.0).round() / 1000.0)),
            alone_premium,
        }
    }

    /// The named features that pushed hardest toward `level`.
    fn explain(&self, features: &[Feature], level: Level) -> Vec<String> {
        let k = level as usize;
        let mut pushes: Vec<(f32, &str)> = features
            .iter()
            .filter_map(|f| {
                let name = f.name.as_deref().filter(|n| *n != "bias:")?;
                let w = self.full.get(f.bucket);
                let others = (w.iter().sum::<f32>() - w[k]) / 2.0;
                Some((f.value * (w[k] - others), name))
            })
            .collect();
        pushes.sort_by(|a, b| b.0.total_cmp(&a.0));
        pushes.dedup_by(|a, b| a.1 == b.1);
        pushes
            .into_iter()
            .take(REASONS)
            .filter(|(push, _)| *push > 0.0)
            .map(|(push, name)| format!("{} ({push:+.2})", describe(name)))
            .collect()
    }
}

fn dot(weights: &Weights, features: &[Feature]) -> [f32; 3] {
    dot_with(features, |bucket| weights.get(bucket))
}

/// The weighted sum of `features`, each bucket's weights from `weights_of`.
#[inline]
fn dot_with(features: &[Feature], weights_of: impl Fn(u32) -> [f32; 3]) -> [f32; 3] {
    let mut z = [0f32; 3];
    for f in features {
        let w = weights_of(f.bucket);
        (0..3).for_each(|k| z[k] += w[k] * f.value);
    }
    z
}

fn softmax(z: [f32; 3]) -> [f64; 3] {
    let max = z.iter().copied().fold(f32::MIN, f32::max);
    let e = z.map(|v| f64::from(v - max).exp());
    let sum: f64 = e.iter().sum();
    e.map(|v| v / sum)
}

/// A feature name as a person reads it.
fn describe(name: &str) -> String {
    let (kind, text) = name.split_once(':').unwrap_or((name, ""));
    let (context, kind) = match kind.split_once(' ') {
        Some((c @ ("after" | "background"), rest)) => (Some(c), rest),
        _ => (None, kind),
    };
    let what = match kind {
        "w" => format!("'{text}'"),
        "b" => format!("'{text}'"),
        "cue" => text.to_string(),
        "rules" => "the lexicon's score".to_string(),
        "prose words" => format!("{text} words of prose"),
        "pasted lines" if text == "0" => "nothing pasted".to_string(),
        "pasted lines" => format!("{text} pasted lines"),
        "tool steps" if text == "0" => "no tool results yet".to_string(),
        "tool steps" => format!("{text} tool results in the loop"),
        "follow-up" if text == "after" => "a follow-up".to_string(),
        "follow-up" => "a new request after earlier turns".to_string(),
        "level" => format!("{text} work"),
        _ => text.to_string(),
    };
    match context {
        Some("after") => format!("continues work: {what}"),
        Some(_) => format!("earlier: {what}"),
        None => what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(prompt: &str) -> Conversation {
        Conversation {
            prompt: prompt.into(),
            ..Conversation::default()
        }
    }

    #[test]
    fn the_builtin_model_loads_and_separates_the_plain_cases() {
        let m = Model::builtin().unwrap();
        let t = m.thresholds();
        assert!(
            [t.cheap_from, t.premium_from]
                .iter()
                .all(|x| *x > 0.0 && *x < 1.0),
            "{t:?}"
        );
        let easy = m.classify(&conv("how do i undo the last commit"), &t);
        assert_eq!(easy.level, Level::Local, "{easy:?}");
        let hard = m.classify(
            &conv(
                "design a multi-region failover plan for our payments database with no data loss",
            ),
            &t,
        );
        assert_eq!(hard.level, Level::Premium, "{hard:?}");
        let p = hard.probabilities.unwrap();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 0.01, "{p:?}");
        assert!(!hard.reasons.is_empty() && hard.reasons.iter().all(|r| r.contains("(+")));
    }

    fn corpus() -> Vec<crate::routing::devset::Line> {
        let path = format!("{}/routing/corpus.jsonl", env!("CARGO_MANIFEST_DIR"));
        crate::routing::devset::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// The shipped model is what `route train` makes of the corpus.
    #[test]
    fn the_builtin_model_is_trained_from_the_corpus() {
        let opts = train::Options::default();
        let examples: Vec<train::Example> = corpus()
            .iter()
            .filter(|l| l.split.as_deref() == Some("train"))
            .map(|l| {
                let c = crate::routing::devset::conversation_of(l).unwrap();
                let level = crate::routing::devset::level_named(l.tier.as_deref().unwrap());
                train::Example::new(&c, level.unwrap(), l.source.clone().unwrap(), opts.buckets)
            })
            .collect();
        let model = train::train(&examples, &opts, "corpus.jsonl (train)").model;
        assert!(
            model.to_bytes() == DEFAULT_MODEL,
            "routing/model.bin is stale: run switchyard route train routing/corpus.jsonl --out routing/model.bin"
        );
    }

    /// A floor on the never-tuned split, so a change that makes the model
    /// worse fails here (measured: 86.7%, premium→local 0.9%, premium→cheap 5.0%).
    #[test]
    fn the_builtin_model_on_the_test_split() {
        let m = Model::builtin().unwrap();
        let t = m.thresholds();
        let lines: Vec<_> = corpus()
            .into_iter()
            .filter(|l| l.split.as_deref() == Some("test"))
            .collect();
        let score = crate::routing::devset::evaluate(&lines, |c| m.classify(c, &t));
        assert!(score.total() > 700);
        assert!(score.accuracy() >= 0.84, "{}", score.table());
        assert!(
            score.rate(Level::Premium, Level::Local) <= 0.02,
            "{}",
            score.table()
        );
        assert!(
            score.rate(Level::Premium, Level::Cheap) <= 0.08,
            "{}",
            score.table()
        );
    }

    #[test]
    fn names_read_as_reasons() {
        assert_eq!(describe("w:deadlock"), "'deadlock'");
        assert_eq!(
            describe("after level:premium"),
            "continues work: premium work"
        );
        assert_eq!(describe("pasted lines:6-20"), "6-20 pasted lines");
        assert_eq!(describe("shape:marks of scale"), "marks of scale");
    }
}

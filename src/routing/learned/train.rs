//! Training: multinomial logistic regression by AdaGrad over hashed
//! features, L2-regularized, in a fixed, seeded order, so the same corpus
//! gives the same model byte for byte. First `base` on the requests that
//! stand alone, then `full` on every request with what `base` makes of the
//! request before it. The thresholds that ship with the
//! model are chosen on out-of-fold predictions (five folds, grouped so that
//! variants of one task never sit on both sides), never on the examples a
//! model was fitted to.

use super::features::{self, Feature, Shape};
use super::{Model, ModelInfo, Weights, level_of_probabilities};
use crate::routing::classifier::{Level, Thresholds};
use crate::routing::conversation::Conversation;

/// One labelled example.
#[derive(Debug, Clone)]
pub struct Example {
    /// The features of the latest request on its own.
    pub own: Vec<Feature>,
    /// Its shape.
    pub shape: Shape,
    /// The features of the request before it, on its own.
    pub previous: Option<Vec<Feature>>,
    /// The latest request was out of the reader's reach.
    pub out_of_reach: bool,
    /// Its label.
    pub level: Level,
    /// Examples sharing a group (variants of one task) share a fold.
    pub group: String,
}

impl Example {
    /// An example from a conversation.
    pub fn new(c: &Conversation, level: Level, group: String, buckets: u32) -> Example {
        let (own, shape) = features::own(&c.prompt, buckets);
        Example {
            own,
            shape,
            previous: c.previous.as_deref().map(|p| features::own(p, buckets).0),
            out_of_reach: c.prompt_out_of_reach,
            level,
            group,
        }
    }

    /// Its features as `full` reads them, given the `base` weights.
    fn full_features(&self, base: &Weights, buckets: u32) -> Vec<Feature> {
        let previous = self
            .previous
            .as_deref()
            .map(|p| super::softmax(super::dot(base, p)));
        let mut f = self.own.clone();
        f.extend(features::context(
            self.shape,
            previous,
            self.out_of_reach,
            buckets,
        ));
        f
    }
}

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Hash buckets.
    pub buckets: u32,
    /// Passes over the examples.
    pub epochs: usize,
    /// AdaGrad learning rate.
    pub rate: f32,
    /// L2 penalty.
    pub l2: f32,
    /// Shuffle seed.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            buckets: 1 << 18,
            epochs: 12,
            rate: 0.1,
            l2: 1e-4,
            seed: 2026,
        }
    }
}

/// What a wrong decision costs when the thresholds are chosen, counted in
/// ordinary mistakes: premium work on the cheap tier risks the task's
/// quality and costs two; on the local tier, five.
const PREMIUM_ON_CHEAP: f64 = 2.0;
const PREMIUM_ON_LOCAL: f64 = 5.0;
const FOLDS: u64 = 5;

/// A small deterministic generator (SplitMix64) for the shuffle.
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn order(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            v.swap(i, (self.next() % (i as u64 + 1)) as usize);
        }
        v
    }
}

/// Fit weights to rows of features and labels.
fn fit(examples: &[(&[Feature], Level)], opts: &Options) -> Vec<[f32; 3]> {
    let n = opts.buckets as usize;
    let mut w = vec![[0f32; 3]; n];
    let mut g2 = vec![[1e-6f32; 3]; n];
    let mut rng = Shuffle(opts.seed);
    for _ in 0..opts.epochs {
        for i in rng.order(examples.len()) {
            let (features, level) = examples[i];
            let p = super::softmax(super::dot_with(features, |b| w[b as usize]));
            for f in features {
                let b = f.bucket as usize;
                for k in 0..3 {
                    let y = if k == level as usize { 1.0 } else { 0.0 };
                    let grad = (p[k] as f32 - y) * f.value + opts.l2 * w[b][k];
                    g2[b][k] += grad * grad;
                    w[b][k] -= opts.rate * grad / g2[b][k].sqrt();
                }
            }
        }
    }
    w
}

fn fold_of(group: &str) -> u64 {
    group.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) % FOLDS
}

/// Probabilities for every example from a model that never saw its group.
pub fn out_of_fold(examples: &[Example], opts: &Options) -> Vec<[f64; 3]> {
    let mut out = vec![[0.0; 3]; examples.len()];
    for fold in 0..FOLDS {
        let train: Vec<&Example> = examples
            .iter()
            .filter(|e| fold_of(&e.group) != fold)
            .collect();
        let model = fit_model(&train, blank_info(opts), opts);
        for (i, e) in examples.iter().enumerate() {
            if fold_of(&e.group) == fold {
                out[i] = model.probabilities(&e.full_features(&model.base, opts.buckets));
            }
        }
    }
    out
}

/// Fit `base` to the requests that stand alone, then `full` to all.
fn fit_model(examples: &[&Example], info: ModelInfo, opts: &Options) -> Model {
    let alone: Vec<(&[Feature], Level)> = examples
        .iter()
        .filter(|e| e.previous.is_none())
        .map(|e| (e.own.as_slice(), e.level))
        .collect();
    let base = fit(&alone, opts);
    let base_weights = Weights::from_dense(&base);
    let full_features: Vec<Vec<Feature>> = examples
        .iter()
        .map(|e| e.full_features(&base_weights, opts.buckets))
        .collect();
    let rows: Vec<(&[Feature], Level)> = full_features
        .iter()
        .zip(examples)
        .map(|(f, e)| (f.as_slice(), e.level))
        .collect();
    let full = fit(&rows, opts);
    Model::new(info, &base, &full)
}

fn blank_info(opts: &Options) -> ModelInfo {
    ModelInfo {
        buckets: opts.buckets,
        cheap_from: 0.25,
        premium_from: 0.75,
        plan_from: None,
        trained_on: String::new(),
        examples: [0; 3],
        epochs: opts.epochs,
    }
}

/// The thresholds with the lowest cost of mistakes, premium work sent
/// below premium counting extra.
pub fn choose_thresholds(scored: &[([f64; 3], Level)]) -> Thresholds {
    let mut best = (f64::MAX, Thresholds::default());
    for c in (5..=95).map(|i| f64::from(i) / 100.0) {
        for p in (5..=95).map(|i| f64::from(i) / 100.0) {
            let t = Thresholds {
                cheap_from: c,
                premium_from: p,
            };
            let cost: f64 = scored
                .iter()
                .map(
                    |(probs, want)| match (*want, level_of_probabilities(probs, &t)) {
                        (w, g) if w == g => 0.0,
                        (Level::Premium, Level::Cheap) => PREMIUM_ON_CHEAP,
                        (Level::Premium, Level::Local) => PREMIUM_ON_LOCAL,
                        _ => 1.0,
                    },
                )
                .sum();
            if cost < best.0 {
                best = (cost, t);
            }
        }
    }
    best.1
}

/// Share of premium work a planning cutoff must catch (out of fold).
pub const PLAN_RECALL: f64 = 0.97;

/// The highest cutoff on P(premium), at most `premium_from`, at which a
/// share `PLAN_RECALL` of the premium requests would still be planned on
/// premium. `scored` are out-of-fold predictions of requests that stand
/// alone (a person's new task). A wrong tier on such a turn is not
/// symmetric: premium work planned on a cheaper model risks the task, a
/// cheap task planned on premium costs one dearer turn (its mechanical
/// steps still go to the work tier).
pub fn choose_plan_from(scored: &[([f64; 3], Level)], premium_from: f64) -> f64 {
    let mut p: Vec<f64> = scored
        .iter()
        .filter(|(_, l)| *l == Level::Premium)
        .map(|(probs, _)| probs[2])
        .collect();
    if p.is_empty() {
        return premium_from;
    }
    p.sort_by(f64::total_cmp);
    let missed = ((1.0 - PLAN_RECALL) * p.len() as f64).floor() as usize;
    let cut = p[missed.min(p.len() - 1)];
    // Down to the hundredth, so the cutoff still catches the example it is.
    ((cut * 100.0).floor() / 100.0).clamp(0.01, premium_from)
}

/// A trained model and how well its settings did on groups they never saw.
pub struct Trained {
    /// The model, fitted on every example.
    pub model: Model,
    /// Share of examples the out-of-fold models got right at the chosen
    /// thresholds (five folds, grouped by task): what to compare when
    /// choosing training settings, without touching a held-out split.
    pub cross_validated: f64,
}

/// Train a model on all examples, with thresholds from out-of-fold
/// predictions.
pub fn train(examples: &[Example], opts: &Options, trained_on: &str) -> Trained {
    let oof = out_of_fold(examples, opts);
    let scored: Vec<([f64; 3], Level)> = oof
        .into_iter()
        .zip(examples.iter().map(|e| e.level))
        .collect();
    let t = choose_thresholds(&scored);
    let alone: Vec<([f64; 3], Level)> = scored
        .iter()
        .zip(examples)
        .filter(|(_, e)| e.previous.is_none())
        .map(|(s, _)| *s)
        .collect();
    let plan_from = choose_plan_from(&alone, t.premium_from);
    let right = scored
        .iter()
        .filter(|(probs, want)| level_of_probabilities(probs, &t) == *want)
        .count();
    let cross_validated = right as f64 / scored.len().max(1) as f64;
    let all: Vec<&Example> = examples.iter().collect();
    let mut counts = [0usize; 3];
    examples.iter().for_each(|e| counts[e.level as usize] += 1);
    let info = ModelInfo {
        cheap_from: t.cheap_from,
        premium_from: t.premium_from,
        plan_from: Some(plan_from),
        trained_on: trained_on.to_string(),
        examples: counts,
        ..blank_info(opts)
    };
    Trained {
        model: fit_model(&all, info, opts),
        cross_validated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn ex(prompt: &str, level: Level) -> Example {
        let c = Conversation {
            prompt: prompt.into(),
            ..Conversation::default()
        };
        Example::new(&c, level, prompt.into(), 1 << 12)
    }

    #[test]
    fn learns_a_separable_set_and_is_deterministic() {
        let mut set = Vec::new();
        for i in 0..10 {
            set.push(ex(&format!("rename variable x{i} to y"), Level::Local));
            set.push(ex(
                &format!("write unit tests for module m{i}"),
                Level::Cheap,
            ));
            set.push(ex(
                &format!("design the sharded architecture of system s{i}"),
                Level::Premium,
            ));
        }
        let opts = Options {
            buckets: 1 << 12,
            ..Options::default()
        };
        let trained = train(&set, &opts, "t");
        // Every task here is a separable pattern: grouped folds learn it too.
        assert!(trained.cross_validated > 0.9, "{}", trained.cross_validated);
        let a = trained.model;
        assert_eq!(a.to_bytes(), train(&set, &opts, "t").model.to_bytes());
        for e in &set {
            let p = a.probabilities(&e.full_features(&a.base, 1 << 12));
            let best = (0..3).max_by(|i, j| p[*i].total_cmp(&p[*j])).unwrap();
            assert_eq!(best, e.level as usize, "{p:?}");
        }
        assert_eq!(a.info.examples, [10, 10, 10]);
    }

    #[test]
    fn thresholds_keep_premium_off_cheap_tiers() {
        // Premium work scoring 0.6 must not land on cheap even if that
        // costs a cheap example.
        let scored = vec![
            ([0.0, 0.8, 0.2], Level::Premium),
            ([0.0, 0.8, 0.2], Level::Premium),
            ([0.0, 0.7, 0.3], Level::Cheap),
            ([0.9, 0.1, 0.0], Level::Local),
        ];
        let t = choose_thresholds(&scored);
        assert!(t.premium_from <= 0.6, "{t:?}");
        assert!(t.cheap_from > 0.05 && t.cheap_from <= 0.6, "{t:?}");
    }
}

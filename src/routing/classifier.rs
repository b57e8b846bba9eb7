//! The complexity classifier: which tier a request needs, with a score and
//! the reasons for it.
//!
//! Tiers: **local** — trivial or mechanical work (a rename, a commit
//! message, a conversion, a one-liner, a short factual answer); **cheap** —
//! self-contained work (a function with some logic, tests, a config file, a
//! bug shown with its trace); **premium** — design, cross-cutting changes,
//! hard-to-reproduce bugs, security, scale.
//!
//! It reads the latest human request — the prose of it, not the code, logs
//! or data pasted with it — plus the conversation's state, never the system
//! prompt or the tool list. Cues from `lexicon` move a score that starts in
//! the middle of the cheap band; the length of the prose, marks of system
//! scale ("12 pods", "3 TB") and the depth of an agent loop move it too. A
//! short follow-up ("yes go ahead") inherits the request it follows. Pure
//! and deterministic; a few microseconds per request.

use super::conversation::Conversation;
use super::lexicon::{CHEAP, Cue, FACT_QUESTIONS, LOCAL, PREMIUM, SCALE_UNITS};

/// Where a score starts.
const BASE: f64 = 0.45;

/// A tier level, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// A small local model is enough.
    Local,
    /// A fast mid-size cloud model is enough.
    Cheap,
    /// Needs the strongest model.
    Premium,
}

impl Level {
    /// The default tier name of this level.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Local => "local",
            Level::Cheap => "cheap",
            Level::Premium => "premium",
        }
    }

    /// All levels, cheapest first.
    pub const ALL: [Level; 3] = [Level::Local, Level::Cheap, Level::Premium];
}

use crate::config::ClassifierChoice;
pub use crate::config::Thresholds;
use std::sync::Arc;

/// The classifier `auto` routes use.
#[derive(Debug, Clone)]
pub enum Classifier {
    /// A learned model (`learned`).
    Learned(Arc<super::learned::Model>),
    /// The hand-weighted lexicon (this module's `classify`).
    Rules,
}

impl Classifier {
    /// The configured classifier, loading a model file when one is named.
    pub fn from_config(choice: &ClassifierChoice) -> Result<Classifier, String> {
        use super::learned::Model;
        Ok(match choice {
            ClassifierChoice::Rules => Classifier::Rules,
            ClassifierChoice::Learned(None) => Classifier::Learned(Arc::new(Model::builtin()?)),
            ClassifierChoice::Learned(Some(path)) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| format!("router.model: {}: {e}", path.display()))?;
                let model = Model::from_bytes(&bytes)
                    .map_err(|e| format!("router.model: {}: {e}", path.display()))?;
                Classifier::Learned(Arc::new(model))
            }
        })
    }

    /// Its own thresholds (a model's are chosen when it is trained).
    pub fn thresholds(&self) -> Thresholds {
        match self {
            Classifier::Learned(m) => m.thresholds(),
            Classifier::Rules => Thresholds::default(),
        }
    }

    /// Its planning cutoff on P(premium), if it has one (see
    /// `learned::train::choose_plan_from`).
    pub fn plan_from(&self) -> Option<f64> {
        match self {
            Classifier::Learned(m) => m.plan_from(),
            Classifier::Rules => None,
        }
    }

    /// Classify a conversation.
    pub fn classify(&self, c: &Conversation, t: &Thresholds) -> Classification {
        match self {
            Classifier::Learned(m) => m.classify(c, t),
            Classifier::Rules => classify(c, t),
        }
    }
}

/// A decision and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// The level.
    pub level: Level,
    /// 0 (trivial) to 1 (hardest).
    pub score: f64,
    /// Human-readable reasons, strongest first.
    pub reasons: Vec<String>,
    /// The probability of each level, cheapest first (learned models only).
    pub probabilities: Option<[f64; 3]>,
    /// P(premium) of the latest request read on its own, without the
    /// conversation before it (learned models, when there is one).
    pub alone_premium: Option<f64>,
}

impl Classification {
    /// Whether a person's turn with this classification is planned on
    /// premium: its level is premium, or its chance of premium work reaches
    /// the planning cutoff `plan_from` (learned models only), in its
    /// conversation or read on its own — an unrelated exchange before a new
    /// task must not talk the task's planning down.
    pub fn planned_on_premium(&self, plan_from: Option<f64>) -> bool {
        self.level == Level::Premium
            || matches!((self.planning_premium(), plan_from), (Some(p), Some(cut)) if p >= cut)
    }

    /// The chance of premium work the planning cutoff is compared with: the
    /// higher of P(premium) in the conversation and read on its own.
    pub fn planning_premium(&self) -> Option<f64> {
        let p = self.probabilities?[2];
        Some(self.alone_premium.map_or(p, |alone| alone.max(p)))
    }

    /// What the level was cut from, for a routing reason: the score (rules)
    /// or the chances that the work needs premium and at least cheap
    /// (a learned model).
    pub fn basis(&self) -> String {
        match self.probabilities {
            Some(p) => format!("P(premium) {:.2}, P(≥ cheap) {:.2}", p[2], p[1] + p[2]),
            None => format!("score {:.2}", self.score),
        }
    }
}

pub(super) use super::material::{Split, has_trace, split};

/// Whether `pattern` occurs in `text` as a word (or a word prefix with `*`).
pub(super) fn has_cue(text: &str, pattern: &str) -> bool {
    let (needle, prefix) = match pattern.strip_suffix('*') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    memchr::memmem::find_iter(bytes, needle.as_bytes()).any(|at| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + needle.len()).copied();
        let starts =
            !needle.as_bytes()[0].is_ascii_alphanumeric() || before.is_none_or(|b| !word(b));
        let ends = prefix
            || !needle.as_bytes()[needle.len() - 1].is_ascii_alphanumeric()
            || after.is_none_or(|b| !word(b));
        starts && ends
    })
}

/// Sum a cue list: each reason counts once, at its strongest cue.
pub(super) fn weigh(text: &str, cues: &[Cue], out: &mut Vec<(f64, String)>) -> f64 {
    let mut seen: Vec<(&str, f64)> = Vec::new();
    for (pattern, weight, reason) in cues {
        if has_cue(text, pattern) {
            match seen.iter_mut().find(|(r, _)| r == reason) {
                Some((_, w)) if w.abs() >= weight.abs() => {}
                Some((_, w)) => *w = *weight,
                None => seen.push((reason, *weight)),
            }
        }
    }
    let mut total = 0.0;
    for (reason, weight) in seen {
        total += weight;
        out.push((weight, reason.to_string()));
    }
    total
}

pub(super) fn scale_marks(text: &str) -> usize {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
        .collect();
    words
        .windows(2)
        .filter(|w| {
            let n = w[0]
                .trim_start_matches(['~', '>', '<'])
                .trim_end_matches(['k', 'm', 'b', '+']);
            let number = !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.');
            let unit = w[1]
                .trim_end_matches([':', '.', ';', '?'])
                .split('/')
                .next()
                .unwrap_or("");
            number && SCALE_UNITS.contains(&unit)
        })
        .count()
}

fn starts_with_any(text: &str, openings: &[&str]) -> bool {
    // Skip a leading "lang:" tag ("ts: what does ...").
    let t = match text.split_once(':') {
        Some((tag, rest)) if tag.len() <= 12 && !tag.contains(' ') => rest.trim_start(),
        _ => text,
    };
    openings.iter().any(|o| t.starts_with(o))
}

/// Openings and phrases of a definition or quick fact.
pub(super) fn is_fact_question(first_line: &str, words: usize) -> bool {
    // Phrases that ask for a definition wherever they stand ("sorry, dumb
    // question: what's an idempotency key?"), unlike "what's going on".
    const DEFINITIONAL: &[&str] = &[
        "what is a",
        "what is an",
        "what's a",
        "what's an",
        "whats a",
        "whats an",
        "what does",
        "meaning of",
        "difference between",
        "explain like",
        "eli5",
    ];
    words <= 25
        && (starts_with_any(first_line, FACT_QUESTIONS) && words <= 12
            || DEFINITIONAL.iter().any(|d| has_cue(first_line, d)))
}

/// What one prompt says on its own.
pub(super) struct PromptScore {
    pub(super) score: f64,
    /// It asks for something trivial (a strong local cue or a quick fact).
    pub(super) trivial: bool,
}

/// Score one prompt on its own.
pub(super) fn score_prompt(prompt: &str, reasons: &mut Vec<(f64, String)>) -> PromptScore {
    let s = split(prompt);
    let text = s.prose.to_lowercase();
    let words = super::words::count(&text);
    let first_line = text.lines().next().unwrap_or("");
    let fact = is_fact_question(first_line, words);
    let mut premium_reasons = Vec::new();
    let mut premium = weigh(&text, PREMIUM, &mut premium_reasons).min(0.55);
    if fact && s.material_lines == 0 {
        // "what is a deadlock": the hard word is only the subject.
        premium *= 0.3;
        premium_reasons.iter_mut().for_each(|(w, _)| *w *= 0.3);
    }
    reasons.extend(premium_reasons);
    let cheap = weigh(&text, CHEAP, reasons).min(0.15);
    let local = weigh(&text, LOCAL, reasons).max(-0.45);
    let mut score = BASE + premium + cheap + local;
    let debugging = s.material_lines > 0 && has_trace(prompt);
    let length: f64 = match words {
        0 => 0.0,
        1..=6 => -0.15,
        7..=15 => -0.10,
        16..=25 => -0.04,
        26..=40 => 0.0,
        41..=80 => 0.08,
        _ => 0.15,
    };
    let length = if debugging { length.max(-0.05) } else { length };
    if length != 0.0 {
        score += length;
        let what = if length < 0.0 {
            "a short request"
        } else {
            "a long, detailed request"
        };
        reasons.push((length, format!("{what} ({words} words of prose)")));
    }
    if words == 0 && s.material_lines > 0 {
        reasons.push((
            0.0,
            "only pasted material: treated as 'fix this'".to_string(),
        ));
    }
    let marks = scale_marks(&text).min(2);
    if marks > 0 {
        let w = 0.12 * marks as f64;
        score += w;
        reasons.push((w, "describes a system at scale".to_string()));
    }
    if has_cue(&text, "we") || has_cue(&text, "our") {
        score += 0.05;
        reasons.push((0.05, "about the team's own system".to_string()));
    }
    if fact {
        let w = if s.material_lines == 0 { -0.20 } else { -0.10 };
        score += w;
        reasons.push((w, "a definition or quick fact".to_string()));
    }
    PromptScore {
        score,
        trivial: fact || local <= -0.2,
    }
}

/// Cut a learned model's level probabilities into a level: premium when
/// the chance that the work needs premium reaches `premium_from`, else cheap
/// when the chance that it needs more than local reaches `cheap_from`.
/// (Cutting the expected level instead would mistake a sure cheap answer,
/// 0.5, for an even split between local and premium.)
pub fn level_of_probabilities(p: &[f64; 3], t: &Thresholds) -> Level {
    if p[2] >= t.premium_from {
        Level::Premium
    } else if p[1] + p[2] >= t.cheap_from {
        Level::Cheap
    } else {
        Level::Local
    }
}

/// Cut a score into a level.
pub fn level_of(score: f64, t: &Thresholds) -> Level {
    if score >= t.premium_from {
        Level::Premium
    } else if score >= t.cheap_from {
        Level::Cheap
    } else {
        Level::Local
    }
}

/// Classify a conversation by the lexicon's rules.
pub fn classify(c: &Conversation, thresholds: &Thresholds) -> Classification {
    let mut reasons: Vec<(f64, String)> = Vec::new();
    let mut score = if c.prompt_out_of_reach {
        reasons.push((
            0.1,
            "deep in an agent loop; the request is out of reach".to_string(),
        ));
        BASE + 0.1
    } else {
        let own = score_prompt(&c.prompt, &mut reasons);
        match &c.previous {
            // A follow-up stays at the level of the work it continues,
            // unless it asks for something trivial itself.
            Some(prev) if !own.trivial => {
                let before = score_prompt(prev, &mut Vec::new()).score - 0.05;
                if before > own.score {
                    let w = before - own.score;
                    reasons.push((
                        w,
                        "a follow-up: stays at the level of the work it continues".to_string(),
                    ));
                    before
                } else {
                    own.score
                }
            }
            _ => own.score,
        }
    };
    let loop_weight = match c.tool_steps {
        0..=7 => 0.0,
        8..=19 => 0.10,
        _ => 0.20,
    };
    if loop_weight > 0.0 {
        score += loop_weight;
        reasons.push((
            loop_weight,
            format!("a long agent loop ({} tool results)", c.tool_steps),
        ));
    }
    let score = score.clamp(0.0, 1.0);
    reasons.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    Classification {
        level: level_of(score, thresholds),
        score: (score * 1000.0).round() / 1000.0,
        reasons: reasons
            .into_iter()
            .map(|(w, r)| format!("{r} ({w:+.2})"))
            .collect(),
        probabilities: None,
        alone_premium: None,
    }
}

#[cfg(test)]
#[path = "classifier_tests.rs"]
mod tests;

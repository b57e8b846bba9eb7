//! Settings of the `[router]` section that the router reads: which
//! classifier, its thresholds, and whether routing routes or only shadows.

use super::section::{Errors, Section};

/// Where the levels start: cuts of the rules classifier's score, or of a
/// learned model's probabilities (see `routing::classifier::level_of_probabilities`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// From here a request is at least cheap (a score, or P(cheap or premium)).
    pub cheap_from: f64,
    /// From here a request is premium (a score, or P(premium)).
    pub premium_from: f64,
}

impl Default for Thresholds {
    /// The rules classifier's thresholds (a learned model carries its own).
    fn default() -> Self {
        // Midway between the typical scores of neighbouring tiers on the dev set.
        Thresholds {
            cheap_from: 0.36,
            premium_from: 0.60,
        }
    }
}

/// The classifier `auto` routes use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassifierChoice {
    /// The learned model from this file, or (`None`) the built-in one.
    Learned(Option<std::path::PathBuf>),
    /// The hand-weighted lexicon (`classifier = "rules"`).
    Rules,
}

impl Default for ClassifierChoice {
    /// The built-in learned model: on the never-tuned test split and in the
    /// simulated day it plans far fewer premium tasks below premium than
    /// the rules do (2 of 41 against 26 of 41 on `bench --day`, seed 2026).
    fn default() -> Self {
        ClassifierChoice::Learned(None)
    }
}

pub(super) fn read_classifier(s: &Section<'_>, errors: &mut Errors) -> Option<ClassifierChoice> {
    let model = s.str("model", errors).map(std::path::PathBuf::from);
    match s.str("classifier", errors).as_deref() {
        None if model.is_some() => Some(ClassifierChoice::Learned(model)),
        None => None,
        Some("learned") => Some(ClassifierChoice::Learned(model)),
        Some("rules") if model.is_none() => Some(ClassifierChoice::Rules),
        Some("rules") => {
            let hint = Some("a model file is for classifier = \"learned\"".to_string());
            errors.add(&s.path("model"), "a model with the rules classifier", hint);
            None
        }
        Some(other) => {
            let hint = Some("\"learned\" or \"rules\"".to_string());
            errors.add(
                &s.path("classifier"),
                format!("unknown classifier '{other}'"),
                hint,
            );
            None
        }
    }
}

/// Whether routing sends requests where it decides, or only records where
/// it would have sent them (`shadow`: requests go where the client asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoutingMode {
    /// Serve where routing decides.
    #[default]
    Route,
    /// Serve what was asked for; record routing's decision and its cost.
    Shadow,
}

pub(super) fn read_mode(s: &Section<'_>, errors: &mut Errors) -> Option<RoutingMode> {
    match s.str("mode", errors)?.as_str() {
        "route" => Some(RoutingMode::Route),
        "shadow" => Some(RoutingMode::Shadow),
        other => {
            let hint = Some("\"route\" or \"shadow\"".to_string());
            errors.add(&s.path("mode"), format!("unknown mode '{other}'"), hint);
            None
        }
    }
}

/// How the turns of an agent loop are routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TurnPolicy {
    /// Each turn on its own: a person's turn is classified, mechanical tool
    /// steps may use the work tier, failure signals go back to the task's
    /// tier, and the prompt-cache cost model decides when to switch.
    #[default]
    PerTurn,
    /// A session stays on the dearest tier it reached (tool steps included).
    Task,
}

pub(super) fn read_turns(s: &Section<'_>, errors: &mut Errors) -> Option<TurnPolicy> {
    match s.str("turns", errors)?.as_str() {
        "per_turn" => Some(TurnPolicy::PerTurn),
        "task" => Some(TurnPolicy::Task),
        other => {
            let hint = Some("\"per_turn\" or \"task\"".to_string());
            errors.add(
                &s.path("turns"),
                format!("unknown turn policy '{other}'"),
                hint,
            );
            None
        }
    }
}

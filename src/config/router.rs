//! Settings of the `[router]` section that the router reads: the
//! classifier's thresholds and whether routing routes or only shadows.

use super::section::{Errors, Section};

/// Score boundaries between the levels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Scores from here are at least cheap.
    pub cheap_from: f64,
    /// Scores from here are premium.
    pub premium_from: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        // Midway between the typical scores of neighbouring tiers on the dev set.
        Thresholds {
            cheap_from: 0.36,
            premium_from: 0.60,
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

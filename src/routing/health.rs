//! Circuit breakers, one per target (provider + upstream model): a target
//! that keeps failing is skipped for a cool-down, then let through one probe
//! request at a time (half-open); a success closes it, a failure opens it
//! again for twice as long. A dead local server then costs nothing instead
//! of a timeout per request.
//!
//! The probe is taken ([`Health::admit`]) only when the attempt is about to
//! be made; planning which targets to try only looks ([`Health::peek`]). A
//! probe that never reports (its request was cancelled, or ended in a way
//! that says nothing about the target) goes stale after the base cool-down,
//! and the next request probes instead: a breaker cannot stay half-open
//! for good.

// The breaker map is locked for a lookup or an update, never across an await.
#![allow(clippy::disallowed_types)]

use crate::config::HealthConfig;
use crate::error::UpstreamErrorKind;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a breaker says about the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Healthy: go ahead.
    Allowed,
    /// Cooling down is over: this request is the probe.
    Probe,
    /// Cooling down until then: skip this target.
    CoolingDown(Instant),
}

#[derive(Debug, Clone)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        cooldown: Duration,
    },
    /// `probing`: when the current probe was let through.
    HalfOpen {
        cooldown: Duration,
        probing: Option<Instant>,
    },
}

/// Whether a failure says something about the target's health (and not
/// about the request).
pub fn counts_against_target(kind: UpstreamErrorKind) -> bool {
    !matches!(
        kind,
        UpstreamErrorKind::InvalidRequest
            | UpstreamErrorKind::Malformed
            | UpstreamErrorKind::ToolRefused
            | UpstreamErrorKind::TooLarge
    )
}

/// The key of a target's breaker: `provider/upstream model`.
pub fn breaker_key(provider: &str, upstream_model: &str) -> String {
    format!("{provider}/{upstream_model}")
}

/// What a breaker says about its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Serving (with this many consecutive failures so far).
    Up {
        /// Consecutive failures.
        failures: u32,
    },
    /// Skipped for this long still.
    CoolingDown {
        /// Time left.
        left: Duration,
    },
    /// One request is trying it again.
    Probing,
}

impl BreakerState {
    /// `up`, `cooling_down` or `probing`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Up { .. } => "up",
            BreakerState::CoolingDown { .. } => "cooling_down",
            BreakerState::Probing => "probing",
        }
    }

    /// Consecutive failures (up) or whole seconds of cool-down left.
    pub fn detail(self) -> u64 {
        match self {
            BreakerState::Up { failures } => u64::from(failures),
            BreakerState::CoolingDown { left } => left.as_secs(),
            BreakerState::Probing => 0,
        }
    }
}

/// The state of one target, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    /// Its breaker key (`provider/model`).
    pub target: String,
    /// Its breaker's state.
    pub state: BreakerState,
}

/// A breaker that just opened here, for the other instances.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    /// Its breaker key.
    pub target: String,
    /// How long it cools down.
    pub cooldown: Duration,
}

/// All breakers.
#[derive(Debug)]
pub struct Health {
    config: HealthConfig,
    breakers: Mutex<HashMap<String, State>>,
    /// Where breakers that open are reported (see `routing::peers`).
    peers: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Opened>>,
}

impl Health {
    /// Breakers with these settings.
    pub fn new(config: HealthConfig) -> Self {
        Health {
            config,
            breakers: Mutex::new(HashMap::new()),
            peers: std::sync::OnceLock::new(),
        }
    }

    /// Report every breaker that opens from now on (once per process).
    pub fn report_openings(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Opened>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.peers.set(tx).ok()?;
        Some(rx)
    }

    /// Another instance found `target` failing: cool it down here too for
    /// `left` (unless it already cools down longer).
    pub fn open_from_peer(&self, target: &str, left: Duration, cooldown: Duration) {
        let Ok(mut map) = self.breakers.lock() else {
            return;
        };
        let until = Instant::now() + left;
        if let Some(State::Open { until: mine, .. }) = map.get(target)
            && *mine >= until
        {
            return;
        }
        tracing::warn!(
            target,
            cooldown_secs = left.as_secs_f64(),
            "target cooling down: another instance found it failing"
        );
        map.insert(target.to_string(), State::Open { until, cooldown });
    }

    /// May a request go to `target` now?
    pub fn admit(&self, target: &str) -> Admission {
        self.admit_at(target, Instant::now())
    }

    fn admit_at(&self, target: &str, now: Instant) -> Admission {
        self.decide(target, now, true)
    }

    /// What [`Health::admit`] would say, without taking a probe.
    pub fn peek(&self, target: &str) -> Admission {
        self.decide(target, Instant::now(), false)
    }

    fn decide(&self, target: &str, now: Instant, take: bool) -> Admission {
        let Ok(mut map) = self.breakers.lock() else {
            return Admission::Allowed;
        };
        let stale = self.config.cooldown;
        match map.get_mut(target) {
            None | Some(State::Closed { .. }) => Admission::Allowed,
            Some(State::Open { until, cooldown }) if now >= *until => {
                if take {
                    let cooldown = *cooldown;
                    map.insert(
                        target.to_string(),
                        State::HalfOpen {
                            cooldown,
                            probing: Some(now),
                        },
                    );
                }
                Admission::Probe
            }
            Some(State::Open { until, .. }) => Admission::CoolingDown(*until),
            Some(State::HalfOpen { probing, cooldown }) => match probing {
                // One probe at a time; the rest wait for its verdict.
                Some(since) if now.saturating_duration_since(*since) < stale => {
                    Admission::CoolingDown(now + (*cooldown / 10).max(Duration::from_millis(100)))
                }
                _ => {
                    if take {
                        *probing = Some(now);
                    }
                    Admission::Probe
                }
            },
        }
    }

    /// Record how an attempt on `target` went.
    pub fn record(&self, target: &str, ok: bool) {
        self.record_at(target, ok, Instant::now());
    }

    fn record_at(&self, target: &str, ok: bool, now: Instant) {
        let Ok(mut map) = self.breakers.lock() else {
            return;
        };
        let next = match (map.get(target).cloned(), ok) {
            (_, true) => None,
            (None, false) => Some(self.after_failures(1, now)),
            (Some(State::Closed { failures }), false) => {
                Some(self.after_failures(failures + 1, now))
            }
            (Some(State::HalfOpen { cooldown, .. }), false)
            | (Some(State::Open { cooldown, .. }), false) => {
                let cooldown = (cooldown * 2).min(self.config.max_cooldown);
                tracing::warn!(
                    target,
                    cooldown_secs = cooldown.as_secs(),
                    "probe failed: target cooling down again"
                );
                Some(State::Open {
                    until: now + cooldown,
                    cooldown,
                })
            }
        };
        match next {
            None => {
                if let Some(State::HalfOpen { .. }) = map.remove(target) {
                    tracing::info!(target, "probe succeeded: target back in service");
                }
            }
            Some(state) => {
                if let (State::Open { cooldown, .. }, Some(peers)) = (&state, self.peers.get()) {
                    let _ = peers.send(Opened {
                        target: target.to_string(),
                        cooldown: *cooldown,
                    });
                }
                map.insert(target.to_string(), state);
            }
        }
    }

    fn after_failures(&self, failures: u32, now: Instant) -> State {
        if failures >= self.config.failures {
            tracing::warn!(
                failures,
                cooldown_secs = self.config.cooldown.as_secs(),
                "target failing: cooling down"
            );
            State::Open {
                until: now + self.config.cooldown,
                cooldown: self.config.cooldown,
            }
        } else {
            State::Closed { failures }
        }
    }

    /// Every target with a non-trivial state.
    pub fn snapshot(&self) -> Vec<TargetHealth> {
        let Ok(map) = self.breakers.lock() else {
            return Vec::new();
        };
        let now = Instant::now();
        let mut out: Vec<TargetHealth> = map
            .iter()
            .map(|(k, s)| {
                let state = match s {
                    State::Closed { failures } => BreakerState::Up {
                        failures: *failures,
                    },
                    State::Open { until, .. } => BreakerState::CoolingDown {
                        left: until.saturating_duration_since(now),
                    },
                    State::HalfOpen { .. } => BreakerState::Probing,
                };
                TargetHealth {
                    target: k.clone(),
                    state,
                }
            })
            .collect();
        out.sort_by(|a, b| a.target.cmp(&b.target));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health() -> Health {
        Health::new(HealthConfig {
            failures: 2,
            cooldown: Duration::from_secs(40),
            max_cooldown: Duration::from_secs(100),
        })
    }

    fn secs(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    #[test]
    fn opens_after_failures_and_half_opens_after_cooldown() {
        let h = health();
        let t0 = Instant::now();
        assert_eq!(h.admit_at("t", t0), Admission::Allowed);
        h.record_at("t", false, t0);
        assert_eq!(
            h.admit_at("t", t0),
            Admission::Allowed,
            "one failure is not enough"
        );
        h.record_at("t", false, t0);
        assert!(
            matches!(h.admit_at("t", secs(t0, 39)), Admission::CoolingDown(_)),
            "open"
        );
        assert_eq!(h.snapshot()[0].state.as_str(), "cooling_down");
        assert_eq!(
            h.admit_at("t", secs(t0, 40)),
            Admission::Probe,
            "half-open: one probe"
        );
        assert!(
            matches!(h.admit_at("t", secs(t0, 41)), Admission::CoolingDown(_)),
            "others wait for the probe"
        );
        assert!(matches!(
            h.peek("t"),
            Admission::Probe | Admission::CoolingDown(_)
        ));
        h.record_at("t", true, secs(t0, 41));
        assert_eq!(
            h.admit_at("t", secs(t0, 41)),
            Admission::Allowed,
            "closed again"
        );
        assert!(h.snapshot().is_empty());
    }

    #[test]
    fn failed_probe_doubles_the_cooldown() {
        let h = health();
        let t0 = Instant::now();
        h.record_at("t", false, t0);
        h.record_at("t", false, t0);
        assert_eq!(h.admit_at("t", secs(t0, 40)), Admission::Probe);
        h.record_at("t", false, secs(t0, 40));
        assert!(
            matches!(h.admit_at("t", secs(t0, 119)), Admission::CoolingDown(_)),
            "80 s now, not 40"
        );
        assert_eq!(h.admit_at("t", secs(t0, 120)), Admission::Probe);
        h.record_at("t", false, secs(t0, 120));
        assert!(
            matches!(h.admit_at("t", secs(t0, 219)), Admission::CoolingDown(_)),
            "capped at 100 s"
        );
        assert_eq!(h.admit_at("t", secs(t0, 220)), Admission::Probe);
    }

    #[test]
    fn looking_takes_no_probe_and_a_silent_probe_goes_stale() {
        let h = health();
        let t0 = Instant::now() - Duration::from_secs(200);
        h.record_at("t", false, t0);
        h.record_at("t", false, t0);
        // Planning looks at the breaker many times; none of it is the probe.
        assert_eq!(h.peek("t"), Admission::Probe);
        assert_eq!(h.peek("t"), Admission::Probe);
        assert_eq!(h.admit_at("t", secs(t0, 50)), Admission::Probe);
        assert!(matches!(
            h.admit_at("t", secs(t0, 60)),
            Admission::CoolingDown(_)
        ));
        // The probe never reported: after the base cool-down another goes.
        assert_eq!(h.admit_at("t", secs(t0, 90)), Admission::Probe);
    }

    #[test]
    fn success_resets_the_count() {
        let h = health();
        h.record("t", false);
        h.record("t", true);
        h.record("t", false);
        assert_eq!(h.admit("t"), Admission::Allowed);
        assert!(!counts_against_target(UpstreamErrorKind::InvalidRequest));
        assert!(counts_against_target(UpstreamErrorKind::Transport));
    }
}

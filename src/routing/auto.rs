//! `auto` routes: the tier for one request of a conversation.
//!
//! A person's turn is classified: its level is the floor. Within a Claude
//! Code session the router remembers the conversation (see [`session`]),
//! and with the `per_turn` policy it decides each turn on its own:
//!
//! - a person's turn goes to its classified tier — premium when the
//!   chance of premium work reaches `plan_from` (planning is where a cheaper
//!   model risks the whole task) — unless the model that
//!   asked them a question was a cheaper stand-in (back to the task's
//!   tier), or staying on the task's dearer tier is cheaper because its
//!   prompt cache is warm (the cost model decides);
//! - a tool step goes to the work tier when it is mechanical (digesting a
//!   read or a search, an edit already decided, a passing run) and the cost
//!   model agrees; a failure signal (see [`turn::Signal`]) sends it back to
//!   the tier the task was planned on, and a third failure within one task
//!   one tier higher.
//!
//! With the `task` policy a session stays on the dearest tier it reached.
//! Every decision says why in the plan's reason.
//!
//! [`session`]: super::session
//! [`turn::Signal`]: super::turn::Signal

use super::classifier::{Classification, Level};
use super::session::{self, Memory, TurnShape};
use super::turn::{self, Signal, Step};
use super::{Router, SESSION_HEADER, conversation};
use crate::config::TurnPolicy;
use crate::core::RawRequest;
use crate::error::GatewayError;
use rust_decimal::Decimal;
use std::time::Instant;

/// What `served` needs to remember a planned turn.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionTurn {
    /// Session id and conversation fingerprint.
    pub key: (String, u64),
    /// The conversation's memory after this turn (before it is served).
    pub memory: Memory,
    /// The prompt's size, in tokens (estimated).
    pub prompt_tokens: u64,
    /// The client marks cache breakpoints.
    pub cache_marked: bool,
    /// Turns in the request (its answer will be turn `messages`).
    pub messages: usize,
}

impl SessionTurn {
    /// Assistant turns of this request that a model other than `model`
    /// wrote (their thinking blocks must not reach `model`).
    pub fn written_by_others(&self, model: &str) -> Vec<usize> {
        self.memory.written_by_others(model)
    }
}

/// The auto decision: a tier rank, the classification (when one was made),
/// why, and what to remember (within a session).
pub(super) struct Decision {
    pub rank: usize,
    pub classification: Option<Classification>,
    pub reason: String,
    pub session: Option<SessionTurn>,
}

/// One policy's verdict: the rank, the classification, why, and the
/// conversation's memory after this turn.
struct Verdict {
    rank: usize,
    classification: Option<Classification>,
    reason: String,
    memory: Memory,
}

/// A cost comparison of two tiers over the horizon.
struct Compared {
    low: Decimal,
    high: Decimal,
}

impl Compared {
    fn text(&self, low: &str, high: &str) -> String {
        format!(
            "est. ${} on {low} vs ${} on {high} over {} turns",
            self.low.round_dp(4),
            self.high.round_dp(4),
            session::HORIZON
        )
    }
}

fn is_failure(s: Signal) -> bool {
    matches!(
        s,
        Signal::ToolError | Signal::RefusedCall | Signal::FailingRun | Signal::Looping
    )
}

impl Router {
    fn tier_name(&self, rank: usize) -> &str {
        self.routing
            .tiers
            .get(rank)
            .map_or("?", |t| t.name.as_str())
    }

    /// Price the turn on the first model of tiers `low` and `high`; `None`
    /// when either price is unknown.
    fn compare(
        &self,
        memory: Option<&Memory>,
        shape: TurnShape,
        low: usize,
        high: usize,
    ) -> Option<Compared> {
        let now = Instant::now();
        let cost = |rank: usize| {
            let model = self.routing.tiers.get(rank)?.models.first()?;
            let price = self.prices.get(model)?;
            let cached = memory.map_or(0, |m| m.cached_on(model, self.sessions.cache_ttl, now));
            Some(session::expected_cost(price, shape, cached))
        };
        Some(Compared {
            low: cost(low)?,
            high: cost(high)?,
        })
    }

    fn classify(&self, raw: &RawRequest) -> Result<(usize, Classification), GatewayError> {
        let c = self
            .classifier
            .classify(&conversation::read(raw), &self.thresholds);
        let rank = self
            .rank_for(c.level)
            .ok_or_else(|| GatewayError::Internal("auto routing without tiers".into()))?;
        Ok((rank, c))
    }

    /// The session turn of a request on a fixed route (a tier or a target
    /// list), so that when another model answers (a fallback, a refused
    /// tool call) its thinking blocks are kept from the first model next
    /// turn. `None` without a Claude Code session.
    pub(super) fn authors_turn(
        &self,
        raw: &RawRequest,
        headers: &http::HeaderMap,
        input_tokens: u64,
        rank: usize,
    ) -> Option<SessionTurn> {
        let turn = turn::read(raw);
        let key = headers
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|_| self.routing.sticky_sessions)
            .map(|sid| (sid.to_string(), turn.conversation))?;
        let memory = self
            .sessions
            .get(&key)
            .unwrap_or_else(|| session::Memory::new(rank));
        Some(SessionTurn {
            key,
            memory,
            prompt_tokens: input_tokens,
            cache_marked: turn.cache_marked,
            messages: raw.messages().len(),
        })
    }

    /// Decide the tier of an `auto` request.
    pub(super) fn decide(
        &self,
        raw: &RawRequest,
        headers: &http::HeaderMap,
        input_tokens: u64,
    ) -> Result<Decision, GatewayError> {
        let turn = turn::read(raw);
        let key = headers
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|_| self.routing.sticky_sessions)
            .map(|sid| (sid.to_string(), turn.conversation));
        let memory = key.as_ref().and_then(|k| self.sessions.get(k));
        let human = matches!(turn.step, Step::Human { .. });
        let shape = TurnShape {
            prompt: input_tokens,
            answer: if human {
                session::ANSWER_TOKENS_HUMAN
            } else {
                session::ANSWER_TOKENS_TOOL_STEP
            },
            cache_marked: turn.cache_marked,
        };
        let memory = memory.as_ref();
        let v = match (self.routing.turns, &turn.step) {
            (TurnPolicy::Task, _) => self.whole_task(raw, memory)?,
            (TurnPolicy::PerTurn, Step::Human { answers_question }) => {
                self.person_turn(raw, memory, *answers_question, shape)?
            }
            (TurnPolicy::PerTurn, Step::Tools { called, signal }) => {
                self.tool_step(raw, memory, called, *signal, shape)?
            }
        };
        Ok(Decision {
            rank: v.rank,
            classification: v.classification,
            reason: v.reason,
            session: key.map(|key| SessionTurn {
                key,
                memory: v.memory,
                prompt_tokens: input_tokens,
                cache_marked: turn.cache_marked,
                messages: raw.messages().len(),
            }),
        })
    }

    /// The `task` policy: the session's dearest tier so far.
    fn whole_task(
        &self,
        raw: &RawRequest,
        memory: Option<&Memory>,
    ) -> Result<Verdict, GatewayError> {
        let (mut rank, c) = self.classify(raw)?;
        let mut reason = format!("auto: {} → {}", c.basis(), c.level.as_str());
        if let Some(m) = memory.filter(|m| m.task_rank > rank) {
            rank = m.task_rank;
            reason.push_str(&format!(
                ", kept on the session's tier {}",
                self.tier_name(rank)
            ));
        }
        let mut m = memory.cloned().unwrap_or_else(|| Memory::new(rank));
        m.task_rank = rank;
        Ok(Verdict {
            rank,
            classification: Some(c),
            reason,
            memory: m,
        })
    }

    fn person_turn(
        &self,
        raw: &RawRequest,
        memory: Option<&Memory>,
        answers_question: bool,
        shape: TurnShape,
    ) -> Result<Verdict, GatewayError> {
        let (mut floor, c) = self.classify(raw)?;
        let mut reason = format!("auto: {} → {}", c.basis(), c.level.as_str());
        if let Some(lifted) = self.planned_up(&c, floor) {
            let on_own = match (c.alone_premium, c.probabilities) {
                (Some(alone), Some(p)) if alone > p[2] => {
                    format!(" read on its own ({alone:.2})")
                }
                _ => String::new(),
            };
            reason.push_str(&format!(
                "; planned on {}: P(premium){on_own} ≥ plan_from {:.2}, too likely premium work to plan below it",
                self.tier_name(lifted),
                self.plan_from.unwrap_or(1.0)
            ));
            floor = lifted;
        }
        let mut rank = floor;
        if let Some(m) = memory.filter(|m| m.task_rank > floor) {
            let (task, here) = (self.tier_name(m.task_rank), self.tier_name(floor));
            if answers_question && m.last_rank < m.task_rank {
                rank = m.task_rank;
                reason.push_str(&format!(
                    "; answers a question the {} tier asked: back to the task's tier {task}",
                    self.tier_name(m.last_rank)
                ));
            } else {
                match self.compare(Some(m), shape, floor, m.task_rank) {
                    Some(cost) if cost.high <= cost.low => {
                        rank = m.task_rank;
                        reason.push_str(&format!(
                            "; kept on {task}, whose prompt cache makes it cheaper ({})",
                            cost.text(here, task)
                        ));
                    }
                    Some(cost) => {
                        reason.push_str(&format!("; down from {task} ({})", cost.text(here, task)))
                    }
                    None => reason.push_str(&format!("; down from {task} (prices unknown)")),
                }
            }
        }
        let mut m = memory.cloned().unwrap_or_else(|| Memory::new(rank));
        m.task_rank = rank;
        m.failures = 0;
        Ok(Verdict {
            rank,
            classification: Some(c),
            reason,
            memory: m,
        })
    }

    /// The premium tier's rank when a person's turn classified below it
    /// still has a chance of premium work from `plan_from` up.
    fn planned_up(&self, c: &Classification, floor: usize) -> Option<usize> {
        let premium = self.rank_for(Level::Premium)?;
        (premium > floor && c.planned_on_premium(self.plan_from)).then_some(premium)
    }

    fn tool_step(
        &self,
        raw: &RawRequest,
        memory: Option<&Memory>,
        called: &[String],
        signal: Option<Signal>,
        shape: TurnShape,
    ) -> Result<Verdict, GatewayError> {
        let (task, classification) = match memory {
            Some(m) => (m.task_rank, None),
            None => {
                let (rank, c) = self.classify(raw)?;
                (rank, Some(c))
            }
        };
        let mut m = memory.cloned().unwrap_or_else(|| Memory::new(task));
        let after = if called.is_empty() {
            "tool step".to_string()
        } else {
            format!("tool step after {}", called.join(", "))
        };
        let mut rank = task;
        let reason;
        match signal {
            Some(s) => {
                if is_failure(s) {
                    m.failures += 1;
                }
                let top = self.routing.tiers.len().saturating_sub(1);
                if m.failures >= 3 && task < top {
                    rank = task + 1;
                    m.task_rank = rank;
                    m.failures = 0;
                    reason = format!(
                        "auto: {after}: {} (third failure in this task): up to {}",
                        s.describe(),
                        self.tier_name(rank)
                    );
                } else {
                    reason = format!(
                        "auto: {after}: {}: back to the task's tier {}",
                        s.describe(),
                        self.tier_name(rank)
                    );
                }
            }
            None => {
                // Without a session the router cannot tell which model
                // signed the conversation's thinking blocks: no switching.
                let unknown_signers = memory.is_none()
                    && memchr::memmem::find(raw.bytes(), b"\"signature\"").is_some();
                let work = self
                    .tier_rank(&self.routing.work_tier)
                    .filter(|w| *w < task && !unknown_signers);
                let here = self.tier_name(task);
                reason = match work {
                    None if unknown_signers => format!(
                        "auto: {after} on the task's tier {here} (signed thinking of unknown models, no memory of the session: no switch)"
                    ),
                    None => format!("auto: {after} on the task's tier {here}"),
                    Some(w) => {
                        let there = self.tier_name(w);
                        match self.compare(Some(&m), shape, w, task) {
                            Some(cost) if cost.high <= cost.low => format!(
                                "auto: {after}: kept on {here}, whose prompt cache makes it cheaper ({})",
                                cost.text(there, here)
                            ),
                            Some(cost) => {
                                rank = w;
                                format!(
                                    "auto: {after}: mechanical → {there} ({})",
                                    cost.text(there, here)
                                )
                            }
                            None => {
                                rank = w;
                                format!("auto: {after}: mechanical → {there} (prices unknown)")
                            }
                        }
                    }
                };
            }
        }
        Ok(Verdict {
            rank,
            classification,
            reason,
            memory: m,
        })
    }

    /// A plan was served by `target`: remember the conversation's turn.
    pub fn served(&self, plan: &super::Plan, target: usize) {
        let (Some(s), Some(t)) = (&plan.session, plan.targets.get(target)) else {
            return;
        };
        // In shadow mode the conversation goes on as routing would have.
        let (tier, model) = match &plan.shadow {
            Some(sh) => (sh.tier.as_deref(), sh.model.as_str()),
            None => (t.tier.as_deref(), t.model.name.as_str()),
        };
        let mut m = s.memory.clone();
        m.answered(s.messages, &t.model.name);
        if let Some(rank) = tier.and_then(|n| self.tier_rank(n)) {
            m.last_rank = rank;
            if self.routing.turns == TurnPolicy::Task {
                m.task_rank = m.task_rank.max(rank);
            }
        }
        if s.cache_marked {
            m.wrote(
                model,
                s.prompt_tokens,
                Instant::now(),
                self.sessions.cache_ttl,
            );
        }
        self.sessions.put(s.key.clone(), m);
    }
}

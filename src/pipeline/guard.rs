//! Guardrails on the way out: a planned request is read for secrets and
//! sensitive files (`guard::RequestGuard`, new turns only), and the action
//! of its key, route, tier or `[guard]` applies — allow, redact (the body
//! sent upstream carries placeholders), force_local (only local models may
//! serve it), block (a 400 in the client's dialect). A request only local
//! providers can serve is left as it is: it never leaves the machine. What
//! was found and done goes to the ledger (`guard`), the metrics and the
//! `x-switchyard-guard` header; the secrets themselves go nowhere.

use super::RequestContext;
use crate::config::{GuardAction, OnViolation, RouteConfig, TierGuard, ToolRules};
use crate::core::{ChatRequest, RawRequest, TurnRole};
use crate::error::GatewayError;
use crate::guard::tools::ToolCheck;
use crate::guard::workspace::Workspace;
use crate::routing::{Plan, Target};
use std::sync::Arc;

/// A request's tool policy: the rules every target's answer is checked
/// against (`[guard] tools` and the route's), and its workspace.
#[derive(Debug, Clone)]
pub(super) struct ToolPolicy {
    rules: ToolRules,
    workspace: Arc<Workspace>,
}

impl RequestContext<'_> {
    /// The action for `plan`: the key's, else the route's, else its
    /// tier's, else `[guard] secrets`.
    fn guard_action(&self, plan: &Plan) -> GuardAction {
        let config = &self.state.config;
        let route = || self.route_of(plan).and_then(|r| r.guard);
        let tier = || {
            let t = plan.targets.first()?.tier.as_deref()?;
            config
                .guard
                .tiers
                .iter()
                .find(|g| g.name == t)
                .and_then(|g| g.secrets)
        };
        self.key
            .as_ref()
            .and_then(|k| k.guard)
            .or_else(route)
            .or_else(tier)
            .unwrap_or(config.guard.secrets)
    }

    /// Apply the guardrails to `raw`, planned as `plan`: the body to send
    /// (redacted when the action says so), or the refusal.
    pub(super) fn guard(
        &mut self,
        plan: &mut Plan,
        raw: RawRequest,
    ) -> Result<RawRequest, GatewayError> {
        let seen = self.state.guard.inspect(&raw);
        if seen.is_clean() {
            return Ok(raw);
        }
        let found = seen.summary();
        let action = self.guard_action(plan);
        let stays_here = plan.targets.iter().all(|t| t.provider.local);
        let verb = if stays_here { "local" } else { action.as_str() };
        let note = format!("{verb}: {found}");
        metrics::counter!("switchyard_guard_requests_total", "action" => verb).increment(1);
        tracing::info!(action = verb, found = %found, "guardrails: the request carries secrets");
        self.record.update(|r| r.guard = Some(note.clone()));
        self.guard_note = Some(verb);
        if stays_here {
            return Ok(raw);
        }
        match action {
            GuardAction::Allow => Ok(raw),
            GuardAction::Redact => seen.redacted(&raw).map_err(GatewayError::Internal),
            GuardAction::ForceLocal => {
                let why = format!("it carries {found}");
                let headers = self.headers;
                if self.state.router.keep_local(plan, &raw, headers, &why) {
                    Ok(raw)
                } else {
                    Err(GatewayError::Guarded(format!(
                        "this request carries secrets or sensitive files ({found}) and may only be served by local models, but none can serve it"
                    )))
                }
            }
            GuardAction::Block => Err(GatewayError::Guarded(format!(
                "this request carries secrets or sensitive files ({found}); the gateway's policy refuses to send it upstream. Remove them, or ask for a model that runs locally"
            ))),
        }
    }

    /// The request's tool policy, unless no rule could apply to any target.
    pub(super) fn tool_policy(&self, plan: &Plan, raw: &RawRequest) -> Option<ToolPolicy> {
        let guard = &self.state.config.guard;
        let route = self
            .route_of(plan)
            .map_or(ToolRules::NONE, |r| r.guard_tools);
        let rules = guard.tools.with(route);
        let tiers = plan
            .targets
            .iter()
            .any(|t| !self.tier_tool_rules(t).is_empty());
        if rules.is_empty() && !tiers {
            return None;
        }
        let system = match raw.system_span() {
            Some(span) => raw.bytes().get(span).unwrap_or_default(),
            None => raw
                .messages()
                .iter()
                .find(|m| m.role == TurnRole::System)
                .map_or(&[][..], |m| raw.content_of(m)),
        };
        Some(ToolPolicy {
            rules,
            workspace: Arc::new(Workspace::new(&guard.workspace, system)),
        })
    }

    fn tier_tool_rules(&self, target: &Target) -> ToolRules {
        self.tier_guard(target).map_or(ToolRules::NONE, |g| g.tools)
    }

    /// The `[[routes]]` entry `plan` came from.
    pub(super) fn route_of(&self, plan: &Plan) -> Option<&RouteConfig> {
        let routes = &self.state.config.routing.routes;
        routes.iter().find(|r| r.name == plan.route)
    }

    fn tier_guard(&self, target: &Target) -> Option<&TierGuard> {
        let tier = target.tier.as_deref()?;
        let tiers = &self.state.config.guard.tiers;
        tiers.iter().find(|g| g.name == tier)
    }

    /// `raw` with its `max_tokens` lowered to the smallest ceiling that
    /// applies to the whole request (`[guard]`, the key's, the route's);
    /// the change is noted in the ledger. Tiers' ceilings apply per
    /// attempt ([`RequestContext::tier_capped`]).
    pub(super) fn cap_output(
        &mut self,
        plan: &Plan,
        raw: RawRequest,
    ) -> Result<RawRequest, GatewayError> {
        let ceilings = [
            self.state.config.guard.max_tokens,
            self.key.as_ref().and_then(|k| k.max_tokens),
            self.route_of(plan).and_then(|r| r.max_tokens),
        ];
        let Some(ceiling) = ceilings.into_iter().flatten().min() else {
            return Ok(raw);
        };
        let Some(capped) = raw
            .capped_at(ceiling)
            .map_err(GatewayError::InvalidRequest)?
        else {
            return Ok(raw);
        };
        let asked = raw.max_output_tokens().unwrap_or_default();
        self.record
            .note_guard(&format!("max_tokens {asked} lowered to {ceiling}"));
        Ok(capped)
    }

    /// The ceiling `target`'s tier puts on an answer, when it is below
    /// what the request asks.
    fn tier_ceiling(&self, target: &Target, raw: &RawRequest) -> Option<u64> {
        let ceiling = self.tier_guard(target)?.max_tokens?;
        (raw.max_output_tokens()? > ceiling).then_some(ceiling)
    }

    /// The body and translation an attempt on `target` sends when its
    /// tier has a lower ceiling than the request asks (`None`s: as they
    /// are); `Err` when a thinking budget cannot fit below it.
    pub(super) fn tier_capped(
        &self,
        target: &Target,
        raw: &RawRequest,
        canonical: Option<&ChatRequest>,
    ) -> Result<(Option<RawRequest>, Option<ChatRequest>), String> {
        let Some(ceiling) = self.tier_ceiling(target, raw) else {
            return Ok((None, None));
        };
        let raw = raw.capped_at(ceiling)?;
        let canonical = canonical.map(|c| {
            let mut c = c.clone();
            c.max_tokens = c.max_tokens.map(|n| n.min(ceiling));
            c
        });
        Ok((raw, canonical))
    }

    /// Note a tier's ceiling when the target that answered had one.
    pub(super) fn note_tier_cap(&mut self, plan: &Plan, target: usize, raw: &RawRequest) {
        let Some(t) = plan.targets.get(target) else {
            return;
        };
        if let Some(ceiling) = self.tier_ceiling(t, raw) {
            let asked = raw.max_output_tokens().unwrap_or_default();
            let tier = t.tier.as_deref().unwrap_or_default();
            self.record.note_guard(&format!(
                "max_tokens {asked} lowered to {ceiling} (tier {tier})"
            ));
        }
    }

    /// What `target`'s answer is checked against; `last`: no target
    /// follows it to escalate to.
    pub(super) fn tool_check(
        &self,
        policy: &ToolPolicy,
        target: &Target,
        last: bool,
    ) -> Option<ToolCheck> {
        let rules = policy.rules.with(self.tier_tool_rules(target));
        (!rules.is_empty()).then(|| ToolCheck {
            checker: self.state.tools.clone(),
            rules,
            workspace: policy.workspace.clone(),
            escalate: !last && self.state.config.guard.on_violation == OnViolation::Escalate,
            whole_answer: false,
        })
    }
}

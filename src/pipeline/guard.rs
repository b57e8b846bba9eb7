//! Guardrails on the way out: a planned request is read for secrets and
//! sensitive files (`guard::RequestGuard`, new turns only), and the action
//! of its key, route, tier or `[guard]` applies — allow, redact (the body
//! sent upstream carries placeholders), force_local (only local models may
//! serve it), block (a 400 in the client's dialect). A request only local
//! providers can serve is left as it is: it never leaves the machine. What
//! was found and done goes to the ledger (`guard`), the metrics and the
//! `x-switchyard-guard` header; the secrets themselves go nowhere.

use super::RequestContext;
use crate::config::GuardAction;
use crate::core::RawRequest;
use crate::error::GatewayError;
use crate::routing::Plan;

impl RequestContext<'_> {
    /// The action for `plan`: the key's, else the route's, else its
    /// tier's, else `[guard] secrets`.
    fn guard_action(&self, plan: &Plan) -> GuardAction {
        let config = &self.state.config;
        let route = || {
            config
                .routing
                .routes
                .iter()
                .find(|r| r.name == plan.route)
                .and_then(|r| r.guard)
        };
        let tier = || {
            let t = plan.targets.first()?.tier.as_deref()?;
            config
                .guard
                .tiers
                .iter()
                .find(|(name, _)| name == t)
                .map(|(_, a)| *a)
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
}

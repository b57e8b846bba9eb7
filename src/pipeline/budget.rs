//! Before a request goes upstream: count it against its key's,
//! developer's and team's budgets and rate limits (`teams::limits`),
//! reserving the most it can cost; the record settles it when it ends.

use super::RequestContext;
use crate::core::RawRequest;
use crate::error::GatewayError;
use crate::routing::Plan;
use crate::teams::unified::{Standing, binding, standings};
use crate::teams::{Refusal, Soft};

impl RequestContext<'_> {
    /// Keep the targets of `plan` in tiers the client key may use; a 403
    /// when none is left.
    pub(super) fn keep_allowed_tiers(&self, plan: &mut Plan) -> Result<(), GatewayError> {
        let Some(key) = self.key.as_ref().filter(|k| !k.tiers.is_empty()) else {
            return Ok(());
        };
        plan.targets.retain(|t| key.allows_tier(t.tier.as_deref()));
        if plan.targets.is_empty() {
            return Err(GatewayError::Forbidden(format!(
                "gateway key {} may only be served by tier {}, and no model of it can serve this request",
                key.identity.key_id,
                key.tiers.join(", ")
            )));
        }
        Ok(())
    }

    /// Admit the request for `plan`; `Ok` carries a soft limit passed.
    pub(super) async fn admit(
        &self,
        plan: &Plan,
        raw: &RawRequest,
    ) -> Result<Option<Soft>, GatewayError> {
        let limits = &self.state.limits;
        let own = self.key.as_ref().map_or(&[][..], |k| &k.rules[..]);
        if limits.is_empty() && own.is_empty() {
            return Ok(None);
        }
        let Some((id, who)) = self
            .record
            .get()
            .and_then(|r| Some((r.request_id.clone(), r.identity.clone()?)))
        else {
            return Ok(None);
        };
        let input = raw.estimated_input_tokens();
        let most = limits.most_cost(
            plan.targets.iter().map(|t| t.model.name.as_str()),
            input,
            raw.max_output_tokens(),
        );
        let tokens = i64::try_from(input).unwrap_or(i64::MAX);
        limits
            .admit(&id, &who, own, most, tokens, crate::teams::view::now_ms())
            .await
            .map_err(|r| match r {
                Refusal::Budget {
                    message,
                    retry_after_secs,
                } => GatewayError::BudgetExceeded {
                    message,
                    retry_after_secs,
                },
                Refusal::Rate {
                    message,
                    retry_after_secs,
                } => GatewayError::RateLimitExceeded {
                    message,
                    retry_after_secs,
                },
                Refusal::Unavailable(message) => GatewayError::Unavailable(message),
            })
    }

    /// The spend standing Claude Code is told about in `anthropic-ratelimit-
    /// unified-*` headers: only for people signed in through the identity
    /// provider (the gateway protocol's clients), only when a windowed spend
    /// budget counts them.
    pub(super) async fn standing(&self) -> Option<Standing> {
        let key = self.key.as_ref().filter(|k| k.is_session())?;
        let now = crate::teams::view::now_ms();
        let uses = self
            .state
            .limits
            .usage_of(&key.identity, &key.rules, now)
            .await;
        binding(&standings(&uses)).cloned()
    }
}

/// Put Claude Code's view of a spend cap on `headers`, replacing whatever
/// the upstream said of its own organisation-wide limits.
pub(super) fn set_unified(headers: &mut http::HeaderMap, values: &[(&'static str, String)]) {
    let upstream: Vec<http::HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("anthropic-ratelimit-"))
        .cloned()
        .collect();
    for k in upstream {
        headers.remove(k);
    }
    for (name, value) in values {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            headers.insert(*name, v);
        }
    }
}

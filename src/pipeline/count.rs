//! Token counting for any dialect: the routed provider counts when it can
//! (Anthropic's count_tokens, Bedrock's count-tokens), otherwise the gateway
//! estimates locally and says so (`x-switchyard-token-count: estimate`).

use super::reply::{Reply, json_reply, served_by};
use super::{Attempt, RequestContext, attempt_each};
use crate::core::{RawRequest, estimate_input_tokens};
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::providers::{Call, Provider};
use crate::usage::Outcome;
use bytes::Bytes;
use http::HeaderValue;
use tokio::time::Instant;

/// A count.
pub enum Counted {
    /// The provider's answer, Anthropic-shaped (`{"input_tokens": N, …}`).
    Upstream(Bytes),
    /// The gateway's estimate.
    Estimate(u64),
}

impl Counted {
    /// The number of input tokens.
    pub fn input_tokens(&self) -> u64 {
        #[derive(serde::Deserialize)]
        struct Answer {
            input_tokens: u64,
        }
        match self {
            Counted::Upstream(body) => serde_json::from_slice::<Answer>(body)
                .map(|a| a.input_tokens)
                .unwrap_or(0),
            Counted::Estimate(n) => *n,
        }
    }
}

/// A count attempt (`None`: the provider cannot count).
struct CountTokens(Instant);

impl Attempt for CountTokens {
    type Out = Option<Bytes>;

    fn run<'a>(
        &'a self,
        provider: &'a Provider,
        call: &'a Call<'a>,
    ) -> impl Future<Output = Result<Option<Bytes>, UpstreamError>> + Send + 'a {
        provider.count_tokens(call, self.0)
    }
}

/// Count `raw`'s input tokens and answer with `render(count)` as JSON.
pub async fn count(
    mut ctx: RequestContext<'_>,
    raw: RawRequest,
    render: impl FnOnce(Counted) -> Bytes,
) -> Reply {
    ctx.record
        .update(|r| r.requested_model = Some(raw.model().to_string()));
    let state = ctx.state;
    let mut plan = match state.router.plan(&raw, ctx.headers) {
        Ok(p) => p,
        Err(e) => return ctx.fail(e),
    };
    let body = raw.bytes().clone();
    let raw = match ctx.guard(&mut plan, raw) {
        Ok(raw) => raw,
        // Counting stays here: the request itself will meet the refusal.
        Err(crate::error::GatewayError::Guarded(_)) => {
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let counted = Counted::Estimate(estimate_input_tokens(&value));
            return answer(ctx, &plan, render(counted), true, (0, 0));
        }
        Err(e) => return ctx.fail(e),
    };
    let timeouts = &state.config.timeouts;
    let deadline = Instant::now() + timeouts.first_byte.min(timeouts.total);
    let result = attempt_each(&ctx, &plan, &raw, None, deadline, CountTokens(deadline)).await;
    let (counted, target, attempts) = match result {
        Ok(s) => (s.value, s.target, s.attempts),
        Err(e)
            if e.last_upstream()
                .is_some_and(|u| u.kind == UpstreamErrorKind::InvalidRequest) =>
        {
            return ctx.fail(e);
        }
        Err(e) => {
            tracing::warn!(error = %e, "count_tokens upstream failed; answering with a local estimate");
            (None, 0, 0)
        }
    };
    let counted = match counted {
        Some(body) => Counted::Upstream(body),
        None => {
            let value: serde_json::Value = serde_json::from_slice(raw.bytes()).unwrap_or_default();
            Counted::Estimate(estimate_input_tokens(&value))
        }
    };
    let estimated = matches!(counted, Counted::Estimate(_));
    answer(ctx, &plan, render(counted), estimated, (target, attempts))
}

/// The count's reply, its record finished.
fn answer(
    mut ctx: RequestContext<'_>,
    plan: &crate::routing::Plan,
    body: Bytes,
    estimated: bool,
    (target, attempts): (usize, u32),
) -> Reply {
    let mut reply = json_reply(body);
    if estimated {
        reply.headers_mut().insert(
            "x-switchyard-token-count",
            HeaderValue::from_static("estimate"),
        );
    }
    ctx.record.update(|r| r.attempts = attempts);
    ctx.record.finish(200, Outcome::Success, None);
    served_by(
        reply.headers_mut(),
        plan,
        &plan.reason_line(),
        (target, attempts),
    );
    reply
}

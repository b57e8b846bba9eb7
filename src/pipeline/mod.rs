//! The request lifecycle, free of HTTP: plan → cache → dispatch → relay →
//! record, for every client dialect.
//!
//! A [`RequestContext`] is opened when a request arrives (as pingora keeps a
//! per-request context): it holds the shared state, the client's codec and
//! headers, and the request's one [`RecordGuard`], so whatever happens —
//! success, failure, client abort — exactly one record is written. Each
//! phase reads and fills the context; the result is a [`Reply`]
//! (`http::Response` whose body is whole bytes or a live relay) that `api`
//! turns into an axum response. Nothing here sees axum types, so the whole
//! lifecycle is testable without a server.

mod budget;
mod cached;
mod chat;
mod count;
mod guard;
mod reply;

pub use cached::{CacheStatus, hit_reply};
pub use chat::chat;
pub use count::{Counted, count};
pub use reply::{Reply, ReplyBody, json_reply, served_by, set_header, sse_reply};

use crate::core::{BodyKind, ChatRequest, Dialect, RawRequest};
use crate::error::GatewayError;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::protocol::{ClientCodec, client_codec, error_reply};
use crate::providers::{Call, Provider};
use crate::routing::Plan;
use crate::routing::dispatch::{self, Success};
use crate::state::AppState;
use crate::usage::{Outcome, RecordGuard, RequestRecord};
use bytes::Bytes;
use http::HeaderMap;
use std::sync::Arc;
use tokio::time::Instant;

/// Longest header value (session or agent id) kept in the record.
const MAX_ID_CHARS: usize = 128;

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let v = headers.get(name)?.to_str().ok()?.trim();
    (!v.is_empty()).then(|| v.chars().take(MAX_ID_CHARS).collect())
}

/// One request on its way through the gateway.
pub struct RequestContext<'a> {
    /// The gateway's shared state.
    pub state: &'a AppState,
    /// The client's dialect.
    pub codec: &'static dyn ClientCodec,
    /// The client's headers.
    pub headers: &'a HeaderMap,
    /// The client's query string.
    pub query: Option<&'a str>,
    /// The request's record, finished exactly once.
    pub record: RecordGuard,
    /// How the response cache took part, once known.
    pub cache: Option<CacheStatus>,
    /// The client key that sent it (none: the master key, or no keys).
    pub key: Option<Arc<crate::teams::ClientKey>>,
    /// What the guardrails did, when the request carried secrets.
    pub guard_note: Option<&'static str>,
}

impl<'a> RequestContext<'a> {
    /// Open the context (and the record) of a request that just arrived.
    pub fn start(
        state: &'a AppState,
        request_id: &str,
        dialect: Dialect,
        endpoint: &'static str,
        headers: &'a HeaderMap,
        query: Option<&'a str>,
    ) -> Self {
        let mut record = RequestRecord::start(request_id.to_string(), dialect, endpoint);
        record.session_id = header_text(headers, "x-claude-code-session-id");
        record.agent_id = header_text(headers, "x-claude-code-agent-id");
        if state.traces.is_some() {
            record.trace = Some(Arc::new(crate::usage::trace::RequestTrace::from_headers(
                headers,
            )));
        }
        RequestContext {
            state,
            codec: client_codec(dialect),
            headers,
            query,
            record: RecordGuard::new(record, state.sink.clone()),
            cache: None,
            key: None,
            guard_note: None,
        }
    }

    /// The request's sender: a client key, whose owner the ledger records
    /// and whose own limits it is admitted under.
    pub fn identified(mut self, key: Option<Arc<crate::teams::ClientKey>>) -> Self {
        if let Some(k) = &key {
            let who = k.identity.clone();
            self.record.update(|r| r.identity = Some(who));
        }
        self.key = key;
        self
    }

    /// The same request with other headers (Bedrock clients' body betas
    /// become `anthropic-beta`).
    pub fn with_headers<'b>(self, headers: &'b HeaderMap) -> RequestContext<'b>
    where
        'a: 'b,
    {
        RequestContext { headers, ..self }
    }

    /// The client's dialect.
    pub fn dialect(&self) -> Dialect {
        self.codec.dialect()
    }

    /// Parse a body read by the caller.
    pub fn parse(&self, bytes: Bytes, kind: BodyKind) -> Result<RawRequest, GatewayError> {
        RawRequest::parse(bytes, kind).map_err(GatewayError::InvalidRequest)
    }

    /// Finish the record with `error` and answer it in the client's dialect.
    pub fn fail(mut self, error: GatewayError) -> Reply {
        // Attempts made (targets skipped while cooling down were not tried).
        let made = match &error {
            GatewayError::Upstream { attempts } => Some(
                attempts
                    .iter()
                    .filter(|a| a.error.kind != crate::error::UpstreamErrorKind::CoolingDown)
                    .count(),
            ),
            _ => None,
        };
        if let GatewayError::Upstream { attempts } = &error {
            self.record.update(|r| {
                r.attempts = made.unwrap_or(0) as u32;
                if let Some(last) = attempts.last() {
                    r.model = Some(last.model.clone());
                    r.provider = Some(last.provider.clone());
                }
            });
        }
        if let GatewayError::Internal(detail) = &error {
            tracing::error!(detail = %detail, "internal error");
        }
        let mut reply = error_reply(self.dialect(), &error).map(ReplyBody::Full);
        match &error {
            GatewayError::BudgetExceeded {
                retry_after_secs, ..
            } => {
                let h = reply.headers_mut();
                if let Some(secs) = retry_after_secs {
                    h.insert(http::header::RETRY_AFTER, http::HeaderValue::from(*secs));
                }
                // Claude Code would retry a 429 for minutes; the budget will
                // not come back that soon, so it should stop and show why.
                h.insert("x-should-retry", http::HeaderValue::from_static("false"));
            }
            GatewayError::RateLimitExceeded {
                retry_after_secs, ..
            } => {
                // A rate limit clears within the minute: clients wait and retry.
                reply.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from(*retry_after_secs),
                );
            }
            _ => {}
        }
        if let Some(n) = made {
            reply
                .headers_mut()
                .insert(reply::names::ATTEMPTS, http::HeaderValue::from(n));
        }
        // The status the client gets (529 is 503 for OpenAI and Bedrock clients).
        self.record.finish(
            reply.status().as_u16(),
            Outcome::Failed,
            Some(error.kind_str()),
        );
        if let Some(cache) = self.cache {
            cache.set_headers(reply.headers_mut());
        }
        reply
    }
}

/// What one attempt does with a target's provider and the call it gets.
trait Attempt: Sync {
    /// What a successful attempt yields.
    type Out: Send;
    /// Make the attempt.
    fn run<'a>(
        &'a self,
        provider: &'a Provider,
        call: &'a Call<'a>,
    ) -> impl Future<Output = Result<Self::Out, UpstreamError>> + Send + 'a;
}

/// Run the attempt loop over `plan`'s targets, making `attempt` with each.
async fn attempt_each<A: Attempt>(
    ctx: &RequestContext<'_>,
    plan: &Plan,
    raw: &RawRequest,
    canonical: Option<&ChatRequest>,
    deadline: Instant,
    attempt: A,
) -> Result<Success<A::Out>, GatewayError> {
    let state = ctx.state;
    let (headers, query, codec) = (ctx.headers, ctx.query, ctx.codec);
    let attempt = &attempt;
    let tally = ctx.record.attempt_tally();
    let policy = ctx.tool_policy(plan, raw);
    let timeouts = ctx.route_of(plan).map(|r| r.timeouts).unwrap_or_default();
    let trace = ctx.record.trace();
    dispatch::run(
        plan,
        &state.config.retry,
        deadline,
        state.router.health(),
        |target, last| {
            let provider = target.provider.clone();
            let upstream_model = target.upstream_model.clone();
            let capabilities = target.model.capabilities;
            let own = without_others_thinking(plan, raw, &target.model.name);
            let capped = ctx.tier_capped(target, own.as_ref().unwrap_or(raw), canonical);
            let tools = policy
                .as_ref()
                .and_then(|p| ctx.tool_check(p, target, last));
            tally.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let traced = trace.as_ref().map(|t| {
                let kind = target.provider.kind.otel_name();
                let (i, headers) = t.begin_attempt(
                    &target.provider.name,
                    kind,
                    &target.model.name,
                    &upstream_model,
                );
                (t.clone(), i, headers)
            });
            async move {
                let result = async {
                    let (capped_raw, capped_canonical) = capped
                        .map_err(|e| UpstreamError::new(UpstreamErrorKind::InvalidRequest, e))?;
                    let call = Call {
                        raw: capped_raw.as_ref().or(own.as_ref()).unwrap_or(raw),
                        canonical: capped_canonical.as_ref().or(canonical),
                        upstream_model: &upstream_model,
                        capabilities,
                        client_headers: headers,
                        query,
                        client: codec,
                        tools: tools.as_ref(),
                        timeouts,
                        max_response_bytes: state.config.guard.max_response_bytes,
                        trace_headers: traced.as_ref().map(|(_, _, h)| h),
                    };
                    attempt.run(&provider, &call).await
                }
                .await;
                if let (Some((trace, i, _)), Err(e)) = (&traced, &result) {
                    trace.attempt_failed(*i, e.kind.as_str().to_string());
                }
                result
            }
        },
    )
    .await
}

/// `raw` without the thinking blocks other models wrote in this
/// conversation, when it has any (their signatures would be refused).
fn without_others_thinking(plan: &Plan, raw: &RawRequest, model: &str) -> Option<RawRequest> {
    let others = plan.session.as_ref()?.written_by_others(model);
    if others.is_empty() {
        return None;
    }
    RawRequest::parse(raw.without_thinking_in(&others)?, raw.kind()).ok()
}

#[cfg(test)]
#[allow(clippy::disallowed_types)]
mod tests;

//! Serving a chat request in any client dialect: plan it, translate it when
//! a target needs another dialect, run the attempt loop, and answer (JSON or
//! SSE) with the `x-switchyard-*` headers. Every request leaves exactly one
//! record, also when the client goes away.

use super::cached::{CacheStatus, hit_response};
use crate::cache::Lookup;
use crate::cache::capture::{Capture, answer_of};
use crate::cache::entry::{Entry, Origin};
use crate::core::{BodyKind, Dialect, RawRequest};
use crate::error::GatewayError;
use crate::protocol::ClientCodec;
use crate::providers::{Call, Opened};
use crate::routing::{Plan, dispatch};
use crate::server::AppState;
use crate::server::body::read_body;
use crate::server::middleware::RequestId;
use crate::stream::{Relay, StreamEnd};
use crate::usage::{CLIENT_CLOSED_STATUS, Outcome, RecordGuard, RequestRecord};
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};
use tokio::time::Instant;

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let v = headers.get(name)?.to_str().ok()?.trim();
    (!v.is_empty()).then(|| v.chars().take(128).collect())
}

/// Open the record of a request that just arrived.
pub fn start_record(
    state: &AppState,
    id: &RequestId,
    dialect: Dialect,
    endpoint: &'static str,
    headers: &HeaderMap,
) -> RecordGuard {
    let mut record = RequestRecord::start(id.0.clone(), dialect, endpoint);
    record.session_id = header_text(headers, "x-claude-code-session-id");
    record.agent_id = header_text(headers, "x-claude-code-agent-id");
    RecordGuard::new(record, state.sink.clone())
}

/// Finish the record with `error` and render it in `dialect`.
pub fn fail(mut guard: RecordGuard, dialect: Dialect, error: GatewayError) -> Response {
    if let GatewayError::Upstream { attempts } = &error {
        guard.update(|r| {
            r.attempts = attempts.len() as u32;
            if let Some(last) = attempts.last() {
                r.model = Some(last.model.clone());
                r.provider = Some(last.provider.clone());
            }
        });
    }
    guard.finish(
        error.status().as_u16(),
        Outcome::Failed,
        Some(error.kind_str()),
    );
    super::error_response(dialect, &error)
}

/// [`fail`], saying how the cache took part.
fn fail_cached(
    guard: RecordGuard,
    dialect: Dialect,
    error: GatewayError,
    cache: &CacheStatus,
) -> Response {
    let mut resp = fail(guard, dialect, error);
    cache.set_headers(&mut resp);
    resp
}

/// Read and check the body.
pub async fn parse_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    kind: BodyKind,
) -> Result<RawRequest, GatewayError> {
    let bytes = read_body(body, headers, state.config.body_limit).await?;
    RawRequest::parse(bytes, kind).map_err(GatewayError::InvalidRequest)
}

fn set_header(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// Add the `x-switchyard-*` headers naming who served the request and why.
pub fn served_by(resp: &mut Response, plan: &Plan, target: usize, attempts: u32) {
    if let Some(t) = plan.targets.get(target) {
        set_header(resp, "x-switchyard-model", &t.upstream_model);
        set_header(resp, "x-switchyard-provider", &t.provider.name);
        if let Some(tier) = &t.tier {
            set_header(resp, "x-switchyard-tier", tier);
        }
    }
    set_header(resp, "x-switchyard-route", &plan.route);
    set_header(resp, "x-switchyard-attempts", &attempts.to_string());
    let mut reason = plan.reason_line();
    if target > 0 {
        reason.push_str(&format!(
            "; fell back to target {} of {}",
            target + 1,
            plan.targets.len()
        ));
    }
    // Header values must be visible ASCII.
    let reason: String = reason
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(400)
        .collect();
    set_header(resp, "x-switchyard-reason", &reason);
}

/// A `text/event-stream` response whose body is the relay.
pub fn sse_response(relay: Relay) -> Response {
    let mut resp = Response::new(Body::from_stream(relay));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

/// A JSON response.
pub fn json_response(body: bytes::Bytes) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

/// Serve a chat request (`/v1/messages`, `/v1/chat/completions`).
pub async fn chat(
    state: &AppState,
    codec: &dyn ClientCodec,
    mut guard: RecordGuard,
    raw: RawRequest,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Response {
    let dialect = codec.dialect();
    guard.update(|r| {
        r.requested_model = Some(raw.model().to_string());
        r.stream = raw.is_stream();
    });
    let plan = match state.router.plan(&raw, headers) {
        Ok(p) => p,
        Err(e) => return fail(guard, dialect, e),
    };
    guard.update(|r| r.route = Some(plan.route.clone()));
    let (cache_status, pending) = match &state.cache {
        None => (CacheStatus::Skip("off"), None),
        Some(cache) => match cache.lookup(&plan, &raw, headers, dialect).await {
            Lookup::Hit { entry, similarity } => {
                return hit_response(codec, guard, &raw, &plan, &entry, similarity);
            }
            Lookup::Miss(p) => (CacheStatus::Miss, Some(p)),
            Lookup::Skip(why) => (CacheStatus::Skip(why), None),
        },
    };
    guard.update(|r| r.cache = Some(cache_status.as_str()));
    if crate::cache::policy::only_if_cached(headers) {
        return fail_cached(guard, dialect, GatewayError::NotCached, &cache_status);
    }
    let needs_translation = plan
        .targets
        .iter()
        .any(|t| !t.provider.passes_through(dialect));
    let canonical = match needs_translation.then(|| codec.canonical(&raw)).transpose() {
        Ok(c) => c,
        Err(e) => {
            return fail_cached(
                guard,
                dialect,
                GatewayError::InvalidRequest(e),
                &cache_status,
            );
        }
    };
    let deadline = Instant::now() + state.config.timeouts.total;
    let raw_ref = &raw;
    let canonical_ref = canonical.as_ref();
    let result = dispatch::run(
        &plan,
        &state.config.retry,
        deadline,
        state.router.health(),
        |target| {
            let provider = target.provider.clone();
            let upstream_model = target.upstream_model.clone();
            let capabilities = target.model.capabilities;
            async move {
                let call = Call {
                    raw: raw_ref,
                    canonical: canonical_ref,
                    upstream_model: &upstream_model,
                    capabilities,
                    client_headers: headers,
                    query,
                    client: codec,
                };
                provider.open_messages(&call, deadline).await
            }
        },
    )
    .await;
    let success = match result {
        Ok(s) => s,
        Err(e) => return fail_cached(guard, dialect, e, &cache_status),
    };
    state.router.served(&plan, success.target);
    // What to store the answer under, once it is complete.
    let keep = match (&state.cache, pending, plan.targets.get(success.target)) {
        (Some(cache), Some(p), Some(t)) => {
            let origin = Origin {
                model: t.model.name.clone(),
                provider: t.provider.name.clone(),
                upstream_model: t.upstream_model.clone(),
                tier: t.tier.clone(),
            };
            Some((cache.clone(), p, origin))
        }
        _ => None,
    };
    if let Some(t) = plan.targets.get(success.target) {
        guard.update(|r| {
            r.tier = t.tier.clone();
            r.model = Some(t.model.name.clone());
            r.provider = Some(t.provider.name.clone());
            r.upstream_model = Some(t.upstream_model.clone());
            r.attempts = success.attempts;
            r.fallbacks = success.target as u32;
            r.upstream_time = success.upstream_time;
        });
    }
    let mut resp = match success.value {
        Opened::Stream(mut relay) => {
            guard.update(|r| r.ttft = Some(r.started.elapsed()));
            if let Some((cache, pending, origin)) = keep {
                relay.tap(Box::new(Capture::new(cache, pending, origin, dialect)));
            }
            relay.on_end(Box::new(move |end, meter| {
                let mut guard = guard;
                guard.update(|r| {
                    r.usage = meter.usage();
                    r.output_estimated = meter.output_estimated();
                    r.stop_reason = meter.stop_reason.clone();
                    r.response_model = meter.model.clone();
                });
                match (end, &meter.error) {
                    (StreamEnd::Completed, None) => guard.finish(200, Outcome::Success, None),
                    (StreamEnd::Completed, Some(error)) => {
                        guard.finish(200, Outcome::StreamFailed, Some(&error.kind))
                    }
                    (StreamEnd::Failed(e), _) => {
                        guard.finish(200, Outcome::StreamFailed, Some(e.kind.as_str()))
                    }
                    (StreamEnd::ClientGone, _) => guard.finish(
                        CLIENT_CLOSED_STATUS,
                        Outcome::ClientAborted,
                        Some("client_closed"),
                    ),
                }
            }));
            sse_response(relay)
        }
        Opened::Json { body, meter } => {
            if let Some((cache, pending, origin)) = keep
                && let Some(answer) = answer_of(dialect, &body)
            {
                let usage = meter.usage();
                cache.put_later(
                    pending,
                    Entry {
                        answer,
                        origin,
                        usage,
                    },
                );
            }
            guard.update(|r| {
                r.usage = meter.usage();
                r.stop_reason = meter.stop_reason.clone();
                r.response_model = meter.model.clone();
            });
            guard.finish(200, Outcome::Success, None);
            json_response(body)
        }
    };
    served_by(&mut resp, &plan, success.target, success.attempts);
    cache_status.set_headers(&mut resp);
    resp
}

//! Handlers for the Anthropic endpoints: read and check the body, get a plan,
//! run it through the dispatch loop, and answer (JSON or SSE) with the
//! `x-switchyard-*` headers. Every request leaves exactly one record.

use super::error::error_response;
use super::sse::sse_response;
use super::wire::{ModelInfo, ModelPage};
use crate::core::{BodyKind, Dialect, RawRequest, estimate_input_tokens};
use crate::error::{GatewayError, UpstreamErrorKind};
use crate::providers::{Call, Opened};
use crate::routing::{Plan, dispatch};
use crate::server::AppState;
use crate::server::body::read_body;
use crate::server::middleware::RequestId;
use crate::stream::StreamEnd;
use crate::usage::{Outcome, RecordGuard, RequestRecord};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Uri};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::time::Instant;

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let v = headers.get(name)?.to_str().ok()?.trim();
    (!v.is_empty()).then(|| v.chars().take(128).collect())
}

fn start_record(
    state: &AppState,
    id: &RequestId,
    endpoint: &'static str,
    headers: &HeaderMap,
) -> RecordGuard {
    let mut record = RequestRecord::start(id.0.clone(), Dialect::Anthropic, endpoint);
    record.session_id = header_text(headers, "x-claude-code-session-id");
    record.agent_id = header_text(headers, "x-claude-code-agent-id");
    RecordGuard::new(record, state.sink.clone())
}

fn fail(guard: RecordGuard, error: GatewayError) -> Response {
    let status = error.status().as_u16();
    let mut guard = guard;
    if let GatewayError::Upstream { attempts } = &error {
        guard.update(|r| {
            r.attempts = attempts.len() as u32;
            if let Some(last) = attempts.last() {
                r.model = Some(last.model.clone());
                r.provider = Some(last.provider.clone());
            }
        });
    }
    guard.finish(status, Outcome::Failed, Some(error.kind_str()));
    error_response(&error)
}

async fn parse_body(
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

fn served_by(resp: &mut Response, plan: &Plan, target: usize, attempts: u32) {
    if let Some(t) = plan.targets.get(target) {
        set_header(resp, "x-switchyard-model", &t.upstream_model);
        set_header(resp, "x-switchyard-provider", &t.provider.name);
    }
    set_header(resp, "x-switchyard-attempts", &attempts.to_string());
    set_header(resp, "x-switchyard-reason", &plan.reason);
}

/// `POST /v1/messages` (also with `?beta=true`).
pub async fn messages(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut guard = start_record(&state, &id, "messages", &headers);
    let raw = match parse_body(&state, &headers, body, BodyKind::Messages).await {
        Ok(r) => r,
        Err(e) => return fail(guard, e),
    };
    guard.update(|r| {
        r.requested_model = Some(raw.model().to_string());
        r.stream = raw.is_stream();
    });
    let plan = match state.router.plan(raw.model()) {
        Ok(p) => p,
        Err(e) => return fail(guard, e),
    };
    let deadline = Instant::now() + state.config.timeouts.total;
    let (raw_ref, headers_ref, query) = (&raw, &headers, uri.query());
    let result = dispatch::run(&plan, &state.config.retry, deadline, |target| {
        let provider = target.provider.clone();
        let upstream_model = target.upstream_model.clone();
        async move {
            let call = Call {
                raw: raw_ref,
                upstream_model: &upstream_model,
                client_headers: headers_ref,
                query,
                client_dialect: Dialect::Anthropic,
            };
            provider.open_messages(&call, deadline).await
        }
    })
    .await;
    let success = match result {
        Ok(s) => s,
        Err(e) => return fail(guard, e),
    };
    if let Some(t) = plan.targets.get(success.target) {
        guard.update(|r| {
            r.model = Some(t.model.name.clone());
            r.provider = Some(t.provider.name.clone());
            r.upstream_model = Some(t.upstream_model.clone());
            r.attempts = success.attempts;
        });
    }
    let mut resp = match success.value {
        Opened::Stream(mut relay) => {
            guard.update(|r| r.ttft = Some(r.started.elapsed()));
            relay.on_end(Box::new(move |end, meter| {
                let mut guard = guard;
                guard.update(|r| {
                    r.usage = meter.usage();
                    r.output_estimated = meter.output_estimated();
                    r.stop_reason = meter.stop_reason.clone();
                });
                match (end, &meter.error) {
                    (StreamEnd::Completed, None) => guard.finish(200, Outcome::Success, None),
                    (StreamEnd::Completed, Some((kind, _))) => {
                        guard.finish(200, Outcome::StreamFailed, Some(kind))
                    }
                    (StreamEnd::Failed(e), _) => {
                        guard.finish(200, Outcome::StreamFailed, Some(e.kind.as_str()))
                    }
                    (StreamEnd::ClientGone, _) => guard.finish(
                        crate::usage::CLIENT_CLOSED_STATUS,
                        Outcome::ClientAborted,
                        Some("client_closed"),
                    ),
                }
            }));
            sse_response(relay)
        }
        Opened::Json { body, meter } => {
            guard.update(|r| {
                r.usage = meter.usage();
                r.stop_reason = meter.stop_reason.clone();
            });
            guard.finish(200, Outcome::Success, None);
            (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body,
            )
                .into_response()
        }
    };
    served_by(&mut resp, &plan, success.target, success.attempts);
    resp
}

/// `POST /v1/messages/count_tokens`: forwarded when the provider can count,
/// else estimated locally (marked with `x-switchyard-token-count: estimate`).
pub async fn count_tokens(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut guard = start_record(&state, &id, "count_tokens", &headers);
    let raw = match parse_body(&state, &headers, body, BodyKind::CountTokens).await {
        Ok(r) => r,
        Err(e) => return fail(guard, e),
    };
    guard.update(|r| r.requested_model = Some(raw.model().to_string()));
    let plan = match state.router.plan(raw.model()) {
        Ok(p) => p,
        Err(e) => return fail(guard, e),
    };
    let deadline = Instant::now()
        + state
            .config
            .timeouts
            .first_byte
            .min(state.config.timeouts.total);
    let (raw_ref, headers_ref, query) = (&raw, &headers, uri.query());
    let result = dispatch::run(&plan, &state.config.retry, deadline, |target| {
        let provider = target.provider.clone();
        let upstream_model = target.upstream_model.clone();
        async move {
            let call = Call {
                raw: raw_ref,
                upstream_model: &upstream_model,
                client_headers: headers_ref,
                query,
                client_dialect: Dialect::Anthropic,
            };
            provider.count_tokens(&call, deadline).await
        }
    })
    .await;
    let (counted, target, attempts) = match result {
        Ok(s) => (s.value, s.target, s.attempts),
        Err(e)
            if e.last_upstream()
                .is_some_and(|u| u.kind == UpstreamErrorKind::InvalidRequest) =>
        {
            return fail(guard, e);
        }
        Err(e) => {
            tracing::warn!(error = %e, "count_tokens upstream failed; answering with a local estimate");
            (None, 0, 0)
        }
    };
    let mut resp = match counted {
        Some(body) => (
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            body,
        )
            .into_response(),
        None => {
            let value: serde_json::Value = serde_json::from_slice(raw.bytes()).unwrap_or_default();
            let mut r = Json(serde_json::json!({"input_tokens": estimate_input_tokens(&value)}))
                .into_response();
            set_header(&mut r, "x-switchyard-token-count", "estimate");
            r
        }
    };
    guard.update(|r| r.attempts = attempts);
    guard.finish(200, Outcome::Success, None);
    served_by(&mut resp, &plan, target, attempts);
    resp
}

fn model_entries(state: &AppState) -> Vec<ModelInfo> {
    let mut out: Vec<ModelInfo> = Vec::new();
    for m in state.router.models() {
        let literal_aliases = m.aliases.iter().filter(|a| !a.contains(['*', '?']));
        for id in std::iter::once(&m.name).chain(literal_aliases) {
            if out.iter().any(|e| &e.id == id) {
                continue;
            }
            out.push(ModelInfo {
                kind: "model",
                id: id.clone(),
                display_name: id.clone(),
                created_at: state.started_at.clone(),
                max_input_tokens: m.context_window,
            });
        }
    }
    out
}

/// `GET /v1/models` with `limit`, `after_id`, `before_id`.
pub async fn list_models(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let all = model_entries(&state);
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 1000);
    let position = |id: &String| all.iter().position(|m| &m.id == id);
    let (start, end) = match (
        q.get("after_id").and_then(position),
        q.get("before_id").and_then(position),
    ) {
        (Some(a), _) => (a + 1, (a + 1 + limit).min(all.len())),
        (None, Some(b)) => (b.saturating_sub(limit), b),
        (None, None) => (0, limit.min(all.len())),
    };
    let has_more = end < all.len();
    let data: Vec<ModelInfo> = all
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    let page = ModelPage {
        first_id: data.first().map(|m| m.id.clone()),
        last_id: data.last().map(|m| m.id.clone()),
        has_more,
        data,
    };
    Json(page).into_response()
}

/// `GET /v1/models/{id}`: any name the gateway serves, wildcards included.
pub async fn get_model(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match state.router.resolve(&id) {
        Some(m) => Json(ModelInfo {
            kind: "model",
            id: id.clone(),
            display_name: id,
            created_at: state.started_at.clone(),
            max_input_tokens: m.context_window,
        })
        .into_response(),
        None => error_response(&GatewayError::ModelNotFound(id)),
    }
}

//! Handlers for the Anthropic endpoints: `/v1/messages` and
//! `/v1/messages/count_tokens`.

use super::sse::AnthropicCodec;
use crate::api::serve::{chat, fail, json_response, parse_body, served_by, start_record};
use crate::core::{BodyKind, Dialect, estimate_input_tokens};
use crate::error::UpstreamErrorKind;
use crate::providers::Call;
use crate::routing::dispatch;
use crate::server::AppState;
use crate::server::middleware::RequestId;
use crate::usage::Outcome;
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Uri};
use std::sync::Arc;
use tokio::time::Instant;

/// `POST /v1/messages` (also with `?beta=true`).
pub async fn messages(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let guard = start_record(&state, &id, Dialect::Anthropic, "messages", &headers);
    match parse_body(&state, &headers, body, BodyKind::Messages).await {
        Ok(raw) => chat(&state, &AnthropicCodec, guard, raw, &headers, uri.query()).await,
        Err(e) => fail(guard, Dialect::Anthropic, e),
    }
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
    let mut guard = start_record(&state, &id, Dialect::Anthropic, "count_tokens", &headers);
    let raw = match parse_body(&state, &headers, body, BodyKind::CountTokens).await {
        Ok(r) => r,
        Err(e) => return fail(guard, Dialect::Anthropic, e),
    };
    guard.update(|r| r.requested_model = Some(raw.model().to_string()));
    let plan = match state.router.plan(&raw, &headers) {
        Ok(p) => p,
        Err(e) => return fail(guard, Dialect::Anthropic, e),
    };
    let deadline = Instant::now()
        + state
            .config
            .timeouts
            .first_byte
            .min(state.config.timeouts.total);
    let (raw_ref, headers_ref, query) = (&raw, &headers, uri.query());
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
                    canonical: None,
                    upstream_model: &upstream_model,
                    capabilities,
                    client_headers: headers_ref,
                    query,
                    client: &AnthropicCodec,
                };
                provider.count_tokens(&call, deadline).await
            }
        },
    )
    .await;
    let (counted, target, attempts) = match result {
        Ok(s) => (s.value, s.target, s.attempts),
        Err(e)
            if e.last_upstream()
                .is_some_and(|u| u.kind == UpstreamErrorKind::InvalidRequest) =>
        {
            return fail(guard, Dialect::Anthropic, e);
        }
        Err(e) => {
            tracing::warn!(error = %e, "count_tokens upstream failed; answering with a local estimate");
            (None, 0, 0)
        }
    };
    let mut resp = match counted {
        Some(body) => json_response(body),
        None => {
            let value: serde_json::Value = serde_json::from_slice(raw.bytes()).unwrap_or_default();
            let body = serde_json::json!({"input_tokens": estimate_input_tokens(&value)});
            let mut r = json_response(bytes::Bytes::from(body.to_string()));
            r.headers_mut().insert(
                "x-switchyard-token-count",
                HeaderValue::from_static("estimate"),
            );
            r
        }
    };
    guard.update(|r| r.attempts = attempts);
    guard.finish(200, Outcome::Success, None);
    served_by(&mut resp, &plan, target, attempts);
    resp
}

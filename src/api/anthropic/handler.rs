//! Handlers for the Anthropic endpoints: `/v1/messages` and
//! `/v1/messages/count_tokens`.

use crate::api::count::{Counted, serve_count};
use crate::api::serve::{chat, fail, parse_body, start_record};
use crate::core::{BodyKind, Dialect};
use crate::protocol::anthropic::AnthropicCodec;
use crate::server::AppState;
use crate::server::middleware::RequestId;
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, Uri};
use std::sync::Arc;

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
    let guard = start_record(&state, &id, Dialect::Anthropic, "count_tokens", &headers);
    let raw = match parse_body(&state, &headers, body, BodyKind::CountTokens).await {
        Ok(r) => r,
        Err(e) => return fail(guard, Dialect::Anthropic, e),
    };
    let render = |counted: Counted| match counted {
        Counted::Upstream(body) => body,
        Counted::Estimate(n) => Bytes::from(format!("{{\"input_tokens\":{n}}}")),
    };
    serve_count(
        &state,
        guard,
        raw,
        &headers,
        uri.query(),
        &AnthropicCodec,
        render,
    )
    .await
}

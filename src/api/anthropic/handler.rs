//! Handlers for the Anthropic endpoints: `/v1/messages` and
//! `/v1/messages/count_tokens`.

use crate::api::body::read_body;
use crate::api::{RequestId, into_response};
use crate::core::{BodyKind, Dialect};
use crate::pipeline::{self, Counted, RequestContext};
use crate::state::AppState;
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
    let ctx = RequestContext::start(
        &state,
        &id.0,
        Dialect::Anthropic,
        "messages",
        &headers,
        uri.query(),
    );
    let parsed = read_body(body, &headers, state.config.body_limit)
        .await
        .and_then(|b| ctx.parse(b, BodyKind::Messages));
    into_response(match parsed {
        Ok(raw) => pipeline::chat(ctx, raw).await,
        Err(e) => ctx.fail(e),
    })
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
    let ctx = RequestContext::start(
        &state,
        &id.0,
        Dialect::Anthropic,
        "count_tokens",
        &headers,
        uri.query(),
    );
    let parsed = read_body(body, &headers, state.config.body_limit)
        .await
        .and_then(|b| ctx.parse(b, BodyKind::CountTokens));
    let raw = match parsed {
        Ok(r) => r,
        Err(e) => return into_response(ctx.fail(e)),
    };
    let render = |counted: Counted| match counted {
        Counted::Upstream(body) => body,
        Counted::Estimate(n) => Bytes::from(format!("{{\"input_tokens\":{n}}}")),
    };
    into_response(pipeline::count(ctx, raw, render).await)
}

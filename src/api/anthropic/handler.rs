//! Handlers for the Anthropic endpoints: `/v1/messages` and
//! `/v1/messages/count_tokens`.

use crate::api::{Arrival, RequestId, arrive, into_response};
use crate::core::{BodyKind, Dialect};
use crate::pipeline::{self, Counted};
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
    let at = Arrival {
        state: &state,
        id: &id,
        dialect: Dialect::Anthropic,
        endpoint: "messages",
        headers: &headers,
        query: uri.query(),
    };
    match arrive(at, body, BodyKind::Messages).await {
        Ok((ctx, raw)) => into_response(pipeline::chat(ctx, raw).await),
        Err(resp) => resp,
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
    let at = Arrival {
        state: &state,
        id: &id,
        dialect: Dialect::Anthropic,
        endpoint: "count_tokens",
        headers: &headers,
        query: uri.query(),
    };
    let render = |counted: Counted| match counted {
        Counted::Upstream(body) => body,
        Counted::Estimate(n) => Bytes::from(format!("{{\"input_tokens\":{n}}}")),
    };
    match arrive(at, body, BodyKind::CountTokens).await {
        Ok((ctx, raw)) => into_response(pipeline::count(ctx, raw, render).await),
        Err(resp) => resp,
    }
}

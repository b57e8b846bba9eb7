//! Handler for `POST /v1/chat/completions`.

use crate::api::body::read_body;
use crate::api::{RequestId, into_response};
use crate::core::{BodyKind, Dialect};
use crate::pipeline::{self, RequestContext};
use crate::state::AppState;
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, Uri};
use std::sync::Arc;

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ctx = RequestContext::start(
        &state,
        &id.0,
        Dialect::OpenAi,
        "chat_completions",
        &headers,
        uri.query(),
    );
    let parsed = read_body(body, &headers, state.config.body_limit)
        .await
        .and_then(|b| ctx.parse(b, BodyKind::ChatCompletions));
    into_response(match parsed {
        Ok(raw) => pipeline::chat(ctx, raw).await,
        Err(e) => ctx.fail(e),
    })
}

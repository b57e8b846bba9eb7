//! Handler for `POST /v1/chat/completions`.

use crate::api::{Arrival, RequestId, arrive, into_response};
use crate::core::{BodyKind, Dialect};
use crate::pipeline;
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
    let at = Arrival {
        state: &state,
        id: &id,
        dialect: Dialect::OpenAi,
        endpoint: "chat_completions",
        headers: &headers,
        query: uri.query(),
    };
    match arrive(at, body, BodyKind::ChatCompletions).await {
        Ok((ctx, raw)) => into_response(pipeline::chat(ctx, raw).await),
        Err(resp) => resp,
    }
}

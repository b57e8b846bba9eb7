//! Handler for `POST /v1/chat/completions`.

use crate::api::serve::{chat, fail, parse_body, start_record};
use crate::core::{BodyKind, Dialect};
use crate::protocol::openai::OpenAiCodec;
use crate::server::AppState;
use crate::server::middleware::RequestId;
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
    let guard = start_record(&state, &id, Dialect::OpenAi, "chat_completions", &headers);
    match parse_body(&state, &headers, body, BodyKind::ChatCompletions).await {
        Ok(raw) => chat(&state, &OpenAiCodec, guard, raw, &headers, uri.query()).await,
        Err(e) => fail(guard, Dialect::OpenAi, e),
    }
}

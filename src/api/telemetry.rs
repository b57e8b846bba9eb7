//! `POST /v1/metrics`, `/v1/logs`, `/v1/traces`: Claude Code's own
//! OpenTelemetry exports when it is signed in to the gateway. Answered
//! `200` at once, whether relayed (`signin::relay`) or dropped, as the
//! gateway protocol asks: a `404` would make the client log an error on
//! every flush. The bearer is checked like any model request's.

use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use std::sync::Arc;

fn export(state: &AppState, signal: &'static str, headers: &HeaderMap, body: Bytes) -> Response {
    if let Some(relay) = state.signin.as_ref().and_then(|s| s.relay()) {
        relay.forward(signal, headers, body);
    }
    // An empty export response: `{}` in JSON, no bytes in protobuf.
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if json {
        ([(CONTENT_TYPE, "application/json")], "{}").into_response()
    } else {
        ([(CONTENT_TYPE, "application/x-protobuf")], Bytes::new()).into_response()
    }
}

/// `POST /v1/metrics`.
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    export(&state, "metrics", &headers, body)
}

/// `POST /v1/logs`.
pub async fn logs(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    export(&state, "logs", &headers, body)
}

/// `POST /v1/traces`.
pub async fn traces(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    export(&state, "traces", &headers, body)
}

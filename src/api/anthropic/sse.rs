//! Streaming responses: the relay as an SSE body with the headers that keep
//! proxies from buffering it.

use crate::stream::Relay;
use axum::body::Body;
use axum::response::Response;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};

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

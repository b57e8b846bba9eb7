//! Client-facing HTTP: one thin handler module per client dialect
//! (Anthropic, OpenAI, Bedrock), the model list, the system and admin
//! endpoints. Handlers map HTTP to the request lifecycle in `pipeline` and
//! its [`Reply`] back to axum; they never see provider wire types, and hold
//! no logic the lifecycle needs.

pub mod admin;
pub mod anthropic;
pub mod bedrock;
pub mod body;
pub mod models;
pub mod openai;
pub mod system;

use crate::core::{BodyKind, Dialect, RawRequest};
use crate::error::GatewayError;
use crate::pipeline::{Reply, ReplyBody, RequestContext};
use crate::state::AppState;
use axum::body::Body;
use axum::response::Response;
use http::HeaderMap;

/// The gateway's id for a request, in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Which dialect a path belongs to (for errors raised before a handler runs).
pub fn dialect_for_path(path: &str) -> Dialect {
    if path.starts_with("/v1/chat/")
        || path.starts_with("/v1/completions")
        || path.starts_with("/v1/embeddings")
    {
        Dialect::OpenAi
    } else if path.starts_with("/model/") {
        Dialect::Bedrock
    } else {
        Dialect::Anthropic
    }
}

/// Render an error in a dialect.
pub fn error_response(dialect: Dialect, error: &GatewayError) -> Response {
    if let GatewayError::Internal(detail) = error {
        tracing::error!(detail = %detail, "internal error");
    }
    crate::protocol::error_reply(dialect, error).map(Body::from)
}

/// The pipeline's reply as an axum response (a stream stays a stream).
pub fn into_response(reply: Reply) -> Response {
    reply.map(|body| match body {
        ReplyBody::Full(bytes) => Body::from(bytes),
        ReplyBody::Stream(relay) => Body::from_stream(relay),
    })
}

/// Where a request came in: what its context is opened with.
pub struct Arrival<'a> {
    /// The gateway's state.
    pub state: &'a AppState,
    /// The request id from the middleware.
    pub id: &'a RequestId,
    /// The client's dialect.
    pub dialect: Dialect,
    /// The endpoint's name in the ledger.
    pub endpoint: &'static str,
    /// The client's headers.
    pub headers: &'a HeaderMap,
    /// The client's query string.
    pub query: Option<&'a str>,
}

/// Open the request's context (and record), read its body and parse it as
/// `kind`; a failure is already answered in the client's dialect.
pub async fn arrive<'a>(
    at: Arrival<'a>,
    body: Body,
    kind: BodyKind,
) -> Result<(RequestContext<'a>, RawRequest), Response> {
    let ctx = RequestContext::start(
        at.state,
        &at.id.0,
        at.dialect,
        at.endpoint,
        at.headers,
        at.query,
    );
    let config = &at.state.config;
    let parsed = body::read_body(
        body,
        at.headers,
        config.body_limit,
        config.clients.body_timeout,
    )
    .await
    .and_then(|b| ctx.parse(b, kind));
    match parsed {
        Ok(raw) => Ok((ctx, raw)),
        Err(e) => Err(into_response(ctx.fail(e))),
    }
}

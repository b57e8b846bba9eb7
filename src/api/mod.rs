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

use crate::core::Dialect;
use crate::error::GatewayError;
use crate::pipeline::{Reply, ReplyBody};
use axum::body::Body;
use axum::response::Response;

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

//! Client-facing APIs: one module per dialect (parse, validate, render
//! answers and errors in the client's own format), the shared chat serving
//! path, the model list, and the system endpoints.
//!
//! Handlers stay thin: they read the body and hand it to `serve`, which asks
//! routing for a plan and lets the dispatch loop run it. They never see
//! provider wire types.

pub mod admin;
pub mod anthropic;
pub mod bedrock;
pub mod cached;
pub mod count;
pub mod models;
pub mod openai;
pub mod serve;
pub mod system;

use crate::core::Dialect;
use crate::error::GatewayError;
use axum::response::Response;

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
    crate::protocol::error_reply(dialect, error).map(axum::body::Body::from)
}

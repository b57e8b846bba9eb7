//! Client-facing APIs: one module per dialect (parse, validate, render
//! answers and errors in the client's own format), plus the system endpoints.
//!
//! Handlers stay thin: they read the body, ask routing for a plan, let the
//! dispatch loop run it, and render what comes back. They never see provider
//! wire types.

pub mod anthropic;
pub mod system;

use crate::core::Dialect;
use crate::error::GatewayError;
use axum::response::Response;

/// Which dialect a path belongs to (for errors raised before a handler runs).
pub fn dialect_for_path(_path: &str) -> Dialect {
    Dialect::Anthropic
}

/// Render an error in a dialect.
pub fn error_response(dialect: Dialect, error: &GatewayError) -> Response {
    match dialect {
        Dialect::Anthropic => anthropic::error::error_response(error),
    }
}

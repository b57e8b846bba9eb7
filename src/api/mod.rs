//! Client-facing HTTP: one thin handler module per client dialect
//! (Anthropic, OpenAI, Bedrock), the model list, the system and admin
//! endpoints. Handlers map HTTP to the request lifecycle in `pipeline` and
//! its [`Reply`] back to axum; they never see provider wire types, and hold
//! no logic the lifecycle needs.

pub mod admin;
pub mod admin_keys;
pub mod anthropic;
pub mod bedrock;
pub mod body;
pub mod key_info;
pub mod models;
pub mod openai;
pub mod signin;
pub mod spend_limits;
pub mod system;
pub mod telemetry;

use crate::core::{BodyKind, Dialect, RawRequest};
use crate::error::GatewayError;
use crate::pipeline::{Reply, ReplyBody, RequestContext};
use crate::state::AppState;
use crate::teams::ClientKey;
use axum::body::Body;
use axum::response::Response;
use http::HeaderMap;
use std::sync::Arc;

/// The gateway's id for a request and the client key that authenticated
/// it (none for the master key or without keys), in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String, pub Option<Arc<ClientKey>>);

impl RequestId {
    /// Refuse a model the request's client key may not use.
    pub fn check_model(&self, model: &str) -> Result<(), GatewayError> {
        match &self.1 {
            Some(key) if !key.allows(model) => Err(GatewayError::Forbidden(format!(
                "gateway key {} may not use model '{model}' (allowed: {})",
                key.identity.key_id,
                key.models.join(", ")
            ))),
            _ => Ok(()),
        }
    }

    /// Who sent it, for the ledger.
    pub fn identity(&self) -> Option<Arc<crate::core::Identity>> {
        self.1.as_ref().map(|k| k.identity.clone())
    }
}

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
    )
    .identified(at.id.1.clone());
    let config = &at.state.config;
    let parsed = body::read_body(
        body,
        at.headers,
        config.body_limit,
        config.clients.body_timeout,
    )
    .await
    .and_then(|b| ctx.parse(b, kind))
    .and_then(|raw| {
        at.id.check_model(raw.model())?;
        Ok(raw)
    });
    match parsed {
        Ok(raw) => Ok((ctx, raw)),
        Err(e) => Err(into_response(ctx.fail(e))),
    }
}

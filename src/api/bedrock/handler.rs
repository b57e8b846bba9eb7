//! Handlers for the Bedrock endpoints. The model id in the path is routed
//! as it is when the gateway serves that name, else as the Anthropic model
//! it names (`us.anthropic.claude-haiku-4-5-20251001-v1:0` →
//! `claude-haiku-4-5-20251001`), so Bedrock-mode clients get the same routes
//! as everyone else.

use crate::api::body::read_body;
use crate::api::{RequestId, into_response};
use crate::core::{BodyKind, Dialect, RawRequest};
use crate::error::GatewayError;
use crate::pipeline::{self, Counted, RequestContext};
use crate::protocol::bedrock::anthropic_model_name;
use crate::protocol::bedrock::body::messages_body;
use crate::protocol::bedrock::frames::EVENTSTREAM_CONTENT_TYPE;
use crate::state::AppState;
use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue};
use std::sync::Arc;

/// The model name to route for a Bedrock model id.
fn routed_model(state: &AppState, id: &str) -> String {
    if state.router.resolve(id).is_some() {
        return id.to_string();
    }
    anthropic_model_name(id).unwrap_or_else(|| id.to_string())
}

/// The client's headers with the body's betas as `anthropic-beta`.
fn with_betas(headers: &HeaderMap, betas: &[String]) -> HeaderMap {
    let mut headers = headers.clone();
    if !betas.is_empty()
        && let Ok(v) = HeaderValue::from_str(&betas.join(","))
    {
        headers.insert("anthropic-beta", v);
    }
    headers
}

/// Read a Bedrock body and turn it into an Anthropic one.
async fn read_invoke(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    model: &str,
    stream: bool,
) -> Result<(RawRequest, HeaderMap), GatewayError> {
    let c = &state.config;
    let bytes = read_body(body, headers, c.body_limit, c.clients.body_timeout).await?;
    let (body, betas) =
        messages_body(&bytes, model, stream, &[]).map_err(GatewayError::InvalidRequest)?;
    let raw = RawRequest::parse(Bytes::from(body), BodyKind::BedrockInvoke)
        .map_err(GatewayError::InvalidRequest)?;
    Ok((raw, with_betas(headers, &betas)))
}

async fn invoke_any(
    state: Arc<AppState>,
    id: RequestId,
    model_id: String,
    headers: HeaderMap,
    body: Body,
    stream: bool,
) -> Response {
    let endpoint = if stream {
        "invoke-with-response-stream"
    } else {
        "invoke"
    };
    let ctx = RequestContext::start(&state, &id.0, Dialect::Bedrock, endpoint, &headers, None)
        .identified(id.1.clone());
    let model = routed_model(&state, &model_id);
    if let Err(e) = id.check_model(&model) {
        return into_response(ctx.fail(e));
    }
    let (raw, headers) = match read_invoke(&state, &headers, body, &model, stream).await {
        Ok(r) => r,
        Err(e) => return into_response(ctx.fail(e)),
    };
    let mut resp = pipeline::chat(ctx.with_headers(&headers), raw).await;
    if stream && resp.status().is_success() {
        let h = resp.headers_mut();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(EVENTSTREAM_CONTENT_TYPE),
        );
        h.insert(
            "x-amzn-bedrock-content-type",
            HeaderValue::from_static("application/json"),
        );
        h.remove(CACHE_CONTROL);
    }
    if let Ok(v) = HeaderValue::from_str(&id.0) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    into_response(resp)
}

/// `POST /model/{id}/invoke`.
pub async fn invoke(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    invoke_any(state, id, model_id, headers, body, false).await
}

/// `POST /model/{id}/invoke-with-response-stream`.
pub async fn invoke_stream(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    invoke_any(state, id, model_id, headers, body, true).await
}

#[derive(serde::Deserialize)]
struct CountInput {
    input: CountKinds,
}

#[derive(serde::Deserialize)]
struct CountKinds {
    #[serde(rename = "invokeModel")]
    invoke_model: Option<InvokeInput>,
}

#[derive(serde::Deserialize)]
struct InvokeInput {
    body: String,
}

/// The Anthropic count body inside a Bedrock count-tokens request.
fn count_body(bytes: &[u8], model: &str) -> Result<(RawRequest, Vec<String>), String> {
    let input: CountInput =
        serde_json::from_slice(bytes).map_err(|e| format!("Malformed input request: {e}"))?;
    let invoke = input
        .input
        .invoke_model
        .ok_or("only input.invokeModel is supported by this gateway")?;
    let invoke = base64::engine::general_purpose::STANDARD
        .decode(invoke.body.trim())
        .map_err(|e| format!("input.invokeModel.body is not base64: {e}"))?;
    let (body, betas) = messages_body(&invoke, model, false, &["max_tokens"])?;
    let raw = RawRequest::parse(Bytes::from(body), BodyKind::CountTokens)?;
    Ok((raw, betas))
}

/// `POST /model/{id}/count-tokens`: `{"inputTokens": N}`.
pub async fn count_tokens(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ctx = RequestContext::start(
        &state,
        &id.0,
        Dialect::Bedrock,
        "count-tokens",
        &headers,
        None,
    )
    .identified(id.1.clone());
    let model = routed_model(&state, &model_id);
    if let Err(e) = id.check_model(&model) {
        return into_response(ctx.fail(e));
    }
    let c = &state.config;
    let parsed = match read_body(body, &headers, c.body_limit, c.clients.body_timeout).await {
        Ok(bytes) => count_body(&bytes, &model).map_err(GatewayError::InvalidRequest),
        Err(e) => Err(e),
    };
    let (raw, betas) = match parsed {
        Ok(p) => p,
        Err(e) => return into_response(ctx.fail(e)),
    };
    let headers = with_betas(&headers, &betas);
    let render = |counted: Counted| {
        Bytes::from(serde_json::json!({"inputTokens": counted.input_tokens()}).to_string())
    };
    into_response(pipeline::count(ctx.with_headers(&headers), raw, render).await)
}

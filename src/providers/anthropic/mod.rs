//! The Anthropic Messages API (api.anthropic.com or any server that speaks it).
//!
//! Pure: builds requests (the client's body with only `model` rewritten, its
//! `anthropic-*` headers, the provider's key instead of the client's) and
//! classifies error answers. It does no I/O.

use super::Call;
use crate::config::ProviderConfig;
use crate::core::{Dialect, UsageReport};
use crate::error::{UpstreamError, UpstreamErrorKind, kind_for_status};
use crate::stream::UsageMeter;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub mod stream;

/// The API version sent when the client did not name one.
pub const DEFAULT_VERSION: &str = "2023-06-01";

/// Request builder and error classifier for the Anthropic API.
#[derive(Debug, Clone)]
pub struct AnthropicAdapter {
    base_url: String,
    api_key: Option<SecretString>,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
}

/// Which endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v1/messages`.
    Messages,
    /// `/v1/messages/count_tokens`.
    CountTokens,
}

impl AnthropicAdapter {
    /// An adapter for this provider.
    pub fn new(config: &ProviderConfig) -> Self {
        AnthropicAdapter {
            base_url: config.base_url.clone(),
            api_key: config.api_key.clone(),
            extra_headers: config.headers.clone(),
        }
    }

    /// The upstream request for `call`.
    pub fn request(
        &self,
        call: &Call<'_>,
        endpoint: Endpoint,
    ) -> Result<http::Request<Bytes>, UpstreamError> {
        let path = match endpoint {
            Endpoint::Messages => "/v1/messages",
            Endpoint::CountTokens => "/v1/messages/count_tokens",
        };
        let query = call
            .query
            .filter(|q| !q.is_empty() && call.raw.dialect() == Dialect::Anthropic);
        let uri = match query {
            Some(q) => format!("{}{path}?{q}", self.base_url),
            None => format!("{}{path}", self.base_url),
        };
        let mut builder = http::Request::builder().method(Method::POST).uri(uri);
        let headers = builder
            .headers_mut()
            .ok_or_else(|| UpstreamError::new(UpstreamErrorKind::Transport, "bad upstream URL"))?;
        if call.raw.dialect().anthropic_body() {
            forward_headers(call.client_headers, headers);
        } else {
            headers.insert(
                "anthropic-version",
                HeaderValue::from_static(DEFAULT_VERSION),
            );
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(key) = &self.api_key {
            let value = HeaderValue::from_str(key.expose_secret()).map_err(|_| {
                UpstreamError::new(
                    UpstreamErrorKind::Auth,
                    "provider api_key is not a valid header value",
                )
            })?;
            headers.insert("x-api-key", value);
        }
        for (name, value) in &self.extra_headers {
            headers.insert(name.clone(), value.clone());
        }
        let body = if call.raw.dialect().anthropic_body() {
            call.raw.with_model(call.upstream_model)
        } else {
            encode_canonical(call, endpoint)?
        };
        builder.body(body).map_err(|e| {
            UpstreamError::new(
                UpstreamErrorKind::Transport,
                format!("bad upstream request: {e}"),
            )
        })
    }

    /// Classify a non-2xx answer.
    pub fn classify_error(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Bytes,
    ) -> UpstreamError {
        classify_error(status, headers, body)
    }

    /// Meter a non-streamed answer (which is passed on as it is).
    pub fn meter_answer(&self, body: &[u8]) -> Result<UsageMeter, UpstreamError> {
        meter_answer(body)
    }
}

/// The canonical request as an Anthropic body.
fn encode_canonical(call: &Call<'_>, endpoint: Endpoint) -> Result<Bytes, UpstreamError> {
    let Some(request) = call.canonical else {
        return Err(UpstreamError::new(
            UpstreamErrorKind::Transport,
            "no canonical request to translate",
        ));
    };
    let mut request = request.clone();
    request.model = call.upstream_model.to_string();
    if endpoint == Endpoint::CountTokens {
        request.max_tokens = None;
        request.stream = None;
    } else {
        request.stream = Some(call.raw.is_stream());
    }
    serde_json::to_vec(&request).map(Bytes::from).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Transport,
            format!("cannot encode the request: {e}"),
        )
    })
}

/// Meter a non-streamed answer (which is passed on as it is).
pub fn meter_answer(body: &[u8]) -> Result<UsageMeter, UpstreamError> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        model: Option<String>,
        #[serde(default)]
        stop_reason: Option<String>,
        #[serde(default)]
        usage: Option<UsageReport>,
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Malformed,
            format!("upstream answer is not a message: {e}"),
        )
    })?;
    let mut meter = UsageMeter::default();
    meter.message_id = answer.id;
    meter.model = answer.model;
    meter.stop_reason = answer.stop_reason;
    meter.completed = true;
    if let Some(u) = &answer.usage {
        meter.observe_report(u);
    }
    Ok(meter)
}

/// Decode a whole Anthropic answer.
pub fn decode_answer(body: &[u8]) -> Result<crate::core::ChatResponse, UpstreamError> {
    serde_json::from_slice(body).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Malformed,
            format!("upstream answer is not a message: {e}"),
        )
    })
}

/// Copy the client's `anthropic-*` headers (version and betas verbatim) and
/// nothing else: never its key.
fn forward_headers(client: &HeaderMap, out: &mut HeaderMap) {
    for (name, value) in client {
        if name.as_str().starts_with("anthropic-") {
            out.append(name.clone(), value.clone());
        }
    }
    if !out.contains_key("anthropic-version") {
        out.insert(
            "anthropic-version",
            HeaderValue::from_static(DEFAULT_VERSION),
        );
    }
    out.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

/// Classify an Anthropic error answer: the status decides, the body's
/// message is kept when it is safe to show.
pub fn classify_error(status: StatusCode, headers: &HeaderMap, body: Bytes) -> UpstreamError {
    let parsed = serde_json::from_slice::<ErrorEnvelope>(&body).ok();
    let mut kind = kind_for_status(status);
    if parsed
        .as_ref()
        .is_some_and(|p| p.error.kind == "overloaded_error")
    {
        kind = UpstreamErrorKind::Overloaded;
    }
    let upstream_message = parsed
        .as_ref()
        .map(|p| p.error.message.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let message = match kind {
        UpstreamErrorKind::Auth => {
            "the provider rejected the gateway's credentials; check the provider's api_key"
                .to_string()
        }
        _ => format!("upstream returned {}: {upstream_message}", status.as_u16()),
    };
    UpstreamError {
        kind,
        status: Some(status),
        retry_after: headers.get(RETRY_AFTER).cloned(),
        // Only client errors are passed on verbatim.
        passthrough: (kind == UpstreamErrorKind::InvalidRequest
            || kind == UpstreamErrorKind::RateLimited)
            .then_some((Dialect::Anthropic, body)),
        message,
    }
}

#[cfg(test)]
mod tests;

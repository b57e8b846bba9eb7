//! OpenAI-compatible servers (OpenAI, vLLM, llama.cpp's llama-server, LM
//! Studio, Ollama's `/v1`): `POST {base_url}/chat/completions`.
//!
//! Pure: OpenAI clients' bodies pass through with the model rewritten (and
//! `include_usage` switched on for streams, so the gateway can meter);
//! clients of other dialects are translated from the canonical request.

pub mod decode;
pub mod encode;

use super::Call;
use crate::config::ProviderConfig;
use crate::core::Dialect;
use crate::core::dialect::OpenAiUsage;
use crate::error::{UpstreamError, UpstreamErrorKind, kind_for_status};
use crate::stream::UsageMeter;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

/// Request builder and error classifier for OpenAI-compatible servers.
#[derive(Debug, Clone)]
pub struct OpenAiAdapter {
    base_url: String,
    api_key: Option<SecretString>,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
}

fn encode_error(e: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::new(
        UpstreamErrorKind::Transport,
        format!("cannot encode the request: {e}"),
    )
}

impl OpenAiAdapter {
    /// An adapter for `base_url` (which includes the `/v1` prefix).
    pub fn new(config: &ProviderConfig, base_url: String) -> Self {
        OpenAiAdapter {
            base_url,
            api_key: config.api_key.clone(),
            extra_headers: config.headers.clone(),
        }
    }

    /// The upstream request for `call`.
    pub fn request(&self, call: &Call<'_>) -> Result<http::Request<Bytes>, UpstreamError> {
        let body = if call.raw.dialect() == Dialect::OpenAi {
            passthrough_body(call)?
        } else {
            let request = call
                .canonical
                .ok_or_else(|| encode_error("no canonical request"))?;
            let value = encode::encode_request(request, call.upstream_model, call.raw.is_stream());
            Bytes::from(serde_json::to_vec(&value).map_err(encode_error)?)
        };
        let mut builder = http::Request::builder()
            .method(Method::POST)
            .uri(format!("{}/chat/completions", self.base_url))
            .header(CONTENT_TYPE, "application/json");
        if let Some(key) = &self.api_key {
            builder = builder.header(AUTHORIZATION, format!("Bearer {}", key.expose_secret()));
        }
        for (name, value) in &self.extra_headers {
            builder = builder.header(name, value);
        }
        builder.body(body).map_err(encode_error)
    }

    /// Classify a non-2xx answer.
    pub fn classify_error(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Bytes,
    ) -> UpstreamError {
        classify_error(status, headers, body, Dialect::OpenAi)
    }

    /// Meter a whole OpenAI answer passed through as it is.
    pub fn meter_answer(&self, body: &[u8]) -> Result<UsageMeter, UpstreamError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            model: Option<String>,
            #[serde(default)]
            usage: Option<OpenAiUsage>,
            #[serde(default)]
            choices: Vec<Value>,
        }
        let a: Answer = serde_json::from_slice(body).map_err(|e| {
            UpstreamError::new(
                UpstreamErrorKind::Malformed,
                format!("upstream answer is not a chat completion: {e}"),
            )
        })?;
        let mut meter = UsageMeter::default();
        meter.model = a.model;
        meter.completed = true;
        meter.stop_reason = a
            .choices
            .first()
            .and_then(|c| c.get("finish_reason"))
            .and_then(Value::as_str)
            .map(|f| crate::core::dialect::stop_reason_from_finish(f).to_string());
        if let Some(u) = a.usage {
            meter.set_usage(u.to_usage());
        }
        Ok(meter)
    }
}

/// The OpenAI client's body, with the model rewritten and, for streams,
/// usage reporting switched on.
fn passthrough_body(call: &Call<'_>) -> Result<Bytes, UpstreamError> {
    if !call.raw.is_stream() || call.raw.include_usage() {
        return Ok(call.raw.with_model(call.upstream_model));
    }
    let mut v: Value = serde_json::from_slice(call.raw.bytes()).map_err(encode_error)?;
    v["model"] = Value::String(call.upstream_model.to_string());
    match v.get_mut("stream_options").and_then(Value::as_object_mut) {
        Some(o) => {
            o.insert("include_usage".into(), Value::Bool(true));
        }
        None => v["stream_options"] = serde_json::json!({"include_usage": true}),
    }
    serde_json::to_vec(&v)
        .map(Bytes::from)
        .map_err(encode_error)
}

/// Classify an OpenAI-style (or Ollama-style) error answer.
pub fn classify_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: Bytes,
    dialect: Dialect,
) -> UpstreamError {
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let upstream_message = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(|e| {
            e.get("message")
                .and_then(Value::as_str)
                .or_else(|| e.as_str())
        })
        .map(str::to_string)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let kind = kind_for_status(status);
    let message = match kind {
        UpstreamErrorKind::Auth => {
            "the provider rejected the gateway's credentials; check the provider's api_key"
                .to_string()
        }
        _ => format!("upstream returned {}: {upstream_message}", status.as_u16()),
    };
    let passable = matches!(
        kind,
        UpstreamErrorKind::InvalidRequest | UpstreamErrorKind::RateLimited
    ) && parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .is_some_and(Value::is_object);
    UpstreamError {
        kind,
        status: Some(status),
        retry_after: headers.get(RETRY_AFTER).cloned(),
        passthrough: passable.then_some((dialect, body)),
        message,
    }
}

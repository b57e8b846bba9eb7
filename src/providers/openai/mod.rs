//! OpenAI-compatible servers (OpenAI, vLLM, llama.cpp's llama-server, LM
//! Studio, Ollama's `/v1`): `POST {base_url}/chat/completions`.
//!
//! Builds requests: OpenAI clients' bodies pass through with the model
//! rewritten (and `include_usage` switched on for streams, so the gateway
//! can meter); clients of other dialects are translated from the canonical
//! request by `protocol::openai`.

use super::{Adapter, Call, Operation};
use crate::config::ProviderConfig;
use crate::core::Dialect;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::protocol::Wire;
use crate::protocol::openai::encode;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, Method};
use secrecy::{ExposeSecret, SecretString};
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
    pub fn build(&self, call: &Call<'_>) -> Result<http::Request<Bytes>, UpstreamError> {
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
}

impl Adapter for OpenAiAdapter {
    fn wire(&self) -> Wire {
        Wire::OpenAi
    }

    fn request<'a>(
        &'a self,
        call: &'a Call<'a>,
        op: Operation,
    ) -> BoxFuture<'a, Result<Option<http::Request<Bytes>>, UpstreamError>> {
        super::messages_only(op, || self.build(call))
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

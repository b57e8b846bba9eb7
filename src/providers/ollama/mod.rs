//! Ollama's native API: `POST /api/chat` (NDJSON streams, always
//! translated) and model discovery from `GET /api/tags`.
//!
//! (With `api = "anthropic"` or `api = "openai"` an ollama provider uses the
//! Anthropic or OpenAI adapter against Ollama's `/v1` endpoints instead.)

use super::{Adapter, Call, Operation};
use crate::config::ProviderConfig;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::protocol::Wire;
use crate::protocol::ollama::encode;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue, Method};

/// Request builder and error classifier for `/api/chat`.
#[derive(Debug, Clone)]
pub struct OllamaAdapter {
    base_url: String,
    extra_headers: Vec<(HeaderName, HeaderValue)>,
}

impl OllamaAdapter {
    /// An adapter for this provider.
    pub fn new(config: &ProviderConfig) -> Self {
        OllamaAdapter {
            base_url: config.base_url.clone(),
            extra_headers: config.headers.clone(),
        }
    }

    /// The upstream request for `call` (always translated).
    pub fn build(&self, call: &Call<'_>) -> Result<http::Request<Bytes>, UpstreamError> {
        let request = call.canonical.ok_or_else(|| {
            UpstreamError::new(
                UpstreamErrorKind::Transport,
                "no canonical request to translate",
            )
        })?;
        let think = call.capabilities.thinking;
        let body =
            encode::encode_request(request, call.upstream_model, call.raw.is_stream(), think);
        let mut builder = http::Request::builder()
            .method(Method::POST)
            .uri(format!("{}/api/chat", self.base_url))
            .header(CONTENT_TYPE, "application/json");
        for (name, value) in &self.extra_headers {
            builder = builder.header(name, value);
        }
        let bytes = serde_json::to_vec(&body).map_err(|e| {
            UpstreamError::new(
                UpstreamErrorKind::Transport,
                format!("cannot encode the request: {e}"),
            )
        })?;
        builder.body(Bytes::from(bytes)).map_err(|e| {
            UpstreamError::new(
                UpstreamErrorKind::Transport,
                format!("bad upstream request: {e}"),
            )
        })
    }
}

impl Adapter for OllamaAdapter {
    fn wire(&self) -> Wire {
        Wire::OllamaNative
    }

    fn request<'a>(
        &'a self,
        call: &'a Call<'a>,
        op: Operation,
    ) -> BoxFuture<'a, Result<Option<http::Request<Bytes>>, UpstreamError>> {
        super::messages_only(op, || self.build(call))
    }

    fn models_request(&self) -> Option<http::Request<Bytes>> {
        http::Request::get(format!("{}/api/tags", self.base_url))
            .body(Bytes::new())
            .ok()
    }
}

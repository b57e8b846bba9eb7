//! Ollama's native API: `POST /api/chat` (NDJSON streams) and model
//! discovery from `GET /api/tags`.
//!
//! (With `api = "anthropic"` or `api = "openai"` an ollama provider uses the
//! Anthropic or OpenAI adapter against Ollama's `/v1` endpoints instead.)

pub mod decode;
pub mod encode;

use super::Call;
use super::openai::classify_error as classify_openai_style;
use crate::config::{Capabilities, ProviderConfig};
use crate::error::{UpstreamError, UpstreamErrorKind};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::Deserialize;

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
    pub fn request(&self, call: &Call<'_>) -> Result<http::Request<Bytes>, UpstreamError> {
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

    /// Classify a non-2xx answer (`{"error": "..."}`).
    pub fn classify_error(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Bytes,
    ) -> UpstreamError {
        let mut e = classify_openai_style(status, headers, body, crate::core::Dialect::OpenAi);
        e.passthrough = None; // not a client dialect
        e
    }

    /// `GET /api/tags` URL.
    pub fn tags_url(&self) -> String {
        format!("{}/api/tags", self.base_url)
    }
}

#[derive(Deserialize)]
struct Tags {
    #[serde(default)]
    models: Vec<Tag>,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
    #[serde(default)]
    capabilities: Option<Vec<String>>,
}

/// A model an Ollama server lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its name (`llama3.2:latest`).
    pub name: String,
    /// What it can do, when the server says (newer servers do).
    pub capabilities: Option<Capabilities>,
}

/// The models in an `/api/tags` answer.
pub fn parse_tags(body: &[u8]) -> Result<Vec<Listed>, String> {
    let tags: Tags =
        serde_json::from_slice(body).map_err(|e| format!("not an /api/tags answer: {e}"))?;
    Ok(tags
        .models
        .into_iter()
        .map(|m| Listed {
            name: m.name,
            capabilities: m.capabilities.map(|c| Capabilities {
                tools: c.iter().any(|x| x == "tools"),
                vision: c.iter().any(|x| x == "vision"),
                thinking: c.iter().any(|x| x == "thinking"),
            }),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        let body = br#"{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest","size":2019393189,"details":{"family":"llama"}},{"name":"qwen3:8b","capabilities":["completion","tools","thinking"]}]}"#;
        let listed = parse_tags(body).unwrap();
        assert_eq!(
            listed[0],
            Listed {
                name: "llama3.2:latest".into(),
                capabilities: None
            }
        );
        assert_eq!(
            listed[1].capabilities,
            Some(Capabilities {
                tools: true,
                vision: false,
                thinking: true
            })
        );
        assert!(parse_tags(b"nope").is_err());
    }
}

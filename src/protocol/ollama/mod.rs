//! Ollama's native protocol: canonical requests to `/api/chat` bodies
//! (`encode`), answers and NDJSON streams to canonical (`decode`), its
//! error bodies, and the model list from `/api/tags`.
//!
//! (With `api = "anthropic"` or `api = "openai"` an ollama provider speaks
//! those protocols against Ollama's `/v1` endpoints instead.)

pub mod decode;
pub mod encode;

pub use decode::{OllamaDecoder, decode_answer};

use crate::config::Capabilities;
use crate::error::UpstreamError;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

/// Classify a non-2xx answer (`{"error": "..."}`). Never passed through:
/// no client speaks Ollama's dialect.
pub fn classify_error(status: StatusCode, headers: &HeaderMap, body: Bytes) -> UpstreamError {
    let mut e = crate::protocol::openai::classify_error(status, headers, body);
    e.passthrough = None;
    e
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

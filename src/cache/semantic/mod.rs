//! The semantic cache's parts: the text a request is judged by (its last
//! user turn), the embedders that turn it into a unit vector, and cosine
//! similarity. Lookups happen only within a scope — same dialect family,
//! routed model, system prompt, tool set and betas — so a similar question
//! under another system prompt or toolset never hits.

#[cfg(feature = "local-embed")]
pub mod bert;
#[cfg(feature = "local-embed")]
mod dense;
pub mod guard;
#[cfg(feature = "local-embed")]
pub mod local;
pub mod pairs;
pub mod phrasing;
pub mod swap;
pub mod synonyms;
pub mod vocab;

use crate::config::EmbedderConfig;
use crate::core::RawRequest;
use crate::core::TurnRole;
use secrecy::ExposeSecret;
use serde_json::Value;
#[cfg(feature = "local-embed")]
use std::sync::Arc;
use std::time::Duration;

/// Cosine similarity of two unit vectors (their dot product).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return -1.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Scale to unit length.
pub fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// The text of a message's `content` (a string, or its text parts).
pub fn content_text(content: &str) -> String {
    match serde_json::from_str::<Value>(content) {
        Ok(Value::String(s)) => s,
        Ok(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The last user turn's text, which the semantic cache compares.
pub fn last_user_text(raw: &RawRequest) -> Option<String> {
    let m = raw
        .messages()
        .iter()
        .rev()
        .find(|m| m.role == TurnRole::User)?;
    let text = content_text(std::str::from_utf8(raw.content_of(m)).ok()?);
    (!text.trim().is_empty()).then_some(text)
}

/// Turns text into unit vectors.
pub enum Embedder {
    /// A BERT sentence-embedding model run in this process.
    #[cfg(feature = "local-embed")]
    Local(Arc<local::LocalEmbedder>),
    /// Ollama's `/api/embed`.
    Ollama {
        /// HTTP client.
        client: reqwest::Client,
        /// `{base}/api/embed`.
        url: String,
        /// Model name.
        model: String,
    },
    /// An OpenAI-compatible `/v1/embeddings`.
    OpenAi {
        /// HTTP client.
        client: reqwest::Client,
        /// `{base}/embeddings`.
        url: String,
        /// Model name.
        model: String,
        /// Bearer key.
        api_key: Option<secrecy::SecretString>,
    },
}

impl Embedder {
    /// Build the configured embedder (loading a local model now).
    pub fn new(config: &EmbedderConfig) -> Result<Self, String> {
        crate::providers::upstream::install_crypto_provider();
        let client = || {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| format!("embedder HTTP client: {e}"))
        };
        match config {
            #[cfg(feature = "local-embed")]
            EmbedderConfig::Local { model_dir } => Ok(Embedder::Local(Arc::new(
                local::LocalEmbedder::load(model_dir)?,
            ))),
            #[cfg(not(feature = "local-embed"))]
            EmbedderConfig::Local { .. } => Err(
                "this build has no local embedder (built without the `local-embed` feature)".into(),
            ),
            EmbedderConfig::Ollama { base_url, model } => Ok(Embedder::Ollama {
                client: client()?,
                url: format!("{}/api/embed", base_url.trim_end_matches('/')),
                model: model.clone(),
            }),
            EmbedderConfig::OpenAi {
                base_url,
                model,
                api_key,
            } => Ok(Embedder::OpenAi {
                client: client()?,
                url: format!("{}/embeddings", base_url.trim_end_matches('/')),
                model: model.clone(),
                api_key: api_key.clone(),
            }),
        }
    }

    /// The unit vector of what `text` asks ([`phrasing::asked`]).
    pub async fn embed(&self, text: &str) -> Result<Vec<f32>, String> {
        let text = phrasing::asked(text);
        let raw = match self {
            #[cfg(feature = "local-embed")]
            Embedder::Local(model) => {
                let model = model.clone();
                let text = text.to_string();
                tokio::task::spawn_blocking(move || model.embed(&text))
                    .await
                    .map_err(|e| format!("embedder task: {e}"))??
            }
            Embedder::Ollama { client, url, model } => {
                let body = serde_json::json!({"model": model, "input": text});
                let v = post_json(client.post(url), &body).await?;
                first_vector(&v["embeddings"][0])?
            }
            Embedder::OpenAi {
                client,
                url,
                model,
                api_key,
            } => {
                let body = serde_json::json!({"model": model, "input": text});
                let mut req = client.post(url);
                if let Some(k) = api_key {
                    req = req.bearer_auth(k.expose_secret());
                }
                let v = post_json(req, &body).await?;
                first_vector(&v["data"][0]["embedding"])?
            }
        };
        Ok(normalize(raw))
    }
}

async fn post_json(req: reqwest::RequestBuilder, body: &Value) -> Result<Value, String> {
    let resp = req
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("embedder: {e}"))?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| format!("embedder: {e}"))?;
    if !status.is_success() {
        return Err(format!("embedder answered {status}"));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("embedder answer: {e}"))
}

fn first_vector(v: &Value) -> Result<Vec<f32>, String> {
    let list = v.as_array().ok_or("embedder answer has no vector")?;
    let out: Vec<f32> = list
        .iter()
        .filter_map(|x| x.as_f64())
        .map(|x| x as f32)
        .collect();
    if out.is_empty() || out.len() != list.len() {
        return Err("embedder answer has no vector".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::BodyKind;

    #[test]
    fn the_last_user_turn_is_what_counts() {
        let body = r#"{"model":"m","max_tokens":5,"messages":[
            {"role":"user","content":"first question"},
            {"role":"assistant","content":"an answer"},
            {"role":"user","content":[{"type":"text","text":"What is"},{"type":"text","text":"the capital of France?"}]}]}"#;
        let raw = RawRequest::parse(bytes::Bytes::from(body), BodyKind::Messages).unwrap();
        assert_eq!(
            last_user_text(&raw).as_deref(),
            Some("What is\nthe capital of France?")
        );
    }

    #[test]
    fn cosine_of_unit_vectors() {
        let a = normalize(vec![3.0, 4.0]);
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-6);
        assert!((cosine(&a, &normalize(vec![-4.0, 3.0]))).abs() < 1e-6);
        assert_eq!(cosine(&a, &[1.0]), -1.0);
    }
}

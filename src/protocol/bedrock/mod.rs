//! AWS Bedrock's InvokeModel protocol for Claude: Anthropic bodies rewritten
//! for Bedrock (`body`), the binary event stream both ways (`eventstream`
//! in, `frames` out), the codec for clients that speak Bedrock, Bedrock's
//! error shapes, and what its model ids say.
//!
//! Signing and credentials are the provider's business
//! (`providers::bedrock`); nothing here does I/O.

pub mod body;
pub mod codec;
pub mod error;
pub mod eventstream;
pub mod frames;

pub use codec::BedrockCodec;
pub use error::classify_error;
pub use eventstream::{BedrockDecoder, BedrockStream};

use crate::error::{UpstreamError, UpstreamErrorKind};
use bytes::Bytes;
use serde::Deserialize;

/// The Anthropic model name inside a Bedrock model id, ARN or inference
/// profile: `us.anthropic.claude-sonnet-4-5-20250929-v1:0` →
/// `claude-sonnet-4-5-20250929`. `None` for ids that are not Claude's.
pub fn anthropic_model_name(id: &str) -> Option<String> {
    let id = id.rsplit('/').next().unwrap_or(id);
    let start = id.find("anthropic.")? + "anthropic.".len();
    // What comes before is a geography prefix (`us.`, `eu.`, `global.`, …).
    if id[..start - "anthropic.".len()].contains(['/', ':']) {
        return None;
    }
    let name = &id[start..];
    let name = match name.rfind("-v") {
        Some(i)
            if name[i + 2..]
                .split(':')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            &name[..i]
        }
        _ => name,
    };
    (!name.is_empty()).then(|| name.to_string())
}

#[derive(Deserialize)]
struct CountTokens {
    #[serde(rename = "inputTokens")]
    input_tokens: u64,
}

/// Bedrock's count-tokens answer in Anthropic's shape.
pub fn count_tokens_answer(body: &[u8]) -> Result<Bytes, UpstreamError> {
    let c: CountTokens = serde_json::from_slice(body).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Malformed,
            format!("bad count-tokens answer: {e}"),
        )
    })?;
    Ok(Bytes::from(
        serde_json::json!({"input_tokens": c.input_tokens}).to_string(),
    ))
}

#[cfg(test)]
mod tests;

//! Wire protocols: one home per protocol — `anthropic`, `openai`, `bedrock`,
//! `ollama` — each owning its wire types, request and answer encoding and
//! decoding in both directions, stream decoders and encoders, the
//! passthrough transcoder and its error bodies.
//!
//! Everything here is pure: bytes and canonical types in, bytes and
//! canonical types out. No I/O, no axum, no routing. Two small interfaces tie
//! the protocols to the rest of the gateway:
//!
//! - [`Wire`]: the protocol a provider answers in (its decoders, answer
//!   readers and error classifier);
//! - [`ClientCodec`]: the dialect a client speaks (its canonical reading,
//!   stream encoder, answers and errors), from [`client_codec`].
//!
//! Which transcoder carries a given upstream to a given client is decided
//! in one table, `stream::table`.

pub mod anthropic;
pub mod bedrock;
pub mod blocks;
pub mod keys;
pub mod ollama;
pub mod openai;
pub mod sse;

use crate::core::{ChatRequest, ChatResponse, Dialect, RawRequest, StreamEvent, UsageMeter};
use crate::error::{GatewayError, UpstreamError, UpstreamErrorKind};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::collections::VecDeque;

/// A provider's stream bytes → canonical events.
pub trait EventDecoder: Send {
    /// Decode a chunk; push complete events.
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), UpstreamError>;
    /// The stream ended: push what remains, fail if it was cut short.
    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), UpstreamError>;
}

/// Canonical events → a client dialect's stream bytes.
pub trait EventEncoder: Send {
    /// Encode one event (zero or more chunks).
    fn encode(&mut self, event: &StreamEvent, out: &mut VecDeque<Bytes>);
    /// An error event in this dialect.
    fn error(&self, error: &UpstreamError) -> Bytes;
}

/// Turns upstream stream bytes into client bytes, metering usage on the way
/// (a passthrough, or a decoder + encoder pair).
pub trait Transcoder: Send {
    /// Decode `chunk`, push complete client-ready events to `out`.
    fn feed(&mut self, chunk: &[u8], out: &mut VecDeque<Bytes>) -> Result<(), UpstreamError>;
    /// The upstream ended: flush, and fail if the stream was incomplete.
    fn finish(&mut self, out: &mut VecDeque<Bytes>) -> Result<(), UpstreamError>;
    /// An error event in the client's dialect.
    fn error_event(&self, error: &UpstreamError) -> Bytes;
    /// What was counted so far.
    fn meter(&self) -> &UsageMeter;
}

/// What the rest of the gateway needs from a client's dialect.
pub trait ClientCodec: Send + Sync {
    /// The dialect.
    fn dialect(&self) -> Dialect;
    /// The client's request in canonical form (for providers of another dialect).
    fn canonical(&self, raw: &RawRequest) -> Result<ChatRequest, String>;
    /// A stream encoder for this request.
    fn stream_encoder(&self, raw: &RawRequest) -> Box<dyn EventEncoder>;
    /// A whole answer in this dialect.
    fn encode_answer(&self, raw: &RawRequest, answer: &ChatResponse) -> Bytes;
    /// An error event in this dialect (for failures inside a stream).
    fn error_event(&self, error: &UpstreamError) -> Bytes;
    /// Decode a whole answer written in this dialect (what the client was
    /// sent), for the response cache.
    fn decode_answer(&self, body: &[u8]) -> Option<ChatResponse>;
    /// A decoder for the stream this dialect's clients are sent.
    fn stream_decoder(&self) -> Box<dyn EventDecoder>;
}

/// The codec of a client dialect.
pub fn client_codec(dialect: Dialect) -> &'static dyn ClientCodec {
    match dialect {
        Dialect::Anthropic => &anthropic::AnthropicCodec,
        Dialect::OpenAi => &openai::OpenAiCodec,
        Dialect::Bedrock => &bedrock::BedrockCodec,
    }
}

/// A gateway error as the client's dialect writes it: status, headers and
/// body (upstream client errors in the same dialect pass through verbatim).
pub fn error_reply(dialect: Dialect, error: &GatewayError) -> http::Response<Bytes> {
    match dialect {
        Dialect::Anthropic => anthropic::error::error_reply(error),
        Dialect::OpenAi => openai::error::error_reply(error),
        Dialect::Bedrock => bedrock::error::error_reply(error),
    }
}

/// The protocol a provider answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Anthropic Messages (SSE streams).
    Anthropic,
    /// OpenAI Chat Completions (SSE chunk streams).
    OpenAi,
    /// Ollama's native `/api/chat` (NDJSON streams).
    OllamaNative,
    /// AWS Bedrock InvokeModel: Anthropic bodies, binary event streams.
    BedrockInvoke,
}

impl Wire {
    /// Whether a client body of `dialect` can be sent as it is.
    pub fn takes_raw(self, dialect: Dialect) -> bool {
        match self {
            Wire::Anthropic | Wire::BedrockInvoke => dialect.anthropic_body(),
            Wire::OpenAi => dialect == Dialect::OpenAi,
            Wire::OllamaNative => false,
        }
    }

    /// Whether a whole answer can be passed to a client of `dialect` as it is.
    pub fn answer_passes_to(self, dialect: Dialect) -> bool {
        match self {
            Wire::Anthropic | Wire::BedrockInvoke => dialect.anthropic_body(),
            Wire::OpenAi => dialect == Dialect::OpenAi,
            Wire::OllamaNative => false,
        }
    }

    /// A decoder of this protocol's stream into canonical events.
    pub fn decoder(self) -> Box<dyn EventDecoder> {
        match self {
            Wire::Anthropic => Box::new(anthropic::AnthropicDecoder::default()),
            Wire::OpenAi => Box::new(openai::OpenAiDecoder::default()),
            Wire::OllamaNative => Box::new(ollama::OllamaDecoder::default()),
            Wire::BedrockInvoke => Box::new(bedrock::BedrockDecoder::default()),
        }
    }

    /// A whole answer in canonical form.
    pub fn decode_answer(self, body: &[u8]) -> Result<ChatResponse, UpstreamError> {
        match self {
            Wire::Anthropic | Wire::BedrockInvoke => anthropic::decode_answer(body),
            Wire::OpenAi => openai::decode_answer(body),
            Wire::OllamaNative => ollama::decode_answer(body),
        }
    }

    /// Meter a whole answer that is passed on as it is.
    pub fn meter_answer(self, body: &[u8]) -> Result<UsageMeter, UpstreamError> {
        match self {
            Wire::Anthropic | Wire::BedrockInvoke => anthropic::meter_answer(body),
            Wire::OpenAi => openai::meter_answer(body),
            Wire::OllamaNative => Err(UpstreamError::new(
                UpstreamErrorKind::Malformed,
                "ollama answers are always translated",
            )),
        }
    }

    /// Classify a non-2xx answer.
    pub fn classify_error(
        self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Bytes,
    ) -> UpstreamError {
        match self {
            Wire::Anthropic => anthropic::classify_error(status, headers, body),
            Wire::OpenAi => openai::classify_error(status, headers, body),
            Wire::OllamaNative => ollama::classify_error(status, headers, body),
            Wire::BedrockInvoke => bedrock::classify_error(status, headers, body),
        }
    }
}

/// A tool-use id that every dialect accepts (`[A-Za-z0-9_-]+`), generated
/// when the provider sent none.
pub fn tool_use_id(raw: Option<&str>) -> String {
    match raw.filter(|r| !r.is_empty()) {
        Some(r) => r
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect(),
        None => format!("toolu_{}", uuid::Uuid::now_v7().simple()),
    }
}

/// Tool-call arguments as a JSON object; anything else is a malformed answer.
pub fn parse_tool_arguments(text: &str) -> Result<Value, UpstreamError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(UpstreamError::new(
            UpstreamErrorKind::Malformed,
            "the model made a tool call whose arguments are not a JSON object",
        )),
    }
}

#[cfg(test)]
mod tests;

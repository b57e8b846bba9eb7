//! Canonical events → Anthropic SSE, and the Anthropic client codec (used
//! when the provider speaks another dialect; same-dialect streams pass
//! through untouched).

use super::error::error_body_for;
use super::passthrough::anthropic_error_event;
use crate::core::{ChatRequest, ChatResponse, Dialect, RawRequest, StreamEvent};
use crate::error::UpstreamError;
use crate::protocol::sse::encode_event;
use crate::protocol::{ClientCodec, EventDecoder, EventEncoder};
use bytes::Bytes;
use std::collections::VecDeque;

/// Writes canonical events as Anthropic SSE events.
#[derive(Debug, Default)]
pub struct AnthropicEncoder;

impl EventEncoder for AnthropicEncoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut VecDeque<Bytes>) {
        match serde_json::to_vec(event) {
            Ok(data) => out.push_back(encode_event(event.name(), &data)),
            Err(e) => tracing::error!(error = %e, "cannot encode a stream event"),
        }
    }

    fn error(&self, error: &UpstreamError) -> Bytes {
        anthropic_error_event(error)
    }
}

/// The Anthropic Messages dialect.
#[derive(Debug, Default, Clone, Copy)]
pub struct AnthropicCodec;

impl ClientCodec for AnthropicCodec {
    fn dialect(&self) -> Dialect {
        Dialect::Anthropic
    }

    fn canonical(&self, raw: &RawRequest) -> Result<ChatRequest, String> {
        let de = &mut serde_json::Deserializer::from_slice(raw.bytes());
        serde_path_to_error::deserialize(de).map_err(|e| format!("{}: {}", e.path(), e.inner()))
    }

    fn stream_encoder(&self, _raw: &RawRequest) -> Box<dyn EventEncoder> {
        Box::new(AnthropicEncoder)
    }

    fn encode_answer(&self, _raw: &RawRequest, answer: &ChatResponse) -> Bytes {
        match serde_json::to_vec(answer) {
            Ok(v) => Bytes::from(v),
            Err(e) => error_body_for(500, &format!("cannot encode the answer: {e}")),
        }
    }

    fn error_event(&self, error: &UpstreamError) -> Bytes {
        anthropic_error_event(error)
    }

    fn decode_answer(&self, body: &[u8]) -> Option<ChatResponse> {
        super::decode_answer(body).ok()
    }

    fn stream_decoder(&self) -> Box<dyn EventDecoder> {
        Box::new(super::AnthropicDecoder::default())
    }
}

//! The Bedrock client codec: requests are Anthropic bodies (after the
//! ingress rewrote them), streamed answers are event-stream `chunk` frames,
//! whole answers are Anthropic messages.

use crate::core::{ChatRequest, ChatResponse, Dialect, RawRequest, StreamEvent};
use crate::error::UpstreamError;
use crate::protocol::anthropic::AnthropicCodec;
use crate::protocol::bedrock::frames::{chunk_frame, error_frame};
use crate::protocol::{ClientCodec, EventDecoder, EventEncoder};
use bytes::Bytes;
use std::collections::VecDeque;

/// Canonical events → one `chunk` frame each.
#[derive(Debug, Default)]
pub struct BedrockEncoder;

impl EventEncoder for BedrockEncoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut VecDeque<Bytes>) {
        match serde_json::to_vec(event) {
            Ok(json) => out.push_back(chunk_frame(&json)),
            Err(e) => tracing::error!(error = %e, "cannot encode a stream event"),
        }
    }

    fn error(&self, error: &UpstreamError) -> Bytes {
        error_frame(error)
    }
}

/// The Bedrock InvokeModel dialect.
#[derive(Debug, Default, Clone, Copy)]
pub struct BedrockCodec;

impl ClientCodec for BedrockCodec {
    fn dialect(&self) -> Dialect {
        Dialect::Bedrock
    }

    fn canonical(&self, raw: &RawRequest) -> Result<ChatRequest, String> {
        AnthropicCodec.canonical(raw)
    }

    fn stream_encoder(&self, _raw: &RawRequest) -> Box<dyn EventEncoder> {
        Box::new(BedrockEncoder)
    }

    fn encode_answer(&self, raw: &RawRequest, answer: &ChatResponse) -> Bytes {
        AnthropicCodec.encode_answer(raw, answer)
    }

    fn error_event(&self, error: &UpstreamError) -> Bytes {
        error_frame(error)
    }

    fn decode_answer(&self, body: &[u8]) -> Option<ChatResponse> {
        AnthropicCodec.decode_answer(body)
    }

    fn stream_decoder(&self) -> Box<dyn EventDecoder> {
        Box::new(super::BedrockDecoder::default())
    }
}

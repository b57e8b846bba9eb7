//! The one table that picks how an upstream stream reaches a client: byte
//! passthrough when both sides speak the same protocol (re-framed for
//! Bedrock clients), else translation through canonical events, guarded
//! for providers whose answers may be unusable. With a tool policy, the
//! answer's tool calls are judged on the way (OpenAI to OpenAI is then
//! translated, so its calls are seen whole). A whole answer read as a
//! stream ([`whole_transcoder`]) is decoded once into canonical events,
//! assembled, and written in the client's dialect at its end.

use super::assemble::Assembler;
use super::{AnswerGuard, Translator};
use crate::core::{Dialect, RawRequest, StreamEvent};
use crate::error::UpstreamError;
use crate::guard::tool_gate::ToolGate;
use crate::guard::tools::ToolCheck;
use crate::protocol::anthropic::AnthropicPassthrough;
use crate::protocol::bedrock::BedrockStream;
use crate::protocol::openai::OpenAiPassthrough;
use crate::protocol::{ClientCodec, EventEncoder, Transcoder, Wire};
use bytes::Bytes;
use std::collections::VecDeque;

/// The transcoder for a stream in `upstream`'s protocol going to a client
/// of `client`'s dialect; `guard` is asked for only when translating;
/// `check` judges the answer's tool calls.
pub fn transcoder(
    upstream: Wire,
    client: &dyn ClientCodec,
    raw: &RawRequest,
    guard: impl FnOnce() -> Option<AnswerGuard>,
    check: Option<ToolCheck>,
) -> Box<dyn Transcoder> {
    match (upstream, client.dialect()) {
        (Wire::Anthropic, Dialect::Anthropic) => {
            Box::new(AnthropicPassthrough::default().gated(check))
        }
        (Wire::Anthropic, Dialect::Bedrock) => {
            Box::new(AnthropicPassthrough::to_frames().gated(check))
        }
        (Wire::BedrockInvoke, Dialect::Anthropic) => {
            Box::new(BedrockStream::new(false).gated(check))
        }
        (Wire::BedrockInvoke, Dialect::Bedrock) => Box::new(BedrockStream::new(true).gated(check)),
        (Wire::OpenAi, Dialect::OpenAi) if check.is_none() => {
            Box::new(OpenAiPassthrough::new(raw.include_usage()))
        }
        _ => Box::new(
            Translator::new(upstream.decoder(), client.stream_encoder(raw), guard())
                .with_gate(check.map(ToolGate::new)),
        ),
    }
}

/// The transcoder for a stream in `upstream`'s protocol that a client of
/// `client`'s dialect gets as a whole answer: one chunk, the answer's body,
/// once the stream has ended well (nothing before).
pub fn whole_transcoder(
    upstream: Wire,
    client: &'static dyn ClientCodec,
    raw: &RawRequest,
    guard: impl FnOnce() -> Option<AnswerGuard>,
    check: Option<ToolCheck>,
) -> Box<dyn Transcoder> {
    let whole = WholeAnswer {
        client,
        raw: raw.clone(),
        assembler: Some(Assembler::default()),
    };
    Box::new(
        Translator::new(upstream.decoder(), Box::new(whole), guard())
            .with_gate(check.map(ToolGate::new)),
    )
}

/// Assembles the events; at `message_stop` writes the whole answer.
struct WholeAnswer {
    client: &'static dyn ClientCodec,
    raw: RawRequest,
    assembler: Option<Assembler>,
}

impl EventEncoder for WholeAnswer {
    fn encode(&mut self, event: &StreamEvent, out: &mut VecDeque<Bytes>) {
        let Some(assembler) = &mut self.assembler else {
            return;
        };
        assembler.push(event);
        if matches!(event, StreamEvent::MessageStop)
            && let Some(answer) = self.assembler.take().and_then(Assembler::finish)
        {
            out.push_back(self.client.encode_answer(&self.raw, &answer));
        }
    }

    fn error(&self, error: &UpstreamError) -> Bytes {
        self.client.error_event(error)
    }
}

//! The one table that picks how an upstream stream reaches a client: byte
//! passthrough when both sides speak the same protocol (re-framed for
//! Bedrock clients), else translation through canonical events, guarded
//! for providers whose answers may be unusable. With a tool policy, the
//! answer's tool calls are judged on the way (OpenAI to OpenAI is then
//! translated, so its calls are seen whole).

use super::{AnswerGuard, Translator};
use crate::core::{Dialect, RawRequest};
use crate::guard::tool_gate::ToolGate;
use crate::guard::tools::ToolCheck;
use crate::protocol::anthropic::AnthropicPassthrough;
use crate::protocol::bedrock::BedrockStream;
use crate::protocol::openai::OpenAiPassthrough;
use crate::protocol::{ClientCodec, Transcoder, Wire};

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

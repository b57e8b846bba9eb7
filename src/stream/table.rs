//! The one table that picks how an upstream stream reaches a client: byte
//! passthrough when both sides speak the same protocol (re-framed for
//! Bedrock clients), else translation through canonical events, guarded
//! for providers whose answers may be unusable.

use super::{AnswerGuard, Translator};
use crate::core::{Dialect, RawRequest};
use crate::protocol::anthropic::AnthropicPassthrough;
use crate::protocol::bedrock::BedrockStream;
use crate::protocol::openai::OpenAiPassthrough;
use crate::protocol::{ClientCodec, Transcoder, Wire};

/// The transcoder for a stream in `upstream`'s protocol going to a client
/// of `client`'s dialect; `guard` is asked for only when translating.
pub fn transcoder(
    upstream: Wire,
    client: &dyn ClientCodec,
    raw: &RawRequest,
    guard: impl FnOnce() -> Option<AnswerGuard>,
) -> Box<dyn Transcoder> {
    match (upstream, client.dialect()) {
        (Wire::Anthropic, Dialect::Anthropic) => Box::new(AnthropicPassthrough::default()),
        (Wire::Anthropic, Dialect::Bedrock) => Box::new(AnthropicPassthrough::to_frames()),
        (Wire::BedrockInvoke, Dialect::Anthropic) => Box::new(BedrockStream::new(false)),
        (Wire::BedrockInvoke, Dialect::Bedrock) => Box::new(BedrockStream::new(true)),
        (Wire::OpenAi, Dialect::OpenAi) => Box::new(OpenAiPassthrough::new(raw.include_usage())),
        _ => Box::new(Translator::new(
            upstream.decoder(),
            client.stream_encoder(raw),
            guard(),
        )),
    }
}

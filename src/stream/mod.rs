//! Streams: SSE decoding and encoding, usage metering, and the pull-based
//! relay that carries an upstream stream to the client.
//!
//! Transcoders pair a provider's stream format with a client dialect; the
//! relay drives one without knowing either. Nothing here knows about axum or
//! about how requests are routed.

pub mod anthropic;
pub mod assemble;
pub mod codec;
pub mod frames;
pub mod guard;
pub mod meter;
pub mod openai;
pub mod relay;
pub mod sse;

pub use anthropic::{AnthropicPassthrough, anthropic_error_event};
pub use codec::{ClientCodec, EventDecoder, EventEncoder, Translator};
pub use guard::{AnswerGuard, check_answer};
pub use meter::UsageMeter;
pub use openai::{OpenAiPassthrough, openai_error_event};
pub use relay::{ByteStream, OnEnd, Relay, StreamEnd, Tap, Transcoder};

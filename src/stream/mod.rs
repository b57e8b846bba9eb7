//! Streams: SSE decoding and encoding, usage metering, and the pull-based
//! relay that carries an upstream stream to the client.
//!
//! Transcoders pair a provider's stream format with a client dialect; the
//! relay drives one without knowing either. Nothing here knows about axum or
//! about how requests are routed.

pub mod anthropic;
pub mod meter;
pub mod relay;
pub mod sse;

pub use anthropic::{AnthropicPassthrough, anthropic_error_event};
pub use meter::UsageMeter;
pub use relay::{ByteStream, OnEnd, Relay, StreamEnd, Transcoder};

//! The Anthropic Messages protocol: stream and answer decoding, the
//! passthrough transcoder and its meter, the encoder and codec for
//! Anthropic clients, and Anthropic's error shapes.

pub mod capability;
pub mod decode;
pub mod encode;
pub mod error;
pub mod meter;
pub mod passthrough;

pub use decode::{AnthropicDecoder, decode_answer, meter_answer};
pub use encode::{AnthropicCodec, AnthropicEncoder};
pub use error::{classify_error, error_body_for, json_reply};
pub use passthrough::{AnthropicPassthrough, anthropic_error_event};

/// The API version sent when the client did not name one.
pub const DEFAULT_VERSION: &str = "2023-06-01";

#[cfg(test)]
mod tests;

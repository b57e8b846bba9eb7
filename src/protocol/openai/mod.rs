//! The OpenAI Chat Completions protocol: client requests to canonical and
//! answers back (`convert`), canonical requests to OpenAI bodies (`encode`),
//! answers and chunk streams to canonical (`decode`), chunks for OpenAI
//! clients (`chunks`), the passthrough transcoder, usage and stop-reason
//! mappings, and OpenAI's error shapes.

pub mod chunks;
pub mod convert;
pub mod decode;
pub mod encode;
pub mod error;
pub mod passthrough;
pub mod usage;

pub use chunks::{OpenAiCodec, OpenAiEncoder};
pub use decode::{OpenAiDecoder, decode_answer, meter_answer};
pub use error::classify_error;
pub use passthrough::{OpenAiPassthrough, openai_error_event};

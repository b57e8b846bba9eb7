//! Streams: the pull-based relay that carries an upstream stream to the
//! client, the translator (decoder + encoder through canonical events), the
//! answer guard, assembling whole answers from events and back, and the one
//! table choosing the transcoder for an upstream protocol × client dialect.
//!
//! Wire formats are `protocol`'s; nothing here knows about axum or about
//! how requests are routed.

pub mod assemble;
pub mod codec;
pub mod guard;
pub mod relay;
pub mod table;

pub use codec::Translator;
pub use guard::{AnswerGuard, check_answer};
pub use relay::{ByteStream, OnEnd, Relay, StreamEnd, Tap};

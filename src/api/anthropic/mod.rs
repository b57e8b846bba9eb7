//! The Anthropic Messages dialect: `/v1/messages`, `/v1/messages/count_tokens`
//! and `/v1/models`, with errors in Anthropic's JSON format.
//!
//! When the provider speaks this dialect too, bodies and stream events pass
//! through untouched (only `model` is rewritten).

pub mod handler;

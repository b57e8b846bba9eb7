//! Canonical types: what a request, an answer, a stream event and usage are,
//! independent of any client dialect or provider protocol.
//!
//! They follow Anthropic's content-block model with `extra` maps for what is
//! not modelled. Passthrough (same dialect on both sides) never goes through
//! them; translation between dialects always does. Nothing here knows about
//! HTTP, axum or a provider.

pub mod fields;
#[cfg(test)]
pub mod fixtures;
mod glob;
mod identity;
mod meter;
mod price;
mod raw;
mod request;
mod response;
mod stream;
mod tokens;
mod usage;

pub use glob::glob_match;
pub use identity::Identity;
pub use meter::UsageMeter;
pub use price::{LONG_CONTEXT_TOKENS, LongContext, Price, Rates};
pub use raw::{BodyKind, MessageIndex, RawRequest, TurnRole};
pub use request::{
    ChatRequest, Content, ContentBlock, MediaBlock, Message, RedactedThinkingBlock, Role,
    TextBlock, Thinking, ThinkingBlock, Tool, ToolChoice, ToolResultBlock, ToolUseBlock,
};
pub use response::ChatResponse;
pub use stream::{Delta, ErrorBody, MessageDeltaBody, StreamEvent};
pub use tokens::estimate_input_tokens;
pub use usage::{CacheCreation, Usage, UsageReport};

/// The API dialect a client speaks (or a provider answers in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Anthropic Messages API.
    Anthropic,
    /// OpenAI Chat Completions API.
    OpenAi,
    /// AWS Bedrock InvokeModel with an Anthropic body (Claude Code in
    /// Bedrock mode).
    Bedrock,
}

impl Dialect {
    /// Requests of this dialect carry an Anthropic Messages body (Bedrock
    /// ingress bodies are turned into one on arrival).
    pub fn anthropic_body(self) -> bool {
        matches!(self, Dialect::Anthropic | Dialect::Bedrock)
    }

    /// Short name for logs and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Anthropic => "anthropic",
            Dialect::OpenAi => "openai",
            Dialect::Bedrock => "bedrock",
        }
    }
}

#[cfg(test)]
mod tests;

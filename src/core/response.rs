//! The canonical chat response (a whole, non-streamed answer).

use super::request::ContentBlock;
use super::usage::UsageReport;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A complete answer, in Anthropic's message shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// Provider's message id.
    pub id: String,
    /// Always `"message"`.
    #[serde(rename = "type", default = "message_type")]
    pub kind: String,
    /// Always `assistant`.
    #[serde(default = "assistant_role")]
    pub role: String,
    /// Model that answered.
    pub model: String,
    /// Answer blocks.
    pub content: Vec<ContentBlock>,
    /// Why generation stopped (`end_turn`, `tool_use`, `max_tokens`, …).
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The stop sequence hit, if any.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Token counts.
    #[serde(default)]
    pub usage: UsageReport,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatResponse {
    /// The empty message a translated stream starts with: no content yet,
    /// zero tokens counted so far.
    pub fn started(id: String, model: String) -> Self {
        ChatResponse {
            id,
            kind: message_type(),
            role: assistant_role(),
            model,
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage: UsageReport {
                input_tokens: Some(0),
                output_tokens: Some(0),
                ..UsageReport::default()
            },
            extra: Map::new(),
        }
    }
}

fn message_type() -> String {
    "message".to_string()
}

fn assistant_role() -> String {
    "assistant".to_string()
}

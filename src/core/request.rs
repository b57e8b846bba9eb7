//! The canonical chat request, in Anthropic's content-block model.
//!
//! Every struct keeps the fields it does not model in an `extra` map, so a
//! request parsed here and written back is the same JSON: translation between
//! dialects never drops what a client sent without deciding to.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A chat request, whatever dialect it arrived in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// Model name as the client asked for it.
    pub model: String,
    /// Conversation turns, oldest first.
    pub messages: Vec<Message>,
    /// System prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<Content>,
    /// Output token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Whether the client wants a stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// How the model must use tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Extended thinking settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Thinking>,
    /// Request metadata (`user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Everything else the client sent, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatRequest {
    /// Whether the client asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.stream.unwrap_or(false)
    }
}

/// Who said a turn. Claude Code also sends `system` turns inside `messages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The human or the client program.
    User,
    /// The model.
    Assistant,
    /// Mid-conversation instructions.
    System,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Speaker.
    pub role: Role,
    /// What was said.
    pub content: Content,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Content as a plain string or as blocks (both forms are kept as sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// A plain string.
    Text(String),
    /// A list of blocks.
    Blocks(Vec<ContentBlock>),
}

impl Content {
    /// The blocks of this content (a string is one text block).
    pub fn blocks(&self) -> Vec<ContentBlock> {
        match self {
            Content::Text(t) => vec![ContentBlock::Text(TextBlock::new(t.clone()))],
            Content::Blocks(b) => b.clone(),
        }
    }
}

/// One block of content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Text.
    Text(TextBlock),
    /// An image (base64 or URL source).
    Image(MediaBlock),
    /// A document (PDF, text).
    Document(MediaBlock),
    /// A tool call made by the model.
    ToolUse(ToolUseBlock),
    /// The result of a tool call, sent back by the client.
    ToolResult(ToolResultBlock),
    /// Visible reasoning, with its signature.
    Thinking(ThinkingBlock),
    /// Encrypted reasoning.
    RedactedThinking(RedactedThinkingBlock),
    /// Any other block type, kept verbatim.
    #[serde(untagged)]
    Other(Value),
}

/// `{"type":"text"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextBlock {
    /// The text.
    pub text: String,
    /// Prompt-cache breakpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
    /// Unmodelled fields (e.g. `citations`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TextBlock {
    /// A plain text block.
    pub fn new(text: impl Into<String>) -> Self {
        TextBlock {
            text: text.into(),
            cache_control: None,
            extra: Map::new(),
        }
    }
}

/// `{"type":"image"|"document","source":{...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaBlock {
    /// Where the bytes are: `{"type":"base64",media_type,data}` or `{"type":"url",url}`.
    pub source: Value,
    /// Prompt-cache breakpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"type":"tool_use"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUseBlock {
    /// Call id, echoed by the matching tool result.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments (a JSON object).
    pub input: Value,
    /// Prompt-cache breakpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"type":"tool_result"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResultBlock {
    /// The call this answers.
    pub tool_use_id: String,
    /// Output: a string or blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Whether the tool failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Prompt-cache breakpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"type":"thinking"}`: must go back to the provider unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThinkingBlock {
    /// The reasoning text.
    pub thinking: String,
    /// Provider signature over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"type":"redacted_thinking"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedactedThinkingBlock {
    /// Encrypted reasoning.
    pub data: String,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A tool definition (custom tools carry `input_schema`; server tools a `type`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Tool name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON schema of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// Prompt-cache breakpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
    /// Unmodelled fields (`type`, `defer_loading`, `strict`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `tool_choice`: auto, any, none or a named tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolChoice {
    /// `auto`, `any`, `none` or `tool`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The tool, when `kind` is `tool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// At most one tool call per turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_parallel_tool_use: Option<bool>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `thinking`: enabled (with a budget), adaptive or disabled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thinking {
    /// `enabled`, `adaptive` or `disabled`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Token budget for `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<u64>,
    /// Unmodelled fields (`display`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Thinking {
    /// Whether this setting asks the model to think.
    pub fn is_on(&self) -> bool {
        self.kind != "disabled"
    }
}

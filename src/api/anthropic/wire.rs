//! Anthropic wire shapes the gateway writes itself: the model list.

use serde::Serialize;

/// One entry of `GET /v1/models`.
#[derive(Debug, Serialize)]
pub struct ModelInfo {
    /// Always `"model"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The name clients use.
    pub id: String,
    /// Human-readable name.
    pub display_name: String,
    /// RFC 3339 time.
    pub created_at: String,
    /// Context window, when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_input_tokens: Option<u64>,
}

/// A page of `GET /v1/models`.
#[derive(Debug, Serialize)]
pub struct ModelPage {
    /// The models.
    pub data: Vec<ModelInfo>,
    /// More after `last_id`.
    pub has_more: bool,
    /// First id of the page.
    pub first_id: Option<String>,
    /// Last id of the page.
    pub last_id: Option<String>,
}

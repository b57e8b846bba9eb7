//! Thinking blocks another model wrote: removing them from a body before it
//! goes to a model that would reject their signatures.
//!
//! Anthropic signs each thinking block for the model that wrote it, and a
//! different model answers `400 Invalid signature in thinking block`. When
//! routing moves a conversation between models, the blocks of the turns
//! other models wrote are dropped (their text was for that model; the
//! answer they led to stays). If the last assistant turn loses its
//! thinking, the request's `thinking` is set to `disabled`: with thinking
//! on, that turn would have to start with a thinking block of this model.

use super::{RawRequest, TurnRole};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Kind<'a> {
    #[serde(rename = "type", default)]
    kind: Option<&'a str>,
}

fn is_thinking(block: &RawValue) -> bool {
    serde_json::from_str::<Kind<'_>>(block.get())
        .is_ok_and(|k| matches!(k.kind, Some("thinking" | "redacted_thinking")))
}

impl RawRequest {
    /// The body without the thinking blocks of the assistant turns at
    /// `turns` (indices into `messages`); `None` when none has any.
    pub fn without_thinking_in(&self, turns: &[usize]) -> Option<Bytes> {
        let last_assistant = self
            .messages
            .iter()
            .rposition(|m| m.role == TurnRole::Assistant);
        let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
        let mut last_lost = false;
        for &i in turns {
            let Some(m) = self
                .messages
                .get(i)
                .filter(|m| m.role == TurnRole::Assistant)
            else {
                continue;
            };
            let content = &self.bytes[m.content.clone()];
            if content.first() != Some(&b'[')
                || memchr::memmem::find(content, b"thinking").is_none()
            {
                continue;
            }
            let Ok(blocks) = serde_json::from_slice::<Vec<&RawValue>>(content) else {
                continue;
            };
            let kept: Vec<&str> = blocks
                .iter()
                .filter(|b| !is_thinking(b))
                .map(|b| b.get())
                .collect();
            if kept.len() == blocks.len() {
                continue;
            }
            last_lost |= Some(i) == last_assistant;
            edits.push((m.content.clone(), format!("[{}]", kept.join(","))));
        }
        if edits.is_empty() {
            return None;
        }
        if last_lost
            && self.thinking.as_deref().is_some_and(|t| t != "disabled")
            && let Some(span) = &self.thinking_span
        {
            edits.push((span.clone(), r#"{"type":"disabled"}"#.to_string()));
        }
        Some(self.spliced(edits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::BodyKind;
    use serde_json::{Value, json};

    fn body() -> RawRequest {
        let b = json!({"model": "m", "max_tokens": 10, "thinking": {"type": "adaptive"}, "messages": [
            {"role": "user", "content": "plan it"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "sonnet thinks", "signature": "SIG-S"},
                {"type": "text", "text": "I will read."},
                {"type": "tool_use", "id": "t1", "name": "Read", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}]},
            {"role": "assistant", "content": [
                {"type": "redacted_thinking", "data": "SIG-H"},
                {"type": "tool_use", "id": "t2", "name": "Edit", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t2", "content": "ok"}]}
        ]});
        RawRequest::parse(Bytes::from(b.to_string()), BodyKind::Messages).unwrap()
    }

    #[test]
    fn foreign_blocks_go_and_the_rest_stays() {
        let raw = body();
        let out: Value = serde_json::from_slice(&raw.without_thinking_in(&[1]).unwrap()).unwrap();
        let first = out["messages"][1]["content"].as_array().unwrap();
        assert_eq!(first.len(), 2, "text and tool_use kept");
        assert_eq!(first[1]["id"], "t1");
        assert_eq!(
            out["messages"][3]["content"][0]["type"], "redacted_thinking",
            "untouched"
        );
        assert_eq!(
            out["thinking"]["type"], "adaptive",
            "the last turn kept its thinking"
        );
        // The last assistant turn was another model's: thinking goes off.
        let out: Value =
            serde_json::from_slice(&raw.without_thinking_in(&[1, 3]).unwrap()).unwrap();
        assert_eq!(out["messages"][3]["content"].as_array().unwrap().len(), 1);
        assert_eq!(out["thinking"]["type"], "disabled");
        assert!(RawRequest::parse(Bytes::from(out.to_string()), BodyKind::Messages).is_ok());
    }

    #[test]
    fn nothing_to_remove_is_none() {
        let raw = body();
        assert!(
            raw.without_thinking_in(&[0, 2, 4, 99]).is_none(),
            "not assistant turns"
        );
        let plain = RawRequest::parse(
            Bytes::from(
                json!({"model": "m", "max_tokens": 1, "messages": [
                {"role": "assistant", "content": "thinking about it"}]})
                .to_string(),
            ),
            BodyKind::Messages,
        )
        .unwrap();
        assert!(plain.without_thinking_in(&[0]).is_none());
    }
}

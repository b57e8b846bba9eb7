//! AnswerGuard: hold a cheap model's answer back until it has shown it is
//! usable, so an unusable one becomes an upstream error the router can fall
//! back from before the client has seen a byte.
//!
//! Unusable means: no content at all, a tool call whose arguments are not
//! JSON (the decoders report those), or — when tools were offered — a tool
//! call written as JSON text instead of made. Plain prose is released at its
//! first non-blank character; a tool call once the decoder has checked it.

use crate::core::{ChatResponse, ContentBlock, Delta, StreamEvent};
use crate::error::{UpstreamError, UpstreamErrorKind};
use serde_json::Value;

/// Text held while deciding is capped; past this the answer is released.
const MAX_HELD_TEXT: usize = 256 * 1024;

/// Holds events until the answer proves usable.
#[derive(Debug)]
pub struct AnswerGuard {
    tools_offered: bool,
    held: Vec<StreamEvent>,
    released: bool,
    text: String,
    saw_content: bool,
}

impl AnswerGuard {
    /// A guard for a request that did (or did not) offer tools.
    pub fn new(tools_offered: bool) -> Self {
        AnswerGuard {
            tools_offered,
            held: Vec::new(),
            released: false,
            text: String::new(),
            saw_content: false,
        }
    }

    /// Take one event; returns the events that may go to the client now.
    pub fn push(&mut self, event: StreamEvent) -> Vec<StreamEvent> {
        if self.released {
            return vec![event];
        }
        let release = match &event {
            StreamEvent::ContentBlockStart {
                content_block: ContentBlock::ToolUse(_),
                ..
            } => true,
            StreamEvent::ContentBlockDelta {
                delta: Delta::ThinkingDelta { thinking },
                ..
            } => !thinking.trim().is_empty(),
            StreamEvent::ContentBlockDelta {
                delta: Delta::TextDelta { text },
                ..
            } => {
                self.text.push_str(text);
                let start = self.text.trim_start();
                !start.is_empty()
                    && (!self.tools_offered
                        || !looks_like_json(start)
                        || self.text.len() > MAX_HELD_TEXT)
            }
            _ => false,
        };
        self.saw_content |= release || !self.text.trim().is_empty();
        self.held.push(event);
        if release {
            self.released = true;
            std::mem::take(&mut self.held)
        } else {
            Vec::new()
        }
    }

    /// The stream ended: release what is held, or fail if it is unusable.
    pub fn finish(&mut self) -> Result<Vec<StreamEvent>, UpstreamError> {
        if self.released {
            return Ok(Vec::new());
        }
        if !self.saw_content {
            return Err(unusable("the model returned an empty answer"));
        }
        if self.tools_offered && is_tool_call_text(&self.text) {
            return Err(unusable(
                "the model wrote a tool call as text instead of calling the tool",
            ));
        }
        self.released = true;
        Ok(std::mem::take(&mut self.held))
    }
}

fn unusable(message: &str) -> UpstreamError {
    UpstreamError::new(UpstreamErrorKind::Malformed, message)
}

fn looks_like_json(text: &str) -> bool {
    text.starts_with('{')
        || text.starts_with('[')
        || text.starts_with("```")
        || text.starts_with("<tool")
}

/// Whether `text` is a tool call written out as JSON (possibly fenced).
pub fn is_tool_call_text(text: &str) -> bool {
    let t = text.trim();
    let t = t
        .strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .unwrap_or(t);
    let t = t.strip_suffix("```").unwrap_or(t).trim();
    let t = t
        .strip_prefix("<tool_call>")
        .and_then(|x| x.strip_suffix("</tool_call>"))
        .unwrap_or(t)
        .trim();
    match serde_json::from_str::<Value>(t) {
        Ok(Value::Object(o)) => is_call_object(&o),
        Ok(Value::Array(items)) => {
            !items.is_empty()
                && items
                    .iter()
                    .all(|i| i.as_object().is_some_and(is_call_object))
        }
        _ => false,
    }
}

fn is_call_object(o: &serde_json::Map<String, Value>) -> bool {
    let named = o.get("name").is_some_and(Value::is_string);
    let args = ["arguments", "parameters", "input", "args"]
        .iter()
        .any(|k| o.contains_key(*k));
    (named && args)
        || o.contains_key("tool_calls")
        || o.get("function").is_some_and(Value::is_object)
}

/// The same checks for a whole (non-streamed) answer.
pub fn check_answer(answer: &ChatResponse, tools_offered: bool) -> Result<(), UpstreamError> {
    let mut text = String::new();
    let mut content = false;
    for block in &answer.content {
        match block {
            ContentBlock::Text(t) => {
                text.push_str(&t.text);
                content |= !t.text.trim().is_empty();
            }
            ContentBlock::ToolUse(_) => return Ok(()),
            ContentBlock::Thinking(t) => content |= !t.thinking.trim().is_empty(),
            _ => content = true,
        }
    }
    if !content {
        return Err(unusable("the model returned an empty answer"));
    }
    if tools_offered && is_tool_call_text(&text) {
        return Err(unusable(
            "the model wrote a tool call as text instead of calling the tool",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::TextBlock;

    fn text(i: usize, t: &str) -> StreamEvent {
        StreamEvent::ContentBlockDelta {
            index: i,
            delta: Delta::TextDelta {
                text: t.to_string(),
            },
        }
    }

    fn start() -> StreamEvent {
        StreamEvent::ContentBlockStart {
            index: 0,
            content_block: ContentBlock::Text(TextBlock::new("")),
        }
    }

    #[test]
    fn prose_is_released_at_once() {
        let mut g = AnswerGuard::new(true);
        assert!(g.push(start()).is_empty());
        assert!(
            g.push(text(0, "  ")).is_empty(),
            "blank text decides nothing"
        );
        let out = g.push(text(0, "Sure, "));
        assert_eq!(out.len(), 3, "held events come out in order");
        assert_eq!(g.push(text(0, "here")).len(), 1);
        assert!(g.finish().unwrap().is_empty());
    }

    #[test]
    fn json_text_is_held_and_judged_at_the_end() {
        let mut g = AnswerGuard::new(true);
        g.push(start());
        assert!(g.push(text(0, "{\"name\": \"get_weather\", ")).is_empty());
        assert!(
            g.push(text(0, "\"arguments\": {\"city\": \"Paris\"}}"))
                .is_empty()
        );
        let e = g.finish().unwrap_err();
        assert_eq!(e.kind, UpstreamErrorKind::Malformed);
        // JSON that is an answer, not a call, is released at the end.
        let mut g = AnswerGuard::new(true);
        g.push(start());
        assert!(g.push(text(0, "{\"a\": 1}")).is_empty());
        assert_eq!(g.finish().unwrap().len(), 2);
        // Without tools, JSON text is just text.
        let mut g = AnswerGuard::new(false);
        g.push(start());
        assert_eq!(
            g.push(text(0, "{\"name\":\"x\",\"arguments\":{}}")).len(),
            2
        );
    }

    #[test]
    fn empty_answers_fail() {
        let mut g = AnswerGuard::new(false);
        g.push(StreamEvent::MessageStop);
        assert!(g.finish().is_err());
    }

    #[test]
    fn tool_call_text_forms() {
        let yes = [
            r#"{"name":"f","arguments":{}}"#,
            "```json\n{\"name\":\"f\",\"parameters\":{\"x\":1}}\n```",
            r#"[{"name":"f","arguments":"{}"}]"#,
            r#"{"function":{"name":"f"}}"#,
            "<tool_call>{\"name\":\"f\",\"arguments\":{}}</tool_call>",
        ];
        for t in yes {
            assert!(is_tool_call_text(t), "{t}");
        }
        for t in [r#"{"name":"Bob","age":3}"#, "hello", "[]", r#"{"a":1}"#] {
            assert!(!is_tool_call_text(t), "{t}");
        }
    }
}

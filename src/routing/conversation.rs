//! What the complexity classifier reads from a request: the latest thing a
//! human asked, the request before it, and the state of the conversation.
//!
//! It reads backwards from the end and stops early: the system prompt and
//! the tool list are never looked at, `<system-reminder>` blocks and tool
//! results are skipped without being parsed (a scan for a text block), and
//! at most a bounded number of bytes of human turns are parsed, so a
//! several-hundred-KB agent conversation costs microseconds. A long agent
//! loop does not hide the request that started it: the turn budget is far
//! beyond what one task's tool calls take.

use crate::core::RawRequest;
use crate::core::TurnRole;
use serde::Deserialize;
use std::borrow::Cow;

/// Turns read backwards at most (a Claude Code task can run to hundreds of
/// tool calls; a turn of tool results costs one scan, not a parse).
const MAX_TURNS: usize = 2_000;
/// Turns read past the latest request looking for the one before it (what
/// came before a long loop says little about a follow-up).
const MAX_TURNS_BEFORE: usize = 24;
/// Content bytes parsed at most.
const MAX_BYTES: usize = 64 * 1024;
/// Characters of a prompt kept for analysis.
const MAX_PROMPT_CHARS: usize = 32 * 1024;

/// The classifier's view of a conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversation {
    /// The latest human request (system reminders removed).
    pub prompt: String,
    /// The human request before it, if any.
    pub previous: Option<String>,
    /// User and assistant turns in the whole conversation.
    pub turns: usize,
    /// Tool results since the latest human request (depth of the agent loop).
    pub tool_steps: usize,
    /// The latest human request was not found within the reading budget.
    pub prompt_out_of_reach: bool,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    text: Option<String>,
}

fn is_reminder(text: &str) -> bool {
    text.trim_start().starts_with("<system-reminder>")
}

/// Human text (system reminders left out) and tool results in one user turn.
pub(super) fn read_user_turn(raw: &[u8]) -> (String, usize) {
    match raw.first() {
        Some(b'"') => match serde_json::from_slice::<String>(raw) {
            Ok(t) if !is_reminder(&t) => (t, 0),
            _ => (String::new(), 0),
        },
        Some(b'[') => {
            let Ok(blocks) = serde_json::from_slice::<Vec<Block<'_>>>(raw) else {
                return (String::new(), 0);
            };
            let mut text = String::new();
            let mut results = 0;
            for b in blocks {
                match (b.kind.as_deref(), b.text) {
                    (Some("text"), Some(t)) if !is_reminder(&t) => {
                        if !text.is_empty() {
                            text.push('\n');
                        }
                        text.push_str(&t);
                    }
                    (Some("tool_result"), _) => results += 1,
                    _ => {}
                }
            }
            (text, results)
        }
        _ => (String::new(), 0),
    }
}

fn clip(mut s: String) -> String {
    if s.len() > MAX_PROMPT_CHARS {
        let mut cut = MAX_PROMPT_CHARS;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Read the conversation of a request.
pub fn read(raw: &RawRequest) -> Conversation {
    let messages = raw.messages();
    let mut c = Conversation {
        turns: messages
            .iter()
            .filter(|m| matches!(m.role, TurnRole::User | TurnRole::Assistant))
            .count(),
        ..Conversation::default()
    };
    let mut found_prompt = false;
    let mut bytes = 0usize;
    let mut prompt_at = usize::MAX;
    for (read, m) in messages.iter().rev().enumerate() {
        if read >= MAX_TURNS
            || bytes >= MAX_BYTES
            || read.saturating_sub(prompt_at) > MAX_TURNS_BEFORE
        {
            break;
        }
        match m.role {
            TurnRole::Tool if !found_prompt => c.tool_steps += 1,
            TurnRole::User => {
                let content = raw.content_of(m);
                // A turn with no text block holds only tool results: count
                // them without parsing (often whole files).
                if content.first() == Some(&b'[')
                    && memchr::memmem::find(content, b"\"text\"").is_none()
                {
                    if !found_prompt {
                        c.tool_steps +=
                            memchr::memmem::find_iter(content, b"\"tool_result\"").count();
                    }
                    continue;
                }
                bytes += content.len();
                let (text, results) = read_user_turn(content);
                if !found_prompt {
                    c.tool_steps += results;
                }
                if text.trim().is_empty() {
                    continue;
                }
                if found_prompt {
                    c.previous = Some(clip(text));
                    break;
                }
                c.prompt = clip(text);
                found_prompt = true;
                prompt_at = read;
            }
            _ => {}
        }
    }
    c.prompt_out_of_reach = !found_prompt && messages.iter().any(|m| m.role == TurnRole::User);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::BodyKind;
    use bytes::Bytes;
    use serde_json::json;

    fn conv(body: serde_json::Value, kind: BodyKind) -> Conversation {
        read(&RawRequest::parse(Bytes::from(body.to_string()), kind).unwrap())
    }

    #[test]
    fn claude_code_agent_loop() {
        let path = format!(
            "{}/tests/fixtures/anthropic/claude_code_tool_result.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let raw =
            RawRequest::parse(std::fs::read(path).unwrap().into(), BodyKind::Messages).unwrap();
        let c = read(&raw);
        assert_eq!(
            c.prompt, "Run the probe command. PROBE_TOOL_BASH",
            "reminders and system turns skipped"
        );
        assert_eq!((c.tool_steps, c.turns, c.previous), (1, 3, None));
    }

    #[test]
    fn a_long_agent_loop_does_not_hide_its_request() {
        let mut messages = vec![json!({"role": "user", "content": "refactor the billing module"})];
        for i in 0..60 {
            messages.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": format!("t{i}"), "name": "Read", "input": {}}]}));
            messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": format!("t{i}"), "content": "x".repeat(2000)}]}));
        }
        let c = conv(
            json!({"model": "m", "max_tokens": 5, "messages": messages}),
            BodyKind::Messages,
        );
        assert_eq!(
            (c.prompt.as_str(), c.tool_steps, c.prompt_out_of_reach),
            ("refactor the billing module", 60, false)
        );
    }

    #[test]
    fn follow_ups_and_openai_tool_messages() {
        let c = conv(
            json!({"model": "m", "max_tokens": 5, "messages": [
                {"role": "user", "content": "refactor the billing module"},
                {"role": "assistant", "content": "Done."},
                {"role": "user", "content": [{"type": "text", "text": "<system-reminder>x</system-reminder>"}, {"type": "text", "text": "yes go ahead"}]}
            ]}),
            BodyKind::Messages,
        );
        assert_eq!(
            (c.prompt.as_str(), c.previous.as_deref()),
            ("yes go ahead", Some("refactor the billing module"))
        );
        let c = conv(
            json!({"model": "m", "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c", "content": "18C"}
            ]}),
            BodyKind::ChatCompletions,
        );
        assert_eq!((c.prompt.as_str(), c.tool_steps), ("weather?", 1));
    }
}

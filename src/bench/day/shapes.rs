//! Claude Code's request shapes, as 2.1.332 sends them (see
//! `../shared/probes/claude-code/REPORT.md`): a system prompt of three
//! blocks (the last two marked for caching), a dozen tools, a first user
//! turn that opens with a system reminder, tool calls and their results,
//! and one more cache breakpoint on the last block of the last message,
//! moved every turn. The title helper asks for structured output and has
//! no tools. The text is filler of the real sizes (about 49 KB before the
//! first prompt).

use serde_json::{Value, json};

const TOOLS: &[&str] = &[
    "Agent",
    "Bash",
    "Edit",
    "Glob",
    "Grep",
    "Read",
    "Write",
    "TodoWrite",
    "WebFetch",
    "AskUserQuestion",
    "ExitPlanMode",
    "Skill",
];

fn filler(bytes: usize) -> String {
    "Placeholder text of the same length as the original client text. "
        .repeat(bytes / 66 + 1)
        .chars()
        .take(bytes)
        .collect()
}

/// The parts of every main-loop request that never change.
#[derive(Debug, Clone)]
pub struct Frame {
    system: Value,
    tools: Value,
    reminder: String,
}

impl Default for Frame {
    fn default() -> Self {
        let tools: Vec<Value> = TOOLS
            .iter()
            .map(|name| {
                json!({"name": name, "description": filler(2200), "input_schema": {
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object", "properties": {"input": {"type": "string", "description": filler(300)}}}})
            })
            .collect();
        Frame {
            system: json!([
                {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.d7b; cc_entrypoint=cli;"},
                {"type": "text", "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": filler(7_000), "cache_control": {"type": "ephemeral"}}
            ]),
            tools: Value::Array(tools),
            reminder: format!("<system-reminder>\n{}\n</system-reminder>", filler(9_000)),
        }
    }
}

impl Frame {
    /// A conversation's first user turn.
    pub fn first_turn(&self, prompt: &str) -> Value {
        json!({"role": "user", "content": [
            {"type": "text", "text": self.reminder},
            {"type": "text", "text": prompt}
        ]})
    }

    /// The main-loop request for `messages`, the last block marked.
    pub fn request(&self, messages: &[Value]) -> Value {
        let mut messages = messages.to_vec();
        if let Some(last) = messages.last_mut() {
            if let Some(text) = last["content"].as_str().map(str::to_string) {
                last["content"] = json!([{"type": "text", "text": text}]);
            }
            if let Some(block) = last["content"].as_array_mut().and_then(|b| b.last_mut()) {
                block["cache_control"] = json!({"type": "ephemeral"});
            }
        }
        json!({
            "model": "claude-opus-5-5", "max_tokens": 32000, "stream": true,
            "system": self.system, "tools": self.tools, "messages": messages,
            "thinking": {"type": "adaptive"},
            "metadata": {"user_id": "{\"device_id\":\"day\"}"}
        })
    }

    /// The same conversation, as `count_tokens` is asked.
    pub fn count(&self, messages: &[Value]) -> Value {
        let mut body = self.request(messages);
        if let Some(o) = body.as_object_mut() {
            o.remove("stream");
            o.remove("max_tokens");
        }
        body
    }

    /// The title helper's request for a session's first prompt.
    pub fn title(&self, prompt: &str) -> Value {
        json!({
            "model": "claude-opus-5-5", "max_tokens": 32000, "stream": true,
            "system": [{"type": "text", "text": "Generate a concise title for this coding session."}],
            "messages": [{"role": "user", "content": prompt}],
            "output_config": {"format": {"type": "json_schema", "schema": {
                "type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}}}
        })
    }
}

/// The thinking block `signer` (the upstream model that answered) wrote.
fn thinking(signer: Option<&str>) -> Vec<Value> {
    signer
        .map(|s| json!({"type": "thinking", "thinking": "…", "signature": format!("SIG-{s}")}))
        .into_iter()
        .collect()
}

/// The model's tool call (with the thinking of the model that made it),
/// and the result the client sends back.
pub fn tool_turns(
    id: &str,
    name: &str,
    input: &Value,
    output: &str,
    is_error: bool,
    signer: Option<&str>,
) -> [Value; 2] {
    let mut content = thinking(signer);
    content.push(json!({"type": "text", "text": "Next step."}));
    content.push(json!({"type": "tool_use", "id": id, "name": name, "input": input}));
    [
        json!({"role": "assistant", "content": content}),
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": id, "content": output, "is_error": is_error}
        ]}),
    ]
}

/// The model's answer in words.
pub fn says(text: &str, signer: Option<&str>) -> Value {
    let mut content = thinking(signer);
    content.push(json!({"type": "text", "text": text}));
    json!({"role": "assistant", "content": content})
}

/// A person's later turn.
pub fn person(text: &str) -> Value {
    json!({"role": "user", "content": [{"type": "text", "text": text}]})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{BodyKind, RawRequest};
    use crate::routing::plan::is_background;

    #[test]
    fn the_shapes_read_as_claude_code_requests() {
        let f = Frame::default();
        let first = f.request(&[f.first_turn("refactor billing")]);
        let bytes = first.to_string();
        assert!(
            (45_000..60_000).contains(&bytes.len()),
            "{} bytes",
            bytes.len()
        );
        assert_eq!(bytes.matches("cache_control").count(), 3);
        let raw = RawRequest::parse(bytes.into(), BodyKind::Messages).unwrap();
        assert!(!is_background(&raw));
        let title = RawRequest::parse(
            f.title("refactor billing").to_string().into(),
            BodyKind::Messages,
        )
        .unwrap();
        assert!(
            is_background(&title),
            "the title helper is known by its shape"
        );
    }
}

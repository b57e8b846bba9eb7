//! Lossless round trips of real Claude Code bodies and SDK stream fixtures
//! through the canonical types.

use super::*;
use serde_json::Value;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn claude_code_requests_round_trip_losslessly() {
    for name in [
        "claude_code_simple.json",
        "claude_code_tool_result.json",
        "claude_code_auto_mode.json",
        "claude_code_title_helper.json",
        "claude_code_count_tokens.json",
    ] {
        let original: Value = serde_json::from_str(&fixture(name)).unwrap();
        let req: ChatRequest = serde_json::from_value(original.clone()).unwrap();
        let back = serde_json::to_value(&req).unwrap();
        assert_eq!(back, original, "{name} changed in a round trip");
    }
}

#[test]
fn modelled_fields_are_typed() {
    let req: ChatRequest = serde_json::from_str(&fixture("claude_code_tool_result.json")).unwrap();
    assert!(req.is_stream());
    assert!(req.thinking.as_ref().unwrap().is_on());
    assert!(
        req.extra.contains_key("context_management"),
        "unknown fields kept"
    );
    assert!(
        req.messages.iter().any(|m| m.role == Role::System),
        "system turns inside messages"
    );
    let assistant = req
        .messages
        .iter()
        .find(|m| m.role == Role::Assistant)
        .unwrap();
    let Content::Blocks(blocks) = &assistant.content else {
        panic!("blocks expected")
    };
    assert!(matches!(&blocks[0], ContentBlock::Thinking(t) if t.signature.is_some()));
    assert!(matches!(&blocks[2], ContentBlock::ToolUse(t) if t.name == "Bash"));
    let last = req.messages.last().unwrap();
    let Content::Blocks(blocks) = &last.content else {
        panic!("blocks expected")
    };
    assert!(matches!(&blocks[0], ContentBlock::ToolResult(r) if r.cache_control.is_some()));
}

#[test]
fn unknown_blocks_survive() {
    let json =
        r#"{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"q":"x"}}"#;
    let block: ContentBlock = serde_json::from_str(json).unwrap();
    assert!(matches!(block, ContentBlock::Other(_)));
    assert_eq!(
        serde_json::to_value(&block).unwrap(),
        serde_json::from_str::<Value>(json).unwrap()
    );
}

#[test]
fn stream_fixtures_round_trip() {
    for name in ["stream_tool_use.sse", "stream_thinking_crlf.sse"] {
        let text = fixture(name);
        let mut n = 0;
        for line in text.lines() {
            let Some(data) = line.strip_prefix("data: ") else {
                continue;
            };
            let original: Value = serde_json::from_str(data).unwrap();
            let event: StreamEvent = serde_json::from_value(original.clone()).unwrap();
            assert_eq!(
                serde_json::to_value(&event).unwrap(),
                original,
                "{name}: {data}"
            );
            assert_eq!(event.name(), original["type"]);
            n += 1;
        }
        assert!(n >= 8, "{name}: only {n} events");
    }
}

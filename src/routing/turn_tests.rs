//! Tests of turn reading: people's turns, tool turns, and each signal.

use super::*;
use crate::core::BodyKind;
use bytes::Bytes;
use serde_json::{Value, json};

fn turn(messages: Value) -> Turn {
    let body = json!({"model": "claude-opus-5-5", "max_tokens": 10, "messages": messages});
    read(&RawRequest::parse(Bytes::from(body.to_string()), BodyKind::Messages).unwrap())
}

fn call(id: &str, name: &str, input: Value) -> Value {
    json!({"role": "assistant", "content": [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": id, "name": name, "input": input}
    ]})
}

fn result(id: &str, content: &str, is_error: bool) -> Value {
    json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": id, "content": content, "is_error": is_error},
        {"type": "text", "text": "<system-reminder>todo list empty</system-reminder>"}
    ]})
}

fn signal(t: &Turn) -> Option<Signal> {
    match &t.step {
        Step::Tools { signal, .. } => *signal,
        Step::Human { .. } => panic!("not a tool turn: {t:?}"),
    }
}

const TASK: &str = "Refactor the billing module to use the new ledger";

#[test]
fn a_person_and_a_tool_step() {
    let t = turn(json!([{"role": "user", "content": TASK}]));
    assert_eq!(
        t.step,
        Step::Human {
            answers_question: false
        }
    );
    let t = turn(json!([
        {"role": "user", "content": TASK},
        call("t1", "Read", json!({"file_path": "src/billing.rs"})),
        result("t1", "fn bill() {}\n", false),
    ]));
    assert_eq!(
        t.step,
        Step::Tools {
            called: vec!["Read".into()],
            signal: None
        }
    );
    // A person's words beside the results make it a person's turn.
    let mixed = turn(json!([
        {"role": "user", "content": TASK},
        call("t1", "Read", json!({"file_path": "a"})),
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "x"},
            {"type": "text", "text": "actually, do it in the ledger crate"}
        ]},
    ]));
    assert!(matches!(mixed.step, Step::Human { .. }));
}

#[test]
fn errors_and_refusals() {
    let t = turn(json!([
        {"role": "user", "content": TASK},
        call("t1", "Read", json!({"file_path": "gone.rs"})),
        result("t1", "File does not exist.", true),
    ]));
    assert_eq!(signal(&t), Some(Signal::ToolError));
    let t = turn(json!([
        {"role": "user", "content": TASK},
        call("t1", "Edit", json!({"file_path": "a.rs"})),
        result("t1", "<tool_use_error>old_string not found in file</tool_use_error>", true),
    ]));
    assert_eq!(signal(&t), Some(Signal::RefusedCall));
}

#[test]
fn failing_commands_but_not_failing_words_in_files() {
    let run = |name: &str, output: &str| {
        signal(&turn(json!([
            {"role": "user", "content": TASK},
            call("t1", name, json!({"command": "cargo test"})),
            result("t1", output, false),
        ])))
    };
    let failed = "running 3 tests\ntest a ... ok\ntest b ... FAILED\n\ntest result: FAILED. 2 passed; 1 failed";
    assert_eq!(run("Bash", failed), Some(Signal::FailingRun));
    assert_eq!(
        run(
            "Bash",
            "Traceback (most recent call last):\n  File \"x.py\""
        ),
        Some(Signal::FailingRun)
    );
    assert_eq!(
        run("Bash", "test result: ok. 12 passed; 0 failed"),
        None,
        "a passing run"
    );
    // The same words in a file that was read are not a failure.
    assert_eq!(run("Read", failed), None);
}

#[test]
fn loops_subagents_and_answers() {
    let grep = json!({"pattern": "fn bill"});
    let t = turn(json!([
        {"role": "user", "content": TASK},
        call("t1", "Grep", grep.clone()),
        result("t1", "src/billing.rs:3", false),
        call("t2", "Grep", grep.clone()),
        result("t2", "src/billing.rs:3", false),
    ]));
    assert_eq!(signal(&t), Some(Signal::Looping));
    let t = turn(json!([
        {"role": "user", "content": TASK},
        call("t1", "Grep", grep),
        result("t1", "src/billing.rs:3", false),
        call("t2", "Grep", json!({"pattern": "fn ledger"})),
        result("t2", "src/ledger.rs:9", false),
    ]));
    assert_eq!(signal(&t), None, "different calls are progress");
    let t = turn(json!([
        {"role": "user", "content": TASK},
        call("t1", "Agent", json!({"prompt": "find the callers"})),
        result("t1", "Found 4 callers: …", false),
    ]));
    assert_eq!(signal(&t), Some(Signal::SubagentReport));
    let t = turn(json!([
        {"role": "user", "content": TASK},
        {"role": "assistant", "content": [{"type": "text", "text": "Should I keep the old API as a shim?"}]},
        {"role": "user", "content": "yes"},
    ]));
    assert_eq!(
        t.step,
        Step::Human {
            answers_question: true
        }
    );
}

#[test]
fn conversations_are_told_apart_by_their_first_turn() {
    let main = turn(json!([{"role": "user", "content": TASK}]));
    let later = turn(json!([
        {"role": "user", "content": TASK},
        call("t1", "Read", json!({"file_path": "a"})),
        result("t1", "x", false),
    ]));
    let subagent = turn(json!([{"role": "user", "content": "find the callers of bill()"}]));
    assert_eq!(main.conversation, later.conversation);
    // Claude Code marks the last block of the last message: in the first
    // request that is the first turn, later it is not.
    let marked = turn(json!([{"role": "user", "content": [
        {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
        {"type": "text", "text": TASK, "cache_control": {"type": "ephemeral"}}]}]));
    let unmarked = turn(json!([
        {"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
            {"type": "text", "text": TASK}]},
        call("t1", "Read", json!({"file_path": "a"})),
        result("t1", "x", false),
    ]));
    assert_eq!(marked.conversation, unmarked.conversation);
    // The same with the key last, as Claude Code writes it.
    let raw = |first: &str| {
        let body = format!(
            r#"{{"model":"m","max_tokens":1,"messages":[{{"role":"user","content":[{first}]}}]}}"#
        );
        read(&RawRequest::parse(Bytes::from(body), BodyKind::Messages).unwrap()).conversation
    };
    assert_eq!(
        raw(r#"{"type":"text","text":"hi", "cache_control": {"type":"ephemeral","ttl":"1h"}}"#),
        raw(r#"{"type":"text","text":"hi"}"#)
    );
    assert_ne!(marked.conversation, main.conversation);
    assert_ne!(main.conversation, subagent.conversation);
    assert!(!main.cache_marked);
}

#[test]
fn openai_tool_messages() {
    let body = json!({"model": "m", "messages": [
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": "18C"}
    ]});
    let t =
        read(&RawRequest::parse(Bytes::from(body.to_string()), BodyKind::ChatCompletions).unwrap());
    assert!(matches!(t.step, Step::Tools { signal: None, .. }));
}

#[test]
fn the_claude_code_capture() {
    let path = format!(
        "{}/tests/fixtures/anthropic/claude_code_tool_result.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let raw = RawRequest::parse(std::fs::read(path).unwrap().into(), BodyKind::Messages).unwrap();
    let t = read(&raw);
    assert_eq!(
        t.step,
        Step::Tools {
            called: vec!["Bash".into()],
            signal: None
        }
    );
    assert!(t.cache_marked);
}

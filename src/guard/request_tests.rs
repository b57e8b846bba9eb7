use super::*;
use crate::core::BodyKind;
use serde_json::json;

const AWS_ID: &str = "AKIAZ4TQ7RB3NW5PLXVM";
const GITHUB: &str = "ghp_R8fK2mQ9xT4vL7nB3cW6yH1jD5sA0gE2uZpY";

fn guard() -> RequestGuard {
    RequestGuard::new(&GuardConfig::default()).unwrap()
}

fn raw(body: Value, kind: BodyKind) -> RawRequest {
    RawRequest::parse(Bytes::from(body.to_string()), kind).unwrap()
}

/// A Claude Code turn: it read `.env` and ran `cat` on a credentials file,
/// and the developer pasted a key; the thinking block quotes one too.
fn claude_code_body() -> Value {
    json!({
        "model": "claude-sonnet-5-5",
        "max_tokens": 1000,
        "system": [{"type": "text", "text": format!("You are Claude Code. CLAUDE.md says: deploy key {GITHUB}")}],
        "messages": [
            {"role": "user", "content": format!("why does boto fail? my key id is {AWS_ID}")},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": format!("the key {AWS_ID} looks fine"), "signature": "sig"},
                {"type": "text", "text": "Let me look at the config."},
                {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/work/app/.env"}},
                {"type": "tool_use", "id": "toolu_2", "name": "Bash", "input": {"command": "cat ~/.aws/credentials"}},
                {"type": "tool_use", "id": "toolu_3", "name": "Read", "input": {"file_path": "/work/app/src/main.py"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "     1\u{2192}DB_PASSWORD=hunter2hunter2\n     2\u{2192}DEBUG=true"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "[default]\naws_access_key_id = X"}]},
                {"type": "tool_result", "tool_use_id": "toolu_3", "content": "print('hello')"}
            ]}
        ]
    })
}

#[test]
fn secrets_and_sensitive_files_are_found_and_redacted() {
    let g = guard();
    let r = raw(claude_code_body(), BodyKind::Messages);
    let seen = g.inspect(&r);
    let kinds: Vec<&str> = seen.found.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "github_token",
            "aws_access_key_id",
            "sensitive_file",
            "sensitive_file"
        ],
        "{seen:?}"
    );
    assert!(seen.summary().contains("sensitive_file /work/app/.env"));
    assert!(seen.summary().contains("sensitive_file ~/.aws/credentials"));
    assert!(!seen.summary().contains(AWS_ID), "never the secret");
    let out = g.inspect(&r).redacted(&r).unwrap();
    let text = String::from_utf8_lossy(out.bytes()).into_owned();
    assert!(!text.contains(GITHUB), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("aws_access_key_id = X"), "{text}");
    assert!(text.contains("[REDACTED:aws_access_key_id:"), "{text}");
    assert!(text.contains("the contents of /work/app/.env were withheld"));
    // Untouched: the thinking block (its signature covers its text), the
    // harmless file, the tool calls themselves.
    assert!(text.contains(&format!("the key {AWS_ID} looks fine")));
    assert!(text.contains("print('hello')"));
    assert!(text.contains("\"file_path\":\"/work/app/.env\""));
    assert_eq!(out.messages().len(), 3);
    assert_eq!(out.model(), "claude-sonnet-5-5");
}

#[test]
fn openai_tool_turns_and_text() {
    let g = guard();
    let body = json!({
        "model": "gpt-x",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": format!("push with {GITHUB}")}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\": \"config/server.pem\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\": \"README.md\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "-----BEGIN PRIVATE KEY-----\nMIIE..."},
            {"role": "tool", "tool_call_id": "call_2", "content": "# readme"}
        ]
    });
    let r = raw(body, BodyKind::ChatCompletions);
    let seen = g.inspect(&r);
    assert_eq!(
        seen.summary()
            .matches("sensitive_file config/server.pem")
            .count(),
        1
    );
    assert!(seen.found.iter().any(|f| f.kind == "github_token"));
    let out = seen.redacted(&r).unwrap();
    let text = String::from_utf8_lossy(out.bytes()).into_owned();
    assert!(!text.contains("BEGIN PRIVATE KEY"), "{text}");
    assert!(!text.contains(GITHUB));
    assert!(text.contains("# readme"));
}

#[test]
fn clean_turns_are_read_once_and_findings_every_time() {
    let g = guard();
    let mut body = json!({
        "model": "m", "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "an answer"},
            {"role": "user", "content": format!("use {AWS_ID}")}
        ]
    });
    let r = raw(body.clone(), BodyKind::Messages);
    assert_eq!(g.inspect(&r).read, 3);
    let again = g.inspect(&r);
    assert_eq!(again.read, 1, "only the turn with a finding is read again");
    let first = again.redacted(&r).unwrap();
    // The conversation goes on: only the new turns are read, and the old
    // finding is redacted the same way (the provider's cache prefix holds).
    if let Some(m) = body["messages"].as_array_mut() {
        m.push(json!({"role": "assistant", "content": "ok"}));
        m.push(json!({"role": "user", "content": "thanks, next step"}));
    }
    let r2 = raw(body, BodyKind::Messages);
    let seen = g.inspect(&r2);
    assert_eq!(seen.read, 3);
    let second = seen.redacted(&r2).unwrap();
    let prefix = |r: &RawRequest| {
        let b = r.bytes();
        let m = &r.messages()[2];
        b[..m.content.end].to_vec()
    };
    assert_eq!(prefix(&first), prefix(&second));
}

#[test]
fn a_clean_request_is_left_as_it_is() {
    let g = guard();
    let r = raw(
        json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi, the sha is 9f2c1e7a4b"}]}),
        BodyKind::Messages,
    );
    let seen = g.inspect(&r);
    assert!(seen.is_clean());
    assert_eq!(seen.redacted(&r).unwrap().bytes(), r.bytes());
}

#[test]
fn a_pasted_private_key_leaves_nothing_of_itself() {
    let line = "MHcCAQEEIFDZHUzOG1Pzq6F0mjMlOSp1syN9LRPBuHMoCFXTcXhoAoGCCqGSM49";
    let key = format!(
        "-----BEGIN EC PRIVATE KEY-----\n{line}\nAwEHoUQDQgAE9qhj{line}\n-----END EC PRIVATE KEY-----\n"
    );
    let body = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": format!("is this key valid?\n{key}thanks")}
    ]});
    let g = guard();
    let r = raw(body, BodyKind::Messages);
    let seen = g.inspect(&r);
    let out = seen.redacted(&r).unwrap();
    let text = String::from_utf8_lossy(out.bytes()).into_owned();
    assert!(
        !text.contains(line) && !text.contains("PRIVATE KEY"),
        "{text}"
    );
    assert!(
        text.contains("[REDACTED:private_key:") && text.contains("thanks"),
        "{text}"
    );
}

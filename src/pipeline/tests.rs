//! The lifecycle without HTTP on the client side: a context, a body, a
//! reply and exactly one record — against a loopback upstream that speaks
//! the Anthropic wire protocol.

use super::*;
use crate::config::{ConfigSource, load_str};
use crate::usage::RecordSink;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
struct Records(Mutex<Vec<RequestRecord>>);

impl RecordSink for Records {
    fn record(&self, record: &RequestRecord) {
        self.0.lock().unwrap().push(record.clone());
    }
}

const ANSWER: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":3}}"#;

/// An upstream that answers every request with one Anthropic message.
async fn upstream() -> String {
    upstream_with("200 OK", ANSWER).await
}

/// An upstream that answers every request with `status` and `body`.
async fn upstream_with(status: &'static str, body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut seen = Vec::new();
                // Read the head and the body its content-length announces.
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&seen).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if seen.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

async fn state(base_url: &str) -> (AppState, Arc<Records>) {
    crate::providers::upstream::install_crypto_provider();
    let toml = format!(
        r#"
auth = "none"
[providers.anthropic]
kind = "anthropic"
base_url = "{base_url}"
api_key = "sk-upstream"

[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-4-5-20250929"
aliases = ["claude-sonnet-*"]
"#
    );
    let config = load_str(&toml, ConfigSource::Embedded, &|_| None).unwrap();
    let records = Arc::new(Records::default());
    let state = AppState::new(config, vec![records.clone()], None)
        .await
        .unwrap();
    (state, records)
}

fn body(model: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"model":"{model}","max_tokens":10,"messages":[{{"role":"user","content":"hello"}}]}}"#
    ))
}

/// Run one chat through the lifecycle, as a client of `dialect` would send it.
async fn run(state: &AppState, dialect: Dialect, body: Bytes) -> Reply {
    let headers = HeaderMap::new();
    let (endpoint, kind) = match dialect {
        Dialect::OpenAi => ("chat_completions", BodyKind::ChatCompletions),
        _ => ("messages", BodyKind::Messages),
    };
    let ctx = RequestContext::start(state, "req", dialect, endpoint, &headers, None);
    let raw = ctx.parse(body, kind).unwrap();
    chat(ctx, raw).await
}

fn full(reply: &Reply) -> &[u8] {
    match reply.body() {
        ReplyBody::Full(b) => b,
        ReplyBody::Stream(_) => panic!("expected a whole body"),
    }
}

#[tokio::test]
async fn a_chat_is_answered_and_recorded_once() {
    let (state, records) = state(&upstream().await).await;
    let reply = run(&state, Dialect::Anthropic, body("claude-sonnet-4-5")).await;
    assert_eq!(reply.status(), 200);
    assert_eq!(full(&reply), ANSWER.as_bytes());
    assert_eq!(
        reply.headers()["x-switchyard-model"],
        "claude-sonnet-4-5-20250929"
    );
    assert_eq!(reply.headers()["x-switchyard-cache"], "skip");
    let records = records.0.lock().unwrap();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (12, 3));
    assert_eq!(r.model.as_deref(), Some("sonnet"));
}

#[tokio::test]
async fn an_unknown_model_fails_in_the_clients_dialect() {
    let (state, records) = state(&upstream().await).await;
    let reply = run(
        &state,
        Dialect::OpenAi,
        Bytes::from_static(br#"{"model":"gpt-nope","messages":[{"role":"user","content":"x"}]}"#),
    )
    .await;
    assert_eq!(reply.status(), 404);
    let v: serde_json::Value = serde_json::from_slice(full(&reply)).unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("gpt-nope"),
        "{v}"
    );
    let records = records.0.lock().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, Outcome::Failed);
}

#[tokio::test]
async fn an_unreachable_upstream_fails_once_with_its_attempts() {
    // Nothing listens on port 1.
    let (state, records) = state("http://127.0.0.1:1").await;
    let reply = run(&state, Dialect::Anthropic, body("claude-sonnet-4-5")).await;
    assert!(reply.status().is_server_error(), "{}", reply.status());
    let v: serde_json::Value = serde_json::from_slice(full(&reply)).unwrap();
    assert_eq!(v["type"], "error");
    let records = records.0.lock().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, Outcome::Failed);
    assert!(records[0].attempts >= 1);
    assert_eq!(records[0].provider.as_deref(), Some("anthropic"));
}

#[tokio::test]
async fn the_record_keeps_the_status_the_client_got() {
    let overloaded =
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let (state, records) = state(&upstream_with("529 Overloaded", overloaded).await).await;
    let reply = run(
        &state,
        Dialect::OpenAi,
        Bytes::from_static(
            br#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"x"}]}"#,
        ),
    )
    .await;
    // OpenAI clients know 503, not Anthropic's 529; the ledger says what they got.
    assert_eq!(reply.status(), 503);
    assert_eq!(records.0.lock().unwrap()[0].status, 503);
}

//! Each upstream timeout, end to end.

use crate::support::mock::text_events;
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

fn config(timeouts: &str) -> String {
    format!("[retry]\nattempts = 0\n[timeouts]\n{timeouts}")
}

#[tokio::test]
async fn first_byte_timeout_is_a_504() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), &config("first_byte = \"150ms\"")).await;
    mock.push(Reply::Delay(
        Duration::from_secs(5),
        Box::new(Reply::text_stream("late", Duration::ZERO)),
    ));
    let resp = gw.post("/v1/messages", &body("claude-x", true)).await;
    assert_eq!(resp.status(), 504);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "timeout_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("first_byte"),
        "{v}"
    );
    // Headers in time but no first event: the same timeout.
    mock.push(Reply::Sse {
        events: vec![],
        gap: Duration::ZERO,
        tail: StreamTail::Hang,
    });
    let resp = gw.post("/v1/messages", &body("claude-x", true)).await;
    assert_eq!(resp.status(), 504);
}

fn whole(text: &str) -> Reply {
    Reply::Json {
        status: 200,
        headers: vec![],
        body: crate::support::mock::text_message("claude-x", text).to_string(),
    }
}

/// A whole answer is asked for upstream as a stream, so the first-byte
/// limit applies to it like to any stream: a hung first target is left
/// after `first_byte`, the fallback answers with a fresh budget, the client
/// gets the whole answer assembled, and the fallback's breaker is not
/// charged.
#[tokio::test]
async fn a_hung_target_is_left_at_first_byte_for_whole_answers_too() {
    let (hang, ok) = (MockUpstream::start().await, MockUpstream::start().await);
    let provider = |name: &str, url: &str| {
        format!(
            "[providers.{name}]\nkind = \"anthropic\"\nbase_url = \"{url}\"\napi_key = \"k\"\n[models.{name}]\nprovider = \"{name}\"\nid = \"claude-{name}\"\n"
        )
    };
    let gw = TestGateway::custom(&format!(
        "[retry]\nattempts = 0\n[timeouts]\nfirst_byte = \"300ms\"\n{}{}\
         [[routes]]\nmatch = {{ model = \"claude-pair\" }}\ntargets = [\"hang\", \"ok\"]\n",
        provider("hang", &hang.url()),
        provider("ok", &ok.url()),
    ))
    .await;
    hang.push(Reply::Delay(
        Duration::from_secs(30),
        Box::new(whole("too late")),
    ));
    ok.push(Reply::Sse {
        events: text_events("claude-ok", "from the fallback", 12, 4),
        gap: Duration::from_millis(1),
        tail: StreamTail::Complete,
    });
    let started = std::time::Instant::now();
    let resp = gw.post("/v1/messages", &body("claude-pair", false)).await;
    assert_eq!(resp.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "not the hang's 30 s"
    );
    assert_eq!(header(&resp, "x-switchyard-attempts"), "2");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "message", "{v}");
    assert_eq!(v["content"][0]["text"], "from the fallback");
    assert_eq!(v["usage"]["output_tokens"], 4);
    for up in [&hang, &ok] {
        assert_eq!(up.seen()[0].json()["stream"], true, "asked as a stream");
    }
    let rec = &gw.records.wait_for(1).await[0];
    assert_eq!((rec.model.as_deref(), rec.attempts), (Some("ok"), 2));
    assert_eq!((rec.usage.input_tokens, rec.usage.output_tokens), (12, 4));
    assert!(!rec.stream, "the client asked for a whole answer");
    let health = gw.get_json("/health").await;
    let ok_state = health["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == "ok/claude-ok")
        .map(|t| t["state"].clone());
    assert_ne!(ok_state, Some(json!("cooling_down")), "{health}");
}

/// With `stream_whole_answers = false` a provider is asked for the whole
/// answer, whose headers come only when it is done: the first-byte limit
/// cannot apply, the total one does.
#[tokio::test]
async fn without_streaming_a_whole_answer_waits_until_total() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::custom(&format!(
        "[retry]\nattempts = 0\n[timeouts]\nfirst_byte = \"100ms\"\ntotal = \"400ms\"\n\
         [providers.slow]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"k\"\nstream_whole_answers = false\n\
         [models.slow]\nprovider = \"slow\"\nid = \"claude-x\"\naliases = [\"claude-*\"]\n",
        mock.url()
    ))
    .await;
    // Later than first_byte, in time for total: answered.
    mock.push(Reply::Delay(
        Duration::from_millis(200),
        Box::new(whole("in time")),
    ));
    let resp = gw.post("/v1/messages", &body("claude-x", false)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(mock.seen()[0].json()["stream"], false);
    // Later than total: a 504 that names it.
    mock.push(Reply::Delay(
        Duration::from_secs(5),
        Box::new(whole("late")),
    ));
    let resp = gw.post("/v1/messages", &body("claude-x", false)).await;
    assert_eq!(resp.status(), 504);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "timeout_error");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("total"),
        "{v}"
    );
}

#[tokio::test]
async fn idle_gap_ends_the_stream_with_an_error_event() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), &config("idle = \"150ms\"")).await;
    let events = text_events("claude-x", "abc", 3, 3)
        .into_iter()
        .take(3)
        .collect();
    mock.push(Reply::Sse {
        events,
        gap: Duration::ZERO,
        tail: StreamTail::Hang,
    });
    let resp = gw.post("/v1/messages", &body("claude-x", true)).await;
    assert_eq!(resp.status(), 200);
    let events = sse_events(&resp.text().await.unwrap());
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!(data["error"]["type"], "timeout_error");
    assert!(data["error"]["message"].as_str().unwrap().contains("idle"));
    let rec = &gw.records.wait_for(1).await[0];
    assert_eq!(rec.error_kind.as_deref(), Some("timeout_idle"));
}

#[tokio::test]
async fn total_timeout_cuts_a_slow_stream() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), &config("total = \"400ms\"\nidle = \"5s\"")).await;
    let events = text_events("claude-x", &"slow ".repeat(30), 3, 3);
    mock.push(Reply::Sse {
        events,
        gap: Duration::from_millis(100),
        tail: StreamTail::Complete,
    });
    let resp = gw.post("/v1/messages", &body("claude-x", true)).await;
    let events = sse_events(&resp.text().await.unwrap());
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error");
    assert!(data["error"]["message"].as_str().unwrap().contains("total"));
    // A non-streamed request that never answers: 504.
    mock.push(Reply::Hang);
    let resp = gw.post("/v1/messages", &body("claude-x", false)).await;
    assert_eq!(resp.status(), 504);
}

/// A listener whose accept queue is full: new SYNs are dropped, so a
/// connect hangs until the client gives up.
async fn blackhole() -> (String, Vec<tokio::net::TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let listener = socket.listen(0).unwrap();
    let mut held = Vec::new();
    for _ in 0..8 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            held.push(s);
        }
    }
    std::mem::forget(listener);
    (format!("http://{addr}"), held)
}

#[tokio::test]
async fn connect_timeout_is_a_504() {
    let (url, _held) = blackhole().await;
    let gw = TestGateway::start(&url, &config("connect = \"200ms\"")).await;
    let resp = gw.post("/v1/messages", &body("claude-x", false)).await;
    assert_eq!(resp.status(), 504);
    let v: Value = resp.json().await.unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("connect"),
        "{v}"
    );
}

/// A target that hangs until the request's total deadline is charged for
/// it; the healthy fallback behind it is neither tried with no time left
/// nor charged, so other routes keep using it.
#[tokio::test]
async fn an_expired_deadline_does_not_cool_down_the_healthy_fallback() {
    let (hang, bad, ok) = (
        MockUpstream::start().await,
        MockUpstream::start().await,
        MockUpstream::start().await,
    );
    let provider = |name: &str, url: &str| {
        format!(
            "[providers.{name}]\nkind = \"anthropic\"\nbase_url = \"{url}\"\napi_key = \"k\"\n[models.{name}]\nprovider = \"{name}\"\nid = \"claude-{name}\"\n"
        )
    };
    let sections = format!(
        "[retry]\nattempts = 0\n[timeouts]\ntotal = \"300ms\"\n[health]\nfailures = 3\n{}{}{}\
         [[routes]]\nmatch = {{ model = \"claude-pair\" }}\ntargets = [\"hang\", \"ok\"]\n\
         [[routes]]\nmatch = {{ model = \"claude-other\" }}\ntargets = [\"bad\", \"ok\"]\n",
        provider("hang", &hang.url()),
        provider("bad", &bad.url()),
        provider("ok", &ok.url()),
    );
    let gw = TestGateway::custom(&sections).await;
    for _ in 0..3 {
        // Headers, then nothing: the wait for the first event ends at the
        // deadline.
        hang.push(Reply::Sse {
            events: vec![],
            gap: Duration::ZERO,
            tail: StreamTail::Hang,
        });
        let resp = gw.post("/v1/messages", &body("claude-pair", true)).await;
        assert_eq!(resp.status(), 504);
    }
    assert!(
        ok.seen().is_empty(),
        "no attempt on ok with the deadline gone"
    );
    bad.push(Reply::error(500, "api_error", "boom"));
    ok.push(whole("fine"));
    let resp = gw.post("/v1/messages", &body("claude-other", false)).await;
    assert_eq!(resp.status(), 200, "ok still serves");
    let health = gw.get_json("/health").await;
    let state = |target: &str| {
        health["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["target"] == target)
            .map(|t| t["state"].clone())
    };
    assert_eq!(
        state("hang/claude-hang"),
        Some(json!("cooling_down")),
        "{health}"
    );
    assert_ne!(
        state("ok/claude-ok"),
        Some(json!("cooling_down")),
        "{health}"
    );
}

/// A non-stream answer whose body stops after its headers ends at the idle
/// gap (so a fallback can answer), not at the total deadline.
#[tokio::test]
async fn a_stalled_non_stream_body_is_an_idle_timeout() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), &config("idle = \"150ms\"")).await;
    mock.push(Reply::Sse {
        events: text_events("claude-x", "partial", 1, 1)
            .into_iter()
            .take(1)
            .collect(),
        gap: Duration::ZERO,
        tail: StreamTail::Hang,
    });
    let started = std::time::Instant::now();
    let resp = gw.post("/v1/messages", &body("claude-x", false)).await;
    assert_eq!(resp.status(), 504);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let v: Value = resp.json().await.unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("idle"),
        "{v}"
    );
    let rec = &gw.records.wait_for(1).await[0];
    assert_eq!(rec.error_kind.as_deref(), Some("timeout_idle"));
}

/// A whole body is ready when its headers are sent: one that drips (a
/// few bytes every 100 ms, never stopping for `idle`) is left when it has
/// not all come within one idle gap, and the next target answers.
#[tokio::test]
async fn a_dripping_whole_body_is_left_at_idle() {
    let (drip, ok) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = TestGateway::custom(&format!(
        "[retry]\nattempts = 0\n[timeouts]\nidle = \"300ms\"\n\
         [providers.drip]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"k\"\nstream_whole_answers = false\n\
         [providers.ok]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"k\"\n\
         [models.drip]\nprovider = \"drip\"\nid = \"claude-drip\"\n\
         [models.ok]\nprovider = \"ok\"\nid = \"claude-ok\"\n\
         [[routes]]\nmatch = {{ model = \"claude-pair\" }}\ntargets = [\"drip\", \"ok\"]\n",
        drip.url(),
        ok.url()
    ))
    .await;
    drip.push(Reply::Drip {
        body: crate::support::mock::text_message("claude-drip", &"slow ".repeat(100)).to_string(),
        gap: Duration::from_millis(100),
    });
    let started = std::time::Instant::now();
    let resp = gw.post("/v1/messages", &body("claude-pair", false)).await;
    assert_eq!(resp.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["content"][0]["text"], "Hello from the mock.");
    let rec = &gw.records.wait_for(1).await[0];
    assert_eq!((rec.model.as_deref(), rec.attempts), (Some("ok"), 2));
}

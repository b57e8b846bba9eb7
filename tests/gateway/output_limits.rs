//! Limits on answers, end to end: a `max_tokens` ceiling (global, per key,
//! per route, per tier for attempts there; the smallest wins, thinking
//! budgets follow), a cap on an
//! answer's bytes, and a route's own timeouts over the provider's.

use crate::limits::ask;
use crate::support::mock::{MockUpstream, Reply, StreamTail, text_events, text_message};
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

fn body(model: &str, max_tokens: u64, extra: Value) -> String {
    let mut v = json!({"model": model, "max_tokens": max_tokens,
                       "messages": [{"role": "user", "content": "hi"}]});
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    v.to_string()
}

fn sent_max_tokens(up: &MockUpstream) -> Vec<Value> {
    up.seen()
        .iter()
        .map(|s| s.json()["max_tokens"].clone())
        .collect()
}

#[tokio::test]
async fn the_smallest_ceiling_applies_and_is_recorded() {
    let key = "sk-sy-ceiling-0123456789abcdefgh";
    let up = MockUpstream::start().await;
    let gw = TestGateway::start(
        &up.url(),
        &format!(
            "[guard]\nmax_tokens = 16000\n\
             [[keys]]\nname = \"intern\"\nkey = \"{key}\"\nmax_tokens = 2000\n\
             [[routes]]\nname = \"short\"\nmatch = {{ model = \"short-*\" }}\nmodel = \"sonnet\"\nmax_tokens = 500\n"
        ),
    )
    .await;
    for _ in 0..4 {
        up.push(Reply::Json {
            status: 200,
            headers: vec![],
            body: text_message("m", "ok").to_string(),
        });
    }
    // Global ceiling; under it nothing changes; the key's; the route's.
    let asks = [
        (MASTER_KEY, body("claude-sonnet-5-5", 32000, json!({}))),
        (MASTER_KEY, body("claude-sonnet-5-5", 1024, json!({}))),
        (key, body("claude-sonnet-5-5", 32000, json!({}))),
        (key, body("short-answer", 32000, json!({}))),
    ];
    for (k, b) in &asks {
        let (status, _, v) = ask(&gw, k, b).await;
        assert_eq!(status, 200, "{v}");
    }
    assert_eq!(
        sent_max_tokens(&up),
        [json!(16000), json!(1024), json!(2000), json!(500)]
    );
    let records = gw.records.wait_for(4).await;
    let notes: Vec<Option<&str>> = records.iter().map(|r| r.guard.as_deref()).collect();
    assert!(
        notes.contains(&Some("max_tokens 32000 lowered to 16000")),
        "{notes:?}"
    );
    assert!(
        notes.contains(&Some("max_tokens 32000 lowered to 500")),
        "{notes:?}"
    );
    assert_eq!(notes.iter().filter(|n| n.is_none()).count(), 1);
}

#[tokio::test]
async fn a_thinking_budget_follows_the_ceiling_or_the_request_is_refused() {
    let up = MockUpstream::start().await;
    let gw = TestGateway::start(&up.url(), "[guard]\nmax_tokens = 8192\n").await;
    up.push(Reply::Json {
        status: 200,
        headers: vec![],
        body: text_message("m", "ok").to_string(),
    });
    let thinking = json!({"thinking": {"type": "enabled", "budget_tokens": 16000}});
    let (status, _, _) = ask(&gw, MASTER_KEY, &body("claude-sonnet-5-5", 32000, thinking)).await;
    assert_eq!(status, 200);
    let sent = up.seen()[0].json();
    assert_eq!(
        (
            sent["max_tokens"].clone(),
            sent["thinking"]["budget_tokens"].clone()
        ),
        (json!(8192), json!(8191))
    );
    let gw = TestGateway::start(&up.url(), "[guard]\nmax_tokens = 512\n").await;
    let thinking = json!({"thinking": {"type": "enabled", "budget_tokens": 2048}});
    let (status, _, v) = ask(&gw, MASTER_KEY, &body("claude-sonnet-5-5", 4096, thinking)).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(up.seen().len(), 1, "the refused one never left");
}

/// A tier's ceiling holds for attempts on that tier only: a local model
/// is asked for at most its ceiling, the cloud fallback for what the
/// client asked.
#[tokio::test]
async fn a_tiers_ceiling_applies_to_attempts_on_that_tier() {
    let (local, cloud) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = TestGateway::with_ledger(&format!(
        "[providers.box]\nkind = \"openai\"\nbase_url = \"{}/v1\"\nlocal = true\n\
         [providers.cloud]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"k\"\n\
         [models.qwen]\nprovider = \"box\"\nid = \"qwen-coder\"\n\
         [models.sonnet]\nprovider = \"cloud\"\nid = \"claude-sonnet-5-5\"\n\
         [tiers]\nlocal = [\"qwen\"]\npremium = [\"sonnet\"]\n\
         [guard.tiers.local]\nmax_tokens = 4096\n\
         [[routes]]\nname = \"both\"\nmatch = {{ model = \"both\" }}\ntargets = [\"qwen\", \"sonnet\"]\n",
        local.url(),
        cloud.url()
    ))
    .await;
    // First request: the local model fails, Sonnet answers in full.
    local.push(Reply::Json {
        status: 500,
        headers: vec![],
        body: json!({"error": {"message": "boom"}}).to_string(),
    });
    cloud.push(Reply::Json {
        status: 200,
        headers: vec![],
        body: text_message("claude-sonnet-5-5", "ok").to_string(),
    });
    // Second: the local model answers.
    local.push(Reply::Json {
        status: 200,
        headers: vec![],
        body: crate::support::mock::openai_completion("qwen-coder", "ok").to_string(),
    });
    for _ in 0..2 {
        let (status, _, v) = ask(&gw, MASTER_KEY, &body("both", 32000, json!({}))).await;
        assert_eq!(status, 200, "{v}");
    }
    assert_eq!(sent_max_tokens(&local), [json!(4096), json!(4096)]);
    assert_eq!(
        sent_max_tokens(&cloud),
        [json!(32000)],
        "not the local ceiling"
    );
    let records = gw.records.wait_for(2).await;
    let notes: Vec<Option<&str>> = records.iter().map(|r| r.guard.as_deref()).collect();
    assert_eq!(
        notes,
        [None, Some("max_tokens 32000 lowered to 4096 (tier local)")],
        "noted when the capped tier answered"
    );
}

#[tokio::test]
async fn an_answer_past_the_byte_cap_is_cut_off() {
    let up = MockUpstream::start().await;
    let gw = TestGateway::start(&up.url(), "[guard]\nmax_response_bytes = 1500\n").await;
    let long = "word ".repeat(600);
    up.push(Reply::Sse {
        events: text_events("m", &long, 10, 600),
        gap: Duration::ZERO,
        tail: StreamTail::Complete,
    });
    let resp = gw
        .post(
            "/v1/messages",
            &body("claude-sonnet-5-5", 1000, json!({"stream": true})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(text.len() < 2000, "{} bytes", text.len());
    let events = sse_events(&text);
    let last = events.last().unwrap();
    assert_eq!(last.0, "error", "{text}");
    assert!(
        last.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1500 bytes")
    );
    // Whole answers: a 502 in the client's dialect.
    up.push(Reply::Json {
        status: 200,
        headers: vec![],
        body: text_message("m", &long).to_string(),
    });
    let (status, _, v) = ask(&gw, MASTER_KEY, &body("claude-sonnet-5-5", 1000, json!({}))).await;
    assert_eq!(status, 502, "{v}");
    let records = gw.records.wait_for(2).await;
    assert!(
        records
            .iter()
            .all(|r| r.error_kind.as_deref() == Some("response_too_large")),
        "{records:?}"
    );
}

#[tokio::test]
async fn a_routes_timeouts_override_the_providers() {
    let up = MockUpstream::start().await;
    let gw = TestGateway::start(
        &up.url(),
        "[[routes]]\nname = \"quick\"\nmatch = { model = \"quick\" }\nmodel = \"sonnet\"\ntimeouts = { first_byte = \"300ms\" }\n",
    )
    .await;
    let slow = || {
        Reply::Delay(
            Duration::from_secs(2),
            Box::new(Reply::text_stream("late", Duration::ZERO)),
        )
    };
    up.push(slow());
    let started = std::time::Instant::now();
    let resp = gw
        .post("/v1/messages", &body("quick", 100, json!({"stream": true})))
        .await;
    assert_eq!(resp.status(), 504);
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    // Another route keeps the provider's (120 s): the late answer arrives.
    up.push(slow());
    let resp = gw
        .post(
            "/v1/messages",
            &body("claude-sonnet-5-5", 100, json!({"stream": true})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("message_stop"));
}

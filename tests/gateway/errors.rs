//! The error table, end to end: what the client sees for each upstream
//! outcome, and for bad input.

use crate::support::mock::{ev, text_events};
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

const FAST_RETRY: &str = "[retry]\nattempts = 2\nbackoff = \"5ms\"\nmax_backoff = \"10ms\"";

async fn error_json(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn upstream_error_table() {
    struct Row {
        replies: Vec<Reply>,
        status: u16,
        error_type: &'static str,
        attempts: usize,
    }
    let row = |replies: Vec<Reply>, status, error_type, attempts| Row {
        replies,
        status,
        error_type,
        attempts,
    };
    let rows = vec![
        row(
            vec![Reply::error(
                400,
                "invalid_request_error",
                "max_tokens: too big",
            )],
            400,
            "invalid_request_error",
            1,
        ),
        row(
            vec![Reply::error(404, "not_found_error", "model: x")],
            404,
            "not_found_error",
            1,
        ),
        row(
            vec![Reply::error(413, "request_too_large", "too big")],
            413,
            "request_too_large",
            1,
        ),
        row(
            vec![Reply::error(
                401,
                "authentication_error",
                "invalid x-api-key sk-ant-upstream",
            )],
            502,
            "api_error",
            1,
        ),
        row(
            vec![Reply::error(403, "permission_error", "org disabled")],
            502,
            "api_error",
            1,
        ),
        row(
            vec![
                Reply::error(429, "rate_limit_error", "slow down").with_header("retry-after", "17"),
            ],
            429,
            "rate_limit_error",
            1,
        ),
        row(
            vec![Reply::error(500, "api_error", "boom"); 3],
            502,
            "api_error",
            3,
        ),
        row(
            vec![Reply::error(503, "api_error", "unavailable"); 3],
            529,
            "overloaded_error",
            3,
        ),
        row(
            vec![Reply::error(529, "overloaded_error", "Overloaded"); 3],
            529,
            "overloaded_error",
            3,
        ),
        row(
            vec![
                Reply::error(502, "api_error", "bad gateway"),
                Reply::error(529, "overloaded_error", "x"),
            ],
            200,
            "",
            3,
        ),
    ];
    for (i, r) in rows.into_iter().enumerate() {
        let mock = MockUpstream::start().await;
        let gw = TestGateway::start(&mock.url(), FAST_RETRY).await;
        let passthrough = match &r.replies[0] {
            Reply::Json { body, .. } if r.status < 500 && r.status != 200 => Some(body.clone()),
            _ => None,
        };
        for reply in r.replies {
            mock.push(reply);
        }
        let resp = gw
            .post("/v1/messages", &body("claude-opus-5-5", false))
            .await;
        let retry_after = resp.headers().get("retry-after").cloned();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_eq!(status, r.status, "row {i}: {text}");
        assert_eq!(mock.seen().len(), r.attempts, "row {i}: attempts");
        if r.status == 200 {
            continue;
        }
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "error", "row {i}");
        assert_eq!(v["error"]["type"], r.error_type, "row {i}: {text}");
        if let Some(original) = passthrough {
            assert_eq!(text, original, "row {i}: 4xx bodies pass through unchanged");
        }
        if r.status == 429 {
            assert_eq!(retry_after.unwrap(), "17");
        }
        if r.status == 502 {
            assert!(
                !text.contains("sk-ant") && !text.contains("org disabled"),
                "row {i}: leaked {text}"
            );
        }
        let rec = &gw.records.wait_for(1).await[0];
        assert_eq!(
            (rec.status, rec.attempts as usize),
            (r.status, r.attempts),
            "row {i}"
        );
    }
}

#[tokio::test]
async fn unreachable_upstream_is_a_502_after_retries() {
    // Bind and drop a listener so the port refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gw = TestGateway::start(&format!("http://127.0.0.1:{port}"), FAST_RETRY).await;
    let (status, v) = error_json(
        gw.post("/v1/messages", &body("claude-opus-5-5", true))
            .await,
    )
    .await;
    assert_eq!(status, 502);
    assert_eq!(v["error"]["type"], "api_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{v}"
    );
    let rec = &gw.records.wait_for(1).await[0];
    assert_eq!(
        (rec.attempts, rec.error_kind.as_deref()),
        (3, Some("transport"))
    );
}

#[tokio::test]
async fn failure_after_the_first_event_becomes_an_error_event() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), FAST_RETRY).await;
    let events = text_events("claude-opus-5-5", "partial answer", 7, 7)
        .into_iter()
        .take(4)
        .collect();
    // The gap lets the events arrive before the connection is cut.
    mock.push(Reply::Sse {
        events,
        gap: Duration::from_millis(20),
        tail: StreamTail::Disconnect,
    });
    let resp = gw
        .post("/v1/messages", &body("claude-opus-5-5", true))
        .await;
    assert_eq!(resp.status(), 200);
    let events = sse_events(&resp.text().await.unwrap());
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!(data["error"]["type"], "api_error");
    assert!(!events.iter().any(|(n, _)| n == "message_stop"));
    assert_eq!(mock.seen().len(), 1, "no retry once the client has bytes");
    let rec = &gw.records.wait_for(1).await[0];
    assert_eq!(rec.outcome, switchyard::usage::Outcome::StreamFailed);
    assert_eq!(rec.usage.input_tokens, 7);
}

#[tokio::test]
async fn error_event_before_content_is_retried() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), FAST_RETRY).await;
    mock.push(Reply::Sse {
        events: vec![ev(
            "error",
            json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}),
        )],
        gap: Duration::ZERO,
        tail: StreamTail::Complete,
    });
    let resp = gw
        .post("/v1/messages", &body("claude-opus-5-5", true))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchyard-attempts"], "2");
    let events = sse_events(&resp.text().await.unwrap());
    assert_eq!(events.last().unwrap().0, "message_stop");
}

#[tokio::test]
async fn bad_input_gets_anthropic_errors() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "body_limit = \"2KB\"").await;
    let rows: Vec<(String, u16, &str, &str)> = vec![
        (
            "{not json".into(),
            400,
            "invalid_request_error",
            "not valid JSON",
        ),
        ("".into(), 400, "invalid_request_error", "empty"),
        (
            r#"{"max_tokens":5,"messages":[]}"#.into(),
            400,
            "invalid_request_error",
            "model: Field required",
        ),
        (
            r#"{"model":"claude-x","max_tokens":"5","messages":[]}"#.into(),
            400,
            "invalid_request_error",
            "max_tokens",
        ),
        (
            r#"{"model":"claude-x","max_tokens":5,"messages":"hi"}"#.into(),
            400,
            "invalid_request_error",
            "messages",
        ),
        (
            r#"{"model":"claude-x","max_tokens":5}"#.into(),
            400,
            "invalid_request_error",
            "messages: Field required",
        ),
        (
            r#"{"model":"gpt-4o","max_tokens":5,"messages":[]}"#.into(),
            404,
            "not_found_error",
            "gpt-4o",
        ),
        (
            body("claude-x", false).replace("Say hello", &"x".repeat(4000)),
            413,
            "request_too_large",
            "limit",
        ),
    ];
    for (request, status, kind, needle) in rows {
        let (got, v) = error_json(gw.post("/v1/messages", &request).await).await;
        assert_eq!(got, status, "{request:.60}: {v}");
        assert_eq!(v["error"]["type"], kind, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(needle),
            "{v}"
        );
    }
    assert!(mock.seen().is_empty(), "nothing bad reached the upstream");
    // Oversized with a chunked body (no content-length) is refused too.
    let chunks =
        futures_util::stream::iter((0..10).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1000])));
    let resp = gw
        .client()
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", MASTER_KEY)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // Wrong method and unknown paths answer in Anthropic's format too.
    let resp = gw
        .client()
        .get(format!("{}/v1/messages", gw.url))
        .header("x-api-key", MASTER_KEY)
        .send()
        .await
        .unwrap();
    let (status, v) = error_json(resp).await;
    assert_eq!((status, v["type"].as_str()), (405, Some("error")));
    let resp = gw
        .client()
        .get(format!("{}/v2/nothing", gw.url))
        .header("x-api-key", MASTER_KEY)
        .send()
        .await
        .unwrap();
    let (status, v) = error_json(resp).await;
    assert_eq!(
        (status, v["error"]["type"].as_str()),
        (404, Some("not_found_error"))
    );
    let records = gw.records.wait_for(9).await;
    assert!(
        records.iter().all(|r| r.status >= 400),
        "every request left a record"
    );
}

#[tokio::test]
async fn gateway_key_is_required() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let url = format!("{}/v1/messages", gw.url);
    let c = gw.client();
    let no_key = c
        .post(&url)
        .body(body("claude-x", false))
        .send()
        .await
        .unwrap();
    let wrong = c
        .post(&url)
        .header("x-api-key", "sk-nope")
        .body(body("claude-x", false))
        .send()
        .await
        .unwrap();
    let wrong_bearer = c
        .post(&url)
        .bearer_auth("sk-nope")
        .body(body("claude-x", false))
        .send()
        .await
        .unwrap();
    for resp in [no_key, wrong, wrong_bearer] {
        let (status, v) = error_json(resp).await;
        assert_eq!(
            (status, v["error"]["type"].as_str()),
            (401, Some("authentication_error"))
        );
    }
    let ok = c
        .post(&url)
        .bearer_auth(MASTER_KEY)
        .body(body("claude-x", false))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(mock.seen().len(), 1);
    // Public endpoints need no key.
    assert_eq!(
        c.get(format!("{}/health", gw.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// An address that keeps presenting wrong keys is refused with 429 (and
/// `retry-after`) once it passes the limit, in the client's dialect, and the
/// dashboard's sign-in counts against the same limit.
#[tokio::test]
async fn wrong_keys_from_one_address_are_throttled() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let wrong = |path: &'static str| {
        let gw = &gw;
        async move {
            gw.client()
                .post(format!("{}{path}", gw.url))
                .header("x-api-key", "sk-wrong")
                .body("{}")
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..20 {
        assert_eq!(wrong("/v1/messages").await.status(), 401);
    }
    let resp = wrong("/v1/messages").await;
    assert_eq!(resp.status(), 429);
    assert_eq!(header(&resp, "retry-after"), "60");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");
    let resp = wrong("/v1/chat/completions").await;
    assert_eq!(resp.status(), 429);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many failed")
    );
    // While throttled even the right key waits (a guesser learns nothing).
    let right = gw.post("/v1/messages", "{}").await;
    assert_eq!(right.status(), 429);
    let login = gw
        .client()
        .post(format!("{}/ui/login", gw.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("key=sk-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 429);
}

/// A failed request says how many attempts were made, like a served one.
#[tokio::test]
async fn failures_report_their_attempts() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), FAST_RETRY).await;
    for _ in 0..3 {
        mock.push(Reply::error(500, "api_error", "boom"));
    }
    let resp = gw.post("/v1/messages", &body("claude-x", false)).await;
    assert_eq!(resp.status(), 502);
    assert_eq!(
        header(&resp, "x-switchyard-attempts"),
        "3",
        "1 try + 2 retries"
    );
    let rec = &gw.records.wait_for(1).await[0];
    assert_eq!(rec.attempts, 3);
}

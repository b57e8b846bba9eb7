//! Client disconnects and graceful shutdown.

use crate::support::mock::text_events;
use crate::support::*;
use std::time::Duration;
use switchyard::usage::Outcome;

#[tokio::test]
async fn client_disconnect_cancels_the_upstream() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let events = text_events("claude-x", &"word ".repeat(200), 31, 99);
    mock.push(Reply::Sse {
        events,
        gap: Duration::from_millis(30),
        tail: StreamTail::Complete,
    });
    let mut resp = gw.post("/v1/messages", &body("claude-x", true)).await;
    assert_eq!(resp.status(), 200);
    let mut got = String::new();
    while !got.contains("text_delta") {
        got.push_str(std::str::from_utf8(&resp.chunk().await.unwrap().unwrap()).unwrap());
    }
    drop(resp);
    let records = gw.records.wait_for(1).await;
    assert_eq!(records[0].outcome, Outcome::ClientAborted);
    assert_eq!(records[0].status, 499);
    assert_eq!(records[0].usage.input_tokens, 31, "partial usage is kept");
    assert!(records[0].usage.output_tokens >= 1 && records[0].output_estimated);
    for _ in 0..100 {
        if mock.dropped_streams() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        mock.dropped_streams(),
        1,
        "the upstream stream was cancelled"
    );
    assert_eq!(mock.finished_streams(), 0);
}

/// A client that leaves while a non-stream answer is awaited still leaves a
/// row naming the model that was being asked and the attempt made.
#[tokio::test]
async fn an_abandoned_non_stream_request_keeps_its_model_and_attempts() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    mock.push(Reply::Hang);
    let body = body("claude-x", false);
    let request = gw.post("/v1/messages", &body);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), request)
            .await
            .is_err(),
        "the upstream hangs"
    );
    let rec = &gw.records.wait_for(1).await[0];
    assert_eq!(rec.outcome, Outcome::ClientAborted);
    assert!(rec.model.is_some() && rec.provider.is_some(), "{rec:?}");
    assert_eq!(rec.attempts, 1);
}

#[tokio::test]
async fn shutdown_lets_in_flight_streams_finish() {
    let mock = MockUpstream::start().await;
    let mut gw = TestGateway::start(&mock.url(), "").await;
    mock.push(Reply::Sse {
        events: text_events("claude-x", "finishing after the signal", 3, 3),
        gap: Duration::from_millis(60),
        tail: StreamTail::Complete,
    });
    let resp = gw.post("/v1/messages", &body("claude-x", true)).await;
    assert_eq!(resp.status(), 200);
    gw.begin_shutdown();
    let events = sse_events(&resp.text().await.unwrap());
    assert_eq!(
        events.last().unwrap().0,
        "message_stop",
        "the stream completed"
    );
    let task = gw.task.take().unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        gw.client()
            .get(format!("{}/health", gw.url))
            .send()
            .await
            .is_err(),
        "no longer accepting"
    );
    assert_eq!(gw.records.all()[0].outcome, Outcome::Success);
}

#[tokio::test]
async fn shutdown_timeout_bounds_the_wait_and_ends_streams_with_an_error_and_a_row() {
    let mock = MockUpstream::start().await;
    let mut gw = TestGateway::start(&mock.url(), "").await; // shutdown_timeout = 2s
    mock.push(Reply::Sse {
        events: text_events("claude-x", "x", 1, 1)
            .into_iter()
            .take(2)
            .collect(),
        gap: Duration::ZERO,
        tail: StreamTail::Hang,
    });
    let resp = gw.post("/v1/messages", &body("claude-x", true)).await;
    assert_eq!(resp.status(), 200);
    let reading = tokio::spawn(async move { resp.text().await.unwrap() });
    gw.begin_shutdown();
    let task = gw.task.take().unwrap();
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("shutdown must not hang")
        .unwrap()
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "it waited for the in-flight stream"
    );
    // The stream still running at the timeout ends with an error event the
    // client can act on, and leaves its ledger row.
    let events = sse_events(&reading.await.unwrap());
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!(data["error"]["type"], "overloaded_error", "{data}");
    let rec = &gw.records.wait_for(1).await[0];
    assert_eq!(
        (rec.outcome, rec.error_kind.as_deref()),
        (Outcome::StreamFailed, Some("shutdown"))
    );
}

fn ledger_sections(upstream: &str, top: &str, extra: &str) -> String {
    format!(
        "{top}\n[providers.anthropic]\nkind = \"anthropic\"\nbase_url = \"{upstream}\"\napi_key = \"{UPSTREAM_KEY}\"\n\
         [models.sonnet]\nprovider = \"anthropic\"\nid = \"claude-sonnet-4-5-20250929\"\naliases = [\"claude-*\"]\n{extra}"
    )
}

async fn probe(gw: &TestGateway, path: &str) -> (u16, serde_json::Value) {
    let resp = gw
        .client()
        .get(format!("{}{path}", gw.url))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// On SIGTERM with `shutdown_drain`, readiness fails at once while requests
/// are still served; the gateway stops accepting only after the drain.
#[tokio::test]
async fn readiness_fails_first_then_the_gateway_drains_and_stops() {
    let mock = MockUpstream::start().await;
    let mut gw =
        TestGateway::with_ledger(&ledger_sections(&mock.url(), "shutdown_drain = \"1s\"", ""))
            .await;
    for path in ["/livez", "/healthz"] {
        let (status, live) = probe(&gw, path).await;
        assert_eq!(
            (status, live["status"].as_str()),
            (200, Some("alive")),
            "{path}"
        );
    }
    let (status, ready) = probe(&gw, "/readyz").await;
    assert_eq!(
        (status, ready["status"].as_str()),
        (200, Some("ready")),
        "{ready}"
    );
    assert_eq!(ready["checks"]["ledger"], "ok");
    gw.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let (status, ready) = probe(&gw, "/readyz").await;
    assert_eq!((status, ready["status"].as_str()), (503, Some("draining")));
    // Still serving while the load balancer takes it out.
    let resp = gw.post("/v1/messages", &body("claude-x", false)).await;
    assert_eq!(resp.status(), 200);
    let task = gw.task.take().unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the drain ends")
        .unwrap()
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "it drained first"
    );
    assert!(
        gw.client()
            .get(format!("{}/livez", gw.url))
            .send()
            .await
            .is_err()
    );
}

/// A dependency that does not answer makes readiness fail and names it;
/// `deps=report` names it without failing.
#[tokio::test]
async fn readiness_names_the_dependency_that_does_not_answer() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::with_ledger(&ledger_sections(
        &mock.url(),
        "redis_url = \"redis://127.0.0.1:1\"",
        "[cache]\n",
    ))
    .await;
    let (status, ready) = probe(&gw, "/readyz").await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["missing"], serde_json::json!(["cache"]));
    assert_eq!(ready["checks"]["ledger"], "ok");
    assert!(
        ready["checks"]["cache"]
            .as_str()
            .unwrap()
            .starts_with("unreachable"),
        "{ready}"
    );
    let (status, ready) = probe(&gw, "/readyz?deps=report").await;
    assert_eq!((status, ready["status"].as_str()), (200, Some("degraded")));
    // Requests are still served (without the cache).
    let resp = gw.post("/v1/messages", &body("claude-x", false)).await;
    assert_eq!(resp.status(), 200);
}

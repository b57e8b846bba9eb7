//! Claude Code's own telemetry through the gateway: a signed-in client's
//! OTLP exports are answered 200 and reach the team's collector unchanged,
//! with the collector's credentials and never the developer's bearer;
//! without a collector they are still answered 200; without a bearer, 401.

use crate::support::idp::{MockIdp, signed_in, start_with};
use crate::support::*;
use axum::body::Bytes;
use axum::extract::{Path, State};
use http::HeaderMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Seen = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

/// A collector that keeps what it is sent.
async fn collector() -> (String, Seen) {
    let seen: Seen = Arc::default();
    async fn take(
        State(seen): State<Seen>,
        Path(signal): Path<String>,
        headers: HeaderMap,
        body: Bytes,
    ) -> &'static str {
        seen.lock().unwrap().push((signal, headers, body));
        "{}"
    }
    let app = axum::Router::new()
        .route("/v1/{signal}", axum::routing::post(take))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn export(
    gw: &TestGateway,
    signal: &str,
    bearer: Option<&str>,
    body: &[u8],
) -> reqwest::Response {
    let req = gw
        .client()
        .post(format!("{}/v1/{signal}", gw.url))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(body.to_vec());
    match bearer {
        Some(b) => req.bearer_auth(b),
        None => req,
    }
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn signed_in_telemetry_reaches_the_collector_and_nothing_else_does() {
    let idp = MockIdp::start().await;
    let upstream = MockUpstream::start().await;
    let (url, seen) = collector().await;
    let gw = start_with(
        &idp,
        &upstream,
        &format!(
            "telemetry_forward_to = [\"{url}\"]\ntelemetry_headers = {{ authorization = \"Bearer collector-token\" }}\n"
        ),
    )
    .await;
    let dev = signed_in(&gw, &idp, "ada@example.com", &["engineering"]).await;
    let payload = b"\x1f\x8b\x08\x00 not really gzip, relayed as it is";
    for signal in ["metrics", "logs", "traces"] {
        let r = export(&gw, signal, Some(&dev), payload).await;
        assert_eq!(r.status(), 200, "{signal}");
    }
    // Relayed in the background.
    for _ in 0..50 {
        if seen.lock().unwrap().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = seen.lock().unwrap().clone();
    let mut signals: Vec<&str> = got.iter().map(|(s, ..)| s.as_str()).collect();
    signals.sort();
    assert_eq!(signals, ["logs", "metrics", "traces"]);
    for (_, headers, body) in &got {
        assert_eq!(&body[..], payload);
        assert_eq!(headers["content-type"], "application/x-protobuf");
        assert_eq!(headers["content-encoding"], "gzip");
        assert_eq!(headers["authorization"], "Bearer collector-token");
        assert!(
            !headers
                .values()
                .any(|v| v.to_str().unwrap_or("").contains(&dev)),
            "the developer's bearer stays at the gateway"
        );
    }
    // No bearer, no relay.
    let r = export(&gw, "metrics", None, payload).await;
    assert_eq!(r.status(), 401);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn without_a_collector_exports_are_still_answered() {
    let idp = MockIdp::start().await;
    let upstream = MockUpstream::start().await;
    let gw = start_with(&idp, &upstream, "").await;
    let dev = signed_in(&gw, &idp, "ada@example.com", &["engineering"]).await;
    let r = gw
        .client()
        .post(format!("{}/v1/logs", gw.url))
        .bearer_auth(&dev)
        .header("content-type", "application/json")
        .body(r#"{"resourceLogs":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "{}");
}

//! Bounded clients: idle and dribbling connections are closed, at the cap
//! a connection that has sent nothing makes room (else a new one is
//! refused on arrival), and a body that dribbles in gets a
//! 408 in the client's dialect — so sockets without a key cannot take the
//! gateway down.

use crate::support::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn sections(limits: &str) -> String {
    format!(
        "[clients]\n{limits}\n[providers.anthropic]\nkind = \"anthropic\"\nbase_url = \"http://127.0.0.1:9\"\napi_key = \"k\"\n[models.claude]\nprovider = \"anthropic\"\naliases = [\"claude-*\"]\n"
    )
}

async fn connect(gw: &TestGateway) -> TcpStream {
    TcpStream::connect(gw.url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Read until the server closes the connection; what it sent, and when.
async fn until_closed(tcp: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the connection stayed open"),
        }
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn idle_and_dribbling_connections_are_closed() {
    let gw = TestGateway::custom(&sections("header_timeout = \"300ms\"")).await;
    // Connected, never a byte.
    let mut idle = connect(&gw).await;
    let (_, took) = until_closed(&mut idle).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Headers dribbled a byte at a time, never finished.
    let mut slow = connect(&gw).await;
    let dribble = tokio::spawn(async move {
        for b in b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: " {
            if slow.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        until_closed(&mut slow).await
    });
    let (_, took) = dribble.await.unwrap();
    assert!(took < Duration::from_secs(5), "{took:?}");
    // Kept alive after an answer, then idle: closed as well.
    let mut kept = connect(&gw).await;
    kept.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, took) = until_closed(&mut kept).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // The gateway still answers.
    assert_eq!(gw.get_json("/health").await["status"], "ok");
}

/// At the cap, connections that have sent nothing make room for new ones
/// (the oldest goes first): idle sockets cannot lock real clients out.
#[tokio::test]
async fn silent_connections_make_room_at_the_cap() {
    let gw = TestGateway::custom(&sections("max_connections = 3\nheader_timeout = \"10s\"")).await;
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(connect(&gw).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A real request gets in; the oldest silent connection is closed.
    assert_eq!(gw.get_json("/health").await["status"], "ok");
    let (_, took) = until_closed(&mut silent[0]).await;
    assert!(took < Duration::from_secs(1), "closed at once: {took:?}");
}

/// When every connection is busy (each has begun a request), a new one
/// is refused on arrival.
#[tokio::test]
async fn connections_past_the_cap_are_refused_when_all_are_busy() {
    let gw = TestGateway::custom(&sections("max_connections = 3\nheader_timeout = \"10s\"")).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut tcp = connect(&gw).await;
        tcp.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        held.push(tcp);
    }
    // Give the server a moment to take the three.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = connect(&gw).await;
    let (_, took) = until_closed(&mut extra).await;
    assert!(took < Duration::from_secs(1), "refused at once: {took:?}");
    // Freeing one lets a new client in.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(gw.get_json("/health").await["status"], "ok");
}

#[tokio::test]
async fn a_dribbled_body_gets_a_408() {
    let gw = TestGateway::custom(&sections("body_timeout = \"300ms\"")).await;
    let mut tcp = connect(&gw).await;
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {MASTER_KEY}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"model\":"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("an answer before the body is complete")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"type\":\"error\""), "{text}");
    assert!(text.contains("did not arrive within"), "{text}");
}

/// HTTP/1 connections are told from HTTP/2 by their first bytes (so hyper
/// need not read them on their own); both are served, and so is a request
/// whose first byte arrives alone.
#[tokio::test]
async fn http1_and_http2_are_both_served() {
    let gw = TestGateway::custom(&sections("header_timeout = \"5s\"")).await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let resp = h2.get(format!("{}/health", gw.url)).send().await.unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    for request in [
        "GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        "PUT /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
    ] {
        let mut tcp = connect(&gw).await;
        tcp.write_all(request.as_bytes()).await.unwrap();
        let (answer, _) = until_closed(&mut tcp).await;
        let status = if request.starts_with("GET") { 200 } else { 405 };
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
    }
    let mut split = connect(&gw).await;
    split.write_all(b"P").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    split
        .write_all(
            b"OST /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
        )
        .await
        .unwrap();
    let (answer, _) = until_closed(&mut split).await;
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
}

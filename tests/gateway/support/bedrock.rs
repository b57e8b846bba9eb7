//! A mock AWS Bedrock runtime: a real HTTP server on 127.0.0.1:0 that
//! checks every request's SigV4 signature by recomputing it (its own
//! implementation, not the gateway's crate), answers InvokeModel with JSON,
//! InvokeModelWithResponseStream with event-stream frames built here by
//! hand (cut at whatever byte boundaries a test asks for), count-tokens with
//! a count, and records what it saw.

use super::mock::{text_events, text_message};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use base64::Engine;
use futures_util::stream;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const ACCESS_KEY: &str = "AKIDMOCKBEDROCK";
pub const SECRET_KEY: &str = "mock/secret+key";
pub const SESSION_TOKEN: &str = "mock-session-token";
pub const API_KEY: &str = "bedrock-api-key-mock";
pub const REGION: &str = "us-west-2";

/// One request as the mock saw it.
#[derive(Debug, Clone)]
pub struct BedrockSeen {
    /// The path as it came over the wire (still percent-encoded).
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// `Ok(())` when the signature (or API key) checked out.
    pub auth: Result<(), String>,
}

impl BedrockSeen {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum BedrockReply {
    /// Status, `x-amzn-ErrorType` (if any) and body.
    Json {
        status: u16,
        error_type: Option<String>,
        body: String,
    },
    /// An event stream: these frames, concatenated and re-cut into pieces
    /// of `cut` bytes (0: one piece per frame), `gap` apart; `drop_at_end`
    /// ends the connection with an error instead of cleanly.
    Frames {
        frames: Vec<Vec<u8>>,
        cut: usize,
        gap: Duration,
        drop_at_end: bool,
    },
    /// Wait before answering with the inner reply.
    Delay(Duration, Box<BedrockReply>),
}

impl BedrockReply {
    /// A Bedrock HTTP error.
    pub fn error(status: u16, exception: &str, message: &str) -> BedrockReply {
        BedrockReply::Json {
            status,
            error_type: Some(format!(
                "{exception}:http://internal.amazon.com/coral/com.amazon.bedrock/"
            )),
            body: json!({ "message": message }).to_string(),
        }
    }
}

/// An event-stream frame, written from the format description (total length,
/// headers length, prelude CRC, string headers, payload, message CRC).
pub fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        h.push(name.len() as u8);
        h.extend_from_slice(name.as_bytes());
        h.push(7);
        h.extend_from_slice(&(value.len() as u16).to_be_bytes());
        h.extend_from_slice(value.as_bytes());
    }
    let total = 12 + h.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// A `chunk` frame carrying one Anthropic event.
pub fn chunk(event_json: &str) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(event_json);
    let payload = json!({ "bytes": b64, "p": "abcdefghij" }).to_string();
    frame(
        &[
            (":event-type", "chunk"),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.as_bytes(),
    )
}

/// An `exception` frame.
pub fn exception(kind: &str, message: &str) -> Vec<u8> {
    frame(
        &[
            (":exception-type", kind),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        json!({ "message": message }).to_string().as_bytes(),
    )
}

/// The frames of a text answer as Bedrock sends it: no pings, and the
/// invocation metrics (with cache counts) on `message_stop`.
pub fn text_frames(model: &str, text: &str) -> Vec<Vec<u8>> {
    let mut frames: Vec<Vec<u8>> = text_events(model, text, 25, 9)
        .into_iter()
        .filter(|(name, _)| name != "ping" && name != "message_stop")
        .map(|(_, data)| chunk(&data))
        .collect();
    frames.push(chunk(&json!({"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":25,"outputTokenCount":9,"invocationLatency":321,"firstByteLatency":123,"cacheReadInputTokenCount":7,"cacheWriteInputTokenCount":3}}).to_string()));
    frames
}

#[derive(Default)]
struct Inner {
    script: Mutex<VecDeque<BedrockReply>>,
    seen: Mutex<Vec<BedrockSeen>>,
}

/// A running mock Bedrock.
#[derive(Clone)]
pub struct MockBedrock {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

impl MockBedrock {
    pub async fn start() -> MockBedrock {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockBedrock { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn push(&self, reply: BedrockReply) {
        self.inner.script.lock().unwrap().push_back(reply);
    }

    /// Forget replies not used yet.
    pub fn clear_script(&self) {
        self.inner.script.lock().unwrap().clear();
    }

    pub fn seen(&self) -> Vec<BedrockSeen> {
        self.inner.seen.lock().unwrap().clone()
    }
}

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let auth = check_auth("POST", &path, &headers, &body);
    inner.seen.lock().unwrap().push(BedrockSeen {
        path: path.clone(),
        headers,
        body: body.clone(),
        auth: auth.clone(),
    });
    if let Err(why) = auth {
        return reply(BedrockReply::error(403, "InvalidSignatureException", &why));
    }
    let mut scripted = inner
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| default_reply(&path));
    while let BedrockReply::Delay(wait, then) = scripted {
        tokio::time::sleep(wait).await;
        scripted = *then;
    }
    reply(scripted)
}

fn default_reply(path: &str) -> BedrockReply {
    let model = path.split('/').nth(2).unwrap_or("model").to_string();
    if path.ends_with("/invoke-with-response-stream") {
        BedrockReply::Frames {
            frames: text_frames(&model, "Hello from Bedrock."),
            cut: 0,
            gap: Duration::ZERO,
            drop_at_end: false,
        }
    } else if path.ends_with("/count-tokens") {
        BedrockReply::Json {
            status: 200,
            error_type: None,
            body: json!({"inputTokens": 4242}).to_string(),
        }
    } else {
        let mut message = text_message(&model, "Hello from Bedrock.");
        message["id"] = json!("msg_bdrk_mock");
        BedrockReply::Json {
            status: 200,
            error_type: None,
            body: message.to_string(),
        }
    }
}

fn reply(reply: BedrockReply) -> Response {
    match reply {
        BedrockReply::Json {
            status,
            error_type,
            body,
        } => {
            let mut r = Response::new(Body::from(body));
            *r.status_mut() = StatusCode::from_u16(status).unwrap();
            let h = r.headers_mut();
            h.insert("content-type", "application/json".parse().unwrap());
            h.insert("x-amzn-requestid", "mock-request-1".parse().unwrap());
            if let Some(t) = error_type {
                h.insert("x-amzn-errortype", t.parse().unwrap());
            }
            r
        }
        BedrockReply::Delay(..) => unreachable!("waited for in handle"),
        BedrockReply::Frames {
            frames,
            cut,
            gap,
            drop_at_end,
        } => {
            let pieces: Vec<Vec<u8>> = if cut == 0 {
                frames
            } else {
                frames.concat().chunks(cut).map(<[u8]>::to_vec).collect()
            };
            let mut items: Vec<Result<Bytes, std::io::Error>> =
                pieces.into_iter().map(|p| Ok(Bytes::from(p))).collect();
            if drop_at_end {
                items.push(Err(std::io::Error::other("mock disconnect")));
            }
            let body = stream::unfold(
                (items.into_iter(), true),
                move |(mut items, first)| async move {
                    if !first && !gap.is_zero() {
                        tokio::time::sleep(gap).await;
                    }
                    items.next().map(|item| (item, (items, false)))
                },
            );
            let mut r = Response::new(Body::from_stream(body));
            r.headers_mut().insert(
                "content-type",
                "application/vnd.amazon.eventstream".parse().unwrap(),
            );
            r
        }
    }
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// RFC 3986 encoding of everything but unreserved characters and `/`.
fn uri_encode_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The SigV4 signature of a request (no query string), recomputed from
/// scratch: canonical request, string to sign, derived key.
#[allow(clippy::too_many_arguments)]
pub fn sigv4_signature(
    method: &str,
    wire_path: &str,
    headers: &[(String, String)],
    body: &[u8],
    amz_date: &str,
    region: &str,
    service: &str,
    secret: &str,
) -> String {
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let canonical_headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    // Non-S3 services encode the (already encoded) path once more.
    let canonical = format!(
        "{method}\n{}\n\n{canonical_headers}\n{}\n{}",
        uri_encode_path(wire_path),
        signed.join(";"),
        sha256_hex(body)
    );
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex::encode(hmac(&k_signing, to_sign.as_bytes()))
}

/// Check an API key or a SigV4 signature made with the mock's keys.
fn check_auth(method: &str, path: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Authorization header")?;
    if let Some(key) = auth.strip_prefix("Bearer ") {
        return if key == API_KEY {
            Ok(())
        } else {
            Err("wrong API key".into())
        };
    }
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not a SigV4 Authorization header")?;
    let part = |name: &str| {
        rest.split(", ")
            .find_map(|p| p.strip_prefix(name))
            .map(str::to_string)
            .ok_or(format!("no {name} in Authorization"))
    };
    let credential = part("Credential=")?;
    let signed_headers = part("SignedHeaders=")?;
    let signature = part("Signature=")?;
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or("no x-amz-date")?;
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[0] != ACCESS_KEY || scope[1] != &amz_date[..8] {
        return Err(format!("bad credential scope {credential}"));
    }
    if scope[2] != REGION || scope[3] != "bedrock" || scope[4] != "aws4_request" {
        return Err(format!("wrong region or service in {credential}"));
    }
    if headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok())
        != Some(SESSION_TOKEN)
    {
        return Err("missing or wrong x-amz-security-token".into());
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    for needed in ["host", "x-amz-date", "x-amz-security-token"] {
        if !names.contains(&needed) {
            return Err(format!("{needed} is not signed"));
        }
    }
    let mut values = Vec::new();
    for name in names {
        let value = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(format!("signed header {name} is missing"))?;
        values.push((name.to_string(), value.to_string()));
    }
    let want = sigv4_signature(
        method, path, &values, body, amz_date, REGION, "bedrock", SECRET_KEY,
    );
    if want == signature {
        Ok(())
    } else {
        Err("The request signature we calculated does not match the signature you provided".into())
    }
}

#[test]
fn signer_matches_the_aws_documentation_example() {
    // AWS SigV4 test suite, "get-vanilla": GET / on example.amazonaws.com.
    let headers = vec![
        ("host".to_string(), "example.amazonaws.com".to_string()),
        ("x-amz-date".to_string(), "20150830T123600Z".to_string()),
    ];
    let sig = sigv4_signature(
        "GET",
        "/",
        &headers,
        b"",
        "20150830T123600Z",
        "us-east-1",
        "service",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    );
    assert_eq!(
        sig,
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
}

//! The simulated day's upstream: one loopback server that answers as the
//! Anthropic Messages API (Claude models, streamed, with prompt caching
//! emulated on the clock) and as an OpenAI-compatible local model.
//!
//! Caching follows Anthropic's rules as Claude Code meets them: a request
//! with cache breakpoints (its last block is marked) reads from the cache
//! what the same model cached of the same conversation within the TTL —
//! each read refreshes the entry — and writes the rest; a request without
//! breakpoints pays all of its input. A conversation is known by its first
//! message. Prompt tokens are a quarter of the body's bytes. Answer sizes
//! depend only on the request's last turn (a person's request gets a long
//! answer, a tool step a short one), never on the model, so the same
//! request costs the same tokens wherever it goes. A thinking block signed
//! by another model is refused (`400 Invalid signature`), as Anthropic
//! does. Some Haiku requests are
//! answered `529 overloaded` (chosen by the request's hash, so a retry
//! fails again) to exercise fallbacks.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// Share of Haiku requests answered 529, in percent.
pub const OVERLOADED_PERCENT: u64 = 3;

#[derive(Debug)]
struct Cache {
    ttl: Duration,
    entries: Mutex<HashMap<(String, u64), (u64, Instant)>>,
}

/// Start the upstream on a free loopback port; prompts stay cached `ttl`.
pub async fn start(ttl: Duration) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let cache = Arc::new(Cache {
        ttl,
        entries: Mutex::new(HashMap::new()),
    });
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let cache = cache.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| answer(req, cache.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

fn hash_of(v: &impl Hash) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

fn respond(status: StatusCode, kind: &str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(kind) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

/// Answer tokens for a request, by what its last turn is.
fn answer_tokens(body: &Value) -> u64 {
    let last = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or(Value::Null);
    let h = hash_of(&last.to_string());
    let text = last.to_string();
    if body
        .get("output_config")
        .and_then(|o| o.get("format"))
        .is_some()
    {
        12 + h % 12
    } else if text.contains("tool_result") || last["role"] == "tool" {
        120 + h % 480
    } else {
        700 + h % 1300
    }
}

async fn answer(
    req: Request<Incoming>,
    cache: Arc<Cache>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let path = req.uri().path().to_string();
    let Ok(bytes) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
        return Ok(respond(
            StatusCode::BAD_REQUEST,
            "text/plain",
            "unreadable".into(),
        ));
    };
    let Ok(body) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(respond(
            StatusCode::BAD_REQUEST,
            "text/plain",
            "not JSON".into(),
        ));
    };
    let prompt = bytes.len() as u64 / 4;
    let model = body["model"].as_str().unwrap_or("").to_string();
    Ok(match path.as_str() {
        "/v1/messages/count_tokens" => respond(
            StatusCode::OK,
            "application/json",
            json!({"input_tokens": prompt}).to_string(),
        ),
        "/v1/messages" => {
            if model.contains("haiku") && hash_of(&bytes) % 100 < OVERLOADED_PERCENT {
                let e = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
                return Ok(respond(
                    StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                    "application/json",
                    e.to_string(),
                ));
            }
            if let Some(e) = foreign_signature(&body, &model) {
                return Ok(respond(StatusCode::BAD_REQUEST, "application/json", e));
            }
            let (read, write, input) = cache.bill(&model, &body, &bytes, prompt).await;
            anthropic(&body, &model, read, write, input)
        }
        "/v1/chat/completions" => openai(&body, &model, prompt),
        _ => respond(StatusCode::NOT_FOUND, "text/plain", "not found".into()),
    })
}

/// Anthropic's answer to a thinking block another model signed (the
/// replay signs each block `SIG-<model that answered>`).
fn foreign_signature(body: &Value, model: &str) -> Option<String> {
    let messages = body["messages"].as_array()?;
    for (i, m) in messages.iter().enumerate() {
        for (j, b) in m["content"].as_array().into_iter().flatten().enumerate() {
            let Some(sig) = b["signature"].as_str() else {
                continue;
            };
            if sig.strip_prefix("SIG-") != Some(model) {
                let message =
                    format!("messages.{i}.content.{j}: Invalid `signature` in `thinking` block");
                let e = json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}});
                return Some(e.to_string());
            }
        }
    }
    None
}

impl Cache {
    /// Split a prompt into cache reads, cache writes and uncached input.
    async fn bill(&self, model: &str, body: &Value, bytes: &[u8], prompt: u64) -> (u64, u64, u64) {
        let marked = memchr::memmem::find(bytes, b"\"cache_control\"").is_some();
        if !marked {
            return (0, 0, prompt);
        }
        // The first turn, without the breakpoint it carries in the first request.
        let first = body["messages"][0].to_string();
        let conversation = hash_of(
            &first
                .replace(r#","cache_control":{"type":"ephemeral"}"#, "")
                .replace(r#""cache_control":{"type":"ephemeral"},"#, ""),
        );
        let key = (model.to_string(), conversation);
        let now = Instant::now();
        let mut entries = self.entries.lock().await;
        let cached = match entries.get(&key) {
            Some((tokens, at)) if now.duration_since(*at) < self.ttl => (*tokens).min(prompt),
            _ => 0,
        };
        entries.insert(key, (prompt, now));
        (cached, prompt - cached, 0)
    }
}

fn sse(events: &[(&str, Value)]) -> String {
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

fn anthropic(
    body: &Value,
    model: &str,
    read: u64,
    write: u64,
    input: u64,
) -> Response<Full<Bytes>> {
    let out = answer_tokens(body);
    let text = "Working on it.";
    let usage = json!({"input_tokens": input, "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read, "output_tokens": out});
    if body["stream"].as_bool() != Some(true) {
        let m = json!({"id": "msg_day", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": null, "usage": usage});
        return respond(StatusCode::OK, "application/json", m.to_string());
    }
    let mut start_usage = usage.clone();
    start_usage["output_tokens"] = json!(1);
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_day",
            "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": start_usage}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": text}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": out}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    respond(StatusCode::OK, "text/event-stream", sse(&events))
}

fn openai(body: &Value, model: &str, prompt: u64) -> Response<Full<Bytes>> {
    let out = answer_tokens(body);
    let usage =
        json!({"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out});
    let text = "Working on it.";
    if body["stream"].as_bool() != Some(true) {
        let m = json!({"id": "chatcmpl-day", "object": "chat.completion", "created": 0,
            "model": model, "choices": [{"index": 0, "message": {"role": "assistant",
            "content": text}, "finish_reason": "stop"}], "usage": usage});
        return respond(StatusCode::OK, "application/json", m.to_string());
    }
    let chunk = |choices: Value, usage: Value| {
        let mut c = json!({"id": "chatcmpl-day", "object": "chat.completion.chunk",
            "created": 0, "model": model, "choices": choices});
        if !usage.is_null() {
            c["usage"] = usage;
        }
        format!("data: {c}\n\n")
    };
    let mut s = chunk(
        json!([{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": null}]),
        Value::Null,
    );
    s.push_str(&chunk(
        json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
        Value::Null,
    ));
    s.push_str(&chunk(json!([]), usage));
    s.push_str("data: [DONE]\n\n");
    respond(StatusCode::OK, "text/event-stream", s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_cache_reads_what_the_same_model_wrote_within_its_lifetime() {
        let cache = Cache {
            ttl: Duration::from_millis(200),
            entries: Mutex::new(HashMap::new()),
        };
        let body = json!({"messages": [{"role": "user", "content": "task"}]});
        let marked = br#"{"cache_control":1}"#;
        assert_eq!(
            cache.bill("sonnet", &body, marked, 1000).await,
            (0, 1000, 0)
        );
        assert_eq!(
            cache.bill("sonnet", &body, marked, 1500).await,
            (1000, 500, 0)
        );
        assert_eq!(
            cache.bill("haiku", &body, marked, 1500).await,
            (0, 1500, 0),
            "per model"
        );
        assert_eq!(
            cache.bill("sonnet", &body, b"{}", 1600).await,
            (0, 0, 1600),
            "no breakpoints"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(
            cache.bill("sonnet", &body, marked, 1700).await,
            (0, 1700, 0),
            "expired"
        );
    }
}

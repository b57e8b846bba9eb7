//! The benchmark's upstream: a small, fast mock of the Anthropic Messages
//! and OpenAI Chat Completions endpoints, JSON and SSE, on plain HTTP/1.1.
//!
//! Answers are canned bytes built once, so the mock costs a few
//! microseconds per request and the measured difference is the gateway's.
//! A per-request delay and a per-chunk drip (for slow streams) can be set
//! for the whole mock (`/_mock/knobs?delay_ms=&drip_ms=`, any method) or
//! per request with the `x-mock-delay-ms` / `x-mock-drip-ms` headers;
//! `fault_pct=N` makes N requests in a hundred fail (a 500, a 529, a stream
//! cut short or a body that is not JSON, or a 1.5 s wait before a good
//! answer), for `bench --soak`. `GET /_mock/served` counts the chat
//! requests answered.

use bytes::Bytes;
use futures_util::stream;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

/// Text deltas in a streamed answer.
pub const STREAM_CHUNKS: usize = 20;

/// Settings the benchmark changes between phases.
#[derive(Debug, Default)]
pub struct Knobs {
    /// Wait before answering, in milliseconds.
    pub delay_ms: AtomicU64,
    /// Wait between stream chunks, in milliseconds.
    pub drip_ms: AtomicU64,
    /// Requests answered.
    pub served: AtomicU64,
    /// Requests in a hundred that get a fault.
    pub fault_pct: AtomicU64,
}

/// What a faulty answer does.
enum Fault {
    Status(StatusCode),
    CutShort,
    Slow,
}

/// The fault for the `n`th request, if it gets one: spread over the
/// hundred, the kinds taking turns.
fn fault(n: u64, pct: u64) -> Option<Fault> {
    if (n * 37) % 100 >= pct {
        return None;
    }
    Some(match n % 4 {
        0 => Fault::Status(StatusCode::INTERNAL_SERVER_ERROR),
        1 => Fault::Status(StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)),
        2 => Fault::CutShort,
        _ => Fault::Slow,
    })
}

/// The canned answers.
struct Canned {
    anthropic_json: Bytes,
    anthropic_sse: Vec<Bytes>,
    openai_json: Bytes,
    openai_sse: Vec<Bytes>,
}

const TEXT: &str = "The quick brown fox jumps over the lazy dog. ";

fn canned() -> Canned {
    let full = TEXT.repeat(STREAM_CHUNKS);
    let anthropic_json = serde_json::json!({
        "id": "msg_bench", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": full}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 120, "output_tokens": 200}
    });
    let mut anthropic_sse = vec![Bytes::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":120,\"output_tokens\":1}}}\n\n\
         event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    )];
    for _ in 0..STREAM_CHUNKS {
        anthropic_sse.push(Bytes::from(format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{TEXT}\"}}}}\n\n"
        )));
    }
    anthropic_sse.push(Bytes::from(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
         event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":200}}\n\n\
         event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ));
    let openai_json = serde_json::json!({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1_764_000_000u64,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": full},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 200, "total_tokens": 320}
    });
    let chunk = |delta: &str, finish: &str| {
        format!(
            "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1764000000,\"model\":\"gpt-4o-mini\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
        )
    };
    let mut openai_sse = vec![Bytes::from(chunk(
        "{\"role\":\"assistant\",\"content\":\"\"}",
        "null",
    ))];
    for _ in 0..STREAM_CHUNKS {
        openai_sse.push(Bytes::from(chunk(
            &format!("{{\"content\":\"{TEXT}\"}}"),
            "null",
        )));
    }
    openai_sse.push(Bytes::from(
        chunk("{}", "\"stop\"")
            + "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1764000000,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":200,\"total_tokens\":320}}\n\n\
               data: [DONE]\n\n",
    ));
    Canned {
        anthropic_json: Bytes::from(anthropic_json.to_string()),
        anthropic_sse,
        openai_json: Bytes::from(openai_json.to_string()),
        openai_sse,
    }
}

/// A running mock.
pub struct Mock {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its settings.
    pub knobs: Arc<Knobs>,
}

/// Start the mock on `addr` (port 0 picks one).
pub async fn start(addr: SocketAddr) -> std::io::Result<Mock> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let knobs = Arc::new(Knobs::default());
    let canned = Arc::new(canned());
    let k = knobs.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let (knobs, canned) = (k.clone(), canned.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    answer(req, knobs.clone(), canned.clone())
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    Ok(Mock { addr, knobs })
}

type Body = BoxBody<Bytes, Infallible>;

#[derive(Deserialize)]
struct StreamFlag {
    #[serde(default)]
    stream: bool,
}

fn header_ms(req: &Request<Incoming>, name: &str) -> Option<u64> {
    req.headers().get(name)?.to_str().ok()?.parse().ok()
}

async fn answer(
    req: Request<Incoming>,
    knobs: Arc<Knobs>,
    canned: Arc<Canned>,
) -> Result<Response<Body>, Infallible> {
    let delay = header_ms(&req, "x-mock-delay-ms")
        .unwrap_or_else(|| knobs.delay_ms.load(Ordering::Relaxed));
    let drip =
        header_ms(&req, "x-mock-drip-ms").unwrap_or_else(|| knobs.drip_ms.load(Ordering::Relaxed));
    let anthropic = match req.uri().path() {
        "/v1/messages" => true,
        "/v1/chat/completions" => false,
        "/health" | "/" => return Ok(plain(StatusCode::OK, "ok")),
        "/_mock/served" => {
            let n = knobs.served.load(Ordering::Relaxed).to_string();
            return Ok(Response::new(Full::new(Bytes::from(n)).boxed()));
        }
        "/_mock/knobs" => {
            for pair in req.uri().query().unwrap_or("").split('&') {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let v = v.parse().unwrap_or(0);
                match k {
                    "delay_ms" => knobs.delay_ms.store(v, Ordering::Relaxed),
                    "drip_ms" => knobs.drip_ms.store(v, Ordering::Relaxed),
                    "fault_pct" => knobs.fault_pct.store(v.min(100), Ordering::Relaxed),
                    _ => {}
                }
            }
            return Ok(plain(StatusCode::OK, "ok"));
        }
        _ => return Ok(plain(StatusCode::NOT_FOUND, "not found")),
    };
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(plain(StatusCode::BAD_REQUEST, "unreadable body")),
    };
    let Ok(flag) = serde_json::from_slice::<StreamFlag>(&body) else {
        return Ok(plain(StatusCode::BAD_REQUEST, "body is not JSON"));
    };
    let n = knobs.served.fetch_add(1, Ordering::Relaxed);
    let fault = fault(n, knobs.fault_pct.load(Ordering::Relaxed));
    let delay = match fault {
        Some(Fault::Slow) => delay.max(1500),
        _ => delay,
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Some(Fault::Status(status)) = fault {
        let mut r = plain(
            status,
            r#"{"type":"error","error":{"type":"api_error","message":"mock fault"}}"#,
        );
        r.headers_mut().insert(
            "content-type",
            http::HeaderValue::from_static("application/json"),
        );
        return Ok(r);
    }
    let cut = matches!(fault, Some(Fault::CutShort));
    let response = if flag.stream {
        let mut chunks = if anthropic {
            canned.anthropic_sse.clone()
        } else {
            canned.openai_sse.clone()
        };
        if cut {
            chunks.truncate(chunks.len() / 2);
        }
        sse(chunks, drip)
    } else if cut {
        Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(b"{\"id\":\"msg_cut")).boxed())
    } else {
        let json = if anthropic {
            canned.anthropic_json.clone()
        } else {
            canned.openai_json.clone()
        };
        Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(json).boxed())
    };
    Ok(response.unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "response")))
}

fn sse(chunks: Vec<Bytes>, drip_ms: u64) -> http::Result<Response<Body>> {
    let frames = stream::unfold(
        (chunks.into_iter(), true),
        move |(mut it, first)| async move {
            let chunk = it.next()?;
            if drip_ms > 0 && !first {
                tokio::time::sleep(Duration::from_millis(drip_ms)).await;
            }
            Some((Ok(Frame::data(chunk)), (it, false)))
        },
    );
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(StreamBody::new(frames).boxed())
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())).boxed());
    *r.status_mut() = status;
    r
}

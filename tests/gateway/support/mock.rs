//! A scripted Anthropic Messages API upstream: a real HTTP server on
//! 127.0.0.1:0 that speaks the wire protocol (JSON and SSE), answers from a
//! per-test script, and records every request it receives.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use futures_util::stream;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the mock saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// How a stream ends.
#[derive(Debug, Clone)]
pub enum StreamTail {
    /// Normally, after the last event.
    Complete,
    /// The connection drops after the events (no message_stop unless scripted).
    Disconnect,
    /// The stream stays open, sending nothing more.
    Hang,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A JSON (or any) body with a status and headers.
    Json {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// An SSE stream of `(event, data)` pairs, `gap` apart (an empty event
    /// name writes a data-only event, as OpenAI does).
    Sse {
        events: Vec<(String, String)>,
        gap: Duration,
        tail: StreamTail,
    },
    /// An NDJSON stream (Ollama), one line per item, `gap` apart.
    Lines {
        lines: Vec<String>,
        gap: Duration,
        tail: StreamTail,
    },
    /// A JSON body sent a few bytes at a time, `gap` apart.
    Drip { body: String, gap: Duration },
    /// Wait before answering with the inner reply.
    Delay(Duration, Box<Reply>),
    /// Never answer.
    Hang,
}

impl Reply {
    pub fn error(status: u16, kind: &str, message: &str) -> Reply {
        Reply::Json {
            status,
            headers: vec![],
            body: json!({"type":"error","error":{"type":kind,"message":message},"request_id":"req_mock"}).to_string(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Reply {
        if let Reply::Json { headers, .. } = &mut self {
            headers.push((name, value.to_string()));
        }
        self
    }

    /// A complete text answer as a stream.
    pub fn text_stream(text: &str, gap: Duration) -> Reply {
        Reply::Sse {
            events: text_events("claude-mock", text, 25, 9),
            gap,
            tail: StreamTail::Complete,
        }
    }
}

/// Anthropic events of a complete text answer, the text split in three.
pub fn text_events(model: &str, text: &str, input: u64, output: u64) -> Vec<(String, String)> {
    let mut events = vec![
        ev(
            "message_start",
            json!({"type":"message_start","message":{"id":"msg_mock","type":"message","role":"assistant","model":model,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":input,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}),
        ),
        ev(
            "content_block_start",
            json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
        ),
        ("ping".into(), r#"{"type": "ping"}"#.into()),
    ];
    let chars: Vec<char> = text.chars().collect();
    for part in chars.chunks(chars.len().div_ceil(3).max(1)) {
        let piece: String = part.iter().collect();
        events.push(ev("content_block_delta", json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":piece}})));
    }
    events.push(ev(
        "content_block_stop",
        json!({"type":"content_block_stop","index":0}),
    ));
    events.push(ev("message_delta", json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":output}})));
    events.push(ev("message_stop", json!({"type":"message_stop"})));
    events
}

pub fn ev(name: &str, data: Value) -> (String, String) {
    (name.to_string(), data.to_string())
}

/// OpenAI chunks of a text answer (the usage chunk only when asked for).
pub fn openai_text_chunks(model: &str, text: &str, include_usage: bool) -> Vec<(String, String)> {
    let chunk = |delta: Value, finish: Value| {
        (String::new(), json!({"id":"chatcmpl-mock","object":"chat.completion.chunk","created":1,"model":model,"choices":[{"index":0,"delta":delta,"finish_reason":finish}]}).to_string())
    };
    let mut out = vec![chunk(json!({"role":"assistant","content":""}), Value::Null)];
    let chars: Vec<char> = text.chars().collect();
    for part in chars.chunks(chars.len().div_ceil(3).max(1)) {
        out.push(chunk(
            json!({"content": part.iter().collect::<String>()}),
            Value::Null,
        ));
    }
    out.push(chunk(json!({}), json!("stop")));
    if include_usage {
        out.push((String::new(), json!({"id":"chatcmpl-mock","object":"chat.completion.chunk","created":1,"model":model,"choices":[],"usage":{"prompt_tokens":25,"completion_tokens":9,"total_tokens":34,"prompt_tokens_details":{"cached_tokens":5}}}).to_string()));
    }
    out.push((String::new(), "[DONE]".to_string()));
    out
}

/// OpenAI chunks of one tool call (arguments in two pieces).
pub fn openai_tool_chunks(model: &str, name: &str, args: &str) -> Vec<(String, String)> {
    let chunk = |delta: Value, finish: Value| {
        (String::new(), json!({"id":"chatcmpl-mock","object":"chat.completion.chunk","created":1,"model":model,"choices":[{"index":0,"delta":delta,"finish_reason":finish}]}).to_string())
    };
    let (a, b) = args.split_at(args.len() / 2);
    vec![
        chunk(json!({"role":"assistant","content":null}), Value::Null),
        chunk(json!({"tool_calls":[{"index":0,"id":"call_mock1","type":"function","function":{"name":name,"arguments":a}}]}), Value::Null),
        chunk(json!({"tool_calls":[{"index":0,"function":{"arguments":b}}]}), Value::Null),
        chunk(json!({}), json!("tool_calls")),
        (String::new(), json!({"id":"chatcmpl-mock","object":"chat.completion.chunk","created":1,"model":model,"choices":[],"usage":{"prompt_tokens":40,"completion_tokens":12,"total_tokens":52}}).to_string()),
        (String::new(), "[DONE]".to_string()),
    ]
}

/// A whole OpenAI chat completion with text.
pub fn openai_completion(model: &str, text: &str) -> Value {
    json!({"id":"chatcmpl-mock","object":"chat.completion","created":1,"model":model,
           "choices":[{"index":0,"message":{"role":"assistant","content":text},"finish_reason":"stop","logprobs":null}],
           "usage":{"prompt_tokens":25,"completion_tokens":9,"total_tokens":34}})
}

/// Ollama NDJSON lines of a text answer (the last is the `done` line).
pub fn ollama_lines(model: &str, text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .split_inclusive(' ')
        .map(|w| json!({"model":model,"created_at":"2026-11-27T10:00:00Z","message":{"role":"assistant","content":w},"done":false}).to_string())
        .collect();
    lines.push(json!({"model":model,"created_at":"2026-11-27T10:00:01Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":26,"eval_count":7}).to_string());
    lines
}

/// A whole Ollama answer.
pub fn ollama_answer(model: &str, text: &str) -> Value {
    json!({"model":model,"created_at":"2026-11-27T10:00:01Z","message":{"role":"assistant","content":text},"done":true,"done_reason":"stop","prompt_eval_count":26,"eval_count":7})
}

/// The non-streamed form of a text answer.
pub fn text_message(model: &str, text: &str) -> Value {
    json!({"id":"msg_mock","type":"message","role":"assistant","model":model,
           "content":[{"type":"text","text":text}],"stop_reason":"end_turn","stop_sequence":null,
           "usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":9}})
}

/// A deterministic stand-in for an embedding model: word counts hashed
/// into 64 dimensions (case and punctuation ignored).
pub fn bag_of_words(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; 64];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let h = word
            .to_lowercase()
            .bytes()
            .fold(0xcbf29ce484222325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
            });
        v[(h % 64) as usize] += 1.0;
    }
    v
}

#[derive(Default)]
struct Inner {
    script: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<Seen>>,
    /// Streams whose body was dropped before it finished (client went away).
    dropped_streams: AtomicUsize,
    finished_streams: AtomicUsize,
}

/// A running mock upstream.
#[derive(Clone)]
pub struct MockUpstream {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

impl MockUpstream {
    pub async fn start() -> MockUpstream {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockUpstream { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queue replies, used in order; after them the default answer applies.
    pub fn push(&self, reply: Reply) {
        self.inner.script.lock().unwrap().push_back(reply);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.inner.seen.lock().unwrap().clone()
    }

    pub fn dropped_streams(&self) -> usize {
        self.inner.dropped_streams.load(Ordering::SeqCst)
    }

    pub fn finished_streams(&self) -> usize {
        self.inner.finished_streams.load(Ordering::SeqCst)
    }
}

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    inner.seen.lock().unwrap().push(Seen {
        path_and_query: path_and_query.clone(),
        headers,
        body: body.clone(),
    });
    let scripted = inner.script.lock().unwrap().pop_front();
    let reply = scripted.unwrap_or_else(|| default_reply(&path_and_query, &body));
    answer(reply, inner).await
}

fn default_reply(path: &str, body: &Bytes) -> Reply {
    let req: Value = serde_json::from_slice(body).unwrap_or_default();
    let model = req["model"].as_str().unwrap_or("claude-mock").to_string();
    let stream = req["stream"] == json!(true);
    if path.ends_with("/chat/completions") {
        return if stream {
            Reply::Sse {
                events: openai_text_chunks(
                    &model,
                    "Hello from the mock.",
                    req["stream_options"]["include_usage"] == json!(true),
                ),
                gap: Duration::ZERO,
                tail: StreamTail::Complete,
            }
        } else {
            Reply::Json {
                status: 200,
                headers: vec![],
                body: openai_completion(&model, "Hello from the mock.").to_string(),
            }
        };
    }
    if path == "/api/chat" {
        return if req["stream"] == json!(false) {
            Reply::Json {
                status: 200,
                headers: vec![],
                body: ollama_answer(&model, "Hello from the mock.").to_string(),
            }
        } else {
            Reply::Lines {
                lines: ollama_lines(&model, "Hello from the mock."),
                gap: Duration::ZERO,
                tail: StreamTail::Complete,
            }
        };
    }
    if path == "/api/embed" || path.ends_with("/embeddings") {
        let v = bag_of_words(req["input"].as_str().unwrap_or(""));
        let body = if path == "/api/embed" {
            json!({"model": model, "embeddings": [v]})
        } else {
            json!({"object": "list", "model": model, "data": [{"object": "embedding", "index": 0, "embedding": v}],
                   "usage": {"prompt_tokens": 5, "total_tokens": 5}})
        };
        return Reply::Json {
            status: 200,
            headers: vec![],
            body: body.to_string(),
        };
    }
    if path == "/api/tags" {
        return Reply::Json { status: 200, headers: vec![], body: json!({"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest"}, {"name": "qwen2.5-coder:7b"}]}).to_string() };
    }
    if path.starts_with("/v1/messages/count_tokens") {
        return Reply::Json {
            status: 200,
            headers: vec![],
            body: json!({"input_tokens": 4242}).to_string(),
        };
    }
    if req["stream"] == json!(true) {
        Reply::Sse {
            events: text_events(&model, "Hello from the mock.", 25, 9),
            gap: Duration::ZERO,
            tail: StreamTail::Complete,
        }
    } else {
        Reply::Json {
            status: 200,
            headers: vec![],
            body: text_message(&model, "Hello from the mock.").to_string(),
        }
    }
}

/// Counts a stream as finished or dropped when its body goes away.
struct StreamWatch {
    inner: Arc<Inner>,
    finished: bool,
}

impl StreamWatch {
    fn mark_finished(&mut self) {
        self.finished = true;
    }
}

impl Drop for StreamWatch {
    fn drop(&mut self) {
        let counter = if self.finished {
            &self.inner.finished_streams
        } else {
            &self.inner.dropped_streams
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

fn answer(
    reply: Reply,
    inner: Arc<Inner>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>> {
    Box::pin(async move {
        match reply {
            Reply::Json {
                status,
                headers,
                body,
            } => {
                let mut r = Response::new(Body::from(body));
                *r.status_mut() = StatusCode::from_u16(status).unwrap();
                r.headers_mut()
                    .insert("content-type", "application/json".parse().unwrap());
                r.headers_mut()
                    .insert("request-id", "req_mock_1".parse().unwrap());
                for (k, v) in headers {
                    r.headers_mut().insert(k, v.parse().unwrap());
                }
                r
            }
            Reply::Delay(d, inner_reply) => {
                tokio::time::sleep(d).await;
                answer(*inner_reply, inner).await
            }
            Reply::Hang => {
                std::future::pending::<()>().await;
                unreachable!()
            }
            Reply::Drip { body, gap } => {
                let events = body
                    .as_bytes()
                    .chunks(4)
                    .map(|c| ("raw".to_string(), String::from_utf8_lossy(c).into_owned()))
                    .collect();
                let tail = StreamTail::Complete;
                let mut r = answer(Reply::Sse { events, gap, tail }, inner).await;
                r.headers_mut()
                    .insert("content-type", "application/json".parse().unwrap());
                r
            }
            Reply::Lines { lines, gap, tail } => {
                let events = lines.into_iter().map(|l| ("\n".to_string(), l)).collect();
                let mut r = answer(Reply::Sse { events, gap, tail }, inner).await;
                r.headers_mut()
                    .insert("content-type", "application/x-ndjson".parse().unwrap());
                r
            }
            Reply::Sse { events, gap, tail } => {
                let watch = StreamWatch {
                    inner,
                    finished: false,
                };
                let state = (events.into_iter(), watch, tail, true);
                let body = stream::unfold(
                    state,
                    move |(mut events, mut watch, tail, first)| async move {
                        if !first && !gap.is_zero() {
                            tokio::time::sleep(gap).await;
                        }
                        match events.next() {
                            Some((name, data)) => {
                                let chunk = if name == "raw" {
                                    Bytes::from(data)
                                } else if name == "\n" {
                                    Bytes::from(format!("{data}\n"))
                                } else if name.is_empty() {
                                    Bytes::from(format!("data: {data}\n\n"))
                                } else {
                                    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
                                };
                                Some((Ok::<_, std::io::Error>(chunk), (events, watch, tail, false)))
                            }
                            None => match tail {
                                StreamTail::Complete => {
                                    watch.mark_finished();
                                    None
                                }
                                StreamTail::Disconnect => {
                                    watch.mark_finished();
                                    Some((
                                        Err(std::io::Error::other("mock disconnect")),
                                        (events, watch, StreamTail::Complete, false),
                                    ))
                                }
                                StreamTail::Hang => {
                                    std::future::pending::<()>().await;
                                    None
                                }
                            },
                        }
                    },
                );
                let mut r = Response::new(Body::from_stream(body));
                r.headers_mut()
                    .insert("content-type", "text/event-stream".parse().unwrap());
                r.headers_mut()
                    .insert("request-id", "req_mock_1".parse().unwrap());
                r
            }
        }
    })
}

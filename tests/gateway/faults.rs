//! The fault-injection matrix: every provider kind (Anthropic,
//! OpenAI-compatible, Ollama's native API, Bedrock) × every fault (hangs
//! before its headers, stalls or resets half-way, a garbage body, 500, an
//! overload, an error event inside the stream, an answer past the size
//! cap, and a slow drip that must not be taken for one) × a streamed and a
//! whole answer, on a route `[faulty, ok]`. Each
//! cell checks what the client got, whether the fallback answered, both
//! circuit breakers and the one ledger record, and the whole table is
//! printed (`cargo test --test gateway faults -- --nocapture`).

use crate::support::bedrock::{
    ACCESS_KEY, BedrockReply, MockBedrock, REGION, SECRET_KEY, SESSION_TOKEN, exception,
    text_frames,
};
use crate::support::mock::{
    MockUpstream, Reply, StreamTail, ev, ollama_lines, openai_text_chunks, text_events,
};
use crate::support::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Anthropic,
    OpenAi,
    Ollama,
    Bedrock,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// No headers, ever.
    Hang,
    /// Headers and the first event, then silence.
    Stall,
    /// Headers and the first events, then the connection drops.
    Reset,
    /// A 200 whose body is not the protocol.
    Garbage,
    /// HTTP 500.
    ServerError,
    /// 529 / 503 / 429 / a throttling exception.
    Overloaded,
    /// An error event (Bedrock: an exception frame) after some content.
    ErrorEvent,
    /// An answer past `[guard] max_response_bytes`.
    Oversized,
    /// A good answer, an event every 50 ms: slow, not broken.
    Drip,
}

const KINDS: [Kind; 4] = [Kind::Anthropic, Kind::OpenAi, Kind::Ollama, Kind::Bedrock];
const FAULTS: [Fault; 9] = [
    Fault::Hang,
    Fault::Stall,
    Fault::Reset,
    Fault::Garbage,
    Fault::ServerError,
    Fault::Overloaded,
    Fault::ErrorEvent,
    Fault::Oversized,
    Fault::Drip,
];
const CAP: usize = 4096;
/// What a dripping provider says.
const DRIP_TEXT: &str = "slow but steady";

impl Fault {
    /// Whether the client may already have content when it happens (then
    /// a stream cannot fall back; a whole answer always can).
    fn after_content(self) -> bool {
        matches!(
            self,
            Fault::Stall | Fault::Reset | Fault::ErrorEvent | Fault::Oversized
        )
    }
}

/// Either kind of mock the faulty provider runs on.
enum Faulty {
    Http(MockUpstream),
    Bedrock(MockBedrock),
}

impl Faulty {
    fn url(&self) -> String {
        match self {
            Faulty::Http(m) => m.url(),
            Faulty::Bedrock(m) => m.url(),
        }
    }
}

fn sse(events: Vec<(String, String)>, tail: StreamTail) -> Reply {
    Reply::Sse {
        events,
        gap: Duration::from_millis(1),
        tail,
    }
}

fn garbage() -> Reply {
    Reply::Json {
        status: 200,
        headers: vec![],
        body: "<html><body>502 Bad Gateway</body></html>".into(),
    }
}

/// The text a streamed Anthropic answer's deltas spell.
fn streamed_text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter_map(|(_, d)| d["delta"]["text"].as_str())
        .collect()
}

fn long_text() -> String {
    "all work and no play makes a long answer ".repeat(CAP / 20)
}

/// The faulty provider's script for `fault`, in `kind`'s protocol.
fn script(kind: Kind, fault: Fault, mock: &Faulty) {
    let hang = Duration::from_secs(30);
    match (kind, mock) {
        (Kind::Bedrock, Faulty::Bedrock(m)) => m.push(match fault {
            Fault::Hang => BedrockReply::Delay(hang, Box::new(BedrockReply::error(500, "x", "x"))),
            Fault::Stall => BedrockReply::Frames {
                frames: text_frames("m", "never finished"),
                cut: 0,
                gap: hang,
                drop_at_end: false,
            },
            Fault::Reset => BedrockReply::Frames {
                frames: text_frames("m", "cut off").into_iter().take(3).collect(),
                cut: 0,
                gap: Duration::from_millis(1),
                drop_at_end: true,
            },
            Fault::Garbage => BedrockReply::Frames {
                frames: vec![b"<html>not an event stream, at all</html>".to_vec()],
                cut: 0,
                gap: Duration::ZERO,
                drop_at_end: false,
            },
            Fault::ServerError => BedrockReply::error(500, "InternalServerException", "boom"),
            Fault::Overloaded => BedrockReply::error(429, "ThrottlingException", "slow down"),
            Fault::ErrorEvent => {
                let mut frames: Vec<Vec<u8>> =
                    text_frames("m", "half").into_iter().take(3).collect();
                frames.push(exception("throttlingException", "Too many tokens"));
                BedrockReply::Frames {
                    frames,
                    cut: 0,
                    gap: Duration::from_millis(1),
                    drop_at_end: false,
                }
            }
            Fault::Drip => BedrockReply::Frames {
                frames: text_frames("m", DRIP_TEXT),
                cut: 0,
                gap: Duration::from_millis(50),
                drop_at_end: false,
            },
            Fault::Oversized => BedrockReply::Frames {
                frames: text_frames("m", &long_text()),
                cut: 0,
                gap: Duration::from_millis(1),
                drop_at_end: false,
            },
        }),
        (_, Faulty::Http(m)) => m.push(http_script(kind, fault)),
        _ => unreachable!(),
    }
}

fn http_script(kind: Kind, fault: Fault) -> Reply {
    let text = |t: &str| match kind {
        Kind::Anthropic => text_events("m", t, 10, 5),
        Kind::OpenAi => openai_text_chunks("m", t, true),
        _ => ollama_lines("m", t)
            .into_iter()
            .map(|l| (String::new(), l))
            .collect(),
    };
    let stream = |events: Vec<(String, String)>, tail| match kind {
        Kind::Ollama => Reply::Lines {
            lines: events.into_iter().map(|(_, l)| l).collect(),
            gap: Duration::from_millis(1),
            tail,
        },
        _ => sse(events, tail),
    };
    let head = |n: usize| text("the start of an answer").into_iter().take(n).collect();
    match fault {
        Fault::Hang => Reply::Hang,
        Fault::Stall => stream(head(2), StreamTail::Hang),
        Fault::Reset => stream(head(2), StreamTail::Disconnect),
        Fault::Garbage => garbage(),
        Fault::ServerError => Reply::error(500, "api_error", "boom"),
        Fault::Overloaded => match kind {
            Kind::Anthropic => Reply::error(529, "overloaded_error", "Overloaded"),
            _ => Reply::error(503, "server_busy", "busy"),
        },
        Fault::ErrorEvent => {
            let mut events: Vec<(String, String)> = head(3);
            events.push(match kind {
                Kind::Anthropic => ev(
                    "error",
                    json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}),
                ),
                Kind::OpenAi => (
                    String::new(),
                    json!({"error":{"message":"model crashed","type":"server_error"}}).to_string(),
                ),
                _ => (String::new(), json!({"error": "model runner crashed"}).to_string()),
            });
            stream(events, StreamTail::Complete)
        }
        Fault::Drip => match stream(text(DRIP_TEXT), StreamTail::Complete) {
            Reply::Lines { lines, tail, .. } => Reply::Lines {
                lines,
                gap: Duration::from_millis(50),
                tail,
            },
            Reply::Sse { events, tail, .. } => Reply::Sse {
                events,
                gap: Duration::from_millis(50),
                tail,
            },
            other => other,
        },
        Fault::Oversized => match stream(text(&long_text()), StreamTail::Complete) {
            Reply::Lines { lines, tail, .. } => Reply::Lines {
                lines,
                gap: Duration::ZERO,
                tail,
            },
            other => other,
        },
    }
}

fn provider(kind: Kind, url: &str) -> String {
    match kind {
        Kind::Anthropic => format!(
            "[providers.faulty]\nkind = \"anthropic\"\nbase_url = \"{url}\"\napi_key = \"k\"\n"
        ),
        Kind::OpenAi => format!("[providers.faulty]\nkind = \"openai\"\nbase_url = \"{url}/v1\"\n"),
        Kind::Ollama => format!(
            "[providers.faulty]\nkind = \"ollama\"\nbase_url = \"{url}\"\napi = \"native\"\ndiscover = false\nlocal = false\n"
        ),
        Kind::Bedrock => format!(
            "[providers.faulty]\nkind = \"bedrock\"\nregion = \"{REGION}\"\nendpoint = \"{url}\"\n\
             access_key_id = \"{ACCESS_KEY}\"\nsecret_access_key = \"{SECRET_KEY}\"\nsession_token = \"{SESSION_TOKEN}\"\n"
        ),
    }
}

/// What one cell came to.
struct Cell {
    status: u16,
    /// Who answered: "ok", or the error (event or body) the client got.
    answer: String,
    faulty_breaker: String,
    ok_breaker: String,
    records: usize,
    error_kind: Option<String>,
    fallbacks: u32,
    seconds: f64,
}

async fn run(kind: Kind, fault: Fault, stream: bool) -> Cell {
    let faulty = match kind {
        Kind::Bedrock => Faulty::Bedrock(MockBedrock::start().await),
        _ => Faulty::Http(MockUpstream::start().await),
    };
    let ok = MockUpstream::start().await;
    let id = match kind {
        Kind::Bedrock => "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        _ => "faulty-model",
    };
    let gw = TestGateway::custom(&format!(
        "[retry]\nattempts = 0\n[timeouts]\nfirst_byte = \"300ms\"\nidle = \"300ms\"\ntotal = \"10s\"\n\
         [health]\nfailures = 1\ncooldown = \"60s\"\n[guard]\nmax_response_bytes = {CAP}\n\
         {}\
         [providers.ok]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"k\"\n\
         [models.faulty]\nprovider = \"faulty\"\nid = \"{id}\"\n\
         [models.ok]\nprovider = \"ok\"\nid = \"claude-ok\"\n\
         [[routes]]\nmatch = {{ model = \"pair\" }}\ntargets = [\"faulty\", \"ok\"]\n",
        provider(kind, &faulty.url()),
        ok.url()
    ))
    .await;
    script(kind, fault, &faulty);
    let started = Instant::now();
    let resp = gw.post("/v1/messages", &body("pair", stream)).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let seconds = started.elapsed().as_secs_f64();
    let answer = if stream {
        let events = sse_events(&text);
        match events.iter().find(|(n, _)| n == "error") {
            Some((_, e)) => format!("error event {}", e["error"]["type"].as_str().unwrap_or("?")),
            None if streamed_text(&events) == "Hello from the mock." => "ok".into(),
            None if streamed_text(&events).replace(' ', "") == DRIP_TEXT.replace(' ', "") => {
                "faulty's own".into()
            }
            None => format!("? {}", text.chars().take(120).collect::<String>()),
        }
    } else {
        let v: Value = serde_json::from_str(&text).unwrap_or_default();
        match v["content"][0]["text"].as_str() {
            Some("Hello from the mock.") => "ok".into(),
            Some(t) if t.replace(' ', "") == DRIP_TEXT.replace(' ', "") => "faulty's own".into(),
            _ => format!("error {}", v["error"]["type"].as_str().unwrap_or("?")),
        }
    };
    let records = gw.records.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let health = gw.get_json("/health").await;
    let breaker = |target: &str| {
        health["targets"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["target"] == target))
            .and_then(|t| t["state"].as_str())
            .unwrap_or("up") // a target never failed has no breaker yet
            .to_string()
    };
    let rec = &records[0];
    Cell {
        status,
        answer,
        faulty_breaker: breaker(&format!("faulty/{id}")),
        ok_breaker: breaker("ok/claude-ok"),
        records: gw.records.all().len(),
        error_kind: rec.error_kind.clone(),
        fallbacks: rec.fallbacks,
        seconds,
    }
}

#[tokio::test]
async fn every_fault_of_every_provider_kind() {
    let mut table = vec![
        "| provider | fault | mode | client got | fallback | faulty's breaker | ok's breaker | record | time |".to_string(),
        "|---|---|---|---|---|---|---|---|---|".to_string(),
    ];
    let mut wrong = Vec::new();
    for kind in KINDS {
        for fault in FAULTS {
            for stream in [true, false] {
                let c = run(kind, fault, stream).await;
                let mode = if stream { "stream" } else { "whole" };
                table.push(format!(
                    "| {kind:?} | {fault:?} | {mode} | {} {} | {} | {} | {} | {} row, {} | {:.2} s |",
                    c.status,
                    c.answer,
                    if c.fallbacks > 0 { "yes" } else { "no" },
                    c.faulty_breaker,
                    c.ok_breaker,
                    c.records,
                    c.error_kind.as_deref().unwrap_or("success"),
                    c.seconds
                ));
                // What must hold in every cell.
                let fell_back = stream && fault.after_content();
                let mut why = Vec::new();
                if fault == Fault::Drip {
                    // Slow is not broken: the provider's own answer, no
                    // fallback, no breaker charged.
                    if c.answer != "faulty's own" || c.fallbacks != 0 || c.faulty_breaker != "up" {
                        why.push("a slow but steady answer is served as it is");
                    }
                } else if !fell_back && (c.answer != "ok" || c.fallbacks != 1) {
                    why.push("the fallback should have answered");
                }
                if fell_back && !c.answer.starts_with("error event") {
                    why.push("a broken stream must end with an error event");
                }
                if c.records != 1 {
                    why.push("exactly one record");
                }
                if c.ok_breaker != "up" {
                    why.push("the healthy fallback is never charged");
                }
                // A body that is not the protocol, or too long an answer,
                // says more about the request than about the provider.
                let counts = !matches!(fault, Fault::Garbage | Fault::Oversized | Fault::Drip);
                if counts && c.faulty_breaker == "up" {
                    why.push("a provider fault counts against its breaker");
                }
                if c.seconds > 5.0 {
                    why.push("answered in seconds, not at a hang's end");
                }
                if !why.is_empty() {
                    wrong.push(format!("{kind:?} {fault:?} {mode}: {}", why.join("; ")));
                }
            }
        }
    }
    println!("{}", table.join("\n"));
    assert!(
        wrong.is_empty(),
        "{}\n{}",
        wrong.join("\n"),
        table.join("\n")
    );
}

//! Property tests of every parser a client or an upstream feeds: SSE,
//! Ollama's NDJSON, Bedrock's event stream, the Anthropic and OpenAI stream
//! decoders, both request dialects, the config, and the shell parser the
//! guard reads proposed commands with. Whatever the bytes and however the
//! network cuts them: no panic, errors instead; well-formed input decodes
//! the same whatever the chunking; a decoder given a size limit keeps to it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use proptest::prelude::*;
use switchyard::core::{BodyKind, RawRequest, StreamEvent};
use switchyard::protocol::EventDecoder;
use switchyard::protocol::anthropic::AnthropicDecoder;
use switchyard::protocol::bedrock::eventstream::BedrockDecoder;
use switchyard::protocol::bedrock::frames::chunk_frame;
use switchyard::protocol::ollama::decode::OllamaDecoder;
use switchyard::protocol::openai::decode::OpenAiDecoder;
use switchyard::protocol::sse::SseDecoder;

/// `whole` cut at the given points (any number, any order).
fn cut(whole: &[u8], points: &[usize]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = points.iter().map(|p| p % (whole.len() + 1)).collect();
    at.sort_unstable();
    at.dedup();
    let mut out = Vec::new();
    let mut from = 0;
    for p in at {
        out.push(whole[from..p].to_vec());
        from = p;
    }
    out.push(whole[from..].to_vec());
    out
}

/// Every event an [`EventDecoder`] makes of `chunks`, and how it ended.
fn decode_all(
    mut d: impl EventDecoder,
    chunks: &[Vec<u8>],
) -> (Vec<StreamEvent>, Result<(), String>) {
    let mut out = Vec::new();
    for c in chunks {
        if let Err(e) = d.feed(c, &mut out) {
            return (out, Err(e.message));
        }
    }
    let end = d.finish(&mut out).map_err(|e| e.message);
    (out, end)
}

/// Events with made-up message ids blanked.
fn without_ids(mut events: Vec<StreamEvent>) -> Vec<StreamEvent> {
    for e in &mut events {
        if let StreamEvent::MessageStart { message } = e {
            message.id.clear();
        }
    }
    events
}

fn sse_events(d: &mut SseDecoder, chunks: &[Vec<u8>]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c);
        while let Ok(Some(e)) = d.next_event() {
            out.push((e.name().to_string(), e.data().to_vec()));
        }
    }
    while let Ok(Some(e)) = d.end_of_stream() {
        out.push((e.name().to_string(), e.data().to_vec()));
    }
    out
}

/// A well-formed Anthropic stream of a text answer, its text in `pieces`.
fn anthropic_stream(pieces: &[String], line_end: &str) -> String {
    let mut events = vec![
        (
            "message_start",
            serde_json::json!({"type":"message_start","message":{"id":"msg_p","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}),
        ),
        (
            "content_block_start",
            serde_json::json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
        ),
    ];
    for p in pieces {
        events.push((
            "content_block_delta",
            serde_json::json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":p}}),
        ));
    }
    events.push((
        "content_block_stop",
        serde_json::json!({"type":"content_block_stop","index":0}),
    ));
    events.push(("message_delta", serde_json::json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":7}})));
    events.push(("message_stop", serde_json::json!({"type":"message_stop"})));
    events
        .iter()
        .map(|(n, d)| format!("event: {n}{line_end}data: {d}{line_end}{line_end}"))
        .collect()
}

fn line_end() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["\n", "\r\n", "\r"])
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn sse_chunking_changes_nothing(
        pieces in prop::collection::vec(".{0,40}", 0..8),
        end in line_end(),
        points in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let whole = anthropic_stream(&pieces, end);
        let once = sse_events(&mut SseDecoder::default(), &[whole.as_bytes().to_vec()]);
        let cut_up = sse_events(&mut SseDecoder::default(), &cut(whole.as_bytes(), &points));
        prop_assert_eq!(once.len(), pieces.len() + 5);
        prop_assert_eq!(&once, &cut_up);
        // And the Anthropic decoder reads the same answer either way.
        let (a, ra) = decode_all(AnthropicDecoder::default(), &[whole.as_bytes().to_vec()]);
        let (b, rb) = decode_all(AnthropicDecoder::default(), &cut(whole.as_bytes(), &points));
        prop_assert!(ra.is_ok() && rb.is_ok());
        prop_assert_eq!(a, b);
    }

    #[test]
    fn sse_events_past_the_limit_are_refused(
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
        points in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut d = SseDecoder::new(256);
        for c in cut(&bytes, &points) {
            d.feed(&c);
            loop {
                match d.next_event() {
                    Ok(Some(e)) => prop_assert!(e.data().len() <= 256),
                    Ok(None) => break,
                    Err(_) => return Ok(()), // refused: the caller ends the stream
                }
            }
        }
    }

    #[test]
    fn stream_decoders_take_any_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        points in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let chunks = cut(&bytes, &points);
        let _ = decode_all(AnthropicDecoder::default(), &chunks);
        let _ = decode_all(OpenAiDecoder::default(), &chunks);
        let _ = decode_all(OllamaDecoder::default(), &chunks);
        let _ = decode_all(BedrockDecoder::default(), &chunks);
    }

    #[test]
    fn stream_decoders_take_any_json_lines(
        lines in prop::collection::vec(json_value(), 0..12),
        points in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let ndjson: String = lines.iter().map(|v| format!("{v}\n")).collect();
        let sse: String = lines.iter().map(|v| format!("data: {v}\n\n")).collect();
        let _ = decode_all(OllamaDecoder::default(), &cut(ndjson.as_bytes(), &points));
        let _ = decode_all(OpenAiDecoder::default(), &cut(sse.as_bytes(), &points));
        let _ = decode_all(AnthropicDecoder::default(), &cut(sse.as_bytes(), &points));
        let frames: Vec<u8> = lines.iter().flat_map(|v| chunk_frame(v.to_string().as_bytes()).to_vec()).collect();
        let _ = decode_all(BedrockDecoder::default(), &cut(&frames, &points));
    }

    #[test]
    fn ndjson_and_event_stream_chunking_changes_nothing(
        pieces in prop::collection::vec(".{0,30}", 1..8),
        points in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut lines: Vec<String> = pieces.iter().map(|p| serde_json::json!({"model":"m","message":{"role":"assistant","content":p},"done":false}).to_string()).collect();
        lines.push(serde_json::json!({"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":3,"eval_count":5}).to_string());
        let ndjson: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let (a, ra) = decode_all(OllamaDecoder::default(), &[ndjson.as_bytes().to_vec()]);
        let (b, rb) = decode_all(OllamaDecoder::default(), &cut(ndjson.as_bytes(), &points));
        prop_assert!(ra.is_ok(), "{:?}", ra);
        // (Ollama sends no message id: each decoder makes one up.)
        prop_assert_eq!((without_ids(a), ra), (without_ids(b), rb));

        let sse = anthropic_stream(&pieces, "\n");
        let mut frames = Vec::new();
        for e in sse_events(&mut SseDecoder::default(), &[sse.into_bytes()]) {
            frames.extend_from_slice(&chunk_frame(&e.1));
        }
        let (a, ra) = decode_all(BedrockDecoder::default(), &[frames.clone()]);
        let (b, rb) = decode_all(BedrockDecoder::default(), &cut(&frames, &points));
        prop_assert!(ra.is_ok(), "{:?}", ra);
        prop_assert_eq!(a.len(), pieces.len() + 5);
        prop_assert_eq!((a, ra), (b, rb));
    }

    #[test]
    fn request_bodies_of_any_bytes_parse_or_are_refused(
        bytes in prop::collection::vec(any::<u8>(), 0..1024),
    ) {
        for kind in [BodyKind::Messages, BodyKind::ChatCompletions, BodyKind::CountTokens, BodyKind::BedrockInvoke] {
            let _ = RawRequest::parse(Bytes::from(bytes.clone()), kind);
        }
    }

    #[test]
    fn request_bodies_of_any_json_parse_or_are_refused(v in json_value()) {
        let body = Bytes::from(v.to_string());
        for kind in [BodyKind::Messages, BodyKind::ChatCompletions, BodyKind::CountTokens] {
            let _ = RawRequest::parse(body.clone(), kind);
        }
    }

    #[test]
    fn edited_requests_stay_valid(
        model in ".{1,40}".prop_filter("a name", |m| !m.trim().is_empty()),
        text in ".{0,200}",
        max_tokens in 1u64..200_000,
        ceiling in 1u64..200_000,
        stream in prop::option::of(any::<bool>()),
        openai in any::<bool>(),
    ) {
        let mut v = serde_json::json!({"model": model, "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": text}]});
        if let Some(s) = stream {
            v["stream"] = serde_json::json!(s);
        }
        let kind = if openai { BodyKind::ChatCompletions } else { BodyKind::Messages };
        let raw = RawRequest::parse(Bytes::from(v.to_string()), kind).unwrap();
        prop_assert_eq!(raw.model(), model.as_str());
        if let Some(body) = raw.as_stream() {
            let streamed = RawRequest::parse(body, kind).unwrap();
            prop_assert!(streamed.is_stream());
            prop_assert_eq!(streamed.model(), raw.model());
            prop_assert_eq!(streamed.max_output_tokens(), raw.max_output_tokens());
            prop_assert_eq!(streamed.include_usage(), openai);
        } else {
            prop_assert_eq!(stream, Some(true));
        }
        let capped = match raw.with_max_output(ceiling).unwrap() {
            Some(body) => RawRequest::parse(body, kind).unwrap(),
            None => raw.clone(),
        };
        prop_assert_eq!(capped.max_output_tokens(), Some(max_tokens.min(ceiling)));
        let renamed = RawRequest::parse(raw.with_model("other-model"), kind).unwrap();
        prop_assert_eq!(renamed.model(), "other-model");
    }

    #[test]
    fn any_config_text_loads_or_explains(text in ".{0,400}") {
        let _ = switchyard::config::load_str(&text, switchyard::config::ConfigSource::Embedded, &|_| None);
    }

    #[test]
    fn any_config_of_known_keys_loads_or_explains(
        lines in prop::collection::vec(config_line(), 0..12),
    ) {
        let text = lines.join("\n");
        if let Err(e) = switchyard::config::load_str(&text, switchyard::config::ConfigSource::Embedded, &|_| None) {
            prop_assert!(!e.0.is_empty(), "an error says what is wrong");
        }
    }

    #[test]
    fn the_guard_reads_any_command(command in ".{0,300}") {
        let _ = switchyard::guard::shell::parse(&command);
        let checker = switchyard::guard::tools::ToolChecker::new(&switchyard::config::GuardConfig::default()).unwrap();
        let workspace = switchyard::guard::workspace::Workspace::new(&["/work".into()], b"");
        let rules = switchyard::config::ToolRules::JAIL
            .with(switchyard::config::ToolRules::SHELL)
            .with(switchyard::config::ToolRules::READ_ONLY)
            .with(switchyard::config::ToolRules::SENSITIVE_FILES);
        let input = serde_json::json!({"command": command, "file_path": command});
        for tool in ["Bash", "Write", "Read", "Edit"] {
            let _ = checker.check(rules, &workspace, tool, &input);
        }
    }
}

/// Shell-ish text the parser must cope with: quotes, substitutions,
/// here-documents, redirections, mixed in any order.
#[test]
fn the_guard_reads_unbalanced_shell() {
    for command in [
        "echo \"unterminated",
        "cat <<EOF\nno end",
        "$(((((",
        "a | | b ;; & > < >> 2>&1 &&",
        "'\\''\"`$(`",
        "\u{0}\u{7f}\u{202e}rm -rf /",
    ] {
        let _ = switchyard::guard::shell::parse(command);
    }
}

/// Words the parsers look for, as keys and values.
const KEYS: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "stream",
    "role",
    "content",
    "type",
    "text",
    "message",
    "index",
    "delta",
    "usage",
    "choices",
    "done",
    "error",
    "tool_calls",
    "stream_options",
    "thinking",
    "system",
    "tools",
    "message_start",
    "content_block_delta",
    "tool_use",
];

/// JSON values of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
        prop::sample::select(KEYS).prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                serde_json::Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// A line of a config: a known section header or key, any value.
fn config_line() -> impl Strategy<Value = String> {
    let section = prop::sample::select(vec![
        "[providers.a]",
        "[models.m]",
        "[tiers]",
        "[router]",
        "[guard]",
        "[cache]",
        "[timeouts]",
        "[retry]",
        "[health]",
        "[[routes]]",
        "[[keys]]",
        "[[budgets]]",
        "[clients]",
        "[ledger]",
        "[guard.tiers.local]",
    ])
    .prop_map(str::to_string);
    let key = prop::sample::select(vec![
        "kind",
        "base_url",
        "provider",
        "id",
        "model",
        "targets",
        "local",
        "premium",
        "secrets",
        "tools",
        "max_tokens",
        "first_byte",
        "attempts",
        "name",
        "match",
        "listen",
        "master_key",
        "stream_whole_answers",
        "limit",
        "window",
    ]);
    let value = prop_oneof![
        ".{0,12}".prop_map(|s| format!("{s:?}")),
        any::<i32>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("[\"a\", \"b\"]".to_string()),
        Just("{ model = \"x\" }".to_string()),
        Just("\"anthropic\"".to_string()),
        Just("\"1s\"".to_string()),
    ];
    prop_oneof![
        section,
        (key, value).prop_map(|(k, v)| format!("{k} = {v}"))
    ]
}

//! Micro-benchmarks of the hot pieces of a request: parsing a large Claude
//! Code body, scanning it for secrets, the routing decision on it, the
//! classifier alone, and an
//! exact cache hit (lookup, then the answer written as SSE).
//!
//! cargo bench --bench hot_paths

#![allow(clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::hint::black_box;
use switchyard::config::{ConfigSource, load_str};
use switchyard::core::{BodyKind, RawRequest};
use switchyard::routing::classifier::{Thresholds, classify};
use switchyard::routing::{Router, conversation};

/// A Claude Code request grown into a long agent session: the real first
/// request, then 40 tool round trips carrying file contents (~400 KB).
fn large_claude_code_body() -> Bytes {
    claude_code_body(40)
}

/// A Claude Code body after `modules` files were read (40: 377 KB; 56: 510 KB).
fn claude_code_body(modules: usize) -> Bytes {
    let path = format!(
        "{}/tests/fixtures/anthropic/claude_code_simple.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut body: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let messages = body["messages"].as_array_mut().expect("messages");
    let file = "fn handler(req: Request) -> Response {\n    let user = auth(&req)?;\n    respond(user)\n}\n".repeat(90);
    for i in 0..modules {
        messages.push(json!({"role": "assistant", "content": [
            {"type": "text", "text": format!("Reading module {i}.")},
            {"type": "tool_use", "id": format!("toolu_{i:04}"), "name": "Read", "input": {"file_path": format!("src/m{i}.rs")}}]}));
        messages.push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": format!("toolu_{i:04}"), "content": file}]}));
    }
    messages.push(json!({"role": "user", "content": [{"type": "text", "text": "Now refactor the error handling across these modules to use one error type, keep the public API stable."}]}));
    Bytes::from(body.to_string())
}

const CONFIG: &str = r#"
auth = "none"
[providers.ollama]
kind = "ollama"
discover = false
[providers.anthropic]
kind = "anthropic"
base_url = "http://127.0.0.1:1"
[models.local]
provider = "ollama"
capabilities = ["tools"]
[models.haiku]
provider = "anthropic"
[models.sonnet]
provider = "anthropic"
[tiers]
local = ["local", "haiku"]
cheap = ["haiku", "sonnet"]
premium = ["sonnet"]
"#;

fn benches(c: &mut Criterion) {
    let body = large_claude_code_body();
    eprintln!("large Claude Code body: {} KB", body.len() / 1024);
    let raw = RawRequest::parse(body.clone(), BodyKind::Messages).expect("parses");
    let config = load_str(CONFIG, ConfigSource::Embedded, &|_| None).expect("config");
    let router = Router::new(&config).expect("router");
    let headers = http::HeaderMap::new();

    c.bench_function("parse: large Claude Code body", |b| {
        b.iter(|| RawRequest::parse(black_box(body.clone()), BodyKind::Messages))
    });
    let scope = switchyard::cache::key::KeyScope {
        dialect: switchyard::core::Dialect::Anthropic,
        routed_model: "claude-sonnet-4-5",
        betas: None,
        client_key: None,
    };
    let detector = switchyard::guard::Detector::new(&[]).expect("detector");
    let body_500 = claude_code_body(56);
    let text = std::str::from_utf8(&body_500).expect("utf-8");
    let name = format!(
        "guard: secrets in a {} KB Claude Code body",
        body_500.len() / 1024
    );
    c.bench_function(&name, |b| b.iter(|| detector.scan(black_box(text))));
    c.bench_function("cache key: exact key of a large Claude Code body", |b| {
        b.iter(|| switchyard::cache::key::exact_key(&scope, black_box(&body)))
    });
    c.bench_function("route: decision on a large Claude Code body", |b| {
        b.iter(|| router.plan(black_box(&raw), &headers))
    });
    // The same session one step later: a failing test run came back. The
    // per-turn policy reads the tool results and prices both tiers.
    let mut step: Value = serde_json::from_slice(&body).expect("json");
    let messages = step["messages"].as_array_mut().expect("messages");
    messages.push(json!({"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_run", "name": "Bash", "input": {"command": "cargo test"}}]}));
    messages.push(json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_run", "content": "test result: FAILED. 3 passed; 1 failed", "cache_control": {"type": "ephemeral"}}]}));
    let step =
        RawRequest::parse(Bytes::from(step.to_string()), BodyKind::Messages).expect("parses");
    // The request guard reads a body once; the next turn of the session
    // only reads what is new.
    let guard_config = switchyard::config::GuardConfig::default();
    let raw_500 = RawRequest::parse(body_500.clone(), BodyKind::Messages).expect("parses");
    let name = format!(
        "guard: first read of a {} KB Claude Code body",
        body_500.len() / 1024
    );
    c.bench_function(&name, |b| {
        b.iter_batched(
            || switchyard::guard::RequestGuard::new(&guard_config).expect("guard"),
            |g| g.inspect(black_box(&raw_500)),
            criterion::BatchSize::LargeInput,
        )
    });
    let warm = switchyard::guard::RequestGuard::new(&guard_config).expect("guard");
    warm.inspect(&raw);
    c.bench_function("guard: next turn of the same session", |b| {
        b.iter(|| warm.inspect(black_box(&step)))
    });
    tool_check_benches(c);
    let mut priced = Router::new(&config).expect("router");
    let price = |input: i64, output: i64| switchyard::core::Price {
        base: switchyard::core::Rates {
            input: input.into(),
            output: output.into(),
            cache_write_5m: input.into(),
            cache_write_1h: input.into(),
            cache_read: input.into(),
        },
        long_context: None,
    };
    priced.set_prices(
        [
            ("local".to_string(), price(0, 0)),
            ("haiku".to_string(), price(1, 5)),
            ("sonnet".to_string(), price(3, 15)),
        ]
        .into(),
    );
    let mut session = http::HeaderMap::new();
    session.insert(
        switchyard::routing::SESSION_HEADER,
        http::HeaderValue::from_static("bench-session"),
    );
    let planned = priced.plan(&raw, &session).expect("plan");
    priced.served(&planned, 0);
    let stepped = priced.plan(&step, &session).expect("plan");
    assert!(
        stepped.reason.contains("failing tests"),
        "{}",
        stepped.reason
    );
    c.bench_function(
        "route: tool step with session memory and cost model, large body",
        |b| b.iter(|| priced.plan(black_box(&step), &session)),
    );
    c.bench_function("classify: conversation + score", |b| {
        b.iter(|| classify(&conversation::read(black_box(&raw)), &Thresholds::default()))
    });
}

/// An exact in-memory hit for `body`: the lookup, and the replay as SSE.
fn cache_hit(c: &mut Criterion, name: &str, body: Bytes) {
    use switchyard::cache::entry::{Entry, Origin};
    use switchyard::cache::{Lookup, ResponseCache};
    use switchyard::protocol::ClientCodec;
    let config = load_str(
        &format!("{CONFIG}[cache]\nagents = true\n"),
        ConfigSource::Embedded,
        &|_| None,
    )
    .expect("config");
    let router = Router::new(&config).expect("router");
    let cache = ResponseCache::new(config.cache.as_ref().expect("cache")).expect("cache");
    let raw = RawRequest::parse(body, BodyKind::Messages).expect("parses");
    let headers = http::HeaderMap::new();
    let plan = router.plan(&raw, &headers).expect("plan");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let answer = serde_json::from_value(
        json!({"id": "msg_1", "model": "claude-sonnet-4-5", "content": [
        {"type": "text", "text": "Here is the refactor plan. ".repeat(40)}],
        "stop_reason": "end_turn", "usage": {"input_tokens": 1200, "output_tokens": 300}}),
    )
    .expect("answer");
    let Lookup::Miss(pending) =
        rt.block_on(cache.lookup(&plan, &raw, &headers, switchyard::core::Dialect::Anthropic))
    else {
        panic!("expected a miss");
    };
    rt.block_on(cache.put(
        pending,
        Entry {
            answer,
            origin: Origin::default(),
            usage: Default::default(),
        },
    ));
    let codec = switchyard::protocol::anthropic::AnthropicCodec;
    c.bench_function(name, |b| {
        b.iter(|| {
            let Lookup::Hit { entry, .. } = rt.block_on(cache.lookup(
                &plan,
                black_box(&raw),
                &headers,
                switchyard::core::Dialect::Anthropic,
            )) else {
                panic!("expected a hit");
            };
            let mut enc = codec.stream_encoder(&raw);
            let mut out = std::collections::VecDeque::new();
            for e in switchyard::stream::assemble::answer_events(&entry.answer) {
                enc.encode(&e, &mut out);
            }
            out
        })
    });
}

fn cache_benches(c: &mut Criterion) {
    let small = Bytes::from(
        json!({"model": "sonnet", "max_tokens": 512, "system": "You are a helpful assistant.",
               "messages": [{"role": "user", "content": "What's the capital of France?"}]})
        .to_string(),
    );
    cache_hit(c, "cache: exact hit + SSE replay, short question", small);
    cache_hit(
        c,
        "cache: exact hit + SSE replay, 377 KB Claude Code body",
        large_claude_code_body(),
    );
    // The lexical guard runs on every semantic candidate above the
    // threshold: a paraphrase it lets through (every check, the swap check
    // explaining four words) and a near miss the swap check refuses.
    use switchyard::cache::semantic::guard::compatible;
    c.bench_function("cache: semantic guard, a paraphrase let through", |b| {
        b.iter(|| {
            compatible(
                black_box("How can I revert my most recent commit without losing the changes?"),
                black_box("How do I undo the last git commit but keep my changes?"),
            )
        })
    });
    c.bench_function("cache: semantic guard, a swapped word refused", |b| {
        b.iter(|| {
            compatible(
                black_box("How do I read an Excel file with pandas?"),
                black_box("How do I read a CSV file with pandas?"),
            )
        })
    });
}

/// The answer-side guard: one proposed call judged against every rule, and
/// a streamed answer (text, then a call) through the passthrough's gate.
fn tool_check_benches(c: &mut Criterion) {
    use switchyard::config::ToolRules;
    use switchyard::guard::event_gate::EventGate;
    use switchyard::guard::tools::{ToolCheck, ToolChecker};
    use switchyard::guard::workspace::Workspace;
    let system = br##"[{"type":"text","text":"# Environment\n - Primary working directory: /home/dev/app\n"}]"##;
    let check = ToolCheck {
        checker: std::sync::Arc::new(
            ToolChecker::new(&switchyard::config::GuardConfig::default()).expect("checker"),
        ),
        rules: ToolRules::JAIL
            .with(ToolRules::SENSITIVE_FILES)
            .with(ToolRules::SHELL)
            .with(ToolRules::READ_ONLY),
        workspace: std::sync::Arc::new(Workspace::new(&[], system)),
        escalate: false,
        whole_answer: false,
    };
    let call = json!({"command": "cd /home/dev/app && cargo test --workspace 2>&1 | grep -E 'test result|FAILED' | tail -20", "description": "run the tests"});
    c.bench_function("guard: judge one proposed shell call", |b| {
        b.iter(|| check.judge(black_box("Bash"), black_box(&call)))
    });
    let text = "Let me run the tests to see what fails. ".repeat(20);
    let mut events: Vec<(&str, String)> = vec![
        ("message_start", json!({"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}}).to_string()),
        ("content_block_start", json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}).to_string()),
    ];
    for word in text.split_inclusive(' ') {
        events.push(("content_block_delta", json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":word}}).to_string()));
    }
    events.push((
        "content_block_stop",
        json!({"type":"content_block_stop","index":0}).to_string(),
    ));
    events.push(("content_block_start", json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"Bash","input":{}}}).to_string()));
    let args = call.to_string();
    for piece in args.as_bytes().chunks(16) {
        let piece = String::from_utf8_lossy(piece).into_owned();
        events.push(("content_block_delta", json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":piece}}).to_string()));
    }
    events.push((
        "content_block_stop",
        json!({"type":"content_block_stop","index":1}).to_string(),
    ));
    events.push(("message_delta", json!({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}).to_string()));
    events.push(("message_stop", json!({"type":"message_stop"}).to_string()));
    let events: Vec<(&str, Bytes)> = events
        .into_iter()
        .map(|(n, d)| (n, Bytes::from(d)))
        .collect();
    let name = format!("guard: gate a streamed answer ({} events)", events.len());
    c.bench_function(&name, |b| {
        b.iter(|| {
            let mut gate = EventGate::new(check.clone(), |_, d| Bytes::copy_from_slice(d));
            let mut out = std::collections::VecDeque::new();
            for (n, d) in &events {
                gate.push(n, d, d.clone(), &mut out).expect("passes");
            }
            gate.finish(&mut out);
            out.len()
        })
    });
}

criterion_group!(hot_paths, benches, cache_benches);
criterion_main!(hot_paths);

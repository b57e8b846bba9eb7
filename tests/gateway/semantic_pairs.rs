//! The semantic cache's labelled pairs through real gateways: every
//! question of the test split cached, then each paraphrase and near miss
//! asked (`only-if-cached`, so nothing new is stored) — once through the
//! in-memory cache and once through Redis. Both must serve exactly the same
//! requests, and exactly those `switchyard cache pairs` counts as served at
//! those settings (similarity, the guard, and the lower threshold for pairs
//! whose every differing word it explains), so the published table is what
//! the gateway does. Needs the in-process MiniLM (SWITCHYARD_MINILM_DIR).

use crate::cache::cache_header;
use crate::support::*;
use serde_json::json;
use std::time::Duration;
use switchyard::cache::semantic::pairs::{Pair, parse, score};

const THRESHOLD: f32 = 0.85;
const EXPLAINED: f32 = 0.80;

fn body(scope: &str, question: &str) -> String {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "system": scope,
           "messages": [{"role": "user", "content": question}]})
    .to_string()
}

async fn cached_only(gw: &TestGateway, scope: &str, question: &str) -> bool {
    let resp = gw
        .client()
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", MASTER_KEY)
        .header("cache-control", "only-if-cached")
        .body(body(scope, question))
        .send()
        .await
        .unwrap();
    cache_header(&resp) == "hit"
}

/// Which pairs `gw` serves from the cache: each question asked first (its
/// own scope, so a pair is compared with its question only).
async fn served(gw: &TestGateway, run: &str, pairs: &[Pair]) -> Vec<bool> {
    let mut out = Vec::new();
    let mut cached: Option<&str> = None;
    for p in pairs {
        let scope = format!("run {run}; question: {}", p.cached);
        if cached != Some(p.cached.as_str()) {
            let first = gw.post("/v1/messages", &body(&scope, &p.cached)).await;
            assert_eq!(cache_header(&first), "miss", "{}", p.cached);
            // Stored in the background: wait for the exact hit.
            let mut stored = false;
            for _ in 0..100 {
                if cached_only(gw, &scope, &p.cached).await {
                    stored = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(stored, "{} was stored", p.cached);
            cached = Some(p.cached.as_str());
        }
        out.push(cached_only(gw, &scope, &p.asked).await);
    }
    out
}

#[tokio::test]
#[ignore = "needs a local model: run scripts/local-model.sh, then cargo test -- --ignored (CI does)"]
async fn the_labelled_pairs_are_served_alike_in_memory_through_redis_and_offline() {
    let dir = std::env::var("SWITCHYARD_MINILM_DIR")
        .expect("SWITCHYARD_MINILM_DIR is not set: eval \"$(scripts/local-model.sh)\" first");
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/semantic/pairs.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let pairs: Vec<Pair> = parse(&text)
        .unwrap()
        .into_iter()
        .filter(|p| p.split == "test")
        .collect();
    let embedder = switchyard::cache::semantic::local::LocalEmbedder::load(dir.as_ref()).unwrap();
    let offline: Vec<bool> = score(&pairs, |t| embedder.embed_question(t))
        .unwrap()
        .iter()
        .map(|s| s.served(THRESHOLD, EXPLAINED))
        .collect();

    let mock = MockUpstream::start().await;
    let semantic = format!(
        "[cache.semantic]\nembedder = \"local\"\nmodel_dir = \"{dir}\"\nall_routes = true\nthreshold = {THRESHOLD}\nexplained_threshold = {EXPLAINED}\n"
    );
    let run = uuid::Uuid::now_v7().simple().to_string();
    let memory = TestGateway::start(&mock.url(), &format!("[cache]\n{semantic}")).await;
    let redis = TestGateway::start(
        &mock.url(),
        &format!("redis_url = \"redis://127.0.0.1:6379\"\n[cache]\n{semantic}"),
    )
    .await;
    let in_memory = served(&memory, &run, &pairs).await;
    let through_redis = served(&redis, &run, &pairs).await;
    let count = |v: &[bool], same: bool| {
        v.iter()
            .zip(&pairs)
            .filter(|(hit, p)| **hit && p.same == same)
            .count()
    };
    println!(
        "at {THRESHOLD}: {} of {} paraphrases served, {} of {} near misses (memory and Redis alike)",
        count(&in_memory, true),
        pairs.iter().filter(|p| p.same).count(),
        count(&in_memory, false),
        pairs.iter().filter(|p| !p.same).count()
    );
    assert!(count(&in_memory, true) > 0, "the cache serves paraphrases");
    for (i, p) in pairs.iter().enumerate() {
        assert_eq!(in_memory[i], through_redis[i], "memory vs Redis: {p:?}");
        assert_eq!(in_memory[i], offline[i], "gateway vs `cache pairs`: {p:?}");
    }
}

//! The exact response cache in memory, through the gateway: duplicates hit
//! in both dialects and both stream modes (a stored answer replays in
//! either form), TTL and size caps, no hits across models, system prompts
//! or tool sets, agent-safe defaults, cache-control, purge, and the ledger.

use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

/// A gateway on `mock` with `[cache]` lines.
pub async fn cached_gateway(mock: &MockUpstream, cache: &str) -> TestGateway {
    TestGateway::start(&mock.url(), &format!("[cache]\n{cache}\n")).await
}

pub fn cache_header(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("x-switchyard-cache")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// An Anthropic body asking `question`.
pub fn ask(model: &str, question: &str, stream: bool) -> String {
    json!({"model": model, "max_tokens": 64, "stream": stream,
           "messages": [{"role": "user", "content": question}]})
    .to_string()
}

fn openai_ask(question: &str, stream: bool) -> String {
    json!({"model": "claude-sonnet-4-5", "stream": stream, "stream_options": {"include_usage": true},
           "messages": [{"role": "user", "content": question}]})
    .to_string()
}

/// The text a client of either dialect received, streamed or not.
async fn answer_text(resp: reqwest::Response, openai: bool, stream: bool) -> String {
    let text = resp.text().await.unwrap();
    match (openai, stream) {
        (false, false) => {
            let v: Value = serde_json::from_str(&text).unwrap();
            v["content"][0]["text"].as_str().unwrap().to_string()
        }
        (false, true) => {
            let events = sse_events(&text);
            assert_eq!(events.first().unwrap().0, "message_start", "{text}");
            assert_eq!(events.last().unwrap().0, "message_stop", "{text}");
            events
                .iter()
                .filter_map(|(_, d)| d["delta"]["text"].as_str())
                .collect()
        }
        (true, false) => {
            let v: Value = serde_json::from_str(&text).unwrap();
            v["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .to_string()
        }
        (true, true) => {
            let chunks = openai_chunks(&text);
            assert!(
                chunks
                    .iter()
                    .any(|c| c["usage"]["prompt_tokens"].as_u64() > Some(0)),
                "the usage chunk: {text}"
            );
            chunks
                .iter()
                .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
                .collect()
        }
    }
}

#[tokio::test]
async fn duplicates_hit_in_both_dialects_and_both_stream_modes() {
    let mock = MockUpstream::start().await;
    let gw = cached_gateway(&mock, "").await;
    let mut n = 0;
    for openai in [false, true] {
        for stream in [false, true] {
            let question = format!("Say hello ({openai}, {stream})");
            let send = || async {
                if openai {
                    gw.post_openai(&openai_ask(&question, stream)).await
                } else {
                    gw.post("/v1/messages", &ask("claude-sonnet-4-5", &question, stream))
                        .await
                }
            };
            let first = send().await;
            assert_eq!(cache_header(&first), "miss");
            assert_eq!(
                answer_text(first, openai, stream).await,
                "Hello from the mock."
            );
            n += 1;
            for _ in 0..3 {
                let again = send().await;
                assert_eq!(again.status(), 200);
                assert_eq!(
                    cache_header(&again),
                    "hit",
                    "openai={openai} stream={stream}"
                );
                assert_eq!(again.headers()["x-switchyard-attempts"], "0");
                assert_eq!(
                    answer_text(again, openai, stream).await,
                    "Hello from the mock."
                );
            }
            // The same question in the other form is a hit too.
            let other = if openai {
                gw.post_openai(&openai_ask(&question, !stream)).await
            } else {
                gw.post(
                    "/v1/messages",
                    &ask("claude-sonnet-4-5", &question, !stream),
                )
                .await
            };
            assert_eq!(cache_header(&other), "hit");
            assert_eq!(
                answer_text(other, openai, !stream).await,
                "Hello from the mock."
            );
            assert_eq!(mock.seen().len(), n, "one upstream call per question");
        }
    }
    let records = gw.records.wait_for(20).await;
    let hits = records
        .iter()
        .filter(|r| r.cache == Some(switchyard::usage::CacheUse::Hit))
        .count();
    assert_eq!(hits, 16);
    for r in records
        .iter()
        .filter(|r| r.cache == Some(switchyard::usage::CacheUse::Hit))
    {
        assert_eq!(
            (r.attempts, r.usage.input_tokens),
            (0, 25),
            "a hit keeps the usage it saved"
        );
    }
}

#[tokio::test]
async fn entries_expire_after_the_ttl() {
    let mock = MockUpstream::start().await;
    let gw = cached_gateway(&mock, "ttl = \"300ms\"").await;
    let body = ask("claude-sonnet-4-5", "expiring question", false);
    assert_eq!(cache_header(&gw.post("/v1/messages", &body).await), "miss");
    assert_eq!(cache_header(&gw.post("/v1/messages", &body).await), "hit");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(cache_header(&gw.post("/v1/messages", &body).await), "miss");
    assert_eq!(mock.seen().len(), 2);
}

#[tokio::test]
async fn answers_over_the_size_cap_are_not_kept() {
    let mock = MockUpstream::start().await;
    let gw = cached_gateway(&mock, "max_entry_bytes = \"200B\"").await;
    for stream in [false, true] {
        let body = ask("claude-sonnet-4-5", &format!("big answer {stream}"), stream);
        for _ in 0..2 {
            let resp = gw.post("/v1/messages", &body).await;
            assert_eq!(cache_header(&resp), "miss");
            let _ = resp.text().await.unwrap();
        }
    }
    assert_eq!(mock.seen().len(), 4);
}

#[tokio::test]
async fn no_hits_across_models_system_prompts_or_tool_sets() {
    let mock = MockUpstream::start().await;
    let gw = cached_gateway(&mock, "agents = true").await;
    let base = json!({"model": "claude-sonnet-4-5", "max_tokens": 64,
                      "messages": [{"role": "user", "content": "same question"}]});
    let variant = |f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        v.to_string()
    };
    let tool = |name: &str| json!([{"name": name, "input_schema": {"type": "object"}}]);
    let bodies = [
        base.to_string(),
        variant(&|v| v["model"] = json!("claude-haiku-4-5")),
        variant(&|v| v["system"] = json!("You are a pirate.")),
        variant(&|v| v["tools"] = tool("Bash")),
        variant(&|v| v["tools"] = tool("Read")),
    ];
    for b in &bodies {
        assert_eq!(
            cache_header(&gw.post("/v1/messages", b).await),
            "miss",
            "{b}"
        );
    }
    for b in &bodies {
        assert_eq!(
            cache_header(&gw.post("/v1/messages", b).await),
            "hit",
            "{b}"
        );
    }
    assert_eq!(mock.seen().len(), bodies.len());
}

#[tokio::test]
async fn agent_turns_are_not_cached_by_default() {
    let mock = MockUpstream::start().await;
    let gw = cached_gateway(&mock, "").await;
    let claude_code = fixture("claude_code_tool_result.json");
    for _ in 0..2 {
        let resp = gw.post("/v1/messages", &claude_code).await;
        assert_eq!(cache_header(&resp), "skip");
        assert_eq!(resp.headers()["x-switchyard-cache-reason"], "agent turn");
    }
    assert_eq!(mock.seen().len(), 2);
}

#[tokio::test]
async fn cache_control_is_honoured() {
    let mock = MockUpstream::start().await;
    let gw = cached_gateway(&mock, "").await;
    let body = ask("claude-sonnet-4-5", "cache-control question", false);
    let with = |value: &'static str| {
        gw.client()
            .post(format!("{}/v1/messages", gw.url))
            .header("x-api-key", MASTER_KEY)
            .header("anthropic-version", "2023-06-01")
            .header("cache-control", value)
            .body(body.clone())
            .send()
    };
    let resp = with("no-store").await.unwrap();
    assert_eq!(cache_header(&resp), "skip");
    assert_eq!(resp.headers()["x-switchyard-cache-reason"], "no-store");
    assert_eq!(
        cache_header(&gw.post("/v1/messages", &body).await),
        "miss",
        "no-store kept nothing"
    );
    assert_eq!(cache_header(&gw.post("/v1/messages", &body).await), "hit");
    assert_eq!(
        cache_header(&with("no-cache").await.unwrap()),
        "miss",
        "no-cache asks upstream"
    );
    assert_eq!(cache_header(&with("only-if-cached").await.unwrap()), "hit");
    assert_eq!(mock.seen().len(), 3);
    let unseen = gw
        .client()
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", MASTER_KEY)
        .header("cache-control", "only-if-cached")
        .body(ask("claude-sonnet-4-5", "never asked", false))
        .send()
        .await
        .unwrap();
    assert_eq!(unseen.status(), 504);
    assert_eq!(mock.seen().len(), 3, "only-if-cached never goes upstream");
}

#[tokio::test]
async fn purge_empties_the_cache() {
    let mock = MockUpstream::start().await;
    let gw = cached_gateway(&mock, "").await;
    let body = ask("claude-sonnet-4-5", "purge me", false);
    assert_eq!(cache_header(&gw.post("/v1/messages", &body).await), "miss");
    assert_eq!(cache_header(&gw.post("/v1/messages", &body).await), "hit");
    let resp = gw
        .client()
        .delete(format!("{}/admin/cache", gw.url))
        .bearer_auth(MASTER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["purged"], 1);
    assert_eq!(cache_header(&gw.post("/v1/messages", &body).await), "miss");

    // The CLI asks the running gateway the same way.
    assert_eq!(cache_header(&gw.post("/v1/messages", &body).await), "hit");
    let dir = std::env::temp_dir().join(format!("switchyard-purge-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("switchyard.toml");
    std::fs::write(&config, format!("master_key = \"{MASTER_KEY}\"\n[cache]\n")).unwrap();
    // (tokio's Command: the gateway runs on this test's runtime.)
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["cache", "purge", "--config"])
        .arg(&config)
        .args(["--url", &gw.url])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "purged 1 cached answers"
    );
    assert_eq!(cache_header(&gw.post("/v1/messages", &body).await), "miss");
}

#[tokio::test]
async fn the_ledger_records_hits_with_what_they_saved() {
    let mock = MockUpstream::start().await;
    let mut gw = TestGateway::with_ledger(&format!(
        "[cache]\n[providers.anthropic]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"{UPSTREAM_KEY}\"\n\
         [models.sonnet]\nprovider = \"anthropic\"\nid = \"claude-sonnet-4-5-20250929\"\naliases = [\"claude-*\"]\n",
        mock.url()
    ))
    .await;
    let body = ask("claude-sonnet-4-5", "ledger question", false);
    for _ in 0..3 {
        let _ = gw.post("/v1/messages", &body).await.text().await;
    }
    gw.records.wait_for(3).await;
    gw.flush_ledger().await;
    let (from, to) =
        switchyard::usage::reports::Range::day(switchyard::usage::reports::today()).millis();
    let store = gw.store.clone().unwrap();
    let rows = store
        .rows(from, to, switchyard::store::Order::Time, 10)
        .await
        .unwrap();
    let miss = rows
        .iter()
        .find(|r| r.cache.as_deref() == Some("miss"))
        .unwrap();
    // sonnet: 25 input × $3 + 9 output × $15 per million
    assert_eq!(miss.cost_nusd, 25 * 3000 + 9 * 15000);
    let hits: Vec<_> = rows
        .iter()
        .filter(|r| r.cache.as_deref() == Some("hit"))
        .collect();
    assert_eq!(hits.len(), 2);
    for h in &hits {
        assert_eq!((h.cost_nusd, h.baseline_nusd), (0, miss.cost_nusd));
    }
    let totals = store.totals(from, to).await.unwrap();
    assert_eq!(totals.cache_hits, 2);
    assert_eq!(totals.cache_saved_nusd, 2 * miss.cost_nusd);
}

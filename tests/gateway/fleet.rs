//! Instances sharing state through Redis (the machine's, 127.0.0.1:6379):
//! a provider one instance finds failing is skipped by the others within a
//! second, and an instance that starts later learns it too; a Claude Code
//! session is routed the same whichever instance each turn lands on.

use crate::support::*;
use serde_json::json;
use std::time::{Duration, Instant};

const REDIS: &str = "redis://127.0.0.1:6379";

fn sections(faulty: &str, ok: &str, id: &str) -> String {
    format!(
        "redis_url = \"{REDIS}\"\n[retry]\nretries = 0\n[health]\nfailures = 1\ncooldown = \"30s\"\n\
         [providers.faulty]\nkind = \"anthropic\"\nbase_url = \"{faulty}\"\napi_key = \"k\"\n\
         [providers.ok]\nkind = \"anthropic\"\nbase_url = \"{ok}\"\napi_key = \"k\"\n\
         [models.faulty]\nprovider = \"faulty\"\nid = \"{id}\"\n\
         [models.ok]\nprovider = \"ok\"\nid = \"claude-ok\"\n\
         [[routes]]\nmatch = {{ model = \"pair\" }}\ntargets = [\"faulty\", \"ok\"]\n"
    )
}

/// The state of `target` in a gateway's `/health`.
async fn state_of(gw: &TestGateway, target: &str) -> String {
    let health = gw.get_json("/health").await;
    health["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["target"] == target)
        .map_or("up".to_string(), |t| {
            t["state"].as_str().unwrap_or("").to_string()
        })
}

#[tokio::test]
async fn a_provider_one_instance_finds_failing_is_skipped_by_all() {
    let (faulty, ok) = (MockUpstream::start().await, MockUpstream::start().await);
    let id = format!("faulty-{}", uuid::Uuid::now_v7().simple());
    let target = format!("faulty/{id}");
    let config = sections(&faulty.url(), &ok.url(), &id);
    let a = TestGateway::custom(&config).await;
    let b = TestGateway::custom(&config).await;
    // Let both subscribe before the failure.
    tokio::time::sleep(Duration::from_millis(200)).await;
    faulty.push(Reply::error(500, "api_error", "down"));
    let resp = a.post("/v1/messages", &body("pair", false)).await;
    assert_eq!(resp.status(), 200, "the fallback answers");
    assert_eq!(state_of(&a, &target).await, "cooling_down");
    let started = Instant::now();
    while state_of(&b, &target).await != "cooling_down" {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the other instance did not learn within a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The other instance goes straight to the fallback.
    let resp = b.post("/v1/messages", &body("pair", false)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(faulty.seen().len(), 1, "only the first instance tried it");
    // An instance that starts later reads the openings still alive.
    let c = TestGateway::custom(&config).await;
    let started = Instant::now();
    while state_of(&c, &target).await != "cooling_down" {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a late instance learns it"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One turn of a session with thinking on, after its tool ran on the
/// developer's machine: the tier and the reason.
async fn step(gw: &TestGateway, session: &str, m: &[serde_json::Value]) -> (String, String) {
    tokio::time::sleep(Duration::from_millis(50)).await;
    crate::routing::claude_code_turn(gw, session, m, true).await
}

/// A Claude Code session whose turns alternate between two instances is
/// routed as it would be on one: the second instance knows the task was
/// planned on premium, that Sonnet signed the thinking so far (so a step
/// may move to Haiku, without Sonnet's signatures), and the first learns
/// in turn which turn Haiku wrote.
#[tokio::test]
async fn a_session_is_routed_the_same_on_every_instance() {
    let (ollama, anthropic) = (MockUpstream::start().await, MockUpstream::start().await);
    let config = format!(
        "redis_url = \"{REDIS}\"\n{}",
        crate::routing::config(&ollama.url(), &anthropic.url())
    );
    let a = TestGateway::custom(&config).await;
    let b = TestGateway::custom(&config).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let session = format!("fleet-{}", uuid::Uuid::now_v7().simple());
    let turn = |id: &str, signed_by: &str, result: &str| {
        [
            json!({"role": "assistant", "content": [
                {"type": "thinking", "thinking": "…", "signature": format!("SIG-{signed_by}")},
                {"type": "tool_use", "id": id, "name": "Bash", "input": {"command": id}}]}),
            json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": result}]}),
        ]
    };
    let mut m = vec![json!({"role": "user", "content":
        "Design a migration plan for our 30 microservices from REST to gRPC with zero downtime; compare the trade-offs"})];
    assert_eq!(step(&a, &session, &m).await.0, "premium");
    m.extend(turn("t1", "sonnet", "service list"));
    let (tier, reason) = step(&b, &session, &m).await;
    assert_eq!(tier, "cheap", "instance B knows the session: {reason}");
    assert!(reason.contains("mechanical"), "{reason}");
    m.extend(turn(
        "t2",
        "haiku",
        "test result: FAILED. 1 passed; 1 failed",
    ));
    let (tier, reason) = step(&a, &session, &m).await;
    assert_eq!(tier, "premium", "{reason}");
    let seen = anthropic.seen();
    let signatures = |i: usize| crate::routing::thinking_signatures(&seen[i]);
    assert_eq!(seen[1].json()["model"], "claude-haiku-4-5-20251001");
    assert!(
        signatures(1).is_empty(),
        "Sonnet's thinking never reaches Haiku"
    );
    assert_eq!(
        signatures(2),
        ["SIG-sonnet"],
        "instance A learned that Haiku wrote the second turn"
    );
}

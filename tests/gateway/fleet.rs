//! Instances sharing state through Redis (the machine's, 127.0.0.1:6379):
//! a provider one instance finds failing is skipped by the others within a
//! second, and an instance that starts later learns it too.

use crate::support::*;
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

//! Shadow mode: requests go where the client asked; routing's decision and
//! its projected cost are recorded, and the projection equals what a routed
//! replay of the same requests costs.

use crate::support::mock::text_message;
use crate::support::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

const EASY: &str = "write a commit message for the typo fix in README";
const HARD: &str = "Design the architecture for migrating our 40 microservices to event sourcing with zero downtime; compare the trade-offs of each approach.";

fn config(upstream: &str, mode: &str) -> String {
    format!(
        r#"[retry]
attempts = 0
[providers.anthropic]
kind = "anthropic"
base_url = "{upstream}"
api_key = "{UPSTREAM_KEY}"
[models.haiku]
provider = "anthropic"
id = "claude-haiku-5-5"
[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-5-5"
aliases = ["claude-*"]
[tiers]
cheap = ["haiku", "sonnet"]
premium = ["sonnet"]
baseline = "sonnet"
[router]
mode = "{mode}"
sticky_sessions = false
[[routes]]
match = {{ model = "claude-*" }}
auto = true
"#
    )
}

fn answer(model: &str) -> Reply {
    let mut m = text_message(model, "done");
    m["usage"] =
        json!({"input_tokens": 3000, "output_tokens": 400, "cache_read_input_tokens": 20000});
    Reply::Json {
        status: 200,
        headers: vec![],
        body: m.to_string(),
    }
}

/// Five requests (three easy, two hard); the served models and the daily
/// report's summary.
async fn day(mode: &str) -> (Vec<String>, Vec<String>, Value) {
    let upstream = MockUpstream::start().await;
    let mut gw = TestGateway::with_ledger(&config(&upstream.url(), mode)).await;
    let mut served = Vec::new();
    for prompt in [EASY, HARD, EASY, HARD, EASY] {
        upstream.push(answer("claude-sonnet-5-5"));
        let body = json!({"model": "claude-opus-5-5", "max_tokens": 500, "messages": [{"role": "user", "content": prompt}]});
        let resp = gw.post("/v1/messages", &body.to_string()).await;
        assert_eq!(resp.status(), 200);
        served.push(
            resp.headers()["x-switchyard-model"]
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    gw.records.wait_for(5).await;
    let rows = gw.flushed_rows().await;
    let asked: Vec<String> = upstream
        .seen()
        .iter()
        .map(|s| s.json()["model"].as_str().unwrap().to_string())
        .collect();
    let store = gw.store.clone().unwrap();
    let range = switchyard::usage::reports::Range::day(switchyard::usage::reports::today());
    let report = switchyard::usage::reports::build(&store, "daily", range, &[], 5)
        .await
        .unwrap();
    assert_eq!(rows.len(), 5);
    (served, asked, serde_json::to_value(report.summary).unwrap())
}

fn d(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn shadow_mode_serves_as_asked_and_projects_what_routing_would_save() {
    let (served, asked, shadow) = day("shadow").await;
    // Nothing rerouted: every request went to the model the client's name means.
    assert!(
        served.iter().all(|m| m == "claude-sonnet-5-5"),
        "{served:?}"
    );
    assert!(asked.iter().all(|m| m == "claude-sonnet-5-5"), "{asked:?}");
    assert_eq!(shadow["shadowed"], 5);
    assert_eq!(
        d(&shadow["savings_pct"]),
        Decimal::ZERO,
        "served on the baseline itself"
    );
    let (routed_served, _, routed) = day("route").await;
    assert!(
        routed_served.iter().any(|m| m == "claude-haiku-5-5"),
        "routing moves the easy ones"
    );
    assert_eq!(routed["shadowed"], 0);
    // The projection is the routed replay's cost (within 1%).
    let projected = d(&shadow["projected_cost_usd"]);
    let replay = d(&routed["cost_usd"]);
    let off = ((projected - replay) / replay).abs();
    assert!(
        off <= Decimal::new(1, 2),
        "projected {projected} vs routed {replay}"
    );
    assert_eq!(shadow["projected_savings_pct"], routed["savings_pct"]);
    assert!(d(&shadow["projected_savings_pct"]) > Decimal::ZERO);
}

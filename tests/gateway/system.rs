//! Health, metrics, models and token counting.

use crate::support::*;
use serde_json::Value;

#[tokio::test]
async fn health_root_and_hello() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let c = gw.client();
    let health: Value = c
        .get(format!("{}/health", gw.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (health["status"].as_str(), health["models"].as_u64()),
        (Some("ok"), Some(2))
    );
    assert_eq!(
        c.head(format!("{}/", gw.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.head(format!("{}/api/hello", gw.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn metrics_text(gw: &TestGateway) -> String {
    gw.client()
        .get(format!("{}/metrics", gw.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn metrics_count_requests_by_model_and_status() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    switchyard::telemetry::prometheus();
    gw.post("/v1/messages", &body("claude-sonnet-4-5", true))
        .await
        .text()
        .await
        .unwrap();
    gw.records.wait_for(1).await;
    let text = metrics_text(&gw).await;
    assert!(
        text.contains(
            "switchyard_requests_total{endpoint=\"messages\",model=\"sonnet\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains("switchyard_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains("switchyard_time_to_first_token_seconds_bucket{model=\"sonnet\""),
        "{text}"
    );
}

/// `/metrics` describes every metric (`# HELP`, `# TYPE`), and carries
/// spend, baseline and savings by model, tier, provider, key and team (from
/// the ledger's pricing) and each target's breaker state.
#[tokio::test]
async fn metrics_describe_themselves_and_carry_spend_and_breakers() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::with_ledger(&format!(
        "[retry]\nretries = 0\n[providers.anthropic]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"{UPSTREAM_KEY}\"\n\
         [models.sonnet]\nprovider = \"anthropic\"\nid = \"claude-sonnet-4-5-20250929\"\naliases = [\"claude-*\"]\n",
        mock.url()
    ))
    .await;
    switchyard::telemetry::prometheus();
    let resp = gw
        .post("/v1/messages", &body("claude-sonnet-4-5", false))
        .await;
    assert_eq!(resp.status(), 200);
    // Then one failure on record for the target (its breaker is still up).
    mock.push(Reply::error(500, "api_error", "boom"));
    let resp = gw
        .post("/v1/messages", &body("claude-sonnet-4-5", false))
        .await;
    assert_ne!(resp.status(), 200);
    gw.records.wait_for(2).await;
    let mut text = String::new();
    for _ in 0..100 {
        text = metrics_text(&gw).await;
        if text.contains("switchyard_spend_usd{") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for needle in [
        "# HELP switchyard_requests_total ",
        "# TYPE switchyard_requests_total counter",
        "# TYPE switchyard_request_duration_seconds histogram",
        "# HELP switchyard_spend_usd ",
        "# TYPE switchyard_spend_usd gauge",
        "switchyard_spend_usd{model=\"sonnet\",tier=\"none\",provider=\"anthropic\",key=\"none\",team=\"none\"}",
        "switchyard_saved_usd{model=\"sonnet\"",
        "# TYPE switchyard_target_state gauge",
        "# HELP switchyard_target_state ",
        "switchyard_target_state{target=\"anthropic/claude-sonnet-4-5-20250929\"} 0",
        "switchyard_target_failures{target=\"anthropic/claude-sonnet-4-5-20250929\"} 1",
    ] {
        assert!(text.contains(needle), "{needle} not in:\n{text}");
    }
    // CI sets SWITCHYARD_PROMTOOL: Prometheus's own linter must accept it.
    if let Ok(tool) = std::env::var("SWITCHYARD_PROMTOOL") {
        use std::io::Write;
        let mut child = std::process::Command::new(tool)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn models_list_in_anthropic_shape() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let get = |path: String| {
        let c = gw.client();
        async move {
            c.get(path)
                .header("x-api-key", MASTER_KEY)
                .header("anthropic-version", "2023-06-01")
                .send()
                .await
                .unwrap()
        }
    };
    let page: Value = get(format!("{}/v1/models", gw.url))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["sonnet", "claude"]);
    assert_eq!(page["data"][0]["type"], "model");
    assert_eq!(page["data"][0]["max_input_tokens"], 200000);
    assert_eq!(
        (page["has_more"].as_bool(), page["first_id"].as_str()),
        (Some(false), Some("sonnet"))
    );
    let page: Value = get(format!("{}/v1/models?limit=1", gw.url))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            page["data"].as_array().unwrap().len(),
            page["has_more"].as_bool()
        ),
        (1, Some(true))
    );
    let page: Value = get(format!("{}/v1/models?after_id=sonnet", gw.url))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["data"][0]["id"], "claude");
    let one: Value = get(format!("{}/v1/models/claude-haiku-5-5", gw.url))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["id"], "claude-haiku-5-5");
    assert_eq!(
        get(format!("{}/v1/models/gpt-4o", gw.url)).await.status(),
        404
    );
    // Without anthropic-version: OpenAI's shape.
    let list: Value = gw
        .client()
        .get(format!("{}/v1/models", gw.url))
        .bearer_auth(MASTER_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["object"], "list");
    assert_eq!(list["data"][0]["id"], "sonnet");
    assert_eq!(list["data"][0]["object"], "model");
    assert_eq!(list["data"][0]["owned_by"], "anthropic");
}

#[tokio::test]
async fn count_tokens_forwarded_or_estimated() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let request = fixture("claude_code_count_tokens.json");
    let resp = gw
        .post("/v1/messages/count_tokens?beta=true", &request)
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("x-switchyard-token-count").is_none());
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["input_tokens"], 4242, "the upstream counted");
    assert_eq!(
        mock.seen()[0].path_and_query,
        "/v1/messages/count_tokens?beta=true"
    );
    // An upstream without the endpoint: a local estimate.
    mock.push(Reply::error(404, "not_found_error", "no such endpoint"));
    let resp = gw.post("/v1/messages/count_tokens", &request).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchyard-token-count"], "estimate");
    let v: Value = resp.json().await.unwrap();
    assert!(v["input_tokens"].as_u64().unwrap() > 0);
    // A bad request is still a 400.
    mock.push(Reply::error(400, "invalid_request_error", "messages: bad"));
    assert_eq!(
        gw.post("/v1/messages/count_tokens", &request)
            .await
            .status(),
        400
    );
}

/// The dashboard's pages cannot be framed, sniffed or run scripts.
#[tokio::test]
async fn the_dashboard_sends_security_headers() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let resp = gw
        .client()
        .get(format!("{}/ui/login", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert!(h("content-security-policy").contains("frame-ancestors 'none'"));
    assert!(
        !h("content-security-policy").contains("script-src"),
        "no scripts at all"
    );
    assert_eq!(h("x-frame-options"), "DENY");
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "no-referrer");
}

/// Signing out revokes the session cookie: replaying it gets the sign-in page.
#[tokio::test]
async fn signing_out_revokes_the_session_cookie() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let (client, cookie) = dashboard_cookie(&gw).await;
    let page = |cookie: String| {
        let (client, url) = (client.clone(), gw.url.clone());
        async move {
            let r = client
                .get(format!("{url}/ui"))
                .header("cookie", cookie)
                .send()
                .await;
            r.unwrap().status().as_u16()
        }
    };
    // (Without a ledger the page itself is a 503; what matters is no redirect.)
    assert_ne!(page(cookie.clone()).await, 303, "signed in");
    let out = client
        .post(format!("{}/ui/logout", gw.url))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    assert_eq!(
        page(cookie).await,
        303,
        "the old cookie no longer opens the dashboard"
    );
}

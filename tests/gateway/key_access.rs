//! Who may reach what: client keys from the config, and the key ×
//! endpoint matrix (client keys reach the model endpoints and their own
//! usage, never the admin API or the dashboard's sign-in).

use crate::limits::{admin_key, ask, get, get_text, get_with};
use crate::support::mock::MockUpstream;
use crate::support::*;
use serde_json::json;

/// A key written in the config works on a gateway without a database,
/// is attributed, and can be named by a rate limit through its id.
#[tokio::test]
async fn a_key_from_the_config_is_a_client_key() {
    let up = MockUpstream::start().await;
    let key = "sk-sy-from-the-config-0123456789";
    let gw = TestGateway::start(
        &up.url(),
        &format!(
            "[[keys]]\nname = \"ci\"\nkey = \"{key}\"\nteam = \"platform\"\nmodels = [\"claude-haiku-*\"]\n"
        ),
    )
    .await;
    let me = get_with(&gw, key, "/v1/key").await;
    assert_eq!(me["data"]["team"], "platform", "{me}");
    assert_eq!(me["data"]["hint"], "(config)");
    let body = |model: &str| {
        json!({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
            .to_string()
    };
    assert_eq!(ask(&gw, key, &body("claude-haiku-4-5")).await.0, 200);
    assert_eq!(ask(&gw, key, &body("claude-sonnet-4-5")).await.0, 403);
    let admin = get(&gw, key, "/admin/keys").await;
    assert_eq!(admin.status(), 403, "a client key stays off /admin");
    let metrics = get_text(&gw, MASTER_KEY, "/metrics").await;
    assert!(metrics.contains("switchyard_requests_total"), "{metrics}");
    assert!(!metrics.contains(&key[6..]), "no key in the metrics");
    let records = gw.records.wait_for(2).await;
    assert!(records.iter().all(|r| {
        r.identity
            .as_ref()
            .is_some_and(|i| i.team.as_deref() == Some("platform"))
    }));
}

/// Every admin endpoint refuses a client key (403) and the dashboard does
/// not sign one in; the model endpoints, the model list and the key's own
/// usage take it.
#[tokio::test]
async fn a_client_key_reaches_the_model_endpoints_only() {
    let up = MockUpstream::start().await;
    let gw = TestGateway::with_ledger(&crate::limits::models(&up.url())).await;
    let key = admin_key(&gw, "alice", "web").await;
    let client = gw.client();
    let send = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{}{path}", gw.url))
            .header("x-api-key", &key)
            .header("content-type", "application/json")
            .body("{\"name\": \"x\"}")
            .send()
    };
    use reqwest::Method;
    for (method, path) in [
        (Method::GET, "/admin/keys"),
        (Method::POST, "/admin/keys"),
        (Method::GET, "/admin/keys/key_000000000000"),
        (Method::POST, "/admin/keys/key_000000000000/revoke"),
        (Method::POST, "/admin/keys/key_000000000000/rotate"),
        (Method::DELETE, "/admin/cache"),
        (Method::GET, "/admin/report/daily"),
        (Method::GET, "/admin/export?from=2026-12-01&to=2026-12-05"),
        (Method::GET, "/admin/requests/x"),
    ] {
        let r = send(method.clone(), path).await.unwrap();
        assert_eq!(r.status(), 403, "{method} {path}");
    }
    let signed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/ui/login", gw.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("key={key}"))
        .send()
        .await
        .unwrap();
    assert!(
        signed.headers().get("set-cookie").is_none(),
        "no dashboard session for a client key"
    );
    assert_eq!(get(&gw, &key, "/v1/models").await.status(), 200);
    assert_eq!(get(&gw, &key, "/v1/key").await.status(), 200);
    let body = json!({"model": "sonnet", "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}]})
    .to_string();
    assert_eq!(ask(&gw, &key, &body).await.0, 200);
    let page = get_text(&gw, &key, "/ui/teams").await;
    assert!(
        page.contains("Sign in"),
        "the dashboard asks for the master key"
    );
}

/// A key limited to a tier (`tier:cheap` in its models) is served only by
/// that tier's models.
#[tokio::test]
async fn a_key_limited_to_a_tier_is_served_by_it_only() {
    let up = MockUpstream::start().await;
    let gw = TestGateway::with_ledger(&format!(
        "{}\n[models.haiku]\nprovider = \"anthropic\"\nid = \"claude-haiku-4-5-20251001\"\n\
         [tiers]\ncheap = [\"haiku\"]\npremium = [\"sonnet\"]\n",
        crate::limits::models(&up.url())
    ))
    .await;
    let made: serde_json::Value = gw
        .client()
        .post(format!("{}/admin/keys", gw.url))
        .header("x-api-key", MASTER_KEY)
        .json(&json!({"name": "intern", "models": ["tier:cheap"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = made["key"].as_str().unwrap();
    let body = |model: &str| {
        json!({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
            .to_string()
    };
    let (status, headers, _) = ask(&gw, key, &body("haiku")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-switchyard-tier"], "cheap");
    let (status, _, v) = ask(&gw, key, &body("sonnet")).await;
    assert_eq!(status, 403, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tier cheap"),
        "{v}"
    );
}

//! Sign-in across a fleet: a session minted by one instance works on
//! another sharing `session_secret`, and a person the admin signs out on
//! one instance is refused by every other within about a second — also by
//! an instance started afterwards.

use crate::support::idp::{
    MockIdp, approve, ask, come_back, device_code, poll, refresh, shared_signin, signed_in,
    to_provider,
};
use crate::support::mock::{MockUpstream, Reply};
use crate::support::*;
use serde_json::json;
use std::time::Duration;

fn answer() -> Reply {
    Reply::Json {
        status: 200,
        headers: vec![],
        body: crate::support::mock::text_message("claude-sonnet-4-5", "ok").to_string(),
    }
}

/// A mock identity provider and upstream, and the config of instances
/// sharing one PostgreSQL schema and session secret.
async fn fleet() -> (MockIdp, MockUpstream, String) {
    let idp = MockIdp::start().await;
    let up = MockUpstream::start().await;
    let db = crate::ledger::postgres_schema().await;
    let config = format!(
        "database_url = \"{db}\"\n{}\n{}",
        shared_signin(&idp),
        crate::limits::models(&up.url())
    );
    (idp, up, config)
}

#[tokio::test]
async fn a_person_signed_out_on_one_instance_is_signed_out_on_all() {
    let (idp, up, config) = fleet().await;
    let a = TestGateway::with_ledger(&config).await;
    let b = TestGateway::with_ledger(&config).await;
    let ada = signed_in(&a, &idp, "ada@example.com", &["engineering"]).await;
    let bob = signed_in(&a, &idp, "bob@example.com", &["engineering"]).await;
    up.push(answer());
    assert_eq!(
        ask(&b, &ada).await.status(),
        200,
        "a session works on every instance"
    );

    let r = a
        .client()
        .post(format!("{}/admin/signin/revoke", a.url))
        .header("x-api-key", MASTER_KEY)
        .json(&json!({"user": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        ask(&a, &ada).await.status(),
        401,
        "at once where it was made"
    );
    let mut refused = false;
    for _ in 0..30 {
        let r = ask(&b, &ada).await;
        if r.status() == 401 {
            assert_eq!(r.headers()["x-should-retry"], "false");
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "the other instance signs her out too");
    // An instance started later knows it from the start; others are unaffected.
    let c = TestGateway::with_ledger(&config).await;
    assert_eq!(ask(&c, &ada).await.status(), 401);
    up.push(answer());
    assert_eq!(ask(&c, &bob).await.status(), 200);
}

#[tokio::test]
async fn a_refresh_on_another_instance_still_asks_the_provider() {
    let (idp, _up, config) = fleet().await;
    let a = TestGateway::with_ledger(&config).await;
    let grant_of = |email: &'static str| {
        let (a, idp) = (&a, &idp);
        async move {
            idp.next_user(email, &["engineering"]);
            let device = device_code(a).await;
            assert!(approve(a, &device).await.contains("Signed in"));
            let (status, grant) = poll(a, &device).await;
            assert_eq!(status, 200, "{grant}");
            grant["refresh_token"].as_str().unwrap().to_string()
        }
    };
    let (carol, dave) = (
        grant_of("carol@example.com").await,
        grant_of("dave@example.com").await,
    );
    // Another instance, started after the sign-ins.
    let b = TestGateway::with_ledger(&config).await;
    idp.deprovisioned
        .lock()
        .unwrap()
        .insert("carol@example.com".into());
    let (status, body) = refresh(&b, &carol).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = refresh(&b, &dave).await;
    assert_eq!(status, 200, "{body}");
    // The renewed refresh token carries the provider's on, too.
    let (status, _) = refresh(&a, body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    idp.deprovisioned
        .lock()
        .unwrap()
        .insert("dave@example.com".into());
    let (status, _) = refresh(&a, body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn each_step_of_a_sign_in_may_reach_another_instance() {
    let (idp, up, config) = fleet().await;
    let (a, b) = (
        TestGateway::with_ledger(&config).await,
        TestGateway::with_ledger(&config).await,
    );
    idp.next_user("erin@example.com", &["engineering"]);
    // Claude Code starts at A; the browser's form reaches B.
    let device = device_code(&a).await;
    let (browser, cookie, back) = to_provider(&b, &device).await;
    // The provider's answer comes back through the load balancer to A.
    let back = back.replace(&b.url, &a.url);
    let page = come_back(&browser, &back, &cookie).await;
    assert!(page.contains("Signed in"), "{page}");
    // Claude Code's next poll reaches B, and gets the tokens, once.
    let (status, grant) = poll(&b, &device).await;
    assert_eq!(status, 200, "{grant}");
    let (status, _) = poll(&a, &device).await;
    assert_eq!(status, 400, "handed over once");
    up.push(answer());
    let token = grant["access_token"].as_str().unwrap();
    assert_eq!(ask(&a, token).await.status(), 200);
}

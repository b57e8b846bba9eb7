//! Sign-in with an identity provider, as Claude Code's `/login` does it:
//! the gateway's OAuth metadata, the device flow, a browser approving the
//! code at `/device` and signing in at a mock OpenID Connect provider
//! (authorization code with PKCE, an HS256 ID token), the session token on
//! `/v1/messages` with the person's user and team in the ledger, silent
//! refresh, revocation, deprovisioning at the provider, refusals (a group
//! that may not sign in, a cross-site form, another browser), managed
//! settings per group, and spend caps in Claude Code's shape.

use crate::support::idp::*;
use crate::support::mock::text_message;
use crate::support::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn a_developer_signs_in_through_the_identity_provider_and_is_in_the_ledger() {
    let idp = MockIdp::start().await;
    let upstream = MockUpstream::start().await;
    let gw = start(&idp, &upstream).await;
    idp.next_user("ada@example.com", &["engineering", "payments"]);

    let device = device_code(&gw).await;
    assert_eq!(device["interval"], 5);
    assert_eq!(device["login_notice"], "Use your example.com account");
    let (status, body) = poll(&gw, &device).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );

    let page = approve(&gw, &device).await;
    assert!(page.contains("Signed in as ada@example.com"), "{page}");
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    let (status, grant) = poll(&gw, &device).await;
    assert_eq!(status, 200, "{grant}");
    assert_eq!(grant["token_type"], "Bearer");
    assert_eq!(grant["email"], "ada@example.com");
    let access = grant["access_token"].as_str().unwrap();
    let (again, _) = poll(&gw, &device).await;
    assert_eq!(again, 400, "a device code is single-use");

    upstream.push(Reply::Json {
        status: 200,
        headers: vec![],
        body: text_message("claude-sonnet-4-5", "hello").to_string(),
    });
    let resp = ask(&gw, access).await;
    assert_eq!(resp.status(), 200);
    let rec = gw.records.wait_for(1).await.pop().unwrap();
    let who = rec.identity.expect("the request is attributed");
    assert_eq!(who.user.as_deref(), Some("ada@example.com"));
    assert_eq!(
        who.team.as_deref(),
        Some("payments"),
        "the first listed team she is in"
    );
    assert_eq!(who.key_id, "signin:ada@example.com");
    let sent = &upstream.seen()[0].headers;
    assert!(
        !sent
            .values()
            .any(|v| v.to_str().unwrap_or("").contains(access)),
        "the session token stays here"
    );

    // Silent refresh: back to the provider, a fresh session token.
    let (status, renewed) = refresh(&gw, grant["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{renewed}");
    let access2 = renewed["access_token"].as_str().unwrap().to_string();
    upstream.push(Reply::Json {
        status: 200,
        headers: vec![],
        body: text_message("claude-sonnet-4-5", "again").to_string(),
    });
    assert_eq!(ask(&gw, &access2).await.status(), 200);

    // The admin signs her out: at once, and refreshing no longer works.
    let resp = client()
        .post(format!("{}/admin/signin/revoke", gw.url))
        .bearer_auth(MASTER_KEY)
        .json(&json!({"user": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let refused = ask(&gw, &access2).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["x-should-retry"], "false");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{body}"
    );
    let (status, body) = refresh(&gw, renewed["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_grant"))
    );

    // Keys still work beside sign-in; a forged session token does not.
    upstream.push(Reply::Json {
        status: 200,
        headers: vec![],
        body: text_message("claude-sonnet-4-5", "key").to_string(),
    });
    assert_eq!(ask(&gw, MASTER_KEY).await.status(), 200);
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "eve", "exp": 4_000_000_000u64, "iss": "switchyard", "typ": "access", "sid": "x", "iat": 0}),
        &jsonwebtoken::EncodingKey::from_secret(b"guess"),
    )
    .unwrap();
    assert_eq!(ask(&gw, &forged).await.status(), 401);
}

#[tokio::test]
async fn the_provider_decides_who_stays_signed_in_and_who_may_sign_in() {
    let idp = MockIdp::start().await;
    let upstream = MockUpstream::start().await;
    let gw = start(&idp, &upstream).await;

    // Deprovisioned at the provider: the next refresh signs him out.
    idp.next_user("bob@example.com", &["engineering"]);
    let device = device_code(&gw).await;
    assert!(
        approve(&gw, &device)
            .await
            .contains("Signed in as bob@example.com")
    );
    let (status, grant) = poll(&gw, &device).await;
    assert_eq!(status, 200, "{grant}");
    idp.deprovisioned
        .lock()
        .unwrap()
        .insert("bob@example.com".into());
    let (status, body) = refresh(&gw, grant["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_grant"))
    );

    // Not in an allowed group: refused in the browser, and the poll says so.
    idp.next_user("mallory@example.com", &["contractors"]);
    let device = device_code(&gw).await;
    let page = approve(&gw, &device).await;
    assert!(page.contains("may not sign in"), "{page}");
    let (status, body) = poll(&gw, &device).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("access_denied"))
    );

    // A form posted from another site, and an answer in another browser.
    let device = device_code(&gw).await;
    let code = device["user_code"].as_str().unwrap();
    let page = client()
        .post(format!("{}/device", gw.url))
        .header("origin", "https://evil.example")
        .form(&[("user_code", code)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("another site"));
    idp.next_user("ada@example.com", &["engineering"]);
    let resp = client()
        .post(format!("{}/device", gw.url))
        .header("sec-fetch-site", "same-origin")
        .form(&[("user_code", code)])
        .send()
        .await
        .unwrap();
    let at_idp = resp.headers()["location"].to_str().unwrap().to_string();
    let back = client().get(&at_idp).send().await.unwrap();
    let back = back.headers()["location"].to_str().unwrap().to_string();
    let page = client()
        .get(&back)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("another browser"),
        "no cookie, no sign-in: {page}"
    );
    let (status, body) = poll(&gw, &device).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );

    // Unknown grants and codes get OAuth errors.
    let (status, body) = refresh(&gw, "not-a-token").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_grant"))
    );
    let resp = form(
        &format!("{}/oauth/token", gw.url),
        &[("grant_type", "password")],
    )
    .await;
    assert_eq!(resp.status(), 400);
    let protocol = client()
        .get(format!("{}/protocol", gw.url))
        .send()
        .await
        .unwrap();
    assert!(protocol.text().await.unwrap().contains("Sign-in: on"));
}

/// Sign `email` in all the way; the access token.
#[tokio::test]
async fn each_group_gets_its_managed_settings_and_the_gateway_holds_it_to_its_models() {
    let idp = MockIdp::start().await;
    let upstream = MockUpstream::start().await;
    let policies = "[[signin.policies]]\nname = \"contractors\"\ngroups = [\"contractors\"]\n\
                    available_models = [\"haiku\"]\nsettings = { permissions = { deny = [\"WebFetch\"] } }\n\
                    [[signin.policies]]\nname = \"base\"\nsettings = { env = { CLAUDE_CODE_GATEWAY_HINT_HEADERS = \"1\" } }\n";
    let gw = start_with(&idp, &upstream, policies).await;

    let carol = signed_in(
        &gw,
        &idp,
        "carol@example.com",
        &["engineering", "contractors"],
    )
    .await;
    let resp = settings(&gw, &carol, None).await;
    assert_eq!(resp.status(), 200);
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["uuid"], "contractors");
    assert_eq!(doc["settings"]["availableModels"], json!(["haiku"]));
    assert_eq!(doc["settings"]["permissions"]["deny"], json!(["WebFetch"]));
    assert_eq!(etag, format!("\"{}\"", doc["checksum"].as_str().unwrap()));
    let canonical =
        r#"{"availableModels":["haiku"],"model":"haiku","permissions":{"deny":["WebFetch"]}}"#;
    let hex: String = Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        doc["checksum"],
        format!("sha256:{hex}"),
        "the checksum Claude Code computes"
    );
    let again = settings(&gw, &carol, Some(&etag)).await;
    assert_eq!(again.status(), 304, "unchanged settings cost a 304");

    // Held to its models by the gateway too.
    let ask_model = |model: &'static str| {
        let (url, token) = (gw.url.clone(), carol.clone());
        async move {
            client()
                .post(format!("{url}/v1/messages"))
                .bearer_auth(token)
                .json(&json!({"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}))
                .send()
                .await
                .unwrap()
        }
    };
    let refused = ask_model("claude-sonnet-4-5").await;
    assert_eq!(refused.status(), 403, "{:?}", refused.text().await);
    upstream.push(Reply::Json {
        status: 200,
        headers: vec![],
        body: text_message("claude-haiku-4-5", "ok").to_string(),
    });
    assert_eq!(ask_model("claude-haiku-4-5-20251001").await.status(), 200);

    // Everyone else gets the base policy; a gateway key gets none.
    let dave = signed_in(&gw, &idp, "dave@example.com", &["engineering"]).await;
    let doc: Value = settings(&gw, &dave, None).await.json().await.unwrap();
    assert_eq!(doc["uuid"], "base");
    assert_eq!(
        doc["settings"]["env"]["CLAUDE_CODE_GATEWAY_HINT_HEADERS"],
        "1"
    );
    assert_eq!(settings(&gw, MASTER_KEY, None).await.status(), 404);
}

#[tokio::test]
async fn a_spend_cap_is_reported_and_enforced_the_way_claude_code_reads_it() {
    let idp = MockIdp::start().await;
    let upstream = MockUpstream::start().await;
    let cap = "[[budgets]]\nuser = \"erin@example.com\"\nlimit_usd = 0.01\nwindow = \"day\"\n";
    let gw = start_with(&idp, &upstream, cap).await;
    let erin = signed_in(&gw, &idp, "erin@example.com", &["engineering"]).await;
    let mut warned = false;
    let mut last = None;
    for _ in 0..200 {
        upstream.push(
            Reply::Json {
                status: 200,
                headers: vec![],
                body: text_message("claude-sonnet-4-5", "ok").to_string(),
            }
            .with_header("anthropic-ratelimit-requests-remaining", "999"),
        );
        let resp = ask(&gw, &erin).await;
        let h = resp.headers().clone();
        if resp.status() == 429 {
            last = Some((h, resp.json::<Value>().await.unwrap()));
            break;
        }
        assert_eq!(resp.status(), 200);
        assert!(
            h.get("anthropic-ratelimit-requests-remaining").is_none(),
            "the upstream's org-wide limits are not hers"
        );
        assert_eq!(
            h["anthropic-ratelimit-unified-representative-claim"],
            "overage"
        );
        let used: f64 = h["anthropic-ratelimit-unified-overage-utilization"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(used < 1.0);
        if h["anthropic-ratelimit-unified-status"] == "allowed_warning" {
            warned = true;
            assert!(
                h.get("anthropic-ratelimit-unified-overage-surpassed-threshold")
                    .is_some()
            );
        }
    }
    assert!(warned, "Claude Code is warned before the cap");
    let (h, body) = last.expect("the cap is reached");
    assert_eq!(body["error"]["type"], "billing_error", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("budget"),
        "{body}"
    );
    assert_eq!(h["anthropic-ratelimit-unified-status"], "rejected");
    assert_eq!(h["anthropic-ratelimit-unified-overage-period"], "daily");
    assert_eq!(
        h["anthropic-ratelimit-unified-overage-disabled-reason"],
        "org_spend_cap_reached"
    );
    assert_eq!(h["x-should-retry"], "false");
    assert!(
        h.get("anthropic-ratelimit-unified-representative-claim")
            .is_none()
    );
    let reset: i64 = h["anthropic-ratelimit-unified-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let wait: i64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 86_400 && reset > 0);

    // The same cap in dollars, for /usage.
    let usage: Value = client()
        .get(format!("{}/api/oauth/usage", gw.url))
        .bearer_auth(&erin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(usage["extra_usage"]["monthly_limit"], 1, "cents: {usage}");
    assert_eq!(usage["limits"][0]["group"], "daily");
    assert_eq!(usage["limits"][0]["is_active"], true);
    assert!(
        usage["limits"][0]["percent"].as_i64().unwrap() >= 75,
        "{usage}"
    );
    // Someone without a cap gets no headers.
    let frank = signed_in(&gw, &idp, "frank@example.com", &["engineering"]).await;
    upstream.push(Reply::Json {
        status: 200,
        headers: vec![],
        body: text_message("claude-sonnet-4-5", "ok").to_string(),
    });
    let resp = ask(&gw, &frank).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()
            .get("anthropic-ratelimit-unified-status")
            .is_none()
    );
}

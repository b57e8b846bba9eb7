//! Spend limits through the Admin-API-shaped endpoints
//! (`/v1/organizations/spend_limits`): set, listed, read and deleted as
//! Anthropic's API does; the most specific limit of a period binds a
//! signed-in person (their own, their team's, the organization's; `null`
//! lifts the fallback); a limit set on one instance binds on another, and
//! under 50 concurrent requests the settled spend passes it by no more
//! than one request's most cost, with Claude Code's warning and stop.

use crate::limits::billed_answers;
use crate::support::idp::{MockIdp, shared_signin as signin, signed_in};
use crate::support::mock::MockUpstream;
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

const LIMITS: &str = "/v1/organizations/spend_limits";

async fn admin(gw: &TestGateway, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{path}", gw.url);
    let req = match method {
        "POST" => gw.client().post(url),
        "DELETE" => gw.client().delete(url),
        _ => gw.client().get(url),
    }
    .header("x-api-key", MASTER_KEY)
    .header("anthropic-version", "2023-06-01");
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

fn limit(scope: Value, period: &str, amount: Value) -> Option<Value> {
    Some(json!({"scope": scope, "period": period, "amount": amount}))
}

/// A request of about 1,600 prompt tokens and at most 400 out, as `bearer`.
async fn ask(gw: &TestGateway, bearer: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let body = json!({"model": "sonnet", "max_tokens": 400,
        "messages": [{"role": "user", "content": "word ".repeat(1280)}]});
    let resp = gw
        .client()
        .post(format!("{}/v1/messages", gw.url))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

/// A mock identity provider, a mock Anthropic upstream, and a gateway with
/// a ledger signing people in against the one and answering from the other.
async fn signed_in_gateway() -> (MockIdp, MockUpstream, TestGateway) {
    let idp = MockIdp::start().await;
    let up = MockUpstream::start().await;
    let gw = TestGateway::with_ledger(&format!(
        "{}\n{}",
        signin(&idp),
        crate::limits::models(&up.url())
    ))
    .await;
    (idp, up, gw)
}

#[tokio::test]
async fn limits_are_set_listed_read_and_deleted_in_the_admin_apis_shape() {
    let (idp, _up, gw) = signed_in_gateway().await;
    let (s, org) = admin(
        &gw,
        "POST",
        LIMITS,
        limit(json!({"type": "organization"}), "monthly", json!("100000")),
    )
    .await;
    assert_eq!(s, 200, "{org}");
    assert_eq!(org["type"], "spend_limit");
    assert!(org["id"].as_str().unwrap().starts_with("spl_"));
    assert_eq!(
        (&org["amount"], &org["currency"], &org["is_enabled"]),
        (&json!("100000"), &json!("USD"), &json!(true))
    );
    assert!(org["created_at"].as_str().unwrap().ends_with('Z'));
    let user = json!({"type": "user", "user_id": "erin@example.com"});
    let (_, erin) = admin(
        &gw,
        "POST",
        LIMITS,
        limit(user.clone(), "daily", json!("1")),
    )
    .await;
    let group = json!({"type": "rbac_group", "rbac_group_id": "payments"});
    let (_, payments) = admin(&gw, "POST", LIMITS, limit(group, "weekly", Value::Null)).await;
    assert_eq!(payments["amount"], Value::Null);
    // Setting the same scope and period again overwrites it in place.
    let (_, again) = admin(&gw, "POST", LIMITS, limit(user, "daily", json!("250"))).await;
    assert_eq!(
        (&again["id"], &again["amount"]),
        (&erin["id"], &json!("250"))
    );

    // Listed organization, groups, users; a page at a time.
    let (_, all) = admin(&gw, "GET", LIMITS, None).await;
    let ids: Vec<&Value> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["id"])
        .collect();
    assert_eq!(ids, [&org["id"], &payments["id"], &erin["id"]]);
    assert_eq!(all["has_more"], false);
    let (_, first) = admin(&gw, "GET", &format!("{LIMITS}?limit=2"), None).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let next = first["next_page"].as_str().unwrap();
    let (_, rest) = admin(&gw, "GET", &format!("{LIMITS}?limit=2&page={next}"), None).await;
    assert_eq!(rest["data"][0]["id"], erin["id"]);
    assert_eq!(rest["next_page"], Value::Null);
    let (_, users) = admin(&gw, "GET", &format!("{LIMITS}?scope_type=user"), None).await;
    assert_eq!(users["data"].as_array().unwrap().len(), 1);
    let one = format!("{LIMITS}/{}", erin["id"].as_str().unwrap());
    let (s, read) = admin(&gw, "GET", &one, None).await;
    assert_eq!(
        (s, &read["scope"]["user_id"]),
        (200, &json!("erin@example.com"))
    );

    // Mistakes are the client's, in the Anthropic envelope.
    for bad in [
        limit(
            json!({"type": "seat_tier", "seat_tier": "x"}),
            "daily",
            json!("1"),
        ),
        limit(json!({"type": "organization"}), "yearly", json!("1")),
        limit(json!({"type": "organization"}), "daily", json!("9.99")),
    ] {
        let (s, e) = admin(&gw, "POST", LIMITS, bad).await;
        assert_eq!(
            (s, &e["type"], &e["error"]["type"]),
            (400, &json!("error"), &json!("invalid_request_error")),
            "{e}"
        );
    }
    let (s, e) = admin(&gw, "GET", &format!("{LIMITS}/spl_nope"), None).await;
    assert_eq!((s, &e["error"]["type"]), (404, &json!("not_found_error")));
    // Only the admin may manage them.
    let token = signed_in(&gw, &idp, "erin@example.com", &["engineering"]).await;
    let r = gw
        .client()
        .get(format!("{}{LIMITS}", gw.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let (s, gone) = admin(&gw, "DELETE", &one, None).await;
    assert_eq!(
        (s, gone),
        (
            200,
            json!({"id": erin["id"], "type": "spend_limit_deleted"})
        )
    );
    assert_eq!(admin(&gw, "GET", &one, None).await.0, 404);
    assert_eq!(admin(&gw, "DELETE", &one, None).await.0, 404);
    let (_, all) = admin(&gw, "GET", LIMITS, None).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_most_specific_limit_binds_and_null_lifts_the_fallback() {
    let (idp, up, gw) = signed_in_gateway().await;
    let frank = signed_in(&gw, &idp, "frank@example.com", &["engineering", "payments"]).await;
    let gina = signed_in(&gw, &idp, "gina@example.com", &["engineering", "platform"]).await;
    // The payments team may spend nothing today.
    let group = json!({"type": "rbac_group", "rbac_group_id": "payments"});
    admin(&gw, "POST", LIMITS, limit(group, "daily", json!("0"))).await;
    billed_answers(&up, 4);
    let (s, h, e) = ask(&gw, &frank).await;
    assert_eq!(
        (s, &e["error"]["type"]),
        (429, &json!("billing_error")),
        "{e}"
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("team payments"),
        "{e}"
    );
    assert_eq!(h["anthropic-ratelimit-unified-overage-period"], "daily");
    assert_eq!(
        ask(&gw, &gina).await.0,
        200,
        "another team's person is not bound"
    );
    // Frank's own explicit "no cap" for the day overrides his team's.
    let user = json!({"type": "user", "user_id": "frank@example.com"});
    let (_, own) = admin(&gw, "POST", LIMITS, limit(user, "daily", Value::Null)).await;
    assert_eq!(ask(&gw, &frank).await.0, 200);
    // Deleted, he falls back to the team's again.
    admin(
        &gw,
        "DELETE",
        &format!("{LIMITS}/{}", own["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(ask(&gw, &frank).await.0, 429);
    // The organization's cap binds whoever has no closer one.
    let org = json!({"type": "organization"});
    admin(&gw, "POST", LIMITS, limit(org, "monthly", json!("0"))).await;
    let (s, _, e) = ask(&gw, &gina).await;
    assert_eq!(s, 429);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("organization"),
        "{e}"
    );

    // The effective report: per person and period, the limit in force, where
    // it comes from, and what they spent in the period.
    // The ledger is written in the background: ask until it shows.
    let mut report = Value::Null;
    for _ in 0..50 {
        let (s, r) = admin(&gw, "GET", &format!("{LIMITS}/effective"), None).await;
        assert_eq!(s, 200, "{r}");
        report = r;
        let rows = report["data"].as_array().unwrap();
        let counted = rows.iter().any(|r| {
            r["actor"]["user_id"] == "frank@example.com" && r["period_to_date_spend"] != "0"
        });
        // The report reads who made requests, then each one's spend: a
        // ledger batch landing between the two reads shows frank's spend
        // without gina, whose rows came in the same batch. Wait for both.
        let gina_seen = rows
            .iter()
            .any(|r| r["actor"]["user_id"] == "gina@example.com");
        if counted && gina_seen {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = report["data"].as_array().unwrap();
    let row = |user: &str, period: &str| {
        rows.iter()
            .find(|r| r["actor"]["user_id"] == user && r["period"] == period)
            .unwrap_or_else(|| panic!("{user} {period}: {report}"))
    };
    let frank_daily = row("frank@example.com", "daily");
    assert_eq!(frank_daily["source"]["rbac_group_id"], "payments");
    assert_eq!(frank_daily["amount"], "0");
    assert_eq!(frank_daily["scope"]["user_id"], "frank@example.com");
    let spent: f64 = frank_daily["period_to_date_spend"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(spent > 0.0, "he was served once: {frank_daily}");
    let gina_monthly = row("gina@example.com", "monthly");
    assert_eq!(gina_monthly["source"]["type"], "organization");
    assert_eq!(gina_monthly["actor"]["email_address"], "gina@example.com");
    let (_, only) = admin(
        &gw,
        "GET",
        &format!("{LIMITS}/effective?user_ids[]=gina@example.com&period[]=monthly"),
        None,
    )
    .await;
    assert_eq!(only["data"].as_array().unwrap().len(), 1, "{only}");
    let (s, _) = admin(
        &gw,
        "GET",
        &format!("{LIMITS}/effective?period=yearly"),
        None,
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn a_limit_set_on_one_instance_holds_across_two_under_50_concurrent_requests() {
    let idp = MockIdp::start().await;
    let up = MockUpstream::start().await;
    billed_answers(&up, 120);
    let db = crate::ledger::postgres_schema().await;
    let config = format!(
        "database_url = \"{db}\"\nredis_url = \"redis://127.0.0.1:6379\"\n[limits]\nredis_timeout = \"5s\"\n{}\n{}",
        signin(&idp),
        crate::limits::models(&up.url())
    );
    let mut gws = [
        TestGateway::with_ledger(&config).await,
        TestGateway::with_ledger(&config).await,
    ];
    let email = format!("dev-{}@example.com", uuid::Uuid::now_v7().simple());
    let token = signed_in(&gws[0], &idp, &email, &["engineering"]).await;
    // 10 cents a day, set on the first instance.
    let user = json!({"type": "user", "user_id": email});
    let (s, _) = admin(&gws[0], "POST", LIMITS, limit(user, "daily", json!("10"))).await;
    assert_eq!(s, 200);
    // The second reads the table each second.
    let mut known = false;
    for _ in 0..20 {
        let (_, listed) = admin(&gws[1], "GET", LIMITS, None).await;
        if listed["data"].as_array().is_some_and(|d| !d.is_empty()) {
            known = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(known, "the second instance learns the limit");

    let sends = (0..50).map(|i| ask(&gws[i % 2], &token));
    let results = futures_util::future::join_all(sends).await;
    let mut served = results.iter().filter(|r| r.0 == 200).count();
    let refused: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert_eq!(served + refused.len(), 50);
    assert!(!refused.is_empty() && served > 0, "served {served}");
    for (_, h, e) in &refused {
        assert_eq!(e["error"]["type"], "billing_error", "{e}");
        assert_eq!(h["anthropic-ratelimit-unified-status"], "rejected");
        assert_eq!(h["x-should-retry"], "false");
    }
    // Then one at a time until the limit refuses; Claude Code is warned
    // on the way (past 75%).
    let mut warned = results
        .iter()
        .any(|r| r.0 == 200 && r.1["anthropic-ratelimit-unified-status"] == "allowed_warning");
    for i in 0..20 {
        let (s, h, _) = ask(&gws[i % 2], &token).await;
        if s == 429 {
            break;
        }
        warned |= h["anthropic-ratelimit-unified-status"] == "allowed_warning";
        served += 1;
    }
    assert!(warned, "a warning before the stop");
    let [a, b] = &mut gws;
    b.flush_ledger().await;
    let settled: i64 = a
        .flushed_rows()
        .await
        .iter()
        .filter(|r| r.user_id.as_deref() == Some(email.as_str()))
        .map(|r| r.cost_nusd)
        .sum();
    // $0.10 and at most one request's most cost (~$0.012) beyond it.
    let limit = 100_000_000;
    println!(
        "served {served}, settled ${:.4} against $0.10",
        settled as f64 / 1e9
    );
    assert!(settled <= limit + 12_000_000, "settled {settled}");
    assert!(
        served >= 8,
        "the limit was used, not refused early: {served}"
    );
}

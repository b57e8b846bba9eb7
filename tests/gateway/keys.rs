//! Client keys end to end: made with `switchyard keys`, picked up by a
//! running gateway, attributed in the ledger, kept off the admin API and
//! off models they are not allowed, and refused (with a message saying
//! why) within seconds of being revoked or rotated.

use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn sections(upstream: &str) -> String {
    format!(
        r#"
[providers.anthropic]
kind = "anthropic"
base_url = "{upstream}"
api_key = "{UPSTREAM_KEY}"

[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-4-5-20250929"

[models.claude]
provider = "anthropic"
aliases = ["claude-*"]
"#
    )
}

async fn keys_cli(cfg: &Path, args: &[&str]) -> (bool, String, String) {
    let mut all: Vec<&std::ffi::OsStr> = vec!["keys".as_ref(), "--config".as_ref(), cfg.as_ref()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    let out = switchyard_cli(all).await;
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn create(cfg: &Path, args: &[&str]) -> (String, String) {
    let mut all = vec!["create", "--json"];
    all.extend_from_slice(args);
    let (ok, out, err) = keys_cli(cfg, &all).await;
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    (
        v["key"].as_str().unwrap().to_string(),
        v["id"].as_str().unwrap().to_string(),
    )
}

async fn ask(gw: &TestGateway, key: &str, model: &str) -> reqwest::Response {
    gw.client()
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body(model, false))
        .send()
        .await
        .unwrap()
}

/// Ask until the status is `want` (the gateway reads key changes every second).
async fn until_status(gw: &TestGateway, key: &str, model: &str, want: u16) -> reqwest::Response {
    for _ in 0..50 {
        let r = ask(gw, key, model).await;
        if r.status() == want {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never answered {want}");
}

fn config_file(gw: &TestGateway, upstream: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchyard-keys-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("switchyard.toml");
    std::fs::write(
        &cfg,
        format!(
            "master_key = \"{MASTER_KEY}\"\ndatabase_url = \"{}\"\n{}",
            gw.database_url,
            sections(upstream)
        ),
    )
    .unwrap();
    cfg
}

#[tokio::test]
async fn client_keys_from_creation_to_revocation() {
    let up = crate::support::mock::MockUpstream::start().await;
    let mut gw = TestGateway::with_ledger(&sections(&up.url())).await;
    let cfg = config_file(&gw, &up.url());
    let (alice, alice_id) = create(
        &cfg,
        &[
            "--name",
            "alice laptop",
            "--user",
            "alice",
            "--team",
            "web",
            "--models",
            "claude-*",
        ],
    )
    .await;
    let (ci, ci_id) = create(
        &cfg,
        &[
            "--name",
            "ci",
            "--team",
            "platform",
            "--budget-usd",
            "25.5",
            "--budget-window",
            "week",
            "--rpm",
            "600",
        ],
    )
    .await;
    let (ok, _, err) = keys_cli(&cfg, &["create", "--name", "x", "--budget-window", "day"]).await;
    assert!(
        !ok && err.contains("budget-usd"),
        "a window needs a budget: {err}"
    );
    assert!(alice.starts_with("sk-sy-") && alice_id.starts_with("key_"));

    // Picked up by the running gateway; the ledger names the owner.
    let r = until_status(&gw, &alice, "claude-sonnet-4-5", 200).await;
    assert_eq!(r.status(), 200);
    let r = ask(&gw, &ci, "sonnet").await;
    assert_eq!(r.status(), 200);

    // Not the admin API, not a model outside its list.
    let admin = gw
        .client()
        .get(format!("{}/admin/report/daily", gw.url))
        .header("x-api-key", &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 403);
    let v: Value = admin.json().await.unwrap();
    assert_eq!(v["error"]["type"], "permission_error", "{v}");
    let r = ask(&gw, &alice, "sonnet").await;
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("may not use model 'sonnet'"),
        "{v}"
    );

    // Revoked: refused with a message that says so, within seconds.
    let (ok, out, err) = keys_cli(&cfg, &["revoke", &alice_id]).await;
    assert!(ok && out.contains(&alice_id), "{err}");
    let r = until_status(&gw, &alice, "claude-sonnet-4-5", 401).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "authentication_error", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("revoked"),
        "{v}"
    );

    // Rotated: the new key works, the old one stops.
    let (ok, out, err) = keys_cli(&cfg, &["rotate", &ci_id, "--json"]).await;
    assert!(ok, "{err}");
    let new: Value = serde_json::from_str(out.trim()).unwrap();
    let new_key = new["key"].as_str().unwrap();
    assert_eq!(new["team"], "platform");
    assert_eq!(
        new["limits"],
        serde_json::json!({"budget_usd": "25.5", "budget_window": "week", "requests_per_minute": 600}),
        "the successor keeps the limits"
    );
    until_status(&gw, &ci, "sonnet", 401).await;
    assert_eq!(
        until_status(&gw, new_key, "sonnet", 200).await.status(),
        200
    );

    // Listing shows live keys only (unless --all); no key is stored in clear.
    let (ok, out, _) = keys_cli(&cfg, &["list", "--json"]).await;
    assert!(ok);
    let live: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(live.len(), 1, "{out}");
    assert_eq!(live[0]["id"], new["id"]);
    let (_, all, _) = keys_cli(&cfg, &["list", "--all"]).await;
    assert!(all.contains("revoked") && all.contains(&alice_id), "{all}");

    let rows = gw.flushed_rows().await;
    let by = |status: i64| rows.iter().filter(move |r| r.status == status);
    let served: Vec<_> = by(200).collect();
    assert!(
        served
            .iter()
            .any(|r| r.key_id.as_deref() == Some(alice_id.as_str())
                && r.user_id.as_deref() == Some("alice")
                && r.team.as_deref() == Some("web"))
    );
    assert!(
        served
            .iter()
            .any(|r| r.key_id.as_deref() == Some(ci_id.as_str())
                && r.user_id.is_none()
                && r.team.as_deref() == Some("platform"))
    );
    let refused: Vec<_> = by(403).collect();
    assert_eq!(refused.len(), 1, "the refused model is one ledger row");
    assert_eq!(refused[0].error_kind.as_deref(), Some("forbidden"));
    let db = gw
        .database_url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    for file in [db.clone(), format!("{db}-wal")] {
        if let Ok(bytes) = std::fs::read(&file) {
            for secret in [&alice, &ci, &new_key.to_string()] {
                let needle = &secret.as_bytes()[6..];
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "a key in clear in {file}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_admin_api_makes_and_revokes_keys_at_once() {
    let up = crate::support::mock::MockUpstream::start().await;
    let gw = TestGateway::with_ledger(&sections(&up.url())).await;
    let admin = |method: reqwest::Method, path: &str, key: &str| {
        gw.client()
            .request(method, format!("{}{path}", gw.url))
            .header("x-api-key", key.to_string())
    };
    let made = admin(reqwest::Method::POST, "/admin/keys", MASTER_KEY)
        .body(r#"{"name": "bob", "user": "bob", "team": "data", "expires_in": "30d", "metadata": {"seat": 7}, "max_tokens": 64}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let made: Value = made.json().await.unwrap();
    let (key, id) = (made["key"].as_str().unwrap(), made["id"].as_str().unwrap());
    assert_eq!(
        (made["status"].as_str(), made["metadata"]["seat"].as_i64()),
        (Some("live"), Some(7))
    );

    // This instance knows it at once: no wait for the next read; its
    // answers are held to its own max_tokens.
    assert_eq!(ask(&gw, key, "sonnet").await.status(), 200);
    let sent = up.seen().last().map(|s| s.json()["max_tokens"].clone());
    assert_eq!(sent, Some(serde_json::json!(64)));
    let listed: Value = admin(reqwest::Method::GET, "/admin/keys", MASTER_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        listed["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == id && k.get("key").is_none())
    );
    // A client key cannot make keys.
    let refused = admin(reqwest::Method::POST, "/admin/keys", key)
        .body(r#"{"name": "mine"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    // Bad requests are explained.
    let bad = admin(reqwest::Method::POST, "/admin/keys", MASTER_KEY)
        .body(r#"{"name": "x", "expires_in": "soon"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let gone = admin(
        reqwest::Method::POST,
        &format!("/admin/keys/{id}/revoke"),
        MASTER_KEY,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(gone.status(), 200);
    assert_eq!(ask(&gw, key, "sonnet").await.status(), 401);
    let again = admin(
        reqwest::Method::POST,
        &format!("/admin/keys/{id}/revoke"),
        MASTER_KEY,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(again.status(), 409);
    let missing = admin(reqwest::Method::GET, "/admin/keys/key_nope", MASTER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// 200 concurrent requests from 4 keys of one team against its $1.00 daily
/// budget: reserve-then-settle keeps the settled spend at or under the
/// limit, every refusal is a 429 in the client's dialect and a ledger row.
#[tokio::test]
async fn a_team_budget_holds_under_200_concurrent_requests() {
    use crate::support::mock::Reply;
    let up = crate::support::mock::MockUpstream::start().await;
    // Each answer bills 1,500 input and 400 output tokens of Sonnet 4.5
    // ($3 / $15 per million): $0.0105, after 50 ms.
    let answer = serde_json::json!({"id":"msg_b","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
        "content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,
        "usage":{"input_tokens":1500,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":400}});
    for _ in 0..200 {
        up.push(Reply::Delay(
            Duration::from_millis(50),
            Box::new(Reply::Json {
                status: 200,
                headers: vec![],
                body: answer.to_string(),
            }),
        ));
    }
    let mut gw = TestGateway::with_ledger(&format!(
        "[[budgets]]\nteam = \"web\"\nlimit_usd = 1\nwindow = \"day\"\n{}",
        sections(&up.url())
    ))
    .await;
    let cfg = config_file(&gw, &up.url());
    let mut keys = Vec::new();
    for i in 0..4 {
        keys.push(
            create(&cfg, &["--name", &format!("dev{i}"), "--team", "web"])
                .await
                .0,
        );
    }
    // Wait until the gateway has read the new keys (without spending).
    for _ in 0..50 {
        let r = gw
            .client()
            .get(format!("{}/v1/models", gw.url))
            .header("x-api-key", &keys[3])
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A prompt of about 1,600 estimated tokens, at most 400 out.
    let prompt = "word ".repeat(1280);
    let body = serde_json::json!({"model": "sonnet", "max_tokens": 400,
        "messages": [{"role": "user", "content": prompt}]})
    .to_string();
    let sends = (0..200).map(|i| {
        let (client, url, key, body) = (
            gw.client(),
            gw.url.clone(),
            keys[i % 4].clone(),
            body.clone(),
        );
        async move {
            let r = client
                .post(format!("{url}/v1/messages"))
                .header("x-api-key", key)
                .header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let retry = r.headers().get("retry-after").is_some();
            let no_retry = r
                .headers()
                .get("x-should-retry")
                .is_some_and(|v| v == "false");
            let v: Value = r.json().await.unwrap();
            (status, retry && no_retry, v)
        }
    });
    let results = futures_util::future::join_all(sends).await;
    let ok = results.iter().filter(|r| r.0 == 200).count();
    let refused: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert_eq!(
        ok + refused.len(),
        200,
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert!(
        !refused.is_empty() && ok >= 60,
        "ok {ok}, refused {}",
        refused.len()
    );
    let (_, headers_ok, v) = refused[0];
    assert!(
        headers_ok,
        "429 carries retry-after and x-should-retry: false"
    );
    assert_eq!(v["error"]["type"], "billing_error", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("daily budget of team web"),
        "{v}"
    );

    // Refused while others' reservations were outstanding; once they
    // settled below what they reserved, the room is there again.
    let later = gw
        .client()
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", &keys[0])
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(later.status(), 200, "released reservations are spendable");
    let rows = gw.flushed_rows().await;
    let served: i64 = rows
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.cost_nusd)
        .sum();
    let budget_rows = rows
        .iter()
        .filter(|r| r.error_kind.as_deref() == Some("budget_exceeded"))
        .count();
    assert_eq!(budget_rows, refused.len(), "every refusal is a ledger row");
    println!(
        "team budget $1.00: {ok} served, {} refused, settled ${:.4} (overshoot ${:.4})",
        refused.len(),
        served as f64 / 1e9,
        (served as f64 / 1e9 - 1.0).max(0.0)
    );
    assert!(served <= 1_000_000_000, "settled {served} nano-dollars");
    assert!(served >= 800_000_000, "the budget was used: {served}");
}

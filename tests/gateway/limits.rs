//! Budgets and rate limits across two gateway instances sharing the
//! machine's PostgreSQL (the ledger, the keys) and Redis (the counters):
//! the budget holds under 200 concurrent requests (and, with reserving
//! switched off, visibly does not), rate limits count both instances'
//! requests, and a Redis outage does what each limit's `redis_down` says.

use crate::support::mock::{MockUpstream, Reply};
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

const REDIS: &str = "127.0.0.1:6379";

/// A TCP relay to the machine's Redis that can be cut, as if Redis died.
struct RedisRelay {
    url: String,
    task: tokio::task::JoinHandle<()>,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl RedisRelay {
    async fn start() -> RedisRelay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let held = links.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let link = tokio::spawn(async move {
                    if let Ok(mut redis) = TcpStream::connect(REDIS).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut redis).await;
                    }
                });
                held.lock().unwrap().push(link.abort_handle());
            }
        });
        RedisRelay { url, task, links }
    }

    /// Close the port and every open connection.
    fn cut(&self) {
        self.task.abort();
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}

pub(crate) fn models(upstream: &str) -> String {
    format!(
        r#"
[providers.anthropic]
kind = "anthropic"
base_url = "{upstream}"
api_key = "{UPSTREAM_KEY}"

[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-4-5-20250929"
"#
    )
}

/// Two gateways on one PostgreSQL schema and one Redis.
async fn two_gateways(upstream: &str, redis_url: &str, limits: &str) -> [TestGateway; 2] {
    let db = crate::ledger::postgres_schema().await;
    let config = format!(
        "database_url = \"{db}\"\nredis_url = \"{redis_url}\"\n{limits}\n{}",
        models(upstream)
    );
    [
        TestGateway::with_ledger(&config).await,
        TestGateway::with_ledger(&config).await,
    ]
}

/// `n` client keys of `team`, made on the first gateway and known to both.
async fn keys_of(gws: &[TestGateway; 2], team: &str, n: usize) -> Vec<String> {
    let mut keys = Vec::new();
    for _ in 0..n {
        let made: Value = gws[0]
            .client()
            .post(format!("{}/admin/keys", gws[0].url))
            .header("x-api-key", MASTER_KEY)
            .json(&json!({"name": format!("dev of {team}"), "team": team}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        keys.push(made["key"].as_str().expect("a key").to_string());
    }
    // The other instance reads the key table each second; asking too often
    // with a key it does not know yet would count as guessing.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let r = gws[1]
            .client()
            .get(format!("{}/v1/models", gws[1].url))
            .header("x-api-key", &keys[n - 1])
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            return keys;
        }
    }
    panic!("the second gateway never learnt the keys");
}

/// POST a small Sonnet request; (status, headers, body).
pub(crate) async fn ask(
    gw: &TestGateway,
    key: &str,
    body: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = gw
        .client()
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

/// Each answer bills 1,500 input and 400 output tokens of Sonnet 4.5
/// ($3 / $15 per million): $0.0105, after 50 ms.
pub(crate) fn billed_answers(up: &MockUpstream, n: usize) {
    let answer = json!({"id":"msg_b","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
        "content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,
        "usage":{"input_tokens":1500,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":400}});
    for _ in 0..n {
        up.push(Reply::Delay(
            Duration::from_millis(50),
            Box::new(Reply::Json {
                status: 200,
                headers: vec![],
                body: answer.to_string(),
            }),
        ));
    }
}

/// 200 requests at once from 4 keys of one team, half to each instance;
/// returns (served, refused, settled nano-dollars from the ledger).
async fn spend_run(reserve: bool) -> (usize, usize, i64) {
    let up = MockUpstream::start().await;
    billed_answers(&up, 200);
    let team = format!("web-{}", uuid::Uuid::now_v7().simple());
    // A loaded test machine must not pass for a Redis outage.
    let limits = format!(
        "[[budgets]]\nteam = \"{team}\"\nlimit_usd = 1\nwindow = \"day\"\n[limits]\nreserve = {reserve}\nredis_timeout = \"5s\"\n"
    );
    let mut gws = two_gateways(&up.url(), "redis://127.0.0.1:6379", &limits).await;
    let keys = keys_of(&gws, &team, 4).await;
    // About 1,600 estimated prompt tokens, at most 400 out: $0.0108 at most.
    let body = json!({"model": "sonnet", "max_tokens": 400,
        "messages": [{"role": "user", "content": "word ".repeat(1280)}]})
    .to_string();
    let sends = (0..200).map(|i| ask(&gws[i % 2], &keys[i % 4], &body));
    let results = futures_util::future::join_all(sends).await;
    let served = results.iter().filter(|r| r.0 == 200).count();
    let refused: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert_eq!(served + refused.len(), 200);
    for (_, headers, v) in &refused {
        assert_eq!(v["error"]["type"], "billing_error", "{v}");
        assert!(headers.get("retry-after").is_some());
    }
    // Once the burst has settled below what it reserved, the room left is
    // spent one request at a time until the budget refuses.
    let mut more = 0;
    while more < 100 {
        let (status, ..) = ask(&gws[more % 2], &keys[more % 4], &body).await;
        if status != 200 {
            assert_eq!(status, 429);
            break;
        }
        more += 1;
    }
    let (served, refused_n) = (served + more, refused.len() + 1);
    let [a, b] = &mut gws;
    b.flush_ledger().await;
    let rows: Vec<_> = a
        .flushed_rows()
        .await
        .into_iter()
        .filter(|r| r.team.as_deref() == Some(team.as_str()))
        .collect();
    assert_eq!(rows.len(), 201 + more, "every request is one ledger row");
    let refusal_rows = rows
        .iter()
        .filter(|r| r.error_kind.as_deref() == Some("budget_exceeded"))
        .count();
    assert_eq!(refusal_rows, refused_n, "every refusal is a ledger row");
    let settled = rows.iter().map(|r| r.cost_nusd).sum();
    (served, refused_n, settled)
}

#[tokio::test]
async fn two_instances_hold_one_team_budget_and_reserving_is_what_holds_it() {
    let (served, refused, settled) = spend_run(true).await;
    let overshoot = (settled - 1_000_000_000).max(0);
    println!(
        "reserve then settle, 2 instances: {served} served, {refused} refused, settled ${:.4}, overshoot ${:.4}",
        settled as f64 / 1e9,
        overshoot as f64 / 1e9
    );
    // Never more than one request's most cost over (1,600 prompt tokens
    // at the 1-hour cache-write rate and 400 out: $0.0156); in fact none.
    assert!(overshoot <= 15_600_000, "overshoot {overshoot}");
    assert!(
        settled >= 1_000_000_000 - 15_600_000,
        "the budget was used up to one request's most cost: {settled}"
    );
    let (served_off, _, settled_off) = spend_run(false).await;
    println!(
        "counted after the fact, 2 instances: {served_off} served, settled ${:.4}, overshoot ${:.4}",
        settled_off as f64 / 1e9,
        (settled_off - 1_000_000_000).max(0) as f64 / 1e9
    );
    assert!(
        settled_off > 1_500_000_000,
        "without reserving, concurrent requests pass the budget: {settled_off}"
    );
}

/// Fire `n` requests, 10 at a time, alternating instances; the statuses.
async fn burst(gws: &[TestGateway; 2], key: &str, n: usize) -> Vec<(u16, Option<String>, Value)> {
    let body = json!({"model": "sonnet", "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}]})
    .to_string();
    let mut out = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(10) {
        let sends = chunk.iter().map(|i| ask(&gws[i % 2], key, &body));
        for (status, headers, v) in futures_util::future::join_all(sends).await {
            let retry = headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            out.push((status, retry, v));
        }
    }
    out
}

#[tokio::test]
async fn rate_limits_count_both_instances_and_a_redis_outage_follows_each_policy() {
    let up = MockUpstream::start().await;
    let relay = RedisRelay::start().await;
    let (open, closed) = (
        format!("open-{}", uuid::Uuid::now_v7().simple()),
        format!("closed-{}", uuid::Uuid::now_v7().simple()),
    );
    let limits = format!(
        "[[rate_limits]]\nteam = \"{open}\"\nrequests_per_minute = 60\n\
         [[rate_limits]]\nteam = \"{closed}\"\nrequests_per_minute = 60\nredis_down = \"closed\"\n\
         [limits]\nredis_timeout = \"5s\"\n"
    );
    let gws = two_gateways(&up.url(), &relay.url, &limits).await;
    let open_key = keys_of(&gws, &open, 1).await.remove(0);
    let closed_key = keys_of(&gws, &closed, 1).await.remove(0);

    // 90 requests in a few seconds, alternating instances: 60 pass.
    let results = burst(&gws, &open_key, 90).await;
    let ok = results.iter().filter(|r| r.0 == 200).count();
    println!("60 requests a minute over 2 instances: {ok} of 90 served");
    assert!((57..=63).contains(&ok), "{ok} served");
    let refused = results.iter().find(|r| r.0 == 429).unwrap();
    assert!(refused.1.is_some(), "retry-after");
    assert!(
        refused.2["error"]["message"]
            .as_str()
            .unwrap()
            .contains("request rate limit of team"),
        "{}",
        refused.2
    );
    assert_eq!(burst(&gws, &closed_key, 4).await[0].0, 200);

    relay.cut();
    // Closed: refused while the counters cannot be reached.
    let down = burst(&gws, &closed_key, 2).await;
    assert!(down.iter().all(|r| r.0 == 503), "{down:?}");
    assert!(
        down[0].2["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Redis"),
        "{:?}",
        down[0]
    );
    // Open: each instance goes on with its own counts (about 30 each of
    // the minute's 60 were its own), so about 60 more pass, then none.
    let local = burst(&gws, &open_key, 80).await;
    let ok_local = local.iter().filter(|r| r.0 == 200).count();
    println!("Redis down, fail open with local counters: {ok_local} of 80 served");
    assert!((50..=70).contains(&ok_local), "{ok_local} served");
    assert!(local.iter().all(|r| r.0 == 200 || r.0 == 429));
}

/// A client key made through the admin API of `gw`.
pub(crate) async fn admin_key(gw: &TestGateway, user: &str, team: &str) -> String {
    let made: Value = gw
        .client()
        .post(format!("{}/admin/keys", gw.url))
        .header("x-api-key", MASTER_KEY)
        .json(&json!({"name": format!("{user} laptop"), "user": user, "team": team}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    made["key"].as_str().expect("a key").to_string()
}

pub(crate) async fn get(gw: &TestGateway, key: &str, path: &str) -> reqwest::Response {
    gw.client()
        .get(format!("{}{path}", gw.url))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn get_with(gw: &TestGateway, key: &str, path: &str) -> Value {
    get(gw, key, path).await.json().await.unwrap()
}

pub(crate) async fn get_text(gw: &TestGateway, key: &str, path: &str) -> String {
    get(gw, key, path).await.text().await.unwrap()
}

/// Reports per developer and team, narrowed to one of them; a developer's
/// own view of their key's spend and limits.
#[tokio::test]
async fn reports_and_a_developers_own_view_show_who_spent_what() {
    let up = MockUpstream::start().await;
    billed_answers(&up, 5);
    let config = "[[budgets]]\nteam = \"web\"\nlimit_usd = 1\nsoft_limit_usd = 0.5\nwindow = \"day\"\n\
         [[rate_limits]]\nuser = \"alice\"\nrequests_per_minute = 100\n";
    let mut gw = TestGateway::with_ledger(&format!("{config}{}", models(&up.url()))).await;
    let alice = admin_key(&gw, "alice", "web").await;
    let bob = admin_key(&gw, "bob", "data").await;
    let body = json!({"model": "sonnet", "max_tokens": 400,
        "messages": [{"role": "user", "content": "hello"}]})
    .to_string();
    for key in [&alice, &alice, &alice, &bob, &bob] {
        assert_eq!(ask(&gw, key, &body).await.0, 200);
    }

    // Alice's own view: $0.0105 × 3 against the team's $1, 3 of 100 a minute.
    let mut me = Value::Null;
    for _ in 0..50 {
        me = get_with(&gw, &alice, "/v1/key").await;
        if me["data"]["usage"]["today_usd"] == "0.0315" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let data = &me["data"];
    assert_eq!(
        (&data["user"], &data["team"]),
        (&json!("alice"), &json!("web")),
        "{me}"
    );
    assert_eq!(data["usage"]["today_usd"], "0.0315", "{me}");
    let limits = data["limits"].as_array().unwrap();
    assert_eq!(limits.len(), 2, "{me}");
    assert_eq!(
        (
            &limits[0]["kind"],
            &limits[0]["spent_usd"],
            &limits[0]["remaining_usd"]
        ),
        (&json!("budget"), &json!("0.0315"), &json!("0.9685")),
        "{me}"
    );
    assert!(
        limits[0]["resets"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00Z")
    );
    assert_eq!(
        (
            &limits[1]["kind"],
            &limits[1]["used"],
            &limits[1]["remaining"]
        ),
        (&json!("requests_per_minute"), &json!(3), &json!(97)),
        "{me}"
    );
    // Bob's team has no budget; the master key has no limits.
    assert_eq!(
        get_with(&gw, &bob, "/v1/key").await["data"]["limits"],
        json!([])
    );
    assert_eq!(
        get_with(&gw, MASTER_KEY, "/v1/key").await["data"]["admin"],
        true
    );

    gw.flush_ledger().await;
    let gw2 = TestGateway::with_ledger(&format!(
        "database_url = \"{}\"\n{config}{}",
        gw.database_url,
        models(&up.url())
    ))
    .await;
    let users = get_with(&gw2, MASTER_KEY, "/admin/report/users?format=json").await;
    let by_user: Vec<(String, i64)> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_string(),
                l["requests"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_user,
        [("alice".to_string(), 3), ("bob".to_string(), 2)],
        "{users}"
    );
    let web = get_with(&gw2, MASTER_KEY, "/admin/report/daily?team=web&format=json").await;
    assert_eq!(web["only"], "team web");
    assert_eq!(web["summary"]["requests"], 3, "{web}");
    assert_eq!(web["teams"][0]["name"], "web");
    assert_eq!(web["teams"].as_array().unwrap().len(), 1);
    let md = get_text(&gw2, MASTER_KEY, "/admin/report/teams?format=md").await;
    assert!(
        md.contains("### Team") && md.contains("| web |") && md.contains("| data |"),
        "{md}"
    );
}

/// A key made with its own budget and rate limit is held to them, shows
/// them, and passes them on when rotated.
#[tokio::test]
async fn a_key_carries_its_own_budget_and_rate_limit() {
    let up = MockUpstream::start().await;
    billed_answers(&up, 10);
    let gw = TestGateway::with_ledger(&models(&up.url())).await;
    let make = |body: Value| {
        let client = gw.client();
        let url = format!("{}/admin/keys", gw.url);
        async move {
            let r = client
                .post(url)
                .header("x-api-key", MASTER_KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, bad) =
        make(json!({"name": "x", "budget_usd": 1, "budget_window": "fortnight"})).await;
    assert_eq!(status, 400, "{bad}");
    let (status, made) = make(json!({"name": "ci", "team": "platform", "budget_usd": 0.02,
        "budget_window": "day", "requests_per_minute": 3}))
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["limits"]["requests_per_minute"], 3, "{made}");
    let key = made["key"].as_str().unwrap().to_string();
    // Each answer costs $0.0105 and may cost up to about $0.006 (a short
    // prompt at the cache-write rate, 400 out): after two the third could
    // pass $0.02.
    let body = json!({"model": "sonnet", "max_tokens": 400,
        "messages": [{"role": "user", "content": "hello"}]})
    .to_string();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, _, v) = ask(&gw, &key, &body).await;
        statuses.push((
            status,
            v["error"]["message"].as_str().unwrap_or("").to_string(),
        ));
    }
    assert_eq!(statuses[0].0, 200);
    assert_eq!(statuses[1].0, 200);
    assert_eq!(statuses[2].0, 429);
    assert!(
        statuses[2].1.contains("daily budget of key"),
        "{statuses:?}"
    );
    // Refused requests are not counted against the rate: 2 of 3 used.
    let me = get_with(&gw, &key, "/v1/key").await;
    let kinds: Vec<&str> = me["data"]["limits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["budget", "requests_per_minute"], "{me}");
    assert_eq!(me["data"]["limits"][1]["used"], 2, "{me}");
    // Rotating keeps the limits.
    let id = made["id"].as_str().unwrap();
    let rotated: Value = gw
        .client()
        .post(format!("{}/admin/keys/{id}/rotate", gw.url))
        .header("x-api-key", MASTER_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rotated["limits"], made["limits"], "{rotated}");
}

/// Past a budget's soft limit with `soft_action = "step_down"`, requests
/// are served by the next cheaper tier, and say so.
#[tokio::test]
async fn past_the_soft_limit_requests_step_down_a_tier() {
    let up = MockUpstream::start().await;
    billed_answers(&up, 3);
    let gw = TestGateway::with_ledger(&format!(
        "[[budgets]]\nteam = \"web\"\nlimit_usd = 1\nsoft_limit_usd = 0.01\nsoft_action = \"step_down\"\n\
         {}\n[models.haiku]\nprovider = \"anthropic\"\nid = \"claude-haiku-4-5-20251001\"\n\
         [tiers]\ncheap = [\"haiku\"]\npremium = [\"sonnet\"]\n",
        models(&up.url())
    ))
    .await;
    let key = admin_key(&gw, "alice", "web").await;
    let body = json!({"model": "sonnet", "max_tokens": 400,
        "messages": [{"role": "user", "content": "hello"}]})
    .to_string();
    let (status, first, _) = ask(&gw, &key, &body).await;
    assert_eq!(status, 200);
    assert_eq!(first["x-switchyard-model"], "claude-sonnet-4-5-20250929");
    assert!(first.get("x-switchyard-budget-warning").is_none());
    // $0.0105 spent: past the $0.01 soft limit.
    let (status, second, _) = ask(&gw, &key, &body).await;
    assert_eq!(status, 200);
    assert_eq!(second["x-switchyard-model"], "claude-haiku-4-5-20251001");
    assert_eq!(second["x-switchyard-tier"], "cheap");
    let reason = second["x-switchyard-reason"].to_str().unwrap();
    assert!(reason.contains("stepped down to tier cheap"), "{reason}");
    assert!(
        second["x-switchyard-budget-warning"]
            .to_str()
            .unwrap()
            .contains("monthly budget of team web")
    );
    // The master key has no budget: still Sonnet.
    let (_, admin, _) = ask(&gw, MASTER_KEY, &body).await;
    assert_eq!(admin["x-switchyard-model"], "claude-sonnet-4-5-20250929");
}

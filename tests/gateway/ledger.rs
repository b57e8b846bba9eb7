//! The spend ledger end to end, on SQLite and on the PostgreSQL of this
//! machine: a mixed run priced exactly, reports from the admin API and the
//! CLI agreeing, a client abort recorded with its partial usage, no record
//! lost under load, and what a `kill -9` loses.

use crate::support::mock::{text_events, text_message};
use crate::support::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::time::Duration;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A fresh PostgreSQL schema on the local server; its URL.
pub(crate) async fn postgres_schema() -> String {
    let base = std::env::var("SWITCHYARD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("sy_{}", uuid::Uuid::now_v7().simple());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&base)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 is needed");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&pool)
        .await
        .unwrap();
    format!("{base}?options%5Bsearch_path%5D={schema}")
}

fn config(ollama: &str, anthropic: &str, database_url: Option<&str>) -> String {
    let db = database_url
        .map(|u| format!("database_url = \"{u}\"\n"))
        .unwrap_or_default();
    format!(
        r#"{db}
[costs]
fixed_monthly = {{ ec2 = 36.5 }}
[retry]
attempts = 0
[providers.ollama]
kind = "ollama"
base_url = "{ollama}"
discover = false
[providers.anthropic]
kind = "anthropic"
base_url = "{anthropic}"
api_key = "{UPSTREAM_KEY}"
[models.local]
provider = "ollama"
id = "qwen2.5-coder:7b"
capabilities = ["tools"]
[models.haiku]
provider = "anthropic"
id = "claude-haiku-4-5-20251001"
[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-4-5-20250929"
[tiers]
local = ["local", "haiku"]
cheap = ["haiku", "sonnet"]
premium = ["sonnet"]
"#
    )
}

fn claude_code(prompt: &str, model: &str, stream: bool) -> String {
    json!({"model": model, "max_tokens": 1000, "stream": stream, "messages": [{"role": "user", "content": prompt}]}).to_string()
}

const HARD: &str = "Design the architecture for migrating our 40 microservices to event sourcing with zero downtime; compare the trade-offs.";

fn anthropic_answer(model: &str, usage: Value) -> Reply {
    let mut m = text_message(model, "done");
    m["usage"] = usage;
    Reply::Json {
        status: 200,
        headers: vec![],
        body: m.to_string(),
    }
}

async fn mixed_run(database_url: Option<String>) {
    let (ollama, anthropic) = (MockUpstream::start().await, MockUpstream::start().await);
    let mut gw = TestGateway::with_ledger(&config(
        &ollama.url(),
        &anthropic.url(),
        database_url.as_deref(),
    ))
    .await;
    // 3 easy requests: local, free; baseline 26×3 + 7×15 = $0.000183 each.
    for i in 0..3 {
        let r = gw
            .post(
                "/v1/messages",
                &claude_code(
                    &format!("write a commit message for change {i}"),
                    "claude-opus-5-5",
                    false,
                ),
            )
            .await;
        assert_eq!(r.headers()["x-switchyard-tier"], "local");
    }
    // Background work: local fails, haiku serves (a fallback): 1000×1 + 200×5 = $0.002; baseline $0.006.
    ollama.push(Reply::Json {
        status: 500,
        headers: vec![],
        body: json!({"error": "model crashed"}).to_string(),
    });
    anthropic.push(anthropic_answer(
        "claude-haiku-4-5-20251001",
        json!({"input_tokens": 1000, "output_tokens": 200}),
    ));
    let r = gw
        .post(
            "/v1/messages",
            &claude_code("generate a title", "claude-haiku-5-5", false),
        )
        .await;
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["x-switchyard-attempts"].to_str().unwrap()
        ),
        (200, "2")
    );
    // Hard work on sonnet: 2000×3 + 500×15 + 1000×3.75 + 5000×0.30 = $0.01875.
    anthropic.push(anthropic_answer(
        "claude-sonnet-4-5-20250929",
        json!({"input_tokens": 2000, "output_tokens": 500, "cache_creation_input_tokens": 1000, "cache_read_input_tokens": 5000}),
    ));
    assert_eq!(
        gw.post("/v1/messages", &claude_code(HARD, "claude-opus-5-5", false))
            .await
            .status(),
        200
    );
    // A request the upstream refuses.
    anthropic.push(Reply::error(400, "invalid_request_error", "bad"));
    assert_eq!(
        gw.post("/v1/messages", &claude_code(HARD, "claude-opus-5-5", false))
            .await
            .status(),
        400
    );
    // A stream the client abandons after the first text delta.
    anthropic.push(Reply::Sse {
        events: text_events(
            "claude-sonnet-4-5-20250929",
            &"long answer ".repeat(50),
            300,
            900,
        ),
        gap: Duration::from_millis(30),
        tail: StreamTail::Complete,
    });
    let mut resp = gw
        .post("/v1/messages", &claude_code(HARD, "claude-opus-5-5", true))
        .await;
    let mut got = String::new();
    while !got.contains("text_delta") {
        got.push_str(std::str::from_utf8(&resp.chunk().await.unwrap().unwrap()).unwrap());
    }
    drop(resp);
    gw.records.wait_for(7).await;

    // Reports from the running gateway's admin API, once the writer has
    // written everything (it batches for up to a quarter second).
    let store = gw.store.clone().unwrap();
    let (from, to) =
        switchyard::usage::reports::Range::day(switchyard::usage::reports::today()).millis();
    let mut written = 0;
    for _ in 0..250 {
        written = store.totals(from, to).await.unwrap().requests;
        if written >= 7 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(written, 7, "the writer keeps up");
    let admin: Value = gw
        .client()
        .get(format!("{}/admin/report/daily?format=json", gw.url))
        .header("x-api-key", MASTER_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .ok()
        .unwrap_or(Value::Null);
    let stats = gw.flush_ledger().await;
    assert_eq!((stats.written, stats.lost), (7, 0));
    let rows = store
        .rows(from, to, switchyard::store::Order::Time, 100)
        .await
        .unwrap();
    let mine: Vec<_> = rows
        .iter()
        .filter(|r| gw.records.all().iter().any(|x| x.request_id == r.id))
        .collect();
    assert_eq!(mine.len(), 7, "one row per request");
    let aborted = mine
        .iter()
        .find(|r| r.outcome == "client_aborted")
        .expect("the abort is recorded");
    assert_eq!(
        (aborted.status, aborted.input_tokens),
        (499, 300),
        "with its partial usage"
    );
    assert!(aborted.output_estimated && aborted.output_tokens >= 1);
    // sonnet 300×3 + output×15 per million, exactly
    let aborted_cost =
        Decimal::from(300 * 3 + aborted.output_tokens * 15) / Decimal::from(1_000_000);
    assert_eq!(
        switchyard::usage::ledger::from_nanos(aborted.cost_nusd),
        aborted_cost
    );
    let failed = mine.iter().find(|r| r.status == 400).unwrap();
    assert_eq!((failed.outcome.as_str(), failed.cost_nusd), ("failed", 0));
    let fallback = mine.iter().find(|r| r.fallbacks == 1).unwrap();
    assert_eq!(
        (fallback.model.as_deref(), fallback.attempts),
        (Some("haiku"), 2)
    );

    // The daily report, from the CLI, over the same database.
    let dir = std::env::temp_dir().join(format!("switchyard-report-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("switchyard.toml");
    std::fs::write(
        &cfg,
        format!(
            "auth = \"none\"\n{}",
            config(&ollama.url(), &anthropic.url(), Some(&gw.database_url))
        ),
    )
    .unwrap();
    let out = switchyard_cli([
        "report".as_ref(),
        "daily".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        "--config".as_ref(),
        cfg.as_os_str(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &cli["summary"];
    let num = |v: &Value| d(v.as_str().unwrap());
    let expected_cost = d("0.002") + d("0.01875") + aborted_cost;
    let expected_baseline =
        d("0.000183") * Decimal::from(3) + d("0.006") + d("0.01875") + aborted_cost;
    if database_url.is_some() {
        // Our own schema: the report covers exactly this run.
        assert_eq!(s["requests"], 7);
        assert_eq!(
            (
                s["failed"].as_i64(),
                s["aborted"].as_i64(),
                s["fallbacks"].as_i64()
            ),
            (Some(1), Some(1), Some(1))
        );
        assert_eq!(num(&s["cost_usd"]), expected_cost.round_dp(4));
        assert_eq!(num(&s["baseline_usd"]), expected_baseline.round_dp(4));
        assert_eq!(num(&s["fixed_usd"]), d("1.2"), "36.5 a month is 1.20 a day");
        let models: Vec<(&str, i64)> = cli["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["name"].as_str().unwrap(), m["requests"].as_i64().unwrap()))
            .collect();
        assert_eq!(models, [("sonnet", 3), ("haiku", 1), ("local", 3)]);
    }
    if database_url.is_some() {
        assert_eq!(
            admin, cli,
            "the admin API and the CLI report the same numbers"
        );
    }
    let savings = num(&s["savings_pct"]);
    assert!(savings > Decimal::ZERO, "{savings}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn mixed_run_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("switchyard-ledger-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    mixed_run(Some(switchyard::store::sqlite_url(&dir.join("ledger.db")))).await;
}

#[tokio::test]
async fn mixed_run_on_postgres() {
    mixed_run(Some(postgres_schema().await)).await;
}

#[tokio::test]
async fn no_record_lost_under_load() {
    let mock = MockUpstream::start().await;
    let url = postgres_schema().await;
    let mut gw = TestGateway::with_ledger(&format!(
        "database_url = \"{url}\"\n[providers.a]\nkind = \"anthropic\"\nbase_url = \"{}\"\n[models.m]\nprovider = \"a\"\nid = \"claude-haiku-4-5-20251001\"\naliases = [\"*\"]",
        mock.url()
    ))
    .await;
    let n = 3000;
    let client = gw.client();
    let body = claude_code("hi", "claude-x", false);
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (client, url, body, permit) = (
            client.clone(),
            gw.url.clone(),
            body.clone(),
            sem.clone().acquire_owned().await.unwrap(),
        );
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(format!("{url}/v1/messages"))
                .header("x-api-key", MASTER_KEY)
                .body(body)
                .send()
                .await
                .unwrap();
            drop(permit);
            r.status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let stats = gw.flush_ledger().await;
    assert_eq!((stats.written, stats.lost), (n, 0));
    let (from, to) =
        switchyard::usage::reports::Range::day(switchyard::usage::reports::today()).millis();
    let totals = gw.store.clone().unwrap().totals(from, to).await.unwrap();
    assert_eq!(totals.requests, n as i64);
    // 25 in × $1 + 9 out × $5 per million, 3000 times: $0.21 exactly.
    assert_eq!(totals.cost_nusd, 3000 * (25 * 1000 + 9 * 5000));
}

/// `kill -9` of a real gateway process: what was written stays; what the
/// writer had not flushed yet (at most one flush interval of requests) is
/// what a crash loses.
#[tokio::test]
async fn kill_9_loses_at_most_the_last_batch() {
    let mock = MockUpstream::start().await;
    let dir = std::env::temp_dir().join(format!("switchyard-kill-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = dir.join("switchyard.toml");
    std::fs::write(
        &cfg,
        format!(
            "listen = \"127.0.0.1:{port}\"\nauth = \"none\"\n[providers.a]\nkind = \"anthropic\"\nbase_url = \"{}\"\n[models.m]\nprovider = \"a\"\nid = \"claude-haiku-4-5-20251001\"\naliases = [\"*\"]\n",
            mock.url()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let client = http_client();
    for _ in 0..100 {
        if client.get(format!("{url}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let send = |n: usize| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let body = claude_code("hi", "claude-x", false);
            let reqs = (0..n).map(|_| {
                client
                    .post(format!("{url}/v1/messages"))
                    .body(body.clone())
                    .send()
            });
            for r in futures_util::future::join_all(reqs).await {
                assert_eq!(r.unwrap().status(), 200);
            }
        }
    };
    send(300).await;
    tokio::time::sleep(Duration::from_millis(800)).await; // more than a flush interval
    send(40).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let store = switchyard::store::Store::connect(&switchyard::store::sqlite_url(
        &dir.join("switchyard.db"),
    ))
    .await
    .unwrap();
    let (from, to) =
        switchyard::usage::reports::Range::day(switchyard::usage::reports::today()).millis();
    let kept = store.totals(from, to).await.unwrap().requests;
    eprintln!(
        "kill -9 after 340 requests: {kept} recorded, {} lost",
        340 - kept
    );
    assert!(
        kept >= 300,
        "everything before the last flush interval survives ({kept})"
    );
    // Every kept row is a distinct request that was sent: none twice.
    let rows = store
        .rows(from, to, switchyard::store::Order::Time, 1000)
        .await
        .unwrap();
    let ids: std::collections::HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len() as i64, kept, "duplicate rows");
    assert!(kept <= 340, "{kept} rows for 340 requests");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The team's templates, filled from the ledger: the daily log lists each
/// model with what it cost (a local one as free) and the weekly summary
/// ends with the team's recommendation.
#[tokio::test]
async fn the_daily_log_and_weekly_summary_templates() {
    let (local, cloud) = (MockUpstream::start().await, MockUpstream::start().await);
    let mut gw = TestGateway::with_ledger(&format!(
        "[providers.box]\nkind = \"openai\"\nbase_url = \"{}/v1\"\nlocal = true\n\
         [providers.cloud]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"k\"\n\
         [models.qwen]\nprovider = \"box\"\nid = \"qwen-coder\"\n\
         [models.sonnet]\nprovider = \"cloud\"\nid = \"claude-sonnet-4-5\"\n\
         [tiers]\nlocal = [\"qwen\"]\npremium = [\"sonnet\"]\nbaseline = \"sonnet\"\n",
        local.url(),
        cloud.url()
    ))
    .await;
    for model in ["qwen", "qwen", "qwen", "sonnet"] {
        let resp = gw.post("/v1/messages", &body(model, false)).await;
        assert_eq!(resp.status(), 200);
    }
    gw.flush_ledger().await;
    let store = gw.store.clone().unwrap();
    let today = switchyard::usage::reports::today();
    let daily = switchyard::usage::reports::build(
        &store,
        "daily",
        switchyard::usage::reports::Range::day(today),
        &[],
        5,
    )
    .await
    .unwrap();
    let log = switchyard::usage::templates::daily_log(&daily);
    assert!(log.contains(&format!("- **Date:** {today}")), "{log}");
    assert!(
        log.contains("- **Requests:** 4 (4 succeeded, 0 failed"),
        "{log}"
    );
    assert!(
        log.contains("- **Distribution:** qwen: 3 (free), sonnet: 1 ($"),
        "{log}"
    );
    assert!(log.contains("- **Issues:** none"), "{log}");
    let weekly = switchyard::usage::reports::build(
        &store,
        "weekly",
        switchyard::usage::reports::Range::ending(today, 7),
        &[],
        5,
    )
    .await
    .unwrap();
    let summary = switchyard::usage::templates::weekly_summary(&weekly);
    let saved = weekly.summary.savings_pct.unwrap();
    assert!(saved > Decimal::from(60), "{summary}");
    assert!(
        summary.contains(&format!("- **Savings:** {}%", saved.round_dp(1))),
        "{summary}"
    );
    assert!(
        summary.contains("- **Success rate:** 100% (4 successful / 0 failed / 0% fallbacks)"),
        "{summary}"
    );
    assert!(
        summary.contains("- **Recommendation:** adopt:"),
        "{summary}"
    );
}

#[tokio::test]
async fn the_decision_matrix_comes_from_the_ledger() {
    let (local, cloud) = (MockUpstream::start().await, MockUpstream::start().await);
    let sections = format!(
        "[providers.box]\nkind = \"openai\"\nbase_url = \"{}/v1\"\nlocal = true\n\
         [providers.cloud]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"k\"\n\
         [models.qwen]\nprovider = \"box\"\nid = \"qwen-coder\"\n\
         [models.sonnet]\nprovider = \"cloud\"\nid = \"claude-sonnet-4-5\"\n\
         [tiers]\nlocal = [\"qwen\"]\npremium = [\"sonnet\"]\nbaseline = \"sonnet\"\n\
         [guard]\nsecrets = \"redact\"\ntools = [\"jail\", \"sensitive_files\", \"read_only\"]\n\
         max_tokens = 32000\n",
        local.url(),
        cloud.url()
    );
    let mut gw = TestGateway::with_ledger(&sections).await;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // A week's mix in small: most work on the local model, the rest on
    // Sonnet, from Claude Code sessions.
    for (i, model) in ["qwen", "qwen", "qwen", "qwen", "sonnet"]
        .iter()
        .enumerate()
    {
        let resp = gw
            .client()
            .post(format!("{}/v1/messages", gw.url))
            .header("x-api-key", MASTER_KEY)
            .header("x-claude-code-session-id", format!("sess-{}", i % 2))
            .header("content-type", "application/json")
            .body(body(model, false))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    gw.flush_ledger().await;
    let store = gw.store.clone().unwrap();
    let today = switchyard::usage::reports::today();
    let week = switchyard::usage::reports::build(
        &store,
        "weekly",
        switchyard::usage::reports::Range::ending(today, 7),
        &[],
        5,
    )
    .await
    .unwrap();
    let first = store.first_session_success(started).await.unwrap().unwrap();
    assert!(first >= started);
    let config = switchyard::config::load_str(
        &format!("listen = \"127.0.0.1:0\"\nauth = \"none\"\n{sections}"),
        switchyard::config::ConfigSource::Embedded,
        &|_| None,
    )
    .unwrap();
    let given = switchyard::usage::decision::Given {
        setup_hours: None,
        measured_setup_hours: Some((first - started) as f64 / 3_600_000.0 + 0.5),
        ux: Some(4),
    };
    let m = switchyard::usage::decision::decide(&week, &config, &given);
    let score = |name: &str| m.criteria.iter().find(|c| c.name == name).unwrap().score;
    assert!(score("Cost savings") >= Some(4), "{m:?}");
    assert_eq!(score("Reliability"), Some(5));
    assert_eq!(score("Setup time"), Some(5), "half an hour");
    assert_eq!(
        score("Security"),
        Some(5),
        "jail, sensitive files, read-only, output limit, timeouts; secrets redacted"
    );
    assert_eq!(score("UX"), Some(4));
    assert!(m.weighted.unwrap() >= Decimal::from(4));
    assert!(m.verdict.starts_with("adopt"), "{}", m.verdict);
    assert!(m.missing.is_empty());
    let text = switchyard::usage::decision::markdown(&m);
    assert!(
        text.contains("| Cost savings | 40% | >60% reduction |"),
        "{text}"
    );
    assert!(text.contains("- go: savings at least 60%: met"), "{text}");
    assert!(
        text.contains("- no-go: reliability below 90%: clear"),
        "{text}"
    );
    println!("{text}");

    // Without the team's UX score and a setup time the verdict is provisional.
    let m = switchyard::usage::decision::decide(&week, &config, &Default::default());
    assert_eq!(m.missing, ["Setup time", "UX"]);
    assert!(
        m.verdict
            .contains("provisional until scored: Setup time, UX"),
        "{}",
        m.verdict
    );
}

//! The same ledger checks against SQLite and against the PostgreSQL on this
//! machine (SWITCHYARD_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/test).

use super::LedgerRow;
use super::*;

/// A row at `ts_ms` with the given model, cost and outcome.
pub fn row(
    id: &str,
    ts_ms: i64,
    model: &str,
    cost: i64,
    baseline: i64,
    outcome: &str,
) -> LedgerRow {
    LedgerRow {
        id: id.to_string(),
        ts_ms,
        day: "2026-11-28".into(),
        key_id: None,
        user_id: None,
        team: None,
        session_id: Some("sess-1".into()),
        agent_id: None,
        dialect: "anthropic".into(),
        endpoint: "messages".into(),
        requested_model: Some("claude-opus-5-5".into()),
        route: Some("auto".into()),
        tier: Some(if model == "local" { "local" } else { "premium" }.into()),
        provider: Some("p".into()),
        model: Some(model.into()),
        upstream_model: Some(format!("{model}-id")),
        stream: true,
        attempts: 1,
        fallbacks: 0,
        cache: None,
        status: if outcome == "success" { 200 } else { 502 },
        outcome: outcome.into(),
        error_kind: (outcome != "success").then(|| "transport".to_string()),
        input_tokens: 100,
        output_tokens: 10,
        cache_write_5m_tokens: 1,
        cache_write_1h_tokens: 2,
        cache_read_tokens: 1000,
        output_estimated: false,
        priced: true,
        cost_nusd: cost,
        baseline_nusd: baseline,
        latency_ms: 12.5,
        ttft_ms: Some(3.25),
        priced_as: None,
        shadow_model: None,
        shadow_cost_nusd: None,
        guard: None,
        reason: None,
        overhead_ms: Some(0.125),
    }
}

pub fn postgres_url() -> String {
    std::env::var("SWITCHYARD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A time window no other test run uses, before 2001 (so purging it can
/// never touch rows of tests that record real requests).
fn window() -> i64 {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    (micros % 1_000_000) as i64 * 1_000_000
}

async fn exercise(store: Store) {
    let t0 = window();
    let id = |s: &str| format!("{t0}-{s}");
    let mut rows = vec![
        row(
            &id("a"),
            t0 + 1,
            "sonnet",
            27_000_000,
            27_000_000,
            "success",
        ),
        row(&id("b"), t0 + 2, "local", 0, 9_000_000, "success"),
        row(&id("c"), t0 + 3, "local", 0, 3_000_000, "failed"),
    ];
    // NULLs and values in the same column of one batch.
    rows[0].ttft_ms = None;
    rows[0].overhead_ms = None;
    store.insert(&rows).await.unwrap();
    store.insert(&rows[..1]).await.unwrap(); // retried batch: no duplicate
    let all = store.rows(t0, t0 + 10, Order::Time, 100).await.unwrap();
    assert_eq!(all, rows, "round trip is exact");
    let t = store.totals(t0, t0 + 10).await.unwrap();
    assert_eq!((t.requests, t.success, t.failed), (3, 2, 1));
    assert_eq!((t.cost_nusd, t.baseline_nusd), (27_000_000, 39_000_000));
    assert_eq!(
        (t.input_tokens, t.cache_read_tokens, t.cache_write_tokens),
        (300, 3000, 9)
    );
    let by_model = store.group(Group::Model, t0, t0 + 10).await.unwrap();
    assert_eq!(
        by_model[0].key.as_deref(),
        Some("sonnet"),
        "most expensive first"
    );
    assert_eq!(
        (
            by_model[1].requests,
            by_model[1].failed,
            by_model[1].baseline_nusd
        ),
        (2, 1, 12_000_000)
    );
    assert_eq!(by_model[1].input_tokens, 2 * (100 + 1000 + 3));
    let errors = store.group(Group::Error, t0, t0 + 10).await.unwrap();
    assert_eq!(
        (errors.len(), errors[0].key.as_deref()),
        (1, Some("transport"))
    );
    let sessions = store.group(Group::Session, t0, t0 + 10).await.unwrap();
    assert_eq!(
        (sessions[0].key.as_deref(), sessions[0].requests),
        (Some("sess-1"), 3)
    );
    let of_session = store.session_rows("sess-1", t0, t0 + 10, 10).await.unwrap();
    assert_eq!(of_session.len(), 3);
    assert!(of_session[0].cost_nusd >= of_session[2].cost_nusd);
    assert!(
        store
            .session_rows("nope", t0, t0 + 10, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let top = store.rows(t0, t0 + 10, Order::Cost, 1).await.unwrap();
    assert_eq!(top[0].id, id("a"));
    assert_eq!(
        store.row(&id("b")).await.unwrap().unwrap().model.as_deref(),
        Some("local")
    );
    assert!(store.row("nope").await.unwrap().is_none());
    let mut latencies = store.latencies(t0, t0 + 10).await.unwrap();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(latencies, vec![(12.5, None), (12.5, Some(0.125))]);
    // Retention: everything before t0 + 2 goes (in a shared database that may
    // include leftovers of older runs, so only our own rows are checked).
    assert!(store.purge_before(t0 + 2).await.unwrap() >= 1);
    assert!(store.row(&id("a")).await.unwrap().is_none());
    assert_eq!(store.totals(t0, t0 + 10).await.unwrap().requests, 2);
    store.purge_before(t0 + 10).await.unwrap();
    // A batch larger than one INSERT statement, with a row seen before.
    let many: Vec<LedgerRow> = (0..250)
        .map(|i| row(&id(&format!("m{i}")), t0 + 20, "haiku", 1, 2, "success"))
        .collect();
    store.insert(&many[..1]).await.unwrap();
    store.insert(&many).await.unwrap();
    assert_eq!(store.totals(t0 + 20, t0 + 21).await.unwrap().requests, 250);
    store.purge_before(t0 + 21).await.unwrap();
    percentiles(&store, t0 + 30).await;
    keys(&store).await;
}

/// PostgreSQL computes latency percentiles itself, with `percentile_disc`
/// (the reports compute the same from rows on SQLite).
async fn percentiles(store: &Store, at: i64) {
    let rows: Vec<LedgerRow> = (1..=20)
        .map(|i| {
            let mut r = row(&format!("{at}-p{i}"), at, "haiku", 1, 2, "success");
            r.latency_ms = f64::from(i);
            r.overhead_ms = (i % 2 == 0).then(|| f64::from(i) / 10.0);
            r
        })
        .collect();
    store.insert(&rows).await.unwrap();
    let got = store.latency_percentiles(at, at + 1).await.unwrap();
    match store.backend() {
        Backend::Postgres => assert_eq!(got, Some([10.0, 19.0, 1.0, 2.0])),
        Backend::Sqlite => assert_eq!(got, None),
    }
    store.purge_before(at + 1).await.unwrap();
}

/// The key table: stored, read back by id and by change, revoked once.
async fn keys(store: &Store) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let key = KeyRow {
        id: format!("key_{}", uuid::Uuid::now_v7().simple()),
        hash: format!("{:064x}", uuid::Uuid::now_v7().as_u128()),
        hint: "sk-sy-…abcd".into(),
        name: "laptop".into(),
        user_id: Some("alice".into()),
        team: None,
        models: Some("claude-*".into()),
        metadata: Some("{\"seat\": 3}".into()),
        created_ms: now,
        expires_ms: None,
        revoked_ms: None,
        updated_ms: now,
        limits: Some("{\"requests_per_minute\":60}".into()),
    };
    store.insert_key(&key).await.unwrap();
    assert_eq!(store.key(&key.id).await.unwrap().as_ref(), Some(&key));
    let changed = store.keys_changed_since(now - 1).await.unwrap();
    assert!(changed.contains(&key));
    assert!(store.revoke_key(&key.id, now + 5).await.unwrap());
    assert!(
        !store.revoke_key(&key.id, now + 6).await.unwrap(),
        "revoked once"
    );
    let after = store.keys_changed_since(now + 4).await.unwrap();
    let revoked = after.iter().find(|k| k.id == key.id).unwrap();
    assert_eq!(
        (revoked.revoked_ms, revoked.updated_ms),
        (Some(now + 5), now + 5)
    );
    assert!(store.key("key_missing").await.unwrap().is_none());
}

#[tokio::test]
async fn sqlite() {
    let dir = std::env::temp_dir().join(format!("switchyard-store-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&sqlite_url(&dir.join("ledger.db")))
        .await
        .unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    exercise(store).await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn postgres() {
    let store = Store::connect(&postgres_url())
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 (database test) is needed");
    assert_eq!(store.backend(), Backend::Postgres);
    exercise(store).await;
}

#[tokio::test]
async fn bad_urls_are_explained() {
    assert!(
        Store::connect("mysql://x")
            .await
            .unwrap_err()
            .contains("unsupported")
    );
}

#[tokio::test]
async fn a_plain_sqlite_url_creates_the_file() {
    let dir = std::env::temp_dir().join(format!("switchyard-store-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("new.db");
    Store::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    assert!(file.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Several instances starting at once on one empty PostgreSQL schema all
/// migrate it (sqlx holds an advisory lock while migrating) and can write.
#[tokio::test]
async fn several_instances_migrate_one_postgres_at_once() {
    let base = postgres_url();
    let schema = format!("sy_{}", uuid::Uuid::now_v7().simple());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&base)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    let url = format!("{base}?options%5Bsearch_path%5D={schema}");
    let starts = (0..4).map(|_| Store::connect(&url));
    let stores: Vec<Store> = futures_util::future::join_all(starts)
        .await
        .into_iter()
        .map(|s| s.expect("every instance migrates"))
        .collect();
    let t0 = window();
    for (i, s) in stores.iter().enumerate() {
        let r = row(
            &format!("{t0}-m{i}"),
            t0 + i as i64,
            "sonnet",
            1,
            2,
            "success",
        );
        s.insert(&[r]).await.unwrap();
    }
    // Purges from every instance at once: one deletes, the others skip or
    // find nothing left; the rows are gone either way.
    let purges = stores.iter().map(|s| s.purge_before(t0 + 10));
    let deleted: u64 = futures_util::future::join_all(purges)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .sum();
    assert_eq!(deleted, 4);
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_database_a_newer_version_migrated_further_still_opens() {
    let dir = std::env::temp_dir().join(format!("sy-store-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = sqlite_url(&dir.join("ledger.db"));
    let store = Store::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (29991231000001, 'from a newer switchyard', TRUE, x'00', 0)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    store.pool.close().await;
    // An older instance of a fleet being upgraded one at a time.
    assert!(Store::connect(&url).await.is_ok());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn batches_split_into_the_kept_statement_sizes() {
    for rows in [0, 1, 3, 4, 5, 63, 64, 65, 100, 101, 250] {
        let sqlite = insert_sizes(rows, Backend::Sqlite);
        assert_eq!(sqlite.iter().sum::<usize>(), rows);
        assert!(sqlite.iter().all(|s| SQLITE_INSERT_SIZES.contains(s)));
        assert!(sqlite.windows(2).all(|w| w[0] >= w[1]), "largest first");
        let postgres = insert_sizes(rows, Backend::Postgres);
        assert_eq!(postgres.iter().sum::<usize>(), rows);
        assert!(postgres.iter().all(|s| *s <= INSERT_CHUNK));
        assert_eq!(postgres.len(), rows.div_ceil(INSERT_CHUNK));
    }
    assert_eq!(insert_sizes(87, Backend::Sqlite), [64, 16, 4, 1, 1, 1]);
}

/// Kept statements are bound afresh each time: a column NULL in one batch
/// and set in the next (and the other way round) reads back as written.
#[tokio::test]
async fn sqlite_batches_of_any_size_read_back_as_written() {
    let dir = std::env::temp_dir().join(format!("switchyard-store-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&sqlite_url(&dir.join("ledger.db")))
        .await
        .unwrap();
    let mut written = 0;
    for (batch, size) in [1, 1, 5, 87, 1, 150, 4].into_iter().enumerate() {
        let rows: Vec<LedgerRow> = (0..size)
            .map(|i| {
                let mut r = row(
                    &format!("b{batch}-{i}"),
                    1_000 + i as i64,
                    "m",
                    7,
                    9,
                    "success",
                );
                if (batch + i) % 2 == 0 {
                    r.key_id = Some(format!("key-{batch}-{i}"));
                    r.ttft_ms = None;
                }
                r
            })
            .collect();
        store.insert(&rows).await.unwrap();
        written += size;
    }
    let (count, cost): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), CAST(SUM(cost_nusd) AS BIGINT) FROM requests")
            .fetch_one(&store.pool)
            .await
            .unwrap();
    assert_eq!((count, cost), (written as i64, 7 * written as i64));
    for (id, key, ttft) in [
        ("b0-0", Some("key-0-0"), None),
        ("b1-0", None, Some(3.25)),
        ("b3-86", None, Some(3.25)),
        ("b3-85", Some("key-3-85"), None),
    ] {
        let (k, t): (Option<String>, Option<f64>) =
            sqlx::query_as("SELECT key_id, ttft_ms FROM requests WHERE id = $1")
                .bind(id)
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert_eq!((k.as_deref(), t), (key, ttft), "{id}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

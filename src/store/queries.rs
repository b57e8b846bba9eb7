//! The ledger's SQL: one insert, and the reads reports are built from. All
//! portable between SQLite and PostgreSQL (`$n` binds, CASTs around sums).
//! Dynamic SQL here is assembled only from constants and enum-chosen column
//! names; every value is a bind.

use super::LedgerRow;
use super::Store;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

const COLUMNS: &str = "id, ts_ms, day, key_id, user_id, team, session_id, agent_id, dialect, endpoint, \
    requested_model, route, tier, provider, model, upstream_model, stream, attempts, fallbacks, cache, status, \
    outcome, error_kind, input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, \
    cache_read_tokens, output_estimated, priced, cost_nusd, baseline_nusd, latency_ms, ttft_ms, overhead_ms, \
    priced_as, shadow_model, shadow_cost_nusd, guard, reason";

/// The head of a multi-row insert (`VALUES` and `ON CONFLICT` follow).
pub const INSERT_HEAD: &str = "INSERT INTO requests (id, ts_ms, day, key_id, user_id, team, session_id, agent_id, \
    dialect, endpoint, requested_model, route, tier, provider, model, upstream_model, stream, attempts, fallbacks, \
    cache, status, outcome, error_kind, input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, \
    cache_read_tokens, output_estimated, priced, cost_nusd, baseline_nusd, latency_ms, ttft_ms, overhead_ms, \
    priced_as, shadow_model, shadow_cost_nusd, guard, reason) ";

/// Columns of a ledger row.
const INSERT_COLUMNS: usize = 40;

/// A multi-row insert of `rows` rows; a row already present is left alone.
/// SQLite gets anonymous `?` placeholders: it resolves named ones (`$n`) by
/// a linear search per parameter, which made a 100-row insert quadratic
/// (a third of the gateway's CPU under load; see BENCHMARKS.md).
/// PostgreSQL needs `$n`.
pub fn insert_sql(rows: usize, numbered: bool) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(INSERT_HEAD.len() + rows * INSERT_COLUMNS * 6 + 40);
    sql.push_str(INSERT_HEAD);
    sql.push_str("VALUES ");
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..INSERT_COLUMNS {
            if c > 0 {
                sql.push_str(", ");
            }
            if numbered {
                let _ = write!(sql, "${}", r * INSERT_COLUMNS + c + 1);
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (id) DO NOTHING");
    sql
}

/// Sums over a time range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// All requests.
    pub requests: i64,
    /// Answered in full.
    pub success: i64,
    /// Failed before an answer, or cut by an upstream failure.
    pub failed: i64,
    /// The client went away.
    pub aborted: i64,
    /// Served by a target other than the first.
    pub fallbacks: i64,
    /// Served from the response cache.
    pub cache_hits: i64,
    /// Requests with tokens but no known price.
    pub unpriced: i64,
    /// Requests priced by an estimate (their model is not in the table).
    pub estimated: i64,
    /// Token-counting calls (not in the other figures).
    pub count_calls: i64,
    /// Requests served as asked in shadow mode.
    pub shadowed: i64,
    /// Cost had routing been on for the shadowed requests, nano-dollars.
    pub projected_nusd: i64,
    /// Cost in nano-dollars.
    pub cost_nusd: i64,
    /// What the baseline model would have cost, nano-dollars (priced rows).
    pub baseline_nusd: i64,
    /// Baseline cost of cache hits: money the cache saved, nano-dollars.
    pub cache_saved_nusd: i64,
    /// Uncached input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Cache read tokens.
    pub cache_read_tokens: i64,
    /// Cache write tokens (both TTLs).
    pub cache_write_tokens: i64,
}

/// What to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Configured model that served.
    Model,
    /// Tier of the model that served.
    Tier,
    /// Provider that served.
    Provider,
    /// UTC day.
    Day,
    /// Route that decided.
    Route,
    /// Error kind (failures only).
    Error,
    /// Claude Code session and agent.
    Session,
    /// Developer (the client key's user).
    User,
    /// Team (the client key's team).
    Team,
    /// Guardrail note (requests with one only).
    Guard,
}

impl Group {
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            Group::Model => ("model", ""),
            Group::Tier => ("tier", ""),
            Group::Provider => ("provider", ""),
            Group::Day => ("day", ""),
            Group::Route => ("route", ""),
            Group::Error => ("error_kind", ""),
            Group::Session => ("session_id", "agent_id"),
            Group::User => ("user_id", ""),
            Group::Team => ("team", ""),
            Group::Guard => ("guard", ""),
        }
    }
}

/// One group's sums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupRow {
    /// The group (model, tier, day, …); none for rows without one.
    pub key: Option<String>,
    /// Second key (the agent, for sessions).
    pub key2: Option<String>,
    /// Requests.
    pub requests: i64,
    /// Failed requests.
    pub failed: i64,
    /// Requests served after a fallback.
    pub fallbacks: i64,
    /// Cost, nano-dollars.
    pub cost_nusd: i64,
    /// Baseline cost, nano-dollars.
    pub baseline_nusd: i64,
    /// Input tokens of all kinds.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// First request, unix ms.
    pub first_ms: i64,
    /// Last request, unix ms.
    pub last_ms: i64,
}

const FAILED: &str = "outcome IN ('failed', 'stream_failed')";

/// Rows of model calls (token counting is reported apart).
pub(super) const MODEL_CALLS: &str = "endpoint NOT IN ('count_tokens', 'count-tokens')";

fn totals_sql() -> String {
    format!(
        "SELECT COUNT(*) AS requests, \
         CAST(COALESCE(SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END), 0) AS BIGINT) AS success, \
         CAST(COALESCE(SUM(CASE WHEN {FAILED} THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed, \
         CAST(COALESCE(SUM(CASE WHEN outcome = 'client_aborted' THEN 1 ELSE 0 END), 0) AS BIGINT) AS aborted, \
         CAST(COALESCE(SUM(CASE WHEN fallbacks > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS fallbacks, \
         CAST(COALESCE(SUM(CASE WHEN cache = 'hit' THEN 1 ELSE 0 END), 0) AS BIGINT) AS cache_hits, \
         CAST(COALESCE(SUM(CASE WHEN priced = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS unpriced, \
         CAST(COALESCE(SUM(cost_nusd), 0) AS BIGINT) AS cost, \
         CAST(COALESCE(SUM(baseline_nusd), 0) AS BIGINT) AS baseline, \
         CAST(COALESCE(SUM(CASE WHEN cache = 'hit' THEN baseline_nusd ELSE 0 END), 0) AS BIGINT) AS cache_saved, \
         CAST(COALESCE(SUM(CASE WHEN priced_as IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS estimated, \
         CAST(COALESCE(SUM(CASE WHEN shadow_model IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS shadowed, \
         CAST(COALESCE(SUM(COALESCE(shadow_cost_nusd, cost_nusd)), 0) AS BIGINT) AS projected, \
         CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input_tokens, \
         CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens, \
         CAST(COALESCE(SUM(cache_read_tokens), 0) AS BIGINT) AS cache_read_tokens, \
         CAST(COALESCE(SUM(cache_write_5m_tokens + cache_write_1h_tokens), 0) AS BIGINT) AS cache_write_tokens \
         FROM requests WHERE ts_ms >= $1 AND ts_ms < $2 AND {MODEL_CALLS}"
    )
}

fn group_sql(g: Group, who: &str) -> String {
    let (key, key2) = g.columns();
    let (select2, group2) = if key2.is_empty() {
        ("CAST(NULL AS TEXT)".to_string(), String::new())
    } else {
        (key2.to_string(), format!(", {key2}"))
    };
    let only_failures = match g {
        Group::Error => format!(" AND {FAILED}"),
        Group::Guard => " AND guard IS NOT NULL".to_string(),
        _ => String::new(),
    };
    format!(
        "SELECT {key} AS k, {select2} AS k2, COUNT(*) AS requests, \
         CAST(COALESCE(SUM(CASE WHEN {FAILED} THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed, \
         CAST(COALESCE(SUM(CASE WHEN fallbacks > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS fallbacks, \
         CAST(COALESCE(SUM(cost_nusd), 0) AS BIGINT) AS cost, \
         CAST(COALESCE(SUM(baseline_nusd), 0) AS BIGINT) AS baseline, \
         CAST(COALESCE(SUM(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens), 0) AS BIGINT) AS input_tokens, \
         CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens, \
         CAST(MIN(ts_ms) AS BIGINT) AS first_ms, CAST(MAX(ts_ms) AS BIGINT) AS last_ms \
         FROM requests WHERE ts_ms >= $1 AND ts_ms < $2 AND {MODEL_CALLS}{only_failures}{who} \
         GROUP BY {key}{group2} ORDER BY cost DESC, requests DESC"
    )
}

fn group_row(r: &AnyRow) -> Result<GroupRow, sqlx::Error> {
    Ok(GroupRow {
        key: r.try_get("k")?,
        key2: r.try_get("k2")?,
        requests: r.try_get("requests")?,
        failed: r.try_get("failed")?,
        fallbacks: r.try_get("fallbacks")?,
        cost_nusd: r.try_get("cost")?,
        baseline_nusd: r.try_get("baseline")?,
        input_tokens: r.try_get("input_tokens")?,
        output_tokens: r.try_get("output_tokens")?,
        first_ms: r.try_get("first_ms")?,
        last_ms: r.try_get("last_ms")?,
    })
}

fn ledger_row(r: &AnyRow) -> Result<LedgerRow, sqlx::Error> {
    Ok(LedgerRow {
        id: r.try_get("id")?,
        ts_ms: r.try_get("ts_ms")?,
        day: r.try_get("day")?,
        key_id: r.try_get("key_id")?,
        user_id: r.try_get("user_id")?,
        team: r.try_get("team")?,
        session_id: r.try_get("session_id")?,
        agent_id: r.try_get("agent_id")?,
        dialect: r.try_get("dialect")?,
        endpoint: r.try_get("endpoint")?,
        requested_model: r.try_get("requested_model")?,
        route: r.try_get("route")?,
        tier: r.try_get("tier")?,
        provider: r.try_get("provider")?,
        model: r.try_get("model")?,
        upstream_model: r.try_get("upstream_model")?,
        stream: r.try_get::<i64, _>("stream")? != 0,
        attempts: r.try_get("attempts")?,
        fallbacks: r.try_get("fallbacks")?,
        cache: r.try_get("cache")?,
        status: r.try_get("status")?,
        outcome: r.try_get("outcome")?,
        error_kind: r.try_get("error_kind")?,
        input_tokens: r.try_get("input_tokens")?,
        output_tokens: r.try_get("output_tokens")?,
        cache_write_5m_tokens: r.try_get("cache_write_5m_tokens")?,
        cache_write_1h_tokens: r.try_get("cache_write_1h_tokens")?,
        cache_read_tokens: r.try_get("cache_read_tokens")?,
        output_estimated: r.try_get::<i64, _>("output_estimated")? != 0,
        priced: r.try_get::<i64, _>("priced")? != 0,
        cost_nusd: r.try_get("cost_nusd")?,
        baseline_nusd: r.try_get("baseline_nusd")?,
        latency_ms: r.try_get("latency_ms")?,
        ttft_ms: r.try_get("ttft_ms")?,
        overhead_ms: r.try_get("overhead_ms")?,
        priced_as: r.try_get("priced_as")?,
        shadow_model: r.try_get("shadow_model")?,
        shadow_cost_nusd: r.try_get("shadow_cost_nusd")?,
        guard: r.try_get("guard")?,
        reason: r.try_get("reason")?,
    })
}

/// How to order rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Oldest first (exports).
    Time,
    /// Most expensive first.
    Cost,
    /// Requests with a guardrail note, newest first.
    Guarded,
}

impl Store {
    /// Sums over `[from_ms, to_ms)`.
    pub async fn totals(&self, from_ms: i64, to_ms: i64) -> Result<Totals, sqlx::Error> {
        let sql = format!("{}{}", totals_sql(), self.who_sql(3));
        let r = self
            .bind_who(sqlx::query(AssertSqlSafe(sql)).bind(from_ms).bind(to_ms))
            .fetch_one(self.pool())
            .await?;
        Ok(Totals {
            requests: r.try_get("requests")?,
            success: r.try_get("success")?,
            failed: r.try_get("failed")?,
            aborted: r.try_get("aborted")?,
            fallbacks: r.try_get("fallbacks")?,
            cache_hits: r.try_get("cache_hits")?,
            unpriced: r.try_get("unpriced")?,
            estimated: r.try_get("estimated")?,
            shadowed: r.try_get("shadowed")?,
            projected_nusd: r.try_get("projected")?,
            count_calls: self.count_calls(from_ms, to_ms).await?,
            cost_nusd: r.try_get("cost")?,
            baseline_nusd: r.try_get("baseline")?,
            cache_saved_nusd: r.try_get("cache_saved")?,
            input_tokens: r.try_get("input_tokens")?,
            output_tokens: r.try_get("output_tokens")?,
            cache_read_tokens: r.try_get("cache_read_tokens")?,
            cache_write_tokens: r.try_get("cache_write_tokens")?,
        })
    }

    /// Token-counting calls in `[from_ms, to_ms)`.
    async fn count_calls(&self, from_ms: i64, to_ms: i64) -> Result<i64, sqlx::Error> {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM requests WHERE ts_ms >= $1 AND ts_ms < $2 AND NOT ({MODEL_CALLS}){}",
            self.who_sql(3)
        );
        let r = self
            .bind_who(sqlx::query(AssertSqlSafe(sql)).bind(from_ms).bind(to_ms))
            .fetch_one(self.pool())
            .await?;
        r.try_get("n")
    }

    /// Sums per group over `[from_ms, to_ms)`, most expensive first.
    pub async fn group(
        &self,
        by: Group,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<GroupRow>, sqlx::Error> {
        let rows = self
            .bind_who(
                sqlx::query(AssertSqlSafe(group_sql(by, &self.who_sql(3))))
                    .bind(from_ms)
                    .bind(to_ms),
            )
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(group_row).collect()
    }

    /// Rows of `[from_ms, to_ms)` in an order, at most `limit`.
    pub async fn rows(
        &self,
        from_ms: i64,
        to_ms: i64,
        order: Order,
        limit: i64,
    ) -> Result<Vec<LedgerRow>, sqlx::Error> {
        // The dearest requests are model calls; an export is every row.
        let (only, order) = match order {
            Order::Time => (String::new(), "ts_ms ASC, id ASC"),
            Order::Cost => (format!(" AND {MODEL_CALLS}"), "cost_nusd DESC, ts_ms DESC"),
            Order::Guarded => (" AND guard IS NOT NULL".into(), "ts_ms DESC, id DESC"),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM requests WHERE ts_ms >= $1 AND ts_ms < $2{only}{} ORDER BY {order} LIMIT $3",
            self.who_sql(4)
        );
        let rows = self
            .bind_who(
                sqlx::query(AssertSqlSafe(sql))
                    .bind(from_ms)
                    .bind(to_ms)
                    .bind(limit),
            )
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(ledger_row).collect()
    }

    /// The requests of one Claude Code session in `[from_ms, to_ms)`,
    /// dearest first.
    pub async fn session_rows(
        &self,
        session: &str,
        from_ms: i64,
        to_ms: i64,
        limit: i64,
    ) -> Result<Vec<LedgerRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM requests WHERE session_id = $1 AND ts_ms >= $2 AND ts_ms < $3 \
             ORDER BY cost_nusd DESC, ts_ms DESC LIMIT $4"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(session)
            .bind(from_ms)
            .bind(to_ms)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(ledger_row).collect()
    }

    /// Rows of `[from_ms, to_ms)` after the row `(ts_ms, id)`, oldest first:
    /// pages of an export.
    pub async fn rows_after(
        &self,
        from_ms: i64,
        to_ms: i64,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<LedgerRow>, sqlx::Error> {
        let (ts, id) = after.unwrap_or((i64::MIN, ""));
        let sql = format!(
            "SELECT {COLUMNS} FROM requests WHERE ts_ms >= $1 AND ts_ms < $2 AND (ts_ms > $3 OR (ts_ms = $3 AND id > $4)) \
             ORDER BY ts_ms ASC, id ASC LIMIT $5"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(from_ms)
            .bind(to_ms)
            .bind(ts)
            .bind(id)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(ledger_row).collect()
    }

    /// When the first successful request of a Claude Code session (one
    /// that carried a session id) arrived, at or after `from_ms`.
    pub async fn first_session_success(&self, from_ms: i64) -> Result<Option<i64>, sqlx::Error> {
        let sql = "SELECT MIN(ts_ms) AS first FROM requests \
                   WHERE ts_ms >= $1 AND outcome = 'success' AND session_id IS NOT NULL";
        let row = sqlx::query(sql)
            .bind(from_ms)
            .fetch_one(self.pool())
            .await?;
        row.try_get("first")
    }

    /// One request by id.
    pub async fn row(&self, id: &str) -> Result<Option<LedgerRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM requests WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(ledger_row).transpose()
    }

    /// Median and 95th percentile of latency and gateway overhead (ms) of
    /// successful requests, computed by PostgreSQL (the rows stay in the
    /// database); `None` on SQLite, whose callers read [`Store::latencies`].
    pub async fn latency_percentiles(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Option<[f64; 4]>, sqlx::Error> {
        if self.backend() != super::Backend::Postgres {
            return Ok(None);
        }
        let sql = format!(
            "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50, \
             percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95, \
             percentile_disc(0.5) WITHIN GROUP (ORDER BY overhead_ms) AS o50, \
             percentile_disc(0.95) WITHIN GROUP (ORDER BY overhead_ms) AS o95 \
             FROM requests WHERE ts_ms >= $1 AND ts_ms < $2 AND outcome = 'success'{}",
            self.who_sql(3)
        );
        let row = self
            .bind_who(sqlx::query(AssertSqlSafe(sql)).bind(from_ms).bind(to_ms))
            .fetch_one(self.pool())
            .await?;
        let get = |name: &str| -> Result<f64, sqlx::Error> {
            Ok(row.try_get::<Option<f64>, _>(name)?.unwrap_or(0.0))
        };
        Ok(Some([get("p50")?, get("p95")?, get("o50")?, get("o95")?]))
    }

    /// Latency and gateway overhead (ms) of successful requests.
    pub async fn latencies(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(f64, Option<f64>)>, sqlx::Error> {
        let sql = format!(
            "SELECT latency_ms, overhead_ms FROM requests WHERE ts_ms >= $1 AND ts_ms < $2 AND outcome = 'success'{}",
            self.who_sql(3)
        );
        let rows = self
            .bind_who(sqlx::query(AssertSqlSafe(sql)).bind(from_ms).bind(to_ms))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("latency_ms")?, r.try_get("overhead_ms")?)))
            .collect()
    }
}

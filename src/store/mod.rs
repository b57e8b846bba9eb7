//! The ledger's storage: SQLite by default (a file, WAL), PostgreSQL when
//! `database_url` says so. One schema through migrations, one set of
//! portable SQL through sqlx's `Any` driver: money in integer nano-dollars,
//! times in unix milliseconds plus the UTC day.
//!
//! Nothing on the request path touches this module; the batching writer
//! inserts, and reports read.

mod billing;
mod keys;
mod queries;
mod revocations;
mod row;
mod signin;
mod spend_limits;

pub use billing::DayModel;
pub use keys::KeyRow;
pub use queries::{Group, GroupRow, Order, Totals};
pub use revocations::Revocation;
pub use row::LedgerRow;
pub use signin::DeviceRow;
pub use spend_limits::SpendLimitRow;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};
use std::time::Duration;

/// The schema's migrations. A database a newer switchyard has migrated
/// further is accepted (its extra tables are left alone), so instances of a
/// fleet can be upgraded one at a time.
fn migrator() -> Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.set_ignore_missing(true);
    m
}

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A connection pool with the schema in place.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Reports of one developer or team only (`only`).
    who: Option<Who>,
}

/// Whose requests: a report's, or a budget's spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// One client key's (`key_id`).
    Key(String),
    /// One developer's (`user_id`).
    User(String),
    /// One team's.
    Team(String),
}

impl Who {
    fn column(&self) -> &'static str {
        match self {
            Who::Key(_) => "key_id",
            Who::User(_) => "user_id",
            Who::Team(_) => "team",
        }
    }

    fn value(&self) -> &str {
        match self {
            Who::Key(v) | Who::User(v) | Who::Team(v) => v,
        }
    }
}

impl Who {
    /// Whose spend a budget counts; none: every request with a client key
    /// (the organization).
    pub fn of_scope(scope: &crate::config::BudgetScope) -> Option<Who> {
        use crate::config::BudgetScope;
        match scope {
            BudgetScope::Key(k) => Some(Who::Key(k.clone())),
            BudgetScope::User(u) => Some(Who::User(u.clone())),
            BudgetScope::Team(t) => Some(Who::Team(t.clone())),
            BudgetScope::Organization => None,
        }
    }
}

/// Rows per INSERT statement on PostgreSQL: 40 parameters each stays well
/// inside its limit on bound parameters.
const INSERT_CHUNK: usize = 100;

/// Rows per INSERT statement on SQLite, largest first: a batch is written as
/// statements of these sizes only, each prepared once per connection and
/// kept, so no row pays for parsing SQL and the kept statements stay few.
const SQLITE_INSERT_SIZES: [usize; 4] = [64, 16, 4, 1];

/// The statement sizes `rows` rows are written in.
fn insert_sizes(rows: usize, backend: Backend) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut left = rows;
    if backend == Backend::Postgres {
        while left > 0 {
            sizes.push(left.min(INSERT_CHUNK));
            left -= left.min(INSERT_CHUNK);
        }
        return sizes;
    }
    for size in SQLITE_INSERT_SIZES {
        sizes.extend(std::iter::repeat_n(size, left / size));
        left %= size;
    }
    sizes
}

pub use crate::config::sqlite_url;

/// The advisory lock id the retention purge holds on PostgreSQL ("swyd"
/// "retn" in ASCII).
const RETENTION_LOCK: i64 = 0x7377_7964_7265_746e;

impl Store {
    /// Connect, and migrate the schema.
    pub async fn connect(url: &str) -> Result<Self, String> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(format!(
                "unsupported database_url '{url}': use sqlite://FILE or postgres://…"
            ));
        };
        let options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // A `switchyard keys` command writes to the file a
                        // busy gateway is writing its ledger to: wait for
                        // the other writer rather than fail (CI saw 5 s
                        // run out on a loaded two-core machine).
                        conn.execute("PRAGMA busy_timeout = 15000").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            });
        let url = if backend == Backend::Sqlite && !url.contains("mode=") {
            // A ledger file that does not exist yet is created, as the
            // README's `sqlite://switchyard.db` promises.
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_string()
        };
        let pool = options
            .connect(&url)
            .await
            .map_err(|e| format!("cannot open the ledger database: {e}"))?;
        if backend == Backend::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL")
                .await
                .map_err(|e| format!("cannot switch the ledger to WAL: {e}"))?;
        }
        migrator()
            .run(&pool)
            .await
            .map_err(|e| format!("cannot migrate the ledger database: {e}"))?;
        Ok(Store {
            pool,
            backend,
            who: None,
        })
    }

    /// Whether the database answers (`SELECT 1`).
    pub async fn ping(&self) -> Result<(), String> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Insert rows in one transaction (rows already present are left alone,
    /// so a retried batch does not duplicate). Rows go in multi-row
    /// statements ([`insert_sizes`]), so SQL is parsed once per chunk on
    /// PostgreSQL and once per statement size and connection on SQLite.
    pub async fn insert(&self, rows: &[LedgerRow]) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let written: Result<(), sqlx::Error> = async {
            let mut rest = rows;
            for size in insert_sizes(rows.len(), self.backend) {
                let (chunk, after) = rest.split_at(size);
                rest = after;
                let sql = queries::insert_sql(chunk.len(), self.backend == Backend::Postgres);
                // On PostgreSQL not a persistent statement: through the Any driver
                // a NULL binds with a guessed type, and a cached statement would
                // keep that guess. SQLite's binds carry no declared type, so its
                // few statements are prepared once: a quiet gateway writes every
                // row as a batch of one, and parsing that 40-column insert was
                // half of the row's cost (BENCHMARKS.md).
                // Built from constants and numbers only.
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .persistent(self.backend == Backend::Sqlite);
                for r in chunk {
                    q = q
                        .bind(&r.id)
                        .bind(r.ts_ms)
                        .bind(&r.day)
                        .bind(&r.key_id)
                        .bind(&r.user_id)
                        .bind(&r.team)
                        .bind(&r.session_id)
                        .bind(&r.agent_id)
                        .bind(&r.dialect)
                        .bind(&r.endpoint)
                        .bind(&r.requested_model)
                        .bind(&r.route)
                        .bind(&r.tier)
                        .bind(&r.provider)
                        .bind(&r.model)
                        .bind(&r.upstream_model)
                        .bind(i64::from(r.stream))
                        .bind(r.attempts)
                        .bind(r.fallbacks)
                        .bind(&r.cache)
                        .bind(r.status)
                        .bind(&r.outcome)
                        .bind(&r.error_kind)
                        .bind(r.input_tokens)
                        .bind(r.output_tokens)
                        .bind(r.cache_write_5m_tokens)
                        .bind(r.cache_write_1h_tokens)
                        .bind(r.cache_read_tokens)
                        .bind(i64::from(r.output_estimated))
                        .bind(i64::from(r.priced))
                        .bind(r.cost_nusd)
                        .bind(r.baseline_nusd)
                        .bind(r.latency_ms)
                        .bind(r.ttft_ms)
                        .bind(r.overhead_ms)
                        .bind(&r.priced_as)
                        .bind(&r.shadow_model)
                        .bind(r.shadow_cost_nusd)
                        .bind(&r.guard)
                        .bind(&r.reason);
                }
                q.execute(&mut *tx).await?;
            }
            Ok(())
        }
        .await;
        // Roll back at once on failure: a transaction left to be rolled back
        // when its connection is next used could keep SQLite's write lock
        // from other processes (the CLI making a key) meanwhile.
        if let Err(e) = written {
            let _ = tx.rollback().await;
            return Err(e);
        }
        tx.commit().await
    }

    /// Delete rows older than `before_ms`; returns how many.
    ///
    /// On PostgreSQL one instance of a fleet purges at a time: the delete
    /// runs under a transaction-scoped advisory lock, and an instance that
    /// finds it taken skips this round (another is doing the same work).
    pub async fn purge_before(&self, before_ms: i64) -> Result<u64, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                .bind(RETENTION_LOCK)
                .fetch_one(&mut *tx)
                .await?;
            if !got {
                return Ok(0);
            }
        }
        let done = sqlx::query("DELETE FROM requests WHERE ts_ms < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// The pool, for the report queries.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The same database, its report queries (totals, groups, rows,
    /// latencies, prices) narrowed to `who`'s requests.
    pub fn only(&self, who: Option<Who>) -> Store {
        Store {
            who,
            ..self.clone()
        }
    }

    /// "user alice", "team web" when narrowed.
    pub fn narrowed_to(&self) -> Option<String> {
        self.who.as_ref().map(|w| match w {
            Who::Key(k) => format!("key {k}"),
            Who::User(u) => format!("user {u}"),
            Who::Team(t) => format!("team {t}"),
        })
    }

    /// ` AND team = $n` when narrowed (the value is bound by `bind_who`).
    pub(crate) fn who_sql(&self, n: usize) -> String {
        self.who
            .as_ref()
            .map(|w| format!(" AND {} = ${n}", w.column()))
            .unwrap_or_default()
    }

    /// Bind the narrowing value, if any, as the next parameter.
    pub(crate) fn bind_who<'q>(
        &'q self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        match &self.who {
            Some(w) => q.bind(w.value()),
            None => q,
        }
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;

//! The `api_keys` table: client keys as stored (a hash and a hint, never
//! the key), read in full at start and then by what changed since; and
//! what a key, developer or team has spent (budgets start from it).

use super::Store;
use sqlx::Row;
use sqlx::any::AnyRow;

/// One stored key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// Public id (`key_…`), shown in lists and the ledger.
    pub id: String,
    /// SHA-256 of the key, hex.
    pub hash: String,
    /// Enough of the key to recognise it (`sk-sy-…wxyz`).
    pub hint: String,
    /// What it is for.
    pub name: String,
    /// The developer it belongs to.
    pub user_id: Option<String>,
    /// Their team.
    pub team: Option<String>,
    /// Models or tiers it may use (comma-separated globs; none: all).
    pub models: Option<String>,
    /// Free-form JSON.
    pub metadata: Option<String>,
    /// Made at (unix ms).
    pub created_ms: i64,
    /// Stops working at (unix ms).
    pub expires_ms: Option<i64>,
    /// Revoked at (unix ms).
    pub revoked_ms: Option<i64>,
    /// Last change (unix ms); instances poll for changes by it.
    pub updated_ms: i64,
    /// Its own budget and rate limits (JSON, `teams::KeyLimits`).
    pub limits: Option<String>,
}

/// SQLite answers "database is locked" at once, busy timeout or not, when a
/// connection's read snapshot is older than another process's write (the
/// gateway's ledger writer): a key change from the CLI is simply tried again.
pub(super) async fn retrying<T, F, Fut>(mut op: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0;
    loop {
        match op().await {
            Err(sqlx::Error::Database(e))
                if tries < 50
                    && (e.message().contains("locked") || e.message().contains("busy")) =>
            {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

const COLUMNS: &str = "id, hash, hint, name, user_id, team, models, metadata, created_ms, \
                       expires_ms, revoked_ms, updated_ms, limits";

fn key_row(r: &AnyRow) -> Result<KeyRow, sqlx::Error> {
    Ok(KeyRow {
        id: r.try_get("id")?,
        hash: r.try_get("hash")?,
        hint: r.try_get("hint")?,
        name: r.try_get("name")?,
        user_id: r.try_get("user_id")?,
        team: r.try_get("team")?,
        models: r.try_get("models")?,
        metadata: r.try_get("metadata")?,
        created_ms: r.try_get("created_ms")?,
        expires_ms: r.try_get("expires_ms")?,
        revoked_ms: r.try_get("revoked_ms")?,
        updated_ms: r.try_get("updated_ms")?,
        limits: r.try_get("limits")?,
    })
}

impl Store {
    /// Store a new key.
    pub async fn insert_key(&self, k: &KeyRow) -> Result<(), sqlx::Error> {
        retrying(|| self.insert_key_once(k)).await
    }

    async fn insert_key_once(&self, k: &KeyRow) -> Result<(), sqlx::Error> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO api_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )))
        .persistent(false)
        .bind(&k.id)
        .bind(&k.hash)
        .bind(&k.hint)
        .bind(&k.name)
        .bind(&k.user_id)
        .bind(&k.team)
        .bind(&k.models)
        .bind(&k.metadata)
        .bind(k.created_ms)
        .bind(k.expires_ms)
        .bind(k.revoked_ms)
        .bind(k.updated_ms)
        .bind(&k.limits)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Keys changed after `since_ms` (all of them from 0), oldest change first.
    pub async fn keys_changed_since(&self, since_ms: i64) -> Result<Vec<KeyRow>, sqlx::Error> {
        let sql =
            format!("SELECT {COLUMNS} FROM api_keys WHERE updated_ms > $1 ORDER BY updated_ms, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(key_row).collect()
    }

    /// One key by its id.
    pub async fn key(&self, id: &str) -> Result<Option<KeyRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1");
        // Every row read to the end, so SQLite resets the statement and
        // holds no read snapshot on a pooled connection afterwards.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.first().map(key_row).transpose()
    }

    /// The ledger's spend since `since_ms` of one key, developer or team,
    /// in nano-dollars.
    pub async fn spent_since(&self, who: &super::Who, since_ms: i64) -> Result<i64, sqlx::Error> {
        let sql = format!(
            "SELECT CAST(COALESCE(SUM(cost_nusd), 0) AS BIGINT) AS spent FROM requests \
             WHERE ts_ms >= $1 AND {} = $2",
            who.column()
        );
        // Every row read to the end, as in `key`.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(since_ms)
            .bind(who.value())
            .fetch_all(&self.pool)
            .await?;
        rows.first().map_or(Ok(0), |r| r.try_get("spent"))
    }

    /// The ledger's spend since `since_ms` of a budget's scope, in
    /// nano-dollars: one key, developer or team, or (none) every request
    /// made with a client key.
    pub async fn spent_by(
        &self,
        who: Option<&super::Who>,
        since_ms: i64,
    ) -> Result<i64, sqlx::Error> {
        if let Some(who) = who {
            return self.spent_since(who, since_ms).await;
        }
        let rows = sqlx::query(
            "SELECT CAST(COALESCE(SUM(cost_nusd), 0) AS BIGINT) AS spent FROM requests \
             WHERE ts_ms >= $1 AND key_id IS NOT NULL",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.first().map_or(Ok(0), |r| r.try_get("spent"))
    }

    /// Revoke a key now; false when there is no such live key.
    pub async fn revoke_key(&self, id: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
        retrying(|| self.revoke_key_once(id, now_ms)).await
    }

    async fn revoke_key_once(&self, id: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_ms = $1, updated_ms = $1 WHERE id = $2 AND revoked_ms IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

//! The `spend_limits` table: limits set through the admin API, upserted by
//! scope and period, soft-deleted so polling instances see deletions, and
//! read back by what changed since a moment.

use super::Store;
use super::keys::retrying;
use sqlx::Row;
use sqlx::any::AnyRow;

/// One stored spend limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendLimitRow {
    /// `spl_…`.
    pub id: String,
    /// `user`, `rbac_group` or `organization`.
    pub scope_type: String,
    /// The user or group id; empty for the organization.
    pub scope_id: String,
    /// `daily`, `weekly` or `monthly`.
    pub period: String,
    /// The cap in US cents; none: explicitly no cap at this scope.
    pub amount_cents: Option<i64>,
    /// Made at (unix ms).
    pub created_ms: i64,
    /// Last change (unix ms); instances poll by it.
    pub updated_ms: i64,
    /// Deleted at (unix ms).
    pub deleted_ms: Option<i64>,
}

const COLUMNS: &str =
    "id, scope_type, scope_id, period, amount_cents, created_ms, updated_ms, deleted_ms";

fn limit_row(r: &AnyRow) -> Result<SpendLimitRow, sqlx::Error> {
    Ok(SpendLimitRow {
        id: r.try_get("id")?,
        scope_type: r.try_get("scope_type")?,
        scope_id: r.try_get("scope_id")?,
        period: r.try_get("period")?,
        amount_cents: r.try_get("amount_cents")?,
        created_ms: r.try_get("created_ms")?,
        updated_ms: r.try_get("updated_ms")?,
        deleted_ms: r.try_get("deleted_ms")?,
    })
}

impl Store {
    /// Set the limit of `row`'s scope and period: a new one takes `row`'s
    /// id and creation time, an existing one (or a deleted one, revived)
    /// its amount. Answers the limit as stored.
    pub async fn upsert_spend_limit(
        &self,
        row: &SpendLimitRow,
    ) -> Result<SpendLimitRow, sqlx::Error> {
        retrying(|| async {
            let sql = format!(
                "INSERT INTO spend_limits ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL) \
                 ON CONFLICT (scope_type, scope_id, period) DO UPDATE SET \
                   amount_cents = excluded.amount_cents, \
                   updated_ms = excluded.updated_ms, \
                   id = CASE WHEN spend_limits.deleted_ms IS NULL THEN spend_limits.id ELSE excluded.id END, \
                   created_ms = CASE WHEN spend_limits.deleted_ms IS NULL THEN spend_limits.created_ms ELSE excluded.created_ms END, \
                   deleted_ms = NULL \
                 RETURNING {COLUMNS}"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .persistent(false)
                .bind(&row.id)
                .bind(&row.scope_type)
                .bind(&row.scope_id)
                .bind(&row.period)
                .bind(row.amount_cents)
                .bind(row.created_ms)
                .bind(row.updated_ms)
                .fetch_all(&self.pool)
                .await?;
            rows.first()
                .map(limit_row)
                .unwrap_or(Err(sqlx::Error::RowNotFound))
        })
        .await
    }

    /// Limits changed after `since_ms` (all of them from 0, deleted ones
    /// included), oldest change first.
    pub async fn spend_limits_changed_since(
        &self,
        since_ms: i64,
    ) -> Result<Vec<SpendLimitRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM spend_limits WHERE updated_ms > $1 ORDER BY updated_ms, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(limit_row).collect()
    }

    /// One live limit by its id.
    pub async fn spend_limit(&self, id: &str) -> Result<Option<SpendLimitRow>, sqlx::Error> {
        let sql =
            format!("SELECT {COLUMNS} FROM spend_limits WHERE id = $1 AND deleted_ms IS NULL");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.first().map(limit_row).transpose()
    }

    /// Everyone who made a request since `since_ms`, with a team they made
    /// it in (none when they have none), by user.
    pub async fn users_since(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT user_id, MAX(team) AS team FROM requests \
             WHERE ts_ms >= $1 AND user_id IS NOT NULL GROUP BY user_id ORDER BY user_id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("user_id")?, r.try_get("team")?)))
            .collect()
    }

    /// Delete a live limit now; answers it as it was, or none.
    pub async fn delete_spend_limit(
        &self,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<SpendLimitRow>, sqlx::Error> {
        let Some(before) = self.spend_limit(id).await? else {
            return Ok(None);
        };
        let done = retrying(|| {
            sqlx::query(
                "UPDATE spend_limits SET deleted_ms = $1, updated_ms = $1 \
                 WHERE id = $2 AND deleted_ms IS NULL",
            )
            .bind(now_ms)
            .bind(id)
            .execute(&self.pool)
        })
        .await?;
        Ok((done.rows_affected() == 1).then_some(before))
    }
}

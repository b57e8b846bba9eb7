//! The `signin_revocations` table: sign-ins revoked, by subject (`user:…`
//! or `sid:…`), read back by what changed since a moment.

use super::Store;
use super::keys::retrying;
use sqlx::Row;

/// One revocation: its subject and when (unix seconds).
pub type Revocation = (String, i64);

impl Store {
    /// Record revocations made at `now_ms` (a later one of a subject wins).
    pub async fn add_revocations(
        &self,
        revoked: &[Revocation],
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        for (subject, at) in revoked {
            retrying(|| {
                sqlx::query(
                    "INSERT INTO signin_revocations (subject, revoked_s, updated_ms) VALUES ($1, $2, $3) \
                     ON CONFLICT (subject) DO UPDATE SET \
                       revoked_s = CASE WHEN excluded.revoked_s > signin_revocations.revoked_s \
                                   THEN excluded.revoked_s ELSE signin_revocations.revoked_s END, \
                       updated_ms = excluded.updated_ms",
                )
                .bind(subject)
                .bind(*at)
                .bind(now_ms)
                .execute(&self.pool)
            })
            .await?;
        }
        Ok(())
    }

    /// Revocations changed after `since_ms`, and the latest change seen.
    pub async fn revocations_changed_since(
        &self,
        since_ms: i64,
    ) -> Result<(Vec<Revocation>, i64), sqlx::Error> {
        let rows = sqlx::query(
            "SELECT subject, revoked_s, updated_ms FROM signin_revocations \
             WHERE updated_ms > $1 ORDER BY updated_ms",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut seen = since_ms;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            seen = seen.max(r.try_get("updated_ms")?);
            out.push((r.try_get("subject")?, r.try_get("revoked_s")?));
        }
        Ok((out, seen))
    }
}

//! Sign-ins in progress, shared by a fleet: the `signin_devices` and
//! `signin_flows` tables. Each step is one statement, and the steps that
//! must happen once (handing over an approved code, using a browser flow)
//! delete the row they read.

use super::Store;
use super::keys::retrying;
use sqlx::Row;

/// A device code's row: its status (`pending`, `denied`, `complete`), the
/// sealed outcome of an approval, and when it was last polled (unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    /// `pending`, `denied` or `complete`.
    pub status: String,
    /// The sealed approval (complete only).
    pub outcome: Option<String>,
    /// The last poll (unix ms).
    pub last_poll_ms: Option<i64>,
}

impl Store {
    /// A new pending device code (and drop expired ones).
    pub async fn add_device(
        &self,
        device_key: &str,
        user_code: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        retrying(|| async {
            sqlx::query("DELETE FROM signin_devices WHERE expires_ms < $1")
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
            sqlx::query("DELETE FROM signin_flows WHERE expires_ms < $1")
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
            sqlx::query(
                "INSERT INTO signin_devices (device_key, user_code, status, expires_ms) \
                 VALUES ($1, $2, 'pending', $3)",
            )
            .bind(device_key)
            .bind(user_code)
            .bind(expires_ms)
            .execute(&self.pool)
            .await
        })
        .await?;
        Ok(())
    }

    /// The device key of a pending, unexpired user code.
    pub async fn pending_device(
        &self,
        user_code: &str,
        now_ms: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT device_key FROM signin_devices \
             WHERE user_code = $1 AND status = 'pending' AND expires_ms >= $2",
        )
        .bind(user_code)
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.first().map(|r| r.try_get("device_key")).transpose()
    }

    /// Settle a pending device code; false when it was not pending.
    pub async fn settle_device(
        &self,
        device_key: &str,
        status: &str,
        outcome: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = retrying(|| {
            sqlx::query(
                "UPDATE signin_devices SET status = $1, outcome = $2 \
                 WHERE device_key = $3 AND status = 'pending' AND expires_ms >= $4",
            )
            .bind(status)
            .bind(outcome)
            .bind(device_key)
            .bind(now_ms)
            .execute(&self.pool)
        })
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Refuse a pending user code; false when none was pending.
    pub async fn deny_user_code(&self, user_code: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
        let done = retrying(|| {
            sqlx::query(
                "UPDATE signin_devices SET status = 'denied' \
                 WHERE user_code = $1 AND status = 'pending' AND expires_ms >= $2",
            )
            .bind(user_code)
            .bind(now_ms)
            .execute(&self.pool)
        })
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A poll of `device_key`: a settled code is handed over once (its row
    /// deleted); a pending one notes the poll. None: unknown or expired.
    pub async fn poll_device(
        &self,
        device_key: &str,
        now_ms: i64,
    ) -> Result<Option<DeviceRow>, sqlx::Error> {
        let settled = retrying(|| {
            sqlx::query(
                "DELETE FROM signin_devices \
                 WHERE device_key = $1 AND status <> 'pending' AND expires_ms >= $2 \
                 RETURNING status, outcome, last_poll_ms",
            )
            .bind(device_key)
            .bind(now_ms)
            .fetch_all(&self.pool)
        })
        .await?;
        let row = |r: &sqlx::any::AnyRow| -> Result<DeviceRow, sqlx::Error> {
            Ok(DeviceRow {
                status: r.try_get("status")?,
                outcome: r.try_get("outcome")?,
                last_poll_ms: r.try_get("last_poll_ms")?,
            })
        };
        if let Some(r) = settled.first() {
            return row(r).map(Some);
        }
        let pending = sqlx::query(
            "SELECT status, outcome, last_poll_ms FROM signin_devices \
             WHERE device_key = $1 AND expires_ms >= $2",
        )
        .bind(device_key)
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        let Some(found) = pending.first().map(row).transpose()? else {
            return Ok(None);
        };
        retrying(|| {
            sqlx::query("UPDATE signin_devices SET last_poll_ms = $1 WHERE device_key = $2")
                .bind(now_ms)
                .bind(device_key)
                .execute(&self.pool)
        })
        .await?;
        Ok(Some(found))
    }

    /// Keep a browser flow (sealed) until `expires_ms`.
    pub async fn add_flow(
        &self,
        state: &str,
        sealed: &str,
        expires_ms: i64,
    ) -> Result<(), sqlx::Error> {
        retrying(|| {
            sqlx::query("INSERT INTO signin_flows (state, sealed, expires_ms) VALUES ($1, $2, $3)")
                .bind(state)
                .bind(sealed)
                .bind(expires_ms)
                .execute(&self.pool)
        })
        .await?;
        Ok(())
    }

    /// Take a browser flow, once.
    pub async fn take_flow(&self, state: &str, now_ms: i64) -> Result<Option<String>, sqlx::Error> {
        let rows = retrying(|| {
            sqlx::query(
                "DELETE FROM signin_flows WHERE state = $1 AND expires_ms >= $2 RETURNING sealed",
            )
            .bind(state)
            .bind(now_ms)
            .fetch_all(&self.pool)
        })
        .await?;
        rows.first().map(|r| r.try_get("sealed")).transpose()
    }
}

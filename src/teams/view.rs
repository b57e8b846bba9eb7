//! How a stored key is shown (CLI and admin API alike): its status and a
//! JSON object with readable times. The key itself never appears.

use crate::store::KeyRow;
use serde_json::{Value, json};

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// RFC 3339 of unix milliseconds ("-" for none).
pub fn when(ms: Option<i64>) -> String {
    ms.and_then(|ms| {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
    })
    .and_then(|t| {
        t.replace_nanosecond(0)
            .ok()?
            .format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .unwrap_or_else(|| "-".to_string())
}

/// `live`, `revoked` or `expired` at `now_ms`.
pub fn status(k: &KeyRow, now_ms: i64) -> &'static str {
    if k.revoked_ms.is_some() {
        "revoked"
    } else if k.expires_ms.is_some_and(|e| e <= now_ms) {
        "expired"
    } else {
        "live"
    }
}

/// A key as JSON.
pub fn describe(k: &KeyRow, now_ms: i64) -> Value {
    json!({
        "id": k.id, "hint": k.hint, "name": k.name, "user": k.user_id, "team": k.team,
        "models": k.models.as_deref().map(|m| m.split(',').collect::<Vec<_>>()).unwrap_or_default(),
        "metadata": k.metadata.as_deref().and_then(|m| serde_json::from_str::<Value>(m).ok()),
        "created": when(Some(k.created_ms)), "expires": k.expires_ms.map(|e| when(Some(e))),
        "revoked": k.revoked_ms.map(|r| when(Some(r))), "status": status(k, now_ms),
        "limits": k.limits.as_deref().and_then(|l| serde_json::from_str::<Value>(l).ok()),
    })
}

//! Queries about money: models whose prices are not exact, and model calls
//! per day and upstream model (to reconcile with a provider's bill).

use super::Store;
use super::queries::MODEL_CALLS;
use sqlx::{AssertSqlSafe, Row};

/// One day's model calls of one upstream model (reconciliation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayModel {
    /// UTC day.
    pub day: String,
    /// Upstream model id.
    pub model: String,
    /// Requests.
    pub requests: i64,
    /// Tokens: uncached input, output, cache reads, cache writes.
    pub tokens: [i64; 4],
    /// Cost, nano-dollars.
    pub cost_nusd: i64,
    /// Requests unpriced or priced by an estimate.
    pub doubtful: i64,
}

impl Store {
    /// Models whose requests were not priced exactly in `[from_ms, to_ms)`:
    /// (upstream model, the model it was priced as when estimated,
    /// requests), unpriced ones with `None`.
    pub async fn doubtful_prices(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(String, Option<String>, i64)>, sqlx::Error> {
        let sql = format!(
            "SELECT COALESCE(upstream_model, model, requested_model, '-') AS m, priced_as, COUNT(*) AS n \
             FROM requests WHERE ts_ms >= $1 AND ts_ms < $2 AND {MODEL_CALLS} \
             AND (priced = 0 OR priced_as IS NOT NULL){} \
             GROUP BY COALESCE(upstream_model, model, requested_model, '-'), priced_as ORDER BY n DESC",
            self.who_sql(3)
        );
        let rows = self
            .bind_who(sqlx::query(AssertSqlSafe(sql)).bind(from_ms).bind(to_ms))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("m")?, r.try_get("priced_as")?, r.try_get("n")?)))
            .collect()
    }

    /// Model calls per UTC day and upstream model in `[from_ms, to_ms)`.
    pub async fn day_models(&self, from_ms: i64, to_ms: i64) -> Result<Vec<DayModel>, sqlx::Error> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT day, COALESCE(upstream_model, model, requested_model, '-') AS m, COUNT(*) AS n, \
             CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS i, CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS o, \
             CAST(COALESCE(SUM(cache_read_tokens), 0) AS BIGINT) AS r, \
             CAST(COALESCE(SUM(cache_write_5m_tokens + cache_write_1h_tokens), 0) AS BIGINT) AS w, \
             CAST(COALESCE(SUM(cost_nusd), 0) AS BIGINT) AS cost, \
             CAST(COALESCE(SUM(CASE WHEN priced = 0 OR priced_as IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS doubtful \
             FROM requests WHERE ts_ms >= $1 AND ts_ms < $2 AND {MODEL_CALLS} AND cache IS DISTINCT FROM 'hit' \
             GROUP BY day, COALESCE(upstream_model, model, requested_model, '-')"
        )))
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DayModel {
                    day: r.try_get("day")?,
                    model: r.try_get("m")?,
                    requests: r.try_get("n")?,
                    tokens: [
                        r.try_get("i")?,
                        r.try_get("o")?,
                        r.try_get("r")?,
                        r.try_get("w")?,
                    ],
                    cost_nusd: r.try_get("cost")?,
                    doubtful: r.try_get("doubtful")?,
                })
            })
            .collect()
    }
}

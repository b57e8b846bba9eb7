//! The row the ledger writes for each request: what the `requests` table
//! holds, field for field (money in integer nano-dollars).

/// One row of the `requests` table.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LedgerRow {
    pub id: String,
    pub ts_ms: i64,
    pub day: String,
    pub key_id: Option<String>,
    pub user_id: Option<String>,
    pub team: Option<String>,
    pub session_id: Option<String>,
    pub agent_id: Option<String>,
    pub dialect: String,
    pub endpoint: String,
    pub requested_model: Option<String>,
    pub route: Option<String>,
    pub tier: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub upstream_model: Option<String>,
    pub stream: bool,
    pub attempts: i64,
    pub fallbacks: i64,
    pub cache: Option<String>,
    pub status: i64,
    pub outcome: String,
    pub error_kind: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_write_5m_tokens: i64,
    pub cache_write_1h_tokens: i64,
    pub cache_read_tokens: i64,
    pub output_estimated: bool,
    pub priced: bool,
    /// The model whose price was used, when this one's is not known.
    pub priced_as: Option<String>,
    /// Shadow mode: the model routing would have chosen.
    pub shadow_model: Option<String>,
    /// Shadow mode: what that model would have cost for the same tokens.
    pub shadow_cost_nusd: Option<i64>,
    /// Guardrails: what was found and done (`redact: github_token 1a2b…`).
    pub guard: Option<String>,
    /// Why routing chose where the request went.
    pub reason: Option<String>,
    pub cost_nusd: i64,
    pub baseline_nusd: i64,
    pub latency_ms: f64,
    pub ttft_ms: Option<f64>,
    pub overhead_ms: Option<f64>,
}

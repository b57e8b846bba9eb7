//! Logs, metrics and traces: tracing setup, the Prometheus recorder, the one log
//! line plus metric updates every finished request produces, and its spans
//! exported over OTLP ([`otlp`]).
//!
//! Log lines carry ids, models, statuses, timings and token counts; never
//! bodies or keys. Metric labels use configured model names, never what a
//! client typed, so a client cannot blow up the label cardinality.

pub mod access;
pub mod otlp;
mod request_metrics;

use crate::usage::{RecordSink, RequestRecord};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// Latency buckets in seconds, from sub-millisecond gateway work to
/// ten-minute agent turns.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    600.0,
];

/// Log lines that may wait for the writer thread (about 0.5 MB).
const LOG_QUEUE_LINES: usize = 16_384;

/// Keeps the log writer's thread; dropping it writes out what is queued.
#[must_use = "log lines still queued are lost unless this lives until the end"]
pub struct LogGuard {
    _writer: tracing_appender::non_blocking::WorkerGuard,
}

/// Set up `tracing` output once (RUST_LOG or `info`): text, or with
/// `json` one JSON object per line (timestamp, level, target, fields, the
/// request's span) for log collectors.
///
/// Lines are formatted where they happen and written to stderr by a thread
/// of their own, through a buffer flushed whenever no line is waiting: a
/// request never waits on a write to stderr, and under load many lines go
/// out in one write instead of one each. Past 16,384 queued lines (a
/// stderr nobody reads), new ones are dropped rather than stall requests;
/// the queue is allocated whole, so its length is memory held from the start.
/// Keep the [`LogGuard`] until the end so the last lines are written.
pub fn init_tracing(json: bool) -> LogGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal();
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .thread_name("switchyard-log")
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .finish(std::io::BufWriter::new(std::io::stderr()));
    access::install(writer.clone(), json, ansi);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.with_ansi(ansi).try_init()
    };
    LogGuard { _writer: guard }
}

/// The process-wide Prometheus handle (installed on first use).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(h) => {
                    describe();
                    Some(h)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// The `# HELP` line of every metric the gateway writes.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "switchyard_requests_total",
        "Finished requests by endpoint, model and status"
    );
    describe_counter!(
        "switchyard_request_errors_total",
        "Failed requests by model and error kind"
    );
    describe_counter!(
        "switchyard_upstream_retries_total",
        "Upstream attempts after the first, by model"
    );
    describe_counter!(
        "switchyard_tokens_total",
        "Tokens by model and type (input, output, cache_read, cache_write)"
    );
    describe_histogram!(
        "switchyard_request_duration_seconds",
        "Request latency by endpoint, model and status"
    );
    describe_histogram!(
        "switchyard_time_to_first_token_seconds",
        "Time to the first streamed token, by model"
    );
    describe_counter!(
        "switchyard_cache_requests_total",
        "Response cache results (hit, miss, skip)"
    );
    describe_histogram!(
        "switchyard_cache_hit_duration_seconds",
        "Latency of requests answered from the cache"
    );
    describe_histogram!(
        "switchyard_cache_lookup_seconds",
        "Time spent looking up the response cache, by result"
    );
    describe_counter!(
        "switchyard_cache_too_large_total",
        "Answers not cached because they exceed max_entry_bytes"
    );
    describe_counter!(
        "switchyard_cache_backend_errors_total",
        "Redis cache calls that failed"
    );
    describe_counter!(
        "switchyard_cache_semantic_refused_total",
        "Semantic candidates refused by the lexical guard"
    );
    describe_counter!(
        "switchyard_ledger_written_total",
        "Ledger rows written to the database"
    );
    describe_counter!(
        "switchyard_ledger_dropped_total",
        "Ledger records dropped because the queue was full"
    );
    describe_counter!(
        "switchyard_limits_redis_errors_total",
        "Budget and rate-limit calls to Redis that failed"
    );
    describe_counter!(
        "switchyard_guard_requests_total",
        "Requests the guard acted on, by action and rule"
    );
    describe_counter!(
        "switchyard_guard_tool_calls_total",
        "Proposed tool calls the guard judged, by verdict"
    );
    describe_counter!(
        "switchyard_connections_refused_total",
        "Connections closed at the connection cap"
    );
    describe_counter!(
        "switchyard_connections_evicted_total",
        "Silent connections closed to make room at the cap"
    );
    describe_gauge!(
        "switchyard_spend_usd",
        "Spend since start in USD, by model, tier, provider, key and team"
    );
    describe_gauge!(
        "switchyard_baseline_usd",
        "What the baseline model would have cost since start, in USD"
    );
    describe_gauge!(
        "switchyard_saved_usd",
        "Baseline minus spend since start, in USD"
    );
    describe_gauge!(
        "switchyard_target_state",
        "Circuit breaker per target: 0 up, 1 probing, 2 cooling down"
    );
    describe_gauge!(
        "switchyard_target_failures",
        "Consecutive failures of a target that is up"
    );
}

/// Most targets the breaker gauges name (a passthrough target is named
/// after what a client asked for, so the set is capped).
const BREAKER_GAUGES: usize = 1000;

/// Set the breaker gauges from the router's view of each target: the
/// targets with a failure on record, and back to 0 those that recovered
/// since the last call.
pub fn set_breaker_gauges(targets: &[crate::routing::health::TargetHealth]) {
    // Locked by /metrics scrapes only, for a few set operations, never
    // across an await.
    #[allow(clippy::disallowed_types)]
    static SHOWN: std::sync::Mutex<std::collections::BTreeSet<String>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let Ok(mut shown) = SHOWN.lock() else {
        return;
    };
    let now: std::collections::BTreeSet<&str> = targets.iter().map(|t| t.target.as_str()).collect();
    for gone in shown.iter().filter(|t| !now.contains(t.as_str())) {
        metrics::gauge!("switchyard_target_state", "target" => gone.clone()).set(0.0);
        metrics::gauge!("switchyard_target_failures", "target" => gone.clone()).set(0.0);
    }
    for t in targets {
        if !shown.contains(&t.target) && shown.len() >= BREAKER_GAUGES {
            continue;
        }
        shown.insert(t.target.clone());
        let state = match t.state.as_str() {
            "up" => 0.0,
            "probing" => 1.0,
            _ => 2.0,
        };
        metrics::gauge!("switchyard_target_state", "target" => t.target.clone()).set(state);
        let failures = if state == 0.0 {
            t.state.detail() as f64
        } else {
            0.0
        };
        metrics::gauge!("switchyard_target_failures", "target" => t.target.clone()).set(failures);
    }
}

/// Keep histogram storage bounded (call periodically).
pub async fn run_metrics_upkeep() {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        if let Some(h) = prometheus() {
            h.run_upkeep();
        }
    }
}

/// Render the metrics in the Prometheus text format.
pub fn render_metrics() -> String {
    prometheus().map(|h| h.render()).unwrap_or_default()
}

/// Turns finished records into a log line and metric updates.
#[derive(Debug, Default, Clone)]
pub struct LogAndMetrics;

impl RecordSink for LogAndMetrics {
    fn record(&self, r: &RequestRecord) {
        access::log(r);
        request_metrics::update(r);
    }
}

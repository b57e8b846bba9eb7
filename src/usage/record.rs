//! The record every request leaves, and the guard that makes sure it leaves
//! exactly one — also when the client disconnects and the handler is dropped.

use crate::core::{Dialect, Usage};
use std::time::{Duration, Instant, SystemTime};

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered in full.
    Success,
    /// Failed before the client got an answer (error status).
    Failed,
    /// The upstream failed after the stream began; the client got an error event.
    StreamFailed,
    /// The client went away before the answer was complete.
    ClientAborted,
}

impl Outcome {
    /// Short name for logs, metrics and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
            Outcome::StreamFailed => "stream_failed",
            Outcome::ClientAborted => "client_aborted",
        }
    }
}

/// How the response cache took part in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// Answered from the cache.
    Hit,
    /// Looked up and not found.
    Miss,
    /// Left out (not cacheable, or told not to).
    Skip,
}

impl CacheUse {
    /// The ledger's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheUse::Hit => "hit",
            CacheUse::Miss => "miss",
            CacheUse::Skip => "skip",
        }
    }
}

/// Status recorded for a client that went away (nginx's convention).
pub const CLIENT_CLOSED_STATUS: u16 = 499;

/// Everything known about one request when it ends.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// Gateway request id (also in `x-switchyard-request-id`).
    pub request_id: String,
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// Monotonic start.
    pub started: Instant,
    /// Client dialect.
    pub dialect: Dialect,
    /// Endpoint name (`messages`, `count_tokens`).
    pub endpoint: &'static str,
    /// Model the client asked for.
    pub requested_model: Option<String>,
    /// Route that decided (`model`, `alias`, a route name).
    pub route: Option<String>,
    /// Tier of the model that served it.
    pub tier: Option<String>,
    /// Shadow mode: the configured model routing would have chosen.
    pub shadow_model: Option<String>,
    /// Shadow mode: its upstream id.
    pub shadow_upstream: Option<String>,
    /// Guardrails: what was found and done (`redact: github_token 1a2b…`).
    pub guard: Option<String>,
    /// Why routing chose where the request went (`x-switchyard-reason`).
    pub reason: Option<String>,
    /// Configured model that served it.
    pub model: Option<String>,
    /// Provider that served it.
    pub provider: Option<String>,
    /// Model id sent upstream.
    pub upstream_model: Option<String>,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// Claude Code session (`x-claude-code-session-id`).
    pub session_id: Option<String>,
    /// Claude Code agent (`x-claude-code-agent-id`).
    pub agent_id: Option<String>,
    /// The model the provider says answered (may be more precise than the id sent).
    pub response_model: Option<String>,
    /// Upstream attempts made.
    pub attempts: u32,
    /// Targets passed over before the one that served (failed or skipped).
    pub fallbacks: u32,
    /// Response cache: `hit`, `miss` or `skip` (none when caching is off).
    pub cache: Option<CacheUse>,
    /// Time spent waiting on providers (all attempts).
    pub upstream_time: Duration,
    /// HTTP status the client got.
    pub status: u16,
    /// How it ended.
    pub outcome: Outcome,
    /// Short error name when it did not succeed.
    pub error_kind: Option<String>,
    /// Tokens.
    pub usage: Usage,
    /// Whether the output count is an estimate (stream cut short).
    pub output_estimated: bool,
    /// Why generation stopped.
    pub stop_reason: Option<String>,
    /// Time to the first byte sent to the client (streams).
    pub ttft: Option<Duration>,
    /// Total time.
    pub latency: Duration,
    /// Who sent it (the client key's owner), when a client key did.
    pub identity: Option<std::sync::Arc<crate::core::Identity>>,
    /// Its trace, when traces are exported.
    pub trace: Option<std::sync::Arc<super::trace::RequestTrace>>,
}

impl RequestRecord {
    /// A record for a request that just arrived.
    pub fn start(request_id: String, dialect: Dialect, endpoint: &'static str) -> Self {
        RequestRecord {
            request_id,
            started_at: SystemTime::now(),
            started: Instant::now(),
            dialect,
            endpoint,
            requested_model: None,
            route: None,
            shadow_model: None,
            guard: None,
            reason: None,
            shadow_upstream: None,
            tier: None,
            model: None,
            provider: None,
            upstream_model: None,
            stream: false,
            session_id: None,
            agent_id: None,
            response_model: None,
            attempts: 0,
            fallbacks: 0,
            cache: None,
            upstream_time: Duration::ZERO,
            status: 0,
            outcome: Outcome::Failed,
            error_kind: None,
            usage: Usage::default(),
            output_estimated: false,
            stop_reason: None,
            ttft: None,
            latency: Duration::ZERO,
            identity: None,
            trace: None,
        }
    }
}

/// Where finished records go.
pub trait RecordSink: Send + Sync {
    /// Take one finished record. Must not block.
    fn record(&self, record: &RequestRecord);
}

/// Several sinks, each given every record.
pub struct Tee(pub Vec<std::sync::Arc<dyn RecordSink>>);

impl RecordSink for Tee {
    fn record(&self, record: &RequestRecord) {
        for sink in &self.0 {
            sink.record(record);
        }
    }
}

/// Holds a request's record until it is finished; a guard dropped unfinished
/// records a client abort.
pub struct RecordGuard {
    record: Option<RequestRecord>,
    sink: std::sync::Arc<dyn RecordSink>,
    /// Attempts begun so far (counted while the record cannot be reached).
    tally: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl RecordGuard {
    /// Guard `record`, delivering it to `sink` when done.
    pub fn new(record: RequestRecord, sink: std::sync::Arc<dyn RecordSink>) -> Self {
        RecordGuard {
            record: Some(record),
            sink,
            tally: Default::default(),
        }
    }

    /// A counter of upstream attempts begun; a record finished without its
    /// attempts set (the client left mid-attempt) takes them from here.
    pub fn attempt_tally(&self) -> std::sync::Arc<std::sync::atomic::AtomicU32> {
        self.tally.clone()
    }

    /// The request's trace, when traces are exported.
    pub fn trace(&self) -> Option<std::sync::Arc<super::trace::RequestTrace>> {
        self.record.as_ref().and_then(|r| r.trace.clone())
    }

    /// The record, while it is not finished.
    pub fn get(&self) -> Option<&RequestRecord> {
        self.record.as_ref()
    }

    /// Change the record before it is finished.
    pub fn update(&mut self, f: impl FnOnce(&mut RequestRecord)) {
        if let Some(r) = self.record.as_mut() {
            f(r);
        }
    }

    /// Add a guardrail decision to the record's `guard` note.
    pub fn note_guard(&mut self, note: &str) {
        self.update(|r| {
            r.guard = Some(match r.guard.take() {
                Some(earlier) => format!("{earlier}; {note}"),
                None => note.to_string(),
            })
        });
    }

    /// Finish with a status and outcome.
    pub fn finish(mut self, status: u16, outcome: Outcome, error_kind: Option<&str>) {
        self.complete(status, outcome, error_kind);
    }

    fn complete(&mut self, status: u16, outcome: Outcome, error_kind: Option<&str>) {
        if let Some(mut r) = self.record.take() {
            if r.attempts == 0 {
                r.attempts = self.tally.load(std::sync::atomic::Ordering::Relaxed);
            }
            r.status = status;
            r.outcome = outcome;
            r.error_kind = error_kind.map(str::to_string).or(r.error_kind);
            r.latency = r.started.elapsed();
            self.sink.record(&r);
        }
    }
}

impl Drop for RecordGuard {
    fn drop(&mut self) {
        self.complete(
            CLIENT_CLOSED_STATUS,
            Outcome::ClientAborted,
            Some("client_closed"),
        );
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_types)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Collect(Mutex<Vec<RequestRecord>>);
    impl RecordSink for Collect {
        fn record(&self, record: &RequestRecord) {
            self.0.lock().unwrap().push(record.clone());
        }
    }

    #[test]
    fn exactly_one_record() {
        let sink = Arc::new(Collect::default());
        let g = RecordGuard::new(
            RequestRecord::start("a".into(), Dialect::Anthropic, "messages"),
            sink.clone(),
        );
        g.finish(200, Outcome::Success, None);
        let g = RecordGuard::new(
            RequestRecord::start("b".into(), Dialect::Anthropic, "messages"),
            sink.clone(),
        );
        drop(g);
        let recs = sink.0.lock().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!((recs[0].status, recs[0].outcome), (200, Outcome::Success));
        assert_eq!(
            (recs[1].status, recs[1].outcome),
            (499, Outcome::ClientAborted)
        );
    }
}

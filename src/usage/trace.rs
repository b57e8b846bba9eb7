//! A request's place in a distributed trace (W3C Trace Context), kept with
//! its record when traces are on: the client's span it continues (from the
//! `traceparent` header), the gateway's own span for the request, and one
//! span per upstream attempt, whose context goes to that upstream in its
//! own `traceparent`. The exporter turns them into spans when the record
//! ends (`telemetry::otlp`); nothing here sends anything.

// The attempt list is locked for a push or an update, never across an await.
#![allow(clippy::disallowed_types)]

use http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use std::sync::Mutex;
use std::time::SystemTime;

/// One upstream attempt's span.
#[derive(Debug, Clone)]
pub struct AttemptSpan {
    /// Its span id (sent upstream as the parent).
    pub span_id: SpanId,
    /// Configured provider.
    pub provider: String,
    /// What kind of server it is (`gen_ai.provider.name`).
    pub provider_kind: &'static str,
    /// Configured model.
    pub model: String,
    /// Model id sent upstream.
    pub upstream_model: String,
    /// When it began.
    pub started: SystemTime,
    /// When it ended (`None`: it served the request, which ends it).
    pub ended: Option<SystemTime>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// The trace of one request.
#[derive(Debug)]
pub struct RequestTrace {
    /// The trace it belongs to (the client's, or a new one).
    pub trace_id: TraceId,
    /// The gateway's span for the request.
    pub span_id: SpanId,
    /// The client's span, when the client sent one.
    pub parent: Option<SpanId>,
    /// Sampling flags (the client's decision is kept).
    pub flags: TraceFlags,
    /// Vendor state passed along unchanged.
    pub state: TraceState,
    attempts: Mutex<Vec<AttemptSpan>>,
}

impl RequestTrace {
    /// Continue the client's trace (its `traceparent`/`tracestate`), or
    /// start a sampled one.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let ids = RandomIdGenerator::default();
        let cx = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
        let client = cx.span().span_context().clone();
        let (trace_id, parent, flags, state) = if client.is_valid() {
            (
                client.trace_id(),
                Some(client.span_id()),
                client.trace_flags(),
                client.trace_state().clone(),
            )
        } else {
            (
                ids.new_trace_id(),
                None,
                TraceFlags::SAMPLED,
                TraceState::default(),
            )
        };
        RequestTrace {
            trace_id,
            span_id: ids.new_span_id(),
            parent,
            flags,
            state,
            attempts: Mutex::new(Vec::new()),
        }
    }

    /// Whether its spans are exported.
    pub fn sampled(&self) -> bool {
        self.flags.is_sampled()
    }

    /// An attempt begins: its index, and the headers that carry its span
    /// to the upstream (`traceparent`, and `tracestate` when there is one).
    pub fn begin_attempt(
        &self,
        provider: &str,
        provider_kind: &'static str,
        model: &str,
        upstream_model: &str,
    ) -> (usize, HeaderMap) {
        let span_id = RandomIdGenerator::default().new_span_id();
        let context = SpanContext::new(
            self.trace_id,
            span_id,
            self.flags,
            false,
            self.state.clone(),
        );
        let mut headers = HeaderMap::new();
        TraceContextPropagator::new().inject_context(
            &opentelemetry::Context::new().with_remote_span_context(context),
            &mut HeaderInjector(&mut headers),
        );
        let span = AttemptSpan {
            span_id,
            provider: provider.to_string(),
            provider_kind,
            model: model.to_string(),
            upstream_model: upstream_model.to_string(),
            started: SystemTime::now(),
            ended: None,
            error: None,
        };
        let Ok(mut attempts) = self.attempts.lock() else {
            return (usize::MAX, headers);
        };
        attempts.push(span);
        (attempts.len() - 1, headers)
    }

    /// Attempt `index` failed with `error` (a success is left open: the
    /// request's end is its end).
    pub fn attempt_failed(&self, index: usize, error: String) {
        if let Ok(mut attempts) = self.attempts.lock()
            && let Some(a) = attempts.get_mut(index)
        {
            a.ended = Some(SystemTime::now());
            a.error = Some(error);
        }
    }

    /// The attempts so far.
    pub fn attempts(&self) -> Vec<AttemptSpan> {
        self.attempts.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn a_clients_trace_is_continued_and_each_attempt_gets_its_own_span() {
        let mut h = HeaderMap::new();
        h.insert("traceparent", CLIENT.parse().unwrap());
        h.insert("tracestate", "vendor=x".parse().unwrap());
        let t = RequestTrace::from_headers(&h);
        assert_eq!(
            format!("{:032x}", t.trace_id),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(format!("{:016x}", t.parent.unwrap()), "b7ad6b7169203331");
        assert!(t.sampled());
        let (i, up) = t.begin_attempt("anthropic", "anthropic", "sonnet", "claude-x");
        let (j, up2) = t.begin_attempt("bedrock", "aws.bedrock", "sonnet", "claude-x");
        assert_eq!((i, j), (0, 1));
        let tp = up["traceparent"].to_str().unwrap();
        let attempts = t.attempts();
        assert_eq!(
            tp,
            format!(
                "00-0af7651916cd43dd8448eb211c80319c-{:016x}-01",
                attempts[0].span_id
            )
        );
        assert_ne!(up2["traceparent"], up["traceparent"]);
        assert_eq!(up["tracestate"], "vendor=x");
        t.attempt_failed(0, "overloaded".into());
        let attempts = t.attempts();
        assert_eq!(attempts[0].error.as_deref(), Some("overloaded"));
        assert!(attempts[1].ended.is_none());
    }

    #[test]
    fn without_a_valid_parent_a_new_sampled_trace_begins() {
        let mut h = HeaderMap::new();
        h.insert("traceparent", "00-zz-yy-01".parse().unwrap());
        let t = RequestTrace::from_headers(&h);
        assert!(t.parent.is_none());
        assert!(t.trace_id != TraceId::INVALID && t.sampled());
        // An unsampled client trace stays unsampled.
        let mut h = HeaderMap::new();
        h.insert("traceparent", CLIENT.replace("-01", "-00").parse().unwrap());
        assert!(!RequestTrace::from_headers(&h).sampled());
    }
}

//! Traces over OTLP/HTTP (JSON): when a request's record ends, its spans
//! are handed to OpenTelemetry's batch processor, which sends them from its
//! own thread — nothing on the request path waits for the collector.
//!
//! Each request is one server span (`chat {requested model}`), a child of
//! the client's span when the client sent `traceparent`, with one client
//! span per upstream attempt under it (`chat {upstream model}`); each
//! attempt's context went to its upstream as that request's `traceparent`.
//! Attributes follow OpenTelemetry's GenAI conventions (`gen_ai.*`: the
//! operation, provider, request and response model, token usage, finish
//! reason) plus the gateway's own (`switchyard.*`: cost in USD, tier,
//! route, routing reason, cache, who sent it). Prompts and answers are
//! never attributes.
//!
//! The spans are built from the record rather than from live `tracing`
//! spans: start and end times are the record's, ids are chosen when the
//! request arrives (the upstream must be told its parent before the attempt
//! is made), and a request costs nothing extra when traces are off.

use crate::config::TracesConfig;
use crate::usage::ledger::Pricer;
use crate::usage::trace::{AttemptSpan, RequestTrace};
use crate::usage::{CacheUse, Outcome, RecordSink, RequestRecord};
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SpanData, SpanEvents, SpanLinks, SpanProcessor,
};
use std::borrow::Cow;
use std::time::{Duration, SystemTime};

/// Longest one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Exports every traced request's spans.
pub struct Spans {
    processor: BatchSpanProcessor,
    pricer: Pricer,
    scope: InstrumentationScope,
}

impl std::fmt::Debug for Spans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Spans")
    }
}

impl Spans {
    /// Start exporting to the configured collector; `pricer` prices each
    /// request's cost attribute.
    pub fn start(config: &TracesConfig, pricer: Pricer) -> Result<Self, String> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpJson)
            .with_endpoint(config.endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .with_headers(config.headers.iter().cloned().collect())
            .build()
            .map_err(|e| format!("traces.otlp_endpoint: {e}"))?;
        let batches = BatchConfigBuilder::default()
            .with_scheduled_delay(config.export_delay)
            .build();
        let mut processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batches)
            .build();
        processor.set_resource(
            &Resource::builder()
                .with_service_name(config.service_name.clone())
                .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                .build(),
        );
        Ok(Spans {
            processor,
            pricer,
            scope: InstrumentationScope::builder("switchyard")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        })
    }

    /// Send what is queued now (blocks until sent or timed out).
    pub fn flush(&self) {
        if let Err(e) = self.processor.force_flush() {
            tracing::warn!(error = %e, "traces not all exported");
        }
    }

    fn span(&self, trace: &RequestTrace, s: Shape) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                trace.trace_id,
                s.span_id,
                trace.flags,
                false,
                TraceState::default(),
            ),
            parent_span_id: s.parent.unwrap_or(SpanId::INVALID),
            parent_span_is_remote: s.parent.is_some() && s.kind == SpanKind::Server,
            span_kind: s.kind,
            name: Cow::Owned(s.name),
            start_time: s.times.0,
            end_time: s.times.1,
            attributes: s.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: if s.failed {
                Status::error("")
            } else {
                Status::Unset
            },
            instrumentation_scope: self.scope.clone(),
        }
    }
}

/// What differs between a request's spans.
struct Shape {
    span_id: SpanId,
    parent: Option<SpanId>,
    kind: SpanKind,
    name: String,
    times: (SystemTime, SystemTime),
    attributes: Vec<KeyValue>,
    failed: bool,
}

impl RecordSink for Spans {
    fn record(&self, r: &RequestRecord) {
        let Some(trace) = r.trace.as_deref().filter(|t| t.sampled()) else {
            return;
        };
        let end = r.started_at + r.latency;
        let attempts = trace.attempts();
        let served = attempts.iter().rposition(|a| a.ended.is_none());
        let operation = operation(r.endpoint);
        let cost = self.cost(r);
        let mut request = request_attributes(r, operation, cost);
        if let Some(a) = served.map(|i| &attempts[i]) {
            request.push(KeyValue::new("gen_ai.provider.name", a.provider_kind));
        }
        let failed = r.outcome != Outcome::Success;
        let name = format!(
            "{operation} {}",
            r.requested_model.as_deref().unwrap_or("unknown")
        );
        let mut spans = vec![self.span(
            trace,
            Shape {
                span_id: trace.span_id,
                parent: trace.parent,
                kind: SpanKind::Server,
                name,
                times: (r.started_at, end),
                attributes: request,
                failed,
            },
        )];
        for (i, a) in attempts.iter().enumerate() {
            let mut attributes = attempt_attributes(a, operation);
            let serving = served == Some(i);
            if serving {
                attributes.extend(usage_attributes(r, cost));
            }
            spans.push(self.span(
                trace,
                Shape {
                    span_id: a.span_id,
                    parent: Some(trace.span_id),
                    kind: SpanKind::Client,
                    name: format!("{operation} {}", a.upstream_model),
                    times: (a.started, a.ended.unwrap_or(end)),
                    attributes,
                    failed: a.error.is_some() || (serving && failed),
                },
            ));
        }
        for span in spans {
            self.processor.on_end(span);
        }
    }
}

impl Spans {
    /// What the request cost, in USD (a cache hit costs nothing).
    fn cost(&self, r: &RequestRecord) -> Option<f64> {
        if r.cache == Some(CacheUse::Hit) {
            return Some(0.0);
        }
        let priced = self.pricer.price_of(r)?;
        use rust_decimal::prelude::ToPrimitive;
        priced.price.cost(&r.usage).to_f64()
    }
}

impl Drop for Spans {
    fn drop(&mut self) {
        let _ = self.processor.shutdown();
    }
}

/// The GenAI operation of an endpoint.
fn operation(endpoint: &str) -> &'static str {
    match endpoint {
        "count_tokens" => "count_tokens",
        _ => "chat",
    }
}

fn text(key: &'static str, value: &Option<String>) -> Option<KeyValue> {
    value.as_ref().map(|v| KeyValue::new(key, v.clone()))
}

/// Tokens, finish reason, response model and cost: of the request, and of
/// the attempt that served it.
fn usage_attributes(r: &RequestRecord, cost: Option<f64>) -> Vec<KeyValue> {
    let u = &r.usage;
    let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut out = vec![
        KeyValue::new("gen_ai.usage.input_tokens", int(u.prompt_tokens())),
        KeyValue::new("gen_ai.usage.output_tokens", int(u.output_tokens)),
        KeyValue::new(
            "gen_ai.usage.cache_read.input_tokens",
            int(u.cache_read_tokens),
        ),
        KeyValue::new(
            "gen_ai.usage.cache_creation.input_tokens",
            int(u.cache_write_tokens()),
        ),
    ];
    out.extend(text(
        "gen_ai.response.model",
        &r.response_model
            .clone()
            .or_else(|| r.upstream_model.clone()),
    ));
    if let Some(reason) = &r.stop_reason {
        out.push(KeyValue::new(
            "gen_ai.response.finish_reasons",
            Value::Array(vec![opentelemetry::StringValue::from(reason.clone())].into()),
        ));
    }
    if let Some(usd) = cost {
        out.push(KeyValue::new("switchyard.cost_usd", usd));
    }
    out
}

fn request_attributes(
    r: &RequestRecord,
    operation: &'static str,
    cost: Option<f64>,
) -> Vec<KeyValue> {
    let mut out = vec![
        KeyValue::new("gen_ai.operation.name", operation),
        KeyValue::new("http.response.status_code", i64::from(r.status)),
        KeyValue::new("switchyard.request_id", r.request_id.clone()),
        KeyValue::new("switchyard.outcome", r.outcome.as_str()),
        KeyValue::new("switchyard.attempts", i64::from(r.attempts)),
    ];
    let fields = [
        ("gen_ai.request.model", &r.requested_model),
        ("switchyard.route", &r.route),
        ("switchyard.tier", &r.tier),
        ("switchyard.model", &r.model),
        ("switchyard.provider", &r.provider),
        ("switchyard.reason", &r.reason),
        ("switchyard.session_id", &r.session_id),
        ("switchyard.agent_id", &r.agent_id),
        ("switchyard.shadow_model", &r.shadow_model),
    ];
    out.extend(fields.into_iter().filter_map(|(k, v)| text(k, v)));
    if r.outcome != Outcome::Success {
        let kind = r
            .error_kind
            .clone()
            .unwrap_or_else(|| r.outcome.as_str().to_string());
        out.push(KeyValue::new("error.type", kind));
    }
    if let Some(cache) = r.cache {
        out.push(KeyValue::new("switchyard.cache", cache.as_str()));
    }
    if let Some(who) = &r.identity {
        out.push(KeyValue::new("switchyard.key", who.key_id.clone()));
        out.extend(text("user.id", &who.user));
        out.extend(text("switchyard.team", &who.team));
    }
    out.extend(usage_attributes(r, cost));
    out
}

fn attempt_attributes(a: &AttemptSpan, operation: &'static str) -> Vec<KeyValue> {
    let mut out = vec![
        KeyValue::new("gen_ai.operation.name", operation),
        KeyValue::new("gen_ai.provider.name", a.provider_kind),
        KeyValue::new("gen_ai.request.model", a.upstream_model.clone()),
        KeyValue::new("switchyard.model", a.model.clone()),
        KeyValue::new("switchyard.provider", a.provider.clone()),
    ];
    out.extend(text("error.type", &a.error));
    out
}

//! The metrics every finished request updates, through handles each thread
//! keeps per model.
//!
//! `metrics::counter!("…", "model" => m, …)` builds a key on every call (the
//! label strings cloned into it), hashes it and looks it up in the
//! recorder's registry: about 1,500 instructions per update, seven updates
//! a request. The handles it returns point at the same atomics every time,
//! so each runtime thread keeps the ones it has used, by model, and a
//! request's updates are a small lookup and an atomic add each. Handles are
//! made the first time they are needed, so a series appears in `/metrics`
//! only once it has counted something, as before. Model names come from the
//! configuration (or, for passthrough, from what a client asked for); past
//! [`MAX_MODELS`] a thread forgets what it kept and starts again.

use crate::usage::{CacheUse, RequestRecord};
use metrics::{Counter, Histogram};
use std::cell::RefCell;
use std::collections::HashMap;

/// Most models a thread keeps handles for.
const MAX_MODELS: usize = 1000;

/// One model's handles, made as they are first needed.
#[derive(Default)]
struct ModelHandles {
    /// Requests and their duration, by endpoint and status.
    finished: Vec<(&'static str, u16, Counter, Histogram)>,
    ttft: Option<Histogram>,
    retries: Option<Counter>,
    /// Input, output, cache-read and cache-write tokens.
    tokens: [Option<Counter>; 4],
}

/// Token kinds, in [`ModelHandles::tokens`] order.
const TOKEN_KINDS: [&str; 4] = ["input", "output", "cache_read", "cache_write"];

/// A thread's handles.
#[derive(Default)]
struct Handles {
    models: HashMap<String, ModelHandles>,
    /// Cache results: hit, miss, skip.
    cache: [Option<Counter>; 3],
    cache_hit_duration: Option<Histogram>,
}

thread_local! {
    static HANDLES: RefCell<Handles> = RefCell::new(Handles::default());
}

/// Update the request metrics for `r`.
pub fn update(r: &RequestRecord) {
    let model = r.model.as_deref().unwrap_or("none");
    HANDLES.with(|cell| {
        // Re-entry cannot happen (nothing here logs or records), but a
        // borrowed cell must not panic a request: use handles made afresh.
        let mut kept = cell.try_borrow_mut();
        let mut fresh;
        let handles = match kept.as_deref_mut() {
            Ok(kept) => kept,
            Err(_) => {
                fresh = Handles::default();
                &mut fresh
            }
        };
        if let Some(model_handles) = handles.models.get_mut(model) {
            update_model(model_handles, model, r);
        } else {
            if handles.models.len() >= MAX_MODELS {
                handles.models.clear();
            }
            let entry = handles.models.entry(model.to_string()).or_default();
            update_model(entry, model, r);
        }
        if let Some(result) = r.cache {
            let slot = match result {
                CacheUse::Hit => 0,
                CacheUse::Miss => 1,
                CacheUse::Skip => 2,
            };
            handles.cache[slot]
                .get_or_insert_with(|| {
                    metrics::counter!("switchyard_cache_requests_total", "result" => result.as_str())
                })
                .increment(1);
            if result == CacheUse::Hit {
                handles
                    .cache_hit_duration
                    .get_or_insert_with(|| metrics::histogram!("switchyard_cache_hit_duration_seconds"))
                    .record(r.latency.as_secs_f64());
            }
        }
    });
    // Failures are few: their counter is looked up each time.
    if let Some(kind) = &r.error_kind {
        metrics::counter!("switchyard_request_errors_total", "model" => model.to_string(), "kind" => kind.clone())
            .increment(1);
    }
}

fn update_model(h: &mut ModelHandles, model: &str, r: &RequestRecord) {
    let (endpoint, status) = (r.endpoint, r.status);
    let at = match h
        .finished
        .iter()
        .position(|(e, s, ..)| *e == endpoint && *s == status)
    {
        Some(at) => at,
        None => {
            let labels = [
                ("endpoint", endpoint.to_string()),
                ("model", model.to_string()),
                ("status", status.to_string()),
            ];
            h.finished.push((
                endpoint,
                status,
                metrics::counter!("switchyard_requests_total", &labels),
                metrics::histogram!("switchyard_request_duration_seconds", &labels),
            ));
            h.finished.len() - 1
        }
    };
    let (.., requests, duration) = &h.finished[at];
    requests.increment(1);
    duration.record(r.latency.as_secs_f64());
    if let Some(t) = r.ttft {
        h.ttft
            .get_or_insert_with(|| {
                metrics::histogram!("switchyard_time_to_first_token_seconds", "model" => model.to_string())
            })
            .record(t.as_secs_f64());
    }
    if r.attempts > 1 {
        h.retries
            .get_or_insert_with(|| {
                metrics::counter!("switchyard_upstream_retries_total", "model" => model.to_string())
            })
            .increment(u64::from(r.attempts - 1));
    }
    let u = &r.usage;
    let counts = [
        u.input_tokens,
        u.output_tokens,
        u.cache_read_tokens,
        u.cache_write_tokens(),
    ];
    for ((slot, kind), n) in h.tokens.iter_mut().zip(TOKEN_KINDS).zip(counts) {
        if n > 0 {
            slot.get_or_insert_with(|| {
                metrics::counter!("switchyard_tokens_total", "model" => model.to_string(), "type" => kind)
            })
            .increment(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Dialect;
    use std::time::Duration;

    #[test]
    fn kept_handles_count_into_the_series_the_macros_name() {
        // The process-wide recorder, as the gateway installs it.
        let Some(prometheus) = super::super::prometheus() else {
            panic!("no recorder");
        };
        let mut r = RequestRecord::start("req_1".into(), Dialect::OpenAi, "chat_completions");
        r.model = Some("kept-handles-model".into());
        r.status = 200;
        r.attempts = 2;
        r.latency = Duration::from_millis(3);
        r.ttft = Some(Duration::from_millis(1));
        r.usage.input_tokens = 10;
        r.usage.output_tokens = 4;
        r.cache = Some(CacheUse::Hit);
        for _ in 0..3 {
            update(&r);
        }
        r.status = 429;
        update(&r);
        let text = prometheus.render();
        let line = |prefix: &str| {
            text.lines()
                .find(|l| l.starts_with(prefix) && l.contains("kept-handles-model"))
                .map(|l| l.rsplit(' ').next().unwrap_or_default().to_string())
        };
        let ok = r#"switchyard_requests_total{endpoint="chat_completions",model="kept-handles-model",status="200"}"#;
        assert_eq!(line(ok).as_deref(), Some("3"));
        let limited = r#"switchyard_requests_total{endpoint="chat_completions",model="kept-handles-model",status="429"}"#;
        assert_eq!(line(limited).as_deref(), Some("1"));
        assert_eq!(
            line("switchyard_upstream_retries_total").as_deref(),
            Some("4")
        );
        assert_eq!(
            line(r#"switchyard_tokens_total{model="kept-handles-model",type="input"}"#).as_deref(),
            Some("40")
        );
        // Nothing counted, no series.
        assert!(
            line(r#"switchyard_tokens_total{model="kept-handles-model",type="cache_read"}"#)
                .is_none()
        );
        assert!(text.contains(
            "switchyard_time_to_first_token_seconds_count{model=\"kept-handles-model\"} 4"
        ));
        // Other tests count hits too: at least these four.
        let hits = text
            .lines()
            .find(|l| l.starts_with(r#"switchyard_cache_requests_total{result="hit"}"#))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok());
        assert!(hits.is_some_and(|n| n >= 4), "{hits:?}");
    }
}

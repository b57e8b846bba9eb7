//! Answers from the response cache: the stored canonical answer written in
//! the client's dialect — whole, or replayed as a complete stream — with
//! the same `x-switchyard-*` headers as a live answer, and one record that
//! says it was a hit.

use crate::cache::entry::Entry;
use crate::core::RawRequest;
use crate::protocol::ClientCodec;
use crate::routing::Plan;
use crate::stream::assemble::answer_events;
use crate::usage::{Outcome, RecordGuard};
use axum::body::Body;
use axum::response::Response;
use bytes::BytesMut;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use std::collections::VecDeque;

/// How the cache took part in a request, for `x-switchyard-cache`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CacheStatus {
    /// Served from the cache (with the similarity of a semantic hit).
    Hit(Option<f32>),
    /// Looked up, not found; the answer is stored if it completes.
    Miss,
    /// Left out, for this reason.
    Skip(&'static str),
}

impl CacheStatus {
    /// The ledger's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit(_) => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Skip(_) => "skip",
        }
    }

    /// Add `x-switchyard-cache` (and the similarity or the skip reason).
    pub fn set_headers(self, resp: &mut Response) {
        let h = resp.headers_mut();
        h.insert(
            "x-switchyard-cache",
            HeaderValue::from_static(self.as_str()),
        );
        match self {
            CacheStatus::Hit(Some(sim)) => {
                if let Ok(v) = HeaderValue::from_str(&format!("{sim:.4}")) {
                    h.insert("x-switchyard-cache-similarity", v);
                }
            }
            CacheStatus::Skip(why) => {
                if let Ok(v) = HeaderValue::from_str(why) {
                    h.insert("x-switchyard-cache-reason", v);
                }
            }
            _ => {}
        }
    }
}

fn set(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// Answer `raw` from `entry`, and finish its record as a hit.
pub fn hit_response(
    codec: &dyn ClientCodec,
    mut guard: RecordGuard,
    raw: &RawRequest,
    plan: &Plan,
    entry: &Entry,
    similarity: Option<f32>,
) -> Response {
    let o = &entry.origin;
    let mut resp = if raw.is_stream() {
        let mut encoder = codec.stream_encoder(raw);
        let mut chunks = VecDeque::new();
        for event in answer_events(&entry.answer) {
            encoder.encode(&event, &mut chunks);
        }
        let mut body = BytesMut::new();
        for c in chunks {
            body.extend_from_slice(&c);
        }
        let mut r = Response::new(Body::from(body.freeze()));
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream; charset=utf-8"),
        );
        r.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        r
    } else {
        let mut r = Response::new(Body::from(codec.encode_answer(raw, &entry.answer)));
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    };
    *resp.status_mut() = StatusCode::OK;
    guard.update(|r| {
        r.cache = Some("hit");
        r.tier = o.tier.clone();
        r.model = Some(o.model.clone());
        r.provider = Some(o.provider.clone());
        r.upstream_model = Some(o.upstream_model.clone());
        r.usage = entry.usage;
        r.stop_reason = entry.answer.stop_reason.clone();
        r.response_model = Some(entry.answer.model.clone());
        r.ttft = Some(r.started.elapsed());
    });
    guard.finish(200, Outcome::Success, None);
    set(&mut resp, "x-switchyard-model", &o.upstream_model);
    set(&mut resp, "x-switchyard-provider", &o.provider);
    if let Some(t) = &o.tier {
        set(&mut resp, "x-switchyard-tier", t);
    }
    set(&mut resp, "x-switchyard-route", &plan.route);
    set(&mut resp, "x-switchyard-attempts", "0");
    let reason = match similarity {
        Some(s) => format!(
            "semantic cache hit (similarity {s:.4}); answered earlier by {}",
            o.model
        ),
        None => format!("exact cache hit; answered earlier by {}", o.model),
    };
    set(&mut resp, "x-switchyard-reason", &reason);
    CacheStatus::Hit(similarity).set_headers(&mut resp);
    resp
}

//! Answers from the response cache: the stored canonical answer written in
//! the client's dialect — whole, or replayed as a complete stream — with
//! the same `x-switchyard-*` headers as a live answer, and one record that
//! says it was a hit.

use super::RequestContext;
use super::reply::{Reply, ReplyBody, json_reply, names, set_header, sse_reply};
use crate::cache::entry::Entry;
use crate::core::RawRequest;
use crate::routing::Plan;
use crate::stream::assemble::answer_events;
use crate::usage::{CacheUse, Outcome};
use bytes::BytesMut;
use http::{HeaderMap, HeaderValue};
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
    /// What the ledger records.
    pub fn usage(self) -> CacheUse {
        match self {
            CacheStatus::Hit(_) => CacheUse::Hit,
            CacheStatus::Miss => CacheUse::Miss,
            CacheStatus::Skip(_) => CacheUse::Skip,
        }
    }

    /// Add `x-switchyard-cache` (and the similarity or the skip reason).
    pub fn set_headers(self, h: &mut HeaderMap) {
        h.insert(
            names::CACHE,
            HeaderValue::from_static(self.usage().as_str()),
        );
        match self {
            CacheStatus::Hit(Some(sim)) => {
                set_header(h, names::CACHE_SIMILARITY, &format!("{sim:.4}"));
            }
            CacheStatus::Skip(why) => set_header(h, names::CACHE_REASON, why),
            _ => {}
        }
    }
}

/// Answer `raw` from `entry`, and finish its record as a hit.
pub fn hit_reply(
    ctx: RequestContext<'_>,
    raw: &RawRequest,
    plan: &Plan,
    entry: &Entry,
    similarity: Option<f32>,
) -> Reply {
    let RequestContext {
        codec, mut record, ..
    } = ctx;
    let o = &entry.origin;
    let mut reply = if raw.is_stream() {
        let mut encoder = codec.stream_encoder(raw);
        let mut chunks = VecDeque::new();
        for event in answer_events(&entry.answer) {
            encoder.encode(&event, &mut chunks);
        }
        let mut body = BytesMut::new();
        for c in chunks {
            body.extend_from_slice(&c);
        }
        sse_reply(ReplyBody::Full(body.freeze()))
    } else {
        json_reply(codec.encode_answer(raw, &entry.answer))
    };
    record.update(|r| {
        r.cache = Some(CacheUse::Hit);
        r.tier = o.tier.clone();
        r.model = Some(o.model.clone());
        r.provider = Some(o.provider.clone());
        r.upstream_model = Some(o.upstream_model.clone());
        r.usage = entry.usage;
        r.stop_reason = entry.answer.stop_reason.clone();
        r.response_model = Some(entry.answer.model.clone());
        r.ttft = Some(r.started.elapsed());
    });
    record.finish(200, Outcome::Success, None);
    let h = reply.headers_mut();
    set_header(h, names::MODEL, &o.upstream_model);
    set_header(h, names::PROVIDER, &o.provider);
    if let Some(t) = &o.tier {
        set_header(h, names::TIER, t);
    }
    set_header(h, names::ROUTE, &plan.route);
    set_header(h, names::ATTEMPTS, "0");
    let reason = match similarity {
        Some(s) => format!(
            "semantic cache hit (similarity {s:.4}); answered earlier by {}",
            o.model
        ),
        None => format!("exact cache hit; answered earlier by {}", o.model),
    };
    set_header(h, names::REASON, &reason);
    CacheStatus::Hit(similarity).set_headers(h);
    reply
}

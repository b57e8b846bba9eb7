//! What the pipeline answers: an `http::Response` whose body is either
//! whole bytes or a live relay, with the `x-switchyard-*` headers that say
//! who served the request and why.

use crate::routing::Plan;
use crate::stream::Relay;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// A reply's body.
pub enum ReplyBody {
    /// The whole body.
    Full(Bytes),
    /// A stream, pulled by the client.
    Stream(Box<Relay>),
}

/// A reply to the client.
pub type Reply = http::Response<ReplyBody>;

/// Longest `x-switchyard-reason` value.
const MAX_REASON_CHARS: usize = 400;

/// The `x-switchyard-*` response headers, made once: a name given as a
/// string is checked and parsed on every insert (about 1,000 instructions
/// each, five or more a request).
pub mod names {
    use http::HeaderName;

    /// Upstream model id that answered.
    pub const MODEL: HeaderName = HeaderName::from_static("x-switchyard-model");
    /// Provider that answered.
    pub const PROVIDER: HeaderName = HeaderName::from_static("x-switchyard-provider");
    /// Tier of the model that answered.
    pub const TIER: HeaderName = HeaderName::from_static("x-switchyard-tier");
    /// Route that decided.
    pub const ROUTE: HeaderName = HeaderName::from_static("x-switchyard-route");
    /// Upstream attempts made.
    pub const ATTEMPTS: HeaderName = HeaderName::from_static("x-switchyard-attempts");
    /// Why routing chose where the request went.
    pub const REASON: HeaderName = HeaderName::from_static("x-switchyard-reason");
    /// Cache result: hit, miss, skip.
    pub const CACHE: HeaderName = HeaderName::from_static("x-switchyard-cache");
    /// Similarity of a semantic hit.
    pub const CACHE_SIMILARITY: HeaderName =
        HeaderName::from_static("x-switchyard-cache-similarity");
    /// Why the cache was skipped.
    pub const CACHE_REASON: HeaderName = HeaderName::from_static("x-switchyard-cache-reason");
    /// Proxies: do not buffer this stream.
    pub const ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");
}

/// Set a header when `value` is a valid header value.
pub fn set_header(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// A `200 application/json` reply.
pub fn json_reply(body: Bytes) -> Reply {
    let mut reply = Reply::new(ReplyBody::Full(body));
    reply
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    reply
}

/// A `200 text/event-stream` reply whose body is `body`.
pub fn sse_reply(body: ReplyBody) -> Reply {
    let mut reply = Reply::new(body);
    *reply.status_mut() = StatusCode::OK;
    let h = reply.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(names::ACCEL_BUFFERING, HeaderValue::from_static("no"));
    reply
}

/// Header values must be visible ASCII: arrows become `->`, anything else
/// `?`, and the text is cut at `max` characters.
fn header_safe(text: &str, max: usize) -> String {
    text.replace('→', "->")
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(max)
        .collect()
}

/// Add the `x-switchyard-*` headers naming who served the request and why
/// (`reason`: the plan's reason line, built once per request).
pub fn served_by(
    headers: &mut HeaderMap,
    plan: &Plan,
    reason: &str,
    (target, attempts): (usize, u32),
) {
    if let Some(t) = plan.targets.get(target) {
        set_header(headers, names::MODEL, &t.upstream_model);
        set_header(headers, names::PROVIDER, &t.provider.name);
        if let Some(tier) = &t.tier {
            set_header(headers, names::TIER, tier);
        }
    }
    set_header(headers, names::ROUTE, &plan.route);
    set_header(headers, names::ATTEMPTS, &attempts.to_string());
    let fell_back;
    let reason = if target > 0 {
        fell_back = format!(
            "{reason}; fell back to target {} of {}",
            target + 1,
            plan.targets.len()
        );
        &fell_back
    } else {
        reason
    };
    set_header(
        headers,
        names::REASON,
        &header_safe(reason, MAX_REASON_CHARS),
    );
}

//! A chat request (`/v1/messages`, `/v1/chat/completions`, Bedrock invoke)
//! through its phases: plan, cache lookup, translation when a target needs
//! another dialect, the attempt loop, and the answer — relayed as a stream
//! or whole — with its record finished when the answer ends.

use super::cached::{CacheStatus, hit_reply};
use super::reply::{Reply, ReplyBody, json_reply, served_by, sse_reply};
use super::{Attempt, RequestContext, attempt_each};
use crate::cache::capture::{Capture, answer_of};
use crate::cache::entry::{Entry, Origin};
use crate::cache::{Lookup, Pending, ResponseCache};
use crate::core::{ChatRequest, RawRequest, UsageMeter};
use crate::error::GatewayError;
use crate::error::{TimeoutKind, UpstreamError, UpstreamErrorKind};
use crate::providers::{Call, Opened, Provider};
use crate::routing::Plan;
use crate::routing::dispatch::Success;
use crate::routing::health::{Health, counts_against_target};
use crate::stream::{Relay, StreamEnd};
use crate::usage::{CLIENT_CLOSED_STATUS, Outcome, RecordGuard};
use std::sync::Arc;
use tokio::time::Instant;

/// Where a complete answer will be stored.
struct Keep {
    cache: Arc<ResponseCache>,
    pending: Pending,
    origin: Origin,
}

/// Serve a chat request.
pub async fn chat(mut ctx: RequestContext<'_>, raw: RawRequest) -> Reply {
    ctx.record.update(|r| {
        r.requested_model = Some(raw.model().to_string());
        r.stream = raw.is_stream();
    });
    let mut plan = match ctx.state.router.plan(&raw, ctx.headers) {
        Ok(p) => p,
        Err(e) => return ctx.fail(e),
    };
    if let Err(e) = ctx.keep_allowed_tiers(&mut plan) {
        return ctx.fail(e);
    }
    let raw = match ctx
        .guard(&mut plan, raw)
        .and_then(|raw| ctx.cap_output(&plan, raw))
    {
        Ok(raw) => raw,
        Err(e) => return ctx.fail(e),
    };
    let mut reason = plan.reason_line();
    ctx.record.update(|r| {
        r.route = Some(plan.route.clone());
        r.reason = Some(reason.clone());
        if let Some(s) = &plan.shadow {
            r.shadow_model = Some(s.model.clone());
            r.shadow_upstream = Some(s.upstream_model.clone());
        }
    });
    let pending = match look_up(&mut ctx, &plan, &raw).await {
        Ok(pending) => pending,
        Err((entry, similarity)) => return hit_reply(ctx, &raw, &plan, &entry, similarity),
    };
    if crate::cache::policy::only_if_cached(ctx.headers) {
        return ctx.fail(GatewayError::NotCached);
    }
    let budget_warning = match ctx.admit(&plan, &raw).await {
        Ok(w) => w,
        Err(e) => {
            let capped = match e {
                GatewayError::BudgetExceeded { .. } => ctx.standing().await,
                _ => None,
            };
            let mut reply = ctx.fail(e);
            if let Some(s) = capped {
                let now = crate::teams::view::now_ms();
                super::budget::set_unified(
                    reply.headers_mut(),
                    &crate::teams::unified::rejected_headers(&s, now),
                );
            }
            return reply;
        }
    };
    let standing = match ctx.dialect() {
        crate::core::Dialect::Anthropic => ctx.standing().await,
        _ => None,
    };
    if let Some(soft) = budget_warning.as_ref().filter(|s| s.step_down) {
        let why = format!("past the soft limit of {}", soft.message);
        ctx.state
            .router
            .step_down(&mut plan, &raw, ctx.headers, &why);
        if let Err(e) = ctx.keep_allowed_tiers(&mut plan) {
            return ctx.fail(e);
        }
        reason = plan.reason_line();
        ctx.record.update(|r| r.reason = Some(reason.clone()));
    }
    let canonical = match translate_if_needed(&ctx, &plan, &raw) {
        Ok(c) => c,
        Err(e) => return ctx.fail(e),
    };
    // What is about to be tried, in case the client leaves mid-attempt.
    if let Some(t) = plan.targets.first() {
        ctx.record.update(|r| {
            r.tier = t.tier.clone();
            r.model = Some(t.model.name.clone());
            r.provider = Some(t.provider.name.clone());
            r.upstream_model = Some(t.upstream_model.clone());
        });
    }
    let success = match dispatch(&ctx, &plan, &raw, canonical.as_ref()).await {
        Ok(s) => s,
        Err(e) => return ctx.fail(e),
    };
    ctx.state.router.served(&plan, success.target);
    ctx.note_tier_cap(&plan, success.target, &raw);
    let keep = keep_for(&ctx, pending, &plan, success.target);
    record_target(&mut ctx.record, &plan, &success);
    let escalated = note_escalations(&mut ctx.record, &success);
    let (target, attempts) = (success.target, success.attempts);
    let dialect = ctx.dialect();
    let (cache, guard_note) = (ctx.cache, ctx.guard_note.or(escalated));
    let mut reply = match success.value {
        Opened::Stream(mut relay) => {
            relay.stop_on(ctx.state.stop_signal());
            let breaker = plan
                .targets
                .get(target)
                .map(|t| (ctx.state.router.health_handle(), t.key()));
            relay_reply(ctx.record, relay, keep, dialect, breaker)
        }
        Opened::Json { body, meter } => {
            if let Some(keep) = keep
                && let Some(answer) = answer_of(dialect, &body)
            {
                let usage = meter.usage();
                keep.cache.put_later(
                    keep.pending,
                    Entry {
                        answer,
                        origin: keep.origin,
                        usage,
                    },
                );
            }
            finish_whole(ctx.record, &meter);
            json_reply(body)
        }
    };
    served_by(reply.headers_mut(), &plan, &reason, (target, attempts));
    if let Some(s) = standing {
        super::budget::set_unified(
            reply.headers_mut(),
            &crate::teams::unified::allowed_headers(&s),
        );
    }
    if let Some(w) = budget_warning.and_then(|w| http::HeaderValue::from_str(&w.message).ok()) {
        reply.headers_mut().insert("x-switchyard-budget-warning", w);
    }
    if let Some(cache) = cache {
        cache.set_headers(reply.headers_mut());
    }
    if let Some(verb) = guard_note {
        reply
            .headers_mut()
            .insert("x-switchyard-guard", http::HeaderValue::from_static(verb));
    }
    reply
}

/// Ask the response cache. `Err` is a hit to answer from; `Ok` carries what
/// a miss needs to store the answer later.
async fn look_up(
    ctx: &mut RequestContext<'_>,
    plan: &Plan,
    raw: &RawRequest,
) -> Result<Option<Pending>, (Arc<Entry>, Option<f32>)> {
    let (status, pending) = match &ctx.state.cache {
        None => (CacheStatus::Skip("off"), None),
        Some(cache) => match cache.lookup(plan, raw, ctx.headers, ctx.dialect()).await {
            Lookup::Hit { entry, similarity } => return Err((entry, similarity)),
            Lookup::Miss(p) => (CacheStatus::Miss, Some(p)),
            Lookup::Skip(why) => (CacheStatus::Skip(why), None),
        },
    };
    ctx.cache = Some(status);
    ctx.record.update(|r| r.cache = Some(status.usage()));
    Ok(pending)
}

/// The canonical request, when some target cannot take the client's body.
fn translate_if_needed(
    ctx: &RequestContext<'_>,
    plan: &Plan,
    raw: &RawRequest,
) -> Result<Option<ChatRequest>, GatewayError> {
    let dialect = ctx.dialect();
    let needed = plan
        .targets
        .iter()
        .any(|t| !t.provider.passes_through(dialect));
    needed
        .then(|| ctx.codec.canonical(raw))
        .transpose()
        .map_err(GatewayError::InvalidRequest)
}

/// Run the attempt loop over the plan's targets.
async fn dispatch(
    ctx: &RequestContext<'_>,
    plan: &Plan,
    raw: &RawRequest,
    canonical: Option<&ChatRequest>,
) -> Result<Success<Opened>, GatewayError> {
    let total = ctx.route_of(plan).and_then(|r| r.timeouts.total);
    let deadline = Instant::now() + total.unwrap_or(ctx.state.config.timeouts.total);
    attempt_each(ctx, plan, raw, canonical, deadline, OpenMessages(deadline)).await
}

/// A chat attempt, opened far enough to know it worked.
struct OpenMessages(Instant);

impl Attempt for OpenMessages {
    type Out = Opened;

    fn run<'a>(
        &'a self,
        provider: &'a Provider,
        call: &'a Call<'a>,
    ) -> impl Future<Output = Result<Opened, UpstreamError>> + Send + 'a {
        provider.open_messages(call, self.0)
    }
}

/// What to store the answer under, when the cache missed.
fn keep_for(
    ctx: &RequestContext<'_>,
    pending: Option<Pending>,
    plan: &Plan,
    target: usize,
) -> Option<Keep> {
    let (cache, pending, t) = (
        ctx.state.cache.as_ref()?,
        pending?,
        plan.targets.get(target)?,
    );
    Some(Keep {
        cache: cache.clone(),
        pending,
        origin: Origin {
            model: t.model.name.clone(),
            provider: t.provider.name.clone(),
            upstream_model: t.upstream_model.clone(),
            tier: t.tier.clone(),
        },
    })
}

/// Record who served the request.
fn record_target(record: &mut RecordGuard, plan: &Plan, success: &Success<Opened>) {
    if let Some(t) = plan.targets.get(success.target) {
        record.update(|r| {
            r.tier = t.tier.clone();
            r.model = Some(t.model.name.clone());
            r.provider = Some(t.provider.name.clone());
            r.upstream_model = Some(t.upstream_model.clone());
            r.attempts = success.attempts;
            r.fallbacks = success.target as u32;
            r.upstream_time = success.upstream_time;
        });
    }
}

/// Record the attempts that failed for a refused tool call (the next
/// target was asked); `Some("escalated")` when there were any.
fn note_escalations(record: &mut RecordGuard, success: &Success<Opened>) -> Option<&'static str> {
    let mut any = None;
    for f in &success.failures {
        if let Some(note) = f
            .error
            .message
            .strip_prefix(crate::guard::tools::ESCALATION)
        {
            record.note_guard(&format!("escalated from {}: {note}", f.model));
            metrics::counter!("switchyard_guard_tool_calls_total", "action" => "escalated")
                .increment(1);
            any = Some("escalated");
        }
    }
    any
}

/// Record the tool calls refused in an answer.
fn note_refusals(record: &mut RecordGuard, meter: &UsageMeter) {
    for note in &meter.refused_tools {
        record.note_guard(&format!("refused: {note}"));
        metrics::counter!("switchyard_guard_tool_calls_total", "action" => "refused").increment(1);
    }
}

/// Finish the record of a whole answer.
fn finish_whole(mut record: RecordGuard, meter: &UsageMeter) {
    note_refusals(&mut record, meter);
    record.update(|r| {
        r.usage = meter.usage();
        r.stop_reason = meter.stop_reason.clone();
        r.response_model = meter.model.clone();
    });
    record.finish(200, Outcome::Success, None);
}

/// Whether a stream that began well ended by the provider's fault (a
/// stall, a reset, an error event): its breaker hears of it. A cap, a
/// refusal, the request's own total deadline, the client leaving or a
/// shutdown say nothing about the provider.
fn provider_failed(end: &StreamEnd, meter: &UsageMeter) -> bool {
    let kind = match (end, &meter.error) {
        (StreamEnd::Failed(e), _) => e.kind,
        (StreamEnd::Completed, Some(e)) => crate::error::kind_for_anthropic_error_type(&e.kind),
        _ => return false,
    };
    counts_against_target(kind) && kind != UpstreamErrorKind::Timeout(TimeoutKind::Total)
}

/// Relay a stream; the record is finished when the stream ends, however.
fn relay_reply(
    mut record: RecordGuard,
    mut relay: Relay,
    keep: Option<Keep>,
    dialect: crate::core::Dialect,
    breaker: Option<(Arc<Health>, String)>,
) -> Reply {
    record.update(|r| r.ttft = Some(r.started.elapsed()));
    if let Some(keep) = keep {
        relay.tap(Box::new(Capture::new(
            keep.cache,
            keep.pending,
            keep.origin,
            dialect,
        )));
    }
    relay.on_end(Box::new(move |end, meter| {
        let mut record = record;
        if let Some((health, key)) = breaker
            && provider_failed(&end, meter)
        {
            health.record(&key, false);
        }
        note_refusals(&mut record, meter);
        record.update(|r| {
            r.usage = meter.usage();
            r.output_estimated = meter.output_estimated();
            r.stop_reason = meter.stop_reason.clone();
            r.response_model = meter.model.clone();
        });
        match (end, &meter.error) {
            (StreamEnd::Completed, None) => record.finish(200, Outcome::Success, None),
            (StreamEnd::Completed, Some(error)) => {
                record.finish(200, Outcome::StreamFailed, Some(&error.kind))
            }
            (StreamEnd::Failed(e), _) => {
                record.finish(200, Outcome::StreamFailed, Some(e.kind.as_str()))
            }
            (StreamEnd::Stopped, _) => record.finish(200, Outcome::StreamFailed, Some("shutdown")),
            (StreamEnd::ClientGone, _) => record.finish(
                CLIENT_CLOSED_STATUS,
                Outcome::ClientAborted,
                Some("client_closed"),
            ),
        }
    }));
    sse_reply(ReplyBody::Stream(Box::new(relay)))
}

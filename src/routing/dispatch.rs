//! The attempt loop: try each target of a plan, falling back on failures
//! another target could avoid (retrying the last target with backoff),
//! skipping targets whose circuit is open, and stopping at the first
//! success, at a failure the client caused, or at the request's deadline.

use super::health::{Admission, Health, counts_against_target};
use super::{Plan, Target};
use crate::config::RetryPolicy;
use crate::error::{FailedAttempt, GatewayError, TimeoutKind, UpstreamError, UpstreamErrorKind};
use std::future::Future;
use tokio::time::Instant;

/// How a successful plan ran.
#[derive(Debug)]
pub struct Success<T> {
    /// What the winning attempt produced.
    pub value: T,
    /// Index of the target that served it.
    pub target: usize,
    /// Attempts made in all (1 when the first try worked).
    pub attempts: u32,
    /// The failures (and skipped targets) before the success.
    pub failures: Vec<FailedAttempt>,
    /// Time spent inside attempts (waiting on providers).
    pub upstream_time: std::time::Duration,
}

fn failed(target: &Target, error: UpstreamError) -> FailedAttempt {
    FailedAttempt {
        model: target.model.name.clone(),
        provider: target.provider.name.clone(),
        error,
    }
}

/// Which targets to try: those their breakers would admit, in plan order;
/// if every one is cooling down, the one that recovers first (forced: it
/// is tried whatever its breaker says by then).
fn admitted(plan: &Plan, health: &Health, skipped: &mut Vec<FailedAttempt>) -> Vec<(usize, bool)> {
    let mut order = Vec::new();
    let mut soonest: Option<(usize, std::time::Instant)> = None;
    for (i, t) in plan.targets.iter().enumerate() {
        match health.peek(&t.key()) {
            Admission::Allowed | Admission::Probe => order.push((i, false)),
            Admission::CoolingDown(until) => {
                let left = until.saturating_duration_since(std::time::Instant::now());
                skipped.push(failed(
                    t,
                    UpstreamError::new(
                        UpstreamErrorKind::CoolingDown,
                        format!(
                            "skipped: cooling down after repeated failures ({}s left)",
                            left.as_secs()
                        ),
                    ),
                ));
                if soonest.is_none_or(|(_, u)| until < u) {
                    soonest = Some((i, until));
                }
            }
        }
    }
    if order.is_empty()
        && let Some((i, _)) = soonest
    {
        order.push((i, true));
    }
    order
}

/// Run `attempt` against the plan's targets until one succeeds; it is told
/// whether the try is the plan's last.
pub async fn run<T, F, Fut>(
    plan: &Plan,
    retry: &RetryPolicy,
    deadline: Instant,
    health: &Health,
    mut attempt: F,
) -> Result<Success<T>, GatewayError>
where
    F: FnMut(&Target, bool) -> Fut,
    Fut: Future<Output = Result<T, UpstreamError>>,
{
    let mut failures: Vec<FailedAttempt> = Vec::new();
    let order = admitted(plan, health, &mut failures);
    let began = Instant::now();
    let mut attempts = 0;
    let mut upstream_time = std::time::Duration::ZERO;
    let last = order.len().saturating_sub(1);
    'targets: for (position, (index, forced)) in order.into_iter().enumerate() {
        let target = &plan.targets[index];
        // Take the probe now that the attempt is made; another request may
        // have taken it since planning.
        if let Admission::CoolingDown(_) = health.admit(&target.key())
            && !forced
        {
            failures.push(failed(
                target,
                UpstreamError::new(
                    UpstreamErrorKind::CoolingDown,
                    "skipped: another request is probing it".to_string(),
                ),
            ));
            continue;
        }
        // With another target to fall back to, moving on beats waiting for
        // this one; the last target is retried.
        let retries = if position == last { retry.attempts } else { 0 };
        let key = target.key();
        for try_no in 0..=retries {
            // Nothing left of the budget: a target tried now could only time
            // out, and would be charged for another's slowness.
            if attempts > 0 && Instant::now() >= deadline {
                break 'targets;
            }
            attempts += 1;
            let started = Instant::now();
            // No target after this one: nothing to escalate to (a refused
            // tool call is not retried on the same target).
            let outcome = tokio::time::timeout_at(deadline, attempt(target, position == last))
                .await
                .unwrap_or_else(|_| Err(UpstreamError::timeout(TimeoutKind::Total)));
            upstream_time += started.elapsed();
            let error = match outcome {
                Ok(value) => {
                    health.record(&key, true);
                    return Ok(Success {
                        value,
                        target: index,
                        attempts,
                        failures,
                        upstream_time,
                    });
                }
                Err(e) => e,
            };
            // The total deadline is the request's: it counts against a
            // target only when that target took most of the time.
            let own_fault = error.kind != UpstreamErrorKind::Timeout(TimeoutKind::Total)
                || started.duration_since(began) < started.elapsed();
            if counts_against_target(error.kind) && own_fault {
                health.record(&key, false);
            }
            tracing::warn!(
                model = %target.model.name,
                provider = %target.provider.name,
                attempt = attempts,
                error = %error,
                "upstream attempt failed"
            );
            let kind = error.kind;
            failures.push(failed(target, error));
            if kind == UpstreamErrorKind::Timeout(TimeoutKind::Total) {
                break 'targets;
            }
            let delay = retry.delay(try_no + 1);
            if kind.is_retryable() && try_no < retries && Instant::now() + delay < deadline {
                tokio::time::sleep(delay).await;
                continue;
            }
            if kind.should_fallback() {
                continue 'targets;
            }
            break 'targets;
        }
    }
    // Skipped targets explain the error but do not decide its status.
    failures.sort_by_key(|f| f.error.kind != UpstreamErrorKind::CoolingDown);
    Err(GatewayError::Upstream { attempts: failures })
}

#[cfg(test)]
#[allow(clippy::disallowed_types)]
mod tests {
    use super::*;
    use crate::config::{ConfigSource, load_str};
    use crate::error::UpstreamErrorKind as K;
    use crate::routing::Router;
    use std::sync::Mutex;
    use std::time::Duration;

    fn plan_with(n: usize) -> Plan {
        let c = load_str(
            "auth = \"none\"\n[providers.p]\nkind = \"anthropic\"\nbase_url = \"http://127.0.0.1:1\"\n[models.m]\nprovider = \"p\"",
            ConfigSource::Embedded,
            &|_| None,
        )
        .unwrap();
        let r = Router::new(&c).unwrap();
        let raw = crate::core::RawRequest::parse(
            bytes::Bytes::from_static(br#"{"model":"m","max_tokens":1,"messages":[]}"#),
            crate::core::BodyKind::Messages,
        )
        .unwrap();
        let mut plan = r.plan(&raw, &http::HeaderMap::new()).unwrap();
        let t = plan.targets[0].clone();
        plan.targets = (0..n).map(|_| t.clone()).collect();
        plan
    }

    fn retry() -> RetryPolicy {
        RetryPolicy {
            attempts: 2,
            backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
        }
    }

    /// Script: the n-th call returns the n-th outcome (Ok = success).
    async fn run_script(
        targets: usize,
        script: Vec<Result<(), K>>,
    ) -> (Result<Success<()>, GatewayError>, usize) {
        let plan = plan_with(targets);
        let calls = Mutex::new(script.into_iter());
        let count = Mutex::new(0);
        let health = Health::new(Default::default());
        let r = run(
            &plan,
            &retry(),
            Instant::now() + Duration::from_secs(5),
            &health,
            |_, _| {
                *count.lock().unwrap() += 1;
                let next = calls.lock().unwrap().next().unwrap_or(Ok(()));
                async move { next.map_err(|k| UpstreamError::new(k, "scripted")) }
            },
        )
        .await;
        let n = *count.lock().unwrap();
        (r, n)
    }

    #[tokio::test]
    async fn retries_then_succeeds() {
        let (r, calls) = run_script(1, vec![Err(K::Server), Err(K::Overloaded), Ok(())]).await;
        let s = r.unwrap();
        assert_eq!(
            (calls, s.attempts, s.target, s.failures.len()),
            (3, 3, 0, 2)
        );
    }

    #[tokio::test]
    async fn retries_are_bounded() {
        let (r, calls) = run_script(1, vec![Err(K::Server); 10]).await;
        assert_eq!(calls, 3, "1 try + 2 retries");
        let e = r.unwrap_err();
        assert_eq!(e.status().as_u16(), 502);
    }

    #[tokio::test]
    async fn client_errors_stop_at_once() {
        let (r, calls) = run_script(3, vec![Err(K::InvalidRequest)]).await;
        assert_eq!(calls, 1);
        assert!(matches!(r, Err(GatewayError::Upstream { attempts }) if attempts.len() == 1));
    }

    #[tokio::test]
    async fn falls_back_without_retrying_what_retry_cannot_fix() {
        // 429 and auth failures are not retried on the same target but do fall back.
        let (r, calls) = run_script(3, vec![Err(K::RateLimited), Err(K::Auth), Ok(())]).await;
        let s = r.unwrap();
        assert_eq!((calls, s.target), (3, 2));
    }

    #[tokio::test]
    async fn deadline_stops_everything() {
        let plan = plan_with(2);
        let health = Health::new(Default::default());
        let r: Result<Success<()>, _> = run(
            &plan,
            &retry(),
            Instant::now() + Duration::from_millis(30),
            &health,
            |_, _| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                Ok(())
            },
        )
        .await;
        let e = r.unwrap_err();
        assert_eq!(e.status().as_u16(), 504);
        assert_eq!(e.kind_str(), "timeout_total");
    }

    #[tokio::test]
    async fn cooling_targets_are_skipped_and_probed_last() {
        let mut plan = plan_with(2);
        // Make the two targets distinct: the second goes to another model id.
        plan.targets[1].upstream_model = "other".into();
        let health = Health::new(Default::default());
        for _ in 0..3 {
            health.record(&plan.targets[0].key(), false);
        }
        let tried = Mutex::new(Vec::new());
        let r = run(
            &plan,
            &retry(),
            Instant::now() + Duration::from_secs(5),
            &health,
            |t, _| {
                tried.lock().unwrap().push(t.upstream_model.clone());
                async { Ok::<_, UpstreamError>(()) }
            },
        )
        .await
        .unwrap();
        assert_eq!(
            *tried.lock().unwrap(),
            ["other"],
            "the open target was not called"
        );
        assert_eq!((r.target, r.attempts), (1, 1));
        assert_eq!(r.failures[0].error.kind, K::CoolingDown);
        // Everything cooling down: the first to recover is tried anyway.
        for _ in 0..3 {
            health.record(&plan.targets[1].key(), false);
        }
        tried.lock().unwrap().clear();
        let r = run(
            &plan,
            &retry(),
            Instant::now() + Duration::from_secs(5),
            &health,
            |t, _| {
                tried.lock().unwrap().push(t.upstream_model.clone());
                async { Ok::<_, UpstreamError>(()) }
            },
        )
        .await
        .unwrap();
        assert_eq!(tried.lock().unwrap().len(), 1);
        assert_eq!(r.failures.len(), 2, "both listed as skipped");
    }

    /// Run `plan` with every attempt answering.
    async fn answer(plan: &Plan, health: &Health) -> Result<Success<()>, GatewayError> {
        let deadline = Instant::now() + Duration::from_secs(5);
        run(plan, &retry(), deadline, health, |_, _| async {
            Ok::<_, UpstreamError>(())
        })
        .await
    }

    #[tokio::test]
    async fn a_probe_is_taken_only_by_the_attempt_that_makes_it() {
        // The local tier's chain is [local, haiku]; haiku has cooled down
        // and is due a probe, but local answers first. Haiku must not be
        // left half-open with nobody probing it.
        let mut plan = plan_with(2);
        plan.targets[1].upstream_model = "haiku".into();
        let haiku = plan.targets[1].key();
        let health = Health::new(crate::config::HealthConfig {
            failures: 1,
            cooldown: Duration::from_millis(20),
            max_cooldown: Duration::from_millis(40),
        });
        health.record(&haiku, false);
        tokio::time::sleep(Duration::from_millis(25)).await;
        for _ in 0..3 {
            assert_eq!(answer(&plan, &health).await.unwrap().target, 0);
        }
        assert_eq!(
            health.peek(&haiku),
            Admission::Probe,
            "still due, not stuck"
        );
        let mut only_haiku = plan.clone();
        only_haiku.targets.remove(0);
        let r = answer(&only_haiku, &health).await.unwrap();
        assert_eq!(
            (r.attempts, r.failures.len()),
            (1, 0),
            "the probe went and closed it"
        );
        assert!(health.snapshot().is_empty());
    }
}

//! The attempt loop: try each target of a plan, retrying retryable failures
//! with backoff, falling back on failures another target could avoid, and
//! stopping at the first success, at a failure the client caused, or at the
//! request's deadline.

use super::{Plan, Target};
use crate::config::RetryPolicy;
use crate::error::{FailedAttempt, GatewayError, TimeoutKind, UpstreamError};
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
    /// The failures before the success.
    pub failures: Vec<FailedAttempt>,
}

/// Run `attempt` against the plan's targets until one succeeds.
pub async fn run<T, F, Fut>(
    plan: &Plan,
    retry: &RetryPolicy,
    deadline: Instant,
    mut attempt: F,
) -> Result<Success<T>, GatewayError>
where
    F: FnMut(&Target) -> Fut,
    Fut: Future<Output = Result<T, UpstreamError>>,
{
    let mut failures: Vec<FailedAttempt> = Vec::new();
    let mut attempts = 0;
    'targets: for (index, target) in plan.targets.iter().enumerate() {
        for try_no in 0..=retry.attempts {
            attempts += 1;
            let outcome = tokio::time::timeout_at(deadline, attempt(target))
                .await
                .unwrap_or_else(|_| Err(UpstreamError::timeout(TimeoutKind::Total)));
            let error = match outcome {
                Ok(value) => {
                    return Ok(Success {
                        value,
                        target: index,
                        attempts,
                        failures,
                    });
                }
                Err(e) => e,
            };
            tracing::warn!(
                model = %target.model.name,
                provider = %target.provider.name,
                attempt = attempts,
                error = %error,
                "upstream attempt failed"
            );
            let kind = error.kind;
            failures.push(FailedAttempt {
                model: target.model.name.clone(),
                provider: target.provider.name.clone(),
                error,
            });
            if kind == crate::error::UpstreamErrorKind::Timeout(TimeoutKind::Total) {
                break 'targets;
            }
            let delay = retry.delay(try_no + 1);
            if kind.is_retryable() && try_no < retry.attempts && Instant::now() + delay < deadline {
                tokio::time::sleep(delay).await;
                continue;
            }
            if kind.should_fallback() {
                continue 'targets;
            }
            break 'targets;
        }
    }
    Err(GatewayError::Upstream { attempts: failures })
}

#[cfg(test)]
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
        let mut plan = r.plan("m").unwrap();
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
        let r = run(
            &plan,
            &retry(),
            Instant::now() + Duration::from_secs(5),
            |_| {
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
        let r: Result<Success<()>, _> = run(
            &plan,
            &retry(),
            Instant::now() + Duration::from_millis(30),
            |_| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                Ok(())
            },
        )
        .await;
        let e = r.unwrap_err();
        assert_eq!(e.status().as_u16(), 504);
        assert_eq!(e.kind_str(), "timeout_total");
    }
}

//! The shared state of a running gateway: config, router (providers,
//! models, health), response cache, record sink and ledger store. Built
//! once at start; every request borrows it. HTTP-free: the pipeline, the
//! API handlers and the dashboard all read it.

use crate::config::Config;
use crate::routing::Router;
use crate::teams::KeyRing;
use crate::teams::limits::{Limits, Settle, spawn_reconciler};
use crate::telemetry::LogAndMetrics;
use crate::usage::{RecordSink, Tee};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The address a request's connection came from (set per connection).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

/// Failed authentications per client address: after [`AuthFailures::LIMIT`]
/// in a window, that address is refused with 429 until the window ends,
/// and only the first failure and the one that starts the throttling are
/// logged.
pub struct AuthFailures {
    counts: moka::sync::Cache<IpAddr, Arc<AtomicU32>>,
}

impl Default for AuthFailures {
    fn default() -> Self {
        AuthFailures {
            counts: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Self::WINDOW)
                .build(),
        }
    }
}

impl AuthFailures {
    /// Failures allowed per address and window.
    pub const LIMIT: u32 = 20;
    /// The window (counted from an address's first failure).
    pub const WINDOW: Duration = Duration::from_secs(60);

    /// Whether `ip` is refused for now.
    pub fn throttled(&self, ip: Option<IpAddr>) -> bool {
        ip.and_then(|ip| self.counts.get(&ip))
            .is_some_and(|n| n.load(Ordering::Relaxed) >= Self::LIMIT)
    }

    /// Count a failure from `ip` and log it when it is the first of the
    /// window (`what` says what failed) or the one that starts throttling.
    pub fn failed(&self, ip: Option<IpAddr>, what: impl FnOnce() -> String) {
        let count = match ip {
            Some(ip) => {
                let n = self.counts.get_with(ip, || Arc::new(AtomicU32::new(0)));
                n.fetch_add(1, Ordering::Relaxed) + 1
            }
            None => 1,
        };
        let client = ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
        if count == 1 {
            tracing::warn!(client = %client, "{}", what());
        } else if count == Self::LIMIT {
            tracing::warn!(
                client = %client,
                failures = count,
                window_secs = Self::WINDOW.as_secs(),
                "too many failed authentications: this address is refused with 429 until its window ends"
            );
        }
    }
}

/// Everything a handler needs, shared by all requests.
pub struct AppState {
    /// The running config.
    pub config: Config,
    /// Model resolution and providers.
    pub router: Router,
    /// Where finished request records go (logs and metrics, then the
    /// sinks given to [`AppState::new`]).
    pub sink: Arc<dyn RecordSink>,
    /// When the gateway started (RFC 3339), for `/v1/models`.
    pub started_at: String,
    /// The ledger's database, for reports (none when running without one).
    pub store: Option<crate::store::Store>,
    /// The response cache, when configured.
    pub cache: Option<Arc<crate::cache::ResponseCache>>,
    /// Set when in-flight streams must end (shutdown past its grace time).
    stopping: tokio::sync::watch::Sender<bool>,
    /// Set when shutdown has begun: `/readyz` fails from then on.
    draining: std::sync::atomic::AtomicBool,
    /// Failed authentications by address (API keys and dashboard sign-ins).
    pub auth_failures: AuthFailures,
    /// Dashboard session cookies signed out of, kept until they would have
    /// expired (12 hours).
    pub revoked_sessions: moka::sync::Cache<String, ()>,
    /// Client keys (read from the ledger's database, kept fresh).
    pub keys: Arc<KeyRing>,
    /// Budgets and rate limits per key, developer and team.
    pub limits: Arc<Limits>,
    /// Reads requests for secrets and sensitive files (`[guard]`).
    pub guard: crate::guard::RequestGuard,
    /// Checks the tool calls answers propose (`[guard] tools`).
    pub tools: Arc<crate::guard::tools::ToolChecker>,
    /// Exports each request's spans (`[traces]`), when configured.
    pub traces: Option<Arc<crate::telemetry::otlp::Spans>>,
    /// Sign-in with the identity provider (`[signin]`), when configured.
    pub signin: Option<Arc<crate::signin::SignIn>>,
}

/// How often an instance reads the key table for changes (a revoked key
/// stops working everywhere within about this long).
pub const KEY_REFRESH: Duration = Duration::from_secs(1);

impl AppState {
    /// Build the state for a config (discovering provider models); finished
    /// records go to the log, the metrics, and each of `sinks`.
    pub async fn new(
        config: Config,
        sinks: Vec<Arc<dyn RecordSink>>,
        store: Option<crate::store::Store>,
    ) -> Result<Self, String> {
        crate::telemetry::prometheus();
        let cache = match &config.cache {
            Some(c) => Some(Arc::new(crate::cache::ResponseCache::new(c)?)),
            None => None,
        };
        let pricer =
            crate::usage::ledger::Pricer::new(&config, crate::usage::setup::price_book(&config)?);
        let prices = pricer.model_prices(&config);
        let guard = crate::guard::RequestGuard::new(&config.guard)?;
        let tools = Arc::new(crate::guard::tools::ToolChecker::new(&config.guard)?);
        let mut router = Router::new(&config)?;
        router.set_prices(prices.clone());
        router.discover(std::time::Duration::from_secs(3)).await;
        let mut all: Vec<Arc<dyn RecordSink>> = vec![Arc::new(LogAndMetrics)];
        all.extend(sinks);
        let keys = Arc::new(KeyRing::default());
        keys.apply_static(&config.keys);
        if let Some(store) = &store {
            keys.refresh(store)
                .await
                .map_err(|e| format!("cannot read the client keys: {e}"))?;
            keys.clone().spawn_refresher(store.clone(), KEY_REFRESH);
        }
        let limits = Arc::new(Limits::new(&config, prices)?);
        if let Some(url) = &config.limits.redis_url {
            let shared = crate::routing::peers::Shared {
                health: router.health_handle(),
                sessions: router.sessions_handle(),
            };
            crate::routing::peers::share(shared, url)?;
        }
        if let Some(store) = &store {
            limits
                .refresh_spend_limits(store)
                .await
                .map_err(|e| format!("cannot read the spend limits: {e}"))?;
            limits
                .reconcile(store, &keys.own_rules(), crate::teams::view::now_ms())
                .await
                .map_err(|e| format!("cannot read the budgets' spend from the ledger: {e}"))?;
            crate::teams::spend_limits::spawn_refresher(limits.clone(), store.clone(), KEY_REFRESH);
            spawn_reconciler(limits.clone(), keys.clone(), store.clone());
        }
        let traces = match &config.traces {
            Some(t) => Some(Arc::new(crate::telemetry::otlp::Spans::start(
                t,
                pricer.clone(),
            )?)),
            None => None,
        };
        if let Some(t) = &traces {
            all.push(t.clone());
        }
        let signin = match &config.signin {
            Some(c) => Some(Arc::new(crate::signin::SignIn::new(c)?)),
            None => None,
        };
        if let (Some(signin), Some(store)) = (&signin, &store) {
            signin.share_through(store.clone());
            crate::signin::fleet::follow(signin.clone(), store.clone(), KEY_REFRESH)
                .await
                .map_err(|e| format!("cannot read the sign-in revocations: {e}"))?;
        }
        all.push(Arc::new(Settle {
            limits: limits.clone(),
            pricer,
        }));
        let sink: Arc<dyn RecordSink> = Arc::new(Tee(all));
        let started_at = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string());
        Ok(AppState {
            config,
            router,
            sink,
            started_at,
            store,
            cache,
            stopping: tokio::sync::watch::Sender::new(false),
            draining: std::sync::atomic::AtomicBool::new(false),
            auth_failures: AuthFailures::default(),
            revoked_sessions: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(12 * 3600))
                .build(),
            keys,
            limits,
            guard,
            tools,
            traces,
            signin,
        })
    }

    /// Resolves when in-flight streams must end.
    pub fn stop_signal(&self) -> crate::stream::relay::StopSignal {
        let mut stopping = self.stopping.subscribe();
        Box::pin(async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        })
    }

    /// Shutdown has begun: readiness fails from now on.
    pub fn start_draining(&self) {
        self.draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether shutdown has begun.
    pub fn draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// End every in-flight stream now: each gets an error event in its
    /// client's dialect and its ledger row.
    pub fn stop_streams(&self) {
        self.stopping.send_replace(true);
    }
}

//! The shared state of a running gateway: config, router (providers,
//! models, health), response cache, record sink and ledger store. Built
//! once at start; every request borrows it. HTTP-free: the pipeline, the
//! API handlers and the dashboard all read it.

use crate::config::Config;
use crate::routing::Router;
use crate::telemetry::LogAndMetrics;
use crate::usage::{RecordSink, Tee};
use std::sync::Arc;

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
}

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
        let mut router = Router::new(&config)?;
        router.set_prices(crate::usage::setup::model_prices(&config)?);
        router.discover(std::time::Duration::from_secs(3)).await;
        let mut all: Vec<Arc<dyn RecordSink>> = vec![Arc::new(LogAndMetrics)];
        all.extend(sinks);
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
        })
    }

    /// Resolves when in-flight streams must end.
    pub fn stop_signal(&self) -> crate::stream::relay::StopSignal {
        let mut stopping = self.stopping.subscribe();
        Box::pin(async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        })
    }

    /// End every in-flight stream now: each gets an error event in its
    /// client's dialect and its ledger row.
    pub fn stop_streams(&self) {
        self.stopping.send_replace(true);
    }
}

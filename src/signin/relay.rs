//! Claude Code's own telemetry, relayed. Signed in to a gateway, Claude
//! Code sends its OpenTelemetry metrics, logs and traces (OTLP/HTTP,
//! protobuf or JSON) to `{gateway}/v1/{metrics,logs,traces}` instead of
//! wherever its environment points. The gateway answers `200` at once
//! (a `404` makes the client log an error on every flush) and, with
//! `[signin] telemetry_forward_to`, posts each export unchanged — body,
//! `content-type`, `content-encoding` — to every collector in the
//! background, with the configured headers and never the developer's
//! bearer. Bounded: past `MOST_IN_FLIGHT` exports on their way, new ones
//! are dropped (counted), and a collector that keeps failing is skipped
//! for half a minute.

// The per-collector failure counts sit behind a std lock, held for a map
// lookup and never across an await.
#![allow(clippy::disallowed_types)]

use crate::config::SignInConfig;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Exports on their way to collectors at once, at most.
const MOST_IN_FLIGHT: usize = 128;
/// Failures in a row that make a collector be skipped.
const TRIP_AFTER: u32 = 5;
/// How long a tripped collector is skipped.
const SKIP_FOR: Duration = Duration::from_secs(30);
/// Longest one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Default, Clone, Copy)]
struct Health {
    failures: u32,
    skip_until: Option<Instant>,
}

/// Where telemetry goes, and how much is on its way.
pub struct Relay {
    client: reqwest::Client,
    collectors: Vec<String>,
    headers: HeaderMap,
    in_flight: Arc<AtomicUsize>,
    dropped: AtomicU64,
    health: Arc<Mutex<HashMap<String, Health>>>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The headers carry the collectors' credentials: never printed.
        f.debug_struct("Relay")
            .field("collectors", &self.collectors)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// The relay of `[signin]` (none without `telemetry_forward_to`).
    pub fn new(config: &SignInConfig) -> Result<Option<Relay>, String> {
        if config.telemetry_forward_to.is_empty() {
            return Ok(None);
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &config.telemetry_headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("signin.telemetry_headers: bad header name {name:?}"))?;
            let mut value = HeaderValue::from_str(value.expose_secret()).map_err(|_| {
                format!("signin.telemetry_headers.{name}: not a valid header value")
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| format!("telemetry relay: {e}"))?;
        Ok(Some(Relay {
            client,
            collectors: config.telemetry_forward_to.clone(),
            headers,
            in_flight: Arc::new(AtomicUsize::new(0)),
            dropped: AtomicU64::new(0),
            health: Arc::default(),
        }))
    }

    /// Exports dropped because too many were on their way.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Send one export of `signal` to every collector, in the background.
    pub fn forward(&self, signal: &'static str, incoming: &HeaderMap, body: Bytes) {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= MOST_IN_FLIGHT {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            if self
                .dropped
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(100)
            {
                tracing::warn!(
                    in_flight = MOST_IN_FLIGHT,
                    "telemetry relay saturated: dropping Claude Code exports"
                );
            }
            return;
        }
        let mut headers = self.headers.clone();
        for name in [http::header::CONTENT_TYPE, http::header::CONTENT_ENCODING] {
            if let Some(v) = incoming.get(&name) {
                headers.insert(name, v.clone());
            }
        }
        let now = Instant::now();
        let targets: Vec<String> = {
            let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
            self.collectors
                .iter()
                .filter(|c| {
                    health
                        .get(*c)
                        .and_then(|h| h.skip_until)
                        .is_none_or(|t| t <= now)
                })
                .cloned()
                .collect()
        };
        let (client, in_flight, health) = (
            self.client.clone(),
            self.in_flight.clone(),
            self.health.clone(),
        );
        tokio::spawn(async move {
            let sends = targets.iter().map(|base| {
                client
                    .post(format!("{base}/v1/{signal}"))
                    .headers(headers.clone())
                    .body(body.clone())
                    .send()
            });
            let results = futures_util::future::join_all(sends).await;
            let mut health = health.lock().unwrap_or_else(|e| e.into_inner());
            for (base, result) in targets.iter().zip(results) {
                let h = health.entry(base.clone()).or_default();
                match result.map(|r| r.status()) {
                    Ok(s) if s.is_success() => *h = Health::default(),
                    // A collector refusing one payload is not down.
                    Ok(s) if s.is_client_error() => {
                        tracing::debug!(collector = %base, status = %s, "a collector refused a telemetry export");
                    }
                    outcome => {
                        h.failures += 1;
                        let why = match outcome {
                            Ok(s) => s.to_string(),
                            Err(e) => e.without_url().to_string(),
                        };
                        if h.failures >= TRIP_AFTER {
                            h.skip_until = Some(Instant::now() + SKIP_FOR);
                            h.failures = 0;
                            tracing::warn!(collector = %base, error = %why, "telemetry collector keeps failing; skipped for 30 s");
                        } else {
                            tracing::debug!(collector = %base, error = %why, "telemetry export failed");
                        }
                    }
                }
            }
            in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

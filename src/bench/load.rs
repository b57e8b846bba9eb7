//! The load generator: closed-loop workers over keep-alive HTTP/1.1
//! connections, latency samples in microseconds, and a slow-stream holder
//! that checks no stream stalls.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use std::time::{Duration, Instant};

/// The HTTP client every worker shares.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A client with one pooled connection per worker.
pub fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

/// Where requests go and what they carry.
#[derive(Debug, Clone)]
pub struct Target {
    /// Row label.
    pub label: String,
    /// Full URL of the endpoint.
    pub url: http::Uri,
    /// The JSON body.
    pub body: Bytes,
    /// Extra headers (auth, API version).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Target {
    /// The request, ready to send.
    pub fn request(&self) -> Result<Request<Full<Bytes>>, http::Error> {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(self.url.clone())
            .header("content-type", "application/json");
        for (k, v) in &self.headers {
            b = b.header(k, v);
        }
        b.body(Full::new(self.body.clone()))
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Worst.
    pub max: u64,
}

impl Percentiles {
    /// From unsorted samples.
    pub fn of(samples: &mut [u64]) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1]
        };
        Percentiles {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// One closed-loop run.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Row label.
    pub label: String,
    /// Requests in flight.
    pub concurrency: usize,
    /// Completed requests.
    pub requests: u64,
    /// Failed requests (transport errors and non-200 answers).
    pub errors: u64,
    /// Completed requests per second.
    pub rps: f64,
    /// Whole-request latency.
    pub latency_us: Percentiles,
    /// Time to the first body bytes (streams only).
    pub ttfb_us: Option<Percentiles>,
    /// CPU time the process serving the row (the gateway; the mock for
    /// the direct rows) spent per request, microseconds; `None` where its
    /// process is not known (`--target` gateways).
    pub cpu_us_per_request: Option<f64>,
}

#[derive(Default)]
struct WorkerStats {
    latency: Vec<u64>,
    ttfb: Vec<u64>,
    errors: u64,
}

/// Run `concurrency` workers against `target` for `duration`, each sending
/// a request as soon as its last one finished.
pub async fn closed_loop(
    client: &HttpClient,
    target: &Target,
    concurrency: usize,
    duration: Duration,
    stream: bool,
) -> Run {
    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, target) = (client.clone(), target.clone());
            tokio::spawn(async move {
                let mut stats = WorkerStats::default();
                while Instant::now() < deadline {
                    one_request(&client, &target, stream, &mut stats).await;
                }
                stats
            })
        })
        .collect();
    let mut all = WorkerStats::default();
    for w in workers {
        if let Ok(mut s) = w.await {
            all.latency.append(&mut s.latency);
            all.ttfb.append(&mut s.ttfb);
            all.errors += s.errors;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let requests = all.latency.len() as u64;
    Run {
        label: target.label.clone(),
        concurrency,
        requests,
        errors: all.errors,
        rps: requests as f64 / elapsed.max(1e-9),
        latency_us: Percentiles::of(&mut all.latency),
        ttfb_us: stream.then(|| Percentiles::of(&mut all.ttfb)),
        cpu_us_per_request: None,
    }
}

/// A closed-loop row, with the CPU time the process serving it (`pid`)
/// spent per request.
pub async fn measured(
    client: &HttpClient,
    t: &Target,
    concurrency: usize,
    duration: Duration,
    stream: bool,
    pid: Option<u32>,
) -> Run {
    let before = pid.and_then(super::procs::cpu_time);
    let mut run = closed_loop(client, t, concurrency, duration, stream).await;
    let after = pid.and_then(super::procs::cpu_time);
    if let (Some(b), Some(a)) = (before, after)
        && run.requests > 0
    {
        run.cpu_us_per_request =
            Some(a.saturating_sub(b).as_secs_f64() * 1e6 / run.requests as f64);
    }
    run
}

async fn one_request(client: &HttpClient, target: &Target, stream: bool, stats: &mut WorkerStats) {
    let Ok(req) = target.request() else {
        stats.errors += 1;
        return;
    };
    let t0 = Instant::now();
    let Ok(resp) = client.request(req).await else {
        stats.errors += 1;
        // Back off a little so a dead target does not spin the CPU.
        tokio::time::sleep(Duration::from_millis(5)).await;
        return;
    };
    let ok = resp.status().is_success();
    let mut body = resp.into_body();
    let mut first = None;
    loop {
        match body.frame().await {
            Some(Ok(frame)) => {
                if first.is_none() && frame.data_ref().is_some_and(|d| !d.is_empty()) {
                    first = Some(t0.elapsed());
                }
            }
            Some(Err(_)) => {
                stats.errors += 1;
                return;
            }
            None => break,
        }
    }
    if !ok {
        stats.errors += 1;
        return;
    }
    stats.latency.push(t0.elapsed().as_micros() as u64);
    if stream {
        stats
            .ttfb
            .push(first.unwrap_or_default().as_micros() as u64);
    }
}

/// The outcome of holding many slow streams open at once.
#[derive(Debug, Clone, Serialize)]
pub struct Hold {
    /// Row label.
    pub label: String,
    /// Streams opened.
    pub streams: usize,
    /// Streams that ran to their end.
    pub completed: u64,
    /// Streams that failed.
    pub errors: u64,
    /// Streams with a gap far longer than the drip.
    pub stalls: u64,
    /// The upstream's pause between chunks, in milliseconds.
    pub drip_ms: u64,
    /// The longest pause any client saw between chunks, in milliseconds.
    pub max_gap_ms: u64,
    /// Time to the first bytes across streams, in microseconds.
    pub ttfb_us: Percentiles,
    /// Wall time of the whole hold, in milliseconds.
    pub wall_ms: u64,
}

/// Open `n` streams over `ramp`, each dripping a chunk every `drip`, and
/// read them all to the end. A gap longer than the drip plus a second is a
/// stall.
pub async fn hold_streams(
    client: &HttpClient,
    target: &Target,
    n: usize,
    drip: Duration,
    ramp: Duration,
) -> Hold {
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (client, target) = (client.clone(), target.clone());
            let offset = ramp.mul_f64(i as f64 / n.max(1) as f64);
            tokio::spawn(async move {
                tokio::time::sleep(offset).await;
                one_stream(&client, &target).await
            })
        })
        .collect();
    let stall_after = drip + Duration::from_secs(1);
    let (mut completed, mut errors, mut stalls, mut max_gap) = (0, 0, 0, Duration::ZERO);
    let mut ttfb = Vec::with_capacity(n);
    for t in tasks {
        match t.await {
            Ok(Some((first, gap))) => {
                completed += 1;
                ttfb.push(first.as_micros() as u64);
                max_gap = max_gap.max(gap);
                if gap > stall_after {
                    stalls += 1;
                }
            }
            _ => errors += 1,
        }
    }
    Hold {
        label: target.label.clone(),
        streams: n,
        completed,
        errors,
        stalls,
        drip_ms: drip.as_millis() as u64,
        max_gap_ms: max_gap.as_millis() as u64,
        ttfb_us: Percentiles::of(&mut ttfb),
        wall_ms: start.elapsed().as_millis() as u64,
    }
}

/// Read one stream to its end: (time to first bytes, longest gap).
async fn one_stream(client: &HttpClient, target: &Target) -> Option<(Duration, Duration)> {
    let req = target.request().ok()?;
    let t0 = Instant::now();
    let resp = client.request(req).await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let mut body = resp.into_body();
    let (mut first, mut last, mut gap) = (None, Instant::now(), Duration::ZERO);
    while let Some(frame) = body.frame().await {
        if frame.ok()?.data_ref().is_some_and(|d| !d.is_empty()) {
            let now = Instant::now();
            if first.is_none() {
                first = Some(now - t0);
            } else {
                gap = gap.max(now - last);
            }
            last = now;
        }
    }
    Some((first?, gap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let mut s: Vec<u64> = (1..=100).rev().collect();
        let p = Percentiles::of(&mut s);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50, 90, 99, 100));
        let mut one = vec![7];
        assert_eq!(Percentiles::of(&mut one).p99, 7);
        assert_eq!(Percentiles::of(&mut []).p50, 0);
    }
}

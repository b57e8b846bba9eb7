//! `switchyard bench --soak DURATION`: mixed traffic with faults for a
//! bounded time, memory sampled as it goes. Both dialects, streamed and
//! whole answers, exact-cache hits and clients that leave mid-stream, while
//! the mock fails one request in ten (500, 529, a stream or body cut short,
//! an answer later than the gateway's first-byte limit). The gateway's
//! resident memory is read every few seconds; after a warm-up (one turn of
//! every kind of traffic), the last quarter of the run must not sit above
//! the first (5% and 4 MB of slack), or the soak says memory grew and fails.

use super::load::{self, HttpClient, Target};
use super::{BenchArgs, BenchDialect, mock_get, procs, target};
use http_body_util::BodyExt;
use serde::Serialize;
use std::time::{Duration, Instant};

/// How often memory is read (and traffic changes shape).
const SLICE: Duration = Duration::from_secs(5);
/// Requests in a hundred the mock fails.
const FAULT_PCT: u32 = 10;
/// Workers sending requests at once.
const WORKERS: usize = 16;

/// One memory reading.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Seconds since the start.
    pub at_s: f64,
    /// The gateway's resident memory, MB.
    pub rss_mb: f64,
    /// Requests answered so far (all kinds).
    pub requests: u64,
    /// Failed requests so far (faults the gateway could not hide).
    pub errors: u64,
}

/// What a soak found.
#[derive(Debug, Clone, Serialize)]
pub struct Soak {
    /// The memory series.
    pub samples: Vec<Sample>,
    /// Mean RSS of the first quarter after the warm-up, MB.
    pub settled_mb: f64,
    /// The same for the last quarter.
    pub final_mb: f64,
    /// Whether memory ended flat.
    pub flat: bool,
    /// Streams the client abandoned after their first bytes.
    pub abandoned: u64,
}

fn mean(samples: &[Sample]) -> f64 {
    samples.iter().map(|s| s.rss_mb).sum::<f64>() / samples.len().max(1) as f64
}

/// Whether a series ends flat: past the first `warmup` readings (one
/// turn of every kind of traffic, so caches and pools have filled), the
/// last quarter's mean within 5% (and 4 MB) of the first quarter's.
pub fn ends_flat(samples: &[Sample], warmup: usize) -> (f64, f64, bool) {
    let rest = &samples[warmup.min(samples.len().saturating_sub(2))..];
    let q = (rest.len() / 4).max(1);
    let settled = mean(&rest[..q.min(rest.len())]);
    let last = mean(&rest[rest.len().saturating_sub(q)..]);
    (settled, last, last <= settled * 1.05 + 4.0)
}

/// Start a stream and leave after its first bytes, as a client that is
/// closed mid-answer does.
async fn abandon(client: &HttpClient, t: &Target) -> bool {
    let Ok(req) = t.request() else { return false };
    let Ok(resp) = client.request(req).await else {
        return false;
    };
    let mut body = resp.into_body();
    matches!(body.frame().await, Some(Ok(_)))
}

/// Run the soak for `duration`.
pub async fn soak(args: &BenchArgs, duration: Duration) -> Result<Soak, String> {
    let client = load::client();
    let mock = procs::Child::mock(&client, args.mock_listen, None).await?;
    let extra = "\n[timeouts]\nfirst_byte = \"1s\"\nidle = \"1s\"\n\n[retry]\nretries = 1\nbackoff = \"50ms\"\n";
    let gw = procs::Child::gateway_with(&client, mock.addr, extra, None).await?;
    mock_get(
        &client,
        &mock.base,
        &format!("/_mock/knobs?fault_pct={FAULT_PCT}"),
    )
    .await?;
    let kinds = [
        (BenchDialect::Anthropic, "bench", false),
        (BenchDialect::Anthropic, "bench", true),
        (BenchDialect::Openai, "bench-openai", false),
        (BenchDialect::Openai, "bench-openai", true),
        (BenchDialect::Anthropic, "bench-cached", false),
    ];
    let targets = kinds
        .iter()
        .map(|(d, m, s)| target("soak", &gw.base, *d, m, *s, None))
        .collect::<Result<Vec<_>, _>>()?;
    eprintln!(
        "soak: {:.0} s of mixed traffic ({WORKERS} workers, {FAULT_PCT}% faults), memory every {} s",
        duration.as_secs_f64(),
        SLICE.as_secs()
    );
    let started = Instant::now();
    let (mut requests, mut errors, mut abandoned) = (0u64, 0u64, 0u64);
    let mut samples = Vec::new();
    let mut turn = 0usize;
    while started.elapsed() < duration {
        let t = &targets[turn % targets.len()];
        let stream = kinds[turn % kinds.len()].2;
        turn += 1;
        // Alongside the slice's traffic, a client leaving streams early.
        let leaver = {
            let (client, t) = (client.clone(), targets[1].clone());
            tokio::spawn(async move {
                let deadline = Instant::now() + SLICE;
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += u64::from(abandon(&client, &t).await);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                n
            })
        };
        let run = load::closed_loop(&client, t, WORKERS, SLICE, stream).await;
        abandoned += leaver.await.unwrap_or(0);
        requests += run.requests;
        errors += run.errors;
        let rss = procs::rss(gw.pid()).map_or(0.0, |(now, _)| now as f64 / 1_048_576.0);
        let s = Sample {
            at_s: started.elapsed().as_secs_f64(),
            rss_mb: rss,
            requests,
            errors,
        };
        eprintln!(
            "  {:>6.0} s  RSS {:>6.1} MB  requests {:>8}  errors {:>6}",
            s.at_s, s.rss_mb, s.requests, s.errors
        );
        samples.push(s);
    }
    let (settled_mb, final_mb, flat) = ends_flat(&samples, kinds.len());
    Ok(Soak {
        samples,
        settled_mb,
        final_mb,
        flat,
        abandoned,
    })
}

/// The soak as text.
pub fn render(s: &Soak) -> String {
    let last = s.samples.last();
    format!(
        "soak: {} requests, {} failed ({:.1}%), {} streams abandoned by the client\n\
         gateway RSS: settled {:.1} MB, last quarter {:.1} MB: {}\n",
        last.map_or(0, |l| l.requests),
        last.map_or(0, |l| l.errors),
        last.map_or(0.0, |l| 100.0 * l.errors as f64 / l.requests.max(1) as f64),
        s.abandoned,
        s.settled_mb,
        s.final_mb,
        if s.flat { "flat" } else { "GREW" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(mbs: &[f64]) -> Vec<Sample> {
        mbs.iter()
            .enumerate()
            .map(|(i, &rss_mb)| Sample {
                at_s: i as f64,
                rss_mb,
                requests: 0,
                errors: 0,
            })
            .collect()
    }

    #[test]
    fn a_series_that_keeps_growing_is_not_flat() {
        let filled = [20.0, 25.0, 40.0, 41.0, 42.0, 41.0, 40.0, 42.0, 41.0, 40.0];
        assert!(ends_flat(&series(&filled), 2).2);
        let growing: Vec<f64> = (0..16).map(|i| 30.0 + 3.0 * i as f64).collect();
        assert!(!ends_flat(&series(&growing), 2).2);
    }
}

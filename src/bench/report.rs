//! What `switchyard bench` found, as one table for people and as JSON.

use super::load::{Hold, Run};
use serde::Serialize;
use std::fmt::Write;

/// Every figure of one benchmark run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// CPU cores the machine offers.
    pub cores: usize,
    /// Where the processes ran (`--pin`), e.g. `gateway 0, mock 1, load 1`.
    pub pinned: Option<String>,
    /// The client dialect used.
    pub dialect: &'static str,
    /// `--quick` run.
    pub quick: bool,
    /// Seconds each closed-loop row ran.
    pub seconds_per_row: f64,
    /// Gateway memory after start, before any load.
    pub idle_rss_bytes: Option<u64>,
    /// Gateway memory peak over the whole run.
    pub peak_rss_bytes: Option<u64>,
    /// Gateway memory peak while holding the concurrent streams.
    pub hold_rss_bytes: Option<u64>,
    /// Non-streaming rows: direct, switchyard, and each `--target`.
    pub non_stream: Vec<Run>,
    /// Latency each gateway adds to non-streaming requests.
    pub added: Vec<Added>,
    /// Streaming rows (time to first bytes).
    pub streams: Vec<Run>,
    /// Time to first bytes each gateway adds to streams.
    pub added_ttfb: Vec<Added>,
    /// Exact cache hits through switchyard.
    pub cache_hits: Vec<Run>,
    /// Many slow streams at once.
    pub holds: Vec<Hold>,
}

/// Latency a gateway adds over talking to the mock directly.
#[derive(Debug, Clone, Serialize)]
pub struct Added {
    /// The gateway's row label.
    pub label: String,
    /// Requests in flight.
    pub concurrency: usize,
    /// Difference of medians, microseconds.
    pub p50_us: i64,
    /// Difference of 90th percentiles.
    pub p90_us: i64,
    /// Difference of 99th percentiles.
    pub p99_us: i64,
}

/// Pair each gateway row with the direct row at the same concurrency.
pub fn added(rows: &[Run], ttfb: bool) -> Vec<Added> {
    let pick = |r: &Run| {
        if ttfb {
            r.ttfb_us.unwrap_or_default()
        } else {
            r.latency_us
        }
    };
    rows.iter()
        .filter(|r| r.label != "direct")
        .filter_map(|r| {
            let direct = rows
                .iter()
                .find(|d| d.label == "direct" && d.concurrency == r.concurrency)?;
            let (g, d) = (pick(r), pick(direct));
            Some(Added {
                label: r.label.clone(),
                concurrency: r.concurrency,
                p50_us: g.p50 as i64 - d.p50 as i64,
                p90_us: g.p90 as i64 - d.p90 as i64,
                p99_us: g.p99 as i64 - d.p99 as i64,
            })
        })
        .collect()
}

fn mb(bytes: Option<u64>) -> String {
    bytes.map_or("n/a".into(), |b| {
        format!("{:.1} MB", b as f64 / 1_048_576.0)
    })
}

fn run_rows(out: &mut String, title: &str, rows: &[Run], ttfb: bool) {
    let _ = writeln!(
        out,
        "\n{title:<34} {:>5} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>11}",
        "conc", "req/s", "p50 µs", "p90 µs", "p99 µs", "max µs", "errors", "CPU µs/req"
    );
    for r in rows {
        let p = if ttfb {
            r.ttfb_us.unwrap_or_default()
        } else {
            r.latency_us
        };
        let cpu = r
            .cpu_us_per_request
            .map_or("n/a".to_string(), |c| format!("{c:.1}"));
        let _ = writeln!(
            out,
            "  {:<32} {:>5} {:>9.0} {:>8} {:>8} {:>8} {:>8} {:>7} {:>11}",
            r.label, r.concurrency, r.rps, p.p50, p.p90, p.p99, p.max, r.errors, cpu
        );
    }
}

fn added_rows(out: &mut String, title: &str, rows: &[Added]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{title:<34} {:>5} {:>9} {:>8} {:>8} {:>8}",
        "conc", "", "p50 µs", "p90 µs", "p99 µs"
    );
    for a in rows {
        let _ = writeln!(
            out,
            "  {:<32} {:>5} {:>9} {:>+8} {:>+8} {:>+8}",
            a.label, a.concurrency, "", a.p50_us, a.p90_us, a.p99_us
        );
    }
}

/// The human-readable table.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "switchyard bench{} — {} cores, {} dialect, mock upstream and gateway in their own processes, {:.1} s per row",
        if r.quick { " --quick" } else { "" },
        r.cores,
        r.dialect,
        r.seconds_per_row
    );
    if let Some(placed) = &r.pinned {
        let _ = writeln!(out, "pinned to cores: {placed}");
    }
    let _ = writeln!(
        out,
        "gateway RSS: idle {}, peak {}",
        mb(r.idle_rss_bytes),
        mb(r.peak_rss_bytes)
    );
    run_rows(&mut out, "non-streaming (latency)", &r.non_stream, false);
    added_rows(&mut out, "added by the gateway", &r.added);
    run_rows(
        &mut out,
        "streaming (time to first bytes)",
        &r.streams,
        true,
    );
    added_rows(&mut out, "added to time to first bytes", &r.added_ttfb);
    run_rows(&mut out, "exact cache hits (latency)", &r.cache_hits, false);
    for h in &r.holds {
        let _ = writeln!(
            out,
            "\nconcurrent streams via {}: {} opened, {} completed, {} errors, {} stalls; \
             max gap {} ms (drip {} ms); first bytes p50 {} µs p99 {} µs; {:.1} s; gateway RSS peak {}",
            h.label,
            h.streams,
            h.completed,
            h.errors,
            h.stalls,
            h.max_gap_ms,
            h.drip_ms,
            h.ttfb_us.p50,
            h.ttfb_us.p99,
            h.wall_ms as f64 / 1000.0,
            mb(r.hold_rss_bytes)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::load::Percentiles;

    fn run(label: &str, c: usize, p50: u64, p99: u64) -> Run {
        Run {
            label: label.into(),
            concurrency: c,
            requests: 10,
            errors: 0,
            rps: 1.0,
            latency_us: Percentiles {
                p50,
                p90: p50,
                p99,
                max: p99,
            },
            ttfb_us: None,
            cpu_us_per_request: Some(12.5),
        }
    }

    #[test]
    fn added_latency_pairs_rows_by_concurrency() {
        let rows = [
            run("direct", 1, 100, 200),
            run("switchyard", 1, 130, 260),
            run("direct", 64, 1000, 3000),
            run("switchyard", 64, 1100, 2900),
        ];
        let a = added(&rows, false);
        assert_eq!(a.len(), 2);
        assert_eq!((a[0].concurrency, a[0].p50_us, a[0].p99_us), (1, 30, 60));
        assert_eq!(
            (a[1].concurrency, a[1].p50_us, a[1].p99_us),
            (64, 100, -100)
        );
        let table = render(&Report {
            cores: 2,
            pinned: Some("gateway 0, mock 1, load 1".into()),
            dialect: "anthropic",
            quick: true,
            seconds_per_row: 1.0,
            idle_rss_bytes: Some(10 << 20),
            peak_rss_bytes: None,
            hold_rss_bytes: None,
            non_stream: rows.to_vec(),
            added: a,
            streams: vec![],
            added_ttfb: vec![],
            cache_hits: vec![],
            holds: vec![],
        });
        assert!(table.contains("idle 10.0 MB, peak n/a"), "{table}");
        assert!(table.contains("+30"), "{table}");
        assert!(table.contains("pinned to cores: gateway 0"), "{table}");
        assert!(table.contains("12.5"), "{table}");
    }
}

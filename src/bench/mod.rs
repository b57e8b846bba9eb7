//! `switchyard bench`: how much latency and memory the gateway costs.
//!
//! It starts a fast mock upstream ([`mock`]) and this binary as a gateway in
//! front of it, each in its own process ([`procs`]), then drives the mock directly and through the
//! gateway (and through any `--target` gateway pointed at the same mock)
//! with a closed-loop load generator ([`load`]): non-streaming latency at
//! several concurrency levels, time to first bytes of streams, exact cache
//! hits, and thousands of slow streams held at once. [`report`] prints the
//! table or JSON. `--day` replays a simulated Claude Code day ([`day`]);
//! `--soak` runs mixed traffic with faults and watches memory ([`soak`]).

pub mod day;
pub mod load;
pub mod mock;
pub mod pin;
pub mod procs;
pub mod report;
pub mod soak;

use crate::server::runtime;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full};
use load::{HttpClient, Run, Target};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// The client dialect the benchmark speaks.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BenchDialect {
    /// `POST /v1/messages`.
    Anthropic,
    /// `POST /v1/chat/completions`.
    Openai,
}

/// `switchyard bench` options.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Short run (under a minute): two concurrency levels, short rows, 200 streams.
    #[arg(long)]
    pub quick: bool,
    /// Print the results as JSON on stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Another gateway to measure against the same mock (repeatable), e.g.
    /// http://127.0.0.1:4000; configure its upstream as the mock (--mock-listen).
    #[arg(long = "target", value_name = "URL")]
    pub targets: Vec<String>,
    /// Model name to ask `--target` gateways for.
    #[arg(long, default_value = "bench")]
    pub target_model: String,
    /// Key to send `--target` gateways (as Bearer and x-api-key).
    #[arg(long, env = "SWITCHYARD_BENCH_TARGET_KEY", hide_env_values = true)]
    pub target_key: Option<String>,
    /// Client dialect.
    #[arg(long, value_enum, default_value = "anthropic")]
    pub dialect: BenchDialect,
    /// Where the mock upstream listens; fix the port to point other gateways at it.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub mock_listen: SocketAddr,
    /// Concurrency levels of the non-streaming rows (default 1,16,64; quick 1,64).
    #[arg(long, value_delimiter = ',')]
    pub concurrency: Option<Vec<usize>>,
    /// Seconds each row runs (default 5; quick 1).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Slow streams held open at once (default 2000; quick 200).
    #[arg(long)]
    pub streams: Option<usize>,
    /// Only run the mock upstream, until interrupted.
    #[arg(long)]
    pub mock_only: bool,
    /// Replay a simulated Claude Code working day through the gateway and
    /// print its daily log from the ledger (see the --day-* options).
    #[arg(long)]
    pub day: bool,
    /// The simulated day.
    #[command(flatten)]
    pub day_options: day::DayArgs,
    /// Mixed traffic with faults for this long (e.g. 10m), the gateway's
    /// memory read every 5 s; fails when memory does not end flat.
    #[arg(long, value_name = "DURATION", value_parser = crate::config::units::parse_duration)]
    pub soak: Option<Duration>,
    /// Give the gateway, the mock and the load generator cores of their own
    /// (gateway on core 0, or 0-1 from eight cores up; the mock and the load
    /// generator share the rest), so the gateway's CPU per request and its
    /// throughput on those cores stand on their own.
    #[arg(long)]
    pub pin: bool,
    /// Cores for the gateway, as `taskset -c` writes them (0, 2-3, 0,4-7);
    /// overrides `--pin`'s choice.
    #[arg(long, value_name = "CORES")]
    pub gateway_cores: Option<pin::Cores>,
    /// Cores for the mock upstream.
    #[arg(long, value_name = "CORES")]
    pub mock_cores: Option<pin::Cores>,
    /// Cores for the load generator (this process).
    #[arg(long, value_name = "CORES")]
    pub load_cores: Option<pin::Cores>,
}

/// The cores this process may use (read before it pins itself).
fn machine_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl BenchArgs {
    /// Where each process runs.
    fn pinning(&self, cores: usize) -> Result<pin::Pinning, String> {
        pin::Pinning::chosen(
            self.pin,
            self.gateway_cores.as_ref(),
            self.mock_cores.as_ref(),
            self.load_cores.as_ref(),
            cores,
        )
    }
}

/// Run the benchmark.
pub fn run(args: &BenchArgs) -> ExitCode {
    let cores = machine_cores();
    let pinning = match args.pinning(cores) {
        Ok(p) if p.describe().is_some() && (args.day || args.soak.is_some()) => {
            Err("--pin and --*-cores apply to the latency benchmark, not --day or --soak".into())
        }
        other => other,
    };
    let pinning = match pinning {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The runtime's threads inherit the load generator's cores.
    if let Some(cores) = &pinning.load
        && let Err(e) = pin::pin_this_thread(cores)
    {
        eprintln!("bench: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match runtime(true) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if args.day {
        let outcome = runtime.block_on(day::run::day(&args.day_options));
        return show(args, "day", outcome, |o| {
            (day::render(o, &args.day_options), true)
        });
    }
    if let Some(duration) = args.soak {
        let outcome = runtime.block_on(soak::soak(args, duration));
        return show(args, "soak", outcome, |o| (soak::render(o), o.flat));
    }
    match runtime.block_on(bench(args, &pinning, cores)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Print a mode's outcome as JSON or as text (`text` also says whether
/// the run passed); the exit code follows.
fn show<T: serde::Serialize>(
    args: &BenchArgs,
    mode: &str,
    outcome: Result<T, String>,
    text: impl FnOnce(&T) -> (String, bool),
) -> ExitCode {
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench --{mode}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (rendered, passed) = text(&outcome);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outcome).unwrap_or_default()
        );
    } else {
        print!("{rendered}");
    }
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

struct Plan {
    levels: Vec<usize>,
    row: Duration,
    streams: usize,
    stream_levels: Vec<usize>,
    cache_levels: Vec<usize>,
}

impl Plan {
    fn of(args: &BenchArgs) -> Plan {
        let default_levels = if args.quick {
            vec![1, 64]
        } else {
            vec![1, 16, 64]
        };
        Plan {
            levels: args.concurrency.clone().unwrap_or(default_levels),
            row: Duration::from_secs_f64(args.seconds.unwrap_or(if args.quick {
                1.0
            } else {
                5.0
            })),
            streams: args.streams.unwrap_or(if args.quick { 200 } else { 2000 }),
            stream_levels: if args.quick { vec![16] } else { vec![1, 16] },
            cache_levels: if args.quick {
                vec![1, 64]
            } else {
                vec![1, 16, 64]
            },
        }
    }
}

fn body(dialect: BenchDialect, model: &str, stream: bool) -> Bytes {
    let question = "Summarise the plot of Hamlet in two sentences.";
    let mut b = serde_json::json!({
        "model": model,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": question}],
        "stream": stream,
    });
    if stream && matches!(dialect, BenchDialect::Openai) {
        b["stream_options"] = serde_json::json!({"include_usage": true});
    }
    Bytes::from(b.to_string())
}

fn target(
    label: &str,
    base: &str,
    dialect: BenchDialect,
    model: &str,
    stream: bool,
    key: Option<&str>,
) -> Result<Target, String> {
    let path = match dialect {
        BenchDialect::Anthropic => "/v1/messages",
        BenchDialect::Openai => "/v1/chat/completions",
    };
    let base = base.trim_end_matches('/');
    let url = if base.ends_with(path) {
        base.to_string()
    } else {
        format!("{base}{path}")
    };
    let mut headers = vec![(
        HeaderName::from_static("anthropic-version"),
        HeaderValue::from_static("2023-06-01"),
    )];
    if let Some(k) = key {
        let bearer = HeaderValue::from_str(&format!("Bearer {k}")).map_err(|e| e.to_string())?;
        headers.push((http::header::AUTHORIZATION, bearer));
        headers.push((
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_str(k).map_err(|e| e.to_string())?,
        ));
    }
    Ok(Target {
        label: label.to_string(),
        url: url.parse().map_err(|e| format!("{url}: {e}"))?,
        body: body(dialect, model, stream),
        headers,
    })
}

/// The direct, switchyard and `--target` endpoints for one kind of request.
fn targets(
    args: &BenchArgs,
    mock: SocketAddr,
    gateway: &str,
    model: &str,
    stream: bool,
) -> Result<Vec<Target>, String> {
    let mut all = vec![
        target(
            "direct",
            &format!("http://{mock}"),
            args.dialect,
            model,
            stream,
            None,
        )?,
        target("switchyard", gateway, args.dialect, model, stream, None)?,
    ];
    for t in &args.targets {
        all.push(target(
            t,
            t,
            args.dialect,
            &args.target_model,
            stream,
            args.target_key.as_deref(),
        )?);
    }
    Ok(all)
}

fn progress(run: &Run, what: &str) {
    let p = run.ttfb_us.unwrap_or(run.latency_us);
    let cpu = run
        .cpu_us_per_request
        .map_or(String::new(), |c| format!("  CPU {c:.1} µs/req"));
    eprintln!(
        "  {what:<12} c={:<4} {:<28} {:>8.0} req/s  p50 {:>6} µs  p99 {:>6} µs  errors {}{cpu}",
        run.concurrency, run.label, run.rps, p.p50, p.p99, run.errors
    );
}

async fn bench(args: &BenchArgs, pinning: &pin::Pinning, cores: usize) -> Result<(), String> {
    if args.mock_only {
        let mock = mock::start(args.mock_listen)
            .await
            .map_err(|e| format!("mock upstream: {e}"))?;
        eprintln!(
            "mock upstream on http://{} (Anthropic /v1/messages, OpenAI /v1/chat/completions); Ctrl-C stops it",
            mock.addr
        );
        let _ = tokio::signal::ctrl_c().await;
        return Ok(());
    }
    let plan = Plan::of(args);
    let client = load::client();
    eprintln!("starting the mock upstream and a gateway in front of it…");
    let mock_child = procs::Child::mock(&client, args.mock_listen, pinning.mock.as_ref()).await?;
    let mock_addr = mock_child.addr;
    let gw = procs::Child::gateway(&client, mock_addr, pinning.gateway.as_ref()).await?;
    eprintln!(
        "mock upstream on {}, gateway on {}",
        mock_child.base, gw.base
    );
    if let Some(placed) = pinning.describe() {
        eprintln!("pinned: {placed}");
    }
    let serving = |t: &Target| match t.label.as_str() {
        "direct" => Some(mock_child.pid()),
        "switchyard" => Some(gw.pid()),
        _ => None,
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = procs::rss(gw.pid()).map(|r| r.0);
    let model = match args.dialect {
        BenchDialect::Anthropic => "bench",
        BenchDialect::Openai => "bench-openai",
    };

    let plain = targets(args, mock_addr, &gw.base, model, false)?;
    eprintln!("warming up…");
    for t in &plain {
        let r = load::closed_loop(&client, t, 16, Duration::from_millis(500), false).await;
        if r.requests == 0 {
            return Err(format!("{} answered no request successfully", t.label));
        }
    }

    eprintln!(
        "non-streaming requests, {:.1} s per row:",
        plan.row.as_secs_f64()
    );
    let mut non_stream = Vec::new();
    for &c in &plan.levels {
        for t in &plain {
            let run = load::measured(&client, t, c, plan.row, false, serving(t)).await;
            progress(&run, "latency");
            non_stream.push(run);
        }
    }

    eprintln!("streams (20 chunks, no drip):");
    let streaming = targets(args, mock_addr, &gw.base, model, true)?;
    let mut streams = Vec::new();
    for &c in &plan.stream_levels {
        for t in &streaming {
            let run = load::measured(&client, t, c, plan.row, true, serving(t)).await;
            progress(&run, "first bytes");
            streams.push(run);
        }
    }

    eprintln!("exact cache hits through switchyard:");
    let cached = target(
        "switchyard (cache hit)",
        &gw.base,
        args.dialect,
        "bench-cached",
        false,
        None,
    )?;
    let _ = load::closed_loop(&client, &cached, 1, Duration::from_millis(50), false).await;
    let before = served(&client, &mock_child.base).await?;
    let mut cache_hits = Vec::new();
    for &c in &plan.cache_levels {
        let run = load::measured(&client, &cached, c, plan.row, false, Some(gw.pid())).await;
        progress(&run, "cache hit");
        cache_hits.push(run);
    }
    let leaked = served(&client, &mock_child.base).await? - before;
    if leaked > 0 {
        eprintln!("  note: {leaked} cache-hit requests reached the upstream");
    }

    let drip = Duration::from_millis(100);
    mock_get(
        &client,
        &mock_child.base,
        &format!("/_mock/knobs?drip_ms={}", drip.as_millis()),
    )
    .await?;
    let ramp = Duration::from_millis(if args.quick { 500 } else { 2000 });
    let mut holds = Vec::new();
    let mut hold_rss = None;
    for t in streaming.iter().filter(|t| t.label != "direct") {
        eprintln!(
            "holding {} streams via {} (a chunk every {} ms)…",
            plan.streams,
            t.label,
            drip.as_millis()
        );
        let sampler = (t.label == "switchyard").then(|| procs::RssSampler::start(gw.pid()));
        let hold = load::hold_streams(&client, t, plan.streams, drip, ramp).await;
        if let Some(s) = sampler {
            hold_rss = s.stop().or(hold_rss);
        }
        eprintln!(
            "  {} completed, {} errors, {} stalls, max gap {} ms",
            hold.completed, hold.errors, hold.stalls, hold.max_gap_ms
        );
        holds.push(hold);
    }
    mock_get(&client, &mock_child.base, "/_mock/knobs?drip_ms=0").await?;
    let peak = procs::rss(gw.pid()).map(|r| r.1);

    let report = report::Report {
        cores,
        pinned: pinning.describe(),
        dialect: match args.dialect {
            BenchDialect::Anthropic => "anthropic",
            BenchDialect::Openai => "openai",
        },
        quick: args.quick,
        seconds_per_row: plan.row.as_secs_f64(),
        idle_rss_bytes: idle,
        peak_rss_bytes: peak,
        hold_rss_bytes: hold_rss,
        added: report::added(&non_stream, false),
        added_ttfb: report::added(&streams, true),
        non_stream,
        streams,
        cache_hits,
        holds,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", report::render(&report));
    }
    Ok(())
}

/// A control call to the mock; its answer as text.
async fn mock_get(client: &HttpClient, base: &str, path: &str) -> Result<String, String> {
    let uri: http::Uri = format!("{base}{path}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    let req = http::Request::get(uri)
        .body(Full::default())
        .map_err(|e| e.to_string())?;
    let resp = client
        .request(req)
        .await
        .map_err(|e| format!("mock {path}: {e}"))?;
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&body.to_bytes()).into_owned())
}

/// How many chat requests the mock has answered.
async fn served(client: &HttpClient, base: &str) -> Result<u64, String> {
    let text = mock_get(client, base, "/_mock/served").await?;
    text.trim()
        .parse()
        .map_err(|_| format!("mock /_mock/served said {text:?}"))
}

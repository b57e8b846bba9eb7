//! The processes under test, each this same binary in a child process: the
//! mock upstream (`switchyard bench --mock-only`) and the gateway
//! (`switchyard serve` with a generated config pointing at the mock). Apart
//! from the load generator, so that talking to either costs a real
//! cross-process hop and the gateway's memory and CPU time can be read on
//! their own.

use super::load::HttpClient;
use super::pin::{self, Cores};
use http_body_util::Full;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A running child; killed and cleaned up on drop.
pub struct Child {
    child: std::process::Child,
    dir: PathBuf,
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub base: String,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// The config the gateway runs with: one Anthropic and one OpenAI provider
/// on the mock, a model per dialect, and a route that caches (asking for a
/// model by name skips the routes, so the cached one has its own name).
pub fn config(listen: SocketAddr, mock: SocketAddr, dir: &std::path::Path) -> String {
    let db = dir.join("ledger.db");
    format!(
        r#"listen = "{listen}"
auth = "none"
database_url = "sqlite://{db}"

[providers.mock-anthropic]
kind = "anthropic"
base_url = "http://{mock}"
api_key = "bench"

[providers.mock-openai]
kind = "openai"
base_url = "http://{mock}/v1"
api_key = "bench"

[models.bench]
provider = "mock-anthropic"
id = "claude-sonnet-4-5"

[models.bench-openai]
provider = "mock-openai"
id = "gpt-4o-mini"

[cache]
exact = false

[[routes]]
match = {{ model = "bench-cached" }}
model = "bench"
cache = {{ exact = true }}

[[routes]]
match = {{ model = "bench-openai" }}
model = "bench-openai"

[[routes]]
model = "bench"
"#,
        db = db.display()
    )
}

impl Child {
    /// Start the mock upstream and wait until it answers.
    pub async fn mock(
        client: &HttpClient,
        listen: SocketAddr,
        cores: Option<&Cores>,
    ) -> Result<Child, String> {
        let dir = scratch("mock")?;
        let listen = if listen.port() == 0 {
            free_port()?
        } else {
            listen
        };
        let args = ["bench", "--mock-only", "--mock-listen", &listen.to_string()];
        Child::spawn(client, dir, &args, listen, cores).await
    }

    /// Start `switchyard serve` in front of the mock and wait until it
    /// answers `/health`.
    pub async fn gateway(
        client: &HttpClient,
        mock: SocketAddr,
        cores: Option<&Cores>,
    ) -> Result<Child, String> {
        Self::gateway_with(client, mock, "", cores).await
    }

    /// The same with `extra` added to its config (more tables).
    pub async fn gateway_with(
        client: &HttpClient,
        mock: SocketAddr,
        extra: &str,
        cores: Option<&Cores>,
    ) -> Result<Child, String> {
        let dir = scratch("gateway")?;
        let listen = free_port()?;
        let config_path = dir.join("switchyard.toml");
        std::fs::write(&config_path, config(listen, mock, &dir) + extra)
            .map_err(|e| format!("{}: {e}", config_path.display()))?;
        let config_arg = config_path.display().to_string();
        let args = ["serve", "--config", &config_arg];
        Child::spawn(client, dir, &args, listen, cores).await
    }

    async fn spawn(
        client: &HttpClient,
        dir: PathBuf,
        args: &[&str],
        listen: SocketAddr,
        cores: Option<&Cores>,
    ) -> Result<Child, String> {
        let log = std::fs::File::create(dir.join("log")).map_err(|e| e.to_string())?;
        let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
        let mut command = Command::new(exe);
        command
            .args(args)
            .env_remove("SWITCHYARD_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = pin::spawn_on(command, cores)
            .map_err(|e| format!("starting `switchyard {}`: {e}", args.join(" ")))?;
        let mut child = Child {
            child,
            dir,
            base: format!("http://{listen}"),
            addr: listen,
        };
        child.wait_ready(client).await?;
        Ok(child)
    }

    async fn wait_ready(&mut self, client: &HttpClient) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let uri: http::Uri = format!("{}/health", self.base)
            .parse()
            .map_err(|e| format!("{e}"))?;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
                return Err(format!("{} exited ({status}):\n{log}", self.base));
            }
            let req = http::Request::get(uri.clone()).body(Full::default());
            if let Ok(req) = req
                && let Ok(resp) = client.request(req).await
                && resp.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("{} did not answer /health within 15 s", self.base))
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn scratch(what: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("switchyard-bench-{}-{what}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

fn free_port() -> Result<SocketAddr, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map_err(|e| e.to_string())
}

/// Resident memory of a process: (now, peak), in bytes. Linux only.
pub fn rss(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time (user + system, all threads, living and exited) a process has
/// used so far. Linux only; the kernel counts it in clock ticks.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after it are plain.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let mut fields = after_name.split(' ');
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = clock_ticks_per_second()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks as f64,
    ))
}

#[cfg(target_os = "linux")]
fn clock_ticks_per_second() -> Option<u64> {
    use nix::unistd::{SysconfVar, sysconf};
    sysconf(SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .filter(|&t| t > 0)
}

#[cfg(not(target_os = "linux"))]
fn clock_ticks_per_second() -> Option<u64> {
    None
}

/// Samples the gateway's resident memory every 50 ms and keeps the peak.
pub struct RssSampler {
    task: tokio::task::JoinHandle<()>,
    peak: std::sync::Arc<AtomicU64>,
}

impl RssSampler {
    /// Start sampling `pid`.
    pub fn start(pid: u32) -> RssSampler {
        let peak = std::sync::Arc::new(AtomicU64::new(0));
        let p = peak.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Some((now, _)) = rss(pid) {
                    p.fetch_max(now, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        RssSampler { task, peak }
    }

    /// Stop sampling; the highest reading.
    pub fn stop(self) -> Option<u64> {
        self.task.abort();
        Some(self.peak.load(Ordering::Relaxed)).filter(|&b| b > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_config_loads() {
        let dir = std::env::temp_dir();
        let text = config(
            "127.0.0.1:4000".parse().unwrap(),
            "127.0.0.1:4001".parse().unwrap(),
            &dir,
        );
        let config =
            crate::config::load_str(&text, crate::config::ConfigSource::Embedded, &|_| None)
                .unwrap();
        assert_eq!(config.models.len(), 2);
        assert!(config.cache.is_some());
    }

    #[test]
    fn own_cpu_time_grows_with_work() {
        let before = cpu_time(std::process::id()).unwrap();
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(60) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let after = cpu_time(std::process::id()).unwrap();
        assert!(after > before, "{before:?} → {after:?}");
    }

    #[test]
    fn own_memory_is_readable() {
        let (now, peak) = rss(std::process::id()).unwrap();
        assert!(now > 0 && peak >= now);
    }
}

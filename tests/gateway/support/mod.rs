//! Test harness: mock upstreams and an in-process gateway on an ephemeral
//! port, driven by a real HTTP client.

pub mod bedrock;
pub mod idp;
pub mod mock;

use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchyard::config::{ConfigSource, load_str};
use switchyard::server::Gateway;
use switchyard::usage::{RecordSink, RequestRecord};

pub use mock::{MockUpstream, Reply, StreamTail};

pub const MASTER_KEY: &str = "sk-gw-test-master";
pub const UPSTREAM_KEY: &str = "sk-ant-upstream-secret";

/// Keeps every finished record for assertions.
#[derive(Default)]
pub struct Records(Mutex<Vec<RequestRecord>>);

impl RecordSink for Records {
    fn record(&self, record: &RequestRecord) {
        self.0.lock().unwrap().push(record.clone());
    }
}

impl Records {
    pub fn all(&self) -> Vec<RequestRecord> {
        self.0.lock().unwrap().clone()
    }

    /// Wait until `n` records exist (records of streams land when they end).
    pub async fn wait_for(&self, n: usize) -> Vec<RequestRecord> {
        for _ in 0..200 {
            let all = self.all();
            if all.len() >= n {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected {n} records, have {:?}", self.all());
    }
}

/// A gateway running in this process.
pub struct TestGateway {
    pub url: String,
    pub records: Arc<Records>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    writer: Option<switchyard::usage::writer::LedgerWriter>,
    pub store: Option<switchyard::store::Store>,
    pub database_url: String,
}

impl TestGateway {
    /// A gateway whose only provider is `upstream`, serving `claude-*`
    /// (passthrough ids) and `sonnet` (fixed id), with `extra` TOML appended
    /// before the provider table.
    pub async fn start(upstream: &str, extra: &str) -> TestGateway {
        let toml = format!(
            r#"
listen = "127.0.0.1:0"
master_key = "{MASTER_KEY}"
shutdown_timeout = "2s"
{extra}

[providers.anthropic]
kind = "anthropic"
base_url = "{upstream}"
api_key = "{UPSTREAM_KEY}"

[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-4-5-20250929"
aliases = ["claude-sonnet-*"]
context_window = 200000

[models.claude]
provider = "anthropic"
aliases = ["claude-*"]
"#
        );
        Self::from_toml(&toml).await
    }

    /// A gateway with the given providers and models (TOML).
    pub async fn custom(sections: &str) -> TestGateway {
        let toml = format!(
            "listen = \"127.0.0.1:0\"\nmaster_key = \"{MASTER_KEY}\"\nshutdown_timeout = \"2s\"\n{sections}"
        );
        Self::from_toml(&toml).await
    }

    pub async fn from_toml(toml: &str) -> TestGateway {
        Self::build(toml, false).await
    }

    /// A gateway with the given sections and a spend ledger (its
    /// `database_url` in the sections, or a fresh SQLite file).
    pub async fn with_ledger(sections: &str) -> TestGateway {
        let toml = format!(
            "listen = \"127.0.0.1:0\"\nmaster_key = \"{MASTER_KEY}\"\nshutdown_timeout = \"2s\"\n{sections}"
        );
        Self::build(&toml, true).await
    }

    async fn build(toml: &str, ledger: bool) -> TestGateway {
        init_test_tracing();
        let mut config =
            load_str(toml, ConfigSource::Embedded, &|_| None).unwrap_or_else(|e| panic!("{e}"));
        if ledger && config.ledger.database_url.is_none() {
            let dir =
                std::env::temp_dir().join(format!("switchyard-test-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&dir).unwrap();
            config.ledger.database_url =
                Some(switchyard::store::sqlite_url(&dir.join("ledger.db")));
        }
        let records = Arc::new(Records::default());
        let mut sinks: Vec<Arc<dyn RecordSink>> = vec![records.clone()];
        let (mut writer, mut store) = (None, None);
        if ledger {
            let (sink, w, s) = switchyard::usage::setup::open_ledger(&config)
                .await
                .unwrap();
            sinks.push(sink);
            writer = Some(w);
            store = Some(s);
        }
        let database_url = config.database_url();
        let gateway = Gateway::bind(config, sinks, store.clone()).await.unwrap();
        let url = format!("http://{}", gateway.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(gateway.run(async move {
            let _ = rx.await;
        }));
        TestGateway {
            url,
            records,
            shutdown: Some(tx),
            task: Some(task),
            writer,
            store,
            database_url,
        }
    }

    /// Stop serving and write everything the ledger holds.
    pub async fn flush_ledger(&mut self) -> switchyard::usage::writer::WriterStats {
        self.begin_shutdown();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.writer.take().unwrap().close().await
    }

    /// GET a JSON endpoint of the gateway with the master key.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.client()
            .get(format!("{}{path}", self.url))
            .header("x-api-key", MASTER_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Stop, write everything, and read today's ledger rows, oldest first.
    pub async fn flushed_rows(&mut self) -> Vec<switchyard::store::LedgerRow> {
        self.flush_ledger().await;
        let (from, to) =
            switchyard::usage::reports::Range::day(switchyard::usage::reports::today()).millis();
        self.store
            .clone()
            .unwrap()
            .rows(from, to, switchyard::store::Order::Time, 10_000)
            .await
            .unwrap()
    }

    /// Ask the gateway to shut down (in-flight requests may finish).
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub fn client(&self) -> reqwest::Client {
        http_client()
    }

    /// POST JSON the way the OpenAI SDK does (Bearer key, no anthropic-version).
    pub async fn post_openai(&self, body: &str) -> reqwest::Response {
        self.client()
            .post(format!("{}/v1/chat/completions", self.url))
            .bearer_auth(MASTER_KEY)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// POST JSON with the master key as `x-api-key`.
    pub async fn post(&self, path: &str, body: &str) -> reqwest::Response {
        self.client()
            .post(format!("{}{path}", self.url))
            .header("x-api-key", MASTER_KEY)
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

/// Logs through the test harness (shown for failing tests), RUST_LOG or warn.
fn init_test_tracing() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// A plain HTTP client (the process-wide TLS provider installed first).
pub fn http_client() -> reqwest::Client {
    switchyard::providers::upstream::install_crypto_provider();
    reqwest::Client::builder().build().unwrap()
}

/// Run the `switchyard` binary with `args` and wait for it without
/// blocking the runtime: the gateway under test shares this thread, and a
/// test blocked in `std::process::Command::output` would stall it in the
/// middle of a SQLite transaction while the command waits for that very
/// write lock (CI saw `switchyard keys create` fail with "database is
/// locked" that way).
pub async fn switchyard_cli<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .output()
        .await
        .unwrap()
}

/// A response header as text ("" when absent).
pub fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// A minimal Messages body.
pub fn body(model: &str, stream: bool) -> String {
    serde_json::json!({
        "model": model,
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": "Say hello"}]
    })
    .to_string()
}

/// Parse an SSE body into (event, data) pairs.
pub fn sse_events(text: &str) -> Vec<(String, serde_json::Value)> {
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_string();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            (
                name,
                serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
            )
        })
        .collect()
}

/// The chunks of an OpenAI SSE body, which must end with `data: [DONE]`.
pub fn openai_chunks(text: &str) -> Vec<serde_json::Value> {
    let data: Vec<&str> = text
        .split("\n\n")
        .filter_map(|b| b.trim().strip_prefix("data: "))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"), "{text}");
    data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

/// The installed crypto provider etc. are process-wide; tests share them.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A dashboard session cookie (`name=value`), from signing in with the
/// master key, and a client that does not follow redirects.
pub async fn dashboard_cookie(gw: &TestGateway) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed = client
        .post(format!("{}/ui/login", gw.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("key={MASTER_KEY}"))
        .send()
        .await
        .unwrap();
    let cookie = signed.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    (client, cookie)
}

/// A dashboard page as a signed-in browser sees it: status and HTML.
pub async fn dashboard_page(gw: &TestGateway, path: &str) -> (u16, String) {
    let (client, cookie) = dashboard_cookie(gw).await;
    let resp = client
        .get(format!("{}{path}", gw.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

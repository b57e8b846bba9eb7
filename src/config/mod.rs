//! Configuration: TOML → `${VAR}` interpolation → validation → [`Config`].
//!
//! The loader (`load`) collects every problem it finds, each with its path in
//! the file and a hint, instead of stopping at the first. With no file the
//! gateway runs on an embedded default built from what the environment offers
//! (`defaults`). Nothing outside this module parses config text.

mod budgets;
mod cache;
mod defaults;
mod guard;
mod interpolate;
mod limits;
mod load;
mod model;
mod provider;
mod router;
mod routing;
mod section;
mod signin;
mod static_keys;
mod traces;
pub mod units;

pub use budgets::{BudgetConfig, BudgetScope, BudgetWindow, RedisDown};
pub use cache::{CacheBackend, CacheConfig, EmbedderConfig, RouteCache, SemanticConfig};
pub use defaults::detect_default;
pub use guard::{
    DEFAULT_SENSITIVE_FILES, GuardAction, GuardConfig, OnViolation, TierGuard, ToolRules,
};
pub use interpolate::{InterpolateError, interpolate};
pub use limits::{LimitsConfig, RateLimitConfig};
pub use load::{Secrets, load_file, load_file_with, load_str, load_str_with};
pub use router::{ClassifierChoice, RoutingMode, Thresholds, TurnPolicy};
pub use routing::{
    HealthConfig, RouteAction, RouteConfig, RouteMatch, RoutingConfig, TierConfig, default_routes,
};
pub use section::{ConfigError, ConfigErrors};
pub use signin::{Policy, SignInConfig};
pub use static_keys::StaticKey;
pub use traces::TracesConfig;

use http::{HeaderName, HeaderValue};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4000";
/// Default body limit: Anthropic's own limit for Messages requests.
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Where the running config came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A file given with `--config`, `SWITCHYARD_CONFIG` or found as `./switchyard.toml`.
    File(PathBuf),
    /// Built in, from what the environment offers.
    Embedded,
}

/// The validated configuration the gateway runs on.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// How clients authenticate.
    pub auth: AuthConfig,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// How long in-flight requests may run after SIGTERM/SIGINT.
    pub shutdown_timeout: Duration,
    /// Log lines as text (default) or JSON objects, one per line.
    pub log_json: bool,
    /// How long the gateway keeps accepting after SIGTERM/SIGINT while
    /// `/readyz` already fails, so a load balancer stops sending first.
    pub shutdown_drain: Duration,
    /// What clients' connections may cost the gateway.
    pub clients: ClientLimits,
    /// Default upstream timeouts (providers may override).
    pub timeouts: Timeouts,
    /// Retries of the same target on retryable failures.
    pub retry: RetryPolicy,
    /// Named upstream providers, in file order.
    pub providers: Vec<ProviderConfig>,
    /// Named models clients can ask for, in file order.
    pub models: Vec<ModelConfig>,
    /// Tiers, routes, the classifier's thresholds, the circuit breaker.
    pub routing: RoutingConfig,
    /// The spend ledger.
    pub ledger: LedgerConfig,
    /// The response cache (`None`: off).
    pub cache: Option<CacheConfig>,
    /// Spend limits per key, developer or team.
    pub budgets: Vec<BudgetConfig>,
    /// Requests and tokens per minute per key, developer or team.
    pub rate_limits: Vec<RateLimitConfig>,
    /// How budgets and rate limits are counted (shared through Redis or not).
    pub limits: LimitsConfig,
    /// Client keys written in the config (`[[keys]]`).
    pub keys: Vec<StaticKey>,
    /// What may leave the machine (`[guard]`).
    pub guard: GuardConfig,
    /// OpenTelemetry traces (`None`: not traced).
    pub traces: Option<TracesConfig>,
    /// Sign-in with the company's identity provider (`None`: keys only).
    pub signin: Option<SignInConfig>,
    /// Where this config came from.
    pub source: ConfigSource,
    /// What the embedded default detected or is missing (empty for files).
    pub notes: Vec<String>,
}

/// The spend ledger: where it is kept, for how long, and the prices.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LedgerConfig {
    /// `sqlite://FILE` or `postgres://…`; default: `switchyard.db` beside the config.
    pub database_url: Option<String>,
    /// Rows older than this are deleted (default a year; `0` keeps all).
    pub retention: Option<Duration>,
    /// A LiteLLM `model_prices_and_context_window.json` that overrides the embedded prices.
    pub prices_file: Option<PathBuf>,
    /// Fixed monthly costs of running the gateway (USD), for total cost of ownership.
    pub fixed_monthly: Vec<(String, rust_decimal::Decimal)>,
    /// Where rows the database could not take at shutdown are kept for the
    /// next start (default: `switchyard-spool.jsonl` beside the config).
    pub spool: Option<PathBuf>,
}

impl Config {
    /// The config file's directory (empty for the embedded config).
    fn dir(&self) -> PathBuf {
        match &self.source {
            ConfigSource::File(p) => p.parent().map(|d| d.to_path_buf()).unwrap_or_default(),
            ConfigSource::Embedded => PathBuf::new(),
        }
    }

    /// A path from the config, resolved against the config's directory.
    fn resolve(&self, f: &std::path::Path) -> PathBuf {
        if f.is_absolute() {
            f.to_path_buf()
        } else {
            self.dir().join(f)
        }
    }

    /// The ledger's database URL (a SQLite file beside the config by default).
    pub fn database_url(&self) -> String {
        if let Some(u) = &self.ledger.database_url {
            return u.clone();
        }
        let dir = self.dir();
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        sqlite_url(&dir.join("switchyard.db"))
    }

    /// The ledger's spool file: `ledger_spool` resolved against the config's
    /// directory, else beside a SQLite ledger, else beside the config.
    pub fn spool_file(&self) -> PathBuf {
        const NAME: &str = "switchyard-spool.jsonl";
        match &self.ledger.spool {
            Some(f) => self.resolve(f),
            None => match sqlite_path(&self.database_url()) {
                Some(db) => db.with_file_name(NAME),
                None => self.dir().join(NAME),
            },
        }
    }

    /// The prices file, resolved against the config's directory.
    pub fn prices_file(&self) -> Option<PathBuf> {
        self.ledger.prices_file.as_deref().map(|f| self.resolve(f))
    }

    /// The provider with this name.
    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }
}

/// How clients prove they may use the gateway.
#[derive(Debug, Clone)]
pub enum AuthConfig {
    /// The master key, accepted as `x-api-key` or `Authorization: Bearer`.
    MasterKey(SecretString),
    /// No authentication (allowed only on loopback addresses).
    Disabled,
}

/// The four upstream timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// Until response headers arrive, and for streams the first event.
    pub first_byte: Duration,
    /// Longest gap between two stream chunks.
    pub idle: Duration,
    /// Whole request.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        // Claude Code allows 600 s per request and streams for minutes.
        Timeouts {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(120),
            idle: Duration::from_secs(180),
            total: Duration::from_secs(900),
        }
    }
}

/// A route's own timeouts, over its providers' (unset: theirs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteTimeouts {
    /// Until response headers and, for streams, the first event.
    pub first_byte: Option<Duration>,
    /// Longest gap between two stream chunks.
    pub idle: Option<Duration>,
    /// Whole request.
    pub total: Option<Duration>,
}

/// Retries of one target before moving on or giving up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Extra attempts after the first (0 = no retry).
    pub attempts: u32,
    /// Delay before the first retry; doubles each time.
    pub backoff: Duration,
    /// Upper bound of one delay.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 2,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retry` (1-based).
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(16);
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// What kind of service a provider is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// The Anthropic Messages API (api.anthropic.com or a compatible server).
    Anthropic,
    /// Any OpenAI-compatible Chat Completions server.
    OpenAi,
    /// Ollama.
    Ollama,
    /// AWS Bedrock.
    Bedrock,
}

impl ProviderKind {
    /// Every kind, with its config name.
    pub const ALL: &'static [(&'static str, ProviderKind)] = &[
        ("anthropic", ProviderKind::Anthropic),
        ("openai", ProviderKind::OpenAi),
        ("ollama", ProviderKind::Ollama),
        ("bedrock", ProviderKind::Bedrock),
    ];

    /// Its `gen_ai.provider.name` in OpenTelemetry's GenAI conventions
    /// (an OpenAI-compatible server is named as OpenAI's API).
    pub fn otel_name(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::OpenAi => "openai",
            ProviderKind::Ollama => "ollama",
            ProviderKind::Bedrock => "aws.bedrock",
        }
    }

    /// The config name of this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::OpenAi => "openai",
            ProviderKind::Ollama => "ollama",
            ProviderKind::Bedrock => "bedrock",
        }
    }

    /// Base URL when the config gives none.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "https://api.anthropic.com",
            ProviderKind::OpenAi => "https://api.openai.com/v1",
            ProviderKind::Ollama => "http://127.0.0.1:11434",
            // Filled in from the region.
            ProviderKind::Bedrock => "",
        }
    }
}

/// The wire protocol used to talk to a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireApi {
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
    /// OpenAI Chat Completions (`/chat/completions` under the base URL).
    OpenAi,
    /// Ollama's native `/api/chat`.
    OllamaNative,
    /// Bedrock InvokeModel.
    Bedrock,
}

/// Bedrock's settings.
#[derive(Debug, Clone, Default)]
pub struct BedrockSettings {
    /// AWS region.
    pub region: String,
    /// Shared-config profile.
    pub profile: Option<String>,
    /// Fixed access keys (otherwise the AWS chain).
    pub access_key_id: Option<String>,
    /// The secret of the access key.
    pub secret_access_key: Option<SecretString>,
    /// Session token of temporary keys.
    pub session_token: Option<SecretString>,
}

/// One upstream provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Name used by models (`provider = "..."`).
    pub name: String,
    /// What it is.
    pub kind: ProviderKind,
    /// How to talk to it (for ollama: `api = "native" | "anthropic" | "openai"`).
    pub api: WireApi,
    /// Base URL without a trailing slash.
    pub base_url: String,
    /// Serve the models the provider lists (ollama: `/api/tags`) by their names.
    pub discover: bool,
    /// It runs on this machine or network (default: kind `ollama`): what
    /// is sent to it never leaves, so guardrails let secrets reach it.
    pub local: bool,
    /// Whole answers are asked for as streams (so the first-byte and idle
    /// limits apply) and assembled here; `false`: wait for the whole body.
    pub stream_whole_answers: bool,
    /// Bedrock's region, profile and keys (kind `bedrock`).
    pub bedrock: Option<BedrockSettings>,
    /// Key injected upstream (never the client's).
    pub api_key: Option<SecretString>,
    /// Extra headers sent with every upstream request.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Timeouts for this provider.
    pub timeouts: Timeouts,
}

/// What a model can do; a request needing more never goes to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Tool use.
    pub tools: bool,
    /// Image input.
    pub vision: bool,
    /// Extended thinking.
    pub thinking: bool,
}

impl Capabilities {
    /// Names accepted in `capabilities = [...]`.
    pub const NAMES: &'static [&'static str] = &["tools", "vision", "thinking"];

    /// All capabilities.
    pub fn all() -> Self {
        Capabilities {
            tools: true,
            vision: true,
            thinking: true,
        }
    }
}

/// A model clients can ask for.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// Name clients use (and tiers refer to).
    pub name: String,
    /// Provider that serves it.
    pub provider: String,
    /// Upstream model id; `None` forwards the name the client asked for.
    pub id: Option<String>,
    /// Other names clients may ask for; `*` and `?` are wildcards.
    pub aliases: Vec<String>,
    /// What it can do.
    pub capabilities: Capabilities,
    /// Context window in tokens, when known.
    pub context_window: Option<u64>,
    /// Price override (USD per million tokens).
    pub price: Option<crate::core::Price>,
}

impl ModelConfig {
    /// The upstream id to send for a request that asked for `requested`.
    pub fn upstream_id<'a>(&'a self, requested: &'a str) -> &'a str {
        self.id.as_deref().unwrap_or(requested)
    }
}

/// Whether `addr` only accepts connections from this machine.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// The file of a `sqlite://` URL (its query removed).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let file = rest
        .split('?')
        .next()
        .filter(|f| !f.is_empty() && *f != ":memory:")?;
    Some(PathBuf::from(file))
}

/// The SQLite URL of a ledger file (created when missing).
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A listen address: `IP:PORT`, or `HOST:PORT` for a name this machine
/// resolves (`localhost:4000`; IPv4 preferred).
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(text)
        .map_err(|_| format!("'{text}' is not an address"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("'{text}' is not an address"))
}

/// Bounds on clients' connections (`[clients]`), so idle or dribbling
/// sockets cannot take the gateway down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// Longest wait for a request's headers (also ends idle keep-alive
    /// connections).
    pub header_timeout: Duration,
    /// Longest wait for a whole request body.
    pub body_timeout: Duration,
    /// Connections served at once; more are closed on arrival.
    pub max_connections: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            max_connections: 10_000,
        }
    }
}

//! The config loader: parse, interpolate, validate, and collect every error.
//!
//! Sections are read key by key against an explicit list of accepted keys, so
//! one pass reports every unknown key (with a "did you mean"), every bad value
//! and every broken reference, each with its dotted path.

use super::interpolate::interpolate;
use super::model::read_model;
use super::provider::read_provider;
use super::section::{ConfigError, ConfigErrors, Errors, Section, join};
use super::{
    AuthConfig, Config, ConfigSource, DEFAULT_BODY_LIMIT, DEFAULT_LISTEN, RetryPolicy, Timeouts,
    is_loopback,
};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::Path;

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;
use std::path::PathBuf;
use std::time::Duration;
use toml::{Table, Value};

/// Whether a command needs the secrets the config names (provider keys,
/// AWS keys, the master key). Commands that only read the ledger or explain
/// routing do not: an unset variable in a secret's place is then no error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// `serve`, `check-config`, `claude`: every variable must be set.
    Needed,
    /// `report`, `export`, `route`, `keys`: secrets may be unset.
    NotNeeded,
}

/// Config keys whose values are secrets (the last part of a dotted path).
const SECRET_KEYS: &[&str] = &[
    "api_key",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "master_key",
    "password",
];

/// Load a config file.
pub fn load_file(path: &Path, env: Env<'_>) -> Result<Config, ConfigErrors> {
    load_file_with(path, env, Secrets::Needed)
}

/// Load a config file, with or without its secrets.
pub fn load_file_with(path: &Path, env: Env<'_>, secrets: Secrets) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            path: String::new(),
            message: format!("cannot read {}: {e}", path.display()),
            hint: Some("pass --config FILE, or run without one for the built-in default".into()),
        }])
    })?;
    load_str_with(&text, ConfigSource::File(path.to_path_buf()), env, secrets)
}

/// Load a config from TOML text.
pub fn load_str(text: &str, source: ConfigSource, env: Env<'_>) -> Result<Config, ConfigErrors> {
    load_str_with(text, source, env, Secrets::Needed)
}

/// Load a config from TOML text, with or without its secrets.
pub fn load_str_with(
    text: &str,
    source: ConfigSource,
    env: Env<'_>,
    secrets: Secrets,
) -> Result<Config, ConfigErrors> {
    let mut root: Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigErrors(vec![ConfigError {
            path: String::new(),
            message: format!("not valid TOML: {}", e.message()),
            hint: e.span().map(|s| {
                let (line, col) = line_col(text, s.start);
                format!("look at line {line}, column {col}")
            }),
        }])
    })?;
    let mut errors = Errors::default();
    interpolate_table(&mut root, "", &Vars { env, secrets }, &mut errors);
    let config = build(&root, source, env, &mut errors);
    if errors.0.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(errors.0))
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

/// What `${VAR}` references are resolved against.
struct Vars<'a> {
    env: Env<'a>,
    secrets: Secrets,
}

impl Vars<'_> {
    /// A secret that is not needed stands in as `unset:VAR` when unset.
    fn resolve(&self, text: &str, path: &str) -> Result<String, super::InterpolateError> {
        let last = path.rsplit('.').next().unwrap_or(path);
        if self.secrets == Secrets::NotNeeded && SECRET_KEYS.contains(&last) {
            let lenient = |name: &str| (self.env)(name).or_else(|| Some(format!("unset:{name}")));
            return interpolate(text, &lenient);
        }
        interpolate(text, self.env)
    }
}

fn interpolate_table(table: &mut Table, path: &str, vars: &Vars<'_>, errors: &mut Errors) {
    for (key, value) in table.iter_mut() {
        interpolate_value(value, &join(path, key), vars, errors);
    }
}

fn interpolate_value(value: &mut Value, path: &str, vars: &Vars<'_>, errors: &mut Errors) {
    match value {
        Value::String(s) => match vars.resolve(s, path) {
            Ok(v) => *s = v,
            Err(e) => errors.add(
                path,
                e.to_string(),
                Some("export the variable, or write ${VAR:-default}".into()),
            ),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_value(item, &format!("{path}[{i}]"), vars, errors);
            }
        }
        Value::Table(t) => interpolate_table(t, path, vars, errors),
        _ => {}
    }
}

pub(super) static TOP_KEYS: &[&str] = &[
    "listen",
    "master_key",
    "auth",
    "body_limit",
    "clients",
    "shutdown_timeout",
    "shutdown_drain",
    "log_format",
    "timeouts",
    "retry",
    "providers",
    "models",
    "tiers",
    "routes",
    "router",
    "health",
    "database_url",
    "retention",
    "prices_file",
    "ledger_spool",
    "costs",
    "cache",
    "redis_url",
    "budgets",
    "rate_limits",
    "limits",
    "keys",
    "guard",
    "traces",
    "signin",
];
pub(super) static CLIENT_KEYS: &[&str] = &["header_timeout", "body_timeout", "max_connections"];
pub(super) static COST_KEYS: &[&str] = &["fixed_monthly"];
pub(super) static TIMEOUT_KEYS: &[&str] = &["connect", "first_byte", "idle", "total"];
pub(super) static RETRY_KEYS: &[&str] = &["retries", "attempts", "backoff", "max_backoff"];
fn build(root: &Table, source: ConfigSource, env: Env<'_>, errors: &mut Errors) -> Config {
    let top = Section::new(root, "", TOP_KEYS, errors);
    let listen_text = top
        .str("listen", errors)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen: SocketAddr = super::parse_listen(&listen_text).unwrap_or_else(|e| {
        errors.add(
            "listen",
            e,
            Some("write it as IP:PORT or HOST:PORT, e.g. \"127.0.0.1:4000\"".into()),
        );
        SocketAddr::from(([127, 0, 0, 1], 4000))
    });
    let auth = read_auth(&top, &listen, env, errors);
    let body_limit = top
        .size("body_limit", errors)
        .map(|b| usize::try_from(b).unwrap_or(usize::MAX))
        .unwrap_or(DEFAULT_BODY_LIMIT);
    let shutdown_timeout = top
        .duration("shutdown_timeout", errors)
        .unwrap_or(Duration::from_secs(30));
    let shutdown_drain = top
        .duration("shutdown_drain", errors)
        .unwrap_or(Duration::ZERO);
    let log_json = match top.str("log_format", errors).as_deref() {
        None | Some("text") => false,
        Some("json") => true,
        Some(other) => {
            errors.add(
                "log_format",
                format!("expected \"text\" or \"json\", not {other:?}"),
                None,
            );
            false
        }
    };
    let timeouts = read_timeouts(
        top.table("timeouts", errors),
        "timeouts",
        Timeouts::default(),
        errors,
    );
    let retry = read_retry(top.table("retry", errors), errors);

    let mut providers = Vec::new();
    if let Some(table) = top.table("providers", errors) {
        for (name, value) in table {
            let path = join("providers", name);
            match value {
                Value::Table(t) => {
                    if let Some(p) = read_provider(name, t, &path, timeouts, errors) {
                        providers.push(p);
                    }
                }
                other => errors.add(
                    &path,
                    format!("expected a table, found {}", other.type_str()),
                    None,
                ),
            }
        }
    }
    // Models may name any provider section, even one with errors of its own.
    let provider_names: Vec<&str> = match top.get("providers") {
        Some(Value::Table(t)) => t.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let mut models = Vec::new();
    if let Some(table) = top.table("models", errors) {
        for (name, value) in table {
            let path = join("models", name);
            match value {
                Value::Table(t) => {
                    if let Some(m) = read_model(name, t, &path, &provider_names, errors) {
                        models.push(m);
                    }
                }
                other => errors.add(
                    &path,
                    format!("expected a table, found {}", other.type_str()),
                    None,
                ),
            }
        }
    }
    let model_names: Vec<&str> = match top.get("models") {
        Some(Value::Table(t)) => t.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let routing = super::routing::read(&top, &model_names, errors);
    let ledger = read_ledger(&top, errors);
    let cache = super::cache::read(&top, errors);
    let budgets = super::budgets::read(&top, errors);
    let rate_limits = super::limits::read_rate_limits(&top, errors);
    let limits = super::limits::read_limits(&top, errors);
    let keys = super::static_keys::read(&top, errors);
    let tier_names: Vec<&str> = routing.tiers.iter().map(|t| t.name.as_str()).collect();
    let guard = super::guard::read(&top, &tier_names, errors);
    let traces = super::traces::read(&top, errors);
    let signin = super::signin::read(&top, errors);
    if signin.is_some() && matches!(auth, AuthConfig::Disabled) {
        errors.add(
            "signin",
            "sign-in needs the gateway to check who calls it",
            Some("set master_key (the admin's key) as well".into()),
        );
    }
    Config {
        traces,
        signin,
        keys,
        guard,
        listen,
        cache,
        budgets,
        rate_limits,
        limits,
        routing,
        ledger,
        auth,
        body_limit,
        clients: read_clients(&top, errors),
        shutdown_timeout,
        shutdown_drain,
        log_json,
        timeouts,
        retry,
        providers,
        models,
        source,
        notes: Vec::new(),
    }
}

/// Shortest master key accepted on a non-loopback address.
const MIN_KEY_CHARS: usize = 24;

/// Keys published in this repository's examples.
const EXAMPLE_KEYS: &[&str] = &["sk-switchyard-local"];

/// A key too short, or one anyone can read in the examples.
fn weak_key(key: &str) -> bool {
    key.chars().count() < MIN_KEY_CHARS || EXAMPLE_KEYS.contains(&key)
}

fn read_ledger(top: &Section<'_>, errors: &mut Errors) -> super::LedgerConfig {
    let database_url = top.non_empty_str("database_url", errors);
    if let Some(u) = &database_url
        && !["sqlite:", "postgres:", "postgresql:"]
            .iter()
            .any(|p| u.starts_with(p))
    {
        errors.add(
            "database_url",
            format!("'{u}' is not a sqlite:// or postgres:// URL"),
            None,
        );
    }
    let retention = match top.duration("retention", errors) {
        Some(d) if d.is_zero() => None,
        Some(d) => Some(d),
        None => Some(Duration::from_secs(365 * 86_400)),
    };
    let mut fixed_monthly = Vec::new();
    if let Some(costs) = top.table("costs", errors) {
        let s = Section::new(costs, "costs", COST_KEYS, errors);
        if let Some(t) = s.table("fixed_monthly", errors) {
            for (name, v) in t {
                let amount = match v {
                    Value::Integer(i) if *i >= 0 => Some(rust_decimal::Decimal::from(*i)),
                    Value::Float(f) if *f >= 0.0 => f.to_string().parse().ok(),
                    _ => None,
                };
                match amount {
                    Some(a) => fixed_monthly.push((name.clone(), a)),
                    None => errors.add(
                        &join("costs.fixed_monthly", name),
                        "expected USD per month",
                        Some("e.g. ec2 = 35.0".into()),
                    ),
                }
            }
        }
    }
    super::LedgerConfig {
        spool: top.non_empty_str("ledger_spool", errors).map(PathBuf::from),
        database_url,
        retention,
        prices_file: top
            .non_empty_str("prices_file", errors)
            .map(std::path::PathBuf::from),
        fixed_monthly,
    }
}

fn read_auth(
    top: &Section<'_>,
    listen: &SocketAddr,
    env: Env<'_>,
    errors: &mut Errors,
) -> AuthConfig {
    let key = top
        .non_empty_str("master_key", errors)
        .or_else(|| env("SWITCHYARD_MASTER_KEY").filter(|k| !k.trim().is_empty()));
    let mode = top.str("auth", errors);
    match (mode.as_deref(), key) {
        (Some("none"), _) if !is_loopback(listen) => {
            errors.add(
                "auth",
                format!("auth = \"none\" is only allowed on a loopback address, not {listen}"),
                Some("set master_key (or SWITCHYARD_MASTER_KEY), or listen on 127.0.0.1".into()),
            );
            AuthConfig::Disabled
        }
        (Some("none"), _) => AuthConfig::Disabled,
        (None | Some("key"), Some(k)) => {
            if !is_loopback(listen) && weak_key(&k) {
                errors.add(
                    "master_key",
                    format!("too weak a key for {listen}: anyone who can reach it could use the gateway"),
                    Some(format!(
                        "on a non-loopback address use a random key of at least {MIN_KEY_CHARS} characters \
                         (e.g. `openssl rand -hex 24`), never an example's"
                    )),
                );
            }
            AuthConfig::MasterKey(SecretString::from(k))
        }
        (None | Some("key"), None) => {
            errors.add(
                "master_key",
                "no master key: clients could not authenticate",
                Some(
                    "set master_key = \"${SWITCHYARD_MASTER_KEY}\" and export it, \
                     or auth = \"none\" when listening on loopback"
                        .into(),
                ),
            );
            AuthConfig::Disabled
        }
        (Some(other), _) => {
            errors.add(
                "auth",
                format!("unknown auth mode '{other}'"),
                Some("use \"key\" or \"none\"".into()),
            );
            AuthConfig::Disabled
        }
    }
}

fn read_clients(top: &Section<'_>, errors: &mut Errors) -> super::ClientLimits {
    let mut c = super::ClientLimits::default();
    if let Some(t) = top.table("clients", errors) {
        let s = Section::new(t, "clients", CLIENT_KEYS, errors);
        c.header_timeout = s
            .duration("header_timeout", errors)
            .unwrap_or(c.header_timeout);
        c.body_timeout = s.duration("body_timeout", errors).unwrap_or(c.body_timeout);
        c.max_connections = s
            .u64("max_connections", errors)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX).max(1))
            .unwrap_or(c.max_connections);
    }
    c
}

pub(super) fn read_timeouts(
    table: Option<&Table>,
    path: &str,
    base: Timeouts,
    errors: &mut Errors,
) -> Timeouts {
    let Some(table) = table else { return base };
    let s = Section::new(table, path, TIMEOUT_KEYS, errors);
    Timeouts {
        connect: s.duration("connect", errors).unwrap_or(base.connect),
        first_byte: s.duration("first_byte", errors).unwrap_or(base.first_byte),
        idle: s.duration("idle", errors).unwrap_or(base.idle),
        total: s.duration("total", errors).unwrap_or(base.total),
    }
}

/// Keys of a route's `timeouts`.
pub(super) static ROUTE_TIMEOUT_KEYS: &[&str] = &["first_byte", "idle", "total"];

/// A route's `timeouts = { first_byte, idle, total }`.
pub(super) fn read_route_timeouts(
    table: Option<&Table>,
    path: &str,
    errors: &mut Errors,
) -> super::RouteTimeouts {
    let Some(table) = table else {
        return super::RouteTimeouts::default();
    };
    let s = Section::new(table, path, ROUTE_TIMEOUT_KEYS, errors);
    super::RouteTimeouts {
        first_byte: s.duration("first_byte", errors),
        idle: s.duration("idle", errors),
        total: s.duration("total", errors),
    }
}

fn read_retry(table: Option<&Table>, errors: &mut Errors) -> RetryPolicy {
    let base = RetryPolicy::default();
    let Some(table) = table else { return base };
    let s = Section::new(table, "retry", RETRY_KEYS, errors);
    // `retries`: tries after the first. `attempts` is its old name (it
    // meant the same, which its name did not say).
    let retries = s.u64("retries", errors);
    let old = s.u64("attempts", errors);
    if retries.is_some() && old.is_some() {
        errors.add(
            &s.path("attempts"),
            "the old name of retries: give one of them",
            Some("retries = N (tries after the first)".into()),
        );
    }
    let attempts = retries.or(old).map(|a| a.min(10) as u32);
    RetryPolicy {
        attempts: attempts.unwrap_or(base.attempts),
        backoff: s.duration("backoff", errors).unwrap_or(base.backoff),
        max_backoff: s
            .duration("max_backoff", errors)
            .unwrap_or(base.max_backoff),
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;

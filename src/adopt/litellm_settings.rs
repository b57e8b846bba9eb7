//! The settings sections of a LiteLLM config (`litellm_settings`,
//! `router_settings`, `general_settings`, `environment_variables`) mapped
//! onto switchyard's, key by key; what has no equivalent is named.

use super::litellm::{Import, Route, number, value};
use yaml_rust2::Yaml;

/// Why a LiteLLM setting is not carried, for the ones users ask about.
fn reason(key: &str) -> &'static str {
    match key {
        "success_callback" | "failure_callback" | "callbacks" | "service_callback" => {
            "logging callbacks: switchyard keeps its own ledger (`report`, `export`, the \
             dashboard) and Prometheus metrics"
        }
        "drop_params" | "modify_params" => {
            "switchyard translates each request to the provider's dialect and drops what it \
             cannot carry itself"
        }
        "set_verbose" | "json_logs" | "telemetry" => "logging: set RUST_LOG (e.g. RUST_LOG=debug)",
        "context_window_fallbacks" => {
            "switchyard has no context-window fallback; a route with \
             `match = { input_tokens_above = N }` sends long prompts elsewhere"
        }
        "routing_strategy" | "routing_strategy_args" => {
            "switchyard routes by cost (tiers, rules, the classifier), not by load; deployments \
             of one name are tried in order"
        }
        "max_budget" | "budget_duration" => {
            "budgets are per key, developer or team in switchyard ([[budgets]])"
        }
        "alerting" | "alerting_threshold" => "no alerting: scrape /metrics instead",
        "store_model_in_db" => "models live in switchyard.toml only",
        "default_team_settings" | "team_settings" => {
            "teams come from client keys (`switchyard keys create --team`)"
        }
        "pass_through_endpoints" => "no pass-through endpoints",
        "enable_pre_call_checks" => "no pre-call context checks",
        _ => "no switchyard equivalent",
    }
}

/// Map the settings sections onto `out`.
pub(super) fn settings(out: &mut Import, root: &Yaml) {
    let litellm = &root["litellm_settings"];
    let router = &root["router_settings"];
    let general = &root["general_settings"];
    let mut redis = Redis::default();
    for (section, table) in [
        ("litellm_settings", litellm),
        ("router_settings", router),
        ("general_settings", general),
    ] {
        let Some(h) = table.as_hash() else { continue };
        for (k, v) in h {
            let Some(key) = k.as_str() else { continue };
            let path = format!("{section}.{key}");
            if !setting(out, &mut redis, key, v, &path) {
                out.skip(&path, reason(key));
            }
        }
    }
    if let Some(h) = root["environment_variables"].as_hash() {
        for (k, v) in h {
            let Some(key) = k.as_str() else { continue };
            redis.fill_from_env(key, v);
            out.skip(
                &format!("environment_variables.{key}"),
                "switchyard does not set its own environment: export it, or write the value \
                 where it is used",
            );
        }
    }
    match out.cache.as_mut() {
        Some(Some(url)) => *url = redis.url(),
        _ if redis.named() => out.skip(
            "Redis (redis_host, REDIS_HOST)",
            "LiteLLM shared its router's state in this Redis; switchyard shares budgets and \
             rate limits ([limits] store = \"redis\") and its cache there: set redis_url",
        ),
        _ => {}
    }
}

/// Take one setting; false when there is nothing to take it into.
fn setting(out: &mut Import, redis: &mut Redis, key: &str, v: &Yaml, path: &str) -> bool {
    let secs = || number(v);
    match key {
        // router_settings come after litellm_settings, and win.
        "num_retries" => out.retries = v.as_i64().or(out.retries),
        "request_timeout" | "timeout" => out.timeout_s = secs().or(out.timeout_s),
        "allowed_fails" => out.allowed_fails = v.as_i64().or(out.allowed_fails),
        "cooldown_time" => out.cooldown_s = secs().or(out.cooldown_s),
        "master_key" => {
            out.master_key = value(v);
            if out
                .master_key
                .as_deref()
                .is_some_and(|k| !k.starts_with("${"))
            {
                out.literal_secrets.push(path.to_string());
            }
        }
        "database_url" => out.database_url = value(v),
        "fallbacks" => fallbacks(out, v, path),
        "model_group_alias" => aliases(out, v, path),
        "cache" => {
            if v.as_bool() == Some(true) && out.cache.is_none() {
                // LiteLLM's default cache is Redis.
                out.cache = Some(Some(String::new()));
            }
        }
        "cache_params" => cache_params(out, redis, v, path),
        "redis_host" | "redis_port" | "redis_password" | "redis_url" => redis.set(key, v),
        _ => return false,
    }
    true
}

/// `fallbacks: [{"a": ["b", "c"]}]`: requests for `a` try `a`'s
/// deployments, then `b`, then `c`.
fn fallbacks(out: &mut Import, v: &Yaml, path: &str) {
    for (i, item) in v.as_vec().into_iter().flatten().enumerate() {
        let Some(h) = item.as_hash() else { continue };
        for (from, to) in h {
            let Some(from) = from.as_str() else { continue };
            let next: Vec<String> = to
                .as_vec()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect();
            let (known, unknown): (Vec<String>, Vec<String>) =
                next.into_iter().partition(|n| out.has_model(n));
            for n in unknown {
                out.skip(
                    &format!("{path}[{i}].{from}"),
                    &format!("fallback '{n}' is not an imported model"),
                );
            }
            if !out.has_model(from) {
                out.skip(
                    &format!("{path}[{i}].{from}"),
                    &format!("'{from}' is not an imported model"),
                );
                continue;
            }
            if known.is_empty() {
                continue;
            }
            match out.routes.iter_mut().find(|r| r.model == from) {
                Some(r) => {
                    r.targets.extend(known);
                    r.why.push_str("; then LiteLLM's fallbacks");
                }
                None => {
                    let mut targets = vec![from.to_string()];
                    targets.extend(known);
                    out.routes.push(Route {
                        name: format!("{from}-fallbacks"),
                        model: from.to_string(),
                        targets,
                        why: "LiteLLM's fallbacks: the next model when one fails".into(),
                    });
                }
            }
        }
    }
}

/// `model_group_alias: {"gpt-4": "gpt-4o"}`: the alias names the model.
fn aliases(out: &mut Import, v: &Yaml, path: &str) {
    let Some(h) = v.as_hash() else { return };
    for (alias, target) in h {
        let (Some(alias), Some(target)) = (alias.as_str(), target.as_str()) else {
            continue;
        };
        match out.models.iter_mut().find(|m| m.name == target) {
            Some(m) => m.aliases.push(alias.to_string()),
            None => out.skip(
                &format!("{path}.{alias}"),
                &format!("'{target}' is not an imported model"),
            ),
        }
    }
}

fn cache_params(out: &mut Import, redis: &mut Redis, v: &Yaml, path: &str) {
    let kind = v["type"].as_str().unwrap_or("redis");
    match kind {
        "redis" => out.cache = Some(Some(String::new())),
        "local" => out.cache = Some(None),
        other => {
            out.cache = Some(None);
            out.skip(
                &format!("{path}.type"),
                &format!(
                    "a {other} cache: switchyard caches in memory or in Redis (in memory \
                     written); its semantic cache embeds with its own model"
                ),
            );
        }
    }
    out.cache_ttl_s = number(&v["ttl"]);
    let Some(h) = v.as_hash() else { return };
    for (k, val) in h {
        match k.as_str() {
            Some("type" | "ttl") => {}
            Some(key @ ("host" | "port" | "password")) => redis.set(&format!("redis_{key}"), val),
            Some("url" | "redis_url") => redis.set("redis_url", val),
            Some(key) => out.skip(&format!("{path}.{key}"), "no switchyard equivalent"),
            None => {}
        }
    }
}

/// Where Redis is, from whichever place the LiteLLM config said it.
#[derive(Default)]
struct Redis {
    url: Option<String>,
    host: Option<String>,
    port: Option<String>,
    password: Option<String>,
}

impl Redis {
    fn set(&mut self, key: &str, v: &Yaml) {
        let text = value(v);
        match key {
            "redis_url" => self.url = text,
            "redis_host" => self.host = text,
            "redis_port" => self.port = text,
            "redis_password" => self.password = text,
            _ => {}
        }
    }

    fn named(&self) -> bool {
        self.url.is_some() || self.host.is_some()
    }

    /// `environment_variables: {REDIS_HOST: …}` fills what is unset.
    fn fill_from_env(&mut self, var: &str, v: &Yaml) {
        let slot = match var {
            "REDIS_URL" => &mut self.url,
            "REDIS_HOST" => &mut self.host,
            "REDIS_PORT" => &mut self.port,
            "REDIS_PASSWORD" => &mut self.password,
            _ => return,
        };
        if slot.is_none() {
            *slot = value(v);
        }
    }

    /// A `redis://` URL; LiteLLM's own environment variables when the
    /// config named no place.
    fn url(&self) -> String {
        if let Some(u) = &self.url {
            return u.clone();
        }
        let Some(host) = &self.host else {
            return "${REDIS_URL:-redis://127.0.0.1:6379}".into();
        };
        let port = self.port.as_deref().unwrap_or("6379");
        match &self.password {
            Some(p) => format!("redis://:{p}@{host}:{port}"),
            None => format!("redis://{host}:{port}"),
        }
    }
}

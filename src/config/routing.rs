//! Routing config: `[tiers]`, `[[routes]]`, `[router]` and `[health]`.
//!
//! ```toml
//! [tiers]                       # cheapest first; each an ordered fallback chain
//! local    = ["local", "haiku"]
//! cheap    = ["haiku", "sonnet"]
//! premium  = ["sonnet"]
//! baseline = "sonnet"           # what every request would have cost
//!
//! [[routes]]                    # first match wins
//! match = { model = "claude-*haiku*" }
//! tier  = "local"
//!
//! [[routes]]
//! match = { model = "*" }
//! auto  = true
//! ```

use super::router::{
    ClassifierChoice, RoutingMode, TurnPolicy, read_classifier, read_mode, read_turns,
};
use super::section::{Errors, Section, closest, join};
use http::HeaderName;
use std::time::Duration;
use toml::{Table, Value};

/// A named, ordered chain of models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierConfig {
    /// Tier name (`local`, `cheap`, `premium` are the ones `auto` picks).
    pub name: String,
    /// Model names, tried in order.
    pub models: Vec<String>,
}

/// What a route does with a request it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAction {
    /// Send it to a tier (and the tiers after it, on failure).
    Tier(String),
    /// Send it to these models, in order.
    Targets(Vec<String>),
    /// Let the complexity classifier pick the tier.
    Auto,
}

/// When a route applies. Every given condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteMatch {
    /// Requested model name patterns (any may match).
    pub models: Vec<String>,
    /// The request offers tools (or does not).
    pub tools: Option<bool>,
    /// The request enables extended thinking (or does not).
    pub thinking: Option<bool>,
    /// The request carries images (or does not).
    pub images: Option<bool>,
    /// The estimated input is above this many tokens.
    pub input_tokens_above: Option<u64>,
    /// Header name → value pattern.
    pub headers: Vec<(HeaderName, String)>,
    /// The request has the shape of a client's background call (a title,
    /// a summary: no tools, one or two turns, a small structured answer).
    pub background: Option<bool>,
}

/// One `[[routes]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    /// Name shown in `x-switchyard-route`.
    pub name: String,
    /// When it applies.
    pub matcher: RouteMatch,
    /// What it does.
    pub action: RouteAction,
    /// Its cache settings (unset ones come from `[cache]`).
    pub cache: super::RouteCache,
    /// Its own mode, over `[router] mode`.
    pub mode: Option<RoutingMode>,
    /// Its own guardrail action, over `[guard]`'s.
    pub guard: Option<super::GuardAction>,
    /// Tool rules added for its answers (`guard_tools`).
    pub guard_tools: super::ToolRules,
    /// Its ceiling on an answer's tokens.
    pub max_tokens: Option<u64>,
    /// Its own timeouts, over the providers'.
    pub timeouts: super::RouteTimeouts,
}

/// Circuit-breaker settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthConfig {
    /// Consecutive failures that open a target's circuit.
    pub failures: u32,
    /// First cool-down; doubles after each failed probe.
    pub cooldown: Duration,
    /// Longest cool-down.
    pub max_cooldown: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            failures: 3,
            cooldown: Duration::from_secs(30),
            max_cooldown: Duration::from_secs(300),
        }
    }
}

/// Everything about routing.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingConfig {
    /// Route, or only shadow (a route's own `mode` wins).
    pub mode: RoutingMode,
    /// Tiers, cheapest first (file order).
    pub tiers: Vec<TierConfig>,
    /// The model every request is compared with for savings.
    pub baseline: Option<String>,
    /// Routes, first match wins (the built-in Claude Code routes when tiers
    /// are configured without routes).
    pub routes: Vec<RouteConfig>,
    /// Which classifier `auto` routes use.
    pub classifier: ClassifierChoice,
    /// Score from which `auto` picks the cheap tier (default: the model's).
    pub cheap_from: Option<f64>,
    /// Score from which `auto` picks the premium tier (default: the model's).
    pub premium_from: Option<f64>,
    /// P(premium) from which a person's turn is planned on premium whatever
    /// its tier (default: the learned model's; `1` turns it off).
    pub plan_from: Option<f64>,
    /// Keep a Claude Code session on the tier it reached.
    pub sticky_sessions: bool,
    /// How long an idle session's tier is remembered.
    pub session_idle: Duration,
    /// How an agent loop's turns are routed.
    pub turns: TurnPolicy,
    /// The tier mechanical tool steps may use (default: `cheap`).
    pub work_tier: String,
    /// How long a provider keeps a prompt cached (for the cost model).
    pub cache_ttl: Duration,
    /// Circuit breaker.
    pub health: HealthConfig,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            tiers: Vec::new(),
            baseline: None,
            routes: Vec::new(),
            classifier: ClassifierChoice::default(),
            cheap_from: None,
            premium_from: None,
            plan_from: None,
            mode: RoutingMode::Route,
            sticky_sessions: true,
            // Anthropic's prompt cache lives 5 minutes: after that a switch costs nothing.
            session_idle: Duration::from_secs(300),
            turns: TurnPolicy::PerTurn,
            work_tier: "cheap".to_string(),
            cache_ttl: Duration::from_secs(300),
            health: HealthConfig::default(),
        }
    }
}

/// The routes used when tiers are configured without any: Claude Code's
/// background requests (haiku) go local, extended thinking premium, and
/// everything else is classified.
pub fn default_routes() -> Vec<RouteConfig> {
    let route = |name: &str, matcher: RouteMatch, action| RouteConfig {
        name: name.into(),
        matcher,
        action,
        cache: super::RouteCache::default(),
        mode: None,
        guard: None,
        guard_tools: super::ToolRules::NONE,
        max_tokens: None,
        timeouts: super::RouteTimeouts::default(),
    };
    vec![
        route(
            "background",
            RouteMatch {
                background: Some(true),
                ..RouteMatch::default()
            },
            RouteAction::Tier("local".into()),
        ),
        route(
            "thinking",
            RouteMatch {
                thinking: Some(true),
                ..RouteMatch::default()
            },
            RouteAction::Tier("premium".into()),
        ),
        route("auto", RouteMatch::default(), RouteAction::Auto),
    ]
}

pub(super) static ROUTE_KEYS: &[&str] = &[
    "name",
    "match",
    "tier",
    "targets",
    "model",
    "auto",
    "cache",
    "mode",
    "guard",
    "guard_tools",
    "max_tokens",
    "timeouts",
];
pub(super) static MATCH_KEYS: &[&str] = &[
    "model",
    "tools",
    "thinking",
    "images",
    "input_tokens_above",
    "headers",
    "background",
];
pub(super) static ROUTER_KEYS: &[&str] = &[
    "classifier",
    "model",
    "cheap_from",
    "premium_from",
    "plan_from",
    "sticky_sessions",
    "session_idle",
    "mode",
    "turns",
    "work_tier",
    "cache_ttl",
];
pub(super) static HEALTH_KEYS: &[&str] = &["failures", "cooldown", "max_cooldown"];

fn name_check(path: &str, name: &str, models: &[&str], errors: &mut Errors) {
    if !models.contains(&name) {
        let hint = closest(name, models).map(|c| format!("did you mean '{c}'?"));
        errors.add(
            path,
            format!("unknown model '{name}'"),
            hint.or(Some("name a [models.NAME] section".into())),
        );
    }
}

/// Read the routing sections of the root table.
pub(super) fn read(root: &Section<'_>, models: &[&str], errors: &mut Errors) -> RoutingConfig {
    let mut c = RoutingConfig::default();
    if let Some(Value::Table(t)) = root.get("tiers") {
        for (name, value) in t {
            let path = join("tiers", name);
            match (name.as_str(), value) {
                ("baseline", Value::String(b)) => {
                    name_check(&path, b, models, errors);
                    c.baseline = Some(b.clone());
                }
                (_, Value::Array(items)) => {
                    let mut list = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        match item {
                            Value::String(m) => {
                                name_check(&format!("{path}[{i}]"), m, models, errors);
                                list.push(m.clone());
                            }
                            _ => errors.add(&format!("{path}[{i}]"), "expected a model name", None),
                        }
                    }
                    c.tiers.push(TierConfig {
                        name: name.clone(),
                        models: list,
                    });
                }
                _ => errors.add(
                    &path,
                    "expected a list of model names (or baseline = \"model\")",
                    None,
                ),
            }
        }
        if c.baseline.is_none() {
            // Default baseline: the first model of the premium tier, else of the last tier.
            c.baseline = c
                .tiers
                .iter()
                .find(|t| t.name == "premium")
                .or(c.tiers.last())
                .and_then(|t| t.models.first().cloned());
        }
    }
    let tier_names: Vec<&str> = c.tiers.iter().map(|t| t.name.as_str()).collect();
    if let Some(v) = root.get("routes") {
        match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let path = format!("routes[{i}]");
                    match item {
                        Value::Table(t) => {
                            if let Some(r) = read_route(t, &path, i, models, &tier_names, errors) {
                                c.routes.push(r);
                            }
                        }
                        _ => errors.add(&path, "expected a table ([[routes]])", None),
                    }
                }
            }
            _ => errors.add("routes", "expected [[routes]] tables", None),
        }
    } else if !c.tiers.is_empty() {
        c.routes = default_routes();
    }
    if let Some(Value::Table(t)) = root.get("router") {
        let s = Section::new(t, "router", ROUTER_KEYS, errors);
        c.classifier = read_classifier(&s, errors).unwrap_or(c.classifier);
        c.cheap_from = s.fraction("cheap_from", errors).or(c.cheap_from);
        c.premium_from = s.fraction("premium_from", errors).or(c.premium_from);
        c.plan_from = s.fraction("plan_from", errors).or(c.plan_from);
        if let (Some(cheap), Some(premium)) = (c.cheap_from, c.premium_from)
            && cheap > premium
            && c.classifier == ClassifierChoice::Rules
        {
            errors.add(
                "router.cheap_from",
                "must not be above premium_from (the rules classifier cuts one score)",
                None,
            );
        }
        c.sticky_sessions = s
            .bool("sticky_sessions", errors)
            .unwrap_or(c.sticky_sessions);
        c.session_idle = s.duration("session_idle", errors).unwrap_or(c.session_idle);
        c.mode = read_mode(&s, errors).unwrap_or(c.mode);
        c.turns = read_turns(&s, errors).unwrap_or(c.turns);
        c.cache_ttl = s.duration("cache_ttl", errors).unwrap_or(c.cache_ttl);
        if let Some(w) = s.str("work_tier", errors) {
            if !tier_names.contains(&w.as_str()) {
                let hint = Some(format!("tiers: {}", tier_names.join(", ")));
                errors.add("router.work_tier", format!("no tier '{w}'"), hint);
            }
            c.work_tier = w;
        }
    }
    if let Some(Value::Table(t)) = root.get("health") {
        let s = Section::new(t, "health", HEALTH_KEYS, errors);
        c.health.failures = s
            .u64("failures", errors)
            .map(|n| n.clamp(1, 1000) as u32)
            .unwrap_or(c.health.failures);
        c.health.cooldown = s.duration("cooldown", errors).unwrap_or(c.health.cooldown);
        c.health.max_cooldown = s
            .duration("max_cooldown", errors)
            .unwrap_or(c.health.max_cooldown);
    }
    c
}

fn read_route(
    t: &Table,
    path: &str,
    index: usize,
    models: &[&str],
    tiers: &[&str],
    errors: &mut Errors,
) -> Option<RouteConfig> {
    let s = Section::new(t, path, ROUTE_KEYS, errors);
    let name = s
        .str("name", errors)
        .unwrap_or_else(|| format!("routes[{index}]"));
    let matcher = match s.table("match", errors) {
        Some(m) => read_match(m, &s.path("match"), errors),
        None => RouteMatch::default(),
    };
    let mut actions = Vec::new();
    if let Some(tier) = s.str("tier", errors) {
        if !tiers.contains(&tier.as_str()) {
            let hint = closest(&tier, tiers).map(|c| format!("did you mean '{c}'?"));
            errors.add(
                &s.path("tier"),
                format!("unknown tier '{tier}'"),
                hint.or(Some("define it under [tiers]".into())),
            );
        }
        actions.push(RouteAction::Tier(tier));
    }
    if let Some(targets) = s.str_list("targets", errors) {
        for (i, m) in targets.iter().enumerate() {
            name_check(&format!("{}[{i}]", s.path("targets")), m, models, errors);
        }
        actions.push(RouteAction::Targets(targets));
    }
    if let Some(m) = s.str("model", errors) {
        name_check(&s.path("model"), &m, models, errors);
        actions.push(RouteAction::Targets(vec![m]));
    }
    if s.bool("auto", errors) == Some(true) {
        if tiers.is_empty() {
            errors.add(
                &s.path("auto"),
                "auto routing needs [tiers]",
                Some("define local / cheap / premium tiers".into()),
            );
        }
        actions.push(RouteAction::Auto);
    }
    match actions.len() {
        1 => actions.pop().map(|action| RouteConfig {
            name,
            matcher,
            action,
            cache: match s.table("cache", errors) {
                Some(t) => super::cache::read_route_cache(t, &s.path("cache"), errors),
                None => super::RouteCache::default(),
            },
            mode: read_mode(&s, errors),
            guard: super::guard::action(&s, "guard", errors),
            guard_tools: super::guard::tool_rules(&s, "guard_tools", errors),
            max_tokens: super::guard::token_ceiling(&s, errors),
            timeouts: super::load::read_route_timeouts(
                s.table("timeouts", errors),
                &s.path("timeouts"),
                errors,
            ),
        }),
        0 => {
            errors.add(
                path,
                "a route needs one of tier, targets, model or auto = true",
                None,
            );
            None
        }
        _ => {
            errors.add(
                path,
                "a route takes only one of tier, targets, model or auto",
                None,
            );
            None
        }
    }
}

fn read_match(t: &Table, path: &str, errors: &mut Errors) -> RouteMatch {
    let s = Section::new(t, path, MATCH_KEYS, errors);
    let models = match s.get("model") {
        Some(Value::String(m)) => vec![m.clone()],
        Some(_) => s.str_list("model", errors).unwrap_or_default(),
        None => Vec::new(),
    };
    let mut headers = Vec::new();
    if let Some(h) = s.table("headers", errors) {
        for (k, v) in h {
            match (HeaderName::try_from(k.as_str()), v) {
                (Ok(name), Value::String(p)) => headers.push((name, p.clone())),
                _ => errors.add(
                    &join(&s.path("headers"), k),
                    "expected a header name = \"pattern\"",
                    None,
                ),
            }
        }
    }
    RouteMatch {
        models,
        tools: s.bool("tools", errors),
        thinking: s.bool("thinking", errors),
        images: s.bool("images", errors),
        input_tokens_above: s.u64("input_tokens_above", errors),
        background: s.bool("background", errors),
        headers,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigSource, load_str};

    const BASE: &str = "auth = \"none\"\n[providers.p]\nkind = \"anthropic\"\nbase_url = \"http://127.0.0.1:1\"\n[models.local]\nprovider = \"p\"\n[models.haiku]\nprovider = \"p\"\n[models.sonnet]\nprovider = \"p\"\n";

    fn load(extra: &str) -> Result<crate::config::Config, crate::config::ConfigErrors> {
        load_str(&format!("{BASE}{extra}"), ConfigSource::Embedded, &|_| None)
    }

    #[test]
    fn tiers_and_default_routes() {
        let c = load("[tiers]\nlocal = [\"local\", \"haiku\"]\ncheap = [\"haiku\"]\npremium = [\"sonnet\"]\n").unwrap();
        let r = &c.routing;
        assert_eq!(
            r.tiers.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["local", "cheap", "premium"]
        );
        assert_eq!(
            r.baseline.as_deref(),
            Some("sonnet"),
            "defaults to the premium tier's first model"
        );
        assert_eq!(
            r.routes.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
            ["background", "thinking", "auto"]
        );
    }

    #[test]
    fn explicit_routes() {
        let c = load(
            "[tiers]\nlocal = [\"local\"]\npremium = [\"sonnet\"]\nbaseline = \"haiku\"\n\
             [[routes]]\nname = \"big\"\nmatch = { input_tokens_above = 100000, headers = { x-team = \"infra*\" } }\nmodel = \"sonnet\"\n\
             [[routes]]\nmatch = { model = [\"gpt-*\", \"o*\"], tools = true }\ntargets = [\"haiku\", \"sonnet\"]\n\
             [[routes]]\nauto = true\n[router]\ncheap_from = 0.3\npremium_from = 0.7\nplan_from = 0.1\nsession_idle = \"10m\"\n[health]\nfailures = 2\ncooldown = \"5s\"\n",
        )
        .unwrap();
        let r = &c.routing;
        assert_eq!(r.baseline.as_deref(), Some("haiku"));
        assert_eq!(r.routes[0].name, "big");
        assert_eq!(r.routes[0].matcher.input_tokens_above, Some(100_000));
        assert_eq!(r.routes[0].matcher.headers[0].1, "infra*");
        assert_eq!(r.routes[1].matcher.models, ["gpt-*", "o*"]);
        assert_eq!(r.routes[1].name, "routes[1]");
        assert_eq!(
            (r.cheap_from, r.premium_from, r.plan_from, r.health.failures),
            (Some(0.3), Some(0.7), Some(0.1), 2)
        );
    }

    #[test]
    fn routing_errors() {
        let e = load(
            "[tiers]\nlocal = [\"lokal\"]\nbaseline = \"sonet\"\n[[routes]]\ntier = \"cheep\"\n[[routes]]\nauto = true\nmodel = \"sonnet\"\n\
             [[routes]]\nmatch = { modle = \"x\" }\nauto = true\n[router]\ncheap_from = 2\n",
        )
        .unwrap_err();
        let paths: Vec<&str> = e.0.iter().map(|e| e.path.as_str()).collect();
        for want in [
            "tiers.local[0]",
            "tiers.baseline",
            "routes[0].tier",
            "routes[1]",
            "routes[2].match.modle",
            "router.cheap_from",
        ] {
            assert!(paths.contains(&want), "{want} missing in {paths:?}");
        }
        let hint =
            e.0.iter()
                .find(|e| e.path == "tiers.local[0]")
                .unwrap()
                .hint
                .clone();
        assert_eq!(hint.as_deref(), Some("did you mean 'local'?"));
    }
}

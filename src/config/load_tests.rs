//! Tests of the config loader.

use super::super::WireApi;
use super::*;
use secrecy::ExposeSecret;

fn env(name: &str) -> Option<String> {
    match name {
        "ANTHROPIC_API_KEY" => Some("sk-ant-test".into()),
        "SWITCHYARD_MASTER_KEY" => Some("sk-master".into()),
        _ => None,
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn load(text: &str) -> Result<Config, ConfigErrors> {
    load_str(text, ConfigSource::Embedded, &env)
}

fn paths(e: &ConfigErrors) -> Vec<&str> {
    e.0.iter().map(|e| e.path.as_str()).collect()
}

const GOOD: &str = r#"
listen = "127.0.0.1:4100"
master_key = "${SWITCHYARD_MASTER_KEY}"
body_limit = "8MB"

[timeouts]
idle = "30s"

[providers.anthropic]
kind = "anthropic"
api_key = "${ANTHROPIC_API_KEY}"

[providers.local]
kind = "anthropic"
base_url = "http://127.0.0.1:11434/"
timeouts = { connect = "250ms" }
headers = { x-team = "core" }

[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-4-5-20250929"
aliases = ["claude-sonnet-*", "claude-opus-*"]
capabilities = ["tools", "vision", "thinking"]
context_window = 200000

[models.claude]
provider = "anthropic"
aliases = ["claude-*"]
"#;

#[test]
fn good_config_loads() {
    let c = load(GOOD).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:4100");
    assert!(matches!(&c.auth, AuthConfig::MasterKey(k) if k.expose_secret() == "sk-master"));
    assert_eq!(c.body_limit, 8_000_000);
    assert_eq!(c.timeouts.idle, Duration::from_secs(30));
    assert_eq!(c.providers.len(), 2);
    let anthropic = c.provider("anthropic").unwrap();
    assert_eq!(anthropic.base_url, "https://api.anthropic.com");
    assert_eq!(
        anthropic.api_key.as_ref().unwrap().expose_secret(),
        "sk-ant-test"
    );
    let local = c.provider("local").unwrap();
    assert_eq!(
        local.base_url, "http://127.0.0.1:11434",
        "trailing slash trimmed"
    );
    assert_eq!(local.timeouts.connect, Duration::from_millis(250));
    assert_eq!(
        local.timeouts.idle,
        Duration::from_secs(30),
        "inherits the global timeouts"
    );
    assert_eq!(local.headers[0].0.as_str(), "x-team");
    let names: Vec<&str> = c.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["sonnet", "claude"], "file order is kept");
    assert_eq!(c.models[0].context_window, Some(200_000));
    assert_eq!(
        c.models[1].upstream_id("claude-x"),
        "claude-x",
        "no id forwards the requested name"
    );
}

#[test]
fn every_error_is_collected_with_its_path() {
    let text = r#"
listne = "127.0.0.1:4000"
master_key = "k"
[timeouts]
idle = "forever"
[providers.anthropic]
kind = "antropic"
base_ur = "https://x"
api_key = "${NOPE}"
[models.sonnet]
provider = "anthropc"
capabilities = ["tools", "telepathy"]
context_window = "big"
"#;
    let e = load(text).unwrap_err();
    let p = paths(&e);
    for want in [
        "listne",
        "timeouts.idle",
        "providers.anthropic.kind",
        "providers.anthropic.base_ur",
        "providers.anthropic.api_key",
        "models.sonnet.provider",
        "models.sonnet.capabilities[1]",
        "models.sonnet.context_window",
    ] {
        assert!(p.contains(&want), "missing error for {want}; got {p:?}");
    }
    let listen = e.0.iter().find(|e| e.path == "listne").unwrap();
    assert_eq!(listen.hint.as_deref(), Some("did you mean 'listen'?"));
    let kind =
        e.0.iter()
            .find(|e| e.path == "providers.anthropic.kind")
            .unwrap();
    assert_eq!(kind.hint.as_deref(), Some("did you mean 'anthropic'?"));
    let text = e.to_string();
    assert!(text.contains("problems in the config"), "{text}");
}

#[test]
fn syntax_errors_name_the_line() {
    let e = load("listen = \"x\"\n[providers\n").unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert!(e.0[0].message.starts_with("not valid TOML"));
    assert!(
        e.0[0].hint.as_deref().unwrap().contains("line 2"),
        "{:?}",
        e.0[0]
    );
}

#[test]
fn interpolation_forms() {
    let text = r#"
auth = "none"
[providers.a]
kind = "anthropic"
base_url = "${LOCAL_URL:-http://127.0.0.1:9999}"
api_key = "${ANTHROPIC_API_KEY:?export your key}"
"#;
    let c = load(text).unwrap();
    assert_eq!(c.providers[0].base_url, "http://127.0.0.1:9999");
    let e = load_str(text, ConfigSource::Embedded, &no_env).unwrap_err();
    assert_eq!(e.0[0].path, "providers.a.api_key");
    assert!(e.0[0].message.contains("export your key"));
}

#[test]
fn interpolated_values_cannot_change_structure() {
    let evil = |n: &str| (n == "X").then(|| "\"\n[providers.evil]\nkind = \"anthropic".to_string());
    let c = load_str(
        "auth = \"none\"\nmaster_key = \"${X}\"",
        ConfigSource::Embedded,
        &evil,
    )
    .unwrap();
    assert!(c.providers.is_empty());
}

#[test]
fn auth_rules() {
    // No key anywhere and no auth = "none": refused, with a hint.
    let e = load_str("", ConfigSource::Embedded, &no_env).unwrap_err();
    assert_eq!(paths(&e), ["master_key"]);
    // SWITCHYARD_MASTER_KEY is enough.
    let c = load("").unwrap();
    assert!(matches!(c.auth, AuthConfig::MasterKey(_)));
    // none on loopback is fine, not elsewhere.
    assert!(matches!(
        load("auth = \"none\"").unwrap().auth,
        AuthConfig::Disabled
    ));
    let e = load("auth = \"none\"\nlisten = \"0.0.0.0:4000\"").unwrap_err();
    assert_eq!(paths(&e), ["auth"]);
    let e = load("auth = \"maybe\"").unwrap_err();
    assert_eq!(paths(&e), ["auth"]);
    // A short or published key is refused where others can reach it.
    for key in ["k", "sk-switchyard-local"] {
        let text = format!("master_key = \"{key}\"\nlisten = \"0.0.0.0:4000\"");
        let e = load(&text).unwrap_err();
        assert_eq!(paths(&e), ["master_key"], "{key}");
        assert!(
            load(&format!("master_key = \"{key}\"")).is_ok(),
            "loopback: {key}"
        );
    }
    let strong = "master_key = \"6f1c2a9e8b7d4c3f0a1b2c3d4e5f6a7b\"\nlisten = \"0.0.0.0:4000\"";
    assert!(load(strong).is_ok());
}

#[test]
fn anthropic_api_needs_a_key() {
    let e = load_str(
        "auth = \"none\"\n[providers.a]\nkind = \"anthropic\"\napi_key = \"${ANTHROPIC_API_KEY:-}\"",
        ConfigSource::Embedded,
        &no_env,
    )
    .unwrap_err();
    assert_eq!(paths(&e), ["providers.a.api_key"]);
}

#[test]
fn provider_kinds_and_apis() {
    let c = load(
        r#"
[providers.local]
kind = "ollama"
[providers.ollama_msgs]
kind = "ollama"
api = "anthropic"
discover = false
[providers.vllm]
kind = "openai"
base_url = "http://127.0.0.1:8000/v1"
"#,
    )
    .unwrap();
    let p = |n: &str| c.provider(n).unwrap();
    assert_eq!(
        (p("local").api, p("local").discover),
        (WireApi::OllamaNative, true)
    );
    assert_eq!(p("local").base_url, "http://127.0.0.1:11434");
    assert_eq!(
        (p("ollama_msgs").api, p("ollama_msgs").discover),
        (WireApi::Anthropic, false)
    );
    assert_eq!(
        (p("vllm").api, p("vllm").discover),
        (WireApi::OpenAi, false)
    );
    let e = load("[providers.o]\nkind = \"openai\"").unwrap_err();
    assert_eq!(
        paths(&e),
        ["providers.o.api_key"],
        "api.openai.com needs a key"
    );
    let e = load("[providers.o]\nkind = \"ollama\"\napi = \"grpc\"\n[providers.a]\nkind = \"anthropic\"\napi = \"x\"\napi_key = \"k\"").unwrap_err();
    assert_eq!(paths(&e), ["providers.o.api", "providers.a.api"]);
}

#[test]
fn retry_and_backoff() {
    let c = load("[retry]\nretries = 3\nbackoff = \"100ms\"\nmax_backoff = \"300ms\"").unwrap();
    assert_eq!(c.retry.attempts, 3);
    // The old name means the same; both at once is a mistake.
    assert_eq!(load("[retry]\nattempts = 2").unwrap().retry.attempts, 2);
    let e = load("[retry]\nretries = 1\nattempts = 2").unwrap_err();
    assert!(e.to_string().contains("retry.attempts"), "{e}");
    assert_eq!(c.retry.delay(1), Duration::from_millis(100));
    assert_eq!(c.retry.delay(2), Duration::from_millis(200));
    assert_eq!(c.retry.delay(3), Duration::from_millis(300));
}

#[test]
fn the_example_config_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/switchyard.toml");
    let env = |name: &str| match name {
        "ANTHROPIC_API_KEY" => Some("sk-ant-x".to_string()),
        "HOME" => Some("/home/u".to_string()),
        _ => None,
    };
    let c = super::load_file(&path, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.providers.len(), 3);
    assert_eq!(c.models.len(), 4);
    let bedrock = c
        .provider("bedrock")
        .and_then(|p| p.bedrock.as_ref())
        .unwrap();
    assert_eq!(bedrock.region, "us-east-1");
}

/// Every key a section accepts is read by the code that loads it: a key
/// listed as accepted but never read would be silently ignored.
#[test]
fn every_accepted_key_is_read() {
    let providers = r#"
[providers.a]
kind = "anthropic"
base_url = "http://127.0.0.1:9"
api_key = "k"
headers = { x-team = "core" }
timeouts = { connect = "1s", first_byte = "2s", idle = "3s", total = "4s" }
[providers.o]
kind = "ollama"
api = "openai"
discover = false
local = true
stream_whole_answers = false
[providers.b]
kind = "bedrock"
region = "us-east-1"
profile = "p"
endpoint = "http://127.0.0.1:9"
access_key_id = "AKIAEXAMPLE"
secret_access_key = "s"
session_token = "t"
[models.m]
provider = "a"
id = "claude-x"
aliases = ["claude-*"]
capabilities = ["tools"]
context_window = 1000
price = { input = 1, output = 2, cache_write_5m = 1.25, cache_write_1h = 2, cache_read = 0.1, long_context = { above = 100000, input = 2, output = 3 } }
"#;
    let full = format!(
        r#"
listen = "127.0.0.1:4000"
master_key = "k"
auth = "master_key"
body_limit = "1MB"
shutdown_timeout = "5s"
shutdown_drain = "2s"
log_format = "json"
database_url = "sqlite://x.db"
retention = "30d"
prices_file = "prices.json"
ledger_spool = "spool.jsonl"
redis_url = "redis://127.0.0.1:6379"
[clients]
header_timeout = "10s"
body_timeout = "20s"
max_connections = 100
[timeouts]
connect = "1s"
first_byte = "2s"
idle = "3s"
total = "4s"
[retry]
retries = 1
backoff = "10ms"
max_backoff = "20ms"
{providers}
[tiers]
cheap = ["m"]
baseline = "m"
[router]
classifier = "learned"
model = "/m/router.bin"
cheap_from = 0.3
premium_from = 0.6
plan_from = 0.1
sticky_sessions = true
session_idle = "30m"
mode = "route"
turns = "per_turn"
work_tier = "cheap"
cache_ttl = "1h"
[health]
failures = 3
cooldown = "30s"
max_cooldown = "300s"
[costs.fixed_monthly]
box = 1.0
[cache]
backend = "memory"
ttl = "1h"
max_entries = 10
max_bytes = "1MB"
max_entry_bytes = "64KB"
per_key = false
exact = true
agents = false
[cache.semantic]
embedder = "openai"
base_url = "http://127.0.0.1:9"
model = "e"
api_key = "k"
threshold = 0.9
explained_threshold = 0.8
max_turns = 1
max_vectors = 10
all_routes = false
[[routes]]
name = "r"
match = {{ model = "claude-*", tools = true, thinking = false, images = false, input_tokens_above = 10, headers = {{ x-a = "b" }}, background = false }}
tier = "cheap"
mode = "shadow"
guard = "block"
guard_tools = ["read_only"]
max_tokens = 4096
timeouts = {{ first_byte = "5s", idle = "10s", total = "60s" }}
cache = {{ exact = true, semantic = false, agents = false }}
[[routes]]
match = {{ model = "x" }}
targets = ["m"]
[[routes]]
match = {{ model = "y" }}
model = "m"
[[routes]]
auto = true
[[budgets]]
user = "alice"
limit_usd = 20
soft_limit_usd = 15
soft_action = "step_down"
window = "day"
utc_offset = "+01:00"
[[budgets]]
key = "key_1"
limit_usd = 1
[[budgets]]
team = "web"
limit_usd = 100.5
redis_down = "closed"
time_zone = "Europe/Berlin"
[[rate_limits]]
team = "web"
requests_per_minute = 600
tokens_per_minute = 2000000
redis_down = "open"
[limits]
store = "redis"
reserve = false
redis_timeout = "1s"
spend_limits_redis_down = "closed"
[guard]
secrets = "redact"
sensitive_files = [".env", "*.pem"]
patterns = {{ acme = "ACME-[0-9a-f]{{32}}" }}
tools = ["jail", "shell"]
workspace = ["/srv"]
on_violation = "refuse"
shell_patterns = {{ prod = "--context prod" }}
max_tokens = 16000
max_response_bytes = 1000000
[guard.tiers.cheap]
secrets = "allow"
tools = ["read_only"]
max_tokens = 2000
[[keys]]
name = "ci"
key = "sk-sy-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
user = "ci"
team = "platform"
models = ["claude-haiku-*"]
guard = "force_local"
max_tokens = 1000
[traces]
otlp_endpoint = "http://127.0.0.1:4318"
service_name = "gw"
headers = {{ authorization = "Bearer t" }}
export_delay = "1s"
[signin]
issuer = "https://idp.example/realms/eng"
client_id = "sy"
client_secret = "c"
public_url = "https://llm.example"
session_secret = "s"
session_ttl = "1h"
refresh_ttl = "7d"
user_claim = "preferred_username"
groups_claim = "roles"
teams = ["payments"]
allowed_groups = ["eng"]
allowed_domains = ["example.com"]
scopes = ["openid", "email"]
login_notice = "hi"
telemetry_forward_to = ["http://127.0.0.1:4318/"]
telemetry_headers = {{ authorization = "Bearer t" }}
[[signin.policies]]
name = "contractors"
groups = ["contractors"]
available_models = ["haiku"]
settings = {{ permissions = {{ deny = ["WebFetch"] }} }}
[[keys]]
name = "bot"
key_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
"#
    );
    // Errors (a missing prices file, say) do not matter here: only reads.
    let _ = load(&full);
    let _ = load(&format!(
        "{providers}\n[cache.semantic]\nembedder = \"local\"\nmodel_dir = \"/m\"\n"
    ));
    let lists: &[(&str, &'static [&'static str])] = &[
        ("top", TOP_KEYS),
        ("timeouts", TIMEOUT_KEYS),
        ("retry", RETRY_KEYS),
        ("costs", COST_KEYS),
        ("clients", CLIENT_KEYS),
        ("providers", super::super::provider::PROVIDER_KEYS),
        ("models", super::super::model::MODEL_KEYS),
        ("price", super::super::model::PRICE_KEYS),
        ("long_context", super::super::model::LONG_KEYS),
        ("cache", super::super::cache::CACHE_KEYS),
        ("cache.semantic", super::super::cache::SEMANTIC_KEYS),
        ("route cache", super::super::cache::ROUTE_CACHE_KEYS),
        ("routes", super::super::routing::ROUTE_KEYS),
        ("match", super::super::routing::MATCH_KEYS),
        ("router", super::super::routing::ROUTER_KEYS),
        ("health", super::super::routing::HEALTH_KEYS),
        ("budgets", super::super::budgets::BUDGET_KEYS),
        ("rate_limits", super::super::limits::RATE_LIMIT_KEYS),
        ("limits", super::super::limits::LIMITS_KEYS),
        ("keys", super::super::static_keys::STATIC_KEY_KEYS),
        ("guard", super::super::guard::GUARD_KEYS),
        ("guard.tiers", super::super::guard::TIER_KEYS),
        ("route timeouts", super::super::load::ROUTE_TIMEOUT_KEYS),
        ("traces", super::super::traces::TRACES_KEYS),
        ("signin", super::super::signin::SIGNIN_KEYS),
        ("signin.policies", super::super::signin::POLICY_KEYS),
    ];
    for (name, keys) in lists {
        let read = super::super::section::read_keys(keys);
        let unread: Vec<&str> = keys.iter().copied().filter(|k| !read.contains(k)).collect();
        assert!(
            unread.is_empty(),
            "[{name}] accepts but never reads {unread:?}"
        );
    }
}

#[test]
fn signin_needs_an_issuer_and_a_client_and_checks_its_urls() {
    let c = load("[signin]\nissuer = \"https://idp.example/\"\nclient_id = \"sy\"\n").unwrap();
    let s = c.signin.unwrap();
    assert_eq!(
        s.issuer, "https://idp.example",
        "a trailing slash is dropped"
    );
    assert_eq!(
        (s.user_claim.as_str(), s.session_ttl.as_secs()),
        ("email", 8 * 3600)
    );
    assert!(load("").unwrap().signin.is_none(), "off unless configured");
    let open = load_str(
        "[signin]\nissuer = \"https://i\"\nclient_id = \"c\"\n",
        ConfigSource::Embedded,
        &no_env,
    )
    .unwrap_err()
    .to_string();
    assert!(
        open.contains("master_key"),
        "no key check, no sign-in: {open}"
    );
    let e = load("[signin]\nissuer = \"idp.example\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("signin.issuer") && e.contains("signin.client_id"),
        "{e}"
    );
    let e = load("[signin]\nissuer = \"https://i\"\nclient_id = \"c\"\nsession_ttl = \"2h\"\nrefresh_ttl = \"1h\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("refresh_ttl"), "{e}");
}

#[test]
fn listen_takes_a_host_name() {
    let c = load("listen = \"localhost:4100\"\nmaster_key = \"k\"\n").unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:4100");
    let e = load("listen = \"nowhere\"\n").unwrap_err().to_string();
    assert!(e.contains("'nowhere' is not an address"), "{e}");
}

#[test]
fn the_ledger_spool_sits_beside_a_sqlite_ledger_or_where_it_is_told() {
    let c = load("database_url = \"sqlite:///var/lib/sy/ledger.db?mode=rwc\"").unwrap();
    assert_eq!(
        c.spool_file(),
        std::path::PathBuf::from("/var/lib/sy/switchyard-spool.jsonl")
    );
    let c = load("ledger_spool = \"/tmp/sy.jsonl\"").unwrap();
    assert_eq!(c.spool_file(), std::path::PathBuf::from("/tmp/sy.jsonl"));
}

#[test]
fn budgets_are_read_and_their_mistakes_named() {
    let c = load(&format!(
        "{GOOD}\n[[budgets]]\nuser = \"alice\"\nlimit_usd = 20\nsoft_limit_usd = 15.5\nwindow = \"day\"\nutc_offset = \"-05:00\"\n[[budgets]]\nteam = \"web\"\nlimit_usd = 100\n"
    ))
    .unwrap();
    use crate::config::{BudgetScope, BudgetWindow};
    let b = &c.budgets;
    assert_eq!(b.len(), 2);
    assert_eq!(
        (&b[0].scope, b[0].window, b[0].utc_offset_secs),
        (
            &BudgetScope::User("alice".into()),
            BudgetWindow::Day,
            -5 * 3600
        )
    );
    assert_eq!(
        (b[0].limit.to_string(), b[0].soft.map(|s| s.to_string())),
        ("20".to_string(), Some("15.5".to_string()))
    );
    assert_eq!((b[1].window, b[1].soft), (BudgetWindow::Month, None));
    let err = load(&format!(
        "{GOOD}\n[[budgets]]\nuser = \"a\"\nteam = \"t\"\nlimit_usd = 1\n[[budgets]]\nkey = \"k\"\nlimit_usd = 1\nsoft_limit_usd = 2\nwindow = \"fortnight\"\nutc_offset = \"CET\"\n[[budgets]]\nkey = \"k2\"\n[[budgets]]\nkey = \"k3\"\nlimit_usd = 1\ntime_zone = \"Mars/Olympus\"\n"
    ))
    .unwrap_err()
    .to_string();
    for want in [
        "budgets[0]: a budget names exactly one of key, user or team",
        "budgets[1].soft_limit_usd: must not be above limit_usd",
        "budgets[1].window: unknown window 'fortnight'",
        "budgets[1].utc_offset: 'CET' is not an offset",
        "budgets[2].limit_usd: a budget needs limit_usd",
        "budgets[3].time_zone: unknown time zone 'Mars/Olympus'",
    ] {
        assert!(err.contains(want), "{want}\n{err}");
    }
}

#[test]
fn rate_limits_and_the_limits_store_are_read_and_their_mistakes_named() {
    use crate::config::{BudgetScope, RedisDown};
    let c = load(&format!(
        "redis_url = \"redis://127.0.0.1:6379\"\n{GOOD}\n[[rate_limits]]\nkey = \"key_1\"\nrequests_per_minute = 60\nredis_down = \"closed\"\n[[rate_limits]]\nteam = \"web\"\ntokens_per_minute = 100000\n"
    ))
    .unwrap();
    let r = &c.rate_limits;
    assert_eq!(
        (
            &r[0].scope,
            r[0].requests_per_minute,
            r[0].tokens_per_minute,
            r[0].redis_down
        ),
        (
            &BudgetScope::Key("key_1".into()),
            Some(60),
            None,
            RedisDown::Closed
        )
    );
    assert_eq!(
        (r[1].tokens_per_minute, r[1].redis_down),
        (Some(100_000), RedisDown::Open)
    );
    // Redis counts the limits when there is one, unless told otherwise.
    assert_eq!(
        c.limits.redis_url.as_deref(),
        Some("redis://127.0.0.1:6379")
    );
    assert!(c.limits.reserve);
    let c = load(&format!(
        "redis_url = \"redis://127.0.0.1:6379\"\n{GOOD}\n[limits]\nstore = \"local\"\nreserve = false\n"
    ))
    .unwrap();
    assert_eq!((c.limits.redis_url, c.limits.reserve), (None, false));
    let err = load(&format!(
        "{GOOD}\n[[rate_limits]]\nuser = \"a\"\n[[rate_limits]]\nteam = \"t\"\nrequests_per_minute = 1\nredis_down = \"maybe\"\n[[rate_limits]]\nteam = \"t\"\nrequests_per_minute = 2\n[limits]\nstore = \"redis\"\n"
    ))
    .unwrap_err()
    .to_string();
    for want in [
        "rate_limits[0]: a rate limit needs requests_per_minute or tokens_per_minute",
        "rate_limits[1].redis_down: unknown policy 'maybe'",
        "rate_limits: two rate limits for team t",
        "limits.store: the redis store needs redis_url",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
}

#[test]
fn keys_in_the_config_keep_only_their_hash() {
    let c = load(&format!(
        "{GOOD}\n[[keys]]\nname = \"ci\"\nkey = \"sk-sy-0123456789abcdefghijklmnop\"\nteam = \"platform\"\n"
    ))
    .unwrap();
    let k = &c.keys[0];
    assert_eq!(k.sha256.len(), 64);
    assert_eq!(k.id(), format!("key_{}", &k.sha256[..12]));
    assert!(!format!("{c:?}").contains("0123456789abcdefghijklmnop"));
    let err = load(&format!(
        "{GOOD}\n[[keys]]\nname = \"a\"\nkey = \"short\"\n[[keys]]\nname = \"b\"\nkey_sha256 = \"xyz\"\n[[keys]]\nname = \"c\"\n"
    ))
    .unwrap_err()
    .to_string();
    for want in [
        "keys[0].key: shorter than 24 characters",
        "keys[1].key_sha256: expected 64 hex digits",
        "keys[2]: a key needs exactly one of key or key_sha256",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
}

#[test]
fn guard_settings_and_their_mistakes() {
    let base = "[providers.a]\nkind = \"anthropic\"\nbase_url = \"http://127.0.0.1:9\"\napi_key = \"k\"\n\
                [providers.o]\nkind = \"ollama\"\n[providers.far]\nkind = \"ollama\"\nbase_url = \"http://gpu-box:11434\"\nlocal = false\n\
                [models.m]\nprovider = \"a\"\nid = \"claude-x\"\n[tiers]\npremium = [\"m\"]\n";
    let c = load(&format!(
        "{base}[guard]\nsecrets = \"redact\"\ntiers = {{ premium = \"block\" }}\npatterns = {{ acme = \"ACME-[0-9]{{4}}\" }}\n"
    ))
    .unwrap();
    assert_eq!(c.guard.secrets, crate::config::GuardAction::Redact);
    assert_eq!(c.guard.tiers[0].name, "premium");
    assert_eq!(
        c.guard.tiers[0].secrets,
        Some(crate::config::GuardAction::Block)
    );
    assert_eq!(c.guard.patterns.len(), 1);
    assert!(c.guard.tools.is_empty(), "no tool rules unless asked");
    use crate::config::{OnViolation, ToolRules};
    let c = load(&format!(
        "{base}[[routes]]\nname = \"review\"\nmatch = {{ model = \"review\" }}\ntier = \"premium\"\nguard_tools = [\"read_only\"]\n\
         [guard]\ntools = [\"jail\", \"shell\"]\nworkspace = [\"/srv/repos\"]\non_violation = \"refuse\"\n\
         shell_patterns = {{ prod = \"--context[= ]prod\" }}\n[guard.tiers.premium]\nsecrets = \"allow\"\ntools = [\"sensitive_files\"]\n"
    ))
    .unwrap();
    let g = &c.guard;
    assert!(g.tools.has(ToolRules::JAIL) && g.tools.has(ToolRules::SHELL));
    assert!(!g.tools.has(ToolRules::READ_ONLY));
    assert_eq!(g.workspace, ["/srv/repos"]);
    assert_eq!(g.on_violation, OnViolation::Refuse);
    assert_eq!(g.shell_patterns.len(), 1);
    assert_eq!(g.tiers[0].secrets, Some(crate::config::GuardAction::Allow));
    assert_eq!(g.tiers[0].tools, ToolRules::SENSITIVE_FILES);
    let review = c
        .routing
        .routes
        .iter()
        .find(|r| r.name == "review")
        .unwrap();
    assert_eq!(review.guard_tools, ToolRules::READ_ONLY);
    assert!(c.guard.sensitive_files.iter().any(|f| f == ".env"));
    let local = |name: &str| c.providers.iter().find(|p| p.name == name).unwrap().local;
    assert!(local("o"), "ollama is local by default");
    assert!(!local("a"));
    assert!(!local("far"), "unless the config says otherwise");
    let errors = load(&format!(
        "{base}[guard]\nsecrets = \"scrub\"\ntiers = {{ gold = \"allow\" }}\npatterns = {{ bad = \"([\" }}\n\
          tools = [\"jail\", \"sandbox\"]\nworkspace = [\"src\"]\non_violation = \"ignore\"\nmax_tokens = 0\n"
    ))
    .unwrap_err()
    .to_string();
    for want in [
        "guard.secrets: unknown guard action 'scrub'",
        "guard.tiers.gold: unknown tier 'gold'",
        "guard.patterns.bad: not a regular expression",
        "guard.tools: unknown tool rule 'sandbox'",
        "guard.workspace[0]: 'src' is not an absolute path",
        "guard.on_violation: unknown value 'ignore'",
        "guard.max_tokens: must be at least 1",
    ] {
        assert!(errors.contains(want), "{want} in {errors}");
    }
}

#[test]
fn log_format_and_shutdown_drain() {
    let c = load("auth = \"none\"\nlog_format = \"json\"\nshutdown_drain = \"3s\"").unwrap();
    assert!(c.log_json);
    assert_eq!(c.shutdown_drain, std::time::Duration::from_secs(3));
    let c = load("auth = \"none\"").unwrap();
    assert!(!c.log_json);
    assert_eq!(c.shutdown_drain, std::time::Duration::ZERO);
    let e = load("auth = \"none\"\nlog_format = \"xml\"").unwrap_err();
    assert_eq!(paths(&e), ["log_format"]);
}

#[test]
fn traces_need_an_http_endpoint() {
    let c = load("[traces]\notlp_endpoint = \"http://127.0.0.1:4318\"\n").unwrap();
    let t = c.traces.unwrap();
    assert_eq!(t.endpoint, "http://127.0.0.1:4318/v1/traces");
    assert_eq!(t.service_name, "switchyard");
    assert!(load("").unwrap().traces.is_none(), "off unless configured");
    let e = load("[traces]\notlp_endpoint = \"127.0.0.1:4318\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("traces.otlp_endpoint"), "{e}");
}

//! Tests of plans: rule matching, tier chains, capability gating, session
//! stickiness, and alias resolution.

use super::*;
use crate::config::{ConfigSource, load_str};
use crate::core::BodyKind;
use bytes::Bytes;
use http::HeaderValue;
use serde_json::json;

const CONFIG: &str = r#"
auth = "none"
[providers.ollama]
kind = "ollama"
discover = false
[providers.anthropic]
kind = "anthropic"
base_url = "http://127.0.0.1:1"

[models.local]
provider = "ollama"
id = "qwen2.5-coder:7b"
capabilities = ["tools"]
context_window = 32768

[models.haiku]
provider = "anthropic"
id = "claude-haiku-4-5-20251001"
aliases = ["claude-haiku-4-5"]

[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-4-5-20250929"
aliases = ["claude-sonnet-*", "claude-opus-*"]

[tiers]
local = ["local", "haiku"]
cheap = ["haiku", "sonnet"]
premium = ["sonnet"]
"#;

fn router(extra: &str) -> Router {
    let c = load_str(&format!("{CONFIG}{extra}"), ConfigSource::Embedded, &|_| {
        None
    })
    .unwrap();
    Router::new(&c).unwrap()
}

fn raw(body: serde_json::Value) -> RawRequest {
    RawRequest::parse(Bytes::from(body.to_string()), BodyKind::Messages).unwrap()
}

fn ask(model: &str, prompt: &str) -> RawRequest {
    raw(
        json!({"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": prompt}]}),
    )
}

fn names(plan: &Plan) -> Vec<&str> {
    plan.targets.iter().map(|t| t.model.name.as_str()).collect()
}

const HARD: &str = "Design the architecture for migrating our 40 microservices to event sourcing with zero downtime; compare the trade-offs.";

#[test]
fn claude_code_defaults() {
    let r = router("");
    let h = HeaderMap::new();
    // Background work on haiku goes local, and escalates through the tiers.
    let p = r
        .plan(&ask("claude-haiku-5-5", "Generate a title"), &h)
        .unwrap();
    assert_eq!(
        (p.route.as_str(), p.tier.as_deref()),
        ("background", Some("local"))
    );
    assert_eq!(names(&p), ["local", "haiku", "sonnet"]);
    assert_eq!(p.targets[0].upstream_model, "qwen2.5-coder:7b");
    assert_eq!(p.targets[1].tier.as_deref(), Some("local"));
    // Explicit extended thinking goes premium.
    let thinking = raw(
        json!({"model": "claude-opus-5-5", "max_tokens": 4000, "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [{"role": "user", "content": "rename x to y"}]}),
    );
    assert_eq!(
        r.plan(&thinking, &h).unwrap().tier.as_deref(),
        Some("premium")
    );
    // Adaptive thinking is the model's choice: the classifier decides.
    let adaptive = raw(
        json!({"model": "claude-opus-5-5", "max_tokens": 4000, "thinking": {"type": "adaptive"},
        "messages": [{"role": "user", "content": "write a commit message for the rename"}]}),
    );
    let p = r.plan(&adaptive, &h).unwrap();
    assert_eq!(
        (p.route.as_str(), p.tier.as_deref()),
        ("auto", Some("local"))
    );
    assert!(p.reason.starts_with("auto: P(premium) "), "{}", p.reason);
    // The reason line names the features that decided, with their pushes.
    let line = p.reason_line();
    assert!(line.contains("→ local: ") && line.contains("(+"), "{line}");
    // Hard work goes premium.
    assert_eq!(
        r.plan(&ask("claude-opus-5-5", HARD), &h)
            .unwrap()
            .tier
            .as_deref(),
        Some("premium")
    );
}

#[test]
fn names_bypass_routing_and_aliases_catch_the_rest() {
    let r = router("[[routes]]\nmatch = { model = \"gpt-*\" }\ntier = \"cheap\"\n");
    let h = HeaderMap::new();
    let p = r.plan(&ask("sonnet", "rename x"), &h).unwrap();
    assert_eq!((p.route.as_str(), names(&p)), ("model", vec!["sonnet"]));
    assert_eq!(
        p.tier.as_deref(),
        Some("cheap"),
        "tier of a model: the first tier listing it"
    );
    let p = r.plan(&ask("gpt-4o", "rename x"), &h).unwrap();
    assert_eq!(
        (p.route.as_str(), names(&p)),
        ("routes[0]", vec!["haiku", "sonnet"])
    );
    let p = r.plan(&ask("claude-sonnet-4-5", "rename x"), &h).unwrap();
    assert_eq!((p.route.as_str(), names(&p)), ("alias", vec!["sonnet"]));
    assert!(matches!(
        r.plan(&ask("mystery", "x"), &h),
        Err(GatewayError::ModelNotFound(_))
    ));
}

#[test]
fn rule_matching() {
    let r = router(
        "[[routes]]\nname = \"team\"\nmatch = { headers = { x-team = \"infra-*\" } }\nmodel = \"sonnet\"\n\
         [[routes]]\nname = \"tools\"\nmatch = { tools = true, model = \"claude-*\" }\ntier = \"cheap\"\n\
         [[routes]]\nname = \"big\"\nmatch = { input_tokens_above = 1000 }\ntier = \"premium\"\n\
         [[routes]]\nname = \"rest\"\ntier = \"local\"\n",
    );
    let mut h = HeaderMap::new();
    h.insert("x-team", HeaderValue::from_static("infra-db"));
    assert_eq!(r.plan(&ask("claude-x", "hi"), &h).unwrap().route, "team");
    let h = HeaderMap::new();
    let tools = raw(
        json!({"model": "claude-x", "max_tokens": 5, "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(r.plan(&tools, &h).unwrap().route, "tools");
    assert_eq!(
        r.plan(&ask("claude-x", &"long text ".repeat(500)), &h)
            .unwrap()
            .route,
        "big"
    );
    assert_eq!(r.plan(&ask("claude-x", "hi"), &h).unwrap().route, "rest");
}

#[test]
fn capability_gating() {
    let r = router("");
    let h = HeaderMap::new();
    let image = raw(
        json!({"model": "claude-haiku-5-5", "max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is in this picture"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}]}]}),
    );
    let p = r.plan(&image, &h).unwrap();
    assert_eq!(
        names(&p),
        ["haiku", "sonnet"],
        "the local model has no vision"
    );
    assert!(p.reason.contains("local lacks vision"), "{}", p.reason);
    let long = ask("claude-haiku-5-5", &"word ".repeat(40_000));
    assert_eq!(
        names(&r.plan(&long, &h).unwrap()),
        ["haiku", "sonnet"],
        "does not fit 32k tokens"
    );
    // Nothing can do it: a clear 400.
    let r = router("[[routes]]\nmatch = { model = \"only-local\" }\ntargets = [\"local\"]\n");
    let image = raw(
        json!({"model": "only-local", "max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]}]}),
    );
    let e = r.plan(&image, &h).unwrap_err();
    assert!(
        matches!(&e, GatewayError::InvalidRequest(m) if m.contains("needs vision")),
        "{e:?}"
    );
}

/// A conversation of these person turns (the model's answers between them).
fn conversation(prompts: &[&str]) -> RawRequest {
    let mut messages = Vec::new();
    for (i, p) in prompts.iter().enumerate() {
        if i > 0 {
            messages.push(json!({"role": "assistant", "content": "Done."}));
        }
        messages.push(json!({"role": "user", "content": p}));
    }
    raw(json!({"model": "claude-opus-5-5", "max_tokens": 100, "messages": messages}))
}

#[test]
fn with_the_task_policy_sessions_stay_on_the_tier_they_reached() {
    let r = router("[router]\nturns = \"task\"\n");
    let mut h = HeaderMap::new();
    h.insert(SESSION_HEADER, HeaderValue::from_static("sess-1"));
    let easy = "write a commit message for the rename";
    let p = r.plan(&conversation(&[easy]), &h).unwrap();
    assert_eq!(p.tier.as_deref(), Some("local"));
    r.served(&p, 0);
    let hard = r.plan(&conversation(&[easy, HARD]), &h).unwrap();
    assert_eq!(hard.tier.as_deref(), Some("premium"), "escalates");
    r.served(&hard, 0);
    let p = r.plan(&conversation(&[easy, HARD, easy]), &h).unwrap();
    assert_eq!(
        p.tier.as_deref(),
        Some("premium"),
        "stays where the session went"
    );
    assert!(
        p.reason.contains("kept on the session's tier premium"),
        "{}",
        p.reason
    );
    // A fallback that served from a dearer tier escalates the session too.
    let mut h2 = HeaderMap::new();
    h2.insert(SESSION_HEADER, HeaderValue::from_static("sess-2"));
    let p = r.plan(&conversation(&[easy]), &h2).unwrap();
    assert_eq!(
        p.targets[2].tier.as_deref(),
        Some("cheap"),
        "sonnet joined the chain from the cheap tier"
    );
    r.served(&p, 2);
    let again = conversation(&[easy, easy]);
    assert_eq!(r.plan(&again, &h2).unwrap().tier.as_deref(), Some("cheap"));
    // Another conversation in the same session (a subagent) has its own memory.
    let sub = conversation(&["list the files in src"]);
    assert_eq!(r.plan(&sub, &h).unwrap().tier.as_deref(), Some("local"));
    // Other sessions, and requests without one, are not affected.
    assert_eq!(
        r.plan(&again, &HeaderMap::new()).unwrap().tier.as_deref(),
        Some("local")
    );
    // Stickiness can be switched off.
    let r = router("[router]\nsticky_sessions = false\nturns = \"task\"\n");
    let p = r.plan(&conversation(&[easy, HARD]), &h).unwrap();
    r.served(&p, 0);
    let p = r.plan(&conversation(&[easy, HARD, easy]), &h).unwrap();
    assert_eq!(p.tier.as_deref(), Some("local"));
}

#[test]
fn auto_picks_the_nearest_existing_tier() {
    let c = load_str(
        &CONFIG
            .replace("local = [\"local\", \"haiku\"]\n", "")
            .replace("[models.local]", "[models.unused]"),
        ConfigSource::Embedded,
        &|_| None,
    )
    .unwrap();
    let r = Router::new(&c).unwrap();
    let p = r
        .plan(
            &ask("claude-opus-5-5", "write a commit message for the rename"),
            &HeaderMap::new(),
        )
        .unwrap();
    assert_eq!(
        p.tier.as_deref(),
        Some("cheap"),
        "no local tier: the next dearer one"
    );
}

#[path = "auto_tests.rs"]
mod auto_tests;

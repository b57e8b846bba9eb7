//! Tests of per-turn routing in an agent loop: planning on the task's tier,
//! mechanical steps on the work tier, each escalation signal, and the
//! prompt-cache cost model making a session sticky or not.

use super::session::tests::price as rates;
use super::*;
use crate::core::Price;
use serde_json::Value;

/// The router with list prices of one generation (`"4.5"` or `"5.5"`).
fn priced(extra: &str, generation: &str) -> Router {
    let mut r = router(extra);
    let (haiku, sonnet) = match generation {
        "4.5" => (
            rates("1", "5", "1.25", "0.1"),
            rates("3", "15", "3.75", "0.3"),
        ),
        _ => (
            rates("0.1", "0.5", "0.125", "0.01"),
            rates("2", "10", "2.5", "0.1"),
        ),
    };
    r.set_prices(
        [
            ("local".to_string(), Price::free()),
            ("haiku".to_string(), haiku),
            ("sonnet".to_string(), sonnet),
        ]
        .into(),
    );
    r
}

fn session(id: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(SESSION_HEADER, HeaderValue::from_static(id));
    h
}

/// A Claude Code–shaped request: a large cached system prompt, tools, and
/// these turns.
fn agent(messages: &[Value]) -> RawRequest {
    sized(messages, 10_000)
}

/// The same with `n` repetitions of a 24-byte sentence as system prompt
/// (10,000: about 60k tokens).
fn sized(messages: &[Value], n: usize) -> RawRequest {
    let system = "You are a coding agent. ".repeat(n);
    raw(json!({
        "model": "claude-opus-5-5", "max_tokens": 32000, "stream": true,
        "system": [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
        "messages": messages
    }))
}

fn call(id: &str, name: &str, input: Value) -> Value {
    json!({"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": name, "input": input}]})
}

fn result(id: &str, content: &str, is_error: bool) -> Value {
    json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": content, "is_error": is_error}]})
}

/// Plan, check the tier, and serve it on the plan's first target.
fn step(r: &Router, h: &HeaderMap, messages: &[Value], tier: &str, why: &str) -> Plan {
    let p = r.plan(&agent(messages), h).unwrap();
    assert_eq!(p.tier.as_deref(), Some(tier), "{}", p.reason);
    assert!(p.reason.contains(why), "wanted '{why}' in: {}", p.reason);
    r.served(&p, 0);
    p
}

#[test]
fn a_premium_task_plans_on_premium_and_steps_down_for_mechanical_turns() {
    let r = priced("", "5.5");
    let h = session("loop-1");
    let mut m = vec![json!({"role": "user", "content": HARD})];
    step(&r, &h, &m, "premium", "→ premium");
    m.push(call(
        "t1",
        "Read",
        json!({"file_path": "services/orders.rs"}),
    ));
    m.push(result("t1", "fn place_order() {}", false));
    step(
        &r,
        &h,
        &m,
        "cheap",
        "tool step after Read: mechanical → cheap",
    );
    // Each failure signal sends the next turn back to premium.
    m.push(call("t2", "Bash", json!({"command": "cargo test"})));
    m.push(result(
        "t2",
        "test result: FAILED. 3 passed; 1 failed",
        false,
    ));
    step(&r, &h, &m, "premium", "failing tests");
    m.push(call("t3", "Edit", json!({"file_path": "a.rs"})));
    m.push(result(
        "t3",
        "<tool_use_error>old_string not found</tool_use_error>",
        true,
    ));
    step(&r, &h, &m, "premium", "refused or malformed");
    m.push(call("t4", "Read", json!({"file_path": "gone.rs"})));
    m.push(result("t4", "File does not exist.", true));
    step(&r, &h, &m, "premium", "a tool reported an error");
    m.push(call("t5", "Bash", json!({"command": "cargo test"})));
    m.push(result("t5", "test result: ok. 4 passed; 0 failed", false));
    step(&r, &h, &m, "cheap", "mechanical → cheap");
    m.push(call("t6", "Grep", json!({"pattern": "x"})));
    m.push(result("t6", "a.rs:1", false));
    m.push(call("t7", "Grep", json!({"pattern": "x"})));
    m.push(result("t7", "a.rs:1", false));
    step(&r, &h, &m, "premium", "repeated its last tool call");
    m.push(call("t8", "Agent", json!({"prompt": "find the callers"})));
    m.push(result("t8", "4 callers", false));
    step(&r, &h, &m, "premium", "a subagent reported back");
    // The subagent itself, in the same session, is routed by its own task.
    step(
        &r,
        &h,
        &[json!({"role": "user", "content": "list the files in src"})],
        "local",
        "→ local",
    );
}

#[test]
fn a_cheap_task_escalates_on_its_third_failure_and_questions_go_back_up() {
    let r = priced("", "5.5");
    let h = session("loop-2");
    let mut m = vec![
        json!({"role": "user", "content": "Write unit tests for the parse_duration function in src/config/units.rs covering the edge cases"}),
    ];
    let first = r.plan(&agent(&m), &h).unwrap();
    assert_eq!(first.tier.as_deref(), Some("cheap"), "{}", first.reason);
    r.served(&first, 0);
    for (i, tier) in [(1, "cheap"), (2, "cheap"), (3, "premium")] {
        m.push(call(
            &format!("t{i}"),
            "Bash",
            json!({"command": format!("cargo build {i}")}),
        ));
        m.push(result(
            &format!("t{i}"),
            "error[E0425]: cannot find value `verbose`",
            false,
        ));
        let why = if i == 3 {
            "third failure in this task"
        } else {
            "failing tests"
        };
        step(&r, &h, &m, tier, why);
    }
    // The task now counts as premium: its next quiet step starts from there.
    m.push(call("t9", "Read", json!({"file_path": "src/cli.rs"})));
    m.push(result("t9", "fn main() {}", false));
    step(&r, &h, &m, "cheap", "vs");
    // The stand-in asks the person a question: the answer goes to the
    // task's tier, whatever the classifier makes of it.
    m.push(json!({"role": "assistant", "content": [{"type": "text", "text": "Should the old flag stay as an alias?"}]}));
    m.push(json!({"role": "user", "content": "Keep it for one release and print a deprecation warning."}));
    step(
        &r,
        &h,
        &m,
        "premium",
        "answers a question the cheap tier asked",
    );
}

#[test]
fn the_cost_model_decides_stickiness() {
    // A long session: a 150k-token prompt.
    let run = |generation: &str, session_id: &'static str| {
        let r = priced("", generation);
        let h = session(session_id);
        let mut m = vec![json!({"role": "user", "content": HARD})];
        let p = r.plan(&sized(&m, 25_000), &h).unwrap();
        r.served(&p, 0);
        m.push(call("t1", "Read", json!({"file_path": "a"})));
        m.push(result("t1", "x", false));
        r.plan(&sized(&m, 25_000), &h).unwrap()
    };
    // Sonnet 4.5 with a warm cache (reads at $0.30/M) against Haiku 4.5
    // writing 150k tokens at $1.25/M: staying is cheaper over the horizon.
    let p = run("4.5", "gen-4.5");
    assert_eq!(p.tier.as_deref(), Some("premium"), "{}", p.reason);
    assert!(
        p.reason.contains("whose prompt cache makes it cheaper"),
        "{}",
        p.reason
    );
    // Haiku 5.5 writes at $0.125/M, Sonnet 5.5 reads at $0.10/M, and the
    // answer is 20× cheaper: stepping down pays at once.
    let p = run("5.5", "gen-5.5");
    assert_eq!(p.tier.as_deref(), Some("cheap"), "{}", p.reason);
    assert!(p.reason.contains("est. $"), "{}", p.reason);
}

#[test]
fn a_person_turn_steps_down_when_it_pays_and_the_task_policy_never_does() {
    let easy = "write a commit message for the rename";
    let conversation = |m: &[&str]| {
        let mut turns = Vec::new();
        for (i, p) in m.iter().enumerate() {
            if i > 0 {
                turns.push(json!({"role": "assistant", "content": "Done."}));
            }
            turns.push(json!({"role": "user", "content": p}));
        }
        turns
    };
    let r = priced("", "5.5");
    let h = session("people");
    step(&r, &h, &conversation(&[HARD]), "premium", "→ premium");
    step(
        &r,
        &h,
        &conversation(&[HARD, easy]),
        "local",
        "down from premium",
    );
    let r = priced("[router]\nturns = \"task\"\n", "5.5");
    step(&r, &h, &conversation(&[HARD]), "premium", "→ premium");
    step(
        &r,
        &h,
        &conversation(&[HARD, easy]),
        "premium",
        "kept on the session's tier",
    );
    // Without a work tier, tool steps stay on the task's tier.
    let r = priced("[router]\nwork_tier = \"premium\"\n", "5.5");
    let mut m = conversation(&[HARD]);
    step(&r, &h, &m, "premium", "→ premium");
    m.push(call("t1", "Read", json!({"file_path": "a"})));
    m.push(result("t1", "x", false));
    step(&r, &h, &m, "premium", "on the task's tier premium");
}

#[test]
fn a_person_turn_that_might_be_premium_work_is_planned_on_premium() {
    let medium = "write a python function that parses ISO dates, with unit tests";
    let first = [json!({"role": "user", "content": medium})];
    // The built-in model calls it cheap, well below its premium cutoff.
    let r = priced("[router]\nplan_from = 1.0\n", "5.5");
    let h = session("plan-1");
    let p = step(&r, &h, &first, "cheap", "→ cheap");
    assert!(!p.reason.contains("planned on"), "{}", p.reason);
    // From a planning cutoff under its P(premium), the person's turn is
    // planned on premium, the reason says so, and mechanical steps still
    // go to the work tier.
    let r = priced("[router]\nplan_from = 0.0\n", "5.5");
    let h = session("plan-2");
    let p = step(&r, &h, &first, "premium", "planned on premium");
    assert!(p.reason.contains("→ cheap"), "{}", p.reason);
    let mut m = first.to_vec();
    m.push(call("t1", "Read", json!({"file_path": "dates.py"})));
    m.push(result("t1", "def parse(s): ...", false));
    step(&r, &h, &m, "cheap", "mechanical → cheap");
    // A failure goes back to the tier the task was planned on.
    m.push(call("t2", "Bash", json!({"command": "pytest"})));
    m.push(result("t2", "1 failed\nAssertionError", true));
    step(&r, &h, &m, "premium", "back to the task's tier premium");
}

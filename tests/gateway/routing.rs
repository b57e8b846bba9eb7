//! Cost-aware routing through the gateway: the 20-query and 100-query
//! checks, Ollama going down, escalation on unusable local answers, and
//! session stickiness. A mock Ollama is the local tier; a mock Anthropic API
//! serves Haiku and Sonnet.

use crate::support::mock::openai_text_chunks;
use crate::support::*;
use serde_json::json;
use std::time::Duration;
use switchyard::routing::devset;

pub(crate) fn config(ollama: &str, anthropic: &str) -> String {
    format!(
        r#"
[retry]
backoff = "5ms"
[health]
failures = 3
cooldown = "60s"

[providers.ollama]
kind = "ollama"
base_url = "{ollama}"
discover = false
[providers.anthropic]
kind = "anthropic"
base_url = "{anthropic}"
api_key = "{UPSTREAM_KEY}"

[models.local]
provider = "ollama"
id = "qwen2.5-coder:7b"
capabilities = ["tools"]
context_window = 32768
[models.haiku]
provider = "anthropic"
id = "claude-haiku-4-5-20251001"
[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-4-5-20250929"

[tiers]
local = ["local", "haiku"]
cheap = ["haiku", "sonnet"]
premium = ["sonnet"]
"#
    )
}

fn claude_code_body(prompt: &str, context: &[devset::Turn], stream: bool) -> String {
    let line = devset::Line {
        context: context.to_vec(),
        ..devset::Line::prompt(prompt)
    };
    let mut body: serde_json::Value =
        serde_json::from_slice(&devset::body_for(&line, "claude-opus-5-5")).unwrap();
    body["stream"] = json!(stream);
    body["thinking"] = json!({"type": "adaptive"});
    body.to_string()
}

fn fixture_lines(name: &str) -> Vec<devset::Line> {
    let path = format!(
        "{}/tests/fixtures/routing/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    devset::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn twenty_queries_simple_local_complex_on_claude() {
    twenty_queries("").await;
}

/// The same check with the learned classifier; its reasons name its
/// features (the rules' own score is one of them).
#[tokio::test]
async fn twenty_queries_with_the_learned_classifier() {
    let reasons = twenty_queries("\n[router]\nclassifier = \"learned\"\n").await;
    assert!(
        reasons.iter().any(|r| r.contains("the lexicon's score (+")),
        "{reasons:?}"
    );
}

/// Route the 20-query check through the gateway; the reason headers.
async fn twenty_queries(extra_config: &str) -> Vec<String> {
    let (ollama, anthropic) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = TestGateway::custom(&(config(&ollama.url(), &anthropic.url()) + extra_config)).await;
    let mut reasons = Vec::new();
    for line in fixture_lines("check-20.jsonl") {
        let resp = gw
            .post(
                "/v1/messages",
                &claude_code_body(&line.prompt, &line.context, true),
            )
            .await;
        assert_eq!(resp.status(), 200, "{}", line.id);
        let (tier, route, reason) = (
            header(&resp, "x-switchyard-tier"),
            header(&resp, "x-switchyard-route"),
            header(&resp, "x-switchyard-reason"),
        );
        let model = header(&resp, "x-switchyard-model");
        let events = sse_events(&resp.text().await.unwrap());
        assert_eq!(events.last().unwrap().0, "message_stop", "{}", line.id);
        assert_eq!(route, "auto");
        assert!(reason.starts_with("auto: P(premium) "), "{reason}");
        reasons.push(reason.clone());
        if line.id.starts_with("simple") {
            assert_eq!(
                (tier.as_str(), model.as_str()),
                ("local", "qwen2.5-coder:7b"),
                "{}: {reason}",
                line.id
            );
        } else {
            assert!(
                model.starts_with("claude-"),
                "{} went to {model}: {reason}",
                line.id
            );
        }
    }
    let local_calls = ollama
        .seen()
        .iter()
        .filter(|s| s.path_and_query == "/api/chat")
        .count();
    assert_eq!((local_calls, anthropic.seen().len()), (10, 10));
    reasons
}

#[tokio::test]
async fn hundred_realistic_queries_mostly_cheaper() {
    let (ollama, anthropic) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = TestGateway::custom(&config(&ollama.url(), &anthropic.url())).await;
    let (mut cheaper, mut appropriately, mut premium_kept, mut premium_total) = (0, 0, 0, 0);
    for line in fixture_lines("realistic-100.jsonl") {
        let resp = gw
            .post(
                "/v1/messages",
                &claude_code_body(&line.prompt, &line.context, false),
            )
            .await;
        assert_eq!(resp.status(), 200, "{}", line.id);
        let tier = header(&resp, "x-switchyard-tier");
        let expected = line.tier.unwrap();
        if tier != "premium" {
            cheaper += 1;
            if expected != "premium" && !(expected == "cheap" && tier == "local") {
                appropriately += 1;
            }
        }
        if expected == "premium" {
            premium_total += 1;
            premium_kept += usize::from(tier == "premium");
        }
    }
    eprintln!(
        "100 realistic: {cheaper} to cheaper models, {appropriately} appropriately; premium kept {premium_kept}/{premium_total}"
    );
    assert!(cheaper >= 70, "{cheaper}");
    assert!(appropriately >= 70, "{appropriately}");
    assert!(
        premium_kept * 10 >= premium_total * 8,
        "{premium_kept}/{premium_total}"
    );
    assert_eq!(
        gw.records
            .wait_for(100)
            .await
            .iter()
            .filter(|r| r.status == 200)
            .count(),
        100
    );
}

#[tokio::test]
async fn ollama_down_nothing_fails_and_is_skipped_fast() {
    let anthropic = MockUpstream::start().await;
    let dead = format!(
        "http://127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let gw = TestGateway::custom(&config(&dead, &anthropic.url())).await;
    let easy = claude_code_body(
        "write a commit message for the rename of utils.py",
        &[],
        true,
    );
    let mut attempts = Vec::new();
    for _ in 0..6 {
        let resp = gw.post("/v1/messages", &easy).await;
        assert_eq!(resp.status(), 200, "nothing fails");
        assert_eq!(
            header(&resp, "x-switchyard-model"),
            "claude-haiku-4-5-20251001"
        );
        assert!(
            header(&resp, "x-switchyard-reason").contains("fell back"),
            "{}",
            header(&resp, "x-switchyard-reason")
        );
        attempts.push(header(&resp, "x-switchyard-attempts"));
        let events = sse_events(&resp.text().await.unwrap());
        assert_eq!(events.last().unwrap().0, "message_stop");
    }
    // Three refused connections open the circuit; then local is not even tried.
    assert_eq!(attempts, ["2", "2", "2", "1", "1", "1"]);
    let health = gw
        .client()
        .get(format!("{}/health", gw.url))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(health["targets"][0]["state"], "cooling_down", "{health}");
}

#[tokio::test]
async fn unusable_local_answers_escalate_before_the_client_sees_bytes() {
    let (openai, anthropic) = (MockUpstream::start().await, MockUpstream::start().await);
    // A Haiku call with tools (a subagent) is routed by its task since the
    // built-in background route matches by shape; send it to the local tier
    // with a route of its own.
    let cfg = config("http://127.0.0.1:9", &anthropic.url()).replace(
        "kind = \"ollama\"\nbase_url = \"http://127.0.0.1:9\"",
        &format!("kind = \"openai\"\nbase_url = \"{}/v1\"", openai.url()),
    ) + "\n[[routes]]\nname = \"background\"\nmatch = { model = \"claude-*haiku*\" }\ntier = \"local\"\n";
    let gw = TestGateway::custom(&cfg).await;
    openai.push(Reply::Sse {
        events: openai_text_chunks(
            "q",
            r#"{"name": "Bash", "arguments": {"command": "ls"}}"#,
            true,
        ),
        gap: Duration::ZERO,
        tail: StreamTail::Complete,
    });
    let body = json!({"model": "claude-haiku-5-5", "max_tokens": 100, "stream": true,
        "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "list the files"}]});
    let resp = gw.post("/v1/messages", &body.to_string()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "x-switchyard-model"),
        "claude-haiku-4-5-20251001",
        "escalated to the next tier"
    );
    assert_eq!(header(&resp, "x-switchyard-attempts"), "2");
    let events = sse_events(&resp.text().await.unwrap());
    assert_eq!(
        events[0].1["message"]["model"], "claude-haiku-4-5-20251001",
        "only the good answer reached the client"
    );
    let rec = &gw.records.wait_for(1).await[0];
    assert_eq!(
        (rec.tier.as_deref(), rec.route.as_deref()),
        (Some("local"), Some("background"))
    );
}

/// One turn of a Claude Code conversation in `session` (adaptive thinking
/// on when `thinking`): the tier and the reason the gateway answered with.
pub(crate) async fn claude_code_turn(
    gw: &TestGateway,
    session: &str,
    messages: &[serde_json::Value],
    thinking: bool,
) -> (String, String) {
    let mut body = json!({"model": "claude-opus-5-5", "max_tokens": 32000, "stream": true,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
        "messages": messages});
    if thinking {
        body["thinking"] = json!({"type": "adaptive"});
    }
    let resp = gw
        .client()
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", MASTER_KEY)
        .header("x-claude-code-session-id", session)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen = (
        header(&resp, "x-switchyard-tier"),
        header(&resp, "x-switchyard-reason"),
    );
    resp.text().await.unwrap();
    seen
}

/// One Claude Code conversation through the gateway: the person's turn is
/// planned on premium, mechanical tool steps go to the cheap tier, a
/// failing test run sends the next turn back, and the prompt-cache cost
/// model is what the reasons cite.
#[tokio::test]
async fn an_agent_loop_is_routed_turn_by_turn() {
    let (ollama, anthropic) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = TestGateway::custom(&config(&ollama.url(), &anthropic.url())).await;
    let mut messages = vec![json!({"role": "user", "content": [{"type": "text", "text":
        "Design a migration plan for our 30 microservices from REST to gRPC with zero downtime; compare the trade-offs"}]})];
    let send = |messages: Vec<serde_json::Value>| {
        let gw = &gw;
        async move { claude_code_turn(gw, "0b6c7a52-session", &messages, false).await }
    };
    let tool = |id: &str, name: &str, output: &str| {
        [
            json!({"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": name, "input": {"command": format!("step {id}")}}]}),
            json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": output, "cache_control": {"type": "ephemeral"}}]}),
        ]
    };
    assert_eq!(
        send(messages.clone()).await.0,
        "premium",
        "planned on premium"
    );
    messages.extend(tool("t1", "Read", "service list"));
    let (tier, reason) = send(messages.clone()).await;
    assert_eq!(tier, "cheap", "{reason}");
    assert!(
        reason.contains("mechanical") && reason.contains("est. $"),
        "{reason}"
    );
    messages.extend(tool(
        "t2",
        "Bash",
        "test result: FAILED. 1 passed; 1 failed",
    ));
    let (tier, reason) = send(messages.clone()).await;
    assert_eq!(tier, "premium", "{reason}");
    assert!(reason.contains("failing tests"), "{reason}");
    messages.extend(tool("t3", "Bash", "test result: ok. 2 passed; 0 failed"));
    assert_eq!(send(messages.clone()).await.0, "cheap");
    let tiers: Vec<Option<String>> = gw
        .records
        .wait_for(4)
        .await
        .iter()
        .map(|r| r.tier.clone())
        .collect();
    let want = ["premium", "cheap", "premium", "cheap"].map(|t| Some(t.to_string()));
    assert_eq!(tiers, want, "the ledger holds each turn's tier");
}

/// The thinking signatures an upstream was sent.
pub(crate) fn thinking_signatures(seen: &crate::support::mock::Seen) -> Vec<String> {
    seen.json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["signature"].as_str().map(str::to_string))
        .collect()
}

/// Anthropic signs thinking blocks per model: when a conversation moves
/// between models, each upstream gets only the thinking its own model
/// wrote, and thinking is switched off for a step whose last assistant turn
/// was another model's.
#[tokio::test]
async fn thinking_signatures_stay_with_the_model_that_wrote_them() {
    let (ollama, anthropic) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = TestGateway::custom(&config(&ollama.url(), &anthropic.url())).await;
    let send = |messages: Vec<serde_json::Value>| {
        let gw = &gw;
        async move {
            claude_code_turn(gw, "thinking-session", &messages, true)
                .await
                .0
        }
    };
    let turn = |id: &str, signed_by: &str, result: &str| {
        let tool = if result.contains("test result") {
            "Bash"
        } else {
            "Read"
        };
        [
            json!({"role": "assistant", "content": [
                {"type": "thinking", "thinking": "…", "signature": format!("SIG-{signed_by}")},
                {"type": "tool_use", "id": id, "name": tool, "input": {"file_path": id}}]}),
            json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": result}]}),
        ]
    };
    let mut m = vec![json!({"role": "user", "content":
        "Design a migration plan for our 30 microservices from REST to gRPC with zero downtime; compare the trade-offs"})];
    assert_eq!(send(m.clone()).await, "premium");
    m.extend(turn("t1", "sonnet", "service list"));
    assert_eq!(send(m.clone()).await, "cheap");
    m.extend(turn(
        "t2",
        "haiku",
        "test result: FAILED. 1 passed; 1 failed",
    ));
    assert_eq!(send(m.clone()).await, "premium");
    let seen = anthropic.seen();
    let signatures = |i: usize| thinking_signatures(&seen[i]);
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1].json()["model"], "claude-haiku-4-5-20251001");
    assert!(
        signatures(1).is_empty(),
        "Sonnet's thinking never reaches Haiku"
    );
    assert_eq!(seen[1].json()["thinking"]["type"], "disabled");
    assert_eq!(
        signatures(2),
        ["SIG-sonnet"],
        "Sonnet gets its own back, not Haiku's"
    );
    assert_eq!(seen[2].json()["thinking"]["type"], "disabled");
}

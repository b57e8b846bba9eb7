//! Guardrails end to end: a request carrying secrets or a sensitive file's
//! contents is redacted, kept on local models or refused, as its key, route,
//! tier or `[guard]` says; what the upstream saw, what the client got and
//! what the ledger says are checked for each.

use crate::limits::ask;
use crate::support::mock::MockUpstream;
use crate::support::*;
use serde_json::{Value, json};

const AWS_ID: &str = "AKIAZ4TQ7RB3NW5PLXVM";
const DB_PASSWORD: &str = "hunter2hunter2";

/// A local server and a cloud one (both speak Anthropic), tiers
/// local → premium, and `extra` sections.
async fn gateway(extra: &str) -> (TestGateway, MockUpstream, MockUpstream) {
    let (local, cloud) = (MockUpstream::start().await, MockUpstream::start().await);
    let sections = format!(
        "{extra}\n\
         [providers.box]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"k\"\nlocal = true\n\
         [providers.cloud]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"k\"\n\
         [models.qwen]\nprovider = \"box\"\nid = \"qwen-coder\"\ncapabilities = [\"tools\"]\n\
         [models.sonnet]\nprovider = \"cloud\"\nid = \"claude-sonnet-5-5\"\naliases = [\"claude-*\"]\ncapabilities = [\"tools\"]\n\
         [tiers]\nlocal = [\"qwen\"]\npremium = [\"sonnet\"]\n\
         [[routes]]\nname = \"strict\"\nmatch = {{ model = \"strict-*\" }}\ntargets = [\"sonnet\"]\nguard = \"block\"\n",
        local.url(),
        cloud.url()
    );
    (TestGateway::with_ledger(&sections).await, local, cloud)
}

/// A Claude Code turn: the developer pasted a key id, and Claude read
/// `.env` with its Read tool.
fn leaky(model: &str) -> String {
    json!({
        "model": model,
        "max_tokens": 64,
        "messages": [
            {"role": "user", "content": format!("why does boto say access denied? key id {AWS_ID}")},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/work/app/.env"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": format!("     1\u{2192}DB_PASSWORD={DB_PASSWORD}\n")}
            ]}
        ]
    })
    .to_string()
}

fn sent(up: &MockUpstream) -> String {
    let seen = up.seen();
    assert_eq!(seen.len(), 1, "one call upstream");
    String::from_utf8_lossy(&seen[0].body).into_owned()
}

#[tokio::test]
async fn redact_sends_placeholders_upstream_and_records_what_it_did() {
    let (mut gw, _local, cloud) = gateway("[guard]\nsecrets = \"redact\"").await;
    let (status, headers, _) = ask(&gw, MASTER_KEY, &leaky("claude-sonnet-5-5")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-switchyard-guard"], "redact");
    let body = sent(&cloud);
    assert!(
        !body.contains(AWS_ID) && !body.contains(DB_PASSWORD),
        "{body}"
    );
    assert!(body.contains("[REDACTED:aws_access_key_id:"), "{body}");
    assert!(body.contains("the contents of /work/app/.env were withheld"));
    let rec = &gw.records.wait_for(1).await[0];
    let note = rec.guard.as_deref().unwrap_or_default();
    assert!(note.starts_with("redact: aws_access_key_id "), "{note}");
    assert!(note.contains("sensitive_file /work/app/.env"), "{note}");
    assert!(!note.contains(AWS_ID));
    let rows = gw.flushed_rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].guard.as_deref(), Some(note), "kept in the ledger");
}

#[tokio::test]
async fn allow_sends_it_as_it_is_but_records_it() {
    let (gw, _local, cloud) = gateway("").await;
    let (status, headers, _) = ask(&gw, MASTER_KEY, &leaky("claude-sonnet-5-5")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-switchyard-guard"], "allow");
    assert!(sent(&cloud).contains(AWS_ID));
    let rec = &gw.records.wait_for(1).await[0];
    assert!(
        rec.guard
            .as_deref()
            .unwrap_or_default()
            .starts_with("allow: ")
    );
}

#[tokio::test]
async fn block_refuses_in_the_clients_dialect_and_nothing_leaves() {
    let (gw, local, cloud) = gateway("").await;
    // The route's own action: Anthropic client.
    let (status, _, v) = ask(&gw, MASTER_KEY, &leaky("strict-sonnet")).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("aws_access_key_id") && msg.contains(".env"),
        "{msg}"
    );
    assert!(
        !msg.contains(AWS_ID),
        "the refusal never repeats the secret"
    );
    // OpenAI client, same route.
    let openai = json!({"model": "strict-x", "messages": [{"role": "user", "content": format!("key {AWS_ID}")}]});
    let resp = gw.post_openai(&openai.to_string()).await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    // count_tokens on the route answers with a local estimate, asking no one.
    let resp = gw
        .post("/v1/messages/count_tokens", &leaky("strict-sonnet"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "x-switchyard-token-count"), "estimate");
    assert!(cloud.seen().is_empty() && local.seen().is_empty());
    let records = gw.records.wait_for(3).await;
    let blocked: Vec<_> = records
        .iter()
        .filter(|r| r.error_kind.as_deref() == Some("guard_blocked"))
        .collect();
    assert_eq!(blocked.len(), 2, "one row per refused request");
    assert!(blocked.iter().all(|r| r.status == 400 && r.guard.is_some()));
}

#[tokio::test]
async fn force_local_keeps_it_on_the_machine() {
    let key = "sk-sy-force-local-0123456789abcdef";
    let (gw, local, cloud) = gateway(&format!(
        "[[keys]]\nname = \"contractor\"\nkey = \"{key}\"\nguard = \"force_local\"\n"
    ))
    .await;
    // Asked for Sonnet by name; carries secrets: served by the local model.
    let (status, headers, _) = ask(&gw, key, &leaky("claude-sonnet-5-5")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-switchyard-guard"], "force_local");
    assert!(sent(&local).contains(AWS_ID), "the local model sees it all");
    assert!(cloud.seen().is_empty());
    let rec = &gw.records.wait_for(1).await[0];
    assert_eq!(rec.model.as_deref(), Some("qwen"));
    assert_eq!(rec.tier.as_deref(), Some("local"));
    // A clean request from the same key goes where it asked.
    let clean = json!({"model": "claude-sonnet-5-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]});
    let (status, headers, _) = ask(&gw, key, &clean.to_string()).await;
    assert_eq!(status, 200);
    assert!(!headers.contains_key("x-switchyard-guard"));
    assert_eq!(cloud.seen().len(), 1);
}

#[tokio::test]
async fn force_local_without_a_local_model_is_refused() {
    let up = MockUpstream::start().await;
    let gw = TestGateway::start(&up.url(), "[guard]\nsecrets = \"force_local\"").await;
    let (status, _, v) = ask(&gw, MASTER_KEY, &leaky("claude-sonnet-5-5")).await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("only be served by local models"),
        "{v}"
    );
    assert!(up.seen().is_empty());
}

#[tokio::test]
async fn a_request_only_local_models_serve_is_left_alone() {
    let (gw, local, _cloud) = gateway("[guard]\nsecrets = \"block\"").await;
    let (status, headers, _) = ask(&gw, MASTER_KEY, &leaky("qwen")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-switchyard-guard"], "local");
    assert!(sent(&local).contains(DB_PASSWORD));
    let rec = &gw.records.wait_for(1).await[0];
    assert!(
        rec.guard
            .as_deref()
            .unwrap_or_default()
            .starts_with("local: ")
    );
}

#[tokio::test]
async fn a_tiers_action_applies_to_what_is_routed_there() {
    let (gw, _local, cloud) =
        gateway("[guard]\nsecrets = \"allow\"\ntiers = { premium = \"redact\" }").await;
    let (status, _, _) = ask(&gw, MASTER_KEY, &leaky("claude-sonnet-5-5")).await;
    assert_eq!(status, 200);
    assert!(!sent(&cloud).contains(AWS_ID));
}

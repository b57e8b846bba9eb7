//! The exact-cache key: SHA-256 over everything that can change the answer.
//!
//! Every top-level request field is either keyed (its exact bytes go into
//! the hash) or listed in [`UNKEYED`] with the reason it cannot change the
//! answer. A field nobody has classified yet is keyed — a new field can
//! cost hits, never return a wrong answer — and the unit tests fail until
//! each field the gateway models is classified on purpose.

use crate::core::Dialect;
use crate::core::fields::Fields;
use sha2::{Digest, Sha256};

/// Fields known to change the answer (for the tests' classification; any
/// field not in [`UNKEYED`] is keyed anyway).
pub const KEYED: &[&str] = &[
    // the conversation
    "messages",
    "system",
    // tools
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "functions",
    "function_call",
    // sampling and limits
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "stop",
    "seed",
    "n",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    // reasoning and output shape
    "thinking",
    "reasoning_effort",
    "output_config",
    "output_format",
    "response_format",
    "modalities",
    "audio",
    "prediction",
    "verbosity",
    // server-side features
    "context_management",
    "mcp_servers",
    "container",
    "web_search_options",
    "safeguards",
];

/// Fields that cannot change the answer, and why.
pub const UNKEYED: &[(&str, &str)] = &[
    ("model", "replaced by the routed model"),
    ("stream", "a cached answer replays in either form"),
    ("stream_options", "only asks for usage in the stream"),
    (
        "metadata",
        "caller bookkeeping (Claude Code puts its user id here)",
    ),
    ("user", "caller bookkeeping"),
    ("service_tier", "changes capacity, not content"),
    ("store", "OpenAI-side retention"),
    ("anthropic_version", "the Bedrock wire version"),
    (
        "anthropic_beta",
        "the Bedrock form of the beta header, keyed from the header",
    ),
];

/// A key.
pub type Key = [u8; 32];

/// What goes into a key besides the body.
#[derive(Debug, Clone, Copy)]
pub struct KeyScope<'a> {
    /// The client's dialect (answers are stored per dialect family).
    pub dialect: Dialect,
    /// The model the plan sends the request to first.
    pub routed_model: &'a str,
    /// The `anthropic-beta` header (betas can change answers).
    pub betas: Option<&'a str>,
    /// The client key, when entries are per key.
    pub client_key: Option<&'a str>,
}

fn unkeyed(name: &str) -> bool {
    UNKEYED.iter().any(|(n, _)| *n == name)
}

fn feed(h: &mut Sha256, tag: &str, bytes: &[u8]) {
    h.update((tag.len() as u64).to_le_bytes());
    h.update(tag.as_bytes());
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// The key of a request body (a JSON object), or `None` if it is not one.
pub fn exact_key(scope: &KeyScope<'_>, body: &[u8]) -> Option<Key> {
    let fields: Fields<'_> = serde_json::from_slice(body).ok()?;
    let mut keyed: Vec<(&str, &[u8])> = fields
        .0
        .iter()
        .filter(|(name, _)| !unkeyed(name))
        .map(|(name, raw)| (name.as_str(), raw.get().as_bytes()))
        .collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut h = Sha256::new();
    feed(&mut h, "v1", b"");
    // Bedrock bodies are Anthropic bodies by the time they are keyed.
    let family = if scope.dialect.anthropic_body() {
        "anthropic"
    } else {
        scope.dialect.as_str()
    };
    feed(&mut h, "dialect", family.as_bytes());
    feed(&mut h, "model", scope.routed_model.as_bytes());
    feed(&mut h, "betas", scope.betas.unwrap_or("").as_bytes());
    if let Some(k) = scope.client_key {
        feed(&mut h, "client", Sha256::digest(k.as_bytes()).as_slice());
    }
    for (name, value) in keyed {
        feed(&mut h, name, value);
    }
    Some(h.finalize().into())
}

/// Lowercase hex of a key.
pub fn hex(key: &Key) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ChatRequest;

    fn scope(model: &str) -> KeyScope<'_> {
        KeyScope {
            dialect: Dialect::Anthropic,
            routed_model: model,
            betas: None,
            client_key: None,
        }
    }

    fn key(body: &str) -> Key {
        exact_key(&scope("sonnet"), body.as_bytes()).unwrap()
    }

    #[test]
    fn every_modelled_field_is_classified() {
        // A fully populated canonical request: adding a field to it without
        // deciding whether it belongs in the key fails here.
        let req: ChatRequest = serde_json::from_value(serde_json::json!({
            "model": "m", "messages": [], "system": "s", "max_tokens": 1, "stream": true,
            "temperature": 0.5, "top_p": 0.9, "top_k": 5, "stop_sequences": ["x"],
            "tools": [], "tool_choice": {"type": "auto"}, "thinking": {"type": "enabled", "budget_tokens": 1024},
            "metadata": {"user_id": "u"}
        }))
        .unwrap();
        let v = serde_json::to_value(&req).unwrap();
        for name in v.as_object().unwrap().keys() {
            assert!(
                KEYED.contains(&name.as_str()) || unkeyed(name),
                "classify request field '{name}' in cache/key.rs"
            );
        }
        // And every field Claude Code sends in the captured fixtures.
        for fixture in [
            "claude_code_simple.json",
            "claude_code_tool_result.json",
            "claude_code_auto_mode.json",
            "claude_code_title_helper.json",
        ] {
            let path = format!(
                "{}/tests/fixtures/anthropic/{fixture}",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            for name in v.as_object().unwrap().keys() {
                assert!(
                    KEYED.contains(&name.as_str()) || unkeyed(name),
                    "classify field '{name}' of {fixture} in cache/key.rs"
                );
            }
        }
        for (name, _) in UNKEYED {
            assert!(!KEYED.contains(name), "{name} is in both lists");
        }
    }

    #[test]
    fn what_changes_the_answer_changes_the_key() {
        let base = r#"{"model":"a","max_tokens":9,"messages":[{"role":"user","content":"hi"}]}"#;
        assert_eq!(key(base), key(base));
        for other in [
            r#"{"model":"a","max_tokens":9,"messages":[{"role":"user","content":"hi!"}]}"#,
            r#"{"model":"a","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#,
            r#"{"model":"a","max_tokens":9,"system":"be brief","messages":[{"role":"user","content":"hi"}]}"#,
            r#"{"model":"a","max_tokens":9,"temperature":1,"messages":[{"role":"user","content":"hi"}]}"#,
            r#"{"model":"a","max_tokens":9,"tools":[],"messages":[{"role":"user","content":"hi"}]}"#,
            r#"{"model":"a","max_tokens":9,"brand_new_field":1,"messages":[{"role":"user","content":"hi"}]}"#,
        ] {
            assert_ne!(key(base), key(other), "{other}");
        }
        assert_ne!(
            exact_key(&scope("haiku"), base.as_bytes()),
            Some(key(base)),
            "another routed model"
        );
        let openai = KeyScope {
            dialect: Dialect::OpenAi,
            ..scope("sonnet")
        };
        assert_ne!(exact_key(&openai, base.as_bytes()), Some(key(base)));
        let bedrock = KeyScope {
            dialect: Dialect::Bedrock,
            ..scope("sonnet")
        };
        assert_eq!(exact_key(&bedrock, base.as_bytes()), Some(key(base)));
        let per_key = KeyScope {
            client_key: Some("sk-1"),
            ..scope("sonnet")
        };
        assert_ne!(exact_key(&per_key, base.as_bytes()), Some(key(base)));
        let beta = KeyScope {
            betas: Some("interleaved-thinking-2025-05-14"),
            ..scope("sonnet")
        };
        assert_ne!(exact_key(&beta, base.as_bytes()), Some(key(base)));
    }

    #[test]
    fn what_cannot_change_the_answer_does_not() {
        let base = r#"{"model":"a","max_tokens":9,"messages":[{"role":"user","content":"hi"}]}"#;
        let same = r#"{"stream":true,"metadata":{"user_id":"u-1"},"max_tokens":9,"model":"b","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}"#;
        assert_eq!(key(base), key(same));
        assert!(exact_key(&scope("m"), b"[1]").is_none());
    }
}

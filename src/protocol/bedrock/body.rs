//! Anthropic Messages body → Bedrock InvokeModel body: `model` and `stream`
//! removed (the URL says them), `anthropic_version` set, the
//! `anthropic-beta` header moved into the `anthropic_beta` array, and
//! top-level fields Bedrock rejects dropped by an allowlist. Every kept
//! value is copied byte for byte.

use crate::core::fields::Fields;
use serde_json::value::RawValue;

/// The version Bedrock wants for Anthropic models.
pub const ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// Top-level fields Bedrock accepts in an Anthropic body (others fail with
/// "Extra inputs are not permitted").
pub const ALLOWED: &[&str] = &[
    "max_tokens",
    "messages",
    "system",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "metadata",
    "output_config",
    "context_management",
];

/// Tool fields Bedrock rejects.
const TOOL_FIELDS_REJECTED: &[&str] = &["custom", "eager_input_streaming"];

/// What the rewrite did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    /// The body for Bedrock.
    pub body: Vec<u8>,
    /// Fields dropped by the allowlist.
    pub dropped: Vec<String>,
}

fn clean_tools(raw: &RawValue) -> Option<String> {
    if !TOOL_FIELDS_REJECTED
        .iter()
        .any(|f| raw.get().contains(&format!("\"{f}\"")))
    {
        return None;
    }
    let mut tools: Vec<serde_json::Value> = serde_json::from_str(raw.get()).ok()?;
    for t in &mut tools {
        if let Some(o) = t.as_object_mut() {
            for f in TOOL_FIELDS_REJECTED {
                o.remove(*f);
            }
        }
    }
    serde_json::to_string(&tools).ok()
}

/// Rewrite an Anthropic body for InvokeModel. `betas` is the client's
/// `anthropic-beta` header; `max_tokens` is added when missing (count-tokens
/// bodies have none).
pub fn invoke_body(
    anthropic: &[u8],
    betas: Option<&str>,
    default_max_tokens: Option<u64>,
) -> Result<Rewritten, String> {
    let fields: Fields<'_> =
        serde_json::from_slice(anthropic).map_err(|e| format!("request body: {e}"))?;
    let mut beta_list: Vec<String> = betas
        .into_iter()
        .flat_map(|h| h.split(','))
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .collect();
    let mut out = format!("{{\"anthropic_version\":\"{ANTHROPIC_VERSION}\"");
    let mut dropped = Vec::new();
    let mut has_max_tokens = false;
    for (key, raw) in &fields.0 {
        match key.as_str() {
            "model" | "stream" | "anthropic_version" => continue,
            "anthropic_beta" => {
                for b in serde_json::from_str::<Vec<String>>(raw.get()).unwrap_or_default() {
                    if !beta_list.contains(&b) {
                        beta_list.push(b);
                    }
                }
                continue;
            }
            k if !ALLOWED.contains(&k) => {
                dropped.push(key.clone());
                continue;
            }
            _ => {}
        }
        has_max_tokens |= key == "max_tokens";
        let value = match key.as_str() {
            "tools" => clean_tools(raw).unwrap_or_else(|| raw.get().to_string()),
            _ => raw.get().to_string(),
        };
        out.push(',');
        out.push_str(&serde_json::Value::String(key.clone()).to_string());
        out.push(':');
        out.push_str(&value);
    }
    if let (false, Some(n)) = (has_max_tokens, default_max_tokens) {
        out.push_str(&format!(",\"max_tokens\":{n}"));
    }
    if !beta_list.is_empty() {
        out.push_str(",\"anthropic_beta\":");
        out.push_str(&serde_json::Value::from(beta_list).to_string());
    }
    out.push('}');
    Ok(Rewritten {
        body: out.into_bytes(),
        dropped,
    })
}

/// A Bedrock InvokeModel body (from a client that speaks Bedrock) as an
/// Anthropic Messages body: `model` and `stream` put back from the URL,
/// `anthropic_version` dropped, `anthropic_beta` returned for the
/// `anthropic-beta` header, the fields in `drop` left out. Every other
/// value keeps its bytes.
pub fn messages_body(
    invoke: &[u8],
    model: &str,
    stream: bool,
    drop: &[&str],
) -> Result<(Vec<u8>, Vec<String>), String> {
    let fields: Fields<'_> = serde_json::from_slice(invoke).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            format!("Malformed input request: {e}")
        } else {
            "Malformed input request: expected a JSON object".to_string()
        }
    })?;
    let mut out = Vec::with_capacity(invoke.len() + model.len() + 32);
    out.extend_from_slice(b"{\"model\":");
    out.extend_from_slice(
        serde_json::Value::String(model.to_string())
            .to_string()
            .as_bytes(),
    );
    if stream {
        out.extend_from_slice(b",\"stream\":true");
    }
    let mut betas = Vec::new();
    for (key, raw) in &fields.0 {
        match key.as_str() {
            "model" | "stream" | "anthropic_version" => continue,
            "anthropic_beta" => {
                betas = serde_json::from_str::<Vec<String>>(raw.get())
                    .map_err(|_| "anthropic_beta: expected an array of strings".to_string())?;
                continue;
            }
            k if drop.contains(&k) => continue,
            _ => {}
        }
        out.push(b',');
        out.extend_from_slice(
            serde_json::Value::String(key.clone())
                .to_string()
                .as_bytes(),
        );
        out.push(b':');
        out.extend_from_slice(raw.get().as_bytes());
    }
    out.push(b'}');
    Ok((out, betas))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(body: &str, betas: Option<&str>) -> (String, Vec<String>) {
        let r = invoke_body(body.as_bytes(), betas, None).unwrap();
        (String::from_utf8(r.body).unwrap(), r.dropped)
    }

    #[test]
    fn table() {
        let rows: &[(&str, Option<&str>, &str, &[&str])] = &[
            // model and stream go; the version comes first; values keep their bytes
            (
                r#"{"model":"claude-x","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"caf\u00e9 \"q\""}]}"#,
                None,
                r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[{"role":"user","content":"caf\u00e9 \"q\""}]}"#,
                &[],
            ),
            // the beta header becomes the body array (merged with one already there)
            (
                r#"{"model":"m","max_tokens":1,"messages":[],"anthropic_beta":["a"]}"#,
                Some("interleaved-thinking-2025-05-14, a ,context-1m-2025-08-07"),
                r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[],"anthropic_beta":["interleaved-thinking-2025-05-14","a","context-1m-2025-08-07"]}"#,
                &[],
            ),
            // fields Bedrock rejects are dropped; cache_control, thinking and tools stay
            (
                r#"{"model":"m","service_tier":"auto","max_tokens":9,"container":"c","thinking":{"type":"enabled","budget_tokens":1024},"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[],"tools":[{"name":"Bash","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],"output_config":{"effort":"high"}}"#,
                None,
                r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":9,"thinking":{"type":"enabled","budget_tokens":1024},"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[],"tools":[{"name":"Bash","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],"output_config":{"effort":"high"}}"#,
                &["service_tier", "container"],
            ),
            // tool fields Bedrock rejects are removed from the tools only
            (
                r#"{"max_tokens":1,"messages":[],"tools":[{"name":"f","input_schema":{},"eager_input_streaming":true}]}"#,
                None,
                r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[],"tools":[{"input_schema":{},"name":"f"}]}"#,
                &[],
            ),
        ];
        for (input, betas, want, dropped) in rows {
            let (got, d) = rewrite(input, *betas);
            assert_eq!(&got, want, "{input}");
            assert_eq!(d, *dropped, "{input}");
            let _: serde_json::Value = serde_json::from_str(&got).unwrap();
        }
    }

    #[test]
    fn claude_code_body_keeps_everything_bedrock_accepts() {
        let path = format!(
            "{}/tests/fixtures/anthropic/claude_code_tool_result.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read(path).unwrap();
        let r = invoke_body(&body, Some("claude-code-20250219"), None).unwrap();
        assert!(r.dropped.is_empty(), "{:?}", r.dropped);
        let original: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let sent: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        for key in [
            "messages",
            "system",
            "tools",
            "thinking",
            "metadata",
            "context_management",
            "output_config",
            "max_tokens",
        ] {
            assert_eq!(sent[key], original[key], "{key}");
        }
        assert!(sent.get("model").is_none() && sent.get("stream").is_none());
    }

    #[test]
    fn bedrock_bodies_turn_back_into_messages_bodies() {
        let invoke = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":7,"messages":[{"role":"user","content":"caf\u00e9"}],"anthropic_beta":["interleaved-thinking-2025-05-14"],"thinking":{"type":"enabled","budget_tokens":1024}}"#;
        let (body, betas) =
            messages_body(invoke.as_bytes(), "us.anthropic.claude-x-v1:0", true, &[]).unwrap();
        assert_eq!(
            String::from_utf8(body.clone()).unwrap(),
            r#"{"model":"us.anthropic.claude-x-v1:0","stream":true,"max_tokens":7,"messages":[{"role":"user","content":"caf\u00e9"}],"thinking":{"type":"enabled","budget_tokens":1024}}"#
        );
        assert_eq!(betas, ["interleaved-thinking-2025-05-14"]);
        // and the round trip gives Bedrock the same body again
        let again = invoke_body(&body, Some(&betas.join(",")), None).unwrap();
        let again: serde_json::Value = serde_json::from_slice(&again.body).unwrap();
        assert_eq!(
            again,
            serde_json::from_str::<serde_json::Value>(invoke).unwrap()
        );
        let (counted, _) = messages_body(invoke.as_bytes(), "m", false, &["max_tokens"]).unwrap();
        assert!(!String::from_utf8(counted).unwrap().contains("max_tokens"));
        for bad in ["", "[1]", "{\"messages\":", r#"{"anthropic_beta":"x"}"#] {
            assert!(
                messages_body(bad.as_bytes(), "m", false, &[]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn count_tokens_bodies_get_max_tokens() {
        let r = invoke_body(br#"{"model":"m","messages":[]}"#, None, Some(1)).unwrap();
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            r#"{"anthropic_version":"bedrock-2023-05-31","messages":[],"max_tokens":1}"#
        );
    }
}

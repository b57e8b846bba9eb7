//! Managed settings per group (`[[signin.policies]]`), served to signed-in
//! Claude Code at `GET /managed/settings`: the first policy naming one of
//! the person's groups, else the first naming none. Each policy's document
//! is built once: `{"uuid", "checksum", "settings"}`, where the checksum is
//! the one Claude Code computes itself (`sha256:` and the hex SHA-256 of the
//! settings as JSON with keys sorted at every level and no whitespace), so
//! its `If-None-Match` can be answered with `304`. A policy's
//! `available_models` becomes Claude Code's `availableModels` (and its
//! `model`, unless the policy sets one, so sessions start on an allowed
//! model) and the model globs the gateway holds the person to.

use crate::config::Policy;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// One policy, ready to serve.
#[derive(Debug, Clone)]
pub struct Managed {
    /// The policy's name (the document's `uuid`).
    pub uuid: String,
    /// `sha256:<hex>` of the canonical settings.
    pub checksum: String,
    /// The whole document, as sent.
    pub body: String,
    /// Model globs the gateway allows (empty: any).
    pub models: Vec<String>,
    groups: Vec<String>,
}

/// JSON with object keys sorted at every level and no whitespace.
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// The globs a model name in `availableModels` allows: a family alias
/// (`haiku`) any Claude model of that family, a full id that id and its
/// dated versions.
fn model_globs(entry: &str) -> Vec<String> {
    if entry.contains('*') {
        vec![entry.to_string()]
    } else if entry.starts_with("claude-") {
        vec![entry.to_string(), format!("{entry}-*")]
    } else {
        vec![
            entry.to_string(),
            format!("claude-{entry}-*"),
            format!("claude-*-{entry}-*"),
        ]
    }
}

impl Managed {
    /// Build a policy's document.
    pub fn new(p: &Policy) -> Managed {
        let mut settings = match &p.settings {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        if let Some(first) = p.available_models.first() {
            settings.insert(
                "availableModels".into(),
                Value::from(p.available_models.clone()),
            );
            // Claude Code keeps its own default model unless told otherwise,
            // and the gateway would refuse it: start on the first allowed.
            settings
                .entry("model")
                .or_insert_with(|| Value::from(first.clone()));
        }
        let settings = Value::Object(settings);
        let checksum = format!(
            "sha256:{}",
            hex::encode(Sha256::digest(canonical(&settings).as_bytes()))
        );
        let body = serde_json::json!({"uuid": p.name, "checksum": checksum, "settings": settings});
        Managed {
            uuid: p.name.clone(),
            checksum,
            body: body.to_string(),
            models: p
                .available_models
                .iter()
                .flat_map(|m| model_globs(m))
                .collect(),
            groups: p.groups.clone(),
        }
    }
}

/// The policy for someone in `groups`.
pub fn pick<'a>(policies: &'a [Managed], groups: &[String]) -> Option<&'a Managed> {
    policies
        .iter()
        .find(|p| p.groups.iter().any(|g| groups.contains(g)))
        .or_else(|| policies.iter().find(|p| p.groups.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, groups: &[&str], models: &[&str]) -> Policy {
        Policy {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            available_models: models.iter().map(|m| m.to_string()).collect(),
            settings: serde_json::json!({"permissions": {"deny": ["WebFetch"]}, "env": {"B": "2", "A": "1"}}),
        }
    }

    #[test]
    fn the_checksum_is_the_one_claude_code_computes() {
        let v = serde_json::json!({"b": [1, {"z": 1, "a": "x y"}], "a": true});
        assert_eq!(canonical(&v), r#"{"a":true,"b":[1,{"a":"x y","z":1}]}"#);
        let m = Managed::new(&policy("base", &[], &["haiku"]));
        let text = r#"{"availableModels":["haiku"],"env":{"A":"1","B":"2"},"model":"haiku","permissions":{"deny":["WebFetch"]}}"#;
        let want = hex::encode(Sha256::digest(text.as_bytes()));
        assert_eq!(m.checksum, format!("sha256:{want}"));
        let doc: Value = serde_json::from_str(&m.body).unwrap();
        assert_eq!(doc["uuid"], "base");
        assert_eq!(doc["settings"]["availableModels"][0], "haiku");
    }

    #[test]
    fn a_group_policy_comes_before_the_base_one() {
        let all = [
            Managed::new(&policy("base", &[], &[])),
            Managed::new(&policy("contractors", &["contractors"], &["haiku"])),
        ];
        assert_eq!(
            pick(&all, &["contractors".into()]).unwrap().uuid,
            "contractors"
        );
        assert_eq!(pick(&all, &["eng".into()]).unwrap().uuid, "base");
        assert!(
            pick(&all[1..], &["eng".into()]).is_none(),
            "no base: no policy"
        );
        let globs = &all[1].models;
        let allowed = |m: &str| globs.iter().any(|g| crate::core::glob_match(g, m));
        assert!(allowed("claude-haiku-4-5-20251001") && allowed("claude-3-5-haiku-20241022"));
        assert!(!allowed("claude-sonnet-4-5"));
    }
}

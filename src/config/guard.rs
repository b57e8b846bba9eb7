//! Guardrails on what leaves the machine: `[guard]`, and `guard = "…"` on a
//! route or a client key.
//!
//! ```toml
//! [guard]
//! secrets = "redact"           # allow | redact | force_local | block
//! tiers = { premium = "block" } # a tier's own action, over `secrets`
//! sensitive_files = [".env", ".env.*", "*.pem", "id_rsa*"]   # replaces the defaults
//! patterns = { acme_token = "ACME-[0-9a-f]{32}" }           # the team's own secrets
//! ```
//!
//! A request's action is its key's, else its route's, else its tier's,
//! else `secrets`. Nothing is changed for a request that only local
//! providers (`local = true`, kind `ollama` by default) can serve: it never
//! leaves the machine. Findings are recorded in the ledger whatever the
//! action.

use super::section::{Errors, Section};
use toml::Value;

/// Keys of `[guard]`.
pub(super) static GUARD_KEYS: &[&str] = &["secrets", "tiers", "sensitive_files", "patterns"];

/// What to do with a request that carries secrets or a sensitive file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GuardAction {
    /// Send it as it is (the findings are still recorded).
    #[default]
    Allow,
    /// Replace each secret with a placeholder before it goes out.
    Redact,
    /// Serve it from local models only.
    ForceLocal,
    /// Refuse it, naming what was found.
    Block,
}

impl GuardAction {
    /// Every action, with its config name.
    pub const ALL: &'static [(&'static str, GuardAction)] = &[
        ("allow", GuardAction::Allow),
        ("redact", GuardAction::Redact),
        ("force_local", GuardAction::ForceLocal),
        ("block", GuardAction::Block),
    ];

    /// The config name.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("allow", |(n, _)| n)
    }

    /// The action named `name`.
    pub fn parse(name: &str) -> Option<GuardAction> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
    }
}

/// Files whose contents are secrets wherever they are read.
pub const DEFAULT_SENSITIVE_FILES: &[&str] = &[
    ".env",
    ".env.*",
    "*.env",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.keystore",
    "*.jks",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".npmrc",
    ".pypirc",
    ".pgpass",
    ".git-credentials",
    "credentials",
    "credentials.json",
    "*.tfvars",
    "secrets.*",
    "service-account*.json",
];

/// `[guard]`.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardConfig {
    /// The default action.
    pub secrets: GuardAction,
    /// Actions of their own for requests routed to these tiers.
    pub tiers: Vec<(String, GuardAction)>,
    /// File name patterns (`*`, `?`; matched against the path's last part,
    /// or the whole path when the pattern has a `/`).
    pub sensitive_files: Vec<String>,
    /// The team's own secrets: (name, regular expression).
    pub patterns: Vec<(String, String)>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            secrets: GuardAction::Allow,
            tiers: Vec::new(),
            sensitive_files: DEFAULT_SENSITIVE_FILES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            patterns: Vec::new(),
        }
    }
}

/// Read an action at `key` of `s`.
pub(super) fn action(s: &Section<'_>, key: &str, errors: &mut Errors) -> Option<GuardAction> {
    let name = s.str(key, errors)?;
    let found = GuardAction::parse(&name);
    if found.is_none() {
        errors.add(
            &s.path(key),
            format!("unknown guard action '{name}'"),
            Some("allow, redact, force_local or block".into()),
        );
    }
    found
}

/// Read `[guard]`; `tiers` are the configured tier names.
pub(super) fn read(top: &Section<'_>, tiers: &[&str], errors: &mut Errors) -> GuardConfig {
    let Some(t) = top.table("guard", errors) else {
        return GuardConfig::default();
    };
    let s = Section::new(t, "guard", GUARD_KEYS, errors);
    let mut out = GuardConfig {
        secrets: action(&s, "secrets", errors).unwrap_or_default(),
        ..GuardConfig::default()
    };
    if let Some(table) = s.table("tiers", errors) {
        for (name, value) in table {
            let path = s.path(&format!("tiers.{name}"));
            if !tiers.contains(&name.as_str()) {
                errors.add(
                    &path,
                    format!("unknown tier '{name}'"),
                    Some("define it under [tiers]".into()),
                );
            }
            match value.as_str().map(|v| (v, GuardAction::parse(v))) {
                Some((_, Some(a))) => out.tiers.push((name.clone(), a)),
                Some((v, None)) => errors.add(
                    &path,
                    format!("unknown guard action '{v}'"),
                    Some("allow, redact, force_local or block".into()),
                ),
                None => errors.add(
                    &path,
                    format!("expected a string, found {}", value.type_str()),
                    None,
                ),
            }
        }
    }
    if let Some(files) = s.str_list("sensitive_files", errors) {
        out.sensitive_files = files;
    }
    if let Some(table) = s.table("patterns", errors) {
        for (name, value) in table {
            let path = s.path(&format!("patterns.{name}"));
            match value {
                Value::String(p) => match regex::bytes::Regex::new(p) {
                    Ok(_) => out.patterns.push((name.clone(), p.clone())),
                    Err(e) => errors.add(&path, format!("not a regular expression: {e}"), None),
                },
                other => errors.add(
                    &path,
                    format!("expected a string, found {}", other.type_str()),
                    None,
                ),
            }
        }
    }
    out
}

//! Guardrails on what leaves the machine: `[guard]`, and `guard = "…"` on a
//! route or a client key.
//!
//! ```toml
//! [guard]
//! secrets = "redact"           # allow | redact | force_local | block
//! sensitive_files = [".env", ".env.*", "*.pem", "id_rsa*"]   # replaces the defaults
//! patterns = { acme_token = "ACME-[0-9a-f]{32}" }           # the team's own secrets
//! tools = ["jail", "sensitive_files", "shell"]   # rules for proposed tool calls
//! workspace = ["/srv/repos"]   # roots beyond the directories Claude Code states
//! on_violation = "escalate"    # escalate | refuse
//! shell_patterns = { no_prod = "kubectl .*--context[= ]prod" }
//! tiers = { premium = "block" } # a tier's own action, over `secrets`, or:
//! [guard.tiers.local]
//! secrets = "allow"
//! tools = ["read_only"]        # added to `tools` for this tier's answers
//! ```
//!
//! A request's action is its key's, else its route's, else its tier's,
//! else `secrets`. Tool rules add up: `tools`, the answering target's
//! tier's, the route's `guard_tools`. Nothing is changed for a request that only local
//! providers (`local = true`, kind `ollama` by default) can serve: it never
//! leaves the machine. Findings are recorded in the ledger whatever the
//! action.

use super::section::{Errors, Section};
use toml::Value;

/// Keys of `[guard]`.
pub(super) static GUARD_KEYS: &[&str] = &[
    "secrets",
    "tiers",
    "sensitive_files",
    "patterns",
    "tools",
    "workspace",
    "on_violation",
    "shell_patterns",
    "max_tokens",
    "max_response_bytes",
];

/// Keys of a tier's table under `[guard.tiers]`.
pub(super) static TIER_KEYS: &[&str] = &["secrets", "tools", "max_tokens"];

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

/// Which rules proposed tool calls are checked against (`guard::tools`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToolRules(u8);

impl ToolRules {
    /// No rule.
    pub const NONE: ToolRules = ToolRules(0);
    /// Paths stay inside the workspace.
    pub const JAIL: ToolRules = ToolRules(1);
    /// No sensitive file is touched.
    pub const SENSITIVE_FILES: ToolRules = ToolRules(2);
    /// No write or execute tool (reading shell commands excepted).
    pub const READ_ONLY: ToolRules = ToolRules(4);
    /// No dangerous shell command.
    pub const SHELL: ToolRules = ToolRules(8);
    /// Each rule with its config name.
    pub const NAMED: &'static [(&'static str, ToolRules)] = &[
        ("jail", ToolRules::JAIL),
        ("sensitive_files", ToolRules::SENSITIVE_FILES),
        ("read_only", ToolRules::READ_ONLY),
        ("shell", ToolRules::SHELL),
    ];

    /// The rule named `name`.
    pub fn parse(name: &str) -> Option<ToolRules> {
        Self::NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r)
    }

    /// Both sets together.
    pub fn with(self, other: ToolRules) -> ToolRules {
        ToolRules(self.0 | other.0)
    }

    /// Whether every rule of `other` is on.
    pub fn has(self, other: ToolRules) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// Whether no rule is on.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// What a refused tool call becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnViolation {
    /// The attempt fails and the next target of the plan is asked, while
    /// nothing has reached the client; else (or at the last target) the
    /// call is refused.
    #[default]
    Escalate,
    /// The call is replaced by a note the client's model reads.
    Refuse,
}

/// A tier's own guardrails.
#[derive(Debug, Clone, PartialEq)]
pub struct TierGuard {
    /// The tier.
    pub name: String,
    /// Its action for secrets, over `secrets`.
    pub secrets: Option<GuardAction>,
    /// Tool rules added for its answers.
    pub tools: ToolRules,
    /// Its ceiling on an answer's tokens.
    pub max_tokens: Option<u64>,
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
    /// Guardrails of their own for requests routed to these tiers.
    pub tiers: Vec<TierGuard>,
    /// File name patterns (`*`, `?`; matched against the path's last part,
    /// or the whole path when the pattern has a `/`).
    pub sensitive_files: Vec<String>,
    /// The team's own secrets: (name, regular expression).
    pub patterns: Vec<(String, String)>,
    /// Tool rules for every answer.
    pub tools: ToolRules,
    /// Workspace roots (beyond the directories Claude Code states).
    pub workspace: Vec<String>,
    /// What a refused tool call becomes.
    pub on_violation: OnViolation,
    /// The team's own dangerous shell commands: (name, regular expression).
    pub shell_patterns: Vec<(String, String)>,
    /// Ceiling on an answer's tokens (a request's `max_tokens` is lowered).
    pub max_tokens: Option<u64>,
    /// An answer longer than this many bytes is cut off with an error.
    pub max_response_bytes: Option<u64>,
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
            tools: ToolRules::NONE,
            workspace: Vec::new(),
            on_violation: OnViolation::Escalate,
            shell_patterns: Vec::new(),
            max_tokens: None,
            max_response_bytes: None,
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
            if let Some(t) = tier(&s, name, value, tiers, errors) {
                out.tiers.push(t);
            }
        }
    }
    out.tools = tool_rules(&s, "tools", errors);
    if let Some(roots) = s.str_list("workspace", errors) {
        for (i, r) in roots.iter().enumerate() {
            if !r.starts_with('/') && !r.starts_with('~') {
                errors.add(
                    &s.path(&format!("workspace[{i}]")),
                    format!("'{r}' is not an absolute path"),
                    None,
                );
            }
        }
        out.workspace = roots;
    }
    if let Some(v) = s.str("on_violation", errors) {
        match v.as_str() {
            "escalate" => out.on_violation = OnViolation::Escalate,
            "refuse" => out.on_violation = OnViolation::Refuse,
            other => errors.add(
                &s.path("on_violation"),
                format!("unknown value '{other}'"),
                Some("escalate or refuse".into()),
            ),
        }
    }
    out.shell_patterns = regexes(&s, "shell_patterns", errors);
    out.max_tokens = token_ceiling(&s, errors);
    out.max_response_bytes = s.u64("max_response_bytes", errors);
    if out.max_response_bytes == Some(0) {
        errors.add(&s.path("max_response_bytes"), "must be at least 1", None);
    }
    if let Some(files) = s.str_list("sensitive_files", errors) {
        out.sensitive_files = files;
    }
    out.patterns = regexes(&s, "patterns", errors);
    out
}

/// A tier's entry: an action (`local = "allow"`) or a table
/// (`[guard.tiers.local] secrets = "allow"  tools = ["read_only"]`).
fn tier(
    s: &Section<'_>,
    name: &str,
    value: &Value,
    tiers: &[&str],
    errors: &mut Errors,
) -> Option<TierGuard> {
    let path = s.path(&format!("tiers.{name}"));
    if !tiers.contains(&name) {
        errors.add(
            &path,
            format!("unknown tier '{name}'"),
            Some("define it under [tiers]".into()),
        );
    }
    let mut out = TierGuard {
        name: name.to_string(),
        secrets: None,
        tools: ToolRules::NONE,
        max_tokens: None,
    };
    match value {
        Value::String(v) => match GuardAction::parse(v) {
            Some(a) => out.secrets = Some(a),
            None => errors.add(
                &path,
                format!("unknown guard action '{v}'"),
                Some("allow, redact, force_local or block".into()),
            ),
        },
        Value::Table(t) => {
            let ts = Section::new(t, &path, TIER_KEYS, errors);
            out.secrets = action(&ts, "secrets", errors);
            out.tools = tool_rules(&ts, "tools", errors);
            out.max_tokens = token_ceiling(&ts, errors);
        }
        other => errors.add(
            &path,
            format!("expected an action or a table, found {}", other.type_str()),
            None,
        ),
    }
    Some(out)
}

/// A `max_tokens` ceiling at `s`, at least 1.
pub(super) fn token_ceiling(s: &Section<'_>, errors: &mut Errors) -> Option<u64> {
    let v = s.u64("max_tokens", errors)?;
    if v == 0 {
        errors.add(&s.path("max_tokens"), "must be at least 1", None);
        return None;
    }
    Some(v)
}

/// Read a list of tool rule names at `key` of `s`.
pub(super) fn tool_rules(s: &Section<'_>, key: &str, errors: &mut Errors) -> ToolRules {
    let mut rules = ToolRules::NONE;
    for name in s.str_list(key, errors).unwrap_or_default() {
        match ToolRules::parse(&name) {
            Some(r) => rules = rules.with(r),
            None => errors.add(
                &s.path(key),
                format!("unknown tool rule '{name}'"),
                Some("jail, sensitive_files, read_only or shell".into()),
            ),
        }
    }
    rules
}

/// A table of named regular expressions at `key` of `s`.
fn regexes(s: &Section<'_>, key: &str, errors: &mut Errors) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(table) = s.table(key, errors) else {
        return out;
    };
    for (name, value) in table {
        let path = s.path(&format!("{key}.{name}"));
        match value {
            Value::String(p) => match regex::bytes::Regex::new(p) {
                Ok(_) => out.push((name.clone(), p.clone())),
                Err(e) => errors.add(&path, format!("not a regular expression: {e}"), None),
            },
            other => errors.add(
                &path,
                format!("expected a string, found {}", other.type_str()),
                None,
            ),
        }
    }
    out
}

//! Sign-in with the company's identity provider: `[signin]`.
//!
//! Claude Code's `/login` signs developers in to a gateway through the
//! OAuth device flow; switchyard sends them on to an OpenID Connect
//! provider (authorization code with PKCE) and mints its own short-lived
//! session tokens carrying who they are and their groups.
//!
//! ```toml
//! [signin]
//! issuer         = "https://login.example.com/realms/eng"  # discovery at /.well-known/openid-configuration
//! client_id      = "switchyard"
//! client_secret  = "${OIDC_CLIENT_SECRET}"   # omit for a public client (PKCE alone)
//! public_url     = "https://llm.example.com" # the address developers /login to (default http://<listen>)
//! session_secret = "${SWITCHYARD_SESSION_SECRET}"  # signs session tokens; share it across a fleet
//! session_ttl    = "8h"                       # a session token's life; Claude Code refreshes it silently
//! refresh_ttl    = "30d"                      # how long a sign-in lasts without a new /login
//! user_claim     = "email"                    # the ledger's user
//! groups_claim   = "groups"
//! teams          = ["payments", "platform"]   # the team is the first of these the user is in (default: first group)
//! allowed_groups = ["engineering"]            # who may sign in (empty: anyone the provider signs in)
//! allowed_domains = ["example.com"]           # and/or by e-mail domain
//! login_notice   = "Use your example.com account"
//! telemetry_forward_to = ["https://otel.example.com:4318"]  # relay signed-in Claude Code's
//!                                             # OTLP metrics/logs/traces here (default: accepted, dropped)
//! telemetry_headers = { authorization = "Bearer ${OTEL_TOKEN}" }  # sent to the collector
//!
//! # Managed settings pushed to signed-in Claude Code, per group: the first
//! # policy naming one of the person's groups, else one naming none.
//! [[signin.policies]]
//! name             = "contractors"
//! groups           = ["contractors"]
//! available_models = ["haiku"]               # also enforced by the gateway
//! settings         = { permissions = { deny = ["WebFetch"] }, env = { DISABLE_TELEMETRY = "1" } }
//! ```

use super::section::{Errors, Section};
use secrecy::SecretString;
use std::time::Duration;

/// Keys of `[signin]`.
pub(super) static SIGNIN_KEYS: &[&str] = &[
    "issuer",
    "client_id",
    "client_secret",
    "public_url",
    "session_secret",
    "session_ttl",
    "refresh_ttl",
    "user_claim",
    "groups_claim",
    "teams",
    "allowed_groups",
    "allowed_domains",
    "scopes",
    "login_notice",
    "policies",
    "telemetry_forward_to",
    "telemetry_headers",
];

/// Keys of `[[signin.policies]]`.
pub(super) static POLICY_KEYS: &[&str] = &["name", "groups", "available_models", "settings"];

/// Claude Code settings for a group of signed-in developers.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Its name (the managed settings' `uuid`).
    pub name: String,
    /// Groups it applies to (empty: everyone no other policy names).
    pub groups: Vec<String>,
    /// Models they may use (Claude Code's `availableModels`, and refused by
    /// the gateway otherwise); empty: no restriction.
    pub available_models: Vec<String>,
    /// Claude Code's managed-settings keys, as JSON.
    pub settings: serde_json::Value,
}

/// How developers sign in.
#[derive(Debug, Clone)]
pub struct SignInConfig {
    /// The OpenID Connect issuer (its discovery document is read from
    /// `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    /// The gateway's client id at the provider.
    pub client_id: String,
    /// Its client secret (`None`: a public client, PKCE alone).
    pub client_secret: Option<SecretString>,
    /// The address developers sign in to (`None`: `http://<listen>`).
    pub public_url: Option<String>,
    /// Signs session tokens (`None`: a random one per start, so a restart
    /// signs everyone out and instances cannot share sessions).
    pub session_secret: Option<SecretString>,
    /// A session token's life.
    pub session_ttl: Duration,
    /// A sign-in's life without a new `/login`.
    pub refresh_ttl: Duration,
    /// The claim naming the user.
    pub user_claim: String,
    /// The claim listing the user's groups.
    pub groups_claim: String,
    /// Groups that are teams, in order of precedence (empty: the first group).
    pub teams: Vec<String>,
    /// Only members of these groups may sign in (empty: no group needed).
    pub allowed_groups: Vec<String>,
    /// Only these e-mail domains may sign in (empty: any).
    pub allowed_domains: Vec<String>,
    /// Scopes asked of the provider.
    pub scopes: Vec<String>,
    /// Shown by Claude Code next to the sign-in code.
    pub login_notice: Option<String>,
    /// Managed settings per group.
    pub policies: Vec<Policy>,
    /// OTLP/HTTP collectors Claude Code's own telemetry is relayed to.
    pub telemetry_forward_to: Vec<String>,
    /// Headers sent to them (credentials: never logged).
    pub telemetry_headers: Vec<(String, SecretString)>,
}

fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// Read `[signin]` (`None`: not configured).
pub(super) fn read(top: &Section<'_>, errors: &mut Errors) -> Option<SignInConfig> {
    let t = top.table("signin", errors)?;
    let s = Section::new(t, "signin", SIGNIN_KEYS, errors);
    let issuer = s.non_empty_str("issuer", errors);
    let client_id = s.non_empty_str("client_id", errors);
    if issuer.is_none() {
        errors.add(
            &s.path("issuer"),
            "required: the OpenID Connect issuer developers sign in with",
            Some("e.g. \"https://login.example.com/realms/eng\"".into()),
        );
    }
    if client_id.is_none() {
        errors.add(
            &s.path("client_id"),
            "required: the gateway's client id at the identity provider",
            None,
        );
    }
    for key in ["issuer", "public_url"] {
        if let Some(v) = s.str(key, errors).filter(|v| !is_url(v)) {
            errors.add(
                &s.path(key),
                format!("expected an https:// (or loopback http://) URL, not {v:?}"),
                None,
            );
        }
    }
    let secret =
        |key: &str, errors: &mut Errors| s.non_empty_str(key, errors).map(SecretString::from);
    let config = SignInConfig {
        issuer: issuer?.trim_end_matches('/').to_string(),
        client_id: client_id?,
        client_secret: secret("client_secret", errors),
        public_url: s
            .non_empty_str("public_url", errors)
            .map(|u| u.trim_end_matches('/').to_string()),
        session_secret: secret("session_secret", errors),
        session_ttl: s
            .duration("session_ttl", errors)
            .unwrap_or(Duration::from_secs(8 * 3600)),
        refresh_ttl: s
            .duration("refresh_ttl", errors)
            .unwrap_or(Duration::from_secs(30 * 86_400)),
        user_claim: s
            .non_empty_str("user_claim", errors)
            .unwrap_or_else(|| "email".into()),
        groups_claim: s
            .non_empty_str("groups_claim", errors)
            .unwrap_or_else(|| "groups".into()),
        teams: s.str_list("teams", errors).unwrap_or_default(),
        allowed_groups: s.str_list("allowed_groups", errors).unwrap_or_default(),
        allowed_domains: s.str_list("allowed_domains", errors).unwrap_or_default(),
        scopes: s
            .str_list("scopes", errors)
            .unwrap_or_else(|| vec!["openid".into(), "profile".into(), "email".into()]),
        login_notice: s
            .non_empty_str("login_notice", errors)
            .map(|n| n.chars().take(500).collect()),
        policies: super::section::tables(&s, "policies", errors, read_policy),
        telemetry_forward_to: s
            .str_list("telemetry_forward_to", errors)
            .unwrap_or_default()
            .into_iter()
            .map(|u| u.trim_end_matches('/').to_string())
            .collect(),
        telemetry_headers: telemetry_headers(&s, errors),
    };
    for url in config.telemetry_forward_to.iter().filter(|u| !is_url(u)) {
        errors.add(
            &s.path("telemetry_forward_to"),
            format!("expected an OTLP/HTTP collector's http(s):// URL, not {url:?}"),
            None,
        );
    }
    if config.session_ttl.is_zero() || config.refresh_ttl < config.session_ttl {
        errors.add(
            &s.path("refresh_ttl"),
            "session_ttl must be above zero and refresh_ttl at least as long",
            None,
        );
    }
    Some(config)
}

/// `telemetry_headers`: header name to value, both strings.
fn telemetry_headers(s: &Section<'_>, errors: &mut Errors) -> Vec<(String, SecretString)> {
    let Some(t) = s.table("telemetry_headers", errors) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in t {
        match value.as_str() {
            Some(v) if http::HeaderName::from_bytes(name.as_bytes()).is_ok() => {
                out.push((name.to_ascii_lowercase(), SecretString::from(v.to_string())));
            }
            _ => errors.add(
                &s.path(&format!("telemetry_headers.{name}")),
                "expected a header name and a string value",
                None,
            ),
        }
    }
    out
}

fn read_policy(t: &toml::Table, path: &str, errors: &mut Errors) -> Option<Policy> {
    let p = Section::new(t, &format!("signin.{path}"), POLICY_KEYS, errors);
    let settings = match p.table("settings", errors) {
        Some(table) => match serde_json::to_value(table) {
            Ok(v) => v,
            Err(e) => {
                errors.add(
                    &p.path("settings"),
                    format!("cannot be read as JSON: {e}"),
                    None,
                );
                return None;
            }
        },
        None => serde_json::json!({}),
    };
    Some(Policy {
        name: p
            .non_empty_str("name", errors)
            .unwrap_or_else(|| path.to_string()),
        groups: p.str_list("groups", errors).unwrap_or_default(),
        available_models: p.str_list("available_models", errors).unwrap_or_default(),
        settings,
    })
}

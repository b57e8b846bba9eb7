//! The embedded default config, used when no file is given.
//!
//! It is written as TOML from what the environment offers and then loaded by
//! the same loader as a file, so it obeys the same rules. Each decision is
//! recorded as a note that `serve` and `check-config` print.

use super::load::load_str;
use super::section::ConfigErrors;
use super::{Config, ConfigSource};

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn set(env: Env<'_>, name: &str) -> bool {
    env(name).is_some_and(|v| !v.trim().is_empty())
}

/// Build the default config for this environment.
pub fn detect_default(env: Env<'_>) -> Result<Config, ConfigErrors> {
    let mut notes = Vec::new();
    let mut toml = String::from("listen = \"${SWITCHYARD_LISTEN:-127.0.0.1:4000}\"\n");
    if set(env, "SWITCHYARD_MASTER_KEY") {
        toml.push_str("master_key = \"${SWITCHYARD_MASTER_KEY}\"\n");
        notes.push("clients authenticate with SWITCHYARD_MASTER_KEY".to_string());
    } else {
        toml.push_str("auth = \"none\"\n");
        notes.push(
            "no SWITCHYARD_MASTER_KEY: any client key is accepted (loopback only); \
             export SWITCHYARD_MASTER_KEY to require one"
                .to_string(),
        );
    }
    if set(env, "ANTHROPIC_API_KEY") {
        toml.push_str(
            r#"
[providers.anthropic]
kind = "anthropic"
base_url = "${SWITCHYARD_ANTHROPIC_BASE_URL:-https://api.anthropic.com}"
api_key = "${ANTHROPIC_API_KEY}"

[models.claude]
provider = "anthropic"
aliases = ["claude-*"]
"#,
        );
        notes.push(
            "serving every claude-* model through the Anthropic API with ANTHROPIC_API_KEY"
                .to_string(),
        );
    } else {
        notes.push(
            "no provider detected, so no model is served yet: export ANTHROPIC_API_KEY, \
             or write a switchyard.toml with [providers.NAME] (kind, base_url, api_key) and \
             [models.NAME] (provider, id, aliases) and pass it with --config"
                .to_string(),
        );
    }
    let mut config = load_str(&toml, ConfigSource::Embedded, env)?;
    config.notes = notes;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuthConfig;

    #[test]
    fn fresh_machine_starts_with_nothing_served() {
        let c = detect_default(&|_| None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:4000");
        assert!(matches!(c.auth, AuthConfig::Disabled));
        assert!(c.providers.is_empty() && c.models.is_empty());
        assert!(c.notes.iter().any(|n| n.contains("ANTHROPIC_API_KEY")));
    }

    #[test]
    fn anthropic_key_serves_claude() {
        let env = |n: &str| match n {
            "ANTHROPIC_API_KEY" => Some("sk-ant".to_string()),
            "SWITCHYARD_MASTER_KEY" => Some("mk".to_string()),
            "SWITCHYARD_ANTHROPIC_BASE_URL" => Some("http://127.0.0.1:18765".to_string()),
            _ => None,
        };
        let c = detect_default(&env).unwrap();
        assert!(matches!(c.auth, AuthConfig::MasterKey(_)));
        assert_eq!(c.providers[0].base_url, "http://127.0.0.1:18765");
        assert_eq!(c.models[0].aliases, ["claude-*"]);
    }

    #[test]
    fn public_listen_without_key_is_refused() {
        let env = |n: &str| (n == "SWITCHYARD_LISTEN").then(|| "0.0.0.0:4000".to_string());
        assert!(detect_default(&env).is_err());
    }
}

//! Sensitive files: which paths hold secrets by what they are (`.env`,
//! keys, credential files), and which tool calls read them. An agent's tool
//! result carries no path of its own; the call it answers does — Claude
//! Code's `Read` names `file_path`, a shell tool names the file in its
//! `command` — so a result is judged by its call.

use crate::core::glob_match;
use serde_json::Value;

/// File name patterns.
#[derive(Debug, Clone)]
pub struct SensitiveFiles {
    patterns: Vec<String>,
}

/// Fields of a tool call's input that name a file.
pub const PATH_FIELDS: &[&str] = &["file_path", "path", "filename", "file", "notebook_path"];

/// Fields that hold a shell command.
const COMMAND_FIELDS: &[&str] = &["command", "cmd"];

/// Every field a call may name a file in: a call whose JSON has none of
/// these reads no file.
pub const FIELDS: &[&str] = &["path", "file", "command", "cmd"];

impl SensitiveFiles {
    /// Files matching any of `patterns`.
    pub fn new(patterns: &[String]) -> SensitiveFiles {
        SensitiveFiles {
            patterns: patterns.to_vec(),
        }
    }

    /// The built-in list (`DEFAULT_SENSITIVE_FILES`).
    pub fn defaults() -> SensitiveFiles {
        SensitiveFiles {
            patterns: crate::config::DEFAULT_SENSITIVE_FILES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    /// The pattern `path` matches, if any: against its last part, or the
    /// whole path for a pattern with a `/`.
    pub fn matches(&self, path: &str) -> Option<&str> {
        let path = path.trim().trim_matches(['"', '\'']);
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        self.patterns
            .iter()
            .find(|p| {
                if p.contains('/') {
                    glob_match(p, path) || glob_match(&format!("*/{p}"), path)
                } else {
                    glob_match(p, name)
                }
            })
            .map(String::as_str)
    }

    /// The sensitive file a tool call's input reads, if any: a path field
    /// naming one, or a shell command with one among its words.
    pub fn read_by(&self, input: &Value) -> Option<String> {
        let obj = input.as_object()?;
        for field in PATH_FIELDS {
            if let Some(p) = obj.get(*field).and_then(Value::as_str)
                && self.matches(p).is_some()
            {
                return Some(p.to_string());
            }
        }
        for field in COMMAND_FIELDS {
            let Some(cmd) = obj.get(*field).and_then(Value::as_str) else {
                continue;
            };
            let words = cmd.split(|c: char| {
                c.is_whitespace() || matches!(c, ';' | '|' | '&' | '<' | '>' | '(' | ')')
            });
            for w in words.filter(|w| !w.is_empty() && !w.starts_with('-')) {
                if self.matches(w).is_some() {
                    return Some(w.trim_matches(['"', '\'']).to_string());
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn files() -> SensitiveFiles {
        SensitiveFiles::defaults()
    }

    #[test]
    fn secret_files_by_name() {
        let f = files();
        for p in [
            "/home/dev/app/.env",
            ".env.production",
            "config/prod.env",
            "/etc/ssl/private/server.key",
            "certs/client.pem",
            "/home/dev/.ssh/id_rsa",
            "/home/dev/.ssh/id_ed25519.pub",
            "/home/dev/.aws/credentials",
            "C:\\Users\\dev\\.npmrc",
            "infra/prod.tfvars",
            "gcp/service-account-ci.json",
        ] {
            assert!(f.matches(p).is_some(), "{p}");
        }
        for p in [
            "src/env.rs",
            ".envrc.example.md",
            "README.md",
            "src/keys.rs",
            "docs/credentials-howto.md",
            "environment.ts",
        ] {
            assert!(f.matches(p).is_none(), "{p}");
        }
    }

    #[test]
    fn tool_calls_that_read_them() {
        let f = files();
        let read = json!({"file_path": "/work/app/.env"});
        assert_eq!(f.read_by(&read).as_deref(), Some("/work/app/.env"));
        let bash = json!({"command": "cat ~/.aws/credentials | head -5", "description": "x"});
        assert_eq!(f.read_by(&bash).as_deref(), Some("~/.aws/credentials"));
        let quoted = json!({"command": "grep KEY \".env.local\""});
        assert_eq!(f.read_by(&quoted).as_deref(), Some(".env.local"));
        for harmless in [
            json!({"file_path": "/work/app/src/main.rs"}),
            json!({"command": "cargo test --env-file"}),
            json!({"pattern": ".env"}),
        ] {
            assert_eq!(f.read_by(&harmless), None, "{harmless}");
        }
    }
}

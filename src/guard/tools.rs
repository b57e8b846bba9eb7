//! The tool calls a model proposes, checked before the client runs them.
//!
//! Four rules, switched on per `[guard]`, tier or route: `jail` (file
//! tools and what shell commands write, delete or `cd` to stay inside the
//! workspace), `sensitive_files` (no call touches `.env`, keys, credential
//! files), `read_only` (no write tool; shell commands only from a list of
//! readers), `shell` (no dangerous command: a download piped into a shell,
//! deleting outside the workspace, credentials sent to the network,
//! force-pushing, wiping a disk, a fork bomb, or the team's own patterns).

use super::commands::{dangerous, escapes, only_reads, pipelines};
use super::files::{PATH_FIELDS, SensitiveFiles};
use super::workspace::Workspace;
use crate::config::GuardConfig;
pub use crate::config::ToolRules as Rules;
use regex::Regex;
use serde_json::Value;
use std::sync::Arc;

/// A refused tool call: which rule, which tool, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// `jail`, `sensitive_files`, `read_only`, or `shell:<pattern>`.
    pub rule: String,
    /// The tool's name.
    pub tool: String,
    /// What the call would do, in words.
    pub why: String,
}

impl Violation {
    /// The ledger's note: `shell:download_to_shell Bash (pipes a download into a shell)`.
    pub fn note(&self) -> String {
        format!("{} {} ({})", self.rule, self.tool, self.why)
    }

    /// What the client is told in place of the call.
    pub fn refusal(&self) -> String {
        format!(
            "[switchyard guard] A proposed {} call was refused and not run: it {} (rule {}). Continue without it, or ask the user to do it themselves.",
            self.tool, self.why, self.rule
        )
    }
}

/// Tools that change files.
const WRITE_TOOLS: &[&str] = &[
    "write",
    "edit",
    "multiedit",
    "notebookedit",
    "str_replace_based_edit_tool",
    "str_replace_editor",
    "create_file",
    "write_file",
    "edit_file",
    "apply_patch",
    "delete_file",
    "move_file",
    "rename_file",
];

/// Tools that run shell commands.
const SHELL_TOOLS: &[&str] = &[
    "bash",
    "shell",
    "powershell",
    "run_command",
    "execute_command",
    "run_terminal_cmd",
    "run_shell_command",
    "terminal",
    "exec",
];

/// Checks proposed tool calls; built once from `[guard]`.
#[derive(Debug)]
pub struct ToolChecker {
    files: SensitiveFiles,
    patterns: Vec<(String, Regex)>,
}

impl ToolChecker {
    /// The checker `[guard]` describes.
    pub fn new(config: &GuardConfig) -> Result<ToolChecker, String> {
        let patterns = config
            .shell_patterns
            .iter()
            .map(|(name, p)| {
                Regex::new(p)
                    .map(|r| (name.clone(), r))
                    .map_err(|e| format!("guard.shell_patterns.{name}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(ToolChecker {
            files: SensitiveFiles::new(&config.sensitive_files),
            patterns,
        })
    }

    /// The first rule of `rules` the call `name(input)` breaks, if any.
    pub fn check(
        &self,
        rules: Rules,
        workspace: &Workspace,
        name: &str,
        input: &Value,
    ) -> Option<Violation> {
        if rules.is_empty() {
            return None;
        }
        let lower = name.to_ascii_lowercase();
        let refuse = |rule: &str, why: String| {
            Some(Violation {
                rule: rule.to_string(),
                tool: name.to_string(),
                why,
            })
        };
        let command = input
            .get("command")
            .or_else(|| input.get("cmd"))
            .and_then(Value::as_str)
            .filter(|_| is_shell_tool(&lower));
        if rules.has(Rules::SENSITIVE_FILES)
            && let Some(f) = self.files.read_by(input)
        {
            return refuse("sensitive_files", format!("touches {f}, a sensitive file"));
        }
        let parsed = command.map(pipelines);
        if rules.has(Rules::SHELL)
            && let (Some(cmd), Some(ps)) = (command, &parsed)
        {
            if let Some(d) = dangerous(ps, workspace, &self.files, cmd) {
                return refuse(&format!("shell:{}", d.rule), d.why);
            }
            if let Some((rule, _)) = self.patterns.iter().find(|(_, r)| r.is_match(cmd)) {
                return refuse(
                    &format!("shell:{rule}"),
                    format!("matches the team's pattern {rule}"),
                );
            }
        }
        if rules.has(Rules::JAIL) && workspace.is_known() {
            for field in PATH_FIELDS {
                if let Some(p) = input.get(*field).and_then(Value::as_str)
                    && !workspace.contains(p)
                {
                    return refuse("jail", format!("names {p}, outside the workspace"));
                }
            }
            if let Some(p) = parsed.as_ref().and_then(|ps| escapes(ps, workspace)) {
                return refuse("jail", format!("reaches {p}, outside the workspace"));
            }
        }
        if rules.has(Rules::READ_ONLY) {
            let views = input.get("command").and_then(Value::as_str) == Some("view");
            if WRITE_TOOLS.contains(&lower.as_str()) && !views {
                return refuse("read_only", "changes files on a read-only route".into());
            }
            if let Some(ps) = &parsed
                && let Err(what) = only_reads(ps)
            {
                return refuse("read_only", format!("{what} on a read-only route"));
            }
        }
        None
    }
}

/// What one attempt's answer is checked against: the checker, the rules
/// for its target, the request's workspace, and whether a violation may
/// fail the attempt (so the next target is asked) while nothing has
/// reached the client.
#[derive(Debug, Clone)]
pub struct ToolCheck {
    /// The checker.
    pub checker: Arc<ToolChecker>,
    /// The rules on for this target.
    pub rules: Rules,
    /// The request's workspace.
    pub workspace: Arc<Workspace>,
    /// Fail the attempt instead of refusing the call, when still possible.
    pub escalate: bool,
    /// The client sees nothing before the answer ends (a whole answer read
    /// as a stream): escalation stays possible to the end.
    pub whole_answer: bool,
}

impl ToolCheck {
    /// The rule the call `name(input)` breaks, if any.
    pub fn judge(&self, name: &str, input: &Value) -> Option<Violation> {
        self.checker.check(self.rules, &self.workspace, name, input)
    }
}

/// How an escalation's error message starts (the note follows).
pub const ESCALATION: &str = "refused tool call: ";

/// The attempt error for a refused call that escalates.
pub fn escalation(v: &Violation) -> crate::error::UpstreamError {
    crate::error::UpstreamError::new(
        crate::error::UpstreamErrorKind::ToolRefused,
        format!("{ESCALATION}{}", v.note()),
    )
}

fn is_shell_tool(lower: &str) -> bool {
    SHELL_TOOLS.contains(&lower) || lower.contains("bash") || lower.contains("shell")
}

#[cfg(test)]
#[path = "tools_tests.rs"]
mod tests;

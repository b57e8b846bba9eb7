//! What kind of turn an agent-loop request is — a person's request, or the
//! model's next step after its tools ran — and the signals in the latest
//! turns that call the planner back: a tool that failed, a call that was
//! refused or malformed, a command whose output shows errors or failing
//! tests, the model repeating its last call, a subagent's report or a
//! person's answer coming back, the model having asked a question.
//!
//! It reads only the last two or three turns, and the (possibly large) tool
//! results only with substring searches, so a 500 KB Claude Code body costs
//! microseconds. The conversation's identity is a fingerprint of its first
//! user turn: a subagent's conversation has its own.

use crate::core::{RawRequest, TurnRole};
use memchr::memmem;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::hash::Hasher;

/// Why a tool turn goes back to the tier its task was planned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A tool result is marked `is_error`.
    ToolError,
    /// The client refused or could not parse a tool call (`<tool_use_error>`).
    RefusedCall,
    /// A command's output shows errors or failing tests.
    FailingRun,
    /// The model made the same tool call twice in a row.
    Looping,
    /// A subagent reported back: its findings need deciding on.
    SubagentReport,
    /// A person answered a question or approved a plan through a tool.
    PersonDecided,
}

impl Signal {
    /// For the reason header.
    pub fn describe(self) -> &'static str {
        match self {
            Signal::ToolError => "a tool reported an error",
            Signal::RefusedCall => "a tool call was refused or malformed",
            Signal::FailingRun => "a command's output shows errors or failing tests",
            Signal::Looping => "the model repeated its last tool call",
            Signal::SubagentReport => "a subagent reported back",
            Signal::PersonDecided => "a person answered through a tool",
        }
    }
}

/// What the latest turn of a request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Something a person wrote (a new task or a follow-up).
    Human {
        /// The model's turn before it asked a question and called no tool.
        answers_question: bool,
    },
    /// Only tool results: the model's next step in its loop.
    Tools {
        /// The tools the model called in its last turn.
        called: Vec<String>,
        /// A reason to go back to the planning tier, if any.
        signal: Option<Signal>,
    },
}

/// The turn a request is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// What its latest turn carries.
    pub step: Step,
    /// Fingerprint of the conversation (its first user turn).
    pub conversation: u64,
    /// The body marks prompt-cache breakpoints (`cache_control`).
    pub cache_marked: bool,
}

/// Bytes of a tool result's tail searched for signs of a failing command.
const TAIL: usize = 16 * 1024;

/// Tools that run commands (their output is searched for failures).
fn runs_commands(tool: &str) -> bool {
    let t = tool.to_ascii_lowercase();
    [
        "bash",
        "shell",
        "terminal",
        "exec",
        "run_command",
        "powershell",
    ]
    .iter()
    .any(|k| t.contains(k))
}

/// Signs of a failing build or test run in command output.
const FAILING: &[&str] = &[
    "test result: FAILED",
    "FAILED",
    "FAIL ",
    "Traceback (most recent call last)",
    "panicked at",
    "error[E",
    "error TS",
    "error: ",
    "Error: ",
    "npm ERR!",
    "Exit code 1",
    "Exit code 2",
    "command not found",
    "AssertionError",
    "BUILD FAILURE",
];

#[derive(Deserialize)]
struct AssistantBlock<'a> {
    #[serde(rename = "type", default)]
    kind: Option<&'a str>,
    #[serde(default)]
    name: Option<String>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(default)]
    text: Option<String>,
}

/// The tool calls (name and input) and the closing text of an assistant turn.
fn assistant_turn(content: &[u8]) -> (Vec<(String, String)>, Option<String>) {
    if content.first() != Some(&b'[') {
        let text = serde_json::from_slice::<String>(content).ok();
        return (Vec::new(), text);
    }
    let Ok(blocks) = serde_json::from_slice::<Vec<AssistantBlock<'_>>>(content) else {
        return (Vec::new(), None);
    };
    let mut calls = Vec::new();
    let mut text = None;
    for b in blocks {
        match b.kind {
            Some("tool_use") | Some("server_tool_use") => calls.push((
                b.name.unwrap_or_default(),
                b.input.map(|i| i.get().to_string()).unwrap_or_default(),
            )),
            Some("text") => text = b.text,
            _ => {}
        }
    }
    (calls, text)
}

fn has(hay: &[u8], needle: &str) -> bool {
    memmem::find(hay, needle.as_bytes()).is_some()
}

/// The signal in a turn of tool results, given the calls that produced them.
fn signal_of(results: &[u8], called: &[String], looping: bool) -> Option<Signal> {
    if has(results, "\"is_error\":true") || has(results, "\"is_error\": true") {
        return Some(if has(results, "<tool_use_error>") {
            Signal::RefusedCall
        } else {
            Signal::ToolError
        });
    }
    if has(results, "<tool_use_error>") {
        return Some(Signal::RefusedCall);
    }
    if called.iter().any(|c| runs_commands(c)) {
        let tail = &results[results.len().saturating_sub(TAIL)..];
        if FAILING.iter().any(|p| has(tail, p)) {
            return Some(Signal::FailingRun);
        }
    }
    if looping {
        return Some(Signal::Looping);
    }
    if called.iter().any(|c| c == "Agent" || c == "Task") {
        return Some(Signal::SubagentReport);
    }
    if called
        .iter()
        .any(|c| c == "AskUserQuestion" || c == "ExitPlanMode")
    {
        return Some(Signal::PersonDecided);
    }
    None
}

/// Whether a user turn holds tool results and no words of a person.
fn only_tool_results(content: &[u8]) -> bool {
    if content.first() != Some(&b'[') || !has(content, "\"tool_result\"") {
        return false;
    }
    // Text blocks beside the results are usually system reminders; only
    // then is the turn parsed (the results may be whole files).
    !has(content, "\"text\"")
        || super::conversation::read_user_turn(content)
            .0
            .trim()
            .is_empty()
}

/// Bytes of the first turn hashed at most.
const FINGERPRINT_BYTES: usize = 16 * 1024;

/// The fingerprint of a conversation: its first user turn, without the
/// cache breakpoints a client moves from turn to turn (Claude Code marks
/// the last block of the last message, which is the first turn only in
/// the conversation's first request).
fn fingerprint(raw: &RawRequest) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let Some(first) = raw.messages().iter().find(|m| m.role == TurnRole::User) else {
        return h.finish();
    };
    let c = raw.content_of(first);
    let (mut at, mut fed, mut length) = (0, 0, 0);
    let mut feed = |part: &[u8], fed: &mut usize| {
        let take = part.len().min(FINGERPRINT_BYTES.saturating_sub(*fed));
        h.write(&part[..take]);
        *fed += take;
        part.len()
    };
    for start in memmem::find_iter(c, b"\"cache_control\"") {
        if start < at {
            continue;
        }
        // The key goes with the comma before it, or (first key) after it.
        let blank = |b: u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t');
        let mut cut = start;
        while cut > at && blank(c[cut - 1]) {
            cut -= 1;
        }
        let comma_before = cut > at && c[cut - 1] == b',';
        if comma_before {
            cut -= 1;
        }
        length += feed(&c[at..cut], &mut fed);
        // The value is a flat object: `{"type":"ephemeral"(,"ttl":"1h")}`.
        at = c[start..]
            .iter()
            .position(|&b| b == b'}')
            .map_or(c.len(), |p| start + p + 1);
        if !comma_before {
            while at < c.len() && blank(c[at]) {
                at += 1;
            }
            if c.get(at) == Some(&b',') {
                at += 1;
            }
        }
    }
    length += feed(&c[at..], &mut fed);
    h.write_usize(length);
    h.finish()
}

/// Read the turn a request is.
pub fn read(raw: &RawRequest) -> Turn {
    let messages = raw.messages();
    let conversation = fingerprint(raw);
    let cache_marked = has(raw.bytes(), "\"cache_control\"");
    let human = |answers_question| Turn {
        step: Step::Human { answers_question },
        conversation,
        cache_marked,
    };
    // The last turn that is not a mid-conversation system message.
    let Some(last) = messages.iter().rposition(|m| m.role != TurnRole::System) else {
        return human(false);
    };
    let assistants: Vec<usize> = messages[..last]
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, m)| m.role == TurnRole::Assistant)
        .map(|(i, _)| i)
        .take(2)
        .collect();
    let previous = assistants
        .first()
        .map(|&i| assistant_turn(raw.content_of(&messages[i])));
    let tool_turn = match messages[last].role {
        // OpenAI: the results are `tool` messages after the assistant's calls.
        TurnRole::Tool => true,
        TurnRole::User => only_tool_results(raw.content_of(&messages[last])),
        _ => false,
    };
    if !tool_turn {
        let answers_question = previous.as_ref().is_some_and(|(calls, text)| {
            calls.is_empty() && text.as_deref().is_some_and(|t| t.trim_end().ends_with('?'))
        });
        return human(answers_question);
    }
    let (calls, _) = previous.unwrap_or_default();
    let looping = !calls.is_empty()
        && assistants
            .get(1)
            .is_some_and(|&i| assistant_turn(raw.content_of(&messages[i])).0 == calls);
    let called: Vec<String> = calls.into_iter().map(|(name, _)| name).collect();
    // All the results since the assistant's turn (OpenAI: one message each).
    let first_result = assistants.first().map_or(last, |&i| i + 1);
    let mut signal = None;
    for m in &messages[first_result..=last] {
        if matches!(m.role, TurnRole::User | TurnRole::Tool) {
            signal = signal.or(signal_of(raw.content_of(m), &called, false));
        }
    }
    let signal = signal.or(signal_of(b"", &called, looping));
    Turn {
        step: Step::Tools { called, signal },
        conversation,
        cache_marked,
    }
}

#[cfg(test)]
#[path = "turn_tests.rs"]
mod tests;

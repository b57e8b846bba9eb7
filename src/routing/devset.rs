//! The labelled prompt sets (`routing/corpus.jsonl`,
//! `../shared/routing/dev-set.jsonl` and the held-out sets under
//! `tests/fixtures/routing`): reading them, turning a line into the request
//! a client would send (a Claude Code agent turn when it has tool steps),
//! and scoring a classifier on them (`Score`).

use super::classifier::{Classification, Level};
use super::conversation::{self, Conversation};
use crate::core::{BodyKind, RawRequest};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

/// One labelled prompt.
#[derive(Debug, Clone, Deserialize)]
pub struct Line {
    /// Unique id.
    pub id: String,
    /// Expected tier (`local`, `cheap`, `premium`), when labelled.
    #[serde(default)]
    pub tier: Option<String>,
    /// The latest user message.
    pub prompt: String,
    /// Earlier turns, oldest first.
    #[serde(default)]
    pub context: Vec<Turn>,
    /// Tool calls and results after the prompt (a Claude Code agent loop).
    #[serde(default)]
    pub tool_steps: usize,
    /// `train` or `test` (the corpus's split).
    #[serde(default)]
    pub split: Option<String>,
    /// Entries sharing a source (variants of one task) share a fold.
    #[serde(default)]
    pub source: Option<String>,
    /// How the entry was made (the corpus's variants: `typos`, `agent`…).
    #[serde(default)]
    pub kind: Option<String>,
}

impl Line {
    /// A one-turn line.
    pub fn prompt(prompt: &str) -> Line {
        Line {
            id: String::new(),
            tier: None,
            prompt: prompt.to_string(),
            context: Vec::new(),
            tool_steps: 0,
            split: None,
            source: None,
            kind: None,
        }
    }
}

/// An earlier turn.
#[derive(Debug, Clone, Deserialize)]
pub struct Turn {
    /// `user` or `assistant`.
    pub role: String,
    /// What was said.
    pub text: String,
}

/// Parse a JSON Lines set (blank lines skipped).
pub fn parse(text: &str) -> Result<Vec<Line>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// What Claude Code puts before the first prompt of a session.
const REMINDER: &str = "<system-reminder>\nAs you answer the user's questions, you can use the following context:\n# important-instruction-reminders\nDo what has been asked; nothing more, nothing less.\n</system-reminder>";

/// The Anthropic Messages body a client would send for `line`: its turns,
/// then (with tool steps) Claude Code's agent loop — a tool call and its
/// result per step.
pub fn body_for(line: &Line, model: &str) -> Bytes {
    let mut messages: Vec<Value> = line
        .context
        .iter()
        .map(|t| json!({"role": t.role, "content": [{"type": "text", "text": t.text}]}))
        .collect();
    let mut prompt = vec![json!({"type": "text", "text": line.prompt})];
    if line.tool_steps > 0 && messages.is_empty() {
        prompt.insert(0, json!({"type": "text", "text": REMINDER}));
    }
    messages.push(json!({"role": "user", "content": prompt}));
    for step in 0..line.tool_steps {
        let id = format!("toolu_{step:03}");
        let (tool, input, result) = match step % 3 {
            0 => ("Grep", json!({"pattern": "fn main"}), "src/main.rs:12:fn main() {".to_string()),
            1 => (
                "Read",
                json!({"file_path": format!("/repo/src/module_{step}.rs")}),
                "     1\tuse std::io;\n     2\t\n     3\tpub fn run() -> io::Result<()> {\n     4\t    Ok(())\n     5\t}".to_string(),
            ),
            _ => ("Bash", json!({"command": "cargo test"}), "test result: ok. 12 passed; 0 failed".to_string()),
        };
        messages.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": tool, "input": input}]}));
        messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": result}]}));
    }
    Bytes::from(json!({"model": model, "max_tokens": 1024, "messages": messages}).to_string())
}

/// The classifier's view of a line, read through the request path.
pub fn conversation_of(line: &Line) -> Option<Conversation> {
    let raw = RawRequest::parse(body_for(line, "claude-opus-5-5"), BodyKind::Messages).ok()?;
    Some(conversation::read(&raw))
}

/// Parse a level name.
pub fn level_named(name: &str) -> Option<Level> {
    Level::ALL.into_iter().find(|l| l.as_str() == name)
}

/// How a classifier did on a set.
#[derive(Debug, Clone, Default)]
pub struct Score {
    /// `matrix[expected][got]`, levels in `Level::ALL` order.
    pub matrix: [[usize; 3]; 3],
    /// Ids that were misclassified, with (expected, got).
    pub misses: Vec<(String, Level, Level)>,
    /// For learned models: the probability given to the chosen level, and
    /// whether that level was right.
    pub confidence: Vec<(f64, bool)>,
}

impl Score {
    /// Lines scored.
    pub fn total(&self) -> usize {
        self.matrix.iter().flatten().sum()
    }

    /// Share on the diagonal.
    pub fn accuracy(&self) -> f64 {
        let right: usize = (0..3).map(|i| self.matrix[i][i]).sum();
        right as f64 / self.total().max(1) as f64
    }

    /// Lines sent below their label (cost savings that may hurt quality).
    pub fn under_routed(&self) -> usize {
        (0..3)
            .flat_map(|e| (0..e).map(move |g| (e, g)))
            .map(|(e, g)| self.matrix[e][g])
            .sum()
    }

    /// Share of the lines labelled `from` that went to `to`.
    pub fn rate(&self, from: Level, to: Level) -> f64 {
        let row = self.matrix[from as usize];
        row[to as usize] as f64 / row.iter().sum::<usize>().max(1) as f64
    }

    /// Expected calibration error over ten confidence bins: how far the
    /// stated probability is from the observed accuracy, on average.
    pub fn calibration_error(&self) -> Option<f64> {
        if self.confidence.is_empty() {
            return None;
        }
        let mut bins = [(0.0, 0usize, 0usize); 10];
        for (p, right) in &self.confidence {
            let b = &mut bins[((p * 10.0) as usize).min(9)];
            b.0 += p;
            b.1 += 1;
            b.2 += usize::from(*right);
        }
        let n = self.confidence.len() as f64;
        Some(
            bins.iter()
                .filter(|b| b.1 > 0)
                .map(|(sum, count, right)| {
                    let c = *count as f64;
                    (c / n) * (sum / c - *right as f64 / c).abs()
                })
                .sum(),
        )
    }

    /// The matrix as text (rows: expected, columns: routed to).
    pub fn table(&self) -> String {
        let mut out = String::from("expected \\ routed   local   cheap premium\n");
        for (i, l) in Level::ALL.iter().enumerate() {
            out.push_str(&format!(
                "{:<18} {:>7} {:>7} {:>7}\n",
                l.as_str(),
                self.matrix[i][0],
                self.matrix[i][1],
                self.matrix[i][2]
            ));
        }
        out
    }
}

/// Classify every labelled line of a set through the request path.
pub fn evaluate<'a>(
    lines: impl IntoIterator<Item = &'a Line>,
    classify: impl Fn(&Conversation) -> Classification,
) -> Score {
    let mut score = Score::default();
    for line in lines {
        let Some(expected) = line.tier.as_deref().and_then(level_named) else {
            continue;
        };
        let Some(conversation) = conversation_of(line) else {
            continue;
        };
        let c = classify(&conversation);
        let got = c.level;
        score.matrix[expected as usize][got as usize] += 1;
        if let Some(p) = c.probabilities {
            score.confidence.push((p[got as usize], got == expected));
        }
        if got != expected {
            score.misses.push((line.id.clone(), expected, got));
        }
    }
    score
}

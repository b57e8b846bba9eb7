//! The labelled prompt sets (`../shared/routing/dev-set.jsonl` and the
//! held-out sets under `tests/fixtures/routing`): reading them, turning a
//! line into the request a client would send, and scoring the classifier on
//! them with a confusion matrix.

use super::classifier::{Level, Thresholds, classify};
use super::conversation;
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

/// The Anthropic Messages body a client would send for `line`.
pub fn body_for(line: &Line, model: &str) -> Bytes {
    let mut messages: Vec<Value> = line
        .context
        .iter()
        .map(|t| json!({"role": t.role, "content": [{"type": "text", "text": t.text}]}))
        .collect();
    messages.push(json!({"role": "user", "content": [{"type": "text", "text": line.prompt}]}));
    Bytes::from(json!({"model": model, "max_tokens": 1024, "messages": messages}).to_string())
}

/// Parse a level name.
pub fn level_named(name: &str) -> Option<Level> {
    Level::ALL.into_iter().find(|l| l.as_str() == name)
}

/// How the classifier did on a set.
#[derive(Debug, Clone, Default)]
pub struct Score {
    /// `matrix[expected][got]`, levels in `Level::ALL` order.
    pub matrix: [[usize; 3]; 3],
    /// Ids that were misclassified, with (expected, got).
    pub misses: Vec<(String, Level, Level)>,
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
pub fn evaluate(lines: &[Line], thresholds: &Thresholds) -> Score {
    let mut score = Score::default();
    for line in lines {
        let Some(expected) = line.tier.as_deref().and_then(level_named) else {
            continue;
        };
        let Ok(raw) = RawRequest::parse(body_for(line, "claude-opus-5-5"), BodyKind::Messages)
        else {
            continue;
        };
        let got = classify(&conversation::read(&raw), thresholds).level;
        score.matrix[expected as usize][got as usize] += 1;
        if got != expected {
            score.misses.push((line.id.clone(), expected, got));
        }
    }
    score
}

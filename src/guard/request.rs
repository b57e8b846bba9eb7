//! A request read for what must not leave the machine: secrets in any text
//! of its turns and system prompt (tool calls and tool results included,
//! thinking excluded: its signature covers its text), and tool results that
//! hold a sensitive file. Each finding is also redacted in a copy of its
//! turn, so `redacted` can rebuild the body with placeholders.
//!
//! Only what is new is read. A conversation resends its history with every
//! turn, so a turn found clean once is remembered by a 128-bit hash of its
//! bytes and of the turn before it (whose tool calls say what a result
//! holds); later requests skip it. Turns with findings are never
//! remembered: they are read again each time, so each request can be
//! redacted the same way, which also keeps the provider's prompt cache
//! valid.

use super::files::SensitiveFiles;
use super::secrets::Detector;
use crate::config::GuardConfig;
use crate::core::{RawRequest, TurnRole};
use bytes::{Bytes, BytesMut};
use serde_json::Value;
use std::collections::HashMap;
use std::ops::Range;

/// Clean turns remembered (about 16 bytes each).
const CLEAN_TURNS: u64 = 200_000;

/// One thing found: what, and its fingerprint (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// A secret's kind, or `sensitive_file`.
    pub kind: String,
    /// First 12 hex digits of the secret's SHA-256; for a file, its path.
    pub fingerprint: String,
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.fingerprint)
    }
}

/// What a request carries.
#[derive(Debug, Default)]
pub struct Inspection {
    /// Everything found, in body order.
    pub found: Vec<Found>,
    /// Turns (or the system prompt) with findings: where their JSON sits in
    /// the body, and that JSON with the findings replaced.
    rewrites: Vec<(Range<usize>, Value)>,
    /// Turns read (not skipped as known clean).
    pub read: usize,
}

impl Inspection {
    /// Nothing found.
    pub fn is_clean(&self) -> bool {
        self.found.is_empty()
    }

    /// The findings, one line for logs, errors and the ledger.
    pub fn summary(&self) -> String {
        let mut kinds: Vec<String> = Vec::new();
        for f in &self.found {
            let s = f.to_string();
            if !kinds.contains(&s) {
                kinds.push(s);
            }
        }
        kinds.join(", ")
    }

    /// The body of `raw` with every finding replaced by a placeholder.
    pub fn redacted(&self, raw: &RawRequest) -> Result<RawRequest, String> {
        let bytes = raw.bytes();
        let mut out = BytesMut::with_capacity(bytes.len());
        let mut at = 0;
        let mut rewrites: Vec<&(Range<usize>, Value)> = self.rewrites.iter().collect();
        rewrites.sort_by_key(|(r, _)| r.start);
        for (range, value) in rewrites {
            out.extend_from_slice(&bytes[at..range.start]);
            let json = serde_json::to_vec(value).map_err(|e| format!("redacting: {e}"))?;
            out.extend_from_slice(&json);
            at = range.end;
        }
        out.extend_from_slice(&bytes[at..]);
        RawRequest::parse(Bytes::from(out), raw.kind())
    }
}

/// The request guard: the secret detector, the sensitive files, and the
/// turns known clean.
pub struct RequestGuard {
    detector: Detector,
    files: SensitiveFiles,
    clean: moka::sync::Cache<u128, ()>,
}

impl std::fmt::Debug for RequestGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestGuard")
            .field("detector", &self.detector)
            .finish()
    }
}

/// Calls of the turn before, by id: the sensitive file each reads.
type Reads = HashMap<String, String>;

impl RequestGuard {
    /// A guard for `config`.
    pub fn new(config: &GuardConfig) -> Result<RequestGuard, String> {
        Ok(RequestGuard {
            detector: Detector::new(&config.patterns)?,
            files: SensitiveFiles::new(&config.sensitive_files),
            clean: moka::sync::Cache::new(CLEAN_TURNS),
        })
    }

    /// Read `raw` for secrets and sensitive files.
    pub fn inspect(&self, raw: &RawRequest) -> Inspection {
        let mut out = Inspection::default();
        if let Some(span) = raw.system_span() {
            self.inspect_part(&[], span, &mut || Reads::new(), &mut out, raw);
        }
        let mut previous: &[u8] = &[];
        // The last assistant turn's content and calls, read for the files
        // its calls open only when a result after it must be read.
        let mut caller: (&[u8], &[u8]) = (&[], &[]);
        let mut reads: Option<Reads> = None;
        for m in raw.messages() {
            let content = raw.content_of(m);
            let calls = raw.tool_calls_of(m);
            let mut reads_now = || {
                reads
                    .get_or_insert_with(|| self.reads_of(caller.0, caller.1))
                    .clone()
            };
            if m.role == TurnRole::Tool {
                // OpenAI: a tool turn answers one call; its content is the result.
                let file = m
                    .tool_call_id
                    .as_ref()
                    .and_then(|id| reads_now().get(id).cloned());
                if let Some(path) = file {
                    out.found.push(file_found(&path));
                    out.rewrites
                        .push((m.content.clone(), Value::String(withheld(&path))));
                    previous = content;
                    continue;
                }
            }
            self.inspect_part(previous, m.content.clone(), &mut reads_now, &mut out, raw);
            if !calls.is_empty() {
                self.inspect_part(
                    previous,
                    m.tool_calls.clone(),
                    &mut || Reads::new(),
                    &mut out,
                    raw,
                );
            }
            match m.role {
                TurnRole::Assistant => {
                    caller = (content, calls);
                    reads = None;
                }
                // OpenAI's tool turns follow the assistant turn they answer.
                TurnRole::Tool => {}
                _ => {
                    caller = (&[], &[]);
                    reads = Some(Reads::new());
                }
            }
            previous = content;
        }
        out
    }

    /// Read one part of the body (a turn's content or calls, the system
    /// prompt) unless it is known clean.
    fn inspect_part(
        &self,
        previous: &[u8],
        span: Range<usize>,
        reads: &mut dyn FnMut() -> Reads,
        out: &mut Inspection,
        raw: &RawRequest,
    ) {
        let part = &raw.bytes()[span.clone()];
        if part.is_empty() || part == b"null" {
            return;
        }
        let key = turn_key(previous, part);
        if self.clean.contains_key(&key) {
            return;
        }
        out.read += 1;
        let Ok(mut value) = serde_json::from_slice::<Value>(part) else {
            return;
        };
        let reads = if memchr::memmem::find(part, b"tool_result").is_some() {
            reads()
        } else {
            Reads::new()
        };
        let before = out.found.len();
        self.walk(&mut value, &reads, &mut out.found);
        if out.found.len() == before {
            self.clean.insert(key, ());
        } else {
            out.rewrites.push((span, value));
        }
    }

    /// Find and replace in every string under `value`.
    fn walk(&self, value: &mut Value, reads: &Reads, found: &mut Vec<Found>) {
        match value {
            Value::String(s) => self.redact_text(s, found),
            Value::Array(items) => items.iter_mut().for_each(|v| self.walk(v, reads, found)),
            Value::Object(map) => {
                let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
                if matches!(kind, "thinking" | "redacted_thinking") {
                    return;
                }
                if kind == "tool_result"
                    && let Some(path) = map
                        .get("tool_use_id")
                        .and_then(Value::as_str)
                        .and_then(|id| reads.get(id))
                {
                    found.push(file_found(path));
                    map.insert("content".into(), Value::String(withheld(path)));
                    return;
                }
                for (_, v) in map.iter_mut() {
                    self.walk(v, reads, found);
                }
            }
            _ => {}
        }
    }

    /// Replace each secret in `text` with `[REDACTED:kind:fingerprint]`.
    fn redact_text(&self, text: &mut String, found: &mut Vec<Found>) {
        let hits = self.detector.scan(text);
        if hits.is_empty() {
            return;
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for h in &hits {
            out.push_str(&text[at..h.start]);
            out.push_str(&format!("[REDACTED:{}:{}]", h.kind, h.fingerprint));
            at = h.end;
            found.push(Found {
                kind: h.kind.clone(),
                fingerprint: h.fingerprint.clone(),
            });
        }
        out.push_str(&text[at..]);
        *text = out;
    }

    /// The sensitive files an assistant turn's tool calls read, by call id
    /// (Anthropic `tool_use` blocks, OpenAI `tool_calls`).
    fn reads_of(&self, content: &[u8], calls: &[u8]) -> Reads {
        let mut reads = Reads::new();
        // Most turns call no tool that names a file: skip the parse.
        let names_a_file = |b: &[u8]| {
            super::files::FIELDS
                .iter()
                .any(|m| memchr::memmem::find(b, m.as_bytes()).is_some())
        };
        if names_a_file(content)
            && let Ok(Value::Array(blocks)) = serde_json::from_slice::<Value>(content)
        {
            for b in &blocks {
                if b.get("type").and_then(Value::as_str) == Some("tool_use")
                    && let (Some(id), Some(input)) =
                        (b.get("id").and_then(Value::as_str), b.get("input"))
                    && let Some(path) = self.files.read_by(input)
                {
                    reads.insert(id.to_string(), path);
                }
            }
        }
        if names_a_file(calls)
            && let Ok(Value::Array(list)) = serde_json::from_slice::<Value>(calls)
        {
            for c in &list {
                let id = c.get("id").and_then(Value::as_str);
                let args = c
                    .pointer("/function/arguments")
                    .and_then(Value::as_str)
                    .and_then(|a| serde_json::from_str::<Value>(a).ok());
                if let (Some(id), Some(args)) = (id, args)
                    && let Some(path) = self.files.read_by(&args)
                {
                    reads.insert(id.to_string(), path);
                }
            }
        }
        reads
    }
}

fn file_found(path: &str) -> Found {
    Found {
        kind: "sensitive_file".into(),
        fingerprint: path.to_string(),
    }
}

fn withheld(path: &str) -> String {
    format!("[REDACTED:sensitive_file: the contents of {path} were withheld by the gateway]")
}

/// Hash of a turn and the turn before it.
fn turn_key(previous: &[u8], part: &[u8]) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&(previous.len() as u64).to_le_bytes());
    h.update(previous);
    h.update(part);
    h.digest128()
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;

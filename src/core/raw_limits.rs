//! Edits of a request's bytes that leave the rest as it came: a ceiling on
//! how many tokens an answer may take (the body with its `max_tokens` or
//! `max_completion_tokens` lowered, its thinking budget with it when that
//! would no longer fit — Anthropic wants the budget below `max_tokens`),
//! and the same request asked as a stream.

use super::RawRequest;
use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Anthropic's smallest thinking budget.
const MIN_THINKING_BUDGET: u64 = 1024;

#[derive(Deserialize)]
struct Budget<'a> {
    #[serde(borrow, default)]
    budget_tokens: Option<&'a RawValue>,
}

/// A token limit's value: absent or `null` is none.
pub(super) fn whole_number(field: &str, value: Option<&RawValue>) -> Result<Option<u64>, String> {
    match value.map(RawValue::get) {
        None | Some("null") => Ok(None),
        Some(v) => serde_json::from_str::<u64>(v)
            .map(Some)
            .map_err(|e| format!("{field}: {e}")),
    }
}

impl RawRequest {
    /// The body with its output limit at most `ceiling`: `Ok(None)` when it
    /// already is (or sets none and needs none), `Err` when a thinking
    /// budget cannot fit below the ceiling.
    pub fn with_max_output(&self, ceiling: u64) -> Result<Option<Bytes>, String> {
        let (Some(asked), Some(span)) = (self.max_output, self.max_output_span.clone()) else {
            return Ok(None);
        };
        if asked <= ceiling {
            return Ok(None);
        }
        let mut edits = vec![(span, ceiling.to_string())];
        if let Some(budget) = self.thinking_budget()
            && budget.1 >= ceiling
        {
            let lowered = ceiling.saturating_sub(1);
            if lowered < MIN_THINKING_BUDGET {
                return Err(format!(
                    "the gateway caps max_tokens at {ceiling}, below the smallest thinking budget ({MIN_THINKING_BUDGET}); turn thinking off or ask for fewer tokens"
                ));
            }
            edits.push((budget.0, lowered.to_string()));
        }
        Ok(Some(self.spliced(edits)))
    }

    /// The same request with its output limit at most `ceiling`, read
    /// again: `Ok(None)` when it already is.
    pub fn capped_at(&self, ceiling: u64) -> Result<Option<RawRequest>, String> {
        self.with_max_output(ceiling)?
            .map(|body| RawRequest::parse(body, self.kind))
            .transpose()
    }

    /// The body of the same request asked as a stream (`"stream": true`;
    /// for OpenAI, usage in the stream too); `None` when it is one already.
    pub fn as_stream(&self) -> Option<Bytes> {
        if self.stream {
            return None;
        }
        let mut edits = Vec::new();
        let mut insert = String::new();
        match &self.stream_span {
            Some(span) => edits.push((span.clone(), "true".to_string())),
            None => insert.push_str("\"stream\":true,"),
        }
        if self.kind == super::BodyKind::ChatCompletions
            && memchr::memmem::find(&self.bytes, b"\"stream_options\"").is_none()
        {
            insert.push_str("\"stream_options\":{\"include_usage\":true},");
        }
        if !insert.is_empty() {
            // A body is checked to start with `{` (after white space).
            let at = self.bytes.iter().position(|b| *b == b'{')? + 1;
            edits.push((at..at, insert));
        }
        Some(self.spliced(edits))
    }

    /// The body with each range of `edits` replaced by its text (ranges
    /// do not overlap).
    pub(super) fn spliced(&self, mut edits: Vec<(std::ops::Range<usize>, String)>) -> Bytes {
        edits.sort_by_key(|(r, _)| r.start);
        let mut out = BytesMut::with_capacity(self.bytes.len());
        let mut at = 0;
        for (range, text) in edits {
            out.extend_from_slice(&self.bytes[at..range.start]);
            out.extend_from_slice(text.as_bytes());
            at = range.end;
        }
        out.extend_from_slice(&self.bytes[at..]);
        out.freeze()
    }

    /// Where `thinking.budget_tokens` sits, and its value.
    fn thinking_budget(&self) -> Option<(std::ops::Range<usize>, u64)> {
        let span = self.thinking_span.clone()?;
        let text = std::str::from_utf8(self.bytes.get(span)?).ok()?;
        let raw = serde_json::from_str::<Budget<'_>>(text)
            .ok()?
            .budget_tokens?;
        let value = raw.get().parse().ok()?;
        Some((super::span_of(&self.bytes, raw.get())?, value))
    }
}

#[cfg(test)]
mod tests {
    use crate::core::{BodyKind, RawRequest};
    use bytes::Bytes;

    fn parse(s: &str, kind: BodyKind) -> RawRequest {
        RawRequest::parse(Bytes::from(s.to_string()), kind).unwrap()
    }

    #[test]
    fn the_same_request_asked_as_a_stream() {
        let stream_of = |body: &str, kind| {
            let r = RawRequest::parse(Bytes::from(body.to_string()), kind).unwrap();
            let out = r
                .as_stream()
                .map(|b| String::from_utf8(b.to_vec()).unwrap());
            let parsed = out
                .as_ref()
                .map(|o| RawRequest::parse(Bytes::from(o.clone()), kind).unwrap());
            (out, parsed)
        };
        let (out, parsed) = stream_of(
            r#"{"model":"m","max_tokens":5,"stream":false,"messages":[]}"#,
            BodyKind::Messages,
        );
        assert_eq!(
            out.as_deref(),
            Some(r#"{"model":"m","max_tokens":5,"stream":true,"messages":[]}"#)
        );
        assert!(parsed.unwrap().is_stream());
        let (out, _) = stream_of(
            r#" {"model":"m","max_tokens":5,"messages":[]}"#,
            BodyKind::Messages,
        );
        assert_eq!(
            out.as_deref(),
            Some(r#" {"stream":true,"model":"m","max_tokens":5,"messages":[]}"#)
        );
        let (out, parsed) = stream_of(r#"{"model":"g","messages":[]}"#, BodyKind::ChatCompletions);
        let parsed = parsed.unwrap();
        assert!(parsed.is_stream() && parsed.include_usage(), "{out:?}");
        let (_, parsed) = stream_of(
            r#"{"model":"g","stream":null,"stream_options":{"include_usage":false},"messages":[]}"#,
            BodyKind::ChatCompletions,
        );
        assert!(parsed.unwrap().is_stream(), "no second stream_options key");
        let (out, _) = stream_of(
            r#"{"model":"m","max_tokens":5,"stream":true,"messages":[]}"#,
            BodyKind::Messages,
        );
        assert_eq!(out, None);
    }

    #[test]
    fn lowers_only_the_limit() {
        let body = r#"{"model":"m","max_tokens": 32000,"messages":[{"role":"user","content":"max_tokens 32000"}]}"#;
        let r = parse(body, BodyKind::Messages);
        let out = r.with_max_output(8192).unwrap().unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            body.replacen("32000", "8192", 1)
        );
        assert!(r.with_max_output(32000).unwrap().is_none(), "already below");
        let openai = parse(
            r#"{"model":"m","max_completion_tokens":4000,"messages":[]}"#,
            BodyKind::ChatCompletions,
        );
        let out = openai.with_max_output(1000).unwrap().unwrap();
        assert!(
            std::str::from_utf8(&out)
                .unwrap()
                .contains("\"max_completion_tokens\":1000")
        );
    }

    #[test]
    fn a_thinking_budget_follows_or_refuses() {
        let body = r#"{"model":"m","max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":16000},"messages":[]}"#;
        let r = parse(body, BodyKind::Messages);
        let out = r.with_max_output(8192).unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["max_tokens"], 8192);
        assert_eq!(v["thinking"]["budget_tokens"], 8191);
        assert!(r.with_max_output(1000).unwrap_err().contains("thinking"));
        // A budget already below the ceiling stays.
        let out = r.with_max_output(20000).unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["thinking"]["budget_tokens"], 16000);
    }
}

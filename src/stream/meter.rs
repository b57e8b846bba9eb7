//! UsageMeter: counts tokens from an Anthropic event stream as it passes.
//!
//! Only `message_start`, `message_delta`, `message_stop` and `error` are
//! parsed; content deltas are only measured, so metering costs next to
//! nothing per chunk. When a stream is cut before its final usage arrives
//! (client abort, upstream failure), the output is estimated from the bytes
//! of content that did pass, and the estimate is flagged.

use crate::core::{ContentBlock, Delta, StreamEvent, Usage, UsageReport};
use serde::Deserialize;

/// Approximate JSON envelope around one content delta's payload.
const DELTA_ENVELOPE_BYTES: usize = 60;
/// Bytes of streamed content per output token, for estimates.
const BYTES_PER_TOKEN: u64 = 4;

/// What the meter learned from a stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageMeter {
    usage: Usage,
    final_output: bool,
    content_bytes: u64,
    /// Provider message id.
    pub message_id: Option<String>,
    /// Model the provider says answered.
    pub model: Option<String>,
    /// Why generation stopped.
    pub stop_reason: Option<String>,
    /// `message_stop` was seen.
    pub completed: bool,
    /// An `error` event: (type, message).
    pub error: Option<(String, String)>,
    /// Content events seen (text, tool input, thinking).
    pub content_events: u64,
}

#[derive(Deserialize)]
struct MessageStart {
    message: StartMessage,
}

#[derive(Deserialize)]
struct StartMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<UsageReport>,
}

#[derive(Deserialize)]
struct MessageDelta {
    #[serde(default)]
    delta: Option<DeltaBody>,
    #[serde(default)]
    usage: Option<UsageReport>,
}

#[derive(Deserialize)]
struct DeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEvent {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

impl UsageMeter {
    /// Look at one event (its SSE name and JSON data).
    pub fn observe(&mut self, name: &str, data: &[u8]) {
        match name {
            "content_block_delta" => {
                self.content_events += 1;
                self.content_bytes += data.len().saturating_sub(DELTA_ENVELOPE_BYTES) as u64;
            }
            "content_block_start" => self.content_events += 1,
            "message_start" => {
                if let Ok(m) = serde_json::from_slice::<MessageStart>(data) {
                    self.message_id = m.message.id;
                    self.model = m.message.model;
                    if let Some(u) = m.message.usage {
                        u.apply_to(&mut self.usage);
                    }
                }
            }
            "message_delta" => {
                if let Ok(m) = serde_json::from_slice::<MessageDelta>(data) {
                    if let Some(r) = m.delta.and_then(|d| d.stop_reason) {
                        self.stop_reason = Some(r);
                    }
                    if let Some(u) = m.usage {
                        self.final_output |= u.output_tokens.is_some();
                        u.apply_to(&mut self.usage);
                    }
                }
            }
            "message_stop" => self.completed = true,
            "error" => {
                let (kind, message) = match serde_json::from_slice::<ErrorEvent>(data) {
                    Ok(e) => (e.error.kind, e.error.message),
                    Err(_) => (
                        "api_error".to_string(),
                        String::from_utf8_lossy(data).into_owned(),
                    ),
                };
                self.error = Some((kind, message));
            }
            _ => {}
        }
    }

    /// Look at one canonical event (translated streams).
    pub fn observe_event(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::MessageStart { message } => {
                self.message_id = Some(message.id.clone());
                self.model = Some(message.model.clone());
                message.usage.apply_to(&mut self.usage);
            }
            StreamEvent::ContentBlockStart { content_block, .. } => {
                self.content_events += 1;
                if let ContentBlock::ToolUse(t) = content_block {
                    self.content_bytes += (t.name.len() + t.id.len()) as u64;
                }
            }
            StreamEvent::ContentBlockDelta { delta, .. } => {
                self.content_events += 1;
                let n = match delta {
                    Delta::TextDelta { text } => text.len(),
                    Delta::InputJsonDelta { partial_json } => partial_json.len(),
                    Delta::ThinkingDelta { thinking } => thinking.len(),
                    Delta::SignatureDelta { .. } | Delta::Other(_) => 0,
                };
                self.content_bytes += n as u64;
            }
            StreamEvent::MessageDelta { delta, usage } => {
                if let Some(r) = &delta.stop_reason {
                    self.stop_reason = Some(r.clone());
                }
                if let Some(u) = usage {
                    self.final_output |= u.output_tokens.is_some();
                    u.apply_to(&mut self.usage);
                }
            }
            StreamEvent::MessageStop => self.completed = true,
            StreamEvent::Error { error } => {
                self.error = Some((error.kind.clone(), error.message.clone()))
            }
            StreamEvent::ContentBlockStop { .. } | StreamEvent::Ping => {}
        }
    }

    /// Count streamed content bytes (for an output estimate).
    pub fn add_content(&mut self, bytes: usize) {
        self.content_events += 1;
        self.content_bytes += bytes as u64;
    }

    /// Fill cache counts the events left at zero (from provider metrics).
    pub fn fill_cache_counts(&mut self, read: Option<u64>, write: Option<u64>) {
        if self.usage.cache_read_tokens == 0
            && let Some(r) = read
        {
            self.usage.cache_read_tokens = r;
        }
        if self.usage.cache_write_tokens() == 0
            && let Some(w) = write
        {
            self.usage.cache_write_5m_tokens = w;
        }
    }

    /// Set the final usage, as the provider reported it.
    pub fn set_usage(&mut self, usage: Usage) {
        self.usage = usage;
        self.final_output = true;
    }

    /// Usage as reported, or estimated for the output when the final count
    /// never arrived.
    pub fn usage(&self) -> Usage {
        let mut u = self.usage;
        if !self.final_output {
            u.output_tokens = u
                .output_tokens
                .max(self.content_bytes.div_ceil(BYTES_PER_TOKEN));
        }
        u
    }

    /// Whether the output count is an estimate.
    pub fn output_estimated(&self) -> bool {
        !self.final_output && self.content_bytes > 0
    }

    /// Merge a whole (non-streamed) answer's usage.
    pub fn observe_report(&mut self, report: &UsageReport) {
        report.apply_to(&mut self.usage);
        self.final_output |= report.output_tokens.is_some();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::sse::SseDecoder;

    fn meter_for(name: &str, take: Option<usize>) -> UsageMeter {
        let bytes = std::fs::read(format!(
            "{}/tests/fixtures/anthropic/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut dec = SseDecoder::default();
        dec.feed(&bytes);
        let mut m = UsageMeter::default();
        let mut n = 0;
        while let Some(e) = dec.next_event().unwrap() {
            if take.is_some_and(|t| n >= t) {
                break;
            }
            m.observe(e.name(), e.data());
            n += 1;
        }
        m
    }

    #[test]
    fn full_stream() {
        let m = meter_for("stream_tool_use.sse", None);
        assert!(m.completed);
        assert_eq!(m.stop_reason.as_deref(), Some("tool_use"));
        assert_eq!(m.model.as_deref(), Some("claude-sonnet-4-20250514"));
        assert_eq!((m.usage().input_tokens, m.usage().output_tokens), (377, 65));
        assert!(!m.output_estimated());
    }

    #[test]
    fn cache_ttl_split_from_message_start() {
        let m = meter_for("stream_thinking_crlf.sse", None);
        let u = m.usage();
        assert_eq!(
            (
                u.input_tokens,
                u.cache_read_tokens,
                u.cache_write_1h_tokens,
                u.output_tokens
            ),
            (12, 4096, 2048, 42)
        );
    }

    #[test]
    fn cut_stream_estimates_output() {
        let m = meter_for("stream_tool_use.sse", Some(9));
        assert!(!m.completed);
        assert!(m.output_estimated());
        assert!(m.usage().output_tokens >= 1);
        assert_eq!(m.usage().input_tokens, 377);
    }

    #[test]
    fn error_events() {
        let mut m = UsageMeter::default();
        m.observe(
            "error",
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert_eq!(
            m.error,
            Some(("overloaded_error".into(), "Overloaded".into()))
        );
    }
}

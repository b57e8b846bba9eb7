//! UsageMeter: counts tokens from a stream of events as it passes.
//!
//! Canonical events feed it directly; a passthrough stream's wire events are
//! read by their protocol (`protocol::anthropic::meter`) and reported here.
//!
//! When a stream is cut before its final usage arrives
//! (client abort, upstream failure), the output is estimated from the bytes
//! of content that did pass, and the estimate is flagged.

use super::{ContentBlock, Delta, ErrorBody, StreamEvent, Usage, UsageReport};

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
    /// An `error` event in the stream.
    pub error: Option<ErrorBody>,
    /// Content events seen (text, tool input, thinking).
    pub content_events: u64,
    /// Tool calls the guard refused in this answer (their notes).
    pub refused_tools: Vec<String>,
}

impl UsageMeter {
    /// A message began: its id, model and first usage counts.
    pub fn on_start(
        &mut self,
        id: Option<String>,
        model: Option<String>,
        usage: Option<&UsageReport>,
    ) {
        self.message_id = id;
        self.model = model;
        if let Some(u) = usage {
            u.apply_to(&mut self.usage);
        }
    }

    /// The message's closing delta: why it stopped and the final counts.
    pub fn on_delta(&mut self, stop_reason: Option<String>, usage: Option<&UsageReport>) {
        if let Some(r) = stop_reason {
            self.stop_reason = Some(r);
        }
        if let Some(u) = usage {
            self.final_output |= u.output_tokens.is_some();
            u.apply_to(&mut self.usage);
        }
    }

    /// An error event arrived in the stream.
    pub fn on_error(&mut self, error: ErrorBody) {
        self.error = Some(error);
    }

    /// Look at one canonical event (translated streams).
    pub fn observe_event(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::MessageStart { message } => self.on_start(
                Some(message.id.clone()),
                Some(message.model.clone()),
                Some(&message.usage),
            ),
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
                self.on_delta(delta.stop_reason.clone(), usage.as_ref())
            }
            StreamEvent::MessageStop => self.completed = true,
            StreamEvent::Error { error } => self.on_error(error.clone()),
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

//! Reading Anthropic answers: SSE → canonical events (for clients of
//! another dialect), whole answers, and the usage of an answer passed on as
//! it is.

use crate::core::{ChatResponse, StreamEvent, UsageMeter, UsageReport};
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::protocol::EventDecoder;
use crate::protocol::sse::SseDecoder;
use serde::Deserialize;

/// Decodes an Anthropic event stream into canonical events.
#[derive(Debug, Default)]
pub struct AnthropicDecoder {
    sse: SseDecoder,
    stopped: bool,
}

/// The body of a `content_block_delta` event, read without going through
/// the tagged `StreamEvent` (that buffers the whole event first; deltas are
/// nearly every event of a stream).
#[derive(serde::Deserialize)]
struct BlockDelta {
    index: usize,
    delta: crate::core::Delta,
}

impl AnthropicDecoder {
    fn take(&mut self, name: &str, data: &[u8], out: &mut Vec<StreamEvent>) {
        if name == "content_block_delta"
            && let Ok(d) = serde_json::from_slice::<BlockDelta>(data)
        {
            out.push(StreamEvent::ContentBlockDelta {
                index: d.index,
                delta: d.delta,
            });
            return;
        }
        match serde_json::from_slice::<StreamEvent>(data) {
            Ok(event) => {
                self.stopped |=
                    matches!(event, StreamEvent::MessageStop | StreamEvent::Error { .. });
                out.push(event);
            }
            Err(e) => {
                tracing::debug!(error = %e, "skipping an Anthropic event the gateway does not model")
            }
        }
    }
}

impl EventDecoder for AnthropicDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), UpstreamError> {
        self.sse.feed(chunk);
        while let Some(e) = self.sse.next_event()? {
            self.take(e.name(), e.data(), out);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), UpstreamError> {
        while let Ok(Some(e)) = self.sse.end_of_stream() {
            self.take(e.name(), e.data(), out);
        }
        if self.stopped {
            Ok(())
        } else {
            Err(UpstreamError::new(
                UpstreamErrorKind::Transport,
                "upstream closed the stream before message_stop",
            ))
        }
    }
}

/// Meter a non-streamed answer (which is passed on as it is).
pub fn meter_answer(body: &[u8]) -> Result<UsageMeter, UpstreamError> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        model: Option<String>,
        #[serde(default)]
        stop_reason: Option<String>,
        #[serde(default)]
        usage: Option<UsageReport>,
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Malformed,
            format!("upstream answer is not a message: {e}"),
        )
    })?;
    let mut meter = UsageMeter::default();
    meter.message_id = answer.id;
    meter.model = answer.model;
    meter.stop_reason = answer.stop_reason;
    meter.completed = true;
    if let Some(u) = &answer.usage {
        meter.observe_report(u);
    }
    Ok(meter)
}

/// Decode a whole Anthropic answer.
pub fn decode_answer(body: &[u8]) -> Result<ChatResponse, UpstreamError> {
    serde_json::from_slice(body).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Malformed,
            format!("upstream answer is not a message: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_split_anywhere_gives_the_same_events() {
        let bytes = std::fs::read(format!(
            "{}/tests/fixtures/anthropic/stream_tool_use.sse",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let decode = |cut: usize| {
            let mut d = AnthropicDecoder::default();
            let mut out = Vec::new();
            d.feed(&bytes[..cut], &mut out).unwrap();
            d.feed(&bytes[cut..], &mut out).unwrap();
            d.finish(&mut out).unwrap();
            out
        };
        let whole = decode(0);
        assert_eq!(whole.len(), 12);
        for cut in 1..bytes.len() {
            assert_eq!(decode(cut), whole, "cut at {cut}");
        }
    }
}

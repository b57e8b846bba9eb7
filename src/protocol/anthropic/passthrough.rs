//! Anthropic SSE in, Anthropic SSE out: the passthrough transcoder.
//!
//! Each upstream event is forwarded as the exact bytes the provider wrote,
//! as soon as it is complete; only the meter looks inside.

use super::meter;
use crate::core::UsageMeter;
use crate::error::{UpstreamError, UpstreamErrorKind, anthropic_error_type};
use crate::guard::event_gate::EventGate;
use crate::protocol::Transcoder;
use crate::protocol::bedrock::frames;
use crate::protocol::sse::{SseDecoder, SseEvent, encode_event};
use bytes::Bytes;
use std::collections::VecDeque;

/// Forwards an Anthropic event stream unchanged, metering it.
#[derive(Debug, Default)]
pub struct AnthropicPassthrough {
    decoder: SseDecoder,
    meter: UsageMeter,
    /// Re-frame each event for a Bedrock client instead of forwarding SSE.
    frames: bool,
    /// Judges the answer's tool calls, when a policy asks for it.
    gate: Option<EventGate>,
}

impl AnthropicPassthrough {
    /// Forward each event's JSON in an event-stream frame (for clients that
    /// speak Bedrock); an `error` event becomes an exception frame.
    pub fn to_frames() -> Self {
        AnthropicPassthrough {
            frames: true,
            ..Default::default()
        }
    }

    /// Judge the answer's tool calls (`stream::tool_gate`).
    pub fn gated(mut self, check: Option<crate::guard::tools::ToolCheck>) -> Self {
        let encode = crate::protocol::bedrock::frames::event_encoder(self.frames);
        self.gate = check.map(|c| EventGate::new(c, encode));
        self
    }

    fn forward(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<Bytes>,
    ) -> Result<(), UpstreamError> {
        meter::observe(&mut self.meter, event.name(), event.data());
        let bytes = if !self.frames {
            event.raw().clone()
        } else if event.name() == "error" {
            let (kind, message) = self
                .meter
                .error
                .as_ref()
                .map(|e| (e.kind.as_str(), e.message.as_str()))
                .unwrap_or_default();
            frames::exception_frame(frames::exception_for_anthropic(kind), message)
        } else {
            frames::chunk_frame(event.data())
        };
        match &mut self.gate {
            None => out.push_back(bytes),
            Some(gate) => {
                gate.push(event.name(), event.data(), bytes, out)?;
                self.meter.refused_tools = gate.refused();
            }
        }
        Ok(())
    }
}

impl Transcoder for AnthropicPassthrough {
    fn feed(&mut self, chunk: &[u8], out: &mut VecDeque<Bytes>) -> Result<(), UpstreamError> {
        self.decoder.feed(chunk);
        while let Some(event) = self.decoder.next_event()? {
            self.forward(&event, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut VecDeque<Bytes>) -> Result<(), UpstreamError> {
        while let Ok(Some(event)) = self.decoder.end_of_stream() {
            self.forward(&event, out)?;
        }
        if let Some(gate) = &mut self.gate {
            gate.finish(out);
        }
        if self.decoder.has_partial() {
            return Err(UpstreamError::new(
                UpstreamErrorKind::Transport,
                "upstream stream ended in the middle of an event",
            ));
        }
        if self.meter.completed || self.meter.error.is_some() {
            Ok(())
        } else {
            Err(UpstreamError::new(
                UpstreamErrorKind::Transport,
                "upstream closed the stream before message_stop",
            ))
        }
    }

    fn error_event(&self, error: &UpstreamError) -> Bytes {
        if self.frames {
            frames::error_frame(error)
        } else {
            anthropic_error_event(error)
        }
    }

    fn meter(&self) -> &UsageMeter {
        &self.meter
    }
}

/// An Anthropic `error` SSE event for `error`.
pub fn anthropic_error_event(error: &UpstreamError) -> Bytes {
    let body = serde_json::json!({
        "type": "error",
        "error": {
            "type": anthropic_error_type(error.client_status()),
            "message": error.message,
        }
    });
    encode_event("error", body.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TimeoutKind;

    #[test]
    fn forwards_exact_bytes_and_meters() {
        let bytes = std::fs::read(format!(
            "{}/tests/fixtures/anthropic/stream_tool_use.sse",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        for cut in [1, 100, 777, bytes.len() - 1] {
            let mut t = AnthropicPassthrough::default();
            let mut out = VecDeque::new();
            t.feed(&bytes[..cut], &mut out).unwrap();
            t.feed(&bytes[cut..], &mut out).unwrap();
            t.finish(&mut out).unwrap();
            let joined: Vec<u8> = out.iter().flat_map(|b| b.to_vec()).collect();
            assert_eq!(joined, bytes, "cut at {cut}");
            assert_eq!(t.meter().usage().output_tokens, 65);
        }
    }

    #[test]
    fn early_end_is_an_error() {
        let mut t = AnthropicPassthrough::default();
        let mut out = VecDeque::new();
        t.feed(b"event: ping\ndata: {}\n\nevent: message_st", &mut out)
            .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(
            t.finish(&mut out).unwrap_err().kind,
            UpstreamErrorKind::Transport
        );
    }

    #[test]
    fn error_event_shape() {
        let e = anthropic_error_event(&UpstreamError::timeout(TimeoutKind::Idle));
        let text = std::str::from_utf8(&e).unwrap();
        assert!(text.starts_with("event: error\ndata: {"), "{text}");
        assert!(text.contains(r#""type":"timeout_error""#), "{text}");
    }
}

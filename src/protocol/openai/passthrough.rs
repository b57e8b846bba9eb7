//! OpenAI SSE in, OpenAI SSE out: the passthrough transcoder.
//!
//! Chunks go to the client as the provider wrote them. The gateway always
//! asks for `include_usage` so it can meter; when the client did not ask for
//! it, the extra usage-only chunk is dropped here.

use crate::core::{ErrorBody, UsageMeter};
use crate::error::{UpstreamError, UpstreamErrorKind, openai_error_type, openai_status};
use crate::protocol::Transcoder;
use crate::protocol::openai::usage::{OpenAiUsage, stop_reason_from_finish};
use crate::protocol::sse::{SseDecoder, encode_data};
use bytes::Bytes;
use serde::Deserialize;
use std::collections::VecDeque;

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<OpenAiUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<DeltaShape>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct DeltaShape {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<serde_json::Value>>,
}

/// Forwards an OpenAI chunk stream, metering it.
#[derive(Debug)]
pub struct OpenAiPassthrough {
    decoder: SseDecoder,
    meter: UsageMeter,
    client_wants_usage: bool,
    done: bool,
}

impl OpenAiPassthrough {
    /// A passthrough for a client that did (or did not) ask for usage.
    pub fn new(client_wants_usage: bool) -> Self {
        OpenAiPassthrough {
            decoder: SseDecoder::default(),
            meter: UsageMeter::default(),
            client_wants_usage,
            done: false,
        }
    }

    /// Meter one chunk; false when it must not reach the client.
    fn observe(&mut self, data: &[u8]) -> bool {
        let Ok(chunk) = serde_json::from_slice::<Chunk>(data) else {
            return true;
        };
        if let Some(e) = chunk.error {
            let message = e
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("upstream error");
            self.meter.on_error(ErrorBody {
                kind: "api_error".to_string(),
                message: message.to_string(),
            });
        }
        if self.meter.message_id.is_none() {
            self.meter.message_id = chunk.id;
            self.meter.model = chunk.model;
        }
        for choice in &chunk.choices {
            if let Some(d) = &choice.delta {
                let args: usize = d
                    .tool_calls
                    .iter()
                    .flatten()
                    .map(|t| t.to_string().len())
                    .sum();
                let n = d.content.as_ref().map_or(0, String::len) + args;
                if n > 0 {
                    self.meter.add_content(n);
                }
            }
            if let Some(f) = &choice.finish_reason {
                self.meter.stop_reason = Some(stop_reason_from_finish(f).to_string());
            }
        }
        match &chunk.usage {
            Some(u) => {
                self.meter.set_usage(u.to_usage());
                self.client_wants_usage || !chunk.choices.is_empty()
            }
            None => true,
        }
    }
}

impl Transcoder for OpenAiPassthrough {
    fn feed(&mut self, chunk: &[u8], out: &mut VecDeque<Bytes>) -> Result<(), UpstreamError> {
        self.decoder.feed(chunk);
        while let Some(event) = self.decoder.next_event()? {
            if event.data() == b"[DONE]" {
                self.done = true;
                self.meter.completed = true;
                out.push_back(event.raw().clone());
            } else if self.observe(event.data()) {
                out.push_back(event.raw().clone());
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut VecDeque<Bytes>) -> Result<(), UpstreamError> {
        while let Ok(Some(event)) = self.decoder.end_of_stream() {
            if self.observe(event.data()) {
                out.push_back(event.raw().clone());
            }
        }
        if self.done || self.meter.error.is_some() {
            return Ok(());
        }
        if self.meter.stop_reason.is_some() {
            // Some servers end without [DONE]; the client still expects it.
            self.meter.completed = true;
            out.push_back(encode_data(b"[DONE]"));
            return Ok(());
        }
        Err(UpstreamError::new(
            UpstreamErrorKind::Transport,
            "upstream closed the stream before it finished",
        ))
    }

    fn error_event(&self, error: &UpstreamError) -> Bytes {
        openai_error_event(error)
    }

    fn meter(&self) -> &UsageMeter {
        &self.meter
    }
}

/// An OpenAI error chunk (`data: {"error":{...}}`), which the SDKs raise on.
pub fn openai_error_event(error: &UpstreamError) -> Bytes {
    let status = openai_status(error.client_status());
    let (kind, code) = openai_error_type(status);
    let body = serde_json::json!({"error": {"message": error.message, "type": kind, "param": null, "code": code}});
    encode_data(body.to_string().as_bytes())
}

//! Bedrock's binary event stream: frames in (each carrying one Anthropic
//! stream event, base64 in `{"bytes": …}`, or an exception), frames out
//! (for clients that speak Bedrock), and the transcoders between them and
//! Anthropic SSE or canonical events.
//!
//! Frame layout (all big-endian): total length, headers length, prelude CRC,
//! headers, payload, message CRC. Decoding uses `aws-smithy-eventstream`,
//! which checks both CRCs.

use crate::core::StreamEvent;
use crate::core::UsageMeter;
use crate::error::{TimeoutKind, UpstreamError, UpstreamErrorKind};
use crate::guard::event_gate::EventGate;
use crate::protocol::anthropic::{anthropic_error_event, meter};
use crate::protocol::bedrock::frames::error_frame;
use crate::protocol::sse::encode_event;
use crate::protocol::{EventDecoder, Transcoder};
use aws_smithy_eventstream::frame::read_message_from;
use aws_smithy_types::event_stream::Message;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::{Buf, Bytes, BytesMut};
use serde::Deserialize;
use std::collections::VecDeque;

/// Largest frame accepted.
const MAX_FRAME: usize = 16 * 1024 * 1024;

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// An Anthropic stream event.
    Event {
        /// Its `type` (the SSE event name).
        name: String,
        /// The event's JSON.
        json: Bytes,
        /// The frame as received.
        raw: Bytes,
    },
    /// The stream failed.
    Exception {
        /// Bedrock's exception type (`throttlingException`, …).
        kind: String,
        /// Its message.
        message: String,
    },
}

fn header<'a>(m: &'a Message, name: &str) -> Option<&'a str> {
    m.headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str())
}

#[derive(Deserialize)]
struct Chunk {
    bytes: String,
}

#[derive(Deserialize)]
struct Typed {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct MessageBody {
    #[serde(default, alias = "Message")]
    message: String,
}

fn malformed(what: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::new(
        UpstreamErrorKind::Malformed,
        format!("bad Bedrock event stream: {what}"),
    )
}

/// The failure a Bedrock exception stands for.
pub fn exception_kind(kind: &str) -> UpstreamErrorKind {
    match kind
        .trim_end_matches("Exception")
        .to_ascii_lowercase()
        .as_str()
    {
        "validation" => UpstreamErrorKind::InvalidRequest,
        "throttling" | "modelnotready" | "servicequotaexceeded" => UpstreamErrorKind::RateLimited,
        "modeltimeout" => UpstreamErrorKind::Timeout(TimeoutKind::FirstByte),
        "serviceunavailable" => UpstreamErrorKind::Overloaded,
        "accessdenied"
        | "unrecognizedclient"
        | "expiredtoken"
        | "invalidsignature"
        | "incompletesignature"
        | "missingauthenticationtoken" => UpstreamErrorKind::Auth,
        "resourcenotfound" => UpstreamErrorKind::InvalidRequest,
        _ => UpstreamErrorKind::Server,
    }
}

/// Splits a byte stream into frames.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: BytesMut,
}

impl FrameDecoder {
    /// Add bytes from the wire.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes of an incomplete frame are buffered.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }

    /// The next complete frame (frames of other event types are skipped).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, UpstreamError> {
        loop {
            if self.buf.len() < 4 {
                return Ok(None);
            }
            let total = (&self.buf[..4]).get_u32() as usize;
            if !(16..=MAX_FRAME).contains(&total) {
                return Err(malformed(format!("frame length {total}")));
            }
            if self.buf.len() < total {
                return Ok(None);
            }
            let raw = self.buf.split_to(total).freeze();
            let message = read_message_from(raw.clone()).map_err(malformed)?;
            match header(&message, ":message-type") {
                Some("event") if header(&message, ":event-type") == Some("chunk") => {
                    let chunk: Chunk =
                        serde_json::from_slice(message.payload()).map_err(malformed)?;
                    let json = Bytes::from(B64.decode(chunk.bytes).map_err(malformed)?);
                    let name = serde_json::from_slice::<Typed>(&json)
                        .map_err(malformed)?
                        .kind;
                    return Ok(Some(Frame::Event { name, json, raw }));
                }
                Some("exception") | Some("error") => {
                    let kind = header(&message, ":exception-type")
                        .or_else(|| header(&message, ":error-code"))
                        .unwrap_or("internalServerException")
                        .to_string();
                    let message = header(&message, ":error-message")
                        .map(str::to_string)
                        .or_else(|| {
                            serde_json::from_slice::<MessageBody>(message.payload())
                                .ok()
                                .map(|b| b.message)
                        })
                        .unwrap_or_default();
                    return Ok(Some(Frame::Exception { kind, message }));
                }
                _ => continue,
            }
        }
    }
}

fn exception_error(kind: &str, message: &str) -> UpstreamError {
    UpstreamError::new(
        exception_kind(kind),
        format!("Bedrock stream {kind}: {message}"),
    )
}

/// Fill usage the events lacked from `amazon-bedrock-invocationMetrics`
/// (some regions put cache counts only there).
fn meter_metrics(meter: &mut UsageMeter, json: &[u8]) {
    #[derive(Deserialize)]
    struct Stop {
        #[serde(rename = "amazon-bedrock-invocationMetrics")]
        metrics: Option<Metrics>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Metrics {
        #[serde(default)]
        cache_read_input_token_count: Option<u64>,
        #[serde(default)]
        cache_write_input_token_count: Option<u64>,
    }
    let Ok(Stop { metrics: Some(m) }) = serde_json::from_slice::<Stop>(json) else {
        return;
    };
    meter.fill_cache_counts(
        m.cache_read_input_token_count,
        m.cache_write_input_token_count,
    );
}

/// Bedrock frames in, Anthropic SSE (or the same frames) out.
#[derive(Debug)]
pub struct BedrockStream {
    frames: FrameDecoder,
    meter: UsageMeter,
    /// Forward frames as they are (a Bedrock client) instead of as SSE.
    raw_frames: bool,
    /// Judges the answer's tool calls, when a policy asks for it.
    gate: Option<EventGate>,
}

impl BedrockStream {
    /// To an Anthropic client (SSE), or to a Bedrock client (frames).
    pub fn new(raw_frames: bool) -> Self {
        BedrockStream {
            frames: FrameDecoder::default(),
            meter: UsageMeter::default(),
            raw_frames,
            gate: None,
        }
    }

    /// Judge the answer's tool calls (`stream::tool_gate`).
    pub fn gated(mut self, check: Option<crate::guard::tools::ToolCheck>) -> Self {
        let encode = crate::protocol::bedrock::frames::event_encoder(self.raw_frames);
        self.gate = check.map(|c| EventGate::new(c, encode));
        self
    }
}

impl Transcoder for BedrockStream {
    fn feed(&mut self, chunk: &[u8], out: &mut VecDeque<Bytes>) -> Result<(), UpstreamError> {
        self.frames.feed(chunk);
        while let Some(frame) = self.frames.next_frame()? {
            match frame {
                Frame::Event { name, json, raw } => {
                    meter::observe(&mut self.meter, &name, &json);
                    if name == "message_stop" {
                        meter_metrics(&mut self.meter, &json);
                    }
                    let bytes = if self.raw_frames {
                        raw
                    } else {
                        encode_event(&name, &json)
                    };
                    match &mut self.gate {
                        None => out.push_back(bytes),
                        Some(gate) => {
                            gate.push(&name, &json, bytes, out)?;
                            self.meter.refused_tools = gate.refused();
                        }
                    }
                }
                Frame::Exception { kind, message } => return Err(exception_error(&kind, &message)),
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut VecDeque<Bytes>) -> Result<(), UpstreamError> {
        if let Some(gate) = &mut self.gate {
            gate.finish(out);
        }
        if self.frames.has_partial() {
            return Err(UpstreamError::new(
                UpstreamErrorKind::Transport,
                "Bedrock stream ended inside a frame",
            ));
        }
        if self.meter.completed {
            Ok(())
        } else {
            Err(UpstreamError::new(
                UpstreamErrorKind::Transport,
                "Bedrock stream ended before message_stop",
            ))
        }
    }

    fn error_event(&self, error: &UpstreamError) -> Bytes {
        if self.raw_frames {
            error_frame(error)
        } else {
            anthropic_error_event(error)
        }
    }

    fn meter(&self) -> &UsageMeter {
        &self.meter
    }
}

/// Bedrock frames → canonical events (for clients of another dialect).
#[derive(Debug, Default)]
pub struct BedrockDecoder {
    frames: FrameDecoder,
    stopped: bool,
}

impl EventDecoder for BedrockDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), UpstreamError> {
        self.frames.feed(chunk);
        while let Some(frame) = self.frames.next_frame()? {
            match frame {
                Frame::Event { json, .. } => match serde_json::from_slice::<StreamEvent>(&json) {
                    Ok(e) => {
                        self.stopped |= matches!(e, StreamEvent::MessageStop);
                        out.push(e);
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "skipping a Bedrock event the gateway does not model")
                    }
                },
                Frame::Exception { kind, message } => return Err(exception_error(&kind, &message)),
            }
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<StreamEvent>) -> Result<(), UpstreamError> {
        if self.stopped && !self.frames.has_partial() {
            Ok(())
        } else {
            Err(UpstreamError::new(
                UpstreamErrorKind::Transport,
                "Bedrock stream ended before message_stop",
            ))
        }
    }
}

#[cfg(test)]
#[path = "eventstream_tests.rs"]
mod tests;

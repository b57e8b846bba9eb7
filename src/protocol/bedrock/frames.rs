//! AWS event-stream frames written for clients that speak Bedrock: one
//! `chunk` frame per Anthropic stream event (its JSON base64-encoded in
//! `{"bytes": …}`), and `exception` frames for failures. Encoding goes
//! through `aws-smithy-eventstream`, which computes both CRCs.

use crate::error::{UpstreamError, UpstreamErrorKind};
use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;

/// The content type of an event-stream body.
pub const EVENTSTREAM_CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

fn string(name: &'static str, value: &str) -> Header {
    Header::new(name, HeaderValue::String(value.to_string().into()))
}

fn encode(message: &Message) -> Bytes {
    let mut out = Vec::with_capacity(message.payload().len() + 96);
    match write_message_to(message, &mut out) {
        Ok(()) => Bytes::from(out),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode an event-stream frame");
            Bytes::new()
        }
    }
}

/// A frame carrying one Anthropic stream event's JSON.
pub fn chunk_frame(json: &[u8]) -> Bytes {
    let payload = serde_json::json!({"bytes": B64.encode(json)}).to_string();
    let message = Message::new(payload.into_bytes())
        .add_header(string(":event-type", "chunk"))
        .add_header(string(":content-type", "application/json"))
        .add_header(string(":message-type", "event"));
    encode(&message)
}

/// A frame reporting a failure (`kind` is Bedrock's exception type, such as
/// `throttlingException`).
pub fn exception_frame(kind: &str, message: &str) -> Bytes {
    let payload = serde_json::json!({"message": message}).to_string();
    let frame = Message::new(payload.into_bytes())
        .add_header(string(":exception-type", kind))
        .add_header(string(":content-type", "application/json"))
        .add_header(string(":message-type", "exception"));
    encode(&frame)
}

/// Bedrock's stream exception type for a failure.
pub fn exception_name(error: &UpstreamError) -> &'static str {
    match error.kind {
        UpstreamErrorKind::InvalidRequest => "validationException",
        UpstreamErrorKind::RateLimited => "throttlingException",
        UpstreamErrorKind::Overloaded | UpstreamErrorKind::CoolingDown => {
            "serviceUnavailableException"
        }
        UpstreamErrorKind::Timeout(_) => "modelTimeoutException",
        _ => "internalServerException",
    }
}

/// Bedrock's stream exception type for an Anthropic `error` event's type.
pub fn exception_for_anthropic(error_type: &str) -> &'static str {
    match error_type {
        "invalid_request_error" => "validationException",
        "rate_limit_error" => "throttlingException",
        "overloaded_error" => "serviceUnavailableException",
        "timeout_error" => "modelTimeoutException",
        _ => "internalServerException",
    }
}

/// The frame for a failure.
pub fn error_frame(error: &UpstreamError) -> Bytes {
    exception_frame(exception_name(error), &error.message)
}

/// How a relay writes the Anthropic events it makes itself: as event-stream
/// chunk frames for Bedrock clients, else as SSE.
pub fn event_encoder(frames: bool) -> fn(&str, &[u8]) -> Bytes {
    fn frame_event(_name: &str, json: &[u8]) -> Bytes {
        chunk_frame(json)
    }
    if frames {
        frame_event
    } else {
        crate::protocol::sse::encode_event
    }
}

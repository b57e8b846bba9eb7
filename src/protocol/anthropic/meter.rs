//! Metering an Anthropic stream as it passes: only `message_start`,
//! `message_delta`, `message_stop` and `error` are parsed; content deltas are
//! only measured, so metering costs next to nothing per chunk.

use crate::core::{ErrorBody, UsageMeter, UsageReport};
use serde::Deserialize;

/// Approximate JSON envelope around one content delta's payload.
const DELTA_ENVELOPE_BYTES: usize = 60;

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
    error: WireError,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

/// Look at one Anthropic stream event (its SSE name and JSON data).
pub fn observe(meter: &mut UsageMeter, name: &str, data: &[u8]) {
    match name {
        "content_block_delta" => {
            meter.add_content(data.len().saturating_sub(DELTA_ENVELOPE_BYTES));
        }
        "content_block_start" => meter.add_content(0),
        "message_start" => {
            if let Ok(m) = serde_json::from_slice::<MessageStart>(data) {
                let m = m.message;
                meter.on_start(m.id, m.model, m.usage.as_ref());
            }
        }
        "message_delta" => {
            if let Ok(m) = serde_json::from_slice::<MessageDelta>(data) {
                meter.on_delta(m.delta.and_then(|d| d.stop_reason), m.usage.as_ref());
            }
        }
        "message_stop" => meter.completed = true,
        "error" => meter.on_error(match serde_json::from_slice::<ErrorEvent>(data) {
            Ok(e) => ErrorBody {
                kind: e.error.kind,
                message: e.error.message,
            },
            Err(_) => ErrorBody {
                kind: "api_error".to_string(),
                message: String::from_utf8_lossy(data).into_owned(),
            },
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::sse::SseDecoder;

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
            observe(&mut m, e.name(), e.data());
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
        observe(
            &mut m,
            "error",
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        let e = m.error.unwrap();
        assert_eq!(
            (e.kind.as_str(), e.message.as_str()),
            ("overloaded_error", "Overloaded")
        );
    }
}

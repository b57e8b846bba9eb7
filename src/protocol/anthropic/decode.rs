//! Reading Anthropic answers: SSE → canonical events (for clients of
//! another dialect), whole answers, and the usage of an answer passed on as
//! it is.

use crate::core::{
    ChatResponse, ContentBlock, Delta, MessageDeltaBody, StreamEvent, UsageMeter, UsageReport,
};
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::protocol::EventDecoder;
use crate::protocol::sse::SseDecoder;
use serde::Deserialize;
use std::borrow::Cow;

/// Decodes an Anthropic event stream into canonical events.
#[derive(Debug, Default)]
pub struct AnthropicDecoder {
    sse: SseDecoder,
    stopped: bool,
}

/// The body of a `content_block_delta` event, read without going through
/// the tagged `StreamEvent` and `Delta` (serde buffers a tagged enum's
/// whole value before it can choose the variant; deltas are nearly every
/// event of a stream). A delta of a kind not known here, or without its
/// field, is read the general way.
#[derive(serde::Deserialize)]
struct BlockDelta<'a> {
    index: usize,
    #[serde(borrow)]
    delta: FlatDelta<'a>,
}

/// A delta's fields, whichever kind it is.
#[derive(serde::Deserialize)]
struct FlatDelta<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    text: Option<String>,
    partial_json: Option<String>,
    thinking: Option<String>,
    signature: Option<String>,
}

impl FlatDelta<'_> {
    fn known(self) -> Option<Delta> {
        match self.kind.as_ref() {
            "text_delta" => self.text.map(|text| Delta::TextDelta { text }),
            "input_json_delta" => self
                .partial_json
                .map(|partial_json| Delta::InputJsonDelta { partial_json }),
            "thinking_delta" => self
                .thinking
                .map(|thinking| Delta::ThinkingDelta { thinking }),
            "signature_delta" => self
                .signature
                .map(|signature| Delta::SignatureDelta { signature }),
            _ => None,
        }
    }
}

/// The other events' bodies, read straight into their variant when the
/// SSE event name says which (serde's tagged `StreamEvent` buffers each
/// whole event, strings and all, before it reads the `type`: 24,000
/// instructions for the five such events of an answer). Their `type` must
/// agree with the name, else the event is read the general way.
#[derive(serde::Deserialize)]
struct MessageStart<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    message: ChatResponse,
}

#[derive(serde::Deserialize)]
struct BlockStart<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    index: usize,
    content_block: ContentBlock,
}

#[derive(serde::Deserialize)]
struct BlockStop<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    index: usize,
}

#[derive(serde::Deserialize)]
struct MessageDelta<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    delta: MessageDeltaBody,
    #[serde(default)]
    usage: Option<UsageReport>,
}

/// `message_stop` and `ping`: the type alone.
#[derive(serde::Deserialize)]
struct Bare<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

/// `data` read as the event `name` says it is; none when the name is not
/// one of these, the data does not read as it, or its `type` differs.
fn read_as_named(name: &str, data: &[u8]) -> Option<StreamEvent> {
    use serde_json::from_slice;
    let (kind, event) = match name {
        "content_block_delta" => {
            let d = from_slice::<BlockDelta>(data).ok()?;
            let delta = d.delta.known()?;
            let event = StreamEvent::ContentBlockDelta {
                index: d.index,
                delta,
            };
            return Some(event);
        }
        "message_start" => {
            let e = from_slice::<MessageStart>(data).ok()?;
            let event = StreamEvent::MessageStart { message: e.message };
            (e.kind, event)
        }
        "content_block_start" => {
            let e = from_slice::<BlockStart>(data).ok()?;
            let event = StreamEvent::ContentBlockStart {
                index: e.index,
                content_block: e.content_block,
            };
            (e.kind, event)
        }
        "content_block_stop" => {
            let e = from_slice::<BlockStop>(data).ok()?;
            (e.kind, StreamEvent::ContentBlockStop { index: e.index })
        }
        "message_delta" => {
            let e = from_slice::<MessageDelta>(data).ok()?;
            let event = StreamEvent::MessageDelta {
                delta: e.delta,
                usage: e.usage,
            };
            (e.kind, event)
        }
        "message_stop" => (
            from_slice::<Bare>(data).ok()?.kind,
            StreamEvent::MessageStop,
        ),
        "ping" => (from_slice::<Bare>(data).ok()?.kind, StreamEvent::Ping),
        _ => return None,
    };
    (kind == name).then_some(event)
}

impl AnthropicDecoder {
    fn take(&mut self, name: &str, data: &[u8], out: &mut Vec<StreamEvent>) {
        if let Some(event) = read_as_named(name, data) {
            self.stopped |= matches!(event, StreamEvent::MessageStop);
            out.push(event);
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
    fn deltas_of_other_kinds_are_kept_whole() {
        let mut d = AnthropicDecoder::default();
        let mut out = Vec::new();
        let stream = b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"citations_delta\",\"citation\":{\"cited_text\":\"x\"}}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"caf\\u00e9 \\\"ok\\\"\"}}\n\n";
        d.feed(stream, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        match &out[0] {
            StreamEvent::ContentBlockDelta {
                index: 2,
                delta: Delta::Other(v),
            } => assert_eq!(v["citation"]["cited_text"], "x"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            out[1],
            StreamEvent::ContentBlockDelta {
                index: 0,
                delta: Delta::TextDelta {
                    text: "café \"ok\"".into()
                }
            }
        );
    }

    #[test]
    fn an_event_whose_type_disagrees_with_its_name_is_read_by_its_type() {
        let mut d = AnthropicDecoder::default();
        let mut out = Vec::new();
        let stream = b"event: message_stop\ndata: {\"type\":\"ping\"}\n\nevent: content_block_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        d.feed(stream, &mut out).unwrap();
        assert_eq!(out, vec![StreamEvent::Ping, StreamEvent::MessageStop]);
        assert!(d.finish(&mut out).is_ok(), "the stop was seen");
    }

    #[test]
    fn thinking_fixture_reads_as_the_general_reading_does() {
        let bytes = std::fs::read(format!(
            "{}/tests/fixtures/anthropic/stream_thinking_crlf.sse",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut d = AnthropicDecoder::default();
        let mut fast = Vec::new();
        d.feed(&bytes, &mut fast).unwrap();
        d.finish(&mut fast).unwrap();
        let mut sse = SseDecoder::default();
        sse.feed(&bytes);
        let mut general = Vec::new();
        while let Some(e) = sse.next_event().unwrap() {
            general.push(serde_json::from_slice::<StreamEvent>(e.data()).unwrap());
        }
        assert!(general.len() > 5);
        assert_eq!(fast, general);
    }

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
        // The fast reading of deltas gives what the general one does.
        let mut sse = SseDecoder::default();
        sse.feed(&bytes);
        let mut general = Vec::new();
        while let Some(e) = sse.next_event().unwrap() {
            general.push(serde_json::from_slice::<StreamEvent>(e.data()).unwrap());
        }
        assert_eq!(whole, general);
        assert!(whole.iter().any(|e| matches!(
            e,
            StreamEvent::ContentBlockDelta {
                delta: Delta::InputJsonDelta { .. },
                ..
            }
        )));
        for cut in 1..bytes.len() {
            assert_eq!(decode(cut), whole, "cut at {cut}");
        }
    }
}

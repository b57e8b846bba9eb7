//! Reading Anthropic answers: SSE → canonical events (for clients of
//! another dialect), whole answers, and the usage of an answer passed on as
//! it is.

use crate::core::{ChatResponse, Delta, StreamEvent, UsageMeter, UsageReport};
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

impl AnthropicDecoder {
    fn take(&mut self, name: &str, data: &[u8], out: &mut Vec<StreamEvent>) {
        if name == "content_block_delta"
            && let Ok(d) = serde_json::from_slice::<BlockDelta>(data)
            && let Some(delta) = d.delta.known()
        {
            out.push(StreamEvent::ContentBlockDelta {
                index: d.index,
                delta,
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

//! Tests of the OpenAI decoders.

use super::*;
use crate::core::Delta;
use serde_json::json;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/openai/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn decode_split(bytes: &[u8], cut: usize) -> Result<Vec<StreamEvent>, UpstreamError> {
    let mut d = OpenAiDecoder::default();
    let mut out = Vec::new();
    d.feed(&bytes[..cut], &mut out)?;
    d.feed(&bytes[cut..], &mut out)?;
    d.finish(&mut out)?;
    Ok(out)
}

fn names(events: &[StreamEvent]) -> Vec<&'static str> {
    events.iter().map(StreamEvent::name).collect()
}

#[test]
fn text_stream_becomes_a_valid_anthropic_sequence() {
    let bytes = fixture("stream_text.sse");
    let events = decode_split(&bytes, 0).unwrap();
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert!(matches!(
        &events[1],
        StreamEvent::ContentBlockStart {
            index: 0,
            content_block: ContentBlock::Thinking(_)
        }
    ));
    assert!(matches!(
        &events[4],
        StreamEvent::ContentBlockStart {
            index: 1,
            content_block: ContentBlock::Text(_)
        }
    ));
    let StreamEvent::MessageDelta { delta, usage } = &events[8] else {
        panic!()
    };
    assert_eq!(delta.stop_reason.as_deref(), Some("end_turn"));
    let u = usage.as_ref().unwrap();
    assert_eq!(
        (u.input_tokens, u.cache_read_input_tokens, u.output_tokens),
        (Some(20), Some(10), Some(8))
    );
    for cut in 1..bytes.len() {
        assert_eq!(decode_split(&bytes, cut).unwrap(), events, "cut at {cut}");
    }
}

#[test]
fn interleaved_parallel_tool_calls_come_out_whole() {
    let bytes = fixture("stream_parallel_tools.sse");
    let events = decode_split(&bytes, 0).unwrap();
    let tools: Vec<(usize, String, String)> = events
        .windows(2)
        .filter_map(|w| match (&w[0], &w[1]) {
            (
                StreamEvent::ContentBlockStart {
                    index,
                    content_block: ContentBlock::ToolUse(t),
                },
                StreamEvent::ContentBlockDelta {
                    delta: Delta::InputJsonDelta { partial_json },
                    ..
                },
            ) => Some((*index, t.id.clone(), partial_json.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        tools,
        [
            (1, "call_a".to_string(), r#"{"city":"Paris"}"#.to_string()),
            (2, "call_b".to_string(), r#"{"city":"Rome"}"#.to_string())
        ]
    );
    let StreamEvent::MessageDelta { delta, .. } = &events[events.len() - 2] else {
        panic!()
    };
    assert_eq!(delta.stop_reason.as_deref(), Some("tool_use"));
    for cut in 1..bytes.len() {
        assert_eq!(decode_split(&bytes, cut).unwrap(), events, "cut at {cut}");
    }
}

#[test]
fn broken_tool_arguments_are_an_upstream_error() {
    let s = b"data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\": \"}}]},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n";
    let e = decode_split(s, 0).unwrap_err();
    assert_eq!(e.kind, UpstreamErrorKind::Malformed);
}

#[test]
fn cut_streams_and_error_chunks() {
    let bytes = fixture("stream_text.sse");
    let mut d = OpenAiDecoder::default();
    let mut out = Vec::new();
    d.feed(&bytes[..300], &mut out).unwrap();
    assert_eq!(
        d.finish(&mut out).unwrap_err().kind,
        UpstreamErrorKind::Transport
    );
    let e = decode_split(b"data: {\"error\":{\"message\":\"model crashed\"}}\n\n", 0).unwrap_err();
    assert!(e.message.contains("model crashed"));
    // A server that never sends [DONE] but did finish is fine.
    let text = String::from_utf8(bytes.clone())
        .unwrap()
        .replace("data: [DONE]\n\n", "");
    assert_eq!(
        names(&decode_split(text.as_bytes(), 0).unwrap()).last(),
        Some(&"message_stop")
    );
}

#[test]
fn whole_completions() {
    let body = br#"{"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-4o",
        "choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
        "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
        "finish_reason":"tool_calls","logprobs":null}],
        "usage":{"prompt_tokens":120,"completion_tokens":20,"total_tokens":140,"prompt_tokens_details":{"cached_tokens":64}}}"#;
    let r = decode_answer(body).unwrap();
    assert_eq!(r.stop_reason.as_deref(), Some("tool_use"));
    assert!(
        matches!(&r.content[0], ContentBlock::ToolUse(t) if t.input == json!({"city":"Paris"}) && t.id == "call_1")
    );
    assert_eq!(
        (r.usage.input_tokens, r.usage.cache_read_input_tokens),
        (Some(56), Some(64))
    );
    let bad = br#"{"choices":[{"message":{"tool_calls":[{"id":"x","function":{"name":"f","arguments":"{oops"}}]}}]}"#;
    assert_eq!(
        decode_answer(bad).unwrap_err().kind,
        UpstreamErrorKind::Malformed
    );
    let text = br#"{"id":"1","model":"m","choices":[{"message":{"content":"hi"},"finish_reason":"length"}]}"#;
    let r = decode_answer(text).unwrap();
    assert_eq!(
        (r.stop_reason.as_deref(), r.content.len()),
        (Some("max_tokens"), 1)
    );
}

//! Tests of the event-stream codec: the verified golden frame, every split
//! point, exceptions, and the transcoders.

use super::*;
use crate::protocol::bedrock::frames::{chunk_frame, exception_frame};

/// The golden frame of ../shared/reference/wire-protocols.md §3.4, verified
/// there against aws-smithy-eventstream and a hand-built Python frame.
const GOLDEN: &str = "000000870000004b87ea2bf30b3a6576656e742d747970650700056368756e6b0d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b226279746573223a2265794a306558426c496a6f696257567a6332466e5a56397a64473977496e303d227dba48ab22";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The SDK's tool-use stream as Bedrock frames, plus a metrics-bearing stop.
fn fixture_frames() -> Vec<u8> {
    let sse = std::fs::read(format!(
        "{}/tests/fixtures/anthropic/stream_tool_use.sse",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut dec = crate::protocol::sse::SseDecoder::default();
    dec.feed(&sse);
    let mut out = Vec::new();
    while let Some(e) = dec.next_event().unwrap() {
        if e.name() == "ping" {
            continue;
        }
        let json = if e.name() == "message_stop" {
            br#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":377,"outputTokenCount":65,"invocationLatency":900,"firstByteLatency":300,"cacheReadInputTokenCount":2048,"cacheWriteInputTokenCount":0}}"#.to_vec()
        } else {
            e.data().to_vec()
        };
        out.extend_from_slice(&chunk_frame(&json));
    }
    out
}

#[test]
fn golden_frame_both_ways() {
    let golden = hex(GOLDEN);
    assert_eq!(golden.len(), 135);
    assert_eq!(
        chunk_frame(br#"{"type":"message_stop"}"#).to_vec(),
        golden,
        "the encoder writes the real format"
    );
    let mut d = FrameDecoder::default();
    d.feed(&golden);
    match d.next_frame().unwrap().unwrap() {
        Frame::Event { name, json, raw } => {
            assert_eq!(
                (name.as_str(), &json[..], raw.len()),
                ("message_stop", &br#"{"type":"message_stop"}"#[..], 135)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(d.next_frame().unwrap().is_none());
}

fn decode_all(bytes: &[u8], cut: usize) -> Vec<Frame> {
    let mut d = FrameDecoder::default();
    let mut out = Vec::new();
    for part in [&bytes[..cut], &bytes[cut..]] {
        d.feed(part);
        while let Some(f) = d.next_frame().unwrap() {
            out.push(f);
        }
    }
    assert!(!d.has_partial());
    out
}

#[test]
fn every_split_point_gives_the_same_frames() {
    let mut bytes = fixture_frames();
    bytes.extend_from_slice(&exception_frame(
        "throttlingException",
        "Too many tokens, please wait.",
    ));
    let whole = decode_all(&bytes, 0);
    assert_eq!(whole.len(), 12);
    assert!(
        matches!(&whole[11], Frame::Exception { kind, message } if kind == "throttlingException" && message.starts_with("Too many"))
    );
    for cut in 1..bytes.len() {
        assert_eq!(decode_all(&bytes, cut), whole, "cut at {cut}");
    }
}

#[test]
fn corrupt_frames_are_refused() {
    let mut golden = hex(GOLDEN);
    golden[60] ^= 0xff; // payload byte: the message CRC no longer matches
    let mut d = FrameDecoder::default();
    d.feed(&golden);
    assert_eq!(
        d.next_frame().unwrap_err().kind,
        UpstreamErrorKind::Malformed
    );
    let mut d = FrameDecoder::default();
    d.feed(&[0xff, 0xff, 0xff, 0xff]);
    assert!(d.next_frame().is_err(), "an absurd length");
}

#[test]
fn to_anthropic_sse_with_usage_from_metrics() {
    let bytes = fixture_frames();
    let mut t = BedrockStream::new(false);
    let mut out = VecDeque::new();
    for piece in bytes.chunks(7) {
        t.feed(piece, &mut out).unwrap();
    }
    t.finish(&mut out).unwrap();
    let text: String = out
        .iter()
        .map(|b| String::from_utf8(b.to_vec()).unwrap())
        .collect();
    assert!(
        text.starts_with("event: message_start\ndata: {\"type\":\"message_start\""),
        "{text}"
    );
    assert!(text.contains(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1"
    ));
    let u = t.meter().usage();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.cache_read_tokens),
        (377, 65, 2048),
        "cache reads from the metrics"
    );
    // Forwarded to a Bedrock client: the frames themselves.
    let mut t = BedrockStream::new(true);
    let mut out = VecDeque::new();
    t.feed(&bytes, &mut out).unwrap();
    assert_eq!(
        out.iter().flat_map(|b| b.to_vec()).collect::<Vec<u8>>(),
        bytes
    );
}

#[test]
fn exceptions_become_upstream_errors() {
    for (kind, expected) in [
        ("throttlingException", UpstreamErrorKind::RateLimited),
        ("serviceUnavailableException", UpstreamErrorKind::Overloaded),
        (
            "modelTimeoutException",
            UpstreamErrorKind::Timeout(TimeoutKind::FirstByte),
        ),
        ("validationException", UpstreamErrorKind::InvalidRequest),
        ("internalServerException", UpstreamErrorKind::Server),
        ("modelStreamErrorException", UpstreamErrorKind::Server),
    ] {
        let mut t = BedrockDecoder::default();
        let e = t
            .feed(&exception_frame(kind, "x"), &mut Vec::new())
            .unwrap_err();
        assert_eq!(e.kind, expected, "{kind}");
    }
    let frame = error_frame(&UpstreamError::new(
        UpstreamErrorKind::RateLimited,
        "slow down",
    ));
    let mut d = FrameDecoder::default();
    d.feed(&frame);
    assert!(
        matches!(d.next_frame().unwrap(), Some(Frame::Exception { kind, .. }) if kind == "throttlingException")
    );
}

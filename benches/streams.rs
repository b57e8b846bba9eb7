//! Micro-benchmarks of per-chunk stream work and per-request bookkeeping:
//! an Anthropic stream relayed as is (with metering), the same stream
//! translated to OpenAI chunks, a whole answer read as a stream (what a
//! non-streamed request costs by default), and usage metering alone.
//!
//! cargo bench --bench streams

#![allow(clippy::expect_used)]

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::collections::VecDeque;
use std::hint::black_box;
use switchyard::core::Dialect;
use switchyard::core::UsageMeter;
use switchyard::core::{BodyKind, RawRequest};
use switchyard::protocol::ClientCodec;
use switchyard::protocol::Transcoder;
use switchyard::protocol::anthropic::AnthropicDecoder;
use switchyard::protocol::anthropic::AnthropicPassthrough;
use switchyard::protocol::openai::OpenAiCodec;
use switchyard::protocol::{Wire, client_codec};
use switchyard::stream::codec::Translator;
use switchyard::stream::table::whole_transcoder;

const DELTAS: usize = 200;

/// A 200-delta Anthropic stream as the network delivers it: 1.5 KB reads
/// that cut events anywhere.
fn anthropic_stream() -> Vec<Bytes> {
    anthropic_stream_of(DELTAS)
}

/// The same with `deltas` deltas.
fn anthropic_stream_of(deltas: usize) -> Vec<Bytes> {
    let mut s = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":1200,\"cache_read_input_tokens\":90000,\"output_tokens\":1}}}\n\n\
         event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    );
    for i in 0..deltas {
        s.push_str(&format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"token {i} of the answer \"}}}}\n\n"
        ));
    }
    s.push_str(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
         event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":600}}\n\n\
         event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    s.as_bytes()
        .chunks(1500)
        .map(Bytes::copy_from_slice)
        .collect()
}

fn run(t: &mut dyn Transcoder, chunks: &[Bytes]) -> usize {
    let mut out = VecDeque::new();
    for c in chunks {
        t.feed(c, &mut out).expect("feeds");
    }
    t.finish(&mut out).expect("finishes");
    out.len()
}

fn streams(c: &mut Criterion) {
    let chunks = anthropic_stream();
    let bytes: usize = chunks.iter().map(Bytes::len).sum();
    let raw = RawRequest::parse(
        Bytes::from_static(
            br#"{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#,
        ),
        BodyKind::ChatCompletions,
    )
    .expect("parses");
    let mut g = c.benchmark_group("stream");
    g.throughput(Throughput::Elements(DELTAS as u64));
    g.bench_function("relay: Anthropic passthrough + metering, 200 deltas", |b| {
        b.iter(|| run(&mut AnthropicPassthrough::default(), black_box(&chunks)))
    });
    g.bench_function(
        "translate: Anthropic SSE -> OpenAI chunks, 200 deltas",
        |b| {
            b.iter(|| {
                let mut t = Translator::new(
                    Box::new(AnthropicDecoder::default()),
                    OpenAiCodec.stream_encoder(&raw),
                    None,
                );
                run(&mut t, black_box(&chunks))
            })
        },
    );
    g.finish();
    let mut g = c.benchmark_group("whole");
    let short = anthropic_stream_of(20);
    let ask = RawRequest::parse(
        Bytes::from_static(
            br#"{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"hi"}]}"#,
        ),
        BodyKind::Messages,
    )
    .expect("parses");
    g.bench_function(
        "whole answer: Anthropic SSE (20 deltas) -> one Anthropic message",
        |b| {
            b.iter(|| {
                let mut t = whole_transcoder(
                    Wire::Anthropic,
                    client_codec(Dialect::Anthropic),
                    &ask,
                    || None,
                    None,
                );
                run(t.as_mut(), black_box(&short))
            })
        },
    );
    g.finish();
    let events: Vec<(String, Vec<u8>)> = chunks
        .concat()
        .split(|b| *b == b'\n')
        .collect::<Vec<_>>()
        .chunks(3)
        .filter_map(|l| {
            let name = std::str::from_utf8(l.first()?.strip_prefix(b"event: ")?).ok()?;
            Some((
                name.to_string(),
                l.get(1)?.strip_prefix(b"data: ")?.to_vec(),
            ))
        })
        .collect();
    assert_eq!(events.len(), DELTAS + 5, "{bytes} bytes split into events");
    c.bench_function("meter: usage of a 200-delta stream", |b| {
        b.iter(|| {
            let mut m = UsageMeter::default();
            for (name, data) in black_box(&events) {
                switchyard::protocol::anthropic::meter::observe(&mut m, name, data);
            }
            m.usage()
        })
    });
}

criterion_group!(stream_benches, streams);
criterion_main!(stream_benches);

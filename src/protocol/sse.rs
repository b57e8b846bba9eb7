//! Server-sent events: an incremental decoder fed arbitrary byte chunks, and
//! the encoder for the events the gateway writes itself.
//!
//! The decoder keeps the exact bytes of every event, so a passthrough relay
//! forwards what the provider wrote without re-encoding it, and event names
//! and data are slices of those bytes (no copy for the usual one-line data).

use bytes::{Bytes, BytesMut};

/// One complete event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    raw: Bytes,
    name: Option<(usize, usize)>,
    data: Data,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Data {
    Slice(usize, usize),
    Joined(Bytes),
}

impl SseEvent {
    /// The event exactly as received, blank line included.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The `event:` field (empty when absent).
    pub fn name(&self) -> &str {
        self.name
            .and_then(|(s, e)| std::str::from_utf8(&self.raw[s..e]).ok())
            .unwrap_or("")
    }

    /// The `data:` lines, joined with `\n`.
    pub fn data(&self) -> &[u8] {
        match &self.data {
            Data::Slice(s, e) => &self.raw[*s..*e],
            Data::Joined(b) => b,
        }
    }
}

/// The stream held more than the limit without completing an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTooLarge(pub usize);

impl From<EventTooLarge> for crate::error::UpstreamError {
    fn from(e: EventTooLarge) -> Self {
        crate::error::UpstreamError::new(
            crate::error::UpstreamErrorKind::Malformed,
            format!("upstream sent an SSE event larger than {} bytes", e.0),
        )
    }
}

/// Incremental SSE decoder.
#[derive(Debug)]
pub struct SseDecoder {
    buf: BytesMut,
    /// Bytes of `buf` already split into lines for the pending event.
    scanned: usize,
    name: Option<(usize, usize)>,
    data: Option<Data>,
    max_event: usize,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new(16 * 1024 * 1024)
    }
}

impl SseDecoder {
    /// A decoder that refuses events larger than `max_event` bytes.
    pub fn new(max_event: usize) -> Self {
        SseDecoder {
            buf: BytesMut::new(),
            scanned: 0,
            name: None,
            data: None,
            max_event,
        }
    }

    /// Add bytes from the wire.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The stream ended: complete an event whose last line ended in a lone
    /// `\r` (which until now could have been the first half of `\r\n`).
    pub fn end_of_stream(&mut self) -> Result<Option<SseEvent>, EventTooLarge> {
        if self.buf.last() == Some(&b'\r') {
            self.buf.extend_from_slice(b"\n");
        }
        self.next_event()
    }

    /// Whether bytes of an incomplete event are buffered.
    pub fn has_partial(&self) -> bool {
        self.buf.iter().any(|b| !b.is_ascii_whitespace())
    }

    /// The next complete event, if the buffered bytes hold one.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, EventTooLarge> {
        loop {
            let rest = &self.buf[self.scanned..];
            let Some(nl) = memchr::memchr2(b'\n', b'\r', rest) else {
                return self.check_size().map(|_| None);
            };
            let line_end = self.scanned + nl;
            let next = if self.buf[line_end] == b'\r' {
                match self.buf.get(line_end + 1) {
                    Some(b'\n') => line_end + 2,
                    Some(_) => line_end + 1,
                    // A trailing '\r' may be the first half of "\r\n".
                    None => return self.check_size().map(|_| None),
                }
            } else {
                line_end + 1
            };
            let line_start = self.scanned;
            self.scanned = next;
            if line_start == line_end {
                if let Some(event) = self.dispatch(next) {
                    return Ok(Some(event));
                }
                continue;
            }
            self.field(line_start, line_end);
        }
    }

    fn check_size(&self) -> Result<(), EventTooLarge> {
        if self.buf.len() > self.max_event {
            Err(EventTooLarge(self.max_event))
        } else {
            Ok(())
        }
    }

    fn field(&mut self, start: usize, end: usize) {
        let line = &self.buf[start..end];
        if line[0] == b':' {
            return; // comment
        }
        let (field_end, value_start) = match memchr::memchr(b':', line) {
            Some(c) if line.get(c + 1) == Some(&b' ') => (start + c, start + c + 2),
            Some(c) => (start + c, start + c + 1),
            None => (end, end),
        };
        match &self.buf[start..field_end] {
            b"event" => self.name = Some((value_start, end)),
            b"data" => {
                self.data = Some(match self.data.take() {
                    None => Data::Slice(value_start, end),
                    Some(prev) => {
                        let mut joined = BytesMut::new();
                        match prev {
                            Data::Slice(s, e) => joined.extend_from_slice(&self.buf[s..e]),
                            Data::Joined(b) => joined.extend_from_slice(&b),
                        }
                        joined.extend_from_slice(b"\n");
                        joined.extend_from_slice(&self.buf[value_start..end]);
                        Data::Joined(joined.freeze())
                    }
                });
            }
            _ => {} // id, retry and unknown fields are not used
        }
    }

    fn dispatch(&mut self, end: usize) -> Option<SseEvent> {
        let raw = self.buf.split_to(end).freeze();
        self.scanned = 0;
        let name = self.name.take();
        // Per the SSE rules an event without data is not dispatched.
        let data = self.data.take()?;
        Some(SseEvent { raw, name, data })
    }
}

/// Write one event as `event: NAME\ndata: DATA\n\n`.
pub fn encode_event(name: &str, data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(name.len() + data.len() + 16);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    out.freeze()
}

/// Write one data-only event as `data: DATA\n\n` (OpenAI style).
pub fn encode_data(data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 8);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/anthropic/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn decode_in_pieces(bytes: &[u8], cuts: &[usize]) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        let mut dec = SseDecoder::default();
        let mut out = Vec::new();
        let mut last = 0;
        for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
            dec.feed(&bytes[last..cut]);
            last = cut;
            while let Some(e) = dec.next_event().unwrap() {
                out.push((e.name().to_string(), e.data().to_vec(), e.raw().to_vec()));
            }
        }
        while let Some(e) = dec.end_of_stream().unwrap() {
            out.push((e.name().to_string(), e.data().to_vec(), e.raw().to_vec()));
        }
        assert!(!dec.has_partial());
        out
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        for name in ["stream_tool_use.sse", "stream_thinking_crlf.sse"] {
            let bytes = fixture(name);
            let whole = decode_in_pieces(&bytes, &[]);
            assert!(whole.len() >= 8, "{name}");
            // raw bytes of all events reproduce the stream (minus comment-only blocks)
            let raw: Vec<u8> = whole.iter().flat_map(|e| e.2.clone()).collect();
            assert!(bytes.ends_with(&raw[raw.len() - 40..]));
            for cut in 1..bytes.len() {
                assert_eq!(
                    decode_in_pieces(&bytes, &[cut]),
                    whole,
                    "{name} split at {cut}"
                );
            }
            // and one byte at a time
            let cuts: Vec<usize> = (1..bytes.len()).collect();
            assert_eq!(
                decode_in_pieces(&bytes, &cuts),
                whole,
                "{name} byte by byte"
            );
        }
    }

    #[test]
    fn names_and_data() {
        let bytes = fixture("stream_tool_use.sse");
        let events = decode_in_pieces(&bytes, &[]);
        assert_eq!(events[0].0, "message_start");
        assert_eq!(events[2].0, "ping");
        assert_eq!(events[2].1, br#"{"type": "ping"}"#);
        assert_eq!(events.last().unwrap().0, "message_stop");
        let crlf = decode_in_pieces(&fixture("stream_thinking_crlf.sse"), &[]);
        assert_eq!(crlf.len(), 10, "the comment line is not an event");
        assert!(
            String::from_utf8(crlf[6].1.clone())
                .unwrap()
                .contains("Café ☕")
        );
    }

    #[test]
    fn multi_line_data_and_odd_fields() {
        let s = b"data:first\ndata: second\nid: 7\nretry: 10\n\n\n\nevent:x\ndata\n\n: only a comment\n\n";
        let events = decode_in_pieces(s, &[]);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].1, b"first\nsecond");
        assert_eq!(events[0].0, "");
        assert_eq!(
            (events[1].0.as_str(), events[1].1.as_slice()),
            ("x", &b""[..])
        );
    }

    #[test]
    fn lone_cr_line_endings() {
        let events = decode_in_pieces(b"event: a\rdata: 1\r\revent: b\rdata: 2\r\r", &[]);
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].1, b"2");
    }

    #[test]
    fn oversized_events_are_refused() {
        let mut dec = SseDecoder::new(64);
        dec.feed(&[b'x'; 100]);
        assert_eq!(dec.next_event(), Err(EventTooLarge(64)));
    }

    #[test]
    fn encoder_round_trips() {
        let raw = encode_event("error", br#"{"type":"error"}"#);
        let events = decode_in_pieces(&raw, &[]);
        assert_eq!(events[0].0, "error");
        assert_eq!(events[0].2, raw.to_vec());
    }
}

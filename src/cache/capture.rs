//! Capturing answers for the cache from what the client was actually sent:
//! a stream is decoded in the client's own dialect as it passes (up to the
//! entry size cap) and assembled into the whole answer; a JSON answer is
//! decoded once. Only complete, successful answers are stored.

use super::entry::{Entry, Origin};
use super::{Pending, ResponseCache};
use crate::core::UsageMeter;
use crate::core::{ChatResponse, Dialect, StreamEvent};
use crate::protocol::EventDecoder;
use crate::protocol::client_codec;
use crate::stream::assemble::Assembler;
use crate::stream::{StreamEnd, Tap};
use bytes::Bytes;
use std::sync::Arc;

/// The whole answer in a JSON body sent to a client of `dialect`.
pub fn answer_of(dialect: Dialect, body: &[u8]) -> Option<ChatResponse> {
    client_codec(dialect).decode_answer(body)
}

/// Watches a stream on its way to the client and stores it if it completes.
pub struct Capture {
    cache: Arc<ResponseCache>,
    pending: Pending,
    origin: Origin,
    decoder: Box<dyn EventDecoder>,
    assembler: Assembler,
    events: Vec<StreamEvent>,
    seen: usize,
    given_up: bool,
}

impl Capture {
    /// Capture a stream sent to a client of `dialect`.
    pub fn new(
        cache: Arc<ResponseCache>,
        pending: Pending,
        origin: Origin,
        dialect: Dialect,
    ) -> Self {
        Capture {
            cache,
            pending,
            origin,
            decoder: client_codec(dialect).stream_decoder(),
            assembler: Assembler::default(),
            events: Vec::new(),
            seen: 0,
            given_up: false,
        }
    }

    fn take_events(&mut self) {
        for e in self.events.drain(..) {
            self.assembler.push(&e);
        }
    }
}

impl Tap for Capture {
    fn chunk(&mut self, chunk: &Bytes) {
        if self.given_up {
            return;
        }
        self.seen += chunk.len();
        if self.seen > self.pending.max_bytes {
            // Too large to keep: stop looking.
            self.given_up = true;
            self.events = Vec::new();
            self.assembler = Assembler::default();
            return;
        }
        match self.decoder.feed(chunk, &mut self.events) {
            Ok(()) => self.take_events(),
            Err(_) => self.given_up = true,
        }
    }

    fn end(mut self: Box<Self>, end: &StreamEnd, meter: &UsageMeter) {
        if self.given_up || !matches!(end, StreamEnd::Completed) || meter.error.is_some() {
            return;
        }
        if self.decoder.finish(&mut self.events).is_err() {
            return;
        }
        self.take_events();
        let Capture {
            cache,
            pending,
            origin,
            assembler,
            ..
        } = *self;
        if let Some(answer) = assembler.finish() {
            let entry = Entry {
                answer,
                origin,
                usage: meter.usage(),
            };
            cache.put_later(pending, entry);
        }
    }
}

//! Capturing answers for the cache from what the client was actually sent:
//! a stream is decoded in the client's own dialect as it passes (up to the
//! entry size cap) and assembled into the whole answer; a JSON answer is
//! decoded once. Only complete, successful answers are stored.

use super::entry::{Entry, Origin};
use super::{Pending, ResponseCache};
use crate::core::{ChatResponse, Dialect, StreamEvent};
use crate::providers::{anthropic, bedrock, openai};
use crate::stream::assemble::Assembler;
use crate::stream::{EventDecoder, StreamEnd, Tap, UsageMeter};
use bytes::Bytes;
use std::sync::Arc;

/// A decoder for what a client of `dialect` is sent.
fn decoder_for(dialect: Dialect) -> Box<dyn EventDecoder> {
    match dialect {
        Dialect::Anthropic => Box::new(anthropic::stream::AnthropicDecoder::default()),
        Dialect::OpenAi => Box::new(openai::decode::OpenAiDecoder::default()),
        Dialect::Bedrock => Box::new(bedrock::eventstream::BedrockDecoder::default()),
    }
}

/// The whole answer in a JSON body sent to a client of `dialect`.
pub fn answer_of(dialect: Dialect, body: &[u8]) -> Option<ChatResponse> {
    match dialect {
        Dialect::Anthropic | Dialect::Bedrock => anthropic::decode_answer(body).ok(),
        Dialect::OpenAi => openai::decode::decode_answer(body).ok(),
    }
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
            decoder: decoder_for(dialect),
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

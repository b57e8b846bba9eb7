//! Translation between stream formats through canonical events.
//!
//! The upstream's protocol contributes an [`EventDecoder`] (its bytes →
//! canonical events), the client's dialect an [`EventEncoder`] (canonical
//! events → its bytes);
//! the [`Translator`] drives both, meters the events, and — for providers
//! whose answers may be unusable — holds output back behind an
//! [`AnswerGuard`] until the answer has shown it is sound, so a bad answer
//! can still be retried elsewhere.

use super::guard::AnswerGuard;
use crate::core::{StreamEvent, UsageMeter};
use crate::error::UpstreamError;
use crate::protocol::{EventDecoder, EventEncoder, Transcoder};
use bytes::Bytes;
use std::collections::VecDeque;

/// Decoder + encoder + meter (+ guard): a translating transcoder.
pub struct Translator {
    decoder: Box<dyn EventDecoder>,
    encoder: Box<dyn EventEncoder>,
    meter: UsageMeter,
    guard: Option<AnswerGuard>,
    events: Vec<StreamEvent>,
}

impl Translator {
    /// Translate with `decoder` and `encoder`; `guard` holds output back
    /// until the answer is known to be usable.
    pub fn new(
        decoder: Box<dyn EventDecoder>,
        encoder: Box<dyn EventEncoder>,
        guard: Option<AnswerGuard>,
    ) -> Self {
        Translator {
            decoder,
            encoder,
            meter: UsageMeter::default(),
            guard,
            events: Vec::new(),
        }
    }

    fn emit(&mut self, out: &mut VecDeque<Bytes>) -> Result<(), UpstreamError> {
        for event in std::mem::take(&mut self.events) {
            self.meter.observe_event(&event);
            match &mut self.guard {
                Some(guard) => {
                    for released in guard.push(event) {
                        self.encoder.encode(&released, out);
                    }
                }
                None => self.encoder.encode(&event, out),
            }
        }
        Ok(())
    }
}

impl Transcoder for Translator {
    fn feed(&mut self, chunk: &[u8], out: &mut VecDeque<Bytes>) -> Result<(), UpstreamError> {
        self.decoder.feed(chunk, &mut self.events)?;
        self.emit(out)
    }

    fn finish(&mut self, out: &mut VecDeque<Bytes>) -> Result<(), UpstreamError> {
        self.decoder.finish(&mut self.events)?;
        self.emit(out)?;
        if let Some(guard) = &mut self.guard {
            for released in guard.finish()? {
                self.encoder.encode(&released, out);
            }
        }
        Ok(())
    }

    fn error_event(&self, error: &UpstreamError) -> Bytes {
        self.encoder.error(error)
    }

    fn meter(&self) -> &UsageMeter {
        &self.meter
    }
}

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
use crate::guard::tool_gate::{ToolGate, Viewed, into_events};
use crate::protocol::{EventDecoder, EventEncoder, Transcoder};
use bytes::Bytes;
use std::collections::VecDeque;

/// Decoder + encoder + meter (+ guard): a translating transcoder.
pub struct Translator {
    decoder: Box<dyn EventDecoder>,
    encoder: Box<dyn EventEncoder>,
    meter: UsageMeter,
    guard: Option<AnswerGuard>,
    gate: Option<ToolGate<StreamEvent>>,
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
            gate: None,
            events: Vec::new(),
        }
    }

    /// Judge the tool calls of the answer with `gate`.
    pub fn with_gate(mut self, gate: Option<ToolGate<StreamEvent>>) -> Self {
        self.gate = gate;
        self
    }

    fn emit(&mut self, out: &mut VecDeque<Bytes>) -> Result<(), UpstreamError> {
        // The buffer goes back afterwards, so a stream allocates it once.
        let mut events = std::mem::take(&mut self.events);
        for event in events.drain(..) {
            self.meter.observe_event(&event);
            match &mut self.guard {
                Some(guard) => {
                    let released = guard.push(event);
                    self.pass(released, out)?;
                }
                None => self.pass(std::iter::once(event), out)?,
            }
        }
        self.events = events;
        Ok(())
    }

    /// Events past the answer guard: through the tool gate, then encoded.
    fn pass(
        &mut self,
        events: impl IntoIterator<Item = StreamEvent>,
        out: &mut VecDeque<Bytes>,
    ) -> Result<(), UpstreamError> {
        let Some(gate) = &mut self.gate else {
            for e in events {
                self.encoder.encode(&e, out);
            }
            return Ok(());
        };
        let (mut gated, mut encoded) = (Vec::new(), Vec::new());
        for e in events {
            let view = Viewed::of(&e);
            gate.push(view.as_seen(), e, &mut gated)?;
        }
        gated.drain(..).for_each(|g| into_events(g, &mut encoded));
        self.meter.refused_tools = gate.refused().iter().map(|v| v.note()).collect();
        for e in &encoded {
            self.encoder.encode(e, out);
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
            let released = guard.finish()?;
            self.pass(released, out)?;
        }
        if let Some(gate) = &mut self.gate {
            let (mut gated, mut events) = (Vec::new(), Vec::new());
            gate.finish(&mut gated);
            gated.drain(..).for_each(|g| into_events(g, &mut events));
            for e in &events {
                self.encoder.encode(e, out);
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

//! The relay: a pull-based response body that carries an upstream stream to
//! the client.
//!
//! No task is spawned and nothing is queued beyond the events of the chunk in
//! hand: the relay reads the upstream only when the client asks for more, so
//! a slow client slows the upstream read. It enforces the idle-gap and total
//! timeouts, turns failures after the first byte into an error event in the
//! client's dialect, and reports how the stream ended exactly once — also
//! when the client goes away and the body is dropped, which drops (and so
//! cancels) the upstream request.

use crate::core::UsageMeter;
use crate::error::{TimeoutKind, UpstreamError, UpstreamErrorKind};
use crate::protocol::Transcoder;
use bytes::Bytes;
use futures_util::Stream;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Upstream body bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, UpstreamError>> + Send>>;

/// How a relayed stream ended.
#[derive(Debug, Clone)]
pub enum StreamEnd {
    /// The upstream finished the message.
    Completed,
    /// The upstream failed after the first byte; the client got an error event.
    Failed(UpstreamError),
    /// The client went away first.
    ClientGone,
    /// The gateway stopped it (shutting down); the client got an error event.
    Stopped,
}

/// A signal that ends relays early (the gateway is shutting down).
pub type StopSignal = Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Called once with the way the stream ended and its meter.
pub type OnEnd = Box<dyn FnOnce(StreamEnd, &UsageMeter) + Send>;

/// Sees every chunk the client is sent, then how the stream ended (the
/// response cache captures answers this way).
pub trait Tap: Send {
    /// A chunk on its way to the client.
    fn chunk(&mut self, chunk: &Bytes);
    /// The stream ended (called before the [`OnEnd`]).
    fn end(self: Box<Self>, end: &StreamEnd, meter: &UsageMeter);
}

/// The relay body.
pub struct Relay {
    upstream: ByteStream,
    transcoder: Box<dyn Transcoder>,
    out: VecDeque<Bytes>,
    idle: Duration,
    idle_timer: Pin<Box<Sleep>>,
    deadline: Pin<Box<Sleep>>,
    ended: Option<StreamEnd>,
    finished: bool,
    on_end: Option<OnEnd>,
    tap: Option<Box<dyn Tap>>,
    stop: Option<StopSignal>,
    /// Bytes sent so far, and the most the client may get.
    sent: u64,
    max_bytes: Option<u64>,
}

/// The error for an answer past `cap` bytes.
pub fn too_large(cap: u64) -> UpstreamError {
    UpstreamError::new(
        UpstreamErrorKind::TooLarge,
        format!("the answer grew past the gateway's limit of {cap} bytes"),
    )
}

impl Relay {
    /// Relay `upstream` through `transcoder` with the given idle gap and
    /// absolute deadline.
    pub fn new(
        upstream: ByteStream,
        transcoder: Box<dyn Transcoder>,
        idle: Duration,
        deadline: Instant,
    ) -> Self {
        Relay {
            upstream,
            transcoder,
            out: VecDeque::new(),
            idle,
            idle_timer: Box::pin(tokio::time::sleep(idle)),
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            ended: None,
            finished: false,
            on_end: None,
            tap: None,
            stop: None,
            sent: 0,
            max_bytes: None,
        }
    }

    /// Cut the answer off with an error once it passes `max` bytes.
    pub fn limit_bytes(&mut self, max: Option<u64>) {
        self.max_bytes = max;
    }

    /// End the stream with an error event (`overloaded`, "shutting down")
    /// when `signal` resolves.
    pub fn stop_on(&mut self, signal: StopSignal) {
        self.stop = Some(signal);
    }

    /// Read until the first client event is ready: the first upstream
    /// chunk by `first_by`, each next within the idle gap (a gate may hold
    /// a whole tool call back), all by the deadline. A failure here has not
    /// reached the client, so the caller may retry elsewhere. An `error`
    /// event that arrives before any content counts as such a failure.
    pub async fn first_event(&mut self, first_by: Instant) -> Result<(), UpstreamError> {
        use futures_util::StreamExt;
        let deadline = self.deadline.deadline();
        let mut started = false;
        while self.out.is_empty() {
            let (limit, kind) = if started {
                (Instant::now() + self.idle, TimeoutKind::Idle)
            } else {
                (first_by, TimeoutKind::FirstByte)
            };
            let (limit, kind) = if limit >= deadline {
                (deadline, TimeoutKind::Total)
            } else {
                (limit, kind)
            };
            let next = tokio::time::timeout_at(limit, self.upstream.next())
                .await
                .map_err(|_| UpstreamError::timeout(kind))?;
            match next {
                Some(Ok(chunk)) => {
                    started = true;
                    self.transcoder.feed(&chunk, &mut self.out)?
                }
                Some(Err(e)) => return Err(e),
                None => {
                    self.transcoder.finish(&mut self.out)?;
                    if self.out.is_empty() {
                        return Err(self.error_before_content().unwrap_or_else(|| {
                            UpstreamError::new(
                                UpstreamErrorKind::Transport,
                                "upstream closed the stream before its first event",
                            )
                        }));
                    }
                }
            }
        }
        if let Some(e) = self.error_before_content() {
            return Err(e);
        }
        self.idle_timer.as_mut().reset(Instant::now() + self.idle);
        Ok(())
    }

    /// The error event the provider sent before any content, if it did.
    fn error_before_content(&self) -> Option<UpstreamError> {
        let meter = self.transcoder.meter();
        let error = meter.error.as_ref().filter(|_| meter.content_events == 0)?;
        Some(UpstreamError::new(
            crate::error::kind_for_anthropic_error_type(&error.kind),
            format!(
                "upstream stream error before any content: {}",
                error.message
            ),
        ))
    }

    /// Set what to call when the stream ends (once the client owns it).
    pub fn on_end(&mut self, f: OnEnd) {
        self.on_end = Some(f);
    }

    /// Let `tap` see what the client is sent.
    pub fn tap(&mut self, tap: Box<dyn Tap>) {
        self.tap = Some(tap);
    }

    /// The meter so far.
    pub fn meter(&self) -> &UsageMeter {
        self.transcoder.meter()
    }

    fn fail(&mut self, error: UpstreamError) {
        self.out.push_back(self.transcoder.error_event(&error));
        self.ended = Some(StreamEnd::Failed(error));
    }

    /// End with an error event: the gateway is shutting down.
    fn stopped(&mut self) {
        let error = UpstreamError::new(
            UpstreamErrorKind::Overloaded,
            "the gateway is shutting down; retry the request",
        );
        self.out.push_back(self.transcoder.error_event(&error));
        self.ended = Some(StreamEnd::Stopped);
    }

    fn report(&mut self, end: StreamEnd) {
        if let Some(tap) = self.tap.take() {
            tap.end(&end, self.transcoder.meter());
        }
        if let Some(f) = self.on_end.take() {
            f(end, self.transcoder.meter());
        }
    }
}

impl Stream for Relay {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(chunk) = this.out.pop_front() {
                this.sent += chunk.len() as u64;
                if let Some(cap) = this.max_bytes.filter(|cap| this.sent > *cap)
                    && this.ended.is_none()
                {
                    this.out.clear();
                    this.max_bytes = None;
                    this.fail(too_large(cap));
                    continue;
                }
                if let Some(tap) = &mut this.tap {
                    tap.chunk(&chunk);
                }
                return Poll::Ready(Some(Ok(chunk)));
            }
            if this.finished {
                return Poll::Ready(None);
            }
            if let Some(end) = this.ended.take() {
                this.finished = true;
                this.report(end);
                return Poll::Ready(None);
            }
            if this.deadline.as_mut().poll(cx).is_ready() {
                this.fail(UpstreamError::timeout(TimeoutKind::Total));
                continue;
            }
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    this.idle_timer.as_mut().reset(Instant::now() + this.idle);
                    if let Err(e) = this.transcoder.feed(&chunk, &mut this.out) {
                        this.fail(e);
                    }
                }
                Poll::Ready(Some(Err(e))) => this.fail(e),
                Poll::Ready(None) => match this.transcoder.finish(&mut this.out) {
                    Ok(()) => this.ended = Some(StreamEnd::Completed),
                    Err(e) => this.fail(e),
                },
                Poll::Pending => {
                    if this.idle_timer.as_mut().poll(cx).is_ready() {
                        this.fail(UpstreamError::timeout(TimeoutKind::Idle));
                        continue;
                    }
                    // Only while waiting: a relay that is handed data is
                    // polled again, and sees the stop then.
                    if this
                        .stop
                        .as_mut()
                        .is_some_and(|s| s.as_mut().poll(cx).is_ready())
                    {
                        this.stop = None;
                        this.stopped();
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if !self.finished {
            let end = self.ended.take().unwrap_or(StreamEnd::ClientGone);
            self.report(end);
        }
    }
}

//! Who gets a client connection. A cap bounds them: `[clients]
//! max_connections`, and never more than the open-file limit leaves once a
//! quarter of it (at least 64) is kept for upstream connections, the ledger
//! and logs — past it `accept` would fail and real clients would wait in
//! the kernel's queue. When the cap is reached, the oldest connection that
//! has not sent a single byte yet is closed to make room, so idle sockets
//! cannot lock real clients out; only when every connection is busy is a
//! new one refused. Reaching the cap is logged, at most once a minute.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How long a new connection waits for an evicted one's slot.
const ROOM_WAIT: Duration = Duration::from_millis(50);

/// A connection that has not spoken yet, as the admission sees it.
#[derive(Default)]
pub struct Silent {
    /// It sent its first byte, ended, or was told to go.
    settled: AtomicBool,
    /// Told to go, to make room.
    evict: Notify,
}

/// A connection's place: its slot, and its line to be evicted while silent.
pub struct Ticket {
    _slot: OwnedSemaphorePermit,
    silent: Arc<Silent>,
}

impl Ticket {
    /// Resolves if the connection is to close to make room (only while it
    /// has not spoken).
    pub async fn evicted(&self) {
        self.silent.evict.notified().await
    }

    /// The connection sent its first byte (or is ending): no longer evictable.
    pub fn spoke(&self) {
        self.silent.settled.store(true, Ordering::SeqCst);
    }
}

/// Admits client connections under the cap.
pub struct Admission {
    slots: Arc<Semaphore>,
    cap: usize,
    silent: VecDeque<Arc<Silent>>,
    warned: Option<Instant>,
}

/// The soft open-file limit of this process, where the system says.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The cap: the configured one, lowered to what `open_files` leaves.
pub fn cap(configured: usize, open_files: Option<usize>) -> usize {
    match open_files {
        Some(n) => configured.min(n.saturating_sub((n / 4).max(64)).max(1)),
        None => configured,
    }
}

impl Admission {
    /// Admission for at most `configured` connections (fewer when the
    /// open-file limit is lower).
    pub fn new(configured: usize) -> Self {
        let limit = open_file_limit();
        let cap = cap(configured, limit);
        if cap < configured {
            tracing::info!(
                cap,
                open_file_limit = limit,
                "client connections capped below [clients] max_connections by the open-file limit"
            );
        }
        Admission {
            slots: Arc::new(Semaphore::new(cap)),
            cap,
            silent: VecDeque::new(),
            warned: None,
        }
    }

    /// A place for a new connection: a free slot, or one made by closing
    /// the oldest silent connection. `None`: every connection is busy.
    pub async fn admit(&mut self) -> Option<Ticket> {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Some(self.ticket(slot));
        }
        let evicted = self.evict_oldest_silent();
        self.warn(evicted);
        if evicted
            && let Ok(Ok(slot)) =
                tokio::time::timeout(ROOM_WAIT, self.slots.clone().acquire_owned()).await
        {
            metrics::counter!("switchyard_connections_evicted_total").increment(1);
            return Some(self.ticket(slot));
        }
        metrics::counter!("switchyard_connections_refused_total").increment(1);
        None
    }

    fn ticket(&mut self, slot: OwnedSemaphorePermit) -> Ticket {
        while self
            .silent
            .front()
            .is_some_and(|s| s.settled.load(Ordering::SeqCst))
        {
            self.silent.pop_front();
        }
        if self.silent.len() > 2 * self.cap {
            self.silent.retain(|s| !s.settled.load(Ordering::SeqCst));
        }
        let silent = Arc::new(Silent::default());
        self.silent.push_back(silent.clone());
        Ticket {
            _slot: slot,
            silent,
        }
    }

    fn evict_oldest_silent(&mut self) -> bool {
        while let Some(s) = self.silent.pop_front() {
            if !s.settled.swap(true, Ordering::SeqCst) {
                s.evict.notify_one();
                return true;
            }
        }
        false
    }

    fn warn(&mut self, evicted: bool) {
        let now = Instant::now();
        if self
            .warned
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(60))
        {
            return;
        }
        self.warned = Some(now);
        let what = if evicted {
            "closing the oldest connections that have sent nothing to make room"
        } else {
            "every connection is busy: refusing new ones"
        };
        tracing::warn!(
            cap = self.cap,
            "client connection limit reached; {what} (logged once a minute)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_file_limit_lowers_the_cap() {
        assert_eq!(cap(10_000, Some(1024)), 768);
        assert_eq!(cap(10_000, Some(100)), 36);
        assert_eq!(cap(500, Some(1_048_576)), 500);
        assert_eq!(cap(10_000, None), 10_000);
        assert_eq!(cap(10_000, Some(10)), 1);
    }

    #[tokio::test]
    async fn a_silent_connection_makes_room_and_a_busy_one_does_not() {
        let mut a = Admission {
            slots: Arc::new(Semaphore::new(2)),
            cap: 2,
            silent: VecDeque::new(),
            warned: None,
        };
        let first = a.admit().await.unwrap();
        let second = a.admit().await.unwrap();
        second.spoke();
        // Full: the first (silent) is told to go; its slot frees when it does.
        let waiter = tokio::spawn(async move {
            first.evicted().await;
            drop(first);
        });
        let third = a.admit().await;
        assert!(third.is_some(), "room made");
        waiter.await.unwrap();
        let third = third.unwrap();
        third.spoke();
        // Both busy now: refused.
        assert!(a.admit().await.is_none());
        drop(second);
        assert!(
            a.admit().await.is_some(),
            "a slot freed by a connection ending"
        );
    }
}

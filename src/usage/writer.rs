//! The ledger writer: finished records are priced and queued on a bounded
//! channel (the request path never waits on the database); one task writes
//! them in batches (by size or every flush interval) and purges rows past
//! the retention.
//!
//! Losses are bounded and counted: a full queue drops the record (metric
//! `switchyard_ledger_dropped_total`); a shutdown drains the queue and
//! writes everything; a crash (`kill -9`) loses what was queued or in the
//! unwritten batch — at most one flush interval's worth of records.

use super::baseline::BaselineCache;
use super::ledger::{LedgerRow, Pricer};
use super::record::{RecordSink, RequestRecord};
use crate::store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Writer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterConfig {
    /// Records the queue holds.
    pub capacity: usize,
    /// Records per insert.
    pub batch: usize,
    /// Longest time a record waits for its batch.
    pub flush_interval: Duration,
    /// Rows older than this are deleted (none: kept forever).
    pub retention: Option<Duration>,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            capacity: 20_000,
            batch: 500,
            flush_interval: Duration::from_millis(250),
            retention: Some(Duration::from_secs(365 * 86_400)),
        }
    }
}

/// What the writer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Rows written.
    pub written: u64,
    /// Rows given up on (database unavailable at shutdown).
    pub lost: u64,
}

/// The record sink: queues records for the writer, which prices them off
/// the request path.
#[derive(Debug)]
pub struct Ledger {
    tx: mpsc::Sender<RequestRecord>,
    dropped: AtomicU64,
}

impl Ledger {
    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl RecordSink for Ledger {
    fn record(&self, record: &RequestRecord) {
        if self.tx.try_send(record.clone()).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            metrics::counter!("switchyard_ledger_dropped_total").increment(1);
            if n.is_power_of_two() {
                tracing::error!(dropped = n, "ledger queue full or closed: records dropped");
            }
        }
    }
}

/// The running writer task.
pub struct LedgerWriter {
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<WriterStats>,
}

impl LedgerWriter {
    /// Drain the queue, write everything, and stop.
    pub async fn close(self) -> WriterStats {
        let _ = self.shutdown.send(());
        self.task.await.unwrap_or_default()
    }
}

/// Start the writer for `store`.
pub fn start(store: Store, pricer: Pricer, config: WriterConfig) -> (Arc<Ledger>, LedgerWriter) {
    let (tx, rx) = mpsc::channel(config.capacity.max(1));
    let (shutdown_tx, shutdown_rx) = oneshot::channel();
    let task = tokio::spawn(run(store, rx, shutdown_rx, config, pricer));
    (
        Arc::new(Ledger {
            tx,
            dropped: AtomicU64::new(0),
        }),
        LedgerWriter {
            shutdown: shutdown_tx,
            task,
        },
    )
}

async fn flush(store: &Store, batch: &mut Vec<LedgerRow>, stats: &mut WriterStats, closing: bool) {
    if batch.is_empty() {
        return;
    }
    let mut delay = Duration::from_millis(200);
    for attempt in 1.. {
        match store.insert(batch).await {
            Ok(()) => {
                stats.written += batch.len() as u64;
                metrics::counter!("switchyard_ledger_written_total").increment(batch.len() as u64);
                batch.clear();
                return;
            }
            Err(e) if closing && attempt >= 5 => {
                tracing::error!(error = %e, rows = batch.len(), "ledger write failed at shutdown: rows lost");
                stats.lost += batch.len() as u64;
                batch.clear();
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, rows = batch.len(), attempt, "ledger write failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn purge(store: &Store, retention: Duration) {
    let cutoff = std::time::SystemTime::now()
        .checked_sub(retention)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64);
    if let Some(cutoff) = cutoff {
        match store.purge_before(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "ledger retention: old rows deleted"),
            Err(e) => tracing::warn!(error = %e, "ledger retention purge failed"),
        }
    }
}

/// Prices records in the order they finish.
struct Pricing {
    pricer: Pricer,
    baseline: BaselineCache,
}

impl Pricing {
    fn row(&mut self, r: &RequestRecord) -> LedgerRow {
        let own = self.pricer.baseline_served(r);
        let usage = self.baseline.usage_for(r, own);
        LedgerRow::from_record(r, &self.pricer, &usage)
    }
}

async fn run(
    store: Store,
    mut rx: mpsc::Receiver<RequestRecord>,
    mut shutdown: oneshot::Receiver<()>,
    config: WriterConfig,
    pricer: Pricer,
) -> WriterStats {
    let mut pricing = Pricing {
        pricer,
        baseline: BaselineCache::default(),
    };
    let mut stats = WriterStats::default();
    let mut batch: Vec<LedgerRow> = Vec::with_capacity(config.batch);
    let mut tick = tokio::time::interval(config.flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retention_tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            row = rx.recv() => match row {
                Some(r) => {
                    batch.push(pricing.row(&r));
                    if batch.len() >= config.batch {
                        flush(&store, &mut batch, &mut stats, false).await;
                    }
                }
                None => break,
            },
            _ = tick.tick() => flush(&store, &mut batch, &mut stats, false).await,
            _ = retention_tick.tick() => {
                if let Some(r) = config.retention {
                    purge(&store, r).await;
                }
            }
            _ = &mut shutdown => {
                while let Ok(r) = rx.try_recv() {
                    batch.push(pricing.row(&r));
                    if batch.len() >= config.batch {
                        flush(&store, &mut batch, &mut stats, true).await;
                    }
                }
                break;
            }
        }
    }
    flush(&store, &mut batch, &mut stats, true).await;
    tracing::info!(
        written = stats.written,
        lost = stats.lost,
        "ledger writer stopped"
    );
    stats
}

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
use super::spend_gauges::SpendGauges;
use crate::store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Writer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterConfig {
    /// Records the queue holds.
    pub capacity: usize,
    /// Records per insert.
    pub batch: usize,
    /// Longest time a record waits for its batch.
    pub flush_interval: Duration,
    /// Rows older than this are deleted (none: kept forever).
    pub retention: Option<Duration>,
    /// How long the provider keeps a prompt cached (the baseline's simulated
    /// cache; `[router] cache_ttl`).
    pub cache_ttl: Duration,
    /// Where rows the database cannot take at shutdown are kept, and read
    /// back (and written) at the next start; `None`: they are lost.
    pub spool: Option<std::path::PathBuf>,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            capacity: 20_000,
            batch: 500,
            flush_interval: Duration::from_millis(250),
            retention: Some(Duration::from_secs(365 * 86_400)),
            cache_ttl: Duration::from_secs(300),
            spool: None,
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
    /// Rows kept in the spool file for the next start.
    pub spooled: u64,
    /// Rows read back from the spool file at start.
    pub replayed: u64,
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

/// Rows kept while the database is unreachable; older ones are dropped
/// (and counted lost) past this.
const MAX_PENDING: usize = 100_000;
/// Longest wait for one insert (a frozen database must not hold shutdown).
const INSERT_TIMEOUT: Duration = Duration::from_secs(5);
/// Insert attempts at shutdown before the rows are spooled.
const CLOSING_ATTEMPTS: u32 = 3;
/// How long shutdown waits on the database in all: past it, what is left
/// goes to the spool (so SIGTERM ends within `shutdown_timeout` + 5 s).
const CLOSING_BUDGET: Duration = Duration::from_secs(4);

/// The writer's view of the database: when to try again after a failure.
#[derive(Default)]
struct Backoff {
    failures: u32,
    until: Option<tokio::time::Instant>,
    /// Shutdown found the database unreachable: the rest is lost at once.
    gave_up: bool,
    /// When shutdown stops waiting on the database.
    closing_by: Option<tokio::time::Instant>,
}

async fn insert(store: &Store, batch: &[LedgerRow], wait: Duration) -> Result<(), String> {
    match tokio::time::timeout(wait, store.insert(batch)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer in {:.1} s", wait.as_secs_f64())),
    }
}

/// Write `batch`. While the database fails, rows stay queued and the writer
/// returns to its loop (so it still sees new rows and shutdown), trying
/// again after a growing pause; at shutdown it tries a few times, then
/// counts what it could not write as lost.
async fn flush(
    store: &Store,
    batch: &mut Vec<LedgerRow>,
    stats: &mut WriterStats,
    backoff: &mut Backoff,
    closing: bool,
    spool: Option<&std::path::Path>,
) {
    if batch.is_empty() {
        return;
    }
    if !closing
        && backoff
            .until
            .is_some_and(|t| tokio::time::Instant::now() < t)
    {
        if batch.len() > MAX_PENDING {
            let excess = batch.len() - MAX_PENDING;
            batch.drain(..excess);
            stats.lost += excess as u64;
        }
        return;
    }
    let attempts = match (closing, backoff.gave_up) {
        (true, true) => 0,
        // Known to be failing: one last try.
        (true, false) if backoff.failures > 0 => 1,
        (true, false) => CLOSING_ATTEMPTS,
        (false, _) => 1,
    };
    let closing_by = closing.then(|| {
        *backoff
            .closing_by
            .get_or_insert_with(|| tokio::time::Instant::now() + CLOSING_BUDGET)
    });
    for attempt in 1..=attempts {
        let left = closing_by.map_or(INSERT_TIMEOUT, |by| {
            by.saturating_duration_since(tokio::time::Instant::now())
        });
        if left.is_zero() {
            break;
        }
        let wait = INSERT_TIMEOUT.min(left);
        match insert(store, batch, wait).await {
            Ok(()) => {
                stats.written += batch.len() as u64;
                metrics::counter!("switchyard_ledger_written_total").increment(batch.len() as u64);
                batch.clear();
                *backoff = Backoff {
                    closing_by: backoff.closing_by,
                    ..Backoff::default()
                };
                return;
            }
            Err(e) => {
                backoff.failures += 1;
                let pause = Duration::from_millis(200 * 2u64.pow(backoff.failures.min(5)));
                backoff.until = Some(tokio::time::Instant::now() + pause);
                if backoff.failures.is_power_of_two() {
                    tracing::error!(error = %e, rows = batch.len(), failures = backoff.failures, "ledger write failed; rows kept, retrying");
                }
                if closing && attempt < attempts {
                    tokio::time::sleep(pause.min(Duration::from_secs(1))).await;
                }
            }
        }
    }
    if closing {
        backoff.gave_up = true;
        match spool.map(|path| (path, spool_rows(path, batch))) {
            Some((path, Ok(()))) => {
                tracing::warn!(
                    rows = batch.len(),
                    file = %path.display(),
                    "ledger unreachable at shutdown: rows spooled; the next start writes them"
                );
                stats.spooled += batch.len() as u64;
            }
            Some((path, Err(e))) => {
                tracing::error!(rows = batch.len(), file = %path.display(), error = %e, "ledger unreachable at shutdown and the spool failed: rows lost");
                stats.lost += batch.len() as u64;
            }
            None => {
                tracing::error!(
                    rows = batch.len(),
                    "ledger unreachable at shutdown: rows lost"
                );
                stats.lost += batch.len() as u64;
            }
        }
        batch.clear();
    }
}

/// Append `rows` to `path` (JSON Lines).
fn spool_rows(path: &std::path::Path, rows: &[LedgerRow]) -> std::io::Result<()> {
    use std::io::Write;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut f = std::io::BufWriter::new(file);
    for r in rows {
        serde_json::to_writer(&mut f, r)?;
        f.write_all(b"\n")?;
    }
    f.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Take the rows a previous run spooled (none when there is no file): the
/// file is removed once read, and the rows go to the database like new
/// ones (spooled again if it is still down at the next shutdown; a row
/// written twice is kept once). Unreadable lines are skipped with a warning.
fn take_spool(path: &std::path::Path) -> Vec<LedgerRow> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!(file = %path.display(), error = %e, "could not remove the ledger spool after reading it");
    }
    let mut rows = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str(line) {
            Ok(r) => rows.push(r),
            Err(e) => {
                tracing::warn!(file = %path.display(), line = i + 1, error = %e, "spooled ledger row unreadable; skipped")
            }
        }
    }
    rows
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
    spend: SpendGauges,
}

impl Pricing {
    fn row(&mut self, r: &RequestRecord) -> LedgerRow {
        let own = self.pricer.baseline_served(r);
        let usage = self.baseline.usage_for(r, own);
        let row = LedgerRow::from_record(r, &self.pricer, &usage);
        self.spend.count(&row);
        row
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
        baseline: BaselineCache::new(config.cache_ttl),
        spend: SpendGauges::default(),
    };
    let mut stats = WriterStats::default();
    let mut backoff = Backoff::default();
    let mut batch: Vec<LedgerRow> = Vec::with_capacity(config.batch);
    let spool = config.spool.as_deref();
    if let Some(path) = spool {
        batch.extend(take_spool(path));
        if !batch.is_empty() {
            stats.replayed = batch.len() as u64;
            tracing::info!(rows = batch.len(), file = %path.display(), "writing the ledger rows spooled at the last shutdown");
        }
    }
    let mut tick = tokio::time::interval(config.flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retention_tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            row = rx.recv() => match row {
                Some(r) => {
                    batch.push(pricing.row(&r));
                    if batch.len() >= config.batch {
                        // A write that hangs must not hold shutdown back.
                        tokio::select! {
                            () = flush(&store, &mut batch, &mut stats, &mut backoff, false, spool) => {}
                            _ = &mut shutdown => break,
                        }
                    }
                }
                None => break,
            },
            _ = tick.tick() => tokio::select! {
                () = flush(&store, &mut batch, &mut stats, &mut backoff, false, spool) => {}
                _ = &mut shutdown => break,
            },
            _ = retention_tick.tick() => {
                if let Some(r) = config.retention {
                    purge(&store, r).await;
                }
            }
            _ = &mut shutdown => break,
        }
    }
    while let Ok(r) = rx.try_recv() {
        batch.push(pricing.row(&r));
        if batch.len() >= config.batch {
            flush(&store, &mut batch, &mut stats, &mut backoff, true, spool).await;
        }
    }
    flush(&store, &mut batch, &mut stats, &mut backoff, true, spool).await;
    tracing::info!(
        written = stats.written,
        spooled = stats.spooled,
        lost = stats.lost,
        "ledger writer stopped"
    );
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Dialect;

    async fn store() -> Store {
        let dir = std::env::temp_dir().join(format!("switchyard-writer-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        Store::connect(&crate::store::sqlite_url(&dir.join("l.db")))
            .await
            .unwrap()
    }

    fn record(i: usize) -> RequestRecord {
        RequestRecord::start(format!("r{i}"), Dialect::Anthropic, "messages")
    }

    /// With the database failing, the writer keeps its rows, still stops at
    /// once when told to, and says what it lost; before the failure every
    /// row was written.
    #[tokio::test]
    async fn a_failing_database_never_holds_shutdown() {
        let store = store().await;
        let config = WriterConfig {
            flush_interval: Duration::from_millis(20),
            ..WriterConfig::default()
        };
        let (ledger, writer) = start(store.clone(), Pricer::default(), config);
        for i in 0..10 {
            ledger.record(&record(i));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        sqlx::query("DROP TABLE requests")
            .execute(store.pool())
            .await
            .unwrap();
        for i in 10..25 {
            ledger.record(&record(i));
        }
        // Several failed flushes while running: the rows wait.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let started = std::time::Instant::now();
        let stats = writer.close().await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!((stats.written, stats.lost), (10, 15));
    }

    /// Rows the database could not take at shutdown wait in the spool file
    /// and are written by the next start.
    #[tokio::test]
    async fn rows_spooled_at_shutdown_are_written_at_the_next_start() {
        let store = store().await;
        let spool =
            std::env::temp_dir().join(format!("switchyard-spool-{}.jsonl", uuid::Uuid::now_v7()));
        let config = WriterConfig {
            flush_interval: Duration::from_millis(20),
            spool: Some(spool.clone()),
            ..WriterConfig::default()
        };
        sqlx::query("ALTER TABLE requests RENAME TO requests_away")
            .execute(store.pool())
            .await
            .unwrap();
        let (ledger, writer) = start(store.clone(), Pricer::default(), config.clone());
        for i in 0..7 {
            ledger.record(&record(i));
        }
        let stats = writer.close().await;
        assert_eq!((stats.written, stats.spooled, stats.lost), (0, 7, 0));
        assert_eq!(std::fs::read_to_string(&spool).unwrap().lines().count(), 7);
        // The database is back: the next start writes them and the file goes.
        sqlx::query("ALTER TABLE requests_away RENAME TO requests")
            .execute(store.pool())
            .await
            .unwrap();
        let (_ledger, writer) = start(store.clone(), Pricer::default(), config);
        let stats = writer.close().await;
        assert_eq!((stats.replayed, stats.written), (7, 7));
        assert!(!spool.exists());
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM requests")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(n, 7);
    }
}

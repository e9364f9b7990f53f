//! The embedded adapter: SQLite (bundled) in WAL mode, one file under the data directory.
//!
//! Writes commit with `synchronous = FULL`, so a committed write survives `kill -9` and power
//! loss. Calls run on the blocking thread pool. Writes go through the one writer connection
//! (SQLite takes one writer at a time anyway); reads through a few read-only connections,
//! which in WAL mode each see every write committed before they start, so one slow search
//! never holds up the rest of the platform.

mod catalog;
mod commerce;
mod consumers;
mod identity;
mod payments;
mod schema;
mod stores;
mod webhooks;

use std::{
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use async_trait::async_trait;
use rusqlite::Connection;

use super::{
    AuditRepository, CatalogRepository, CommerceRepository, ConsumerRepository, CustomerRepository,
    OutboxRepository, PaymentRepository, SessionRepository, Storage, StorageError, StorageResult,
    StoreRepository, TeamRepository, TokenRepository, UserRepository, faults::Faults,
};

/// How many read-only connections serve reads.
const READERS: usize = 4;

/// The read-only connections, handed out round robin.
struct Readers {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl Readers {
    /// A free reader right now, if any.
    fn try_free(&self) -> Option<std::sync::MutexGuard<'_, Connection>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..self.conns.len()).find_map(|offset| {
            self.conns[(start + offset) % self.conns.len()]
                .try_lock()
                .ok()
        })
    }

    /// A reader, waiting for one when all are busy.
    fn any(&self) -> StorageResult<std::sync::MutexGuard<'_, Connection>> {
        if let Some(free) = self.try_free() {
            return Ok(free);
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len();
        self.conns[index]
            .lock()
            .map_err(|_| StorageError::Unavailable(anyhow::anyhow!("reader mutex poisoned")))
    }
}

fn open_reader(path: &Path) -> anyhow::Result<Connection> {
    use rusqlite::OpenFlags;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening a reader of {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

#[derive(Clone)]
pub struct EmbeddedStorage {
    conn: Arc<Mutex<Connection>>,
    readers: Arc<Readers>,
    /// Injected failures (tests only; empty otherwise).
    faults: Faults,
    /// How long a request waits for the database before it answers 503.
    timeout: Duration,
}

/// The default of [`EmbeddedStorage::with_timeout`].
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl EmbeddedStorage {
    /// Opens (creating if needed) the database file and its directory.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating data directory {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening embedded database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let conns = (0..READERS)
            .map(|_| open_reader(path).map(Mutex::new))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::new(Readers {
                conns,
                next: AtomicUsize::new(0),
            }),
            faults: Faults::default(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The same storage, giving up on a database call after `timeout` (the request answers
    /// 503; a write already under way still finishes or rolls back whole).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Waits for blocking database work, at most [`Self::timeout`].
    async fn bounded<T>(
        &self,
        work: tokio::task::JoinHandle<StorageResult<T>>,
    ) -> StorageResult<T> {
        match tokio::time::timeout(self.timeout, work).await {
            Ok(joined) => joined.map_err(|e| {
                StorageError::Unavailable(anyhow::Error::new(e).context("storage task failed"))
            })?,
            Err(_) => Err(StorageError::Unavailable(anyhow::anyhow!(
                "the database did not answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    /// The same storage, failing where `faults` says (tests of compensation).
    #[must_use]
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// For point reads that take microseconds (a store by slug, the catalogue versions): runs
    /// `work` right here on a free reader, else on the blocking pool like [`Self::read`]. Saves
    /// a thread hand-off on the hottest read paths without ever waiting for a lock on an
    /// async thread.
    async fn read_point<T, F>(&self, work: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StorageResult<T> + Send + 'static,
    {
        if let Some(mut reader) = self.readers.try_free() {
            return work(&mut reader);
        }
        self.read(work).await
    }

    /// Runs a read-only `work` on a reader connection, on the blocking pool.
    async fn read<T, F>(&self, work: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StorageResult<T> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        self.bounded(tokio::task::spawn_blocking(move || {
            work(&mut *readers.any()?)
        }))
        .await
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn call<T, F>(&self, work: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StorageResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        self.bounded(tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| {
                StorageError::Unavailable(anyhow::anyhow!("connection mutex poisoned"))
            })?;
            work(&mut guard)
        }))
        .await
    }
}

/// Maps SQLite failures: unique violations become conflicts named by the caller.
fn sql_error(constraint: &'static str) -> impl Fn(rusqlite::Error) -> StorageError {
    move |error| match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => StorageError::Conflict(constraint),
        _ => unavailable(error),
    }
}

fn unavailable(error: rusqlite::Error) -> StorageError {
    StorageError::Unavailable(anyhow::Error::new(error))
}

#[async_trait]
impl Storage for EmbeddedStorage {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    async fn migrate(&self) -> StorageResult<()> {
        self.call(|conn| schema::migrate(conn).map_err(unavailable))
            .await
    }

    async fn ping(&self) -> StorageResult<()> {
        self.call(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(unavailable)
        })
        .await
    }

    fn stores(&self) -> &dyn StoreRepository {
        self
    }

    fn users(&self) -> &dyn UserRepository {
        self
    }

    fn customers(&self) -> &dyn CustomerRepository {
        self
    }

    fn teams(&self) -> &dyn TeamRepository {
        self
    }

    fn tokens(&self) -> &dyn TokenRepository {
        self
    }

    fn sessions(&self) -> &dyn SessionRepository {
        self
    }

    fn outbox(&self) -> &dyn OutboxRepository {
        self
    }

    fn audit(&self) -> &dyn AuditRepository {
        self
    }

    fn catalog(&self) -> &dyn CatalogRepository {
        self
    }

    fn commerce(&self) -> &dyn CommerceRepository {
        self
    }

    fn payments(&self) -> &dyn PaymentRepository {
        self
    }

    fn consumers(&self) -> &dyn ConsumerRepository {
        self
    }

    fn webhooks(&self) -> &dyn super::WebhookRepository {
        self
    }
}

#[cfg(test)]
mod tests {
    use techverse_shared::StoreSlug;

    use super::*;

    #[tokio::test]
    async fn reads_go_on_while_the_writer_and_a_reader_are_busy() {
        let dir = tempfile::tempdir().unwrap();
        let storage = EmbeddedStorage::open(&dir.path().join("t.sqlite3")).unwrap();
        storage.migrate().await.unwrap();
        let slug = StoreSlug::parse("busy").unwrap();
        // Another thread holds the writer (a long transaction) and a reader (a long search).
        let (held, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let busy = {
            let (writer, readers) = (Arc::clone(&storage.conn), Arc::clone(&storage.readers));
            std::thread::spawn(move || {
                let _writing = writer.lock().unwrap();
                let _searching = readers.conns[0].lock().unwrap();
                held.0.send(()).unwrap();
                release.1.recv().unwrap();
            })
        };
        held.1.recv().unwrap();
        let read =
            tokio::time::timeout(Duration::from_secs(5), storage.stores().by_slug(&slug)).await;
        release.0.send(()).unwrap();
        busy.join().unwrap();
        assert!(matches!(read, Ok(Ok(None))), "{read:?}");
    }
}

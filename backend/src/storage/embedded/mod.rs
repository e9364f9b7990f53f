//! The embedded adapter: SQLite (bundled) in WAL mode, one file under the data directory.
//!
//! Writes commit with `synchronous = FULL`, so a committed write survives `kill -9` and power
//! loss. Calls run on the blocking thread pool; the connection sits behind a mutex.

mod catalog;
mod commerce;
mod identity;
mod schema;
mod stores;

use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use async_trait::async_trait;
use rusqlite::Connection;

use super::{
    AuditRepository, CatalogRepository, CommerceRepository, CustomerRepository, OutboxRepository,
    SessionRepository, Storage, StorageError, StorageResult, StoreRepository, TeamRepository,
    TokenRepository, UserRepository, faults::Faults,
};

#[derive(Clone)]
pub struct EmbeddedStorage {
    conn: Arc<Mutex<Connection>>,
    /// Injected failures (tests only; empty otherwise).
    faults: Faults,
}

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
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            faults: Faults::default(),
        })
    }

    /// The same storage, failing where `faults` says (tests of compensation).
    #[must_use]
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// For point reads that take microseconds (a store by slug, the catalogue version): runs
    /// `work` right here when the connection is free, else on the blocking pool like
    /// [`Self::call`]. Saves a thread hand-off on the hottest read paths without ever waiting
    /// for the lock on an async thread.
    async fn read_point<T, F>(&self, work: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StorageResult<T> + Send + 'static,
    {
        if let Ok(mut guard) = self.conn.try_lock() {
            return work(&mut guard);
        }
        self.call(work).await
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn call<T, F>(&self, work: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StorageResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| {
                StorageError::Unavailable(anyhow::anyhow!("connection mutex poisoned"))
            })?;
            work(&mut guard)
        })
        .await
        .map_err(|e| {
            StorageError::Unavailable(anyhow::Error::new(e).context("storage task failed"))
        })?
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
}

//! The storage port: traits for the persisted aggregates, and the two adapters behind them.
//!
//! The adapter is chosen once at startup ([`connect`]) and held as `Arc<dyn Storage>`; nothing
//! else knows which one runs. Every method on tenant data takes the store scope first.

pub mod embedded;
pub mod mongo;

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use secrecy::ExposeSecret;
use techverse_shared::{StoreId, StoreSlug, StoreStatus};

use crate::{config::Settings, domain::store::Store};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A uniqueness rule was broken; the name says which (`stores.slug`).
    #[error("unique constraint {0} violated")]
    Conflict(&'static str),
    /// The database could not be reached or failed.
    #[error("storage unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A stored record no longer parses into its domain type.
    #[error("stored record is invalid: {0}")]
    Corrupt(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// Stores (tenants). These are platform-level records, so no store scope precedes them.
#[async_trait]
pub trait StoreRepository: Send + Sync {
    /// Inserts a new store; a taken slug is `Conflict("stores.slug")`.
    async fn insert(&self, store: &Store) -> StorageResult<()>;
    async fn by_id(&self, id: StoreId) -> StorageResult<Option<Store>>;
    async fn by_slug(&self, slug: &StoreSlug) -> StorageResult<Option<Store>>;
    /// Stores ordered by slug, starting after `after`, at most `limit` of them.
    async fn list(&self, after: Option<&StoreSlug>, limit: u32) -> StorageResult<Vec<Store>>;
    /// Sets the status, returning the updated store (None when it does not exist).
    async fn set_status(
        &self,
        id: StoreId,
        status: StoreStatus,
        at: Timestamp,
    ) -> StorageResult<Option<Store>>;
}

/// One storage backend: every repository plus health and schema management.
#[async_trait]
pub trait Storage: Send + Sync {
    /// `embedded` or `mongo`, for logs and `/ready`.
    fn kind(&self) -> &'static str;
    /// Creates or upgrades tables and indexes. Idempotent.
    async fn migrate(&self) -> StorageResult<()>;
    /// Answers whether the database responds right now.
    async fn ping(&self) -> StorageResult<()>;
    fn stores(&self) -> &dyn StoreRepository;
}

/// Opens the adapter the configuration asks for: MongoDB when a URI is set, else the embedded
/// database under the data directory. Schema and indexes are brought up to date.
pub async fn connect(settings: &Settings) -> anyhow::Result<Arc<dyn Storage>> {
    let storage: Arc<dyn Storage> = match &settings.mongodb_uri {
        Some(uri) => Arc::new(
            mongo::MongoStorage::connect(uri.expose_secret(), &settings.mongodb_database).await?,
        ),
        None => Arc::new(embedded::EmbeddedStorage::open(
            &settings.embedded_db_path(),
        )?),
    };
    storage.migrate().await?;
    Ok(storage)
}

//! The MongoDB adapter (official driver 3.x), used when `TECHVERSE_MONGODB_URI` is set.
//!
//! Filters, updates and index definitions are built by the pure functions in [`query`], each
//! unit-tested; this module only sends them. Only features Amazon DocumentDB also supports are
//! used (plain CRUD, unique and compound indexes, no `$lookup` pipelines or change streams).

mod catalog;
mod commerce;
mod consumers;
mod identity;
mod payments;
pub mod query;
mod saga;
mod stores;
mod webhooks;

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use mongodb::{
    Client, Collection, Database,
    bson::{Document, doc},
    error::{ErrorKind, WriteFailure},
    options::ClientOptions,
};

use super::{
    AuditRepository, CatalogRepository, CommerceRepository, CustomerRepository, OutboxRepository,
    PaymentRepository, SessionRepository, Storage, StorageError, StorageResult, StoreRepository,
    TeamRepository, TokenRepository, UserRepository, faults::Faults,
};

pub struct MongoStorage {
    db: Database,
    stores: Collection<Document>,
    /// Injected failures (tests only; empty otherwise).
    faults: Faults,
}

impl MongoStorage {
    /// Connects lazily (the driver dials on first use) and picks the database: the one named in
    /// the URI, else `default_database`.
    pub async fn connect(uri: &str, default_database: &str) -> anyhow::Result<Self> {
        let mut options = ClientOptions::parse(uri)
            .await
            .context("parsing the MongoDB connection string")?;
        options
            .app_name
            .get_or_insert_with(|| "techverse".to_owned());
        options
            .server_selection_timeout
            .get_or_insert(Duration::from_secs(5));
        options
            .connect_timeout
            .get_or_insert(Duration::from_secs(5));
        let client = Client::with_options(options).context("creating the MongoDB client")?;
        let db = client
            .default_database()
            .unwrap_or_else(|| client.database(default_database));
        Ok(Self::with_database(db))
    }

    fn collection(&self, name: &str) -> Collection<Document> {
        self.db.collection(name)
    }

    pub fn with_database(db: Database) -> Self {
        Self {
            stores: db.collection(query::STORES),
            db,
            faults: Faults::default(),
        }
    }

    /// The same storage, failing where `faults` says (tests of the saga's compensation).
    #[must_use]
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }
}

/// Duplicate-key errors (code 11000) become conflicts named by the caller.
fn mongo_error(constraint: &'static str) -> impl Fn(mongodb::error::Error) -> StorageError {
    move |error| {
        if is_duplicate_key(&error) {
            StorageError::Conflict(constraint)
        } else {
            unavailable(error)
        }
    }
}

fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    const DUPLICATE_KEY: i32 = 11000;
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(write)) => write.code == DUPLICATE_KEY,
        ErrorKind::Command(command) => command.code == DUPLICATE_KEY,
        _ => false,
    }
}

fn unavailable(error: mongodb::error::Error) -> StorageError {
    StorageError::Unavailable(anyhow::Error::new(error))
}

/// Runs a find to its end, collecting every document.
async fn collect(find: mongodb::action::Find<'_, Document>) -> StorageResult<Vec<Document>> {
    use futures_util::TryStreamExt;
    find.await
        .map_err(unavailable)?
        .try_collect()
        .await
        .map_err(unavailable)
}

/// Runs an aggregation pipeline and reads every row.
async fn aggregate(
    collection: &Collection<Document>,
    pipeline: Vec<Document>,
) -> StorageResult<Vec<Document>> {
    use futures_util::TryStreamExt;
    collection
        .aggregate(pipeline)
        .await
        .map_err(unavailable)?
        .try_collect()
        .await
        .map_err(unavailable)
}

#[async_trait]
impl Storage for MongoStorage {
    fn kind(&self) -> &'static str {
        "mongo"
    }

    async fn migrate(&self) -> StorageResult<()> {
        for (collection, indexes) in query::indexes() {
            self.db
                .collection::<Document>(collection)
                .create_indexes(indexes)
                .await
                .map_err(unavailable)?;
        }
        self.backfill_inventory().await?;
        self.start_consumers_at_heads().await
    }

    async fn ping(&self) -> StorageResult<()> {
        self.db
            .run_command(doc! { "ping": 1 })
            .await
            .map(drop)
            .map_err(unavailable)
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

    fn consumers(&self) -> &dyn crate::storage::ConsumerRepository {
        self
    }

    fn webhooks(&self) -> &dyn crate::storage::WebhookRepository {
        self
    }
}

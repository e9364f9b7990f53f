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
use techverse_shared::{
    CategoryId, CustomerId, ProductId, ProductStatus, StoreId, StoreSlug, StoreStatus, UserId,
    VariantId,
};

use crate::{
    config::Settings,
    domain::{
        access::Team,
        account::{Customer, Email, StaffUser},
        audit::{AuditEntry, AuditQuery},
        catalog::{Category, Product},
        events::StoreEvent,
        mail::OutgoingMail,
        session::{AccountRef, Rotation, Session},
        store::Store,
        token::{OneTimeToken, TokenPurpose},
    },
};

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

/// Staff accounts (platform-level).
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// A taken email is `Conflict("users.email")`.
    async fn insert(&self, user: &StaffUser) -> StorageResult<()>;
    async fn by_id(&self, id: UserId) -> StorageResult<Option<StaffUser>>;
    async fn by_email(&self, email: &Email) -> StorageResult<Option<StaffUser>>;
    /// Replaces the stored user with this id (the email never changes).
    async fn update(&self, user: &StaffUser) -> StorageResult<()>;
}

/// Customers, each belonging to one store. Emails are unique per store only.
#[async_trait]
pub trait CustomerRepository: Send + Sync {
    /// A taken email in this store is `Conflict("customers.email")`.
    async fn insert(&self, store: StoreId, customer: &Customer) -> StorageResult<()>;
    async fn by_id(&self, store: StoreId, id: CustomerId) -> StorageResult<Option<Customer>>;
    async fn by_email(&self, store: StoreId, email: &Email) -> StorageResult<Option<Customer>>;
    /// Replaces the customer with this id in this store; another store's id changes nothing.
    async fn update(&self, store: StoreId, customer: &Customer) -> StorageResult<()>;
}

/// Each store's staff and custom roles, saved as a whole with optimistic concurrency.
#[async_trait]
pub trait TeamRepository: Send + Sync {
    /// Stores a new team at version 1; a second team for a store is `Conflict("teams.store")`.
    async fn create(&self, team: &Team) -> StorageResult<()>;
    async fn get(&self, store: StoreId) -> StorageResult<Option<Team>>;
    /// Saves `team` (read at `team.version`) as version + 1. `false` when someone else saved
    /// in between: reload and try again.
    async fn save(&self, team: &Team) -> StorageResult<bool>;
    /// The stores where `user` is a member.
    async fn stores_of(&self, user: UserId) -> StorageResult<Vec<StoreId>>;
}

/// Single-use tokens, stored by hash.
#[async_trait]
pub trait TokenRepository: Send + Sync {
    /// Stores the token, replacing any earlier token of the same purpose and subject.
    async fn insert(&self, token: &OneTimeToken) -> StorageResult<()>;
    /// Atomically deletes and returns the token if it exists, has this purpose and has not
    /// expired at `now`. A second call with the same hash finds nothing.
    async fn consume(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: Timestamp,
    ) -> StorageResult<Option<OneTimeToken>>;
}

/// Refresh sessions. Implemented by each storage adapter (single-machine mode keeps them
/// across restarts) and by Redis (`crate::auth::sessions`).
#[async_trait]
pub trait SessionRepository: Send + Sync {
    async fn insert(&self, session: &Session) -> StorageResult<()>;
    /// A live (unexpired) session.
    async fn get(&self, id: &str, now: Timestamp) -> StorageResult<Option<Session>>;
    /// If the session's current hash is `presented_hash`, replaces it with `new_hash` and
    /// extends it to `expires_at`; if the session exists with another hash, deletes it (reuse).
    async fn rotate(
        &self,
        id: &str,
        presented_hash: &str,
        new_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StorageResult<Rotation>;
    /// Deletes one session; `false` when there was none.
    async fn revoke(&self, id: &str) -> StorageResult<bool>;
    /// Deletes every session of an account, returning how many there were.
    async fn revoke_account(&self, account: &AccountRef) -> StorageResult<u64>;
}

/// The persisted mail outbox.
#[async_trait]
pub trait OutboxRepository: Send + Sync {
    async fn enqueue(&self, mail: &OutgoingMail) -> StorageResult<()>;
    /// Claims up to `limit` messages due at `now` whose lease has run out, leasing them until
    /// `lease_until` so no other worker sends them meanwhile.
    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<OutgoingMail>>;
    /// The message was accepted by the transport: it leaves the outbox.
    async fn mark_sent(&self, id: &str) -> StorageResult<()>;
    /// The attempt failed: record it and release the message until `next_attempt_at`.
    async fn retry_later(
        &self,
        id: &str,
        attempts: i64,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> StorageResult<()>;
    /// Messages still waiting (for `/metrics` and tests).
    async fn pending(&self) -> StorageResult<u64>;
}

/// The append-only audit log. There is deliberately no update or delete.
#[async_trait]
pub trait AuditRepository: Send + Sync {
    async fn append(&self, entry: &AuditEntry) -> StorageResult<()>;
    /// Entries of one store, newest first, matching the query.
    async fn list(&self, store: StoreId, query: &AuditQuery) -> StorageResult<Vec<AuditEntry>>;
}

/// What a stock adjustment found.
#[derive(Debug, Clone, PartialEq)]
pub enum StockChange {
    /// Applied; the product as saved.
    Adjusted(Box<Product>),
    /// The change would take stock on hand below zero or below what orders hold reserved.
    Insufficient {
        on_hand: i64,
        reserved: i64,
    },
    NotFound,
}

impl From<crate::domain::catalog::StockRefusal> for StockChange {
    fn from(refusal: crate::domain::catalog::StockRefusal) -> Self {
        use crate::domain::catalog::StockRefusal;
        match refusal {
            StockRefusal::UnknownVariant => Self::NotFound,
            StockRefusal::Insufficient { on_hand, reserved } => {
                Self::Insufficient { on_hand, reserved }
            }
        }
    }
}

/// Products, categories, wishlists, the catalogue version and the store event log. Every
/// method takes the store first.
#[async_trait]
pub trait CatalogRepository: Send + Sync {
    /// A taken slug is `Conflict("products.slug")`, a taken SKU `Conflict("products.sku")`.
    async fn insert_product(&self, store: StoreId, product: &Product) -> StorageResult<()>;
    /// Saves `product` (read at `product.version`) as version + 1; `false` when it changed in
    /// between. Same conflicts as insert.
    async fn save_product(&self, store: StoreId, product: &Product) -> StorageResult<bool>;
    async fn product(&self, store: StoreId, id: ProductId) -> StorageResult<Option<Product>>;
    async fn product_by_slug(&self, store: StoreId, slug: &str) -> StorageResult<Option<Product>>;
    /// The store's products (with this status, if given), newest first.
    async fn products(
        &self,
        store: StoreId,
        status: Option<ProductStatus>,
    ) -> StorageResult<Vec<Product>>;
    /// Active products matching every word of `text` (words as prefixes), best match first.
    /// `words` are plain lower-case words: no query syntax ever reaches the database.
    async fn search(
        &self,
        store: StoreId,
        words: &[String],
        limit: u32,
    ) -> StorageResult<Vec<ProductId>>;
    /// Titles of active products with a word starting with `prefix` (lower-case).
    async fn suggest(&self, store: StoreId, prefix: &str, limit: u32)
    -> StorageResult<Vec<String>>;
    /// Adds `delta` to a variant's stock on hand, atomically, refusing to go below what is
    /// reserved (or below zero).
    async fn adjust_stock(
        &self,
        store: StoreId,
        product: ProductId,
        variant: VariantId,
        delta: i64,
    ) -> StorageResult<StockChange>;
    async fn categories(&self, store: StoreId) -> StorageResult<Vec<Category>>;
    /// A taken slug is `Conflict("categories.slug")`.
    async fn insert_category(&self, store: StoreId, category: &Category) -> StorageResult<()>;
    /// `false` when there is no such category.
    async fn update_category(&self, store: StoreId, category: &Category) -> StorageResult<bool>;
    async fn delete_category(&self, store: StoreId, id: CategoryId) -> StorageResult<bool>;
    async fn wishlist(&self, store: StoreId, customer: CustomerId)
    -> StorageResult<Vec<ProductId>>;
    /// Adds (idempotently) a product to a customer's wishlist.
    async fn wishlist_add(
        &self,
        store: StoreId,
        customer: CustomerId,
        product: ProductId,
    ) -> StorageResult<()>;
    async fn wishlist_remove(
        &self,
        store: StoreId,
        customer: CustomerId,
        product: ProductId,
    ) -> StorageResult<bool>;
    /// The store's catalogue version (0 before the first write).
    async fn catalog_version(&self, store: StoreId) -> StorageResult<i64>;
    /// Bumps and returns the catalogue version: every cached catalogue page of the store is stale.
    async fn bump_catalog_version(&self, store: StoreId) -> StorageResult<i64>;
    /// Appends an event, numbering it after the store's last one; returns its number.
    async fn append_event(&self, store: StoreId, event: &StoreEvent) -> StorageResult<i64>;
    /// Events after `after`, oldest first.
    async fn events(
        &self,
        store: StoreId,
        after: i64,
        limit: u32,
    ) -> StorageResult<Vec<StoreEvent>>;
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
    fn users(&self) -> &dyn UserRepository;
    fn customers(&self) -> &dyn CustomerRepository;
    fn teams(&self) -> &dyn TeamRepository;
    fn tokens(&self) -> &dyn TokenRepository;
    fn sessions(&self) -> &dyn SessionRepository;
    fn outbox(&self) -> &dyn OutboxRepository;
    fn audit(&self) -> &dyn AuditRepository;
    fn catalog(&self) -> &dyn CatalogRepository;
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

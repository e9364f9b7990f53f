//! The storage port: traits for the persisted aggregates, and the two adapters behind them.
//!
//! The adapter is chosen once at startup ([`connect`]) and held as `Arc<dyn Storage>`; nothing
//! else knows which one runs. Every method on tenant data takes the store scope first.

pub mod embedded;
pub mod faults;
pub mod mongo;

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use secrecy::ExposeSecret;
use techverse_shared::{
    CartId, CategoryId, CustomerId, DiscountId, OrderId, OrderStatus, PaymentStatus, ProductId,
    ProductStatus, ReviewId, ReviewStatus, StoreId, StoreSlug, StoreStatus, UserId, VariantId,
    WebhookDeliveryId, WebhookId,
};

use crate::{
    config::Settings,
    domain::{
        access::Team,
        account::{Customer, Email, StaffUser},
        audit::{AuditEntry, AuditQuery},
        cart::Cart,
        catalog::{Category, Product},
        discount::{Discount, ReturnedUse},
        events::StoreEvent,
        mail::OutgoingMail,
        order::{Order, StockMove},
        payment::{ConnectedAccount, EventRecord, PaymentAttempt, ProviderEvent},
        review::Review,
        session::{AccountRef, Rotation, RotationRequest, Session},
        shipping::CheckoutSettings,
        store::Store,
        token::{OneTimeToken, TokenPurpose},
        webhook::{Delivery, WebhookEndpoint},
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
    /// The session store (Redis) could not be reached: sessions fail closed.
    #[error("session store unavailable")]
    SessionsUnavailable(#[source] anyhow::Error),
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
    /// Saves the store's name, currency, country, time zone, details and `updated_at` (never
    /// its status, slug or id), returning it as stored (None when it does not exist).
    async fn update_profile(&self, store: &Store) -> StorageResult<Option<Store>>;
}

/// Staff accounts (platform-level).
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// A taken email is `Conflict("users.email")`.
    async fn insert(&self, user: &StaffUser) -> StorageResult<()>;
    async fn by_id(&self, id: UserId) -> StorageResult<Option<StaffUser>>;
    async fn by_email(&self, email: &Email) -> StorageResult<Option<StaffUser>>;
    /// Saves `user` (read at `user.version`) as version + 1 (the email never changes);
    /// `false` when it was saved meanwhile: reload and apply the change again.
    async fn update(&self, user: &StaffUser) -> StorageResult<bool>;
}

/// Customers, each belonging to one store. Emails are unique per store only.
#[async_trait]
pub trait CustomerRepository: Send + Sync {
    /// A taken email in this store is `Conflict("customers.email")`.
    async fn insert(&self, store: StoreId, customer: &Customer) -> StorageResult<()>;
    async fn by_id(&self, store: StoreId, id: CustomerId) -> StorageResult<Option<Customer>>;
    async fn by_email(&self, store: StoreId, email: &Email) -> StorageResult<Option<Customer>>;
    /// Saves `customer` (read at `customer.version`) as version + 1 in this store; `false` when
    /// it was saved meanwhile (reload and apply the change again) or belongs to another store.
    async fn update(&self, store: StoreId, customer: &Customer) -> StorageResult<bool>;
    /// The store's customers by email, after `after` (an email), whose email starts with
    /// `email_prefix` (lower-case) when given; at most `limit`.
    async fn list(
        &self,
        store: StoreId,
        email_prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> StorageResult<Vec<Customer>>;
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
    /// The token, if it exists with this purpose and has not expired, leaving it in place.
    async fn find(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: Timestamp,
    ) -> StorageResult<Option<OneTimeToken>>;
    /// Unexpired staff invitations into `store`, newest first (at most `limit`).
    async fn invitations(
        &self,
        store: StoreId,
        now: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<OneTimeToken>>;
    /// Deletes the token with this hash; `false` when there was none.
    async fn delete(&self, hash: &str) -> StorageResult<bool>;
    /// Deletes tokens that expired before `now`; returns how many.
    async fn delete_expired(&self, now: Timestamp) -> StorageResult<u64>;
}

/// Refresh sessions. Implemented by each storage adapter (single-machine mode keeps them
/// across restarts) and by Redis (`crate::auth::sessions`).
#[async_trait]
pub trait SessionRepository: Send + Sync {
    async fn insert(&self, session: &Session) -> StorageResult<()>;
    /// A live (unexpired) session.
    async fn get(&self, id: &str, now: Timestamp) -> StorageResult<Option<Session>>;
    /// Atomically applies [`Session::answer`]: the current hash rotates to `new_hash` (and the
    /// session lives until `expires_at`); the hash rotated away within the grace window, leading
    /// to the current one, repeats that rotation and changes nothing; anything else deletes the
    /// session (reuse). Two concurrent rotations from one hash never both rotate.
    async fn rotate(&self, id: &str, request: &RotationRequest<'_>) -> StorageResult<Rotation>;
    /// Deletes one session; `false` when there was none.
    async fn revoke(&self, id: &str) -> StorageResult<bool>;
    /// Deletes every live session of the account, however long ago it was created or last
    /// rotated, returning how many there were.
    async fn revoke_account(&self, account: &AccountRef) -> StorageResult<u64>;
}

/// The persisted mail outbox.
#[async_trait]
pub trait OutboxRepository: Send + Sync {
    /// Queues the message; `false` (and nothing queued) when a message with its id was queued
    /// before, sent or not: a consumer handed the same event twice queues its mail once.
    async fn enqueue(&self, mail: &OutgoingMail) -> StorageResult<bool>;
    /// Claims up to `limit` messages due at `now` whose lease has run out, leasing them until
    /// `lease_until` so no other worker sends them meanwhile.
    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<OutgoingMail>>;
    /// The message was accepted by the transport: it is never due again. Its id stays (see
    /// [`Self::enqueue`]) until [`Self::purge_sent`] removes it.
    async fn mark_sent(&self, id: &str, at: Timestamp) -> StorageResult<()>;
    /// Forgets messages sent before `before`; returns how many.
    async fn purge_sent(&self, before: Timestamp) -> StorageResult<u64>;
    /// The attempt failed: record it and release the message until `next_attempt_at`.
    async fn retry_later(
        &self,
        id: &str,
        attempts: i64,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> StorageResult<()>;
    /// The message is undeliverable: it stays (for an operator to see), never sent again.
    async fn give_up(
        &self,
        id: &str,
        attempts: i64,
        at: Timestamp,
        error: &str,
    ) -> StorageResult<()>;
    /// Messages still waiting (for `/metrics` and tests).
    async fn pending(&self) -> StorageResult<u64>;
    /// Messages given up on.
    async fn dead(&self) -> StorageResult<u64>;
}

/// Where a store stands for one event consumer: the newest event in its log and the last one
/// the consumer was handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerLag {
    pub store: StoreId,
    pub head: i64,
    pub position: i64,
}

/// Event consumers' positions in each store's log, claimed with a lease so several instances
/// share the work: the holder of a store's lease hands its events on, then advances.
#[async_trait]
pub trait ConsumerRepository: Send + Sync {
    /// Stores whose log holds events `consumer` has not been handed (`head > position`), at
    /// most `limit`. A store the consumer never saw starts at 0 (see the migration note in
    /// each adapter: stores that existed before consumers start at their head).
    async fn behind(&self, consumer: &str, limit: u32) -> StorageResult<Vec<ConsumerLag>>;
    /// Takes the lease on (`consumer`, `store`) for `owner` until `lease_until`, when free,
    /// expired at `now` or already `owner`'s; returns the position, or `None` when another
    /// owner holds it.
    async fn claim(
        &self,
        consumer: &str,
        store: StoreId,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StorageResult<Option<i64>>;
    /// Moves `owner`'s position forward to `seq` and gives the lease back; `false` when
    /// `owner` no longer holds it (the lease ran out and another instance took over).
    async fn advance(
        &self,
        consumer: &str,
        store: StoreId,
        owner: &str,
        seq: i64,
    ) -> StorageResult<bool>;
}

/// Merchant webhook endpoints and their deliveries.
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    async fn insert_webhook(&self, endpoint: &WebhookEndpoint) -> StorageResult<()>;
    async fn webhook(
        &self,
        store: StoreId,
        id: WebhookId,
    ) -> StorageResult<Option<WebhookEndpoint>>;
    /// The store's endpoints, oldest first.
    async fn webhooks(&self, store: StoreId) -> StorageResult<Vec<WebhookEndpoint>>;
    /// Saves at the endpoint's version (bumping it); `false` when it changed meanwhile.
    async fn save_webhook(&self, endpoint: &WebhookEndpoint) -> StorageResult<bool>;
    /// Deletes the endpoint and its deliveries; `false` when there was none.
    async fn delete_webhook(&self, store: StoreId, id: WebhookId) -> StorageResult<bool>;
    /// Queues a delivery; `false` (nothing queued) when this event was queued for this
    /// endpoint before.
    async fn insert_delivery(&self, delivery: &Delivery) -> StorageResult<bool>;
    /// Claims up to `limit` pending deliveries due at `now` whose lease ended, leasing them
    /// until `lease_until`.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<Delivery>>;
    async fn save_delivery(&self, delivery: &Delivery) -> StorageResult<()>;
    async fn delivery(
        &self,
        store: StoreId,
        id: WebhookDeliveryId,
    ) -> StorageResult<Option<Delivery>>;
    /// The endpoint's deliveries, newest first, older than `before` when given.
    async fn deliveries(
        &self,
        store: StoreId,
        endpoint: WebhookId,
        before: Option<WebhookDeliveryId>,
        limit: u32,
    ) -> StorageResult<Vec<Delivery>>;
    /// Forgets deliveries created before `before` that are no longer pending.
    async fn delete_deliveries(&self, before: Timestamp) -> StorageResult<u64>;
}

/// The append-only audit log. There is deliberately no update or delete.
#[async_trait]
pub trait AuditRepository: Send + Sync {
    async fn append(&self, entry: &AuditEntry) -> StorageResult<()>;
    /// Entries of one store, newest first, matching the query.
    async fn list(&self, store: StoreId, query: &AuditQuery) -> StorageResult<Vec<AuditEntry>>;
}

/// What cached catalogue responses depend on. `content` changes with every catalogue write and
/// whenever a product goes in or out of stock — everything a product list shows; `stock` with
/// every stock move — units available and sales counts, which product pages and best-selling
/// lists show. A sale that leaves every product in stock changes `stock` only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatalogVersions {
    pub content: i64,
    pub stock: i64,
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
    /// between — its stock or its sales counted included, so a save never writes back an older
    /// sales count. Same conflicts as insert.
    async fn save_product(&self, store: StoreId, product: &Product) -> StorageResult<bool>;
    async fn product(&self, store: StoreId, id: ProductId) -> StorageResult<Option<Product>>;
    async fn product_by_slug(&self, store: StoreId, slug: &str) -> StorageResult<Option<Product>>;
    /// The products with these ids in this store (others' ids find nothing), in no order.
    async fn products_by_ids(
        &self,
        store: StoreId,
        ids: &[ProductId],
    ) -> StorageResult<Vec<Product>>;
    /// The product holding this variant.
    async fn product_by_variant(
        &self,
        store: StoreId,
        variant: VariantId,
    ) -> StorageResult<Option<Product>>;
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
    /// The store's catalogue versions (0 before the first change).
    async fn catalog_versions(&self, store: StoreId) -> StorageResult<CatalogVersions>;
    /// Bumps and returns the content version: every cached catalogue page of the store is
    /// stale. (Stock moves bump the stock version themselves, and the content version only
    /// when a product goes in or out of stock.)
    async fn bump_catalog_version(&self, store: StoreId) -> StorageResult<i64>;
    /// Units sold of each active product of the store (fresher than a product list built
    /// at the content version: sales are stock moves).
    async fn sold_counts(&self, store: StoreId) -> StorageResult<Vec<(ProductId, i64)>>;
    /// Appends an event, numbering it after the store's last one; returns its number. An event
    /// already appended (same id) is not appended again: its number is returned.
    async fn append_event(&self, store: StoreId, event: &StoreEvent) -> StorageResult<i64>;
    /// Events after `after`, oldest first.
    async fn events(
        &self,
        store: StoreId,
        after: i64,
        limit: u32,
    ) -> StorageResult<Vec<StoreEvent>>;
}

/// An idempotency key as checkout scopes it: per store, per customer or cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// `customer:<id>` or `cart:<id>`.
    pub scope: String,
    pub key: String,
    /// SHA-256 of the request body, to tell a replay from a reuse.
    pub request_hash: String,
    /// The order's lookup token, kept with the key so a replay answers exactly as the first
    /// response did (keys are forgotten after a day).
    pub order_token: String,
}

/// What an earlier request with the same key left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    /// `None` while that request is still running.
    pub order_id: Option<OrderId>,
    pub order_token: Option<String>,
}

/// A checkout that stopped before its order was stored (its process died between two saga
/// steps), as the repair pass found it: what it still held, given back once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbandonedCheckout {
    pub store_id: StoreId,
    /// The order the checkout was placing (never stored); the saga's id.
    pub order_id: OrderId,
    pub started_at: Timestamp,
    /// Units reserved per variant, released.
    pub released: Vec<(VariantId, i64)>,
    /// A discount use (total and this buyer's) counted, given back.
    pub discount_returned: bool,
    /// The order number it took, if any: skipped, never reused.
    pub skipped_number: Option<i64>,
}

/// One use of a discount code, counted atomically with the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountUse {
    pub discount_id: DiscountId,
    /// `customer:<id>` or `email:<address>`: whose use it is.
    pub customer_key: String,
    pub usage_limit: Option<i64>,
    pub per_customer_limit: Option<i64>,
}

/// How many unpaid orders may be open in a store at once for one buyer (the same email, or
/// the same customer) and for one client address: holding stock and discount codes with
/// throwaway orders costs an abuser their limit, not the store its stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOrderLimit {
    pub per_buyer: u32,
    pub per_address: u32,
}

/// Which open-order limit a checkout reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenOrderScope {
    Buyer,
    Address,
}

/// Everything checkout writes, all or nothing.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// Refuse the checkout when the buyer or its address has this many unpaid orders open.
    pub open_limit: Option<OpenOrderLimit>,
    /// The order, with `number` still 0: storage assigns the next number of the store.
    pub order: Order,
    pub idempotency: IdempotencyKey,
    pub discount: Option<DiscountUse>,
    /// The cart the order came from; it is deleted with the order.
    pub cart_id: Option<CartId>,
    /// Events to append with the order (their `order` payload numbers are filled in).
    pub events: Vec<StoreEvent>,
}

/// A variant checkout could not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub variant_id: VariantId,
    pub requested: i64,
    pub available: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// Stored: the order with its number.
    Placed(Box<Order>),
    /// Some lines could not be reserved; nothing was written.
    Short(Vec<Shortfall>),
    /// The key was used before: what that request left (compare the hash).
    Seen(IdempotencyRecord),
    /// The discount's usage limit (total or this customer's) was reached meanwhile.
    DiscountUsedUp,
    /// The buyer (or its address) already has `limit` unpaid orders open; nothing was written.
    TooManyOpen { scope: OpenOrderScope, limit: u32 },
}

/// One change of an order: the order as changed (read at `order.version`) and what it causes.
#[derive(Debug, Clone, Copy)]
pub struct OrderChange<'a> {
    pub order: &'a Order,
    pub moves: &'a [StockMove],
    pub events: &'a [StoreEvent],
    /// The discount use checkout counted, given back (the order expired or was cancelled).
    pub returned_discount: Option<&'a ReturnedUse>,
}

/// A staff query over a store's orders: newest first, keyset-paged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    pub status: Option<OrderStatus>,
    pub payment_status: Option<PaymentStatus>,
    pub customer: Option<CustomerId>,
    /// An order number.
    pub number: Option<i64>,
    /// The start of the buyer's email (lower-case).
    pub email_prefix: Option<String>,
    /// Orders strictly older than this `(created_at ms, id)`.
    pub before: Option<(i64, OrderId)>,
    pub limit: u32,
}

/// Carts, discounts, checkout settings, orders (with their stock moves, idempotency keys and
/// numbering) and reviews. Every method takes the store first.
#[async_trait]
pub trait CommerceRepository: Send + Sync {
    async fn insert_cart(&self, store: StoreId, cart: &Cart) -> StorageResult<()>;
    /// A cart that has not expired at `now`.
    async fn cart(&self, store: StoreId, id: CartId, now: Timestamp)
    -> StorageResult<Option<Cart>>;
    /// The customer's live cart, if any.
    async fn customer_cart(
        &self,
        store: StoreId,
        customer: CustomerId,
        now: Timestamp,
    ) -> StorageResult<Option<Cart>>;
    /// Saves `cart` (read at `cart.version`) as version + 1; `false` when it changed meanwhile.
    async fn save_cart(&self, store: StoreId, cart: &Cart) -> StorageResult<bool>;
    async fn delete_cart(&self, store: StoreId, id: CartId) -> StorageResult<bool>;
    /// Deletes carts (of every store) that expired before `now`; returns how many.
    async fn delete_expired_carts(&self, now: Timestamp) -> StorageResult<u64>;

    /// A taken code is `Conflict("discounts.code")`.
    async fn insert_discount(&self, store: StoreId, discount: &Discount) -> StorageResult<()>;
    /// Replaces the discount's fields but never its usage count. `false` when missing.
    async fn update_discount(&self, store: StoreId, discount: &Discount) -> StorageResult<bool>;
    async fn discount(&self, store: StoreId, id: DiscountId) -> StorageResult<Option<Discount>>;
    /// By normalised (upper-case) code.
    async fn discount_by_code(&self, store: StoreId, code: &str)
    -> StorageResult<Option<Discount>>;
    async fn discounts(&self, store: StoreId) -> StorageResult<Vec<Discount>>;
    async fn delete_discount(&self, store: StoreId, id: DiscountId) -> StorageResult<bool>;
    /// How many orders `customer_key` has placed with the discount.
    async fn discount_uses(
        &self,
        store: StoreId,
        id: DiscountId,
        customer_key: &str,
    ) -> StorageResult<i64>;

    async fn checkout_settings(&self, store: StoreId) -> StorageResult<Option<CheckoutSettings>>;
    /// Saves settings read at `settings.version` (0: none yet) as version + 1; `false` when
    /// they changed meanwhile.
    async fn save_checkout_settings(
        &self,
        store: StoreId,
        settings: &CheckoutSettings,
    ) -> StorageResult<bool>;

    /// Checkout, all or nothing: unless the idempotency key was seen, checks the open-order
    /// limit, reserves every line's stock (atomic conditional decrements in variant order; on a
    /// shortfall what was held is released), counts the discount use, numbers and stores the
    /// order, appends its events, records the key and deletes the cart. The open-order count is
    /// exact where checkout is one transaction; on MongoDB it is read before reserving, so
    /// checkouts of one buyer at the very same moment may pass it together.
    async fn place_order(&self, store: StoreId, new: &NewOrder) -> StorageResult<Placement>;
    async fn idempotency_record(
        &self,
        store: StoreId,
        scope: &str,
        key: &str,
    ) -> StorageResult<Option<IdempotencyRecord>>;
    /// Forgets idempotency keys (of every store) created before `before`; returns how many.
    async fn delete_idempotency_keys(&self, before: Timestamp) -> StorageResult<u64>;
    async fn order(&self, store: StoreId, id: OrderId) -> StorageResult<Option<Order>>;
    /// Saves `change.order` (read at its version) as version + 1 with its stock moves, events
    /// and returned discount use. `false` (and nothing written) when the order changed
    /// meanwhile. A reservation that cannot be held is `Conflict("stock.reserve")` and writes
    /// nothing. Once the order is saved its other effects are never lost: an adapter that
    /// cannot apply them at once records them with the order and [`Self::complete_pending`]
    /// finishes them, so the order and its stock never stay apart.
    async fn save_order(&self, store: StoreId, change: &OrderChange<'_>) -> StorageResult<bool>;
    /// Finishes the follow-up work (stock moves, events, discount returns, the checkout's
    /// idempotency key and cart) that an error interrupted after an order was stored, for
    /// orders whose work has waited at least `older_than`; each piece is done once. Returns how
    /// many orders it finished. Nothing to do where every change is one transaction.
    async fn complete_pending(
        &self,
        now: Timestamp,
        older_than: jiff::SignedDuration,
    ) -> StorageResult<u64>;
    /// Finds checkouts that started at least `older_than` before `now` and never stored their
    /// order, and (when `apply`) gives back what they hold — reservations, discount uses, the
    /// idempotency key — each once, recording `inventory.reservation_released` in the store's
    /// log, so a retry with the same key starts afresh. A checkout still running when this
    /// runs can no longer store its order (it fails cleanly). Nothing to find where a
    /// checkout is one transaction.
    async fn repair_checkouts(
        &self,
        now: Timestamp,
        older_than: jiff::SignedDuration,
        apply: bool,
    ) -> StorageResult<Vec<AbandonedCheckout>>;
    async fn orders(&self, store: StoreId, query: &OrderQuery) -> StorageResult<Vec<Order>>;
    /// Unpaid orders of any store whose payment deadline is at or before `now`.
    async fn overdue_orders(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<(StoreId, OrderId)>>;

    /// One review per customer per product: a second is `Conflict("reviews.customer")`.
    async fn insert_review(&self, store: StoreId, review: &Review) -> StorageResult<()>;
    async fn save_review(&self, store: StoreId, review: &Review) -> StorageResult<bool>;
    async fn review(&self, store: StoreId, id: ReviewId) -> StorageResult<Option<Review>>;
    /// Reviews of the store (of one product, with one status, when given), newest first.
    async fn reviews(
        &self,
        store: StoreId,
        product: Option<ProductId>,
        status: Option<ReviewStatus>,
    ) -> StorageResult<Vec<Review>>;
    /// One page of the store's reviews (with one status, when given), newest first: at most
    /// `limit` after skipping `offset` (the moderation queue, which customers can grow).
    async fn review_page(
        &self,
        store: StoreId,
        status: Option<ReviewStatus>,
        offset: u64,
        limit: u32,
    ) -> StorageResult<Vec<Review>>;

    /// Sums over the orders placed from `boundaries[0]` to the last boundary (milliseconds):
    /// one row per step `boundaries[i]..boundaries[i + 1]` that had orders, the orders by
    /// status, and the `top` best sellers by line revenue (sales only: see
    /// [`crate::domain::analytics::SALE_PAYMENT_STATES`]). Computed by the database, never by
    /// reading the orders out.
    async fn order_figures(
        &self,
        store: StoreId,
        boundaries: &[i64],
        top: u32,
    ) -> StorageResult<crate::domain::analytics::OrderFigures>;
}

/// Card payments: each store's connected provider account, the provider events seen (by id),
/// and each order's one payment attempt.
#[async_trait]
pub trait PaymentRepository: Send + Sync {
    async fn connected_account(&self, store: StoreId) -> StorageResult<Option<ConnectedAccount>>;
    /// The store holding this provider account id (webhooks name the account, not the store).
    async fn connected_account_by_id(
        &self,
        account_id: &str,
    ) -> StorageResult<Option<ConnectedAccount>>;
    /// Inserts or replaces the store's account. An account id another store holds is
    /// `Conflict("stripe_accounts.account_id")`.
    async fn save_connected_account(&self, account: &ConnectedAccount) -> StorageResult<()>;

    /// Records a verified event by id (once: a redelivery finds the first record).
    async fn record_event(&self, event: &ProviderEvent) -> StorageResult<EventRecord>;
    async fn mark_event_processed(&self, id: &str, at: Timestamp) -> StorageResult<()>;
    /// Forgets events processed before `before` (Stripe redelivers for 3 days at most);
    /// returns how many.
    async fn delete_processed_events(&self, before: Timestamp) -> StorageResult<u64>;

    /// A second attempt for the order is `Conflict("payment_attempts.order")`; an intent id
    /// already recorded is `Conflict("payment_attempts.intent")`.
    async fn insert_attempt(&self, attempt: &PaymentAttempt) -> StorageResult<()>;
    async fn attempt(
        &self,
        store: StoreId,
        order: OrderId,
    ) -> StorageResult<Option<PaymentAttempt>>;
    async fn attempt_by_intent(&self, intent_id: &str) -> StorageResult<Option<PaymentAttempt>>;
    /// Saves `attempt` (read at its version) as version + 1; `false` when it changed meanwhile.
    async fn save_attempt(&self, attempt: &PaymentAttempt) -> StorageResult<bool>;
    /// Unsettled attempts (of `store`, or of every store) created before `before` whose lease
    /// ended by `now`, oldest first.
    async fn unsettled_attempts(
        &self,
        store: Option<StoreId>,
        before: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<PaymentAttempt>>;
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
    fn commerce(&self) -> &dyn CommerceRepository;
    fn payments(&self) -> &dyn PaymentRepository;
    fn consumers(&self) -> &dyn ConsumerRepository;
    fn webhooks(&self) -> &dyn WebhookRepository;
}

/// Opens the adapter the configuration asks for: MongoDB when a URI is set, else the embedded
/// database under the data directory. Schema and indexes are brought up to date.
pub async fn connect(settings: &Settings) -> anyhow::Result<Arc<dyn Storage>> {
    let faults = settings.faults().map_err(anyhow::Error::msg)?;
    let storage: Arc<dyn Storage> = match &settings.mongodb_uri {
        Some(uri) => Arc::new(
            mongo::MongoStorage::connect(uri.expose_secret(), &settings.mongodb_database)
                .await?
                .with_faults(faults),
        ),
        None => Arc::new(
            embedded::EmbeddedStorage::open(&settings.embedded_db_path())?
                .with_faults(faults)
                .with_timeout(std::time::Duration::from_millis(
                    settings.storage_timeout_ms.max(1),
                )),
        ),
    };
    storage.migrate().await?;
    Ok(storage)
}

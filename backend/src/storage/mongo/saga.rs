//! Checkout and order changes on MongoDB, with single-document atomic operations only (a
//! standalone server and Amazon DocumentDB have no multi-document transactions to rely on).
//!
//! Checkout is a saga: claim the idempotency key → reserve each line → count the discount use →
//! number the order → store it. Until the order is stored, a step that fails (or refuses)
//! undoes every step before it, in reverse: reservations released, discount counts given back,
//! the key freed — so a retry starts from nothing. Storing the order is the point of no
//! return: what still follows (appending its events, bumping the catalogue version, pointing
//! the key at the order, deleting the cart) is written into the order document with it, then
//! done; an error there only delays it until [`MongoStorage::complete_pending`] finishes it.
//!
//! A process that dies mid-saga undoes nothing, so every write before the order carries the
//! saga's id (the order's id, a UUIDv7, so it also tells when): the key document lists what the
//! saga will touch (its [`SagaPlan`]), and each reservation and discount use pushes the id onto
//! the document it changes in the same atomic update. [`MongoStorage::repair_abandoned`] finds
//! keys old enough with no order, fences the order id (so a checkout still running can never
//! store its order afterwards), gives back what the marks say — each write undone at most
//! once, because the undo removes its mark in the same update — logs
//! `inventory.reservation_released` and frees the key. Once the order is stored, the marks are
//! settled (removed) as part of its follow-up work: the order owns its reservations.
//!
//! An order change works the same way: reservations it needs are held first (they may be
//! refused), then the order is saved under its version together with what it still has to do
//! (stock moves, events, a discount use to give back), and that work is done at once or, after
//! an error, by the repair pass — each piece once, so the order and its stock never stay apart.

use jiff::{SignedDuration, Timestamp};
use mongodb::{
    bson::{Bson, Document, doc},
    options::ReturnDocument,
};
use serde::{Deserialize, Serialize};
use techverse_shared::{CartId, DiscountId, EventId, OrderId, StoreId, VariantId};

use super::{
    MongoStorage,
    identity::{from_document, to_document},
    is_duplicate_key, query, unavailable,
};
use crate::{
    domain::{
        discount::ReturnedUse,
        events::StoreEvent,
        order::{Order, StockMove, StockOp},
    },
    storage::{
        AbandonedCheckout, CatalogRepository, CommerceRepository, IdempotencyRecord, NewOrder,
        OpenOrderScope, OrderChange, Placement, Shortfall, StorageError, StorageResult,
        faults::SagaStep,
    },
};

/// How long whoever is finishing an order's follow-up work (the request that saved it, or a
/// repair pass) keeps it to itself. Leases are always on the real clock.
const REPAIR_LEASE: SignedDuration = SignedDuration::from_mins(5);

fn lease_until() -> i64 {
    (crate::domain::now() + REPAIR_LEASE).as_millisecond()
}

pub(super) fn key_id(store: StoreId, scope: &str, key: &str) -> String {
    format!("{store}|{scope}|{key}")
}

/// A stock move still to apply, named so that applying it is recorded once.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingMove {
    move_id: String,
    #[serde(flatten)]
    change: StockMove,
}

/// A discount use still to give back.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingReturn {
    return_id: String,
    #[serde(flatten)]
    returned: ReturnedUse,
}

/// What one checkout saga writes to besides the order, recorded on its key before the first
/// write so that a repair pass knows where to look for its marks.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Hold {
    variant_id: VariantId,
    quantity: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SagaPlan {
    /// The saga's id: the id of the order it places.
    saga: String,
    /// Units it reserves, per variant.
    holds: Vec<Hold>,
    discount: Option<String>,
    customer_use: Option<String>,
}

impl SagaPlan {
    fn of(store: StoreId, new: &NewOrder) -> Self {
        let order = &new.order;
        Self {
            saga: order.id.to_string(),
            holds: order
                .reservations()
                .iter()
                .map(|r| Hold {
                    variant_id: r.variant_id,
                    quantity: r.quantity,
                })
                .collect(),
            discount: new.discount.as_ref().map(|u| u.discount_id.to_string()),
            customer_use: new
                .discount
                .as_ref()
                .map(|u| query::discount_use_id(store, u.discount_id, &u.customer_key)),
        }
    }
}

/// The work an order document still carries (fields beside the order's own).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Pending {
    /// Events still to append to the store's log.
    #[serde(default)]
    outbox: Vec<StoreEvent>,
    #[serde(default)]
    pending_moves: Vec<PendingMove>,
    #[serde(default)]
    pending_returns: Vec<PendingReturn>,
    /// The checkout's idempotency key, still to point at the order.
    #[serde(default)]
    pending_key: Option<String>,
    /// The cart the order came from, still to delete.
    #[serde(default)]
    pending_cart: Option<CartId>,
    /// A product went in or out of stock: the content version is still to bump.
    #[serde(default)]
    catalog_stale: bool,
    /// Stock moved: the stock version is still to bump.
    #[serde(default)]
    stock_stale: bool,
    /// The checkout's saga marks, still to settle.
    #[serde(default)]
    pending_saga: Option<SagaPlan>,
}

/// Whether a move's result took the variant's available units to or from zero (a product may
/// have gone in or out of stock: lists change). Commits leave available units alone.
fn crossed_zero(change: &StockMove, available_after: Option<i64>) -> bool {
    match (change.op, available_after) {
        (StockOp::Reserve, Some(after)) => after <= 0,
        (StockOp::Release | StockOp::Restock, Some(after)) => after <= change.quantity,
        _ => false,
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn bson_of<T: Serialize>(value: &T) -> StorageResult<Bson> {
    let json = serde_json::to_value(value).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    mongodb::bson::to_bson(&json).map_err(|e| StorageError::Corrupt(e.to_string()))
}

/// What a checkout has done so far, to undo in reverse when a later step fails.
#[derive(Debug, Default)]
struct Done {
    /// The saga's id, which marks each of its writes.
    saga: String,
    held: Vec<StockMove>,
    counted_discount: Option<DiscountId>,
    counted_customer_use: Option<String>,
}

impl MongoStorage {
    /// The checkout saga (see the module documentation).
    pub(super) async fn place_order_saga(
        &self,
        store: StoreId,
        new: &NewOrder,
    ) -> StorageResult<Placement> {
        let key = key_id(store, &new.idempotency.scope, &new.idempotency.key);
        let plan = SagaPlan::of(store, new);
        let claimed = self.claim_key(store, new, &key, &plan).await;
        if claimed.is_err() {
            self.faults.take_crash(); // nothing was written to leave behind
        }
        if let Some(seen) = claimed? {
            return Ok(Placement::Seen(seen));
        }
        // After the key (a replay of this buyer's own order is not one more open order).
        let refusal = match self.open_limit_reached(store, new).await {
            Ok(None) => None,
            Ok(Some(refusal)) => Some(Ok(refusal)),
            Err(error) => Some(Err(error)),
        };
        let mut done = Done {
            saga: plan.saga.clone(),
            ..Done::default()
        };
        if let Some(refusal) = refusal {
            self.undo(store, &done, &key).await;
            return refusal;
        }
        let outcome = self.hold_and_store(store, new, &key, plan, &mut done).await;
        // A crashed saga (a test's fault plan) leaves its writes as a dead process would.
        if !matches!(outcome, Ok(Placement::Placed(_))) && !self.faults.take_crash() {
            self.undo(store, &done, &key).await;
        }
        outcome
    }

    /// Step 1: the key, recorded with the order it is for, so a retry after a failure later in
    /// the saga finds the order. `Some` when the key was seen before.
    async fn claim_key(
        &self,
        store: StoreId,
        new: &NewOrder,
        key: &str,
        plan: &SagaPlan,
    ) -> StorageResult<Option<IdempotencyRecord>> {
        self.faults.check(SagaStep::ClaimKey)?;
        let claim = doc! {
            "_id": key,
            "store_id": store.to_string(),
            "request_hash": &new.idempotency.request_hash,
            "pending_order_id": new.order.id.to_string(),
            "order_token": &new.idempotency.order_token,
            "created_at": new.order.created_at.as_millisecond(),
            "plan": bson_of(plan)?,
        };
        let keys = self.collection(query::IDEMPOTENCY_KEYS);
        match keys.insert_one(claim).await {
            Ok(_) => Ok(None),
            Err(error) if is_duplicate_key(&error) => {
                let seen = keys
                    .find_one(doc! { "_id": key })
                    .await
                    .map_err(unavailable)?
                    .ok_or(StorageError::Conflict("idempotency.key"))?;
                self.resolve_key(store, &seen).await.map(Some)
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    /// What a key document says, counting a key whose order is stored as done even when the
    /// last saga step (pointing the key at it) has not happened yet.
    pub(super) async fn resolve_key(
        &self,
        store: StoreId,
        document: &Document,
    ) -> StorageResult<IdempotencyRecord> {
        let request_hash = document
            .get_str("request_hash")
            .map_err(|_| StorageError::Corrupt("idempotency record".into()))?
            .to_owned();
        let order_token = document.get_str("order_token").ok().map(str::to_owned);
        let parse = |id: &str| {
            id.parse::<OrderId>()
                .map_err(|_| StorageError::Corrupt(format!("bad order id {id}")))
        };
        let order_id = match (
            document.get_str("order_id"),
            document.get_str("pending_order_id"),
        ) {
            (Ok(id), _) => Some(parse(id)?),
            (Err(_), Ok(pending)) => {
                let id = parse(pending)?;
                self.order(store, id).await?.map(|_| id)
            }
            _ => None,
        };
        Ok(IdempotencyRecord {
            request_hash,
            order_id,
            order_token,
        })
    }

    /// The open-order limit: `Some` refusal when the buyer or its address has reached it.
    async fn open_limit_reached(
        &self,
        store: StoreId,
        new: &NewOrder,
    ) -> StorageResult<Option<Placement>> {
        let Some(limit) = new.open_limit else {
            return Ok(None);
        };
        let order = &new.order;
        let (buyer, address) = query::open_orders_filters(
            store,
            &order.email,
            order.customer_id,
            order.client_ip.as_deref(),
        );
        let orders = self.collection(query::ORDERS);
        let count = |filter| async { orders.count_documents(filter).await.map_err(unavailable) };
        if count(buyer).await? >= u64::from(limit.per_buyer) {
            return Ok(Some(Placement::TooManyOpen {
                scope: OpenOrderScope::Buyer,
                limit: limit.per_buyer,
            }));
        }
        if let Some(address) = address
            && count(address).await? >= u64::from(limit.per_address)
        {
            return Ok(Some(Placement::TooManyOpen {
                scope: OpenOrderScope::Address,
                limit: limit.per_address,
            }));
        }
        Ok(None)
    }

    /// Steps 2–5; a refusal or an error leaves `done` for [`Self::undo`].
    async fn hold_and_store(
        &self,
        store: StoreId,
        new: &NewOrder,
        key: &str,
        plan: SagaPlan,
        done: &mut Done,
    ) -> StorageResult<Placement> {
        let available_after = match self.reserve(store, new, done).await? {
            Ok(after) => after,
            Err(short) => return Ok(Placement::Short(short)),
        };
        if !self.count_discount(store, new, done).await? {
            return Ok(Placement::DiscountUsedUp);
        }
        self.faults.check(SagaStep::NumberOrder)?;
        let number = 1_000 + self.increment(&format!("orders:{store}")).await?;
        // Kept with the key, so an abandoned checkout's skipped number can be told.
        self.collection(query::IDEMPOTENCY_KEYS)
            .update_one(doc! { "_id": key }, doc! { "$set": { "number": number } })
            .await
            .map_err(unavailable)?;
        let mut order = new.order.clone();
        order.store_id = store;
        order.number = number;
        order.version = 1;
        let mut events: Vec<StoreEvent> = new.events.clone();
        for event in &mut events {
            if let Some(slot) = event.payload.get_mut("number") {
                *slot = number.into();
            }
        }
        events.extend(
            self.low_stock_events(store, &available_after, &order)
                .await?,
        );
        let pending = Pending {
            outbox: events,
            pending_key: Some(key.to_owned()),
            pending_cart: new.cart_id,
            catalog_stale: available_after
                .iter()
                .any(|(held, units)| crossed_zero(held, Some(*units))),
            stock_stale: !done.held.is_empty(),
            pending_saga: Some(plan),
            ..Pending::default()
        };
        self.insert_order(store, &order, &pending).await?;
        // The order is stored: from here on nothing is undone, only finished.
        self.finish_or_hand_over(store, order.id, &pending).await;
        Ok(Placement::Placed(Box::new(order)))
    }

    /// Step 2: each line's conditional decrement, in variant order. `Err` lists the lines
    /// that are short; otherwise the units each tracked variant has left.
    async fn reserve(
        &self,
        store: StoreId,
        new: &NewOrder,
        done: &mut Done,
    ) -> StorageResult<Result<Vec<(StockMove, i64)>, Vec<Shortfall>>> {
        let mut after = Vec::new();
        let mut short = Vec::new();
        for (index, reservation) in new.order.reservations().into_iter().enumerate() {
            self.faults.check(SagaStep::Reserve(index))?;
            let (filter, update) = query::stock_move(store, &reservation);
            let (filter, update) = query::marked(filter, update, &done.saga);
            let held = self
                .apply_stock_update(store, &reservation, filter, update)
                .await?;
            if let Some(available) = held {
                done.held.push(reservation);
                after.extend(available.map(|units| (reservation, units)));
            } else {
                short.push(Shortfall {
                    variant_id: reservation.variant_id,
                    requested: reservation.quantity,
                    available: self.available(store, reservation.variant_id).await?,
                });
            }
        }
        Ok(if short.is_empty() {
            Ok(after)
        } else {
            Err(short)
        })
    }

    /// Step 3: one use against the discount's total limit, then against the customer's;
    /// `false` when either limit is reached.
    async fn count_discount(
        &self,
        store: StoreId,
        new: &NewOrder,
        done: &mut Done,
    ) -> StorageResult<bool> {
        let Some(use_) = &new.discount else {
            return Ok(true);
        };
        self.faults.check(SagaStep::CountDiscount)?;
        let saga = done.saga.clone();
        let (filter, update) = query::marked(
            query::discount_use(store, use_.discount_id, use_.usage_limit),
            doc! { "$inc": { "used": 1_i64 } },
            &saga,
        );
        let bumped = self
            .collection(query::DISCOUNTS)
            .update_one(filter, update)
            .await
            .map_err(unavailable)?;
        if bumped.matched_count == 0 {
            return Ok(false);
        }
        done.counted_discount = Some(use_.discount_id);
        self.faults.check(SagaStep::CountCustomerUse)?;
        let id = query::discount_use_id(store, use_.discount_id, &use_.customer_key);
        let mut filter = doc! { "_id": &id };
        if let Some(limit) = use_.per_customer_limit {
            filter.insert("uses", doc! { "$lt": limit });
        }
        let (filter, update) = query::marked(filter, doc! { "$inc": { "uses": 1_i64 } }, &saga);
        // At the limit the filter misses, the upsert collides with the existing `_id`, and the
        // duplicate-key error is the refusal.
        match self
            .collection(query::DISCOUNT_USES)
            .update_one(filter, update)
            .upsert(true)
            .await
        {
            Ok(_) => {
                done.counted_customer_use = Some(id);
                Ok(true)
            }
            Err(error) if is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }

    /// `inventory.low_stock` for variants this very reservation took from above their
    /// threshold to at or below it.
    async fn low_stock_events(
        &self,
        store: StoreId,
        available_after: &[(StockMove, i64)],
        order: &Order,
    ) -> StorageResult<Vec<StoreEvent>> {
        let mut events = Vec::new();
        for (reservation, available) in available_after {
            let Some(product) = self.product(store, reservation.product_id).await? else {
                continue;
            };
            let Some(variant) = product.variant(reservation.variant_id) else {
                continue;
            };
            let threshold = variant.low_stock_threshold;
            if variant.track_inventory
                && *available <= threshold
                && available + reservation.quantity > threshold
            {
                let payload = serde_json::json!({
                    "product_id": product.id,
                    "variant_id": variant.id,
                    "sku": variant.sku,
                    "available": available,
                    "threshold": threshold,
                });
                events.push(StoreEvent::new(
                    store,
                    "inventory.low_stock",
                    payload,
                    order.created_at,
                ));
            }
        }
        Ok(events)
    }

    /// Step 5: the order document, carrying what is still to be done after it.
    async fn insert_order(
        &self,
        store: StoreId,
        order: &Order,
        pending: &Pending,
    ) -> StorageResult<()> {
        self.faults.check(SagaStep::InsertOrder)?;
        let mut extra = match bson_of(pending)? {
            Bson::Document(extra) => extra,
            _ => return Err(StorageError::Corrupt("pending work".into())),
        };
        extra.insert("pending_since", order.created_at.as_millisecond());
        // The request storing the order finishes it; the repair pass waits out this lease.
        extra.insert("repair_lease", lease_until());
        let document = to_document(&order.id.to_string(), order, extra)?;
        match self.collection(query::ORDERS).insert_one(document).await {
            Ok(_) => Ok(()),
            // An error does not always mean the write was lost: if the order is there after
            // all, it stands (undoing its reservations would sell its stock twice).
            Err(error) => match self.order(store, order.id).await {
                Ok(Some(_)) => Ok(()),
                _ => Err(unavailable(error)),
            },
        }
    }

    /// Undoes a checkout that could not finish, in reverse; each step is tried even when an
    /// earlier one fails (what cannot be undone now keeps its mark, for the repair pass).
    async fn undo(&self, store: StoreId, done: &Done, key: &str) {
        let saga = done.saga.as_str();
        let mut failures = Vec::new();
        if let Some(id) = &done.counted_customer_use
            && let Err(error) = self.give_back_customer_use(id, saga).await
        {
            failures.push(format!("customer use: {error}"));
        }
        if let Some(discount) = done.counted_discount
            && let Err(error) = self.give_back_discount(store, discount, saga).await
        {
            failures.push(format!("discount: {error}"));
        }
        for held in done.held.iter().rev() {
            if let Err(error) = self
                .give_back_units(store, held.variant_id, held.quantity, saga)
                .await
            {
                failures.push(format!("release {}: {error}", held.variant_id));
            }
        }
        if let Err(error) = self
            .collection(query::IDEMPOTENCY_KEYS)
            .delete_one(doc! { "_id": key })
            .await
        {
            failures.push(format!("idempotency key: {error}"));
        }
        if !failures.is_empty() {
            tracing::error!(store_id = %store, key, ?failures, "checkout could not be fully undone");
        }
    }

    /// Undoes one marked write, `undo`, only while its mark is there (so at most once).
    async fn unmark(
        &self,
        collection: &str,
        filter: Document,
        undo: Document,
        saga: &str,
    ) -> StorageResult<()> {
        let (filter, update) = query::unmarked(filter, undo, saga);
        self.collection(collection)
            .update_one(filter, update)
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn give_back_units(
        &self,
        store: StoreId,
        variant: VariantId,
        quantity: i64,
        saga: &str,
    ) -> StorageResult<()> {
        let undo = doc! { "$inc": { "reserved": -quantity, "available": quantity } };
        let filter = doc! { "_id": query::inventory_id(store, variant) };
        self.unmark(query::INVENTORY, filter, undo, saga).await
    }

    async fn give_back_discount(
        &self,
        store: StoreId,
        discount: impl std::fmt::Display,
        saga: &str,
    ) -> StorageResult<()> {
        let filter = doc! { "store_id": store.to_string(), "_id": discount.to_string() };
        let undo = doc! { "$inc": { "used": -1_i64 } };
        self.unmark(query::DISCOUNTS, filter, undo, saga).await
    }

    async fn give_back_customer_use(&self, id: &str, saga: &str) -> StorageResult<()> {
        let undo = doc! { "$inc": { "uses": -1_i64 } };
        self.unmark(query::DISCOUNT_USES, doc! { "_id": id }, undo, saga)
            .await
    }

    /// The order is stored and owns what its saga held: the marks go, the counts stay.
    async fn settle(&self, store: StoreId, plan: &SagaPlan) -> StorageResult<()> {
        let saga = plan.saga.as_str();
        for hold in &plan.holds {
            let filter = doc! { "_id": query::inventory_id(store, hold.variant_id) };
            self.unmark(query::INVENTORY, filter, doc! {}, saga).await?;
        }
        if let Some(discount) = &plan.discount {
            let filter = doc! { "store_id": store.to_string(), "_id": discount };
            self.unmark(query::DISCOUNTS, filter, doc! {}, saga).await?;
        }
        if let Some(id) = &plan.customer_use {
            self.unmark(query::DISCOUNT_USES, doc! { "_id": id }, doc! {}, saga)
                .await?;
        }
        Ok(())
    }

    /// An order change (see the module documentation).
    pub(super) async fn save_order_saga(
        &self,
        store: StoreId,
        change: &OrderChange<'_>,
    ) -> StorageResult<bool> {
        let (reservations, moves): (Vec<StockMove>, Vec<StockMove>) =
            change.moves.iter().partition(|m| m.op == StockOp::Reserve);
        let mut held = Vec::new();
        let mut crossed = false;
        for reservation in &reservations {
            match self.apply_stock_move(store, reservation).await {
                Ok(Some(after)) => {
                    crossed |= crossed_zero(reservation, after);
                    held.push(*reservation);
                }
                outcome => {
                    self.release(store, &held).await;
                    outcome?;
                    return Err(StorageError::Conflict("stock.reserve"));
                }
            }
        }
        let pending = Pending {
            outbox: change.events.to_vec(),
            pending_moves: moves
                .into_iter()
                .map(|change| PendingMove {
                    move_id: new_id(),
                    change,
                })
                .collect(),
            pending_returns: change
                .returned_discount
                .map(|returned| PendingReturn {
                    return_id: new_id(),
                    returned: returned.clone(),
                })
                .into_iter()
                .collect(),
            catalog_stale: crossed,
            stock_stale: !change.moves.is_empty(),
            ..Pending::default()
        };
        let saved = self.write_change(store, change.order, &pending).await;
        if !matches!(saved, Ok(true)) {
            if self.faults.take_crash() {
                return saved;
            }
            self.release(store, &held).await;
            return saved;
        }
        self.finish_or_hand_over(store, change.order.id, &pending)
            .await;
        Ok(true)
    }

    /// Releases reservations an order change held before it could not be saved.
    async fn release(&self, store: StoreId, held: &[StockMove]) {
        for reservation in held.iter().rev() {
            let release = StockMove {
                op: StockOp::Release,
                ..*reservation
            };
            if let Err(error) = self.apply_stock_move(store, &release).await {
                tracing::error!(store_id = %store, variant_id = %reservation.variant_id,
                    error = %error, "a reservation could not be released");
            }
        }
    }

    /// The order at `order.version` + 1 with `pending` added to what it already carries: the
    /// stored document is read and replaced whole under its version and its `pending_rev`,
    /// which every removal of finished work bumps, so a concurrent finish is never undone.
    /// (Whole replacements, not `$set`, keep every field's BSON type as inserted.)
    async fn write_change(
        &self,
        store: StoreId,
        order: &Order,
        pending: &Pending,
    ) -> StorageResult<bool> {
        self.faults.check(SagaStep::SaveOrder)?;
        let orders = self.collection(query::ORDERS);
        let filter = doc! { "store_id": store.to_string(), "_id": order.id.to_string() };
        let mut next = order.clone();
        next.store_id = store;
        next.version = order.version + 1;
        for _ in 0..10 {
            let Some(stored) = orders.find_one(filter.clone()).await.map_err(unavailable)? else {
                return Ok(false);
            };
            if super::catalog::number(&stored, "version") != order.version {
                return Ok(false);
            }
            let revision = super::catalog::number(&stored, "pending_rev");
            let mut merged: Pending = from_document(stored)?;
            merged.outbox.extend(pending.outbox.iter().cloned());
            merged
                .pending_moves
                .extend(pending.pending_moves.iter().cloned());
            merged
                .pending_returns
                .extend(pending.pending_returns.iter().cloned());
            merged.catalog_stale |= pending.catalog_stale;
            merged.stock_stale |= pending.stock_stale;
            let Bson::Document(mut extra) = bson_of(&merged)? else {
                return Err(StorageError::Corrupt("pending work".into()));
            };
            extra.insert("pending_since", crate::domain::now().as_millisecond());
            extra.insert("pending_rev", revision);
            extra.insert("repair_lease", lease_until());
            let document = to_document(&next.id.to_string(), &next, extra)?;
            let mut expected = filter.clone();
            expected.insert("version", order.version);
            expected.insert("pending_rev", query::version_filter(revision));
            let replaced = orders
                .replace_one(expected, document)
                .await
                .map_err(unavailable)?;
            if replaced.matched_count == 1 {
                return Ok(true);
            }
        }
        Err(StorageError::Unavailable(anyhow::anyhow!(
            "order {} kept changing while saving",
            order.id
        )))
    }

    /// Finishes the work a request just recorded; on an error, gives up its lease so the
    /// repair pass may take the rest over.
    async fn finish_or_hand_over(&self, store: StoreId, id: OrderId, pending: &Pending) {
        let Err(error) = self.finish(store, id, pending).await else {
            return;
        };
        if self.faults.take_crash() {
            return; // a dead process hands nothing over: the lease runs out
        }
        tracing::warn!(store_id = %store, order_id = %id, error = %error,
            "order stored; its follow-up work waits for the repair pass");
        let released = self
            .collection(query::ORDERS)
            .update_one(
                doc! { "store_id": store.to_string(), "_id": id.to_string() },
                doc! { "$unset": { "repair_lease": "" } },
            )
            .await;
        if let Err(error) = released {
            tracing::warn!(order_id = %id, error = %error, "lease kept; repair waits it out");
        }
    }

    /// Does what an order document still carries, each piece once, and clears the marker
    /// when nothing is left.
    async fn finish(&self, store: StoreId, id: OrderId, pending: &Pending) -> StorageResult<()> {
        let orders = self.collection(query::ORDERS);
        let order_filter = doc! { "store_id": store.to_string(), "_id": id.to_string() };
        if !pending.outbox.is_empty() {
            self.faults.check(SagaStep::PublishEvents)?;
            for event in &pending.outbox {
                self.append_event(store, event).await?;
            }
            let ids: Vec<String> = pending.outbox.iter().map(|e| e.id.to_string()).collect();
            orders
                .update_one(
                    order_filter.clone(),
                    query::pull_finished("outbox", "id", ids),
                )
                .await
                .map_err(unavailable)?;
        }
        let crossed = self
            .apply_pending_moves(store, &order_filter, &pending.pending_moves)
            .await?;
        for pending_return in &pending.pending_returns {
            self.return_discount(store, &pending_return.returned)
                .await?;
            orders
                .update_one(
                    order_filter.clone(),
                    query::pull_finished(
                        "pending_returns",
                        "return_id",
                        vec![pending_return.return_id.clone()],
                    ),
                )
                .await
                .map_err(unavailable)?;
        }
        if pending.stock_stale {
            self.bump_stock_version(store).await?;
        }
        if pending.catalog_stale || crossed {
            self.bump_catalog_version(store).await?;
        }
        if let Some(plan) = &pending.pending_saga {
            self.settle(store, plan).await?;
        }
        if let Some(key) = &pending.pending_key {
            self.faults.check(SagaStep::RecordKey)?;
            self.collection(query::IDEMPOTENCY_KEYS)
                .update_one(
                    doc! { "_id": key },
                    doc! { "$set": { "order_id": id.to_string() } },
                )
                .await
                .map_err(unavailable)?;
        }
        if let Some(cart) = pending.pending_cart {
            self.delete_cart(store, cart).await?;
        }
        let (done, clear) = query::work_done(order_filter);
        orders.update_one(done, clear).await.map_err(unavailable)?;
        Ok(())
    }

    /// Applies stock moves in order, taking each applied one off the order, so that after an
    /// error the order lists exactly the moves still to do. `true` when a move took a variant
    /// to or from zero available units.
    async fn apply_pending_moves(
        &self,
        store: StoreId,
        order_filter: &Document,
        moves: &[PendingMove],
    ) -> StorageResult<bool> {
        let mut applied = Vec::new();
        let mut crossed = false;
        let mut outcome = Ok(());
        for (index, pending) in moves.iter().enumerate() {
            if let Err(error) = self.faults.check(SagaStep::ApplyMove(index)) {
                outcome = Err(error);
                break;
            }
            match self.apply_stock_move(store, &pending.change).await {
                Ok(after) => crossed |= crossed_zero(&pending.change, after.flatten()),
                Err(error) => {
                    outcome = Err(error);
                    break;
                }
            }
            applied.push(pending.move_id.clone());
        }
        if !applied.is_empty() {
            self.collection(query::ORDERS)
                .update_one(
                    order_filter.clone(),
                    query::pull_finished("pending_moves", "move_id", applied),
                )
                .await
                .map_err(unavailable)?;
        }
        outcome.map(|()| crossed)
    }

    /// Gives one use back to a discount and to its customer (never below zero).
    async fn return_discount(&self, store: StoreId, returned: &ReturnedUse) -> StorageResult<()> {
        self.collection(query::DISCOUNTS)
            .update_one(
                doc! {
                    "store_id": store.to_string(),
                    "_id": returned.discount_id.to_string(),
                    "used": { "$gt": 0 },
                },
                doc! { "$inc": { "used": -1_i64 } },
            )
            .await
            .map_err(unavailable)?;
        self.collection(query::DISCOUNT_USES)
            .update_one(
                doc! {
                    "_id": query::discount_use_id(store, returned.discount_id, &returned.customer_key),
                    "uses": { "$gt": 0 },
                },
                doc! { "$inc": { "uses": -1_i64 } },
            )
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The repair pass: finishes orders whose follow-up work has waited at least `older_than`,
    /// each under a lease so that two instances never finish one order at once.
    pub(super) async fn complete_pending_orders(
        &self,
        now: Timestamp,
        older_than: SignedDuration,
    ) -> StorageResult<u64> {
        // `now` says how old work must be; leases are judged on the real clock, so a pass
        // never takes over work another request or pass is doing.
        let (claim, lease) = query::repair_claim(
            (now - older_than).as_millisecond(),
            crate::domain::now().as_millisecond(),
            lease_until(),
        );
        let mut finished = 0;
        for _ in 0..100 {
            let claimed = self
                .collection(query::ORDERS)
                .find_one_and_update(claim.clone(), lease.clone())
                .return_document(ReturnDocument::After)
                .await
                .map_err(unavailable)?;
            let Some(document) = claimed else {
                break;
            };
            let order: Order = from_document(document.clone())?;
            let pending: Pending = from_document(document)?;
            match self.finish(order.store_id, order.id, &pending).await {
                Ok(()) => finished += 1,
                Err(error) => tracing::warn!(store_id = %order.store_id, order_id = %order.id,
                    error = %error, "order follow-up still failing; retried after the lease"),
            }
        }
        Ok(finished)
    }

    /// The repair pass for checkouts that died before storing their order (see the module
    /// documentation); up to 100 per pass, oldest first.
    pub(super) async fn repair_abandoned(
        &self,
        now: Timestamp,
        older_than: SignedDuration,
        apply: bool,
    ) -> StorageResult<Vec<AbandonedCheckout>> {
        let cutoff = (now - older_than).as_millisecond();
        let keys = super::collect(
            self.collection(query::IDEMPOTENCY_KEYS)
                .find(query::unfinished_checkouts(cutoff))
                .sort(doc! { "created_at": 1 })
                .limit(100),
        )
        .await?;
        let mut found = Vec::new();
        for key in keys {
            match self.repair_checkout(&key, apply).await {
                Ok(Some(abandoned)) => found.push(abandoned),
                Ok(None) => {}
                Err(error) => tracing::warn!(key = ?key.get_str("_id"), error = %error,
                    "abandoned checkout not repaired yet; retried on the next pass"),
            }
        }
        Ok(found)
    }

    /// One key's checkout: `None` when its order is stored after all (the follow-up repair
    /// finishes it) or another order took its id.
    async fn repair_checkout(
        &self,
        key: &Document,
        apply: bool,
    ) -> StorageResult<Option<AbandonedCheckout>> {
        let corrupt = |what: &str| StorageError::Corrupt(format!("idempotency key: {what}"));
        let key_id = key.get_str("_id").map_err(|_| corrupt("_id"))?;
        let store: StoreId = key
            .get_str("store_id")
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| corrupt("store_id"))?;
        let saga = key
            .get_str("pending_order_id")
            .map_err(|_| corrupt("order"))?;
        let order_id: OrderId = saga.parse().map_err(|_| corrupt("order"))?;
        // Keys claimed before sagas kept a plan have nothing to look for but themselves.
        let plan = match key.get_document("plan") {
            Ok(plan) => from_document(plan.clone())?,
            Err(_) => SagaPlan {
                saga: saga.to_owned(),
                holds: Vec::new(),
                discount: None,
                customer_use: None,
            },
        };
        if self.order(store, order_id).await?.is_some()
            || (apply && !self.fence(store, order_id).await?)
        {
            return Ok(None);
        }
        let abandoned = AbandonedCheckout {
            store_id: store,
            order_id,
            started_at: Timestamp::from_millisecond(super::catalog::number(key, "created_at"))
                .unwrap_or_default(),
            released: self.marked_units(store, &plan).await?,
            discount_returned: match &plan.discount {
                Some(discount) => {
                    let filter = doc! { "store_id": store.to_string(), "_id": discount };
                    self.is_marked(query::DISCOUNTS, filter, saga).await?
                }
                None => false,
            },
            skipped_number: key.get_i64("number").ok(),
        };
        if apply {
            self.give_back(&abandoned, &plan, key_id).await?;
        }
        Ok(Some(abandoned))
    }

    /// Puts the fence in the order's place; `false` when a real order has that id.
    async fn fence(&self, store: StoreId, order: OrderId) -> StorageResult<bool> {
        let fence = query::checkout_fence(store, order, crate::domain::now().as_millisecond());
        let orders = self.collection(query::ORDERS);
        match orders.insert_one(fence).await {
            Ok(_) => Ok(true),
            // An earlier pass fenced it and stopped part-way: carry on where it stopped.
            Err(error) if is_duplicate_key(&error) => Ok(orders
                .find_one(doc! { "_id": order.to_string() })
                .await
                .map_err(unavailable)?
                .is_some_and(|found| found.contains_key("abandoned_at"))),
            Err(error) => Err(unavailable(error)),
        }
    }

    /// Whether the document `filter` finds carries this saga's mark.
    async fn is_marked(
        &self,
        collection: &str,
        mut filter: Document,
        saga: &str,
    ) -> StorageResult<bool> {
        filter.insert(query::SAGA_MARKS, saga);
        let found = self
            .collection(collection)
            .find_one(filter)
            .await
            .map_err(unavailable)?;
        Ok(found.is_some())
    }

    /// Units the saga still holds, per variant of its plan.
    async fn marked_units(
        &self,
        store: StoreId,
        plan: &SagaPlan,
    ) -> StorageResult<Vec<(VariantId, i64)>> {
        let mut held = Vec::new();
        for hold in &plan.holds {
            let filter = doc! { "_id": query::inventory_id(store, hold.variant_id) };
            if self.is_marked(query::INVENTORY, filter, &plan.saga).await? {
                held.push((hold.variant_id, hold.quantity));
            }
        }
        Ok(held)
    }

    /// Logs the release (under the saga's id, so a pass that stopped part-way logs it once),
    /// gives each marked write back and frees the key.
    async fn give_back(
        &self,
        abandoned: &AbandonedCheckout,
        plan: &SagaPlan,
        key: &str,
    ) -> StorageResult<()> {
        let store = abandoned.store_id;
        let saga = plan.saga.as_str();
        let lines: Vec<serde_json::Value> = abandoned
            .released
            .iter()
            .map(|(variant, quantity)| serde_json::json!({ "variant_id": variant, "quantity": quantity }))
            .collect();
        let mut event = StoreEvent::new(
            store,
            "inventory.reservation_released",
            serde_json::json!({
                "order_id": abandoned.order_id,
                "reason": "checkout_abandoned",
                "lines": lines,
                "discount_returned": abandoned.discount_returned,
                "skipped_number": abandoned.skipped_number,
            }),
            crate::domain::now(),
        );
        event.id = EventId::from_uuid(*abandoned.order_id.as_uuid());
        let gave_back = !abandoned.released.is_empty() || abandoned.discount_returned;
        if gave_back {
            self.append_event(store, &event).await?;
        }
        for (variant, quantity) in &abandoned.released {
            self.give_back_units(store, *variant, *quantity, saga)
                .await?;
        }
        if let Some(discount) = &plan.discount {
            self.give_back_discount(store, discount, saga).await?;
        }
        if let Some(id) = &plan.customer_use {
            self.give_back_customer_use(id, saga).await?;
        }
        if gave_back {
            self.bump_stock_version(store).await?;
            self.bump_catalog_version(store).await?;
        }
        self.collection(query::IDEMPOTENCY_KEYS)
            .delete_one(doc! { "_id": key, "order_id": { "$exists": false } })
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

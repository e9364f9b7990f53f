//! `CommerceRepository` on MongoDB, using single-document atomic operations only (a standalone
//! server and Amazon DocumentDB have no multi-document transactions to rely on). Checkout is a
//! saga: claim the idempotency key (a unique `_id`), reserve each line with a conditional
//! `$inc` on its inventory document in variant order, count the discount use, number and
//! insert the order; any failure undoes the steps already done, in reverse.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use jiff::Timestamp;
use mongodb::bson::{Document, doc};
use techverse_shared::{
    CartId, CustomerId, DiscountId, OrderId, ProductId, ReviewId, ReviewStatus, StoreId,
};

use super::{
    MongoStorage,
    catalog::number,
    identity::{find_one, from_document, to_document},
    is_duplicate_key, mongo_error, query, unavailable,
};
use crate::{
    domain::{
        cart::Cart,
        discount::Discount,
        events::StoreEvent,
        order::{Order, StockMove, StockOp},
        review::Review,
        shipping::CheckoutSettings,
    },
    storage::{
        CatalogRepository, CommerceRepository, IdempotencyRecord, NewOrder, OrderQuery, Placement,
        Shortfall, StorageError, StorageResult,
    },
};

fn scoped(store: StoreId, id: impl std::fmt::Display) -> Document {
    doc! { "store_id": store.to_string(), "_id": id.to_string() }
}

fn key_id(store: StoreId, scope: &str, key: &str) -> String {
    format!("{store}|{scope}|{key}")
}

fn record(document: &Document) -> StorageResult<IdempotencyRecord> {
    let request_hash = document
        .get_str("request_hash")
        .map_err(|_| StorageError::Corrupt("idempotency record".into()))?
        .to_owned();
    let order_id = match document.get_str("order_id") {
        Ok(id) => Some(
            id.parse()
                .map_err(|_| StorageError::Corrupt(format!("bad order id {id}")))?,
        ),
        Err(_) => None,
    };
    let order_token = document.get_str("order_token").ok().map(str::to_owned);
    Ok(IdempotencyRecord {
        request_hash,
        order_id,
        order_token,
    })
}

impl MongoStorage {
    async fn find_all<T: serde::de::DeserializeOwned>(
        &self,
        collection: &str,
        filter: Document,
        sort: Document,
        limit: Option<i64>,
    ) -> StorageResult<Vec<T>> {
        let collection = self.collection(collection);
        let mut find = collection.find(filter).sort(sort);
        if let Some(limit) = limit {
            find = find.limit(limit);
        }
        let documents: Vec<Document> = find
            .await
            .map_err(unavailable)?
            .try_collect()
            .await
            .map_err(unavailable)?;
        documents.into_iter().map(from_document).collect()
    }

    /// Undoes reservations made by a checkout that could not finish.
    async fn release_all(&self, store: StoreId, held: &[StockMove]) -> StorageResult<()> {
        for change in held.iter().rev() {
            let release = StockMove {
                op: StockOp::Release,
                ..*change
            };
            self.apply_stock_move(store, &release).await?;
        }
        Ok(())
    }

    /// Counts one discount use; `false` (and nothing counted) when a limit is reached.
    async fn use_discount(&self, store: StoreId, new: &NewOrder) -> StorageResult<bool> {
        let Some(use_) = &new.discount else {
            return Ok(true);
        };
        let bumped = self
            .collection(query::DISCOUNTS)
            .update_one(
                query::discount_use(store, use_.discount_id, use_.usage_limit),
                doc! { "$inc": { "used": 1_i64 } },
            )
            .await
            .map_err(unavailable)?;
        if bumped.matched_count == 0 {
            return Ok(false);
        }
        let id = format!("{store}|{}|{}", use_.discount_id, use_.customer_key);
        let mut filter = doc! { "_id": &id };
        if let Some(limit) = use_.per_customer_limit {
            filter.insert("uses", doc! { "$lt": limit });
        }
        // At the limit the filter misses, the upsert collides with the existing `_id`, and the
        // duplicate-key error is the refusal.
        let counted = self
            .collection(query::DISCOUNT_USES)
            .update_one(filter, doc! { "$inc": { "uses": 1_i64 } })
            .upsert(true)
            .await;
        match counted {
            Ok(_) => Ok(true),
            Err(error) if is_duplicate_key(&error) => {
                self.collection(query::DISCOUNTS)
                    .update_one(
                        scoped(store, use_.discount_id),
                        doc! { "$inc": { "used": -1_i64 } },
                    )
                    .await
                    .map_err(unavailable)?;
                Ok(false)
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    /// Steps 2–5 of the saga, after the key is claimed. On `Err` or a refusal the caller
    /// releases the key; reservations are undone here.
    async fn reserve_and_insert(
        &self,
        store: StoreId,
        new: &NewOrder,
    ) -> StorageResult<(Placement, Vec<(StockMove, i64)>)> {
        let mut held = Vec::new();
        let mut after = Vec::new();
        let mut short = Vec::new();
        for reservation in new.order.reservations() {
            if let Some(available) = self.apply_stock_move(store, &reservation).await? {
                held.push(reservation);
                after.extend(available.map(|units| (reservation, units)));
            } else {
                short.push(Shortfall {
                    variant_id: reservation.variant_id,
                    requested: reservation.quantity,
                    available: self.available(store, reservation.variant_id).await?,
                });
            }
        }
        if !short.is_empty() {
            self.release_all(store, &held).await?;
            return Ok((Placement::Short(short), Vec::new()));
        }
        if !self.use_discount(store, new).await? {
            self.release_all(store, &held).await?;
            return Ok((Placement::DiscountUsedUp, Vec::new()));
        }
        let number = 1_000 + self.increment(&format!("orders:{store}")).await?;
        let mut order = new.order.clone();
        order.store_id = store;
        order.number = number;
        order.version = 1;
        let document = to_document(&order.id.to_string(), &order, doc! {})?;
        if let Err(error) = self.collection(query::ORDERS).insert_one(document).await {
            self.release_all(store, &held).await?;
            return Err(unavailable(error));
        }
        Ok((Placement::Placed(Box::new(order)), after))
    }
}

#[async_trait]
impl CommerceRepository for MongoStorage {
    async fn insert_cart(&self, store: StoreId, cart: &Cart) -> StorageResult<()> {
        let mut cart = cart.clone();
        cart.store_id = store;
        let document = to_document(&cart.id.to_string(), &cart, doc! {})?;
        self.collection(query::CARTS)
            .insert_one(document)
            .await
            .map(drop)
            .map_err(mongo_error("carts.id"))
    }

    async fn cart(
        &self,
        store: StoreId,
        id: CartId,
        now: Timestamp,
    ) -> StorageResult<Option<Cart>> {
        let mut filter = scoped(store, id);
        filter.insert("expires_at", doc! { "$gt": now.as_millisecond() });
        find_one(&self.collection(query::CARTS), filter).await
    }

    async fn customer_cart(
        &self,
        store: StoreId,
        customer: CustomerId,
        now: Timestamp,
    ) -> StorageResult<Option<Cart>> {
        let carts: Vec<Cart> = self
            .find_all(
                query::CARTS,
                doc! {
                    "store_id": store.to_string(),
                    "customer_id": customer.to_string(),
                    "expires_at": { "$gt": now.as_millisecond() },
                },
                doc! { "expires_at": -1 },
                Some(1),
            )
            .await?;
        Ok(carts.into_iter().next())
    }

    async fn save_cart(&self, store: StoreId, cart: &Cart) -> StorageResult<bool> {
        let expected = cart.version;
        let mut next = cart.clone();
        next.store_id = store;
        next.version = expected + 1;
        let document = to_document(&next.id.to_string(), &next, doc! {})?;
        let mut filter = scoped(store, next.id);
        filter.insert("version", expected);
        let result = self
            .collection(query::CARTS)
            .replace_one(filter, document)
            .await
            .map_err(unavailable)?;
        Ok(result.matched_count == 1)
    }

    async fn delete_cart(&self, store: StoreId, id: CartId) -> StorageResult<bool> {
        let result = self
            .collection(query::CARTS)
            .delete_one(scoped(store, id))
            .await
            .map_err(unavailable)?;
        Ok(result.deleted_count == 1)
    }

    async fn delete_expired_carts(&self, now: Timestamp) -> StorageResult<u64> {
        let result = self
            .collection(query::CARTS)
            .delete_many(doc! { "expires_at": { "$lte": now.as_millisecond() } })
            .await
            .map_err(unavailable)?;
        Ok(result.deleted_count)
    }

    async fn insert_discount(&self, store: StoreId, discount: &Discount) -> StorageResult<()> {
        let mut discount = discount.clone();
        discount.store_id = store;
        discount.used = 0;
        let document = to_document(&discount.id.to_string(), &discount, doc! {})?;
        self.collection(query::DISCOUNTS)
            .insert_one(document)
            .await
            .map(drop)
            .map_err(mongo_error("discounts.code"))
    }

    async fn update_discount(&self, store: StoreId, discount: &Discount) -> StorageResult<bool> {
        // Replaced whole, under the usage count it was read with, so a checkout counting a
        // use meanwhile is never lost (the edit is retried instead).
        for _ in 0..10 {
            let Some(current) = self.discount(store, discount.id).await? else {
                return Ok(false);
            };
            let mut next = discount.clone();
            next.store_id = store;
            next.used = current.used;
            let document = to_document(&next.id.to_string(), &next, doc! {})?;
            let mut filter = scoped(store, discount.id);
            filter.insert("used", current.used);
            let result = self
                .collection(query::DISCOUNTS)
                .replace_one(filter, document)
                .await
                .map_err(mongo_error("discounts.code"))?;
            if result.matched_count == 1 {
                return Ok(true);
            }
        }
        Err(StorageError::Unavailable(anyhow::anyhow!(
            "discount kept changing during the edit"
        )))
    }

    async fn discount(&self, store: StoreId, id: DiscountId) -> StorageResult<Option<Discount>> {
        find_one(&self.collection(query::DISCOUNTS), scoped(store, id)).await
    }

    async fn discount_by_code(
        &self,
        store: StoreId,
        code: &str,
    ) -> StorageResult<Option<Discount>> {
        find_one(
            &self.collection(query::DISCOUNTS),
            doc! { "store_id": store.to_string(), "code": code },
        )
        .await
    }

    async fn discounts(&self, store: StoreId) -> StorageResult<Vec<Discount>> {
        self.find_all(
            query::DISCOUNTS,
            doc! { "store_id": store.to_string() },
            doc! { "code": 1 },
            None,
        )
        .await
    }

    async fn delete_discount(&self, store: StoreId, id: DiscountId) -> StorageResult<bool> {
        let result = self
            .collection(query::DISCOUNTS)
            .delete_one(scoped(store, id))
            .await
            .map_err(unavailable)?;
        Ok(result.deleted_count == 1)
    }

    async fn discount_uses(
        &self,
        store: StoreId,
        id: DiscountId,
        customer_key: &str,
    ) -> StorageResult<i64> {
        let found = self
            .collection(query::DISCOUNT_USES)
            .find_one(doc! { "_id": format!("{store}|{id}|{customer_key}") })
            .await
            .map_err(unavailable)?;
        Ok(found.map_or(0, |d| number(&d, "uses")))
    }

    async fn checkout_settings(&self, store: StoreId) -> StorageResult<Option<CheckoutSettings>> {
        find_one(
            &self.collection(query::CHECKOUT_SETTINGS),
            doc! { "_id": store.to_string() },
        )
        .await
    }

    async fn save_checkout_settings(
        &self,
        store: StoreId,
        settings: &CheckoutSettings,
    ) -> StorageResult<bool> {
        let expected = settings.version;
        let mut next = settings.clone();
        next.store_id = store;
        next.version = expected + 1;
        let document = to_document(&store.to_string(), &next, doc! {})?;
        let collection = self.collection(query::CHECKOUT_SETTINGS);
        if expected == 0 {
            return match collection.insert_one(document).await {
                Ok(_) => Ok(true),
                Err(error) if is_duplicate_key(&error) => Ok(false),
                Err(error) => Err(unavailable(error)),
            };
        }
        let result = collection
            .replace_one(
                doc! { "_id": store.to_string(), "version": expected },
                document,
            )
            .await
            .map_err(unavailable)?;
        Ok(result.matched_count == 1)
    }

    async fn place_order(&self, store: StoreId, new: &NewOrder) -> StorageResult<Placement> {
        let key = &new.idempotency;
        let key_doc_id = key_id(store, &key.scope, &key.key);
        let claim = doc! {
            "_id": &key_doc_id,
            "store_id": store.to_string(),
            "request_hash": &key.request_hash,
            "created_at": new.order.created_at.as_millisecond(),
        };
        let keys = self.collection(query::IDEMPOTENCY_KEYS);
        match keys.insert_one(claim).await {
            Ok(_) => {}
            Err(error) if is_duplicate_key(&error) => {
                let seen = keys
                    .find_one(doc! { "_id": &key_doc_id })
                    .await
                    .map_err(unavailable)?
                    .ok_or_else(|| StorageError::Conflict("idempotency.key"))?;
                return Ok(Placement::Seen(record(&seen)?));
            }
            Err(error) => return Err(unavailable(error)),
        }
        let (placed, after) = match self.reserve_and_insert(store, new).await {
            Ok((Placement::Placed(order), after)) => (order, after),
            other => {
                keys.delete_one(doc! { "_id": &key_doc_id })
                    .await
                    .map_err(unavailable)?;
                return other.map(|(placement, _)| placement);
            }
        };
        for mut event in new.events.clone() {
            if let Some(slot) = event.payload.get_mut("number") {
                *slot = placed.number.into();
            }
            self.append_event(store, &event).await?;
        }
        // A variant this very reservation took from above its threshold to at or below it.
        for (reservation, available) in &after {
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
                let event =
                    StoreEvent::new(store, "inventory.low_stock", payload, placed.created_at);
                self.append_event(store, &event).await?;
            }
        }
        if !after.is_empty() {
            self.bump_catalog_version(store).await?;
        }
        keys.update_one(
            doc! { "_id": &key_doc_id },
            doc! { "$set": { "order_id": placed.id.to_string(), "order_token": &key.order_token } },
        )
        .await
        .map_err(unavailable)?;
        if let Some(cart) = new.cart_id {
            self.delete_cart(store, cart).await?;
        }
        Ok(Placement::Placed(placed))
    }

    async fn idempotency_record(
        &self,
        store: StoreId,
        scope: &str,
        key: &str,
    ) -> StorageResult<Option<IdempotencyRecord>> {
        self.collection(query::IDEMPOTENCY_KEYS)
            .find_one(doc! { "_id": key_id(store, scope, key) })
            .await
            .map_err(unavailable)?
            .as_ref()
            .map(record)
            .transpose()
    }

    async fn delete_idempotency_keys(&self, before: Timestamp) -> StorageResult<u64> {
        let result = self
            .collection(query::IDEMPOTENCY_KEYS)
            .delete_many(doc! { "created_at": { "$lt": before.as_millisecond() } })
            .await
            .map_err(unavailable)?;
        Ok(result.deleted_count)
    }

    async fn order(&self, store: StoreId, id: OrderId) -> StorageResult<Option<Order>> {
        find_one(&self.collection(query::ORDERS), scoped(store, id)).await
    }

    async fn save_order(
        &self,
        store: StoreId,
        order: &Order,
        moves: &[StockMove],
        events: &[StoreEvent],
    ) -> StorageResult<bool> {
        let expected = order.version;
        let mut next = order.clone();
        next.store_id = store;
        next.version = expected + 1;
        let document = to_document(&next.id.to_string(), &next, doc! {})?;
        let mut filter = scoped(store, next.id);
        filter.insert("version", expected);
        // The order document is the claim: only the writer that moves it from `expected`
        // applies the stock moves, so two sweepers never release the same stock twice.
        let result = self
            .collection(query::ORDERS)
            .replace_one(filter, document)
            .await
            .map_err(unavailable)?;
        if result.matched_count != 1 {
            return Ok(false);
        }
        for change in moves {
            self.apply_stock_move(store, change).await?;
        }
        for event in events {
            self.append_event(store, event).await?;
        }
        if !moves.is_empty() {
            self.bump_catalog_version(store).await?;
        }
        Ok(true)
    }

    async fn orders(&self, store: StoreId, query: &OrderQuery) -> StorageResult<Vec<Order>> {
        self.find_all(
            query::ORDERS,
            query::order_filter(store, query),
            doc! { "created_at": -1, "id": -1 },
            Some(i64::from(query.limit)),
        )
        .await
    }

    async fn overdue_orders(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<(StoreId, OrderId)>> {
        let orders: Vec<Order> = self
            .find_all(
                query::ORDERS,
                doc! { "status": "pending_payment", "pay_by": { "$lte": now.as_millisecond() } },
                doc! { "pay_by": 1 },
                Some(i64::from(limit)),
            )
            .await?;
        Ok(orders.into_iter().map(|o| (o.store_id, o.id)).collect())
    }

    async fn insert_review(&self, store: StoreId, review: &Review) -> StorageResult<()> {
        let mut review = review.clone();
        review.store_id = store;
        let document = to_document(&review.id.to_string(), &review, doc! {})?;
        self.collection(query::REVIEWS)
            .insert_one(document)
            .await
            .map(drop)
            .map_err(mongo_error("reviews.customer"))
    }

    async fn save_review(&self, store: StoreId, review: &Review) -> StorageResult<bool> {
        let document = to_document(&review.id.to_string(), review, doc! {})?;
        let result = self
            .collection(query::REVIEWS)
            .replace_one(scoped(store, review.id), document)
            .await
            .map_err(unavailable)?;
        Ok(result.matched_count == 1)
    }

    async fn review(&self, store: StoreId, id: ReviewId) -> StorageResult<Option<Review>> {
        find_one(&self.collection(query::REVIEWS), scoped(store, id)).await
    }

    async fn reviews(
        &self,
        store: StoreId,
        product: Option<ProductId>,
        status: Option<ReviewStatus>,
    ) -> StorageResult<Vec<Review>> {
        let mut filter = doc! { "store_id": store.to_string() };
        if let Some(product) = product {
            filter.insert("product_id", product.to_string());
        }
        if let Some(status) = status {
            filter.insert("status", status.as_str());
        }
        self.find_all(
            query::REVIEWS,
            filter,
            doc! { "created_at": -1, "id": -1 },
            None,
        )
        .await
    }
}

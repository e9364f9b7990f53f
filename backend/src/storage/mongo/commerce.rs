//! `CommerceRepository` on MongoDB: carts, discounts, settings, order reads and reviews here;
//! checkout and order changes are the saga in `saga.rs`.

use async_trait::async_trait;
use jiff::Timestamp;
use mongodb::bson::{Document, doc};
use techverse_shared::{
    CartId, CustomerId, DiscountId, OrderId, OrderStatus, ProductId, ReviewId, ReviewStatus,
    StoreId,
};

use super::{
    MongoStorage, aggregate,
    catalog::number,
    identity::{find_one, from_document, to_document},
    is_duplicate_key, mongo_error, query, unavailable,
};
use crate::{
    domain::{
        analytics::{OrderFigures, ProductSales, SALE_PAYMENT_STATES, SalesRow},
        cart::Cart,
        discount::Discount,
        order::Order,
        review::Review,
        shipping::CheckoutSettings,
    },
    storage::{
        AbandonedCheckout, CommerceRepository, IdempotencyRecord, NewOrder, OrderChange,
        OrderQuery, Placement, StorageError, StorageResult,
    },
};

fn scoped(store: StoreId, id: impl std::fmt::Display) -> Document {
    doc! { "store_id": store.to_string(), "_id": id.to_string() }
}

/// `{$cond: [is a sale, then, 0]}`.
fn if_sale(then: impl Into<mongodb::bson::Bson>) -> Document {
    doc! { "$cond": [ { "$in": ["$payment_status", SALE_PAYMENT_STATES.to_vec()] }, then.into(), 0 ] }
}

impl MongoStorage {
    /// `$bucket` over the placing time; the sums are of fields set per order beforehand, as
    /// not every server takes an expression inside a bucket's output.
    async fn sales_rows(
        &self,
        placed: Document,
        boundaries: &[i64],
    ) -> StorageResult<Vec<SalesRow>> {
        let pipeline = vec![
            placed,
            doc! { "$addFields": {
                "tv_counted": { "$cond": [ { "$eq": ["$payment_status", "voided"] }, 0, 1 ] },
                "tv_sale": if_sale(1),
                "tv_gross": if_sale("$total"),
                "tv_refunds": if_sale("$refunded"),
            } },
            doc! { "$bucket": {
                "groupBy": "$created_at",
                "boundaries": boundaries.to_vec(),
                "default": "outside",
                "output": {
                    "orders": { "$sum": "$tv_counted" },
                    "paid": { "$sum": "$tv_sale" },
                    "gross": { "$sum": "$tv_gross" },
                    "refunds": { "$sum": "$tv_refunds" },
                },
            } },
        ];
        let rows = aggregate(&self.collection(query::ORDERS), pipeline).await?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let lower = number(row, "_id");
                let bucket = boundaries.iter().position(|b| *b == lower)?;
                Some(SalesRow {
                    bucket,
                    orders: number(row, "orders"),
                    paid_orders: number(row, "paid"),
                    gross: number(row, "gross"),
                    refunds: number(row, "refunds"),
                })
            })
            .collect())
    }

    async fn status_counts(&self, placed: Document) -> StorageResult<Vec<(OrderStatus, i64)>> {
        let pipeline = vec![
            placed,
            doc! { "$group": { "_id": "$status", "n": { "$sum": 1 } } },
        ];
        let rows = aggregate(&self.collection(query::ORDERS), pipeline).await?;
        rows.iter()
            .map(|row| {
                let status = row.get_str("_id").unwrap_or_default();
                OrderStatus::parse(status)
                    .map(|s| (s, number(row, "n")))
                    .ok_or_else(|| StorageError::Corrupt(format!("order status {status}")))
            })
            .collect()
    }

    async fn best_sellers(
        &self,
        mut placed: Document,
        top: u32,
    ) -> StorageResult<Vec<ProductSales>> {
        if let Ok(filter) = placed.get_document_mut("$match") {
            filter.insert(
                "payment_status",
                doc! { "$in": SALE_PAYMENT_STATES.to_vec() },
            );
        }
        let pipeline = vec![
            placed,
            doc! { "$unwind": "$lines" },
            doc! { "$group": {
                "_id": "$lines.product_id",
                "title": { "$max": "$lines.title" },
                "quantity": { "$sum": "$lines.quantity" },
                "revenue": { "$sum": "$lines.total" },
            } },
            doc! { "$sort": { "revenue": -1, "_id": 1 } },
            doc! { "$limit": i64::from(top) },
        ];
        let rows = aggregate(&self.collection(query::ORDERS), pipeline).await?;
        rows.iter()
            .map(|row| {
                let id = row.get_str("_id").unwrap_or_default();
                Ok(ProductSales {
                    product_id: id
                        .parse()
                        .map_err(|_| StorageError::Corrupt(format!("bad product id {id}")))?,
                    title: row.get_str("title").unwrap_or_default().to_owned(),
                    quantity: number(row, "quantity"),
                    revenue: number(row, "revenue"),
                })
            })
            .collect()
    }

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
        let documents = super::collect(find).await?;
        documents.into_iter().map(from_document).collect()
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
            .find_one(doc! { "_id": query::discount_use_id(store, id, customer_key) })
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
        self.place_order_saga(store, new).await
    }

    async fn idempotency_record(
        &self,
        store: StoreId,
        scope: &str,
        key: &str,
    ) -> StorageResult<Option<IdempotencyRecord>> {
        let found = self
            .collection(query::IDEMPOTENCY_KEYS)
            .find_one(doc! { "_id": super::saga::key_id(store, scope, key) })
            .await
            .map_err(unavailable)?;
        match found {
            Some(document) => self.resolve_key(store, &document).await.map(Some),
            None => Ok(None),
        }
    }

    async fn delete_idempotency_keys(&self, before: Timestamp) -> StorageResult<u64> {
        let result = self
            .collection(query::IDEMPOTENCY_KEYS)
            // A key whose checkout never stored its order waits for the repair pass, which
            // gives back what that checkout holds and deletes it.
            .delete_many(doc! {
                "created_at": { "$lt": before.as_millisecond() },
                "order_id": { "$exists": true },
            })
            .await
            .map_err(unavailable)?;
        Ok(result.deleted_count)
    }

    async fn order(&self, store: StoreId, id: OrderId) -> StorageResult<Option<Order>> {
        find_one(&self.collection(query::ORDERS), scoped(store, id)).await
    }

    async fn save_order(&self, store: StoreId, change: &OrderChange<'_>) -> StorageResult<bool> {
        self.save_order_saga(store, change).await
    }

    async fn complete_pending(
        &self,
        now: Timestamp,
        older_than: jiff::SignedDuration,
    ) -> StorageResult<u64> {
        self.complete_pending_orders(now, older_than).await
    }

    async fn repair_checkouts(
        &self,
        now: Timestamp,
        older_than: jiff::SignedDuration,
        apply: bool,
    ) -> StorageResult<Vec<AbandonedCheckout>> {
        self.repair_abandoned(now, older_than, apply).await
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

    async fn review_page(
        &self,
        store: StoreId,
        status: Option<ReviewStatus>,
        offset: u64,
        limit: u32,
    ) -> StorageResult<Vec<Review>> {
        let mut filter = doc! { "store_id": store.to_string() };
        if let Some(status) = status {
            filter.insert("status", status.as_str());
        }
        let collection = self.collection(query::REVIEWS);
        let find = collection
            .find(filter)
            .sort(doc! { "created_at": -1, "id": -1 })
            .skip(offset)
            .limit(i64::from(limit));
        let documents = super::collect(find).await?;
        documents.into_iter().map(from_document).collect()
    }

    async fn order_figures(
        &self,
        store: StoreId,
        boundaries: &[i64],
        top: u32,
    ) -> StorageResult<OrderFigures> {
        let (Some(&start), Some(&end)) = (boundaries.first(), boundaries.last()) else {
            return Ok(OrderFigures::default());
        };
        let placed = doc! {
            "$match": { "store_id": store.to_string(), "created_at": { "$gte": start, "$lt": end } }
        };
        Ok(OrderFigures {
            sales: self.sales_rows(placed.clone(), boundaries).await?,
            by_status: self.status_counts(placed.clone()).await?,
            top_products: self.best_sellers(placed, top).await?,
        })
    }
}

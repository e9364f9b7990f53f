//! `CommerceRepository` on SQLite. Checkout and every order change run in one IMMEDIATE
//! transaction: stock moves on the product documents, the order row, its events, the discount
//! counters, the idempotency key and the cart all commit together or not at all. SQLite holds
//! one writer at a time, so each conditional decrement sees the stock the last one left.

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction};
use techverse_shared::{
    CartId, CustomerId, DiscountId, OrderId, OrderStatus, ProductId, ReviewId, ReviewStatus,
    StoreId,
};

use super::{
    EmbeddedStorage,
    catalog::{append_event, bump_stock_version, bump_version, read_product, write_stock},
    identity::{from_json, immediate, to_json},
    sql_error, unavailable,
};
use crate::{
    domain::{
        analytics::{OrderFigures, ProductSales, SALE_PAYMENT_STATES, SalesRow},
        cart::Cart,
        catalog::{Product, StockRefusal},
        discount::{Discount, ReturnedUse},
        events::StoreEvent,
        order::{Order, StockMove, StockOp},
        review::Review,
        shipping::CheckoutSettings,
    },
    storage::{
        AbandonedCheckout, CommerceRepository, IdempotencyRecord, NewOrder, OpenOrderLimit,
        OpenOrderScope, OrderChange, OrderQuery, Placement, Shortfall, StorageError, StorageResult,
        faults::{Faults, SagaStep},
    },
};

fn corrupt_id<T: std::str::FromStr>(text: &str) -> StorageResult<T> {
    text.parse()
        .map_err(|_| StorageError::Corrupt(format!("bad id {text}")))
}

/// Product documents touched by one transaction, written back once each.
struct Touched<'a> {
    tx: &'a Transaction<'a>,
    store: String,
    products: BTreeMap<ProductId, (Product, Product)>,
}

impl<'a> Touched<'a> {
    fn new(tx: &'a Transaction<'a>, store: StoreId) -> Self {
        Self {
            tx,
            store: store.to_string(),
            products: BTreeMap::new(),
        }
    }

    /// Applies one move; `Ok(Err(available))` when a reservation finds too little.
    fn apply(&mut self, change: &StockMove) -> StorageResult<Result<(), i64>> {
        if !self.products.contains_key(&change.product_id) {
            let Some(product) = read_product(self.tx, &self.store, &change.product_id.to_string())?
            else {
                return Ok(Err(0));
            };
            self.products
                .insert(change.product_id, (product.clone(), product));
        }
        let Some((_, product)) = self.products.get_mut(&change.product_id) else {
            return Ok(Err(0));
        };
        match product.apply_stock_move(change.variant_id, change.op, change.quantity) {
            Ok(()) => Ok(Ok(())),
            Err(StockRefusal::Insufficient { on_hand, reserved }) => {
                Ok(Err((on_hand - reserved).max(0)))
            }
            // A variant removed since: nothing to hold, and nothing to give back.
            Err(StockRefusal::UnknownVariant) if change.op == StockOp::Reserve => Ok(Err(0)),
            Err(StockRefusal::UnknownVariant) => Ok(Ok(())),
        }
    }

    /// Writes every changed product, appends low-stock events and bumps the stock version —
    /// and the content version only when a product went in or out of stock, the one change a
    /// product list shows.
    fn finish(self, store: StoreId, at: Timestamp) -> StorageResult<()> {
        if self.products.is_empty() {
            return Ok(());
        }
        let mut flipped = false;
        for (before, mut after) in self.products.into_values() {
            for (kind, payload) in after.low_stock_events(Some(&before)) {
                append_event(self.tx, store, StoreEvent::new(store, kind, payload, at))?;
            }
            flipped |= before.in_stock() != after.in_stock();
            after.version += 1;
            write_stock(self.tx, &self.store, &after)?;
        }
        bump_stock_version(self.tx, store)?;
        if flipped {
            bump_version(self.tx, store)?;
        }
        Ok(())
    }
}

fn write_order(
    tx: &Transaction<'_>,
    store: &str,
    order: &Order,
    insert: bool,
) -> StorageResult<()> {
    let sql = if insert {
        "INSERT INTO orders (store_id, id, number, customer_id, email, status, payment_status,
            pay_by, created_at, version, doc, client_ip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    } else {
        "UPDATE orders SET number = ?3, customer_id = ?4, email = ?5, status = ?6,
            payment_status = ?7, pay_by = ?8, created_at = ?9, version = ?10, doc = ?11,
            client_ip = ?12
         WHERE store_id = ?1 AND id = ?2"
    };
    tx.execute(
        sql,
        rusqlite::params![
            store,
            order.id.to_string(),
            order.number,
            order.customer_id.map(|c| c.to_string()),
            order.email,
            order.status.as_str(),
            order.payment_status.as_str(),
            order.pay_by.map(|t| t.as_millisecond()),
            order.created_at.as_millisecond(),
            order.version,
            to_json(order)?,
            order.client_ip,
        ],
    )
    .map(drop)
    .map_err(sql_error("orders.number"))
}

/// Counts one use of a discount; `false` when a limit is reached.
fn use_discount(
    tx: &Transaction<'_>,
    store: &str,
    new: &NewOrder,
    faults: &Faults,
) -> StorageResult<bool> {
    let Some(use_) = &new.discount else {
        return Ok(true);
    };
    let id = use_.discount_id.to_string();
    faults.check(SagaStep::CountDiscount)?;
    let changed = tx
        .execute(
            "UPDATE discounts SET used = used + 1
             WHERE store_id = ?1 AND id = ?2 AND (?3 IS NULL OR used < ?3)",
            (store, &id, use_.usage_limit),
        )
        .map_err(unavailable)?;
    if changed == 0 {
        return Ok(false);
    }
    faults.check(SagaStep::CountCustomerUse)?;
    let changed = tx
        .execute(
            "INSERT INTO discount_uses (store_id, discount_id, customer_key, uses)
             VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (store_id, discount_id, customer_key)
             DO UPDATE SET uses = uses + 1 WHERE ?4 IS NULL OR uses < ?4",
            (store, &id, &use_.customer_key, use_.per_customer_limit),
        )
        .map_err(unavailable)?;
    Ok(changed > 0)
}

/// Gives one counted use back to the discount's total and to its customer.
fn return_discount(tx: &Transaction<'_>, store: &str, returned: &ReturnedUse) -> StorageResult<()> {
    let id = returned.discount_id.to_string();
    tx.execute(
        "UPDATE discounts SET used = used - 1 WHERE store_id = ?1 AND id = ?2 AND used > 0",
        (store, &id),
    )
    .map_err(unavailable)?;
    tx.execute(
        "UPDATE discount_uses SET uses = uses - 1
         WHERE store_id = ?1 AND discount_id = ?2 AND customer_key = ?3 AND uses > 0",
        (store, &id, &returned.customer_key),
    )
    .map_err(unavailable)?;
    Ok(())
}

/// Which open-order limit `order` would pass, counting the store's unpaid orders.
fn open_limit_reached(
    tx: &Transaction<'_>,
    store: &str,
    order: &Order,
    limit: OpenOrderLimit,
) -> StorageResult<Option<Placement>> {
    let buyer: i64 = tx
        .query_row(
            "SELECT COUNT(*) FROM orders WHERE store_id = ?1 AND status = 'pending_payment'
               AND (email = ?2 OR (?3 IS NOT NULL AND customer_id = ?3))",
            (
                store,
                &order.email,
                order.customer_id.map(|c| c.to_string()),
            ),
            |row| row.get(0),
        )
        .map_err(unavailable)?;
    if buyer >= i64::from(limit.per_buyer) {
        return Ok(Some(Placement::TooManyOpen {
            scope: OpenOrderScope::Buyer,
            limit: limit.per_buyer,
        }));
    }
    let Some(ip) = &order.client_ip else {
        return Ok(None);
    };
    let address: i64 = tx
        .query_row(
            "SELECT COUNT(*) FROM orders WHERE store_id = ?1 AND status = 'pending_payment'
               AND client_ip = ?2",
            (store, ip),
            |row| row.get(0),
        )
        .map_err(unavailable)?;
    Ok(
        (address >= i64::from(limit.per_address)).then_some(Placement::TooManyOpen {
            scope: OpenOrderScope::Address,
            limit: limit.per_address,
        }),
    )
}

fn read_key(
    tx: &Transaction<'_>,
    store: &str,
    scope: &str,
    key: &str,
) -> StorageResult<Option<IdempotencyRecord>> {
    let row: Option<(String, String, String)> = tx
        .query_row(
            "SELECT request_hash, order_id, order_token FROM idempotency_keys
             WHERE store_id = ?1 AND scope = ?2 AND key = ?3",
            [store, scope, key],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(unavailable)?;
    row.map(|(request_hash, order_id, order_token)| {
        Ok(IdempotencyRecord {
            request_hash,
            order_id: Some(corrupt_id(&order_id)?),
            order_token: Some(order_token),
        })
    })
    .transpose()
}

fn discount_with_usage((doc, used): (String, i64)) -> StorageResult<Discount> {
    let mut discount: Discount = from_json(&doc)?;
    discount.used = used;
    Ok(discount)
}

fn collect<T>(
    statement: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
    map: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> StorageResult<Vec<T>> {
    let rows = statement.query_map(params, map).map_err(unavailable)?;
    rows.collect::<rusqlite::Result<_>>().map_err(unavailable)
}

impl EmbeddedStorage {
    /// One discount with its usage count: `sql` selects `doc, used` by store (?1) and key (?2).
    async fn one_discount(
        &self,
        sql: &'static str,
        store: StoreId,
        key: String,
    ) -> StorageResult<Option<Discount>> {
        let row: Option<(String, i64)> = self
            .read(move |conn| {
                conn.query_row(sql, [store.to_string(), key], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()
                .map_err(unavailable)
            })
            .await?;
        row.map(discount_with_usage).transpose()
    }
}

#[async_trait]
impl CommerceRepository for EmbeddedStorage {
    async fn insert_cart(&self, store: StoreId, cart: &Cart) -> StorageResult<()> {
        let doc = to_json(cart)?;
        let params = (
            store.to_string(),
            cart.id.to_string(),
            cart.customer_id.map(|c| c.to_string()),
            cart.expires_at.as_millisecond(),
            cart.version,
            doc,
        );
        self.write(
            "INSERT INTO carts (store_id, id, customer_id, expires_at, version, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params,
            "carts.id",
        )
        .await
        .map(drop)
    }

    async fn cart(
        &self,
        store: StoreId,
        id: CartId,
        now: Timestamp,
    ) -> StorageResult<Option<Cart>> {
        self.doc(
            "SELECT doc FROM carts WHERE store_id = ?1 AND id = ?2 AND expires_at > ?3",
            (store.to_string(), id.to_string(), now.as_millisecond()),
        )
        .await
    }

    async fn customer_cart(
        &self,
        store: StoreId,
        customer: CustomerId,
        now: Timestamp,
    ) -> StorageResult<Option<Cart>> {
        self.doc(
            "SELECT doc FROM carts WHERE store_id = ?1 AND customer_id = ?2 AND expires_at > ?3
             ORDER BY expires_at DESC LIMIT 1",
            (
                store.to_string(),
                customer.to_string(),
                now.as_millisecond(),
            ),
        )
        .await
    }

    async fn save_cart(&self, store: StoreId, cart: &Cart) -> StorageResult<bool> {
        let expected = cart.version;
        let mut next = cart.clone();
        next.version = expected + 1;
        let doc = to_json(&next)?;
        let changed = self
            .write(
                "UPDATE carts SET customer_id = ?3, expires_at = ?4, version = ?5, doc = ?6
                 WHERE store_id = ?1 AND id = ?2 AND version = ?7",
                (
                    store.to_string(),
                    next.id.to_string(),
                    next.customer_id.map(|c| c.to_string()),
                    next.expires_at.as_millisecond(),
                    next.version,
                    doc,
                    expected,
                ),
                "carts.id",
            )
            .await?;
        Ok(changed == 1)
    }

    async fn delete_cart(&self, store: StoreId, id: CartId) -> StorageResult<bool> {
        self.write(
            "DELETE FROM carts WHERE store_id = ?1 AND id = ?2",
            (store.to_string(), id.to_string()),
            "carts.id",
        )
        .await
        .map(|n| n > 0)
    }

    async fn delete_expired_carts(&self, now: Timestamp) -> StorageResult<u64> {
        self.write(
            "DELETE FROM carts WHERE expires_at <= ?1",
            [now.as_millisecond()],
            "carts.id",
        )
        .await
        .map(|n| n as u64)
    }

    async fn insert_discount(&self, store: StoreId, discount: &Discount) -> StorageResult<()> {
        let doc = to_json(discount)?;
        self.write(
            "INSERT INTO discounts (store_id, id, code, used, doc) VALUES (?1, ?2, ?3, 0, ?4)",
            (
                store.to_string(),
                discount.id.to_string(),
                discount.code.clone(),
                doc,
            ),
            "discounts.code",
        )
        .await
        .map(drop)
    }

    async fn update_discount(&self, store: StoreId, discount: &Discount) -> StorageResult<bool> {
        let doc = to_json(discount)?;
        self.write(
            "UPDATE discounts SET code = ?3, doc = ?4 WHERE store_id = ?1 AND id = ?2",
            (
                store.to_string(),
                discount.id.to_string(),
                discount.code.clone(),
                doc,
            ),
            "discounts.code",
        )
        .await
        .map(|n| n == 1)
    }

    async fn discount(&self, store: StoreId, id: DiscountId) -> StorageResult<Option<Discount>> {
        self.one_discount(
            "SELECT doc, used FROM discounts WHERE store_id = ?1 AND id = ?2",
            store,
            id.to_string(),
        )
        .await
    }

    async fn discount_by_code(
        &self,
        store: StoreId,
        code: &str,
    ) -> StorageResult<Option<Discount>> {
        self.one_discount(
            "SELECT doc, used FROM discounts WHERE store_id = ?1 AND code = ?2",
            store,
            code.to_owned(),
        )
        .await
    }

    async fn discounts(&self, store: StoreId) -> StorageResult<Vec<Discount>> {
        let rows: Vec<(String, i64)> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT doc, used FROM discounts WHERE store_id = ?1 ORDER BY code",
                    )
                    .map_err(unavailable)?;
                collect(&mut statement, [store.to_string()], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
            })
            .await?;
        rows.into_iter().map(discount_with_usage).collect()
    }

    async fn delete_discount(&self, store: StoreId, id: DiscountId) -> StorageResult<bool> {
        self.write(
            "DELETE FROM discounts WHERE store_id = ?1 AND id = ?2",
            (store.to_string(), id.to_string()),
            "discounts.id",
        )
        .await
        .map(|n| n > 0)
    }

    async fn discount_uses(
        &self,
        store: StoreId,
        id: DiscountId,
        customer_key: &str,
    ) -> StorageResult<i64> {
        let key = customer_key.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT uses FROM discount_uses
                 WHERE store_id = ?1 AND discount_id = ?2 AND customer_key = ?3",
                [store.to_string(), id.to_string(), key],
                |row| row.get(0),
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(unavailable)
        })
        .await
    }

    async fn checkout_settings(&self, store: StoreId) -> StorageResult<Option<CheckoutSettings>> {
        self.doc(
            "SELECT doc FROM checkout_settings WHERE store_id = ?1",
            [store.to_string()],
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
        let doc = to_json(&next)?;
        self.call(move |conn| {
            let changed = if expected == 0 {
                conn.execute(
                    "INSERT INTO checkout_settings (store_id, version, doc) VALUES (?1, 1, ?2)
                     ON CONFLICT (store_id) DO NOTHING",
                    (store.to_string(), doc),
                )
            } else {
                conn.execute(
                    "UPDATE checkout_settings SET version = ?2, doc = ?3
                     WHERE store_id = ?1 AND version = ?4",
                    (store.to_string(), next.version, doc, expected),
                )
            };
            changed.map(|n| n == 1).map_err(unavailable)
        })
        .await
    }

    async fn place_order(&self, store: StoreId, new: &NewOrder) -> StorageResult<Placement> {
        let new = new.clone();
        let faults = self.faults.clone();
        self.call(move |conn| {
            let tx = immediate(conn)?;
            let store_text = store.to_string();
            let key = &new.idempotency;
            if let Some(seen) = read_key(&tx, &store_text, &key.scope, &key.key)? {
                return Ok(Placement::Seen(seen));
            }
            faults.check(SagaStep::ClaimKey)?;
            if let Some(limit) = new.open_limit
                && let Some(refusal) = open_limit_reached(&tx, &store_text, &new.order, limit)?
            {
                return Ok(refusal);
            }
            let mut touched = Touched::new(&tx, store);
            let mut short = Vec::new();
            for (index, reservation) in new.order.reservations().into_iter().enumerate() {
                faults.check(SagaStep::Reserve(index))?;
                if let Err(available) = touched.apply(&reservation)? {
                    short.push(Shortfall {
                        variant_id: reservation.variant_id,
                        requested: reservation.quantity,
                        available,
                    });
                }
            }
            if !short.is_empty() {
                // Dropping the transaction rolls back every reservation made above.
                return Ok(Placement::Short(short));
            }
            if !use_discount(&tx, &store_text, &new, &faults)? {
                return Ok(Placement::DiscountUsedUp);
            }
            faults.check(SagaStep::NumberOrder)?;
            let number: i64 = tx
                .query_row(
                    "INSERT INTO order_numbers (store_id, last) VALUES (?1, 1001)
                     ON CONFLICT (store_id) DO UPDATE SET last = last + 1 RETURNING last",
                    [&store_text],
                    |row| row.get(0),
                )
                .map_err(unavailable)?;
            let mut order = new.order.clone();
            order.store_id = store;
            order.number = number;
            order.version = 1;
            touched.finish(store, order.created_at)?;
            faults.check(SagaStep::InsertOrder)?;
            write_order(&tx, &store_text, &order, true)?;
            faults.check(SagaStep::PublishEvents)?;
            for mut event in new.events.clone() {
                if let Some(slot) = event.payload.get_mut("number") {
                    *slot = number.into();
                }
                append_event(&tx, store, event)?;
            }
            faults.check(SagaStep::RecordKey)?;
            tx.execute(
                "INSERT INTO idempotency_keys
                    (store_id, scope, key, request_hash, order_id, order_token, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                (
                    &store_text,
                    &key.scope,
                    &key.key,
                    &key.request_hash,
                    order.id.to_string(),
                    &key.order_token,
                    order.created_at.as_millisecond(),
                ),
            )
            .map_err(unavailable)?;
            if let Some(cart) = new.cart_id {
                tx.execute(
                    "DELETE FROM carts WHERE store_id = ?1 AND id = ?2",
                    [&store_text, &cart.to_string()],
                )
                .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(Placement::Placed(Box::new(order)))
        })
        .await
    }

    async fn idempotency_record(
        &self,
        store: StoreId,
        scope: &str,
        key: &str,
    ) -> StorageResult<Option<IdempotencyRecord>> {
        let (scope, key) = (scope.to_owned(), key.to_owned());
        self.read(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            read_key(&tx, &store.to_string(), &scope, &key)
        })
        .await
    }

    async fn delete_idempotency_keys(&self, before: Timestamp) -> StorageResult<u64> {
        self.write(
            "DELETE FROM idempotency_keys WHERE created_at < ?1",
            [before.as_millisecond()],
            "idempotency_keys",
        )
        .await
        .map(|n| n as u64)
    }

    async fn order(&self, store: StoreId, id: OrderId) -> StorageResult<Option<Order>> {
        self.doc(
            "SELECT doc FROM orders WHERE store_id = ?1 AND id = ?2",
            [store.to_string(), id.to_string()],
        )
        .await
    }

    async fn save_order(&self, store: StoreId, change: &OrderChange<'_>) -> StorageResult<bool> {
        let order = change.order.clone();
        let moves = change.moves.to_vec();
        let events = change.events.to_vec();
        let returned = change.returned_discount.cloned();
        let faults = self.faults.clone();
        self.call(move |conn| {
            let tx = immediate(conn)?;
            let store_text = store.to_string();
            let current: Option<i64> = tx
                .query_row(
                    "SELECT version FROM orders WHERE store_id = ?1 AND id = ?2",
                    [&store_text, &order.id.to_string()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            if current != Some(order.version) {
                return Ok(false);
            }
            faults.check(SagaStep::SaveOrder)?;
            let mut touched = Touched::new(&tx, store);
            for (index, change) in moves.iter().enumerate() {
                faults.check(SagaStep::ApplyMove(index))?;
                if touched.apply(change)?.is_err() {
                    return Err(StorageError::Conflict("stock.reserve"));
                }
            }
            touched.finish(store, order.updated_at)?;
            let mut next = order.clone();
            next.version += 1;
            write_order(&tx, &store_text, &next, false)?;
            if let Some(returned) = &returned {
                return_discount(&tx, &store_text, returned)?;
            }
            for event in events {
                append_event(&tx, store, event)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn complete_pending(
        &self,
        _now: Timestamp,
        _older_than: jiff::SignedDuration,
    ) -> StorageResult<u64> {
        // Every order change commits with all its effects in one transaction.
        Ok(0)
    }

    async fn repair_checkouts(
        &self,
        _now: Timestamp,
        _older_than: jiff::SignedDuration,
        _apply: bool,
    ) -> StorageResult<Vec<AbandonedCheckout>> {
        // A checkout is one transaction: a crash rolls all of it back.
        Ok(Vec::new())
    }

    async fn orders(&self, store: StoreId, query: &OrderQuery) -> StorageResult<Vec<Order>> {
        let query = query.clone();
        let docs: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT doc FROM orders WHERE store_id = ?1
                           AND (?2 IS NULL OR status = ?2)
                           AND (?3 IS NULL OR payment_status = ?3)
                           AND (?4 IS NULL OR customer_id = ?4)
                           AND (?5 IS NULL OR number = ?5)
                           AND (?6 IS NULL OR (email >= ?6 AND email < ?6 || char(1114111)))
                           AND (?7 IS NULL OR created_at < ?7 OR (created_at = ?7 AND id < ?8))
                         ORDER BY created_at DESC, id DESC LIMIT ?9",
                    )
                    .map_err(unavailable)?;
                collect(
                    &mut statement,
                    rusqlite::params![
                        store.to_string(),
                        query.status.map(|s| s.as_str()),
                        query.payment_status.map(|s| s.as_str()),
                        query.customer.map(|c| c.to_string()),
                        query.number,
                        query.email_prefix,
                        query.before.map(|(at, _)| at),
                        query.before.map(|(_, id)| id.to_string()),
                        query.limit,
                    ],
                    |row| row.get(0),
                )
            })
            .await?;
        docs.iter().map(|doc| from_json(doc)).collect()
    }

    async fn overdue_orders(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<(StoreId, OrderId)>> {
        let rows: Vec<(String, String)> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT store_id, id FROM orders
                         WHERE status = 'pending_payment' AND pay_by <= ?1
                         ORDER BY pay_by LIMIT ?2",
                    )
                    .map_err(unavailable)?;
                collect(&mut statement, (now.as_millisecond(), limit), |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
            })
            .await?;
        rows.iter()
            .map(|(store, id)| Ok((corrupt_id(store)?, corrupt_id(id)?)))
            .collect()
    }

    async fn insert_review(&self, store: StoreId, review: &Review) -> StorageResult<()> {
        let doc = to_json(review)?;
        self.write(
            "INSERT INTO reviews (store_id, id, product_id, customer_id, status, created_at, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            (
                store.to_string(),
                review.id.to_string(),
                review.product_id.to_string(),
                review.customer_id.to_string(),
                review.status.as_str(),
                review.created_at.as_millisecond(),
                doc,
            ),
            "reviews.customer",
        )
        .await
        .map(drop)
    }

    async fn save_review(&self, store: StoreId, review: &Review) -> StorageResult<bool> {
        let doc = to_json(review)?;
        self.write(
            "UPDATE reviews SET status = ?3, doc = ?4 WHERE store_id = ?1 AND id = ?2",
            (
                store.to_string(),
                review.id.to_string(),
                review.status.as_str(),
                doc,
            ),
            "reviews.customer",
        )
        .await
        .map(|n| n == 1)
    }

    async fn review(&self, store: StoreId, id: ReviewId) -> StorageResult<Option<Review>> {
        self.doc(
            "SELECT doc FROM reviews WHERE store_id = ?1 AND id = ?2",
            [store.to_string(), id.to_string()],
        )
        .await
    }

    async fn reviews(
        &self,
        store: StoreId,
        product: Option<ProductId>,
        status: Option<ReviewStatus>,
    ) -> StorageResult<Vec<Review>> {
        let docs: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT doc FROM reviews WHERE store_id = ?1
                           AND (?2 IS NULL OR product_id = ?2) AND (?3 IS NULL OR status = ?3)
                         ORDER BY created_at DESC, id DESC",
                    )
                    .map_err(unavailable)?;
                collect(
                    &mut statement,
                    (
                        store.to_string(),
                        product.map(|p| p.to_string()),
                        status.map(|s| s.as_str()),
                    ),
                    |row| row.get(0),
                )
            })
            .await?;
        docs.iter().map(|doc| from_json(doc)).collect()
    }

    async fn review_page(
        &self,
        store: StoreId,
        status: Option<ReviewStatus>,
        offset: u64,
        limit: u32,
    ) -> StorageResult<Vec<Review>> {
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let docs: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT doc FROM reviews WHERE store_id = ?1 AND (?2 IS NULL OR status = ?2)
                         ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4",
                    )
                    .map_err(unavailable)?;
                collect(
                    &mut statement,
                    (store.to_string(), status.map(|s| s.as_str()), limit, offset),
                    |row| row.get(0),
                )
            })
            .await?;
        docs.iter().map(|doc| from_json(doc)).collect()
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
        let steps =
            serde_json::to_string(boundaries).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        self.read(move |conn| {
            let store = store.to_string();
            Ok(OrderFigures {
                sales: sales_rows(conn, &store, &steps)?,
                by_status: status_counts(conn, &store, start, end)?,
                top_products: best_sellers(conn, &store, start, end, top)?,
            })
        })
        .await
    }
}

/// `payment_status IN (…)` for the payment states that count as a sale.
fn is_sale() -> String {
    let states: Vec<String> = SALE_PAYMENT_STATES
        .iter()
        .map(|s| format!("'{s}'"))
        .collect();
    format!("payment_status IN ({})", states.join(", "))
}

/// One row per step with orders; the steps come as a JSON array of boundaries.
fn sales_rows(
    conn: &rusqlite::Connection,
    store: &str,
    steps: &str,
) -> StorageResult<Vec<SalesRow>> {
    let sale = is_sale();
    let sql = format!(
        "WITH steps AS (
             SELECT key AS i, value AS lo, lead(value) OVER (ORDER BY key) AS hi FROM json_each(?2)
         )
         SELECT steps.i,
                count(*) FILTER (WHERE o.payment_status <> 'voided'),
                count(*) FILTER (WHERE o.{sale}),
                coalesce(sum(json_extract(o.doc, '$.total')) FILTER (WHERE o.{sale}), 0),
                coalesce(sum(json_extract(o.doc, '$.refunded')) FILTER (WHERE o.{sale}), 0)
           FROM steps JOIN orders o
             ON o.store_id = ?1 AND o.created_at >= steps.lo AND o.created_at < steps.hi
          GROUP BY steps.i ORDER BY steps.i"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(unavailable)?;
    collect(&mut statement, (store, steps), |row| {
        Ok(SalesRow {
            bucket: row.get::<_, i64>(0)?.try_into().unwrap_or(usize::MAX),
            orders: row.get(1)?,
            paid_orders: row.get(2)?,
            gross: row.get(3)?,
            refunds: row.get(4)?,
        })
    })
}

fn status_counts(
    conn: &rusqlite::Connection,
    store: &str,
    start: i64,
    end: i64,
) -> StorageResult<Vec<(OrderStatus, i64)>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT status, count(*) FROM orders
              WHERE store_id = ?1 AND created_at >= ?2 AND created_at < ?3 GROUP BY status",
        )
        .map_err(unavailable)?;
    let rows: Vec<(String, i64)> = collect(&mut statement, (store, start, end), |row| {
        Ok((row.get(0)?, row.get(1)?))
    })?;
    rows.into_iter()
        .map(|(status, n)| {
            OrderStatus::parse(&status)
                .map(|s| (s, n))
                .ok_or_else(|| StorageError::Corrupt(format!("order status {status}")))
        })
        .collect()
}

fn best_sellers(
    conn: &rusqlite::Connection,
    store: &str,
    start: i64,
    end: i64,
    top: u32,
) -> StorageResult<Vec<ProductSales>> {
    let sql = format!(
        "SELECT json_extract(line.value, '$.product_id') AS product,
                max(json_extract(line.value, '$.title')),
                sum(json_extract(line.value, '$.quantity')),
                sum(json_extract(line.value, '$.total')) AS revenue
           FROM orders o, json_each(o.doc, '$.lines') AS line
          WHERE o.store_id = ?1 AND o.created_at >= ?2 AND o.created_at < ?3 AND o.{}
          GROUP BY product ORDER BY revenue DESC, product LIMIT ?4",
        is_sale()
    );
    let mut statement = conn.prepare_cached(&sql).map_err(unavailable)?;
    let rows: Vec<(String, String, i64, i64)> =
        collect(&mut statement, (store, start, end, top), |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?;
    rows.into_iter()
        .map(|(product, title, quantity, revenue)| {
            Ok(ProductSales {
                product_id: corrupt_id(&product)?,
                title,
                quantity,
                revenue,
            })
        })
        .collect()
}

//! Pure builders for every MongoDB filter, update, sort and index the adapter sends, and the
//! mapping between domain types and documents. No I/O here: each function is unit-tested.

use jiff::Timestamp;
use mongodb::{
    IndexModel,
    bson::{Bson, DateTime, Document, doc},
    options::IndexOptions,
};
use techverse_shared::{
    CountryCode, Currency, DiscountId, OrderId, ProductId, StoreId, StoreSlug, StoreStatus,
    VariantId,
};

use crate::{
    domain::{
        order::{StockMove, StockOp},
        session::RotationRequest,
        store::{Store, StoreDetails, StoreName, TimeZoneName},
    },
    storage::OrderQuery,
};

pub const STORES: &str = "stores";
pub const USERS: &str = "users";
pub const CUSTOMERS: &str = "customers";
pub const TEAMS: &str = "teams";
pub const TOKENS: &str = "one_time_tokens";
pub const SESSIONS: &str = "sessions";
pub const OUTBOX: &str = "outbox";
pub const AUDIT_LOG: &str = "audit_log";
pub const PRODUCTS: &str = "products";
pub const CATEGORIES: &str = "categories";
pub const WISHLISTS: &str = "wishlists";
pub const COUNTERS: &str = "counters";
pub const STORE_EVENTS: &str = "store_events";
pub const INVENTORY: &str = "inventory";
pub const CARTS: &str = "carts";
pub const DISCOUNTS: &str = "discounts";
pub const DISCOUNT_USES: &str = "discount_uses";
pub const CHECKOUT_SETTINGS: &str = "checkout_settings";
pub const ORDERS: &str = "orders";
pub const IDEMPOTENCY_KEYS: &str = "idempotency_keys";
pub const REVIEWS: &str = "reviews";
pub const STRIPE_ACCOUNTS: &str = "stripe_accounts";
pub const PAYMENT_EVENTS: &str = "payment_events";
pub const PAYMENT_ATTEMPTS: &str = "payment_attempts";
pub const EVENT_HEADS: &str = "event_heads";
pub const CONSUMER_POSITIONS: &str = "consumer_positions";
pub const WEBHOOKS: &str = "webhooks";
pub const WEBHOOK_DELIVERIES: &str = "webhook_deliveries";

/// Every collection's indexes. The store id is the first key of every compound index on
/// tenant data, and unique rules are per store.
pub fn indexes() -> Vec<(&'static str, Vec<IndexModel>)> {
    vec![
        (
            STORES,
            vec![unique_index("stores_slug", doc! { "slug": 1 })],
        ),
        (
            USERS,
            vec![unique_index("users_email", doc! { "email": 1 })],
        ),
        (
            CUSTOMERS,
            vec![unique_index(
                "customers_store_email",
                doc! { "store_id": 1, "email": 1 },
            )],
        ),
        (
            TEAMS,
            vec![index("teams_members", doc! { "member_ids": 1 })],
        ),
        (
            TOKENS,
            vec![index(
                "tokens_subject",
                doc! { "subject_key": 1, "purpose": 1 },
            )],
        ),
        (
            SESSIONS,
            vec![index("sessions_account", doc! { "account_key": 1 })],
        ),
        (
            OUTBOX,
            vec![index("outbox_due", doc! { "next_attempt_at": 1 })],
        ),
        (
            AUDIT_LOG,
            vec![index("audit_store_id", doc! { "store_id": 1, "id": -1 })],
        ),
        (
            PRODUCTS,
            vec![
                unique_index("products_store_slug", doc! { "store_id": 1, "slug": 1 }),
                unique_index(
                    "products_store_skus",
                    doc! { "store_id": 1, "skus_lower": 1 },
                ),
                index(
                    "products_store_status",
                    doc! { "store_id": 1, "status": 1, "created_at": -1 },
                ),
                index(
                    "products_search",
                    doc! { "store_id": 1, "search_prefixes": 1 },
                ),
                index(
                    "products_suggest",
                    doc! { "store_id": 1, "title_prefixes": 1 },
                ),
            ],
        ),
        (
            CATEGORIES,
            vec![unique_index(
                "categories_store_slug",
                doc! { "store_id": 1, "slug": 1 },
            )],
        ),
        (
            WISHLISTS,
            vec![index(
                "wishlists_customer",
                doc! { "store_id": 1, "customer_id": 1 },
            )],
        ),
        (
            STORE_EVENTS,
            vec![index("store_events_seq", doc! { "store_id": 1, "seq": 1 })],
        ),
        (
            INVENTORY,
            vec![index(
                "inventory_product",
                doc! { "store_id": 1, "product_id": 1 },
            )],
        ),
        (
            CARTS,
            vec![
                index(
                    "carts_customer",
                    doc! { "store_id": 1, "customer_id": 1, "expires_at": -1 },
                ),
                index("carts_expiry", doc! { "expires_at": 1 }),
            ],
        ),
        (
            DISCOUNTS,
            vec![unique_index(
                "discounts_store_code",
                doc! { "store_id": 1, "code": 1 },
            )],
        ),
        (
            ORDERS,
            vec![
                unique_index("orders_store_number", doc! { "store_id": 1, "number": 1 }),
                index(
                    "orders_store_created",
                    doc! { "store_id": 1, "created_at": -1, "id": -1 },
                ),
                index(
                    "orders_customer",
                    doc! { "store_id": 1, "customer_id": 1, "created_at": -1 },
                ),
                index("orders_due", doc! { "status": 1, "pay_by": 1 }),
                index("orders_pending_work", doc! { "pending_since": 1 }),
                index(
                    "orders_open_email",
                    doc! { "store_id": 1, "status": 1, "email": 1 },
                ),
                index(
                    "orders_open_ip",
                    doc! { "store_id": 1, "status": 1, "client_ip": 1 },
                ),
            ],
        ),
        (
            REVIEWS,
            vec![
                unique_index(
                    "reviews_one_per_customer",
                    doc! { "store_id": 1, "product_id": 1, "customer_id": 1 },
                ),
                index(
                    "reviews_product",
                    doc! { "store_id": 1, "product_id": 1, "status": 1, "created_at": -1 },
                ),
            ],
        ),
        (
            STRIPE_ACCOUNTS,
            vec![unique_index(
                "stripe_accounts_account",
                doc! { "account_id": 1 },
            )],
        ),
        (
            PAYMENT_ATTEMPTS,
            vec![
                unique_index("payment_attempts_intent", doc! { "intent_id": 1 }),
                index(
                    "payment_attempts_unsettled",
                    doc! { "state": 1, "created_at": 1 },
                ),
            ],
        ),
        (
            CONSUMER_POSITIONS,
            vec![index("consumer_positions_consumer", doc! { "consumer": 1 })],
        ),
        (
            WEBHOOKS,
            vec![index("webhooks_store", doc! { "store_id": 1 })],
        ),
        (
            WEBHOOK_DELIVERIES,
            vec![
                unique_index(
                    "webhook_deliveries_event",
                    doc! { "endpoint_id": 1, "event_id": 1 },
                ),
                index("webhook_deliveries_due", doc! { "due_at": 1 }),
                index(
                    "webhook_deliveries_log",
                    doc! { "store_id": 1, "endpoint_id": 1 },
                ),
            ],
        ),
    ]
}

/// The conditional update rotating a session: it matches only while `presented_hash` is the
/// current hash of the live session, so two rotations from one hash never both succeed.
pub fn session_rotation(id: &str, request: &RotationRequest<'_>) -> (Document, Document) {
    (
        doc! {
            "_id": id,
            "refresh_hash": request.presented_hash,
            "expires_at": { "$gt": request.now.as_millisecond() },
        },
        doc! {
            "$set": {
                "previous_hash": request.presented_hash,
                "refresh_hash": request.new_hash,
                "rotated_at": request.now.as_millisecond(),
                "expires_at": request.expires_at.as_millisecond(),
            },
            "$inc": { "generation": 1_i64 },
        },
    )
}

/// Removes finished pieces of an order's pending work (`field` entries whose `key` is one of
/// `ids`), bumping `pending_rev` so a save that read the order before retries.
pub fn pull_finished(field: &str, key: &str, ids: Vec<String>) -> Document {
    doc! {
        "$pull": { field: { key: { "$in": ids } } },
        "$inc": { "pending_rev": 1_i64 },
    }
}

/// Clears an order's pending-work marker, matching only when no piece of work is left.
pub fn work_done(order_filter: Document) -> (Document, Document) {
    let mut filter = order_filter;
    filter.insert("outbox", doc! { "$size": 0 });
    filter.insert("pending_moves", doc! { "$size": 0 });
    filter.insert("pending_returns", doc! { "$size": 0 });
    (
        filter,
        doc! {
            "$unset": {
                "pending_since": "", "pending_key": "", "pending_cart": "",
                "catalog_stale": "", "stock_stale": "", "repair_lease": "",
                "pending_saga": "",
            },
            "$inc": { "pending_rev": 1_i64 },
        },
    )
}

/// Claims an order whose pending work has waited since `cutoff` (ms) for a repair pass, unless
/// another pass holds it; the lease runs until `lease_until` (ms).
pub fn repair_claim(cutoff: i64, now: i64, lease_until: i64) -> (Document, Document) {
    (
        doc! {
            "pending_since": { "$lte": cutoff },
            "$or": [
                { "repair_lease": { "$exists": false } },
                { "repair_lease": { "$lte": now } },
            ],
        },
        doc! { "$set": { "repair_lease": lease_until } },
    )
}

/// A store's unpaid orders of one buyer (the email, or the signed-in customer), and of one
/// client address (when the order has one).
pub fn open_orders_filters(
    store: StoreId,
    email: &str,
    customer: Option<techverse_shared::CustomerId>,
    client_ip: Option<&str>,
) -> (Document, Option<Document>) {
    let open = doc! { "store_id": store.to_string(), "status": "pending_payment" };
    let mut who = vec![Bson::Document(doc! { "email": email })];
    if let Some(customer) = customer {
        who.push(Bson::Document(doc! { "customer_id": customer.to_string() }));
    }
    let mut buyer = open.clone();
    buyer.insert("$or", who);
    let address = client_ip.map(|ip| {
        let mut address = open;
        address.insert("client_ip", ip);
        address
    });
    (buyer, address)
}

/// Unexpired invitations into a store: a range on the subject key's store prefix (no regex).
pub fn invitations_filter(store: StoreId, now: Timestamp) -> Document {
    let prefix = crate::domain::token::OneTimeToken::invitation_prefix(store);
    let end = format!("{prefix}\u{10FFFF}");
    doc! {
        "purpose": "invitation",
        "subject_key": { "$gte": prefix, "$lt": end },
        "expires_at": { "$gt": now.as_millisecond() },
    }
}

/// Matches a stored `version` (a document written before versions counts as version 0).
pub fn version_filter(version: i64) -> Bson {
    if version == 0 {
        Bson::Document(doc! { "$in": [0_i64, Bson::Null] })
    } else {
        Bson::Int64(version)
    }
}

/// The id of the document counting one customer's uses of a discount.
pub fn discount_use_id(store: StoreId, discount: DiscountId, customer_key: &str) -> String {
    format!("{store}|{discount}|{customer_key}")
}

/// The id of a variant's inventory document.
pub fn inventory_id(store: StoreId, variant: VariantId) -> String {
    format!("{store}:{variant}")
}

/// The conditional update of one stock move: its filter and its `$inc`. A reservation (or a
/// stock decrease) only matches while enough units are available, so the check and the
/// decrement are one atomic operation on the server.
pub fn stock_move(store: StoreId, change: &StockMove) -> (Document, Document) {
    let id = inventory_id(store, change.variant_id);
    let q = change.quantity;
    match change.op {
        StockOp::Reserve => (
            doc! { "_id": id, "available": { "$gte": q } },
            doc! { "$inc": { "reserved": q, "available": -q } },
        ),
        StockOp::Release => (
            doc! { "_id": id },
            doc! { "$inc": { "reserved": -q, "available": q } },
        ),
        StockOp::Commit => (
            doc! { "_id": id },
            doc! { "$inc": { "reserved": -q, "on_hand": -q } },
        ),
        StockOp::Restock => (
            doc! { "_id": id },
            doc! { "$inc": { "on_hand": q, "available": q } },
        ),
    }
}

/// The array field where a checkout saga marks each document it wrote to with its id (an
/// order id: a UUIDv7, so it also tells when), in the same atomic update as the write: the
/// repair pass tells from these marks what an abandoned saga still holds, and undoes each
/// write exactly once by removing its mark. (Plain strings with `$nin`/`$pull`: what MongoDB,
/// DocumentDB and nx-27017 all agree on.)
pub const SAGA_MARKS: &str = "sagas";

/// `(filter, update)` made a saga's marked write: the filter misses a document this saga
/// already marked (a write is never made twice), and the update pushes the mark.
pub fn marked(mut filter: Document, mut update: Document, saga: &str) -> (Document, Document) {
    filter.insert(SAGA_MARKS, doc! { "$nin": [saga] });
    update.insert("$push", doc! { SAGA_MARKS: saga });
    (filter, update)
}

/// `(filter, update)` undoing (or, with an empty `update`, settling) a saga's marked write:
/// it matches only while the mark is there and removes it in the same update, so the undo
/// happens at most once whoever runs it.
pub fn unmarked(mut filter: Document, mut update: Document, saga: &str) -> (Document, Document) {
    filter.insert(SAGA_MARKS, saga);
    update.insert("$pull", doc! { SAGA_MARKS: saga });
    (filter, update)
}

/// Checkouts that claimed their key at or before `cutoff` (ms) and never pointed it at an
/// order: candidates for the repair pass.
pub fn unfinished_checkouts(cutoff: i64) -> Document {
    doc! {
        "order_id": { "$exists": false },
        "pending_order_id": { "$exists": true },
        "created_at": { "$lte": cutoff },
    }
}

/// The document a repair pass puts in the order's place so that the abandoned checkout, if it
/// is somehow still running, can never store its order after its stock was given back (the
/// insert collides on `_id`). Its `store_id` is no store's (and its own, so the unique
/// number index never sees two alike), so no store query ever sees it.
pub fn checkout_fence(store: StoreId, order: OrderId, now: i64) -> Document {
    doc! {
        "_id": order.to_string(),
        "store_id": format!("abandoned:{order}"),
        "abandoned_store_id": store.to_string(),
        "abandoned_at": now,
    }
}

/// An admin stock adjustment: never below what is reserved.
pub fn stock_adjustment(
    store: StoreId,
    product: ProductId,
    variant: VariantId,
    delta: i64,
) -> (Document, Document) {
    let mut filter = doc! {
        "_id": inventory_id(store, variant),
        "product_id": product.to_string(),
    };
    if delta < 0 {
        filter.insert("available", doc! { "$gte": -delta });
    }
    (
        filter,
        doc! { "$inc": { "on_hand": delta, "available": delta } },
    )
}

/// A new variant's inventory (existing ones are left alone).
pub fn inventory_seed(store: StoreId, product: ProductId, on_hand: i64) -> Document {
    doc! { "$setOnInsert": {
        "store_id": store.to_string(),
        "product_id": product.to_string(),
        "on_hand": on_hand,
        "reserved": 0_i64,
        "available": on_hand,
    } }
}

/// A staff order query as a filter (keyset: strictly older than the cursor).
pub fn order_filter(store: StoreId, query: &OrderQuery) -> Document {
    let mut filter = doc! { "store_id": store.to_string() };
    if let Some(status) = query.status {
        filter.insert("status", status.as_str());
    }
    if let Some(status) = query.payment_status {
        filter.insert("payment_status", status.as_str());
    }
    if let Some(customer) = query.customer {
        filter.insert("customer_id", customer.to_string());
    }
    if let Some(number) = query.number {
        filter.insert("number", number);
    }
    if let Some(prefix) = &query.email_prefix {
        filter.insert(
            "email",
            doc! { "$gte": prefix.as_str(), "$lt": format!("{prefix}\u{10FFFF}") },
        );
    }
    if let Some((at, id)) = query.before {
        filter.insert(
            "$or",
            vec![
                doc! { "created_at": { "$lt": at } },
                doc! { "created_at": at, "id": { "$lt": id.to_string() } },
            ],
        );
    }
    filter
}

/// A discount's total-usage counter, bumped only below its limit.
pub fn discount_use(store: StoreId, id: DiscountId, limit: Option<i64>) -> Document {
    let mut filter = doc! { "store_id": store.to_string(), "_id": id.to_string() };
    if let Some(limit) = limit {
        filter.insert("used", doc! { "$lt": limit });
    }
    filter
}

fn index(name: &str, keys: Document) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(IndexOptions::builder().name(name.to_owned()).build())
        .build()
}

fn unique_index(name: &str, keys: Document) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(
            IndexOptions::builder()
                .name(name.to_owned())
                .unique(true)
                .build(),
        )
        .build()
}

pub fn millis(at: Timestamp) -> DateTime {
    DateTime::from_millis(at.as_millisecond())
}

pub fn store_by_id(id: StoreId) -> Document {
    doc! { "_id": id.to_string() }
}

pub fn store_by_slug(slug: &StoreSlug) -> Document {
    doc! { "slug": slug.as_str() }
}

/// Stores after a slug (exclusive), for keyset pagination ordered by [`stores_sort`].
pub fn stores_after(after: Option<&StoreSlug>) -> Document {
    match after {
        Some(slug) => doc! { "slug": { "$gt": slug.as_str() } },
        None => doc! {},
    }
}

pub fn stores_sort() -> Document {
    doc! { "slug": 1 }
}

pub fn store_document(store: &Store) -> Document {
    doc! {
        "_id": store.id.to_string(),
        "slug": store.slug.as_str(),
        "name": store.name.as_str(),
        "currency": store.currency.code(),
        "country": store.country.as_str(),
        "timezone": store.timezone.as_str(),
        "status": store.status.as_str(),
        "created_at": millis(store.created_at),
        "updated_at": millis(store.updated_at),
        // Absent values as empty strings: some wire-compatible servers store null unlike
        // MongoDB.
        "details": {
            "description": &store.details.description,
            "logo_url": store.details.logo_url.as_deref().unwrap_or_default(),
            "contact_email": store.details.contact_email.as_deref().unwrap_or_default(),
        },
    }
}

/// Parses a stored document; the error names the field that does not parse.
pub fn store_from_document(document: &Document) -> Result<Store, String> {
    let text = |key: &str| document.get_str(key).map_err(|_| key.to_owned());
    let time = |key: &str| {
        document
            .get_datetime(key)
            .ok()
            .and_then(|at| Timestamp::from_millisecond(at.timestamp_millis()).ok())
            .ok_or_else(|| key.to_owned())
    };
    Ok(Store {
        id: text("_id")?.parse::<StoreId>().map_err(bad_field("_id"))?,
        slug: StoreSlug::parse(text("slug")?).map_err(bad_field("slug"))?,
        name: StoreName::parse(text("name")?).map_err(bad_field("name"))?,
        currency: Currency::from_code(text("currency")?).map_err(bad_field("currency"))?,
        country: CountryCode::parse(text("country")?).map_err(bad_field("country"))?,
        timezone: TimeZoneName::parse(text("timezone")?).map_err(bad_field("timezone"))?,
        status: StoreStatus::parse(text("status")?).ok_or_else(|| "status".to_owned())?,
        details: details(document),
        created_at: time("created_at")?,
        updated_at: time("updated_at")?,
    })
}

/// A store's details (documents written before they existed have none).
fn details(document: &Document) -> StoreDetails {
    let Ok(details) = document.get_document("details") else {
        return StoreDetails::default();
    };
    let text = |key: &str| {
        details
            .get_str(key)
            .ok()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    StoreDetails {
        description: text("description").unwrap_or_default(),
        logo_url: text("logo_url"),
        contact_email: text("contact_email"),
    }
}

fn bad_field<E>(key: &'static str) -> impl FnOnce(E) -> String {
    move |_| key.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::store::{NewStore, NewStoreInput};

    #[test]
    fn a_saga_marks_its_write_once_and_undoes_it_only_while_marked() {
        let (filter, update) = marked(
            doc! { "_id": "i1", "available": { "$gte": 2_i64 } },
            doc! { "$inc": { "reserved": 2_i64, "available": -2_i64 } },
            "s1",
        );
        assert_eq!(
            filter,
            doc! { "_id": "i1", "available": { "$gte": 2_i64 }, "sagas": { "$nin": ["s1"] } }
        );
        assert_eq!(
            update,
            doc! {
                "$inc": { "reserved": 2_i64, "available": -2_i64 },
                "$push": { "sagas": "s1" },
            }
        );
        let (filter, update) = unmarked(
            doc! { "_id": "i1" },
            doc! { "$inc": { "reserved": -2_i64 } },
            "s1",
        );
        assert_eq!(filter, doc! { "_id": "i1", "sagas": "s1" });
        assert_eq!(
            update,
            doc! { "$inc": { "reserved": -2_i64 }, "$pull": { "sagas": "s1" } }
        );
        let (_, settle) = unmarked(doc! { "_id": "i1" }, doc! {}, "s1");
        assert_eq!(settle, doc! { "$pull": { "sagas": "s1" } });
    }

    #[test]
    fn the_repair_pass_looks_at_old_keys_without_an_order_and_fences_in_no_store() {
        assert_eq!(
            unfinished_checkouts(50),
            doc! {
                "order_id": { "$exists": false },
                "pending_order_id": { "$exists": true },
                "created_at": { "$lte": 50_i64 },
            }
        );
        let store = StoreId::from_uuid(uuid::Uuid::from_u128(1));
        let order = OrderId::from_uuid(uuid::Uuid::from_u128(2));
        let fence = checkout_fence(store, order, 9);
        assert_eq!(fence.get_str("_id").unwrap(), order.to_string());
        assert_ne!(fence.get_str("store_id").unwrap(), store.to_string());
        assert!(!fence.contains_key("number"));
    }

    fn store() -> Store {
        let new = NewStore::parse(&NewStoreInput {
            slug: "demo".into(),
            name: "Demo Tech".into(),
            currency: "NGN".into(),
            timezone: Some("Africa/Lagos".into()),
            ..NewStoreInput::default()
        })
        .unwrap();
        let id = StoreId::from_uuid(uuid::Uuid::from_u128(7));
        Store::open(
            id,
            new,
            Timestamp::from_millisecond(1_700_000_000_123).unwrap(),
        )
    }

    #[test]
    fn open_orders_are_counted_per_buyer_and_per_address() {
        let store = StoreId::from_uuid(uuid::Uuid::from_u128(4));
        let customer = techverse_shared::CustomerId::from_uuid(uuid::Uuid::from_u128(5));
        let (buyer, address) =
            open_orders_filters(store, "a@x.ng", Some(customer), Some("1.2.3.4"));
        assert_eq!(buyer.get_str("status").unwrap(), "pending_payment");
        assert_eq!(buyer.get_array("$or").unwrap().len(), 2);
        assert_eq!(address.unwrap().get_str("client_ip").unwrap(), "1.2.3.4");
        let (buyer, address) = open_orders_filters(store, "a@x.ng", None, None);
        assert_eq!(buyer.get_array("$or").unwrap().len(), 1);
        assert!(address.is_none());
    }

    #[test]
    fn invitations_of_a_store_are_a_prefix_range_of_subject_keys() {
        let store = StoreId::from_uuid(uuid::Uuid::from_u128(9));
        let filter = invitations_filter(store, Timestamp::from_millisecond(5).unwrap());
        let range = filter.get_document("subject_key").unwrap();
        let start = range.get_str("$gte").unwrap();
        assert_eq!(start, "invite:00000000-0000-0000-0000-000000000009:");
        assert!(range.get_str("$lt").unwrap().starts_with(start));
        assert_eq!(filter.get_str("purpose").unwrap(), "invitation");
    }

    #[test]
    fn pending_work_is_pulled_by_id_cleared_only_when_empty_and_claimed_by_lease() {
        let pull = pull_finished("pending_moves", "move_id", vec!["m1".into()]);
        assert_eq!(
            pull,
            doc! {
                "$pull": { "pending_moves": { "move_id": { "$in": ["m1"] } } },
                "$inc": { "pending_rev": 1_i64 },
            }
        );
        let (filter, update) = work_done(doc! { "_id": "o1" });
        assert_eq!(filter.get_document("outbox").unwrap(), &doc! { "$size": 0 });
        assert_eq!(
            filter.get_document("pending_returns").unwrap(),
            &doc! { "$size": 0 }
        );
        assert!(
            update
                .get_document("$unset")
                .unwrap()
                .contains_key("pending_since")
        );
        assert!(
            update
                .get_document("$unset")
                .unwrap()
                .contains_key("pending_saga")
        );
        let (filter, update) = repair_claim(100, 200, 500);
        assert_eq!(
            filter.get_document("pending_since").unwrap(),
            &doc! { "$lte": 100_i64 }
        );
        assert_eq!(filter.get_array("$or").unwrap().len(), 2);
        assert_eq!(update, doc! { "$set": { "repair_lease": 500_i64 } });
    }

    #[test]
    fn a_session_rotation_matches_only_the_current_hash_and_keeps_the_replaced_one() {
        let at = |ms| Timestamp::from_millisecond(ms).unwrap();
        let request = RotationRequest {
            presented_hash: "old",
            new_hash: "new",
            expires_at: at(9_000),
            now: at(1_000),
            grace: jiff::SignedDuration::from_secs(30),
        };
        let (filter, update) = session_rotation("s1", &request);
        assert_eq!(
            filter,
            doc! { "_id": "s1", "refresh_hash": "old", "expires_at": { "$gt": 1_000_i64 } }
        );
        let set = update.get_document("$set").unwrap();
        assert_eq!(set.get_str("previous_hash").unwrap(), "old");
        assert_eq!(set.get_str("refresh_hash").unwrap(), "new");
        assert_eq!(set.get_i64("rotated_at").unwrap(), 1_000);
        assert_eq!(set.get_i64("expires_at").unwrap(), 9_000);
        assert_eq!(
            update.get_document("$inc").unwrap(),
            &doc! { "generation": 1_i64 }
        );
    }

    #[test]
    fn a_store_round_trips_through_its_document() {
        let store = store();
        let document = store_document(&store);
        assert_eq!(
            document.get_str("_id").unwrap(),
            "00000000-0000-0000-0000-000000000007"
        );
        assert_eq!(
            document
                .get_datetime("created_at")
                .unwrap()
                .timestamp_millis(),
            1_700_000_000_123
        );
        assert_eq!(store_from_document(&document).unwrap(), store);
    }

    #[test]
    fn a_document_with_a_bad_field_names_it() {
        let mut document = store_document(&store());
        document.insert("currency", "ZZZ");
        assert_eq!(store_from_document(&document).unwrap_err(), "currency");
        document.remove("slug");
        assert_eq!(store_from_document(&document).unwrap_err(), "slug");
    }

    #[test]
    fn filters_select_by_id_and_by_slug() {
        let store = store();
        assert_eq!(
            store_by_id(store.id),
            doc! { "_id": "00000000-0000-0000-0000-000000000007" }
        );
        assert_eq!(store_by_slug(&store.slug), doc! { "slug": "demo" });
    }

    #[test]
    fn pagination_starts_strictly_after_the_cursor_in_slug_order() {
        assert_eq!(stores_after(None), doc! {});
        let slug = StoreSlug::parse("demo").unwrap();
        assert_eq!(
            stores_after(Some(&slug)),
            doc! { "slug": { "$gt": "demo" } }
        );
        assert_eq!(stores_sort(), doc! { "slug": 1 });
    }

    #[test]
    fn the_slug_index_is_unique() {
        let all = indexes();
        let (collection, stores) = &all[0];
        assert_eq!(*collection, STORES);
        assert_eq!(stores[0].keys, doc! { "slug": 1 });
        let options = stores[0].options.as_ref().unwrap();
        assert_eq!(options.unique, Some(true));
        assert_eq!(options.name.as_deref(), Some("stores_slug"));
    }

    #[test]
    fn a_reservation_matches_only_while_enough_units_are_available() {
        let store = StoreId::from_uuid(uuid::Uuid::nil());
        let change = StockMove {
            product_id: ProductId::from_uuid(uuid::Uuid::nil()),
            variant_id: VariantId::from_uuid(uuid::Uuid::from_u128(7)),
            quantity: 3,
            op: StockOp::Reserve,
        };
        let (filter, update) = stock_move(store, &change);
        assert_eq!(
            filter.get_document("available").unwrap(),
            &doc! { "$gte": 3_i64 }
        );
        assert_eq!(
            update,
            doc! { "$inc": { "reserved": 3_i64, "available": -3_i64 } }
        );
        let (filter, _) = stock_adjustment(store, change.product_id, change.variant_id, -2);
        assert_eq!(
            filter.get_document("available").unwrap(),
            &doc! { "$gte": 2_i64 }
        );
        let (filter, _) = stock_adjustment(store, change.product_id, change.variant_id, 5);
        assert!(filter.get("available").is_none());
    }

    #[test]
    fn order_queries_keep_input_as_values() {
        let store = StoreId::from_uuid(uuid::Uuid::nil());
        let query = OrderQuery {
            email_prefix: Some("$where".into()),
            number: Some(1001),
            ..OrderQuery::default()
        };
        let filter = order_filter(store, &query);
        assert_eq!(filter.get_i64("number").unwrap(), 1001);
        assert_eq!(
            filter
                .get_document("email")
                .unwrap()
                .get_str("$gte")
                .unwrap(),
            "$where"
        );
    }
}

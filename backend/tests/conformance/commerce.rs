//! Checkout storage every adapter must show: reservations that never oversell under any
//! interleaving, all-or-nothing placement, one order per idempotency key, per-store order
//! numbers, an expiry that releases stock exactly once, discount limits counted atomically, and
//! the carts, settings, order lists and reviews around them.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use techverse::{
    domain::{
        cart::Cart,
        catalog::{Product, ProductInput, VariantInput},
        discount::{Discount, DiscountInput, DiscountKind},
        events::StoreEvent,
        order::{Effects, Order, OrderActor, OrderLine, ShippingChoice},
        review::{Author, Review, ReviewInput},
        shipping::CheckoutSettings,
    },
    storage::{
        DiscountUse, IdempotencyKey, NewOrder, OpenOrderLimit, OpenOrderScope, OrderChange,
        OrderQuery, Placement, Storage, StorageError, faults::SagaStep,
    },
};
use techverse_shared::{
    CartId, CountryCode, Currency, CustomerId, DiscountId, OrderAddress, OrderId, OrderLineId,
    OrderStatus, PaymentMethod, PaymentStatus, ProductId, ProductStatus, ReviewId, ReviewStatus,
    ShippingKind, ShippingMethodId, StoreId, VariantId,
};

use crate::harness::Harness;

fn store() -> StoreId {
    StoreId::from_uuid(uuid::Uuid::now_v7())
}

fn product(store: StoreId, sku: &str, stock: i64) -> Product {
    let input = ProductInput {
        title: format!("Thing {sku}"),
        status: Some(ProductStatus::Active),
        variants: vec![VariantInput {
            sku: sku.into(),
            price: 1000,
            stock: Some(stock),
            low_stock_threshold: Some(1),
            ..VariantInput::default()
        }],
        ..ProductInput::default()
    };
    let mut ids = || VariantId::from_uuid(uuid::Uuid::now_v7());
    Product::parse(
        &input,
        ProductId::from_uuid(uuid::Uuid::now_v7()),
        store,
        None,
        &mut ids,
        Timestamp::from_millisecond(1_700_000_000_000).unwrap(),
    )
    .unwrap()
}

fn order(store: StoreId, lines: &[(&Product, i64)], email: &str, at: Timestamp) -> Order {
    let lines: Vec<OrderLine> = lines
        .iter()
        .map(|(product, quantity)| {
            let variant = &product.variants[0];
            OrderLine {
                id: OrderLineId::from_uuid(uuid::Uuid::now_v7()),
                product_id: product.id,
                variant_id: variant.id,
                sku: variant.sku.clone(),
                title: product.title.clone(),
                variant_title: String::new(),
                unit_price: variant.price,
                quantity: *quantity,
                subtotal: variant.price * quantity,
                discount: 0,
                tax: 0,
                total: variant.price * quantity,
                tracked: true,
                fulfilled: 0,
                restocked: 0,
            }
        })
        .collect();
    let total = lines.iter().map(|l| l.total).sum();
    let mut order = Order {
        id: OrderId::from_uuid(uuid::Uuid::now_v7()),
        store_id: store,
        number: 0,
        token_hash: "hash".into(),
        customer_id: None,
        email: email.into(),
        client_ip: None,
        currency: Currency::from_code("NGN").unwrap(),
        lines,
        subtotal: total,
        discount: 0,
        shipping_total: 0,
        tax: 0,
        total,
        tax_included: false,
        discount_code: None,
        discount_id: None,
        shipping_address: OrderAddress {
            name: "Ada".into(),
            line1: "1 Marina".into(),
            line2: None,
            city: "Lagos".into(),
            region: None,
            postal_code: None,
            country: CountryCode::parse("NG").unwrap(),
            phone: None,
        },
        shipping: ShippingChoice {
            method_id: ShippingMethodId::from_uuid(uuid::Uuid::nil()),
            name: "Pickup".into(),
            kind: ShippingKind::Pickup,
            price: 0,
        },
        payment_method: PaymentMethod::CashOnDelivery,
        payment_instructions: None,
        status: OrderStatus::PendingPayment,
        payment_status: PaymentStatus::Pending,
        pay_by: Some(at + SignedDuration::from_mins(15)),
        holds_stock: true,
        fulfilments: Vec::new(),
        refunds: Vec::new(),
        refunded: 0,
        pending_refunds: Vec::new(),
        flags: Vec::new(),
        notes: Vec::new(),
        history: Vec::new(),
        created_at: at,
        updated_at: at,
        version: 0,
    };
    order.open(OrderActor::Guest, at);
    order
}

fn new_order(order: Order, key: &str) -> NewOrder {
    NewOrder {
        open_limit: None,
        events: vec![StoreEvent::new(
            order.store_id,
            "order.created",
            json!({ "order_id": order.id, "number": 0 }),
            order.created_at,
        )],
        idempotency: IdempotencyKey {
            scope: "cart:test".into(),
            key: key.into(),
            request_hash: "h1".into(),
            order_token: "token".into(),
        },
        discount: None,
        cart_id: None,
        order,
    }
}

fn now() -> Timestamp {
    techverse::domain::now()
}

/// An order change with its stock moves and discount return, and no events.
fn change<'a>(order: &'a Order, effects: &'a Effects) -> OrderChange<'a> {
    OrderChange {
        order,
        moves: &effects.moves,
        events: &[],
        returned_discount: effects.returned_discount.as_ref(),
    }
}

async fn stock(storage: &dyn Storage, store: StoreId, product: &Product) -> (i64, i64) {
    let stored = storage
        .catalog()
        .product(store, product.id)
        .await
        .unwrap()
        .unwrap();
    (
        stored.variants[0].stock_on_hand,
        stored.variants[0].reserved,
    )
}

pub async fn concurrent_checkouts_for_the_last_units_sell_exactly_the_stock(h: &Harness) {
    const UNITS: i64 = 5;
    const BUYERS: usize = 40;
    let s = store();
    let item = product(s, "LAST-1", UNITS);
    h.storage()
        .catalog()
        .insert_product(s, &item)
        .await
        .unwrap();

    // A watcher checks the invariant while the buyers race.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (storage, done, item) = (h.shared(), Arc::clone(&done), item.clone());
        tokio::spawn(async move {
            let mut looks = 0;
            while !done.load(Ordering::Relaxed) || looks == 0 {
                let (on_hand, reserved) = stock(storage.as_ref(), s, &item).await;
                assert!(on_hand >= 0 && reserved >= 0, "never negative");
                assert!(
                    reserved <= on_hand,
                    "never oversold: {reserved} > {on_hand}"
                );
                looks += 1;
            }
            looks
        })
    };
    let buyers: Vec<_> = (0..BUYERS)
        .map(|n| {
            let (storage, item) = (h.shared(), item.clone());
            tokio::spawn(async move {
                let placed = order(s, &[(&item, 1)], &format!("b{n}@example.com"), now());
                storage
                    .commerce()
                    .place_order(s, &new_order(placed, &format!("key-{n}")))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut numbers = Vec::new();
    let mut short = 0;
    for buyer in buyers {
        match buyer.await.unwrap() {
            Placement::Placed(order) => numbers.push(order.number),
            Placement::Short(lines) => {
                assert_eq!(lines.len(), 1);
                assert_eq!(lines[0].variant_id, item.variants[0].id);
                assert_eq!((lines[0].requested, lines[0].available), (1, 0));
                short += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    done.store(true, Ordering::Relaxed);
    assert!(watcher.await.unwrap() > 0);
    assert_eq!(numbers.len() as i64, UNITS, "exactly the stock is sold");
    assert_eq!(short, BUYERS - UNITS as usize);
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len() as i64, UNITS, "order numbers are unique");
    assert!(numbers.iter().all(|n| *n >= 1001));
    assert_eq!(stock(h.storage(), s, &item).await, (UNITS, UNITS));
    let listed = h
        .storage()
        .commerce()
        .orders(
            s,
            &OrderQuery {
                limit: 100,
                ..OrderQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.len() as i64, UNITS);
    // Available stock crossed the threshold (1) once, whatever the interleaving.
    let events = h.storage().catalog().events(s, 0, 100).await.unwrap();
    let low: Vec<&StoreEvent> = events
        .iter()
        .filter(|e| e.kind == "inventory.low_stock")
        .collect();
    assert_eq!(low.len(), 1, "{low:?}");
    assert_eq!(low[0].payload["available"], 1);
}

pub async fn a_short_line_places_nothing_and_holds_nothing(h: &Harness) {
    let s = store();
    let (plenty, scarce) = (product(s, "PLENTY", 10), product(s, "SCARCE", 1));
    let catalog = h.storage().catalog();
    catalog.insert_product(s, &plenty).await.unwrap();
    catalog.insert_product(s, &scarce).await.unwrap();
    let wanted = order(s, &[(&plenty, 3), (&scarce, 2)], "a@example.com", now());
    let Placement::Short(lines) = h
        .storage()
        .commerce()
        .place_order(s, &new_order(wanted, "k"))
        .await
        .unwrap()
    else {
        panic!("short");
    };
    assert_eq!(lines.len(), 1);
    assert_eq!((lines[0].requested, lines[0].available), (2, 1));
    assert_eq!(stock(h.storage(), s, &plenty).await, (10, 0), "compensated");
    assert_eq!(stock(h.storage(), s, &scarce).await, (1, 0));
    assert!(
        h.storage()
            .commerce()
            .idempotency_record(s, "cart:test", "k")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        h.storage()
            .commerce()
            .orders(
                s,
                &OrderQuery {
                    limit: 10,
                    ..OrderQuery::default()
                }
            )
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn one_idempotency_key_places_one_order(h: &Harness) {
    let s = store();
    let item = product(s, "IDEM", 10);
    h.storage()
        .catalog()
        .insert_product(s, &item)
        .await
        .unwrap();
    let attempts: Vec<_> = (0..4)
        .map(|_| {
            let (storage, item) = (h.shared(), item.clone());
            tokio::spawn(async move {
                let placed = order(s, &[(&item, 1)], "same@example.com", now());
                storage
                    .commerce()
                    .place_order(s, &new_order(placed, "same-key"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut placed = Vec::new();
    let mut seen = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Placement::Placed(order) => placed.push(order.id),
            Placement::Seen(record) => {
                assert_eq!(record.request_hash, "h1");
                seen += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(placed.len(), 1, "one order");
    assert_eq!(seen, 3);
    assert_eq!(stock(h.storage(), s, &item).await, (10, 1));
    let record = h
        .storage()
        .commerce()
        .idempotency_record(s, "cart:test", "same-key")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.order_id, Some(placed[0]));
    assert_eq!(record.order_token.as_deref(), Some("token"));
}

pub async fn order_numbers_count_per_store_and_events_follow_the_order(h: &Harness) {
    let (a, b) = (store(), store());
    for s in [a, b] {
        let item = product(s, "N", 10);
        h.storage()
            .catalog()
            .insert_product(s, &item)
            .await
            .unwrap();
        for n in 0..2 {
            let placed = order(s, &[(&item, 1)], "n@example.com", now());
            let Placement::Placed(order) = h
                .storage()
                .commerce()
                .place_order(s, &new_order(placed, &format!("{n}")))
                .await
                .unwrap()
            else {
                panic!("placed");
            };
            assert_eq!(order.number, 1001 + n);
        }
        let events = h.storage().catalog().events(s, 0, 10).await.unwrap();
        let created: Vec<i64> = events
            .iter()
            .filter(|e| e.kind == "order.created")
            .map(|e| e.payload["number"].as_i64().unwrap())
            .collect();
        assert_eq!(created, [1001, 1002]);
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
    }
}

pub async fn expiry_releases_the_stock_exactly_once(h: &Harness) {
    let s = store();
    let item = product(s, "EXP", 3);
    h.storage()
        .catalog()
        .insert_product(s, &item)
        .await
        .unwrap();
    let placed = order(s, &[(&item, 2)], "e@example.com", now());
    let Placement::Placed(order) = h
        .storage()
        .commerce()
        .place_order(s, &new_order(placed, "e"))
        .await
        .unwrap()
    else {
        panic!("placed");
    };
    assert_eq!(stock(h.storage(), s, &item).await, (3, 2));
    let later = now() + SignedDuration::from_mins(16);
    let due = h
        .storage()
        .commerce()
        .overdue_orders(later, 10)
        .await
        .unwrap();
    assert_eq!(due, vec![(s, order.id)]);
    // Two sweepers read the same order and race to expire it.
    let first = h
        .storage()
        .commerce()
        .order(s, order.id)
        .await
        .unwrap()
        .unwrap();
    let (mut one, mut two) = (first.clone(), first);
    let effects_one = one.expire(later).unwrap();
    let effects_two = two.expire(later).unwrap();
    let commerce = h.storage().commerce();
    let saved_one = commerce
        .save_order(s, &change(&one, &effects_one))
        .await
        .unwrap();
    let saved_two = commerce
        .save_order(s, &change(&two, &effects_two))
        .await
        .unwrap();
    assert!(saved_one && !saved_two, "only one sweeper wins");
    assert_eq!(stock(h.storage(), s, &item).await, (3, 0), "released once");
    let stored = commerce.order(s, order.id).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Expired);
    assert_eq!(stored.version, 2);
    assert!(commerce.overdue_orders(later, 10).await.unwrap().is_empty());
}

pub async fn paying_then_refunding_moves_stock_on_hand(h: &Harness) {
    let s = store();
    let item = product(s, "PAY", 4);
    h.storage()
        .catalog()
        .insert_product(s, &item)
        .await
        .unwrap();
    let placed = order(s, &[(&item, 3)], "p@example.com", now());
    let Placement::Placed(mut order) = h
        .storage()
        .commerce()
        .place_order(s, &new_order(placed, "p"))
        .await
        .unwrap()
    else {
        panic!("placed");
    };
    let commerce = h.storage().commerce();
    let paid = order.mark_paid(OrderActor::System, now(), None).unwrap();
    assert!(
        commerce
            .save_order(s, &change(&order, &paid))
            .await
            .unwrap()
    );
    assert_eq!(stock(h.storage(), s, &item).await, (1, 0), "sold");
    order.version += 1;
    let line = order.lines[0].id;
    let refund = order
        .refund(
            techverse_shared::RefundId::from_uuid(uuid::Uuid::now_v7()),
            1000,
            &[techverse_shared::FulfilledLine {
                line_id: line,
                quantity: 1,
            }],
            None,
            OrderActor::System,
            now(),
        )
        .unwrap();
    assert!(
        commerce
            .save_order(s, &change(&order, &refund))
            .await
            .unwrap()
    );
    assert_eq!(stock(h.storage(), s, &item).await, (2, 0), "restocked one");
    let sold = h
        .storage()
        .catalog()
        .product(s, item.id)
        .await
        .unwrap()
        .unwrap()
        .sold_count;
    assert_eq!(sold, 2);
}

pub async fn discount_limits_are_counted_with_the_order(h: &Harness) {
    let s = store();
    let item = product(s, "DISC", 100);
    h.storage()
        .catalog()
        .insert_product(s, &item)
        .await
        .unwrap();
    let discount = limited_discount(h, s, "ONCE", 2, 1).await;
    let commerce = h.storage().commerce();
    assert!(matches!(
        commerce
            .insert_discount(
                s,
                &Discount {
                    id: DiscountId::from_uuid(uuid::Uuid::now_v7()),
                    ..discount.clone()
                }
            )
            .await,
        Err(StorageError::Conflict(_))
    ));
    let attempt = |customer: &str, key: &str| {
        let mut new = new_order(order(s, &[(&item, 1)], "d@example.com", now()), key);
        new.discount = Some(DiscountUse {
            discount_id: discount.id,
            customer_key: customer.into(),
            usage_limit: discount.usage_limit,
            per_customer_limit: discount.per_customer_limit,
        });
        new
    };
    assert!(matches!(
        commerce
            .place_order(s, &attempt("email:a", "1"))
            .await
            .unwrap(),
        Placement::Placed(_)
    ));
    assert_eq!(
        commerce
            .place_order(s, &attempt("email:a", "2"))
            .await
            .unwrap(),
        Placement::DiscountUsedUp
    );
    assert!(matches!(
        commerce
            .place_order(s, &attempt("email:b", "3"))
            .await
            .unwrap(),
        Placement::Placed(_)
    ));
    assert_eq!(
        commerce
            .place_order(s, &attempt("email:c", "4"))
            .await
            .unwrap(),
        Placement::DiscountUsedUp
    );
    assert_eq!(
        commerce
            .discount(s, discount.id)
            .await
            .unwrap()
            .unwrap()
            .used,
        2
    );
    assert_eq!(
        commerce
            .discount_uses(s, discount.id, "email:a")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        stock(h.storage(), s, &item).await,
        (100, 2),
        "refused orders hold nothing"
    );
    // Editing the code never resets its count.
    let renamed = Discount {
        code: "TWICE".into(),
        used: 0,
        ..discount.clone()
    };
    assert!(commerce.update_discount(s, &renamed).await.unwrap());
    let stored = commerce
        .discount_by_code(s, "TWICE")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.used, 2);
    assert!(
        commerce
            .discount_by_code(store(), "TWICE")
            .await
            .unwrap()
            .is_none()
    );
    assert!(commerce.delete_discount(s, discount.id).await.unwrap());
    assert!(commerce.discounts(s).await.unwrap().is_empty());
}

pub async fn carts_expire_and_save_by_version(h: &Harness) {
    let s = store();
    let commerce = h.storage().commerce();
    let customer = CustomerId::from_uuid(uuid::Uuid::now_v7());
    let at = now();
    let cart = Cart::new(
        CartId::from_uuid(uuid::Uuid::now_v7()),
        s,
        None,
        Some(customer),
        at,
        SignedDuration::from_hours(1),
    );
    commerce.insert_cart(s, &cart).await.unwrap();
    assert_eq!(
        commerce.cart(s, cart.id, at).await.unwrap().as_ref(),
        Some(&cart)
    );
    assert!(
        commerce.cart(store(), cart.id, at).await.unwrap().is_none(),
        "other store"
    );
    assert_eq!(
        commerce
            .customer_cart(s, customer, at)
            .await
            .unwrap()
            .map(|c| c.id),
        Some(cart.id)
    );
    let mut changed = cart.clone();
    changed.discount_code = Some("X".into());
    assert!(commerce.save_cart(s, &changed).await.unwrap());
    assert!(
        !commerce.save_cart(s, &changed).await.unwrap(),
        "stale version"
    );
    let later = at + SignedDuration::from_hours(2);
    assert!(
        commerce.cart(s, cart.id, later).await.unwrap().is_none(),
        "expired"
    );
    assert_eq!(commerce.delete_expired_carts(later).await.unwrap(), 1);
    assert!(commerce.cart(s, cart.id, at).await.unwrap().is_none());
}

pub async fn settings_save_by_version(h: &Harness) {
    let s = store();
    let commerce = h.storage().commerce();
    assert!(commerce.checkout_settings(s).await.unwrap().is_none());
    let initial = CheckoutSettings::initial(s);
    assert!(commerce.save_checkout_settings(s, &initial).await.unwrap());
    assert!(
        !commerce.save_checkout_settings(s, &initial).await.unwrap(),
        "someone saved first"
    );
    let stored = commerce.checkout_settings(s).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    let next = CheckoutSettings {
        prices_include_tax: true,
        ..stored
    };
    assert!(commerce.save_checkout_settings(s, &next).await.unwrap());
    assert!(
        commerce
            .checkout_settings(s)
            .await
            .unwrap()
            .unwrap()
            .prices_include_tax
    );
}

pub async fn orders_list_by_filters_and_cursor(h: &Harness) {
    let s = store();
    let item = product(s, "LIST", 100);
    h.storage()
        .catalog()
        .insert_product(s, &item)
        .await
        .unwrap();
    let commerce = h.storage().commerce();
    let customer = CustomerId::from_uuid(uuid::Uuid::now_v7());
    let base = now();
    for n in 0..5_i64 {
        let mut placed = order(
            s,
            &[(&item, 1)],
            &format!("buyer{n}@example.com"),
            base + SignedDuration::from_secs(n),
        );
        if n % 2 == 0 {
            placed.customer_id = Some(customer);
        }
        commerce
            .place_order(s, &new_order(placed, &format!("{n}")))
            .await
            .unwrap();
    }
    let all = commerce
        .orders(
            s,
            &OrderQuery {
                limit: 10,
                ..OrderQuery::default()
            },
        )
        .await
        .unwrap();
    let numbers: Vec<i64> = all.iter().map(|o| o.number).collect();
    assert_eq!(numbers, [1005, 1004, 1003, 1002, 1001], "newest first");
    let first = commerce
        .orders(
            s,
            &OrderQuery {
                limit: 2,
                ..OrderQuery::default()
            },
        )
        .await
        .unwrap();
    let last = first.last().unwrap();
    let next = commerce
        .orders(
            s,
            &OrderQuery {
                limit: 2,
                before: Some((last.created_at.as_millisecond(), last.id)),
                ..OrderQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        next.iter().map(|o| o.number).collect::<Vec<_>>(),
        [1003, 1002]
    );
    let mine = commerce
        .orders(
            s,
            &OrderQuery {
                limit: 10,
                customer: Some(customer),
                ..OrderQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(mine.len(), 3);
    let by_number = commerce
        .orders(
            s,
            &OrderQuery {
                limit: 10,
                number: Some(1003),
                ..OrderQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_number[0].email, "buyer2@example.com");
    let by_email = commerce
        .orders(
            s,
            &OrderQuery {
                limit: 10,
                email_prefix: Some("buyer4".into()),
                ..OrderQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_email.len(), 1);
    let pending = commerce
        .orders(
            s,
            &OrderQuery {
                limit: 10,
                status: Some(OrderStatus::Paid),
                ..OrderQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(pending.is_empty());
    assert!(
        commerce
            .orders(
                store(),
                &OrderQuery {
                    limit: 10,
                    ..OrderQuery::default()
                }
            )
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn one_review_per_customer_and_product(h: &Harness) {
    let s = store();
    let commerce = h.storage().commerce();
    let product_id = ProductId::from_uuid(uuid::Uuid::now_v7());
    let customer = CustomerId::from_uuid(uuid::Uuid::now_v7());
    let write = |customer| {
        Review::parse(
            &ReviewInput {
                rating: 4,
                title: None,
                body: "Good".into(),
            },
            ReviewId::from_uuid(uuid::Uuid::now_v7()),
            s,
            product_id,
            Author {
                customer_id: customer,
                name: "Ada".into(),
                verified_purchase: false,
            },
            now(),
        )
        .unwrap()
    };
    let review = write(customer);
    commerce.insert_review(s, &review).await.unwrap();
    assert!(matches!(
        commerce.insert_review(s, &write(customer)).await,
        Err(StorageError::Conflict(_))
    ));
    commerce
        .insert_review(s, &write(CustomerId::from_uuid(uuid::Uuid::now_v7())))
        .await
        .unwrap();
    let approved = Review {
        status: ReviewStatus::Approved,
        ..review.clone()
    };
    assert!(commerce.save_review(s, &approved).await.unwrap());
    let listed = commerce
        .reviews(s, Some(product_id), Some(ReviewStatus::Approved))
        .await
        .unwrap();
    assert_eq!(listed, vec![approved.clone()]);
    assert_eq!(
        commerce
            .reviews(s, Some(product_id), None)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        commerce.review(s, review.id).await.unwrap(),
        Some(approved.clone())
    );
    assert!(commerce.review(store(), review.id).await.unwrap().is_none());
    // The moderation queue a page at a time, in the full list's order.
    let all = commerce.reviews(s, None, None).await.unwrap();
    for offset in 0..3_u64 {
        let page = commerce.review_page(s, None, offset, 1).await.unwrap();
        let start = usize::try_from(offset).unwrap().min(all.len());
        assert_eq!(
            page,
            all[start..(start + 1).min(all.len())].to_vec(),
            "offset {offset}"
        );
    }
    let pending = commerce
        .review_page(s, Some(ReviewStatus::Pending), 0, 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].status, ReviewStatus::Pending);
    let approved_page = commerce
        .review_page(s, Some(ReviewStatus::Approved), 0, 10)
        .await
        .unwrap();
    assert_eq!(approved_page, vec![approved]);
    assert!(
        commerce
            .review_page(store(), None, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A stored 10 % discount usable `uses` times, `per_buyer` times by each buyer.
async fn limited_discount(
    h: &Harness,
    s: StoreId,
    code: &str,
    uses: i64,
    per_buyer: i64,
) -> Discount {
    let input = DiscountInput {
        code: code.into(),
        kind: Some(DiscountKind::Percentage { bps: 1000 }),
        usage_limit: Some(uses),
        per_customer_limit: Some(per_buyer),
        ..DiscountInput::default()
    };
    let id = DiscountId::from_uuid(uuid::Uuid::now_v7());
    let discount = Discount::parse(&input, id, s, None, now()).unwrap();
    h.storage()
        .commerce()
        .insert_discount(s, &discount)
        .await
        .unwrap();
    discount
}

/// A store with two products (10 units each) and a discount usable 5 times, twice per buyer.
async fn saga_store(h: &Harness) -> (StoreId, Product, Product, Discount) {
    let s = store();
    let (a, b) = (product(s, "SAGA-A", 10), product(s, "SAGA-B", 10));
    for item in [&a, &b] {
        h.storage().catalog().insert_product(s, item).await.unwrap();
    }
    let discount = limited_discount(h, s, "SAGA", 5, 2).await;
    (s, a, b, discount)
}

/// A checkout of 2 × A and 3 × B with the discount, under `key`.
fn saga_checkout(s: StoreId, a: &Product, b: &Product, discount: &Discount, key: &str) -> NewOrder {
    let mut placed = order(s, &[(a, 2), (b, 3)], "saga@example.com", now());
    placed.discount_id = Some(discount.id);
    let mut new = new_order(placed, key);
    new.discount = Some(DiscountUse {
        discount_id: discount.id,
        customer_key: "email:saga@example.com".into(),
        usage_limit: discount.usage_limit,
        per_customer_limit: discount.per_customer_limit,
    });
    new
}

/// (reserved A, reserved B, discount uses in total, this buyer's uses, events logged).
async fn saga_state(
    h: &Harness,
    s: StoreId,
    a: &Product,
    b: &Product,
    discount: &Discount,
) -> (i64, i64, i64, i64, usize) {
    let (used, mine) = uses(h, s, discount).await;
    let events = h.storage().catalog().events(s, 0, 100).await.unwrap();
    (
        stock(h.storage(), s, a).await.1,
        stock(h.storage(), s, b).await.1,
        used,
        mine,
        events.len(),
    )
}

/// How many orders store `s` has (at most 10 are looked at).
async fn orders_in(h: &Harness, s: StoreId) -> usize {
    let query = OrderQuery {
        limit: 10,
        ..OrderQuery::default()
    };
    h.storage()
        .commerce()
        .orders(s, &query)
        .await
        .unwrap()
        .len()
}

const CHECKOUT_STEPS: [SagaStep; 9] = [
    SagaStep::ClaimKey,
    SagaStep::Reserve(0),
    SagaStep::Reserve(1),
    SagaStep::CountDiscount,
    SagaStep::CountCustomerUse,
    SagaStep::NumberOrder,
    SagaStep::InsertOrder,
    SagaStep::PublishEvents,
    SagaStep::RecordKey,
];

pub async fn a_checkout_failing_at_any_step_holds_nothing_or_finishes_whole(h: &Harness) {
    for step in CHECKOUT_STEPS {
        let (s, a, b, discount) = saga_store(h).await;
        let commerce = h.storage().commerce();
        h.faults().fail_once(step);
        let first = commerce
            .place_order(s, &saga_checkout(s, &a, &b, &discount, "k"))
            .await;
        if first.is_err() {
            let state = saga_state(h, s, &a, &b, &discount).await;
            assert_eq!(
                state,
                (0, 0, 0, 0, 0),
                "{step:?}: nothing held after a failure"
            );
        }
        // The client retries at once with the same key.
        let retry = commerce
            .place_order(s, &saga_checkout(s, &a, &b, &discount, "k"))
            .await
            .unwrap();
        match (&first, &retry) {
            (Err(_), Placement::Placed(order)) => {
                // A number taken by the failed attempt may be skipped, never reused.
                assert!(order.number >= 1001, "{step:?}: numbered");
            }
            (Ok(Placement::Placed(order)), Placement::Seen(record)) => {
                assert_eq!(
                    record.order_id,
                    Some(order.id),
                    "{step:?}: the retry finds it"
                );
            }
            other => panic!("{step:?}: unexpected {other:?}"),
        }
        // The repair pass finishes whatever a stored order still had to do.
        let later = now() + SignedDuration::from_mins(5);
        commerce
            .complete_pending(later, SignedDuration::from_secs(60))
            .await
            .unwrap();
        let state = saga_state(h, s, &a, &b, &discount).await;
        assert_eq!(state, (2, 3, 1, 1, 1), "{step:?}: one order in the end");
        assert_eq!(orders_in(h, s).await, 1, "{step:?}: never a second order");
    }
}

/// A process that dies right before `step` (after every step before it) leaves what it wrote;
/// the repair pass gives it back once, and the client's retry with the same key completes.
pub async fn a_checkout_dying_between_steps_is_given_back_once_by_the_repair_pass(h: &Harness) {
    let (later, age) = (
        now() + SignedDuration::from_mins(15),
        SignedDuration::from_mins(10),
    );
    for step in CHECKOUT_STEPS {
        let (s, a, b, discount) = saga_store(h).await;
        let commerce = h.storage().commerce();
        h.faults().crash_once(step);
        let first = commerce
            .place_order(s, &saga_checkout(s, &a, &b, &discount, "k"))
            .await;
        // Too young to be dead: a checkout may still be running.
        let young = commerce.repair_checkouts(now(), age, true).await.unwrap();
        assert!(young.is_empty(), "{step:?}: a young checkout is left alone");
        let looked = commerce.repair_checkouts(later, age, false).await.unwrap();
        let untouched = saga_state(h, s, &a, &b, &discount).await;
        let repaired = commerce.repair_checkouts(later, age, true).await.unwrap();
        assert_eq!(
            looked, repaired,
            "{step:?}: the dry run lists what is repaired"
        );
        let again = commerce.repair_checkouts(later, age, true).await.unwrap();
        assert!(again.is_empty(), "{step:?}: repaired once");
        let state = saga_state(h, s, &a, &b, &discount).await;
        if first.is_err() {
            let gave_back = repaired
                .iter()
                .any(|r| !r.released.is_empty() || r.discount_returned);
            assert_eq!(
                state,
                (0, 0, 0, 0, usize::from(gave_back)),
                "{step:?}: as if it never happened, the release logged (left: {untouched:?})"
            );
            if gave_back {
                let events = h.storage().catalog().events(s, 0, 10).await.unwrap();
                assert_eq!(events[0].kind, "inventory.reservation_released", "{step:?}");
                assert_eq!(events[0].payload["order_id"], json!(repaired[0].order_id));
            }
            a_late_saga_cannot_store_a_repaired_order(h, s, &a, &b, &discount, &repaired).await;
        } else {
            assert!(
                repaired.is_empty(),
                "{step:?}: a stored order is not abandoned"
            );
        }
        let retry = commerce
            .place_order(s, &saga_checkout(s, &a, &b, &discount, "k"))
            .await
            .unwrap();
        match (&first, &retry) {
            (Err(_), Placement::Placed(_)) => {}
            (Ok(Placement::Placed(order)), Placement::Seen(record)) => {
                assert_eq!(
                    record.order_id,
                    Some(order.id),
                    "{step:?}: the retry finds it"
                );
            }
            other => panic!("{step:?}: unexpected {other:?}"),
        }
        let state = saga_state(h, s, &a, &b, &discount).await;
        assert_eq!(
            (state.0, state.1, state.2, state.3),
            (2, 3, 1, 1),
            "{step:?}: one order holds"
        );
        assert_eq!(orders_in(h, s).await, 1, "{step:?}: never a second order");
    }
}

/// The checkout the repair pass gave up on, were it still running, cannot store its order
/// afterwards: its attempt fails and holds nothing.
async fn a_late_saga_cannot_store_a_repaired_order(
    h: &Harness,
    s: StoreId,
    a: &Product,
    b: &Product,
    discount: &Discount,
    repaired: &[techverse::storage::AbandonedCheckout],
) {
    let Some(abandoned) = repaired.first() else {
        return;
    };
    let mut late = saga_checkout(s, a, b, discount, "late");
    late.order.id = abandoned.order_id;
    let placed = h.storage().commerce().place_order(s, &late).await;
    assert!(placed.is_err(), "the late saga is refused: {placed:?}");
    let state = saga_state(h, s, a, b, discount).await;
    assert_eq!((state.0, state.1, state.2, state.3), (0, 0, 0, 0));
}

pub async fn an_order_change_failing_part_way_ends_whole_and_applies_each_move_once(h: &Harness) {
    for step in [
        SagaStep::SaveOrder,
        SagaStep::ApplyMove(0),
        SagaStep::ApplyMove(1),
    ] {
        let (s, a, b, discount) = saga_store(h).await;
        let commerce = h.storage().commerce();
        let Placement::Placed(placed) = commerce
            .place_order(s, &saga_checkout(s, &a, &b, &discount, "k"))
            .await
            .unwrap()
        else {
            panic!("placed");
        };
        let expire = |mut order: Order| {
            let effects = order.expire(now() + SignedDuration::from_mins(16)).unwrap();
            (order, effects)
        };
        h.faults().fail_once(step);
        let (expired, effects) = expire(*placed.clone());
        let first = commerce.save_order(s, &change(&expired, &effects)).await;
        let later = now() + SignedDuration::from_mins(5);
        for _ in 0..2 {
            // A second pass finds nothing left: each move was applied once.
            commerce
                .complete_pending(later, SignedDuration::from_secs(60))
                .await
                .unwrap();
        }
        let stored = commerce.order(s, placed.id).await.unwrap().unwrap();
        let state = saga_state(h, s, &a, &b, &discount).await;
        match first {
            Ok(true) => {
                assert_eq!(stored.status, OrderStatus::Expired, "{step:?}");
                assert_eq!(
                    (state.0, state.1, state.2, state.3),
                    (0, 0, 0, 0),
                    "{step:?}"
                );
            }
            Err(_) => {
                assert_eq!(stored.status, OrderStatus::PendingPayment, "{step:?}");
                assert_eq!(
                    (state.0, state.1, state.2, state.3),
                    (2, 3, 1, 1),
                    "{step:?}"
                );
                let (expired, effects) = expire(stored);
                assert!(
                    commerce
                        .save_order(s, &change(&expired, &effects))
                        .await
                        .unwrap()
                );
                let state = saga_state(h, s, &a, &b, &discount).await;
                assert_eq!(
                    (state.0, state.1, state.2, state.3),
                    (0, 0, 0, 0),
                    "{step:?}"
                );
            }
            Ok(false) => panic!("{step:?}: the order did not change meanwhile"),
        }
        assert_eq!(stock(h.storage(), s, &a).await, (10, 0), "{step:?}");
        assert_eq!(stock(h.storage(), s, &b).await, (10, 0), "{step:?}");
    }
}

/// (uses of the discount in total, the saga buyer's uses).
async fn uses(h: &Harness, s: StoreId, discount: &Discount) -> (i64, i64) {
    let commerce = h.storage().commerce();
    let total = commerce
        .discount(s, discount.id)
        .await
        .unwrap()
        .unwrap()
        .used;
    let mine = commerce
        .discount_uses(s, discount.id, "email:saga@example.com")
        .await
        .unwrap();
    (total, mine)
}

async fn place(h: &Harness, new: &NewOrder) -> Order {
    match h
        .storage()
        .commerce()
        .place_order(new.order.store_id, new)
        .await
        .unwrap()
    {
        Placement::Placed(order) => *order,
        other => panic!("placed, got {other:?}"),
    }
}

pub async fn an_expired_or_cancelled_order_gives_its_discount_use_back(h: &Harness) {
    let (s, a, b, discount) = saga_store(h).await;
    let commerce = h.storage().commerce();
    let first = place(h, &saga_checkout(s, &a, &b, &discount, "one")).await;
    let second = place(h, &saga_checkout(s, &a, &b, &discount, "two")).await;
    assert_eq!(uses(h, s, &discount).await, (2, 2));
    assert_eq!(
        commerce
            .place_order(s, &saga_checkout(s, &a, &b, &discount, "three"))
            .await
            .unwrap(),
        Placement::DiscountUsedUp,
        "this buyer's two uses are taken"
    );
    let mut expired = first;
    let effects = expired
        .expire(now() + SignedDuration::from_mins(16))
        .unwrap();
    assert!(
        commerce
            .save_order(s, &change(&expired, &effects))
            .await
            .unwrap()
    );
    assert_eq!(
        uses(h, s, &discount).await,
        (1, 1),
        "an expired order gives its use back"
    );
    let mut cancelled = second;
    let effects = cancelled.cancel(OrderActor::System, now(), None).unwrap();
    assert!(
        commerce
            .save_order(s, &change(&cancelled, &effects))
            .await
            .unwrap()
    );
    assert_eq!(
        uses(h, s, &discount).await,
        (0, 0),
        "so does a cancelled one"
    );
    place(h, &saga_checkout(s, &a, &b, &discount, "four")).await;
}

pub async fn open_unpaid_orders_are_limited_per_buyer_and_per_address(h: &Harness) {
    let s = store();
    let item = product(s, "OPEN", 100);
    h.storage()
        .catalog()
        .insert_product(s, &item)
        .await
        .unwrap();
    let commerce = h.storage().commerce();
    let checkout = |email: &str, ip: &str, key: &str| {
        let mut placed = order(s, &[(&item, 1)], email, now());
        placed.client_ip = Some(ip.to_owned());
        let mut new = new_order(placed, key);
        new.open_limit = Some(OpenOrderLimit {
            per_buyer: 2,
            per_address: 3,
        });
        new
    };
    let first = place(h, &checkout("a@example.com", "10.0.0.1", "a1")).await;
    place(h, &checkout("a@example.com", "10.0.0.1", "a2")).await;
    assert_eq!(
        commerce
            .place_order(s, &checkout("a@example.com", "10.0.0.2", "a3"))
            .await
            .unwrap(),
        Placement::TooManyOpen {
            scope: OpenOrderScope::Buyer,
            limit: 2
        },
        "the buyer's two are open"
    );
    // A replay of one of them is still that order, not one more.
    assert!(matches!(
        commerce
            .place_order(s, &checkout("a@example.com", "10.0.0.1", "a1"))
            .await
            .unwrap(),
        Placement::Seen(_)
    ));
    place(h, &checkout("b@example.com", "10.0.0.1", "b1")).await;
    assert_eq!(
        commerce
            .place_order(s, &checkout("c@example.com", "10.0.0.1", "c1"))
            .await
            .unwrap(),
        Placement::TooManyOpen {
            scope: OpenOrderScope::Address,
            limit: 3
        },
        "three are open from this address"
    );
    assert_eq!(
        stock(h.storage(), s, &item).await,
        (100, 3),
        "refusals hold nothing"
    );
    // An order that ends (here: expires) no longer counts.
    let mut expired = first;
    let effects = expired
        .expire(now() + SignedDuration::from_mins(16))
        .unwrap();
    assert!(
        commerce
            .save_order(s, &change(&expired, &effects))
            .await
            .unwrap()
    );
    place(h, &checkout("a@example.com", "10.0.0.2", "a4")).await;
}

pub async fn a_sale_moves_the_stock_version_and_the_content_version_only_when_stock_runs_out(
    h: &Harness,
) {
    let s = store();
    let item = product(s, "VER", 3);
    h.storage()
        .catalog()
        .insert_product(s, &item)
        .await
        .unwrap();
    let catalog = h.storage().catalog();
    let before = catalog.catalog_versions(s).await.unwrap();
    let mut first = place(
        h,
        &new_order(order(s, &[(&item, 1)], "v1@example.com", now()), "v1"),
    )
    .await;
    let after_sale = catalog.catalog_versions(s).await.unwrap();
    assert!(after_sale.stock > before.stock, "the sale moved stock");
    assert_eq!(
        after_sale.content, before.content,
        "lists did not change: still in stock"
    );
    place(
        h,
        &new_order(order(s, &[(&item, 2)], "v2@example.com", now()), "v2"),
    )
    .await;
    let sold_out = catalog.catalog_versions(s).await.unwrap();
    assert!(
        sold_out.content > after_sale.content,
        "out of stock: lists change"
    );
    // Back in stock (an order expires): lists change again.
    let effects = first.expire(now() + SignedDuration::from_mins(16)).unwrap();
    assert!(
        h.storage()
            .commerce()
            .save_order(s, &change(&first, &effects))
            .await
            .unwrap()
    );
    let back = catalog.catalog_versions(s).await.unwrap();
    assert!(back.content > sold_out.content && back.stock > sold_out.stock);
    let sold = catalog.sold_counts(s).await.unwrap();
    assert_eq!(sold, vec![(item.id, 0)], "sales are counted when paid");
}

pub async fn a_product_save_racing_a_sale_never_loses_the_sale(h: &Harness) {
    let s = store();
    let item = product(s, "RACE", 10);
    h.storage()
        .catalog()
        .insert_product(s, &item)
        .await
        .unwrap();
    let mut order = place(
        h,
        &new_order(order(s, &[(&item, 2)], "r@example.com", now()), "r"),
    )
    .await;
    // Staff open the product for editing…
    let mut edited = h
        .storage()
        .catalog()
        .product(s, item.id)
        .await
        .unwrap()
        .unwrap();
    // …while the order is paid: the two units are sold.
    let paid = order.mark_paid(OrderActor::System, now(), None).unwrap();
    assert!(
        h.storage()
            .commerce()
            .save_order(s, &change(&order, &paid))
            .await
            .unwrap()
    );
    edited.title = "Renamed".into();
    let saved = h
        .storage()
        .catalog()
        .save_product(s, &edited)
        .await
        .unwrap();
    let stored = h
        .storage()
        .catalog()
        .product(s, item.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.sold_count, 2,
        "the sale is kept (the save was {saved})"
    );
    assert!(!saved, "a save based on the count before the sale is stale");
}

/// What the analytics should say, recounted from the orders themselves for `boundaries`:
/// per step (orders not voided, sales, gross, refunds), per status, per product (sales).
type Recount = (
    Vec<[i64; 4]>,
    std::collections::BTreeMap<OrderStatus, i64>,
    std::collections::BTreeMap<ProductId, (i64, i64)>,
);

fn recount(orders: &[Order], boundaries: &[i64]) -> Recount {
    let mut steps = vec![[0_i64; 4]; boundaries.len() - 1];
    let mut statuses = std::collections::BTreeMap::new();
    let mut products = std::collections::BTreeMap::new();
    for order in orders {
        let at = order.created_at.as_millisecond();
        let Some(step) = boundaries.windows(2).position(|w| w[0] <= at && at < w[1]) else {
            continue;
        };
        *statuses.entry(order.status).or_insert(0) += 1;
        let sale = matches!(
            order.payment_status,
            PaymentStatus::Paid | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        );
        let row = &mut steps[step];
        row[0] += i64::from(order.payment_status != PaymentStatus::Voided);
        if sale {
            row[1] += 1;
            row[2] += order.total;
            row[3] += order.refunded;
            for line in &order.lines {
                let entry = products.entry(line.product_id).or_insert((0, 0));
                entry.0 += line.quantity;
                entry.1 += line.total;
            }
        }
    }
    (steps, statuses, products)
}

pub async fn analytics_sum_orders_by_local_day_and_status_as_a_recount_does(h: &Harness) {
    use techverse::domain::analytics::{Window, WindowInput};
    let s = store();
    let (a, b) = (product(s, "AN-A", 100), product(s, "AN-B", 100));
    for item in [&a, &b] {
        h.storage().catalog().insert_product(s, item).await.unwrap();
    }
    // Around midnights in UTC, Lagos (+1), Los Angeles (-8) and Kiritimati (+14).
    let at = |t: &str| t.parse::<Timestamp>().unwrap();
    let plan: [(&str, i64, i64, &str); 9] = [
        ("2026-11-09T10:00:00Z", 1, 0, "paid"),
        ("2026-11-09T22:59:59.999Z", 2, 1, "paid"),
        ("2026-11-09T23:00:00Z", 0, 3, "refunded_part"),
        ("2026-11-10T00:00:00Z", 1, 1, "pending"),
        ("2026-11-10T07:59:00Z", 3, 0, "cancelled"),
        ("2026-11-10T08:00:00Z", 1, 0, "paid"),
        ("2026-11-10T10:00:00Z", 0, 2, "paid"),
        ("2026-11-11T09:59:00Z", 2, 2, "refunded_part"),
        ("2026-11-12T00:00:00Z", 5, 0, "paid"),
    ];
    let commerce = h.storage().commerce();
    for (index, (when, qa, qb, fate)) in plan.into_iter().enumerate() {
        let lines: Vec<(&Product, i64)> = [(&a, qa), (&b, qb)]
            .into_iter()
            .filter(|l| l.1 > 0)
            .collect();
        let mut placed = place(
            h,
            &new_order(
                order(s, &lines, &format!("an{index}@example.com"), at(when)),
                &format!("an{index}"),
            ),
        )
        .await;
        let effects = match fate {
            "pending" => continue,
            "cancelled" => placed.cancel(OrderActor::System, at(when), None).unwrap(),
            _ => placed
                .mark_paid(OrderActor::System, at(when), None)
                .unwrap(),
        };
        assert!(
            commerce
                .save_order(s, &change(&placed, &effects))
                .await
                .unwrap()
        );
        placed.version += 1;
        if fate == "refunded_part" {
            let id = techverse_shared::RefundId::from_uuid(uuid::Uuid::now_v7());
            let refund = placed
                .refund(id, 250, &[], None, OrderActor::System, at(when))
                .unwrap();
            assert!(
                commerce
                    .save_order(s, &change(&placed, &refund))
                    .await
                    .unwrap()
            );
        }
    }
    // Another store's sale never counts.
    let other = store();
    let item = product(other, "AN-O", 10);
    h.storage()
        .catalog()
        .insert_product(other, &item)
        .await
        .unwrap();
    place(
        h,
        &new_order(
            order(
                other,
                &[(&item, 1)],
                "o@example.com",
                at("2026-11-10T12:00:00Z"),
            ),
            "o",
        ),
    )
    .await;

    let orders = commerce
        .orders(
            s,
            &OrderQuery {
                limit: 100,
                ..OrderQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(orders.len(), plan.len());
    let cases = [
        ("UTC", "day"),
        ("Africa/Lagos", "day"),
        ("America/Los_Angeles", "day"),
        ("Pacific/Kiritimati", "day"),
        ("Africa/Lagos", "hour"),
    ];
    for (tz, interval) in cases {
        let input = WindowInput {
            from: Some("2026-11-09".into()),
            to: Some(
                if interval == "day" {
                    "2026-11-12"
                } else {
                    "2026-11-10"
                }
                .into(),
            ),
            interval: Some(interval.into()),
        };
        let window = Window::parse(&input, tz, now()).unwrap();
        let figures = commerce
            .order_figures(s, &window.boundaries, 5)
            .await
            .unwrap();
        let (steps, statuses, products) = recount(&orders, &window.boundaries);
        let mut got = vec![[0_i64; 4]; window.boundaries.len() - 1];
        for row in &figures.sales {
            got[row.bucket] = [row.orders, row.paid_orders, row.gross, row.refunds];
        }
        assert_eq!(got, steps, "{tz} by the {interval}");
        let by_status: std::collections::BTreeMap<OrderStatus, i64> =
            figures.by_status.iter().copied().collect();
        assert_eq!(by_status, statuses, "{tz} statuses");
        let mut best: Vec<(ProductId, (i64, i64))> = products.into_iter().collect();
        best.sort_by(|x, y| {
            y.1.1
                .cmp(&x.1.1)
                .then(x.0.to_string().cmp(&y.0.to_string()))
        });
        let top: Vec<(ProductId, (i64, i64))> = figures
            .top_products
            .iter()
            .map(|p| (p.product_id, (p.quantity, p.revenue)))
            .collect();
        assert_eq!(top, best, "{tz} best sellers");
        assert!(
            figures
                .top_products
                .iter()
                .all(|p| p.title.starts_with("Thing AN-"))
        );
    }
    // The day boundary is the store's: the 23:00 UTC order is 9 November in UTC, 10 in Lagos.
    let lagos = Window::parse(
        &WindowInput {
            from: Some("2026-11-10".into()),
            to: Some("2026-11-10".into()),
            interval: None,
        },
        "Africa/Lagos",
        now(),
    )
    .unwrap();
    let day = commerce
        .order_figures(s, &lagos.boundaries, 5)
        .await
        .unwrap();
    assert_eq!(
        day.sales.iter().map(|r| r.orders).sum::<i64>(),
        4,
        "{day:?}"
    );
}

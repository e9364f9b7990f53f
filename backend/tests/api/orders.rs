//! Orders after checkout: staff actions along the state machine (paid, fulfilled, shipped,
//! delivered, cancelled, refunded) with stock effects, audit entries and `invalid_transition`
//! for anything else; permissions; the sweeper expiring unpaid orders once; reviews with
//! verified purchases and moderation.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    checkout::{add, checkout, checkout_body, customer_order, guest_cart, json_of, shop, shopper},
    helpers::{TestApp, admin, assert_error, send, spawn_app},
};

/// Places a guest order of `quantity` phones (pickup, cash on delivery); returns its id.
pub async fn order_phones(
    app: &TestApp,
    s: &crate::checkout::Shop,
    quantity: i64,
    key: &str,
) -> String {
    let (cart, token) = guest_cart(app, &s.store).await;
    add(app, &s.store, &cart, &token, &s.phone, quantity).await;
    let order = json_of(
        checkout(
            app,
            &s.store,
            Some(&token),
            None,
            key,
            &checkout_body(&cart, &s.pickup, "cash_on_delivery"),
        )
        .await,
        201,
    )
    .await;
    order["id"].as_str().unwrap().to_owned()
}

pub async fn act(
    app: &TestApp,
    s: &crate::checkout::Shop,
    token: &str,
    id: &str,
    action: &str,
    body: Option<Value>,
) -> reqwest::Response {
    send(
        app,
        Method::POST,
        &admin(&s.store, &format!("/orders/{id}/{action}")),
        token,
        body,
    )
    .await
}

/// The owner marks order `id` paid; the order as it then stands.
pub async fn mark_paid(app: &TestApp, s: &crate::checkout::Shop, id: &str) -> Value {
    json_of(
        act(app, s, &s.merchant.access, id, "mark-paid", None).await,
        200,
    )
    .await
}

pub async fn phone_stock(app: &TestApp, s: &crate::checkout::Shop) -> (i64, i64) {
    let products = s.staff_get(app, "/products").await;
    let phone = products["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Acme Phone")
        .unwrap()
        .clone();
    let variant = &phone["variants"][0];
    (
        variant["stock_on_hand"].as_i64().unwrap(),
        variant["reserved"].as_i64().unwrap(),
    )
}

async fn audit_actions(app: &TestApp, s: &crate::checkout::Shop) -> Vec<String> {
    let log = s.staff_get(app, "/audit-log").await;
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn staff_move_an_order_along_its_state_machine_and_nothing_else() {
    let app = spawn_app().await;
    let s = shop(&app, "flow-shop").await;
    let id = order_phones(&app, &s, 2, "flow").await;
    let owner = s.merchant.access.clone();
    assert_eq!(phone_stock(&app, &s).await, (3, 2));

    // Shipping before payment and fulfilment is not a move the machine has.
    let error = assert_error(
        act(&app, &s, &owner, &id, "ship", None).await,
        409,
        "invalid_transition",
    )
    .await;
    assert_eq!(error["error"]["details"]["from"], "pending_payment");

    let paid = json_of(
        act(
            &app,
            &s,
            &owner,
            &id,
            "mark-paid",
            Some(json!({ "reason": "cash received" })),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (paid["status"].as_str(), paid["payment_status"].as_str()),
        (Some("paid"), Some("paid"))
    );
    assert_eq!(
        phone_stock(&app, &s).await,
        (1, 0),
        "the reservation became a sale"
    );
    assert_error(
        act(&app, &s, &owner, &id, "mark-paid", None).await,
        409,
        "invalid_transition",
    )
    .await;

    let line = paid["lines"][0]["id"].as_str().unwrap().to_owned();
    let too_many = act(
        &app,
        &s,
        &owner,
        &id,
        "fulfilments",
        Some(json!({ "lines": [{ "line_id": line, "quantity": 3 }] })),
    )
    .await;
    assert_error(too_many, 422, "validation_failed").await;
    let partial = json_of(
        act(&app, &s, &owner, &id, "fulfilments", Some(json!({ "lines": [{ "line_id": line, "quantity": 1 }], "carrier": "GIG Logistics", "tracking_number": "GIG123" }))).await,
        200,
    )
    .await;
    assert_eq!(partial["status"], "partially_fulfilled");
    assert_eq!(partial["fulfilments"][0]["tracking_number"], "GIG123");
    let full = json_of(
        act(
            &app,
            &s,
            &owner,
            &id,
            "fulfilments",
            Some(json!({ "lines": [{ "line_id": line, "quantity": 1 }] })),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(full["status"], "fulfilled");
    assert_error(
        act(&app, &s, &owner, &id, "cancel", None).await,
        409,
        "invalid_transition",
    )
    .await;
    assert_eq!(
        json_of(act(&app, &s, &owner, &id, "ship", None).await, 200).await["status"],
        "shipped"
    );
    let delivered = json_of(act(&app, &s, &owner, &id, "deliver", None).await, 200).await;
    assert_eq!(delivered["status"], "delivered");

    // A partial refund putting one unit back, then the rest.
    let refund = json_of(
        act(&app, &s, &owner, &id, "refunds", Some(json!({ "amount": 1_000_000, "restock": [{ "line_id": line, "quantity": 1 }], "reason": "one returned" }))).await,
        200,
    )
    .await;
    assert_eq!(refund["payment_status"], "partially_refunded");
    assert_eq!(
        refund["status"], "delivered",
        "fulfilment and money are separate"
    );
    assert_eq!(phone_stock(&app, &s).await, (2, 0), "restocked one");
    let total = refund["totals"]["total"]["minor"].as_i64().unwrap();
    let over = act(
        &app,
        &s,
        &owner,
        &id,
        "refunds",
        Some(json!({ "amount": total })),
    )
    .await;
    assert_error(over, 422, "validation_failed").await;
    let rest = json_of(
        act(
            &app,
            &s,
            &owner,
            &id,
            "refunds",
            Some(json!({ "amount": total - 1_000_000 })),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rest["payment_status"], "refunded");
    assert_eq!(rest["refunded"]["minor"].as_i64(), Some(total));

    let noted = json_of(
        act(
            &app,
            &s,
            &owner,
            &id,
            "notes",
            Some(json!({ "text": "Customer was happy" })),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(noted["notes"][0]["text"], "Customer was happy");

    // Every move is recorded with who did it.
    let history = noted["history"].as_array().unwrap();
    let moves: Vec<(String, String)> = history
        .iter()
        .map(|t| {
            (
                t["field"].as_str().unwrap().to_owned(),
                t["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        moves
            .iter()
            .filter(|(f, _)| f == "status")
            .map(|(_, to)| to.as_str())
            .collect::<Vec<_>>(),
        [
            "pending_payment",
            "paid",
            "partially_fulfilled",
            "fulfilled",
            "shipped",
            "delivered"
        ]
    );
    assert_eq!(
        moves
            .iter()
            .filter(|(f, _)| f == "payment_status")
            .map(|(_, to)| to.as_str())
            .collect::<Vec<_>>(),
        ["pending", "paid", "partially_refunded", "refunded"]
    );
    assert!(
        history[2..]
            .iter()
            .all(|t| t["actor"]["kind"] == "staff"
                && t["actor"]["id"] == s.merchant.user_id.as_str())
    );
    let audit = audit_actions(&app, &s).await;
    for action in [
        "order.marked_paid",
        "order.fulfilled",
        "order.shipped",
        "order.delivered",
        "order.refunded",
        "order.note_added",
    ] {
        assert!(audit.iter().any(|a| a == action), "{action} in {audit:?}");
    }
    let events = json_of(
        send(&app, Method::GET, &admin(&s.store, "/events"), &owner, None).await,
        200,
    )
    .await;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "order.created",
        "order.paid",
        "order.status_changed",
        "order.refunded",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let unknown = act(&app, &s, &owner, &id, "teleport", None).await;
    assert_error(unknown, 404, "not_found").await;
}

#[tokio::test]
async fn cancelling_releases_or_restocks_and_a_paid_cancel_needs_the_refund_permission() {
    let app = spawn_app().await;
    let s = shop(&app, "cancel-shop").await;
    let owner = s.merchant.access.clone();
    let unpaid = order_phones(&app, &s, 1, "u").await;
    let cancelled = json_of(
        act(
            &app,
            &s,
            &owner,
            &unpaid,
            "cancel",
            Some(json!({ "reason": "customer asked" })),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (
            cancelled["status"].as_str(),
            cancelled["payment_status"].as_str()
        ),
        (Some("cancelled"), Some("voided"))
    );
    assert_eq!(phone_stock(&app, &s).await, (3, 0), "reservation released");
    assert_error(
        act(&app, &s, &owner, &unpaid, "mark-paid", None).await,
        409,
        "invalid_transition",
    )
    .await;

    let paid = order_phones(&app, &s, 2, "p").await;
    json_of(act(&app, &s, &owner, &paid, "mark-paid", None).await, 200).await;
    assert_eq!(phone_stock(&app, &s).await, (1, 0));
    app.verify_staff(&s.merchant.email).await;
    let (clerk, _) = app
        .add_member(&s.merchant, "clerk@cancel-shop.example", "staff")
        .await;
    let denied = act(&app, &s, &clerk, &paid, "cancel", None).await;
    let error = assert_error(denied, 403, "forbidden").await;
    assert_eq!(error["error"]["details"]["permission"], "orders.refund");
    assert_error(
        act(
            &app,
            &s,
            &clerk,
            &paid,
            "refunds",
            Some(json!({ "amount": 1 })),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let cancelled = json_of(act(&app, &s, &owner, &paid, "cancel", None).await, 200).await;
    assert_eq!(
        (
            cancelled["status"].as_str(),
            cancelled["payment_status"].as_str()
        ),
        (Some("cancelled"), Some("refunded"))
    );
    assert_eq!(phone_stock(&app, &s).await, (3, 0), "restocked");
    let audit = audit_actions(&app, &s).await;
    assert_eq!(audit.iter().filter(|a| *a == "order.cancelled").count(), 2);

    // Another store's staff cannot see or touch the order.
    let other = shop(&app, "other-cancel").await;
    let hidden = send(
        &app,
        Method::GET,
        &admin(&s.store, &format!("/orders/{paid}")),
        &other.merchant.access,
        None,
    )
    .await;
    assert_error(hidden, 404, "store_not_found").await;
    let elsewhere = send(
        &app,
        Method::GET,
        &admin(&other.store, &format!("/orders/{paid}")),
        &other.merchant.access,
        None,
    )
    .await;
    assert_error(elsewhere, 404, "not_found").await;
}

#[tokio::test]
async fn an_unpaid_order_expires_after_its_deadline_and_its_stock_returns_once() {
    let app = spawn_app().await;
    let s = shop(&app, "expiry-shop").await;
    let id = order_phones(&app, &s, 3, "x").await;
    assert_eq!(phone_stock(&app, &s).await, (3, 3));
    let now = techverse::domain::now();
    let early = techverse::app::orders::sweep(&app.ctx, now).await.unwrap();
    assert_eq!(early.expired_orders, 0, "not yet due");
    let later = now + jiff::SignedDuration::from_mins(16);
    let (one, two) = tokio::join!(
        techverse::app::orders::sweep(&app.ctx, later),
        techverse::app::orders::sweep(&app.ctx, later),
    );
    assert_eq!(
        one.unwrap().expired_orders + two.unwrap().expired_orders,
        1,
        "expired once"
    );
    assert_eq!(phone_stock(&app, &s).await, (3, 0), "stock returned");
    let order = s.staff_get(&app, &format!("/orders/{id}")).await;
    assert_eq!(
        (order["status"].as_str(), order["payment_status"].as_str()),
        (Some("expired"), Some("voided"))
    );
    let last = order["history"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|t| t["field"] == "status")
        .unwrap()
        .clone();
    assert_eq!(last["actor"]["kind"], "system");
    assert_error(
        act(&app, &s, &s.merchant.access, &id, "mark-paid", None).await,
        409,
        "invalid_transition",
    )
    .await;
    let again = techverse::app::orders::sweep(&app.ctx, later)
        .await
        .unwrap();
    assert_eq!(again.expired_orders, 0);
    assert_eq!(phone_stock(&app, &s).await, (3, 0));
}

#[tokio::test]
async fn reviews_are_verified_by_a_paid_order_and_public_only_once_approved() {
    let app = spawn_app().await;
    let s = shop(&app, "review-shop").await;
    let password = "correct horse battery staple";
    let ada = app
        .register_customer(&s.store, "ada@example.com", password)
        .await;
    let bola = app
        .register_customer(&s.store, "bola@example.com", password)
        .await;

    // Ada buys the phone and pays; Bola does not.
    let order = customer_order(&app, &s, &ada.access, &s.phone, "r1").await;
    json_of(
        act(
            &app,
            &s,
            &s.merchant.access,
            order["id"].as_str().unwrap(),
            "mark-paid",
            None,
        )
        .await,
        200,
    )
    .await;

    let path = format!("/api/v1/stores/{}/products/acme-phone/reviews", s.store);
    let write = |token: &str, rating: i64| {
        shopper(&app, Method::POST, &path, None, Some(token))
            .json(&json!({ "rating": rating, "title": "Solid", "body": "Works well" }))
            .send()
    };
    let ada_review = json_of(write(&ada.access, 5).await.unwrap(), 201).await;
    assert_eq!(ada_review["verified_purchase"], true);
    assert_eq!(ada_review["status"], "pending");
    assert_error(
        write(&ada.access, 4).await.unwrap(),
        409,
        "already_reviewed",
    )
    .await;
    let bola_review = json_of(write(&bola.access, 2).await.unwrap(), 201).await;
    assert_eq!(bola_review["verified_purchase"], false);
    assert_error(
        write(&bola.access, 3).await.unwrap(),
        409,
        "already_reviewed",
    )
    .await;
    let anonymous = shopper(&app, Method::POST, &path, None, None)
        .json(&json!({ "rating": 5, "body": "x" }))
        .send()
        .await
        .unwrap();
    assert_error(anonymous, 401, "unauthorized").await;

    let public = json_of(app.get(&path).await, 200).await;
    assert_eq!(
        public["items"],
        json!([]),
        "nothing public before moderation"
    );
    assert_eq!(public["summary"]["count"], 0);

    let moderate = async |id: &str, action: &str| {
        send(
            &app,
            Method::POST,
            &admin(&s.store, &format!("/reviews/{id}/moderation")),
            &s.merchant.access,
            Some(json!({ "action": action })),
        )
        .await
    };
    json_of(
        moderate(ada_review["id"].as_str().unwrap(), "approve").await,
        200,
    )
    .await;
    json_of(
        moderate(bola_review["id"].as_str().unwrap(), "approve").await,
        200,
    )
    .await;
    let public = json_of(app.get(&path).await, 200).await;
    assert_eq!(public["summary"]["count"], 2);
    assert_eq!(public["summary"]["average_x100"], 350);
    assert_eq!(public["summary"]["histogram"], json!([0, 1, 0, 0, 1]));
    assert!(public["items"][0].get("status").is_none());

    json_of(
        moderate(bola_review["id"].as_str().unwrap(), "hide").await,
        200,
    )
    .await;
    let public = json_of(app.get(&path).await, 200).await;
    assert_eq!(public["summary"]["count"], 1);
    assert_eq!(public["summary"]["histogram"], json!([0, 0, 0, 0, 1]));
    assert_eq!(public["items"].as_array().unwrap().len(), 1);
    let detail = json_of(
        app.get(&format!("/api/v1/stores/{}/products/acme-phone", s.store))
            .await,
        200,
    )
    .await;
    assert_eq!(
        detail["rating"]["count"], 1,
        "the product's rating counts approved reviews only"
    );
    assert_eq!(detail["rating"]["average_x100"], 500);

    let pending = s.staff_get(&app, "/reviews?status=hidden").await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);
    // The queue comes a page at a time.
    let all = s.staff_get(&app, "/reviews").await["items"].clone();
    assert!(all.as_array().unwrap().len() >= 2, "{all}");
    let first = s.staff_get(&app, "/reviews?limit=1").await;
    assert_eq!(first["items"][0]["id"], all[0]["id"]);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = s
        .staff_get(&app, &format!("/reviews?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(second["items"][0]["id"], all[1]["id"]);
    let bad_cursor = send(
        &app,
        Method::GET,
        &admin(&s.store, "/reviews?cursor=soon"),
        &s.merchant.access,
        None,
    )
    .await;
    assert_error(bad_cursor, 400, "bad_request").await;
    let bad = moderate(ada_review["id"].as_str().unwrap(), "delete").await;
    assert_error(bad, 422, "validation_failed").await;
    assert!(
        audit_actions(&app, &s)
            .await
            .iter()
            .any(|a| a == "review.moderated")
    );
    let log = s.staff_get(&app, "/events?limit=100").await;
    let created: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "review.created")
        .collect();
    assert!(!created.is_empty(), "{log}");
    assert!(
        created
            .iter()
            .any(|e| e["payload"]["review_id"] == ada_review["id"])
    );
}

/// A guest (`email`) orders one case with `code`; returns the order's answer.
async fn order_with_code(
    app: &TestApp,
    s: &crate::checkout::Shop,
    code: &str,
    email: &str,
) -> reqwest::Response {
    let (cart, token) = guest_cart(app, &s.store).await;
    add(app, &s.store, &cart, &token, &s.case, 1).await;
    let applied = shopper(
        app,
        Method::POST,
        &format!("/api/v1/stores/{}/carts/{cart}/discount", s.store),
        Some(&token),
        None,
    )
    .json(&json!({ "code": code }))
    .send()
    .await
    .unwrap();
    if applied.status() != 200 {
        return applied;
    }
    let mut body = checkout_body(&cart, &s.pickup, "cash_on_delivery");
    body["email"] = json!(email);
    checkout(app, &s.store, Some(&token), None, email, &body).await
}

#[tokio::test]
async fn an_expired_or_cancelled_order_gives_its_limited_code_back() {
    let app = spawn_app().await;
    let s = shop(&app, "code-back").await;
    let created = send(
        &app,
        Method::POST,
        &admin(&s.store, "/discounts"),
        &s.merchant.access,
        Some(json!({ "code": "ONLYONE", "kind": { "type": "percentage", "bps": 2000 }, "usage_limit": 1 })),
    )
    .await;
    let discount = json_of(created, 201).await;
    let uses = || async {
        let found = s
            .staff_get(
                &app,
                &format!("/discounts/{}", discount["id"].as_str().unwrap()),
            )
            .await;
        found["used"].as_i64().unwrap()
    };
    let first = json_of(
        order_with_code(&app, &s, "ONLYONE", "a@example.com").await,
        201,
    )
    .await;
    assert_eq!(uses().await, 1);
    let refused = order_with_code(&app, &s, "ONLYONE", "b@example.com").await;
    let refused = assert_error(refused, 422, "discount_not_applicable").await;
    assert_eq!(refused["error"]["details"]["reason"], "used_up");

    // Unpaid past its deadline: the order expires and the use comes back.
    let later = techverse::domain::now() + jiff::SignedDuration::from_mins(16);
    techverse::app::orders::sweep(&app.ctx, later)
        .await
        .unwrap();
    let expired = s
        .staff_get(&app, &format!("/orders/{}", first["id"].as_str().unwrap()))
        .await;
    assert_eq!(expired["status"], "expired");
    assert_eq!(uses().await, 0, "an expired order gives its use back");
    let second = json_of(
        order_with_code(&app, &s, "ONLYONE", "b@example.com").await,
        201,
    )
    .await;

    // Cancelled by staff: the use comes back too.
    let id = second["id"].as_str().unwrap();
    json_of(
        act(&app, &s, &s.merchant.access, id, "cancel", None).await,
        200,
    )
    .await;
    assert_eq!(uses().await, 0, "a cancelled order gives its use back");
    json_of(
        order_with_code(&app, &s, "ONLYONE", "c@example.com").await,
        201,
    )
    .await;
}

/// Adds a member to the shop with a new custom role holding `permissions`; their token.
pub async fn member_with(
    app: &TestApp,
    s: &crate::checkout::Shop,
    name: &str,
    permissions: &[&str],
) -> String {
    let role = json_of(
        send(
            app,
            Method::POST,
            &admin(&s.store, "/roles"),
            &s.merchant.access,
            Some(json!({ "name": name, "permissions": permissions })),
        )
        .await,
        201,
    )
    .await;
    let email = format!("{}@{}.example", name.to_lowercase(), s.store);
    let (token, _) = app
        .add_member(&s.merchant, &email, role["key"].as_str().unwrap())
        .await;
    token
}

#[tokio::test]
async fn the_event_log_shows_each_member_only_what_their_permissions_cover() {
    let app = spawn_app().await;
    let s = shop(&app, "events-shop").await;
    app.verify_staff(&s.merchant.email).await;
    let catalogue = member_with(&app, &s, "Catalogue", &["products.read"]).await;
    let fulfilment = member_with(&app, &s, "Fulfilment", &["orders.read"]).await;
    let auditor = member_with(&app, &s, "Auditor", &["audit.read"]).await;
    // An order (order.created, with the buyer's email) that also runs the phone low.
    order_phones(&app, &s, 3, "ev").await;
    let path = admin(&s.store, "/events");
    let log = |token: String| {
        let path = path.clone();
        let app = &app;
        async move { send(app, Method::GET, &path, &token, None).await }
    };

    let seen = json_of(log(catalogue.clone()).await, 200).await;
    let kinds: Vec<&str> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"inventory.low_stock"), "{kinds:?}");
    assert!(kinds.iter().all(|k| !k.starts_with("order.")), "{kinds:?}");
    assert!(!seen.to_string().contains("ada@example.com"), "{seen}");
    assert!(seen["next_after"].as_i64().unwrap() >= 2, "{seen}");

    let seen = json_of(log(fulfilment.clone()).await, 200).await;
    let kinds: Vec<&str> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"order.created"), "{kinds:?}");
    assert!(!kinds.contains(&"inventory.low_stock"), "{kinds:?}");

    assert_error(log(auditor.clone()).await, 403, "forbidden").await;
    // The staff list carries every member's email: staff.manage only.
    let team = send(
        &app,
        Method::GET,
        &admin(&s.store, "/staff"),
        &catalogue,
        None,
    )
    .await;
    assert_error(team, 403, "forbidden").await;
}

#[tokio::test]
async fn each_step_of_an_order_is_a_numbered_event_with_what_consumers_need() {
    let app = spawn_app().await;
    let s = shop(&app, "steps-shop").await;
    let owner = s.merchant.access.clone();
    let id = order_phones(&app, &s, 1, "steps").await;
    let paid = json_of(act(&app, &s, &owner, &id, "mark-paid", None).await, 200).await;
    let line = paid["lines"][0]["id"].as_str().unwrap().to_owned();
    let body = json!({ "lines": [{ "line_id": line, "quantity": 1 }], "carrier": "GIG Logistics", "tracking_number": "GIG-42" });
    json_of(
        act(&app, &s, &owner, &id, "fulfilments", Some(body)).await,
        200,
    )
    .await;
    json_of(act(&app, &s, &owner, &id, "ship", None).await, 200).await;
    json_of(act(&app, &s, &owner, &id, "deliver", None).await, 200).await;
    let other = order_phones(&app, &s, 1, "steps-2").await;
    json_of(
        act(
            &app,
            &s,
            &owner,
            &other,
            "cancel",
            Some(json!({ "reason": "changed mind" })),
        )
        .await,
        200,
    )
    .await;
    let log = s.staff_get(&app, "/events?limit=100").await;
    let items = log["items"].as_array().unwrap();
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "numbered in order: {seqs:?}"
    );
    let of = |kind: &str| {
        items
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("{kind} in {log}"))
            .clone()
    };
    for kind in [
        "order.created",
        "order.paid",
        "order.fulfilled",
        "order.delivered",
    ] {
        assert_eq!(of(kind)["payload"]["order_id"], id.as_str(), "{kind}");
    }
    let shipped = of("order.shipped");
    assert_eq!(shipped["payload"]["carrier"], "GIG Logistics");
    assert_eq!(shipped["payload"]["tracking_number"], "GIG-42");
    let cancelled = of("order.cancelled");
    assert_eq!(cancelled["payload"]["order_id"], other.as_str());
    assert_eq!(cancelled["payload"]["reason"], "changed mind");
    // Expiry is an event of its own too.
    let third = order_phones(&app, &s, 1, "steps-3").await;
    techverse::app::orders::sweep(
        &app.ctx,
        techverse::domain::now() + jiff::SignedDuration::from_mins(16),
    )
    .await
    .unwrap();
    let log = s.staff_get(&app, "/events?limit=100").await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "order.expired" && e["payload"]["order_id"] == third.as_str())
    );
    // No event carries an order's token.
    assert!(!log.to_string().contains("token"), "{log}");
}

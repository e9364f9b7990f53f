//! Carts, discounts, shipping, tax and checkout over HTTP: server pricing (client prices are
//! ignored), warnings, idempotent checkout, out-of-stock answers, order lookup by token and by
//! account, and cart merging on sign-in.

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

use crate::helpers::{Merchant, TestApp, admin, assert_error, send, spawn_app};

/// A store with a scarce phone (3 in stock), a plentiful case, Nigerian shipping (free from
/// ₦50,000 after discounts), 7.5 % tax on top of prices, both offline payment methods and a
/// 10 % welcome code.
pub struct Shop {
    pub merchant: Merchant,
    pub store: String,
    pub phone: String,
    pub case: String,
    pub standard: String,
    pub pickup: String,
}

pub async fn product(
    app: &TestApp,
    merchant: &Merchant,
    title: &str,
    sku: &str,
    price: i64,
    stock: i64,
) -> String {
    let response = send(
        app,
        Method::POST,
        &admin(&merchant.store, "/products"),
        &merchant.access,
        Some(json!({
            "title": title,
            "status": "active",
            "variants": [{ "sku": sku, "price": price, "stock": stock }]
        })),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["variants"][0]["id"].as_str().unwrap().to_owned()
}

pub async fn shop(app: &TestApp, slug: &str) -> Shop {
    let merchant = app.signup(slug).await;
    let phone = product(app, &merchant, "Acme Phone", "PH-1", 2_000_000, 3).await;
    let case = product(app, &merchant, "Phone Case", "CASE-1", 500_000, 50).await;
    let settings = send(
        app,
        Method::PUT,
        &admin(slug, "/checkout-settings"),
        &merchant.access,
        Some(json!({
            "prices_include_tax": false,
            "payment_methods": ["cash_on_delivery", "bank_transfer"],
            "bank_transfer_instructions": "GTBank 0123456789, TechVerse Ltd",
            "reservation_minutes": 15,
            "zones": [{
                "name": "Nigeria",
                "countries": ["NG"],
                "tax_bps": 750,
                "methods": [
                    { "name": "Standard", "rate": { "type": "free_above", "price": 250_000, "threshold": 5_000_000 } },
                    { "name": "Store pickup", "rate": { "type": "pickup" } }
                ]
            }]
        })),
    )
    .await;
    let body: Value = settings.json().await.unwrap();
    let methods = &body["zones"][0]["methods"];
    let discount = send(
        app,
        Method::POST,
        &admin(slug, "/discounts"),
        &merchant.access,
        Some(json!({ "code": "welcome10", "kind": { "type": "percentage", "bps": 1000 } })),
    )
    .await;
    assert_eq!(discount.status(), 201);
    Shop {
        store: slug.to_owned(),
        phone,
        case,
        standard: methods[0]["id"].as_str().unwrap().to_owned(),
        pickup: methods[1]["id"].as_str().unwrap().to_owned(),
        merchant,
    }
}

impl Shop {
    /// The owner's `GET` of one of this store's admin paths, expecting 200.
    pub async fn staff_get(&self, app: &TestApp, rest: &str) -> Value {
        json_of(
            send(
                app,
                Method::GET,
                &admin(&self.store, rest),
                &self.merchant.access,
                None,
            )
            .await,
            200,
        )
        .await
    }
}

/// A storefront `GET` (with a guest cart token and/or a customer's token), expecting 200.
pub async fn shopper_get(
    app: &TestApp,
    path: &str,
    cart_token: Option<&str>,
    bearer: Option<&str>,
) -> Value {
    json_of(
        shopper(app, Method::GET, path, cart_token, bearer)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

/// A storefront request carrying a guest cart token and/or a customer's bearer token.
pub fn shopper(
    app: &TestApp,
    method: Method,
    path: &str,
    cart_token: Option<&str>,
    bearer: Option<&str>,
) -> RequestBuilder {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = cart_token {
        request = request.header("X-Cart-Token", token);
    }
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request
}

pub async fn json_of(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{body}");
    body
}

/// A guest cart: `(id, token)`.
pub async fn guest_cart(app: &TestApp, store: &str) -> (String, String) {
    let body = json_of(
        shopper(
            app,
            Method::POST,
            &format!("/api/v1/stores/{store}/carts"),
            None,
            None,
        )
        .send()
        .await
        .unwrap(),
        201,
    )
    .await;
    (
        body["id"].as_str().unwrap().to_owned(),
        body["token"].as_str().unwrap().to_owned(),
    )
}

pub async fn add(
    app: &TestApp,
    store: &str,
    cart: &str,
    token: &str,
    variant: &str,
    quantity: i64,
) -> Value {
    json_of(
        shopper(
            app,
            Method::POST,
            &format!("/api/v1/stores/{store}/carts/{cart}/lines"),
            Some(token),
            None,
        )
        .json(&json!({ "variant_id": variant, "quantity": quantity }))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await
}

/// A signed-in customer's order of one `variant`: a new cart of theirs, pickup, cash on
/// delivery. The checkout's 201 body.
pub async fn customer_order(
    app: &TestApp,
    s: &Shop,
    bearer: &str,
    variant: &str,
    key: &str,
) -> Value {
    let carts = format!("/api/v1/stores/{}/carts", s.store);
    let cart = json_of(
        shopper(app, Method::POST, &carts, None, Some(bearer))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let cart = cart["id"].as_str().unwrap().to_owned();
    json_of(
        shopper(
            app,
            Method::POST,
            &format!("{carts}/{cart}/lines"),
            None,
            Some(bearer),
        )
        .json(&json!({ "variant_id": variant, "quantity": 1 }))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    json_of(
        checkout(
            app,
            &s.store,
            None,
            Some(bearer),
            key,
            &checkout_body(&cart, &s.pickup, "cash_on_delivery"),
        )
        .await,
        201,
    )
    .await
}

pub fn checkout_body(cart: &str, method: &str, payment: &str) -> Value {
    json!({
        "cart_id": cart,
        "email": "ada@example.com",
        "shipping_address": {
            "name": "Ada Obi", "line1": "12 Admiralty Way", "city": "Lagos",
            "region": "Lagos", "country": "NG", "phone": "+2348012345678"
        },
        "shipping_method_id": method,
        "payment_method": payment
    })
}

pub async fn checkout(
    app: &TestApp,
    store: &str,
    token: Option<&str>,
    bearer: Option<&str>,
    key: &str,
    body: &Value,
) -> Response {
    shopper(
        app,
        Method::POST,
        &format!("/api/v1/stores/{store}/checkout"),
        token,
        bearer,
    )
    .header("Idempotency-Key", key)
    .json(body)
    .send()
    .await
    .unwrap()
}

fn minor(value: &Value) -> i64 {
    assert_eq!(value["currency"], "NGN", "{value}");
    value["minor"].as_i64().unwrap()
}

async fn available(app: &TestApp, store: &str, slug: &str) -> i64 {
    let detail = app
        .get_json(&format!("/api/v1/stores/{store}/products/{slug}"))
        .await;
    detail["variants"][0]["available"].as_i64().unwrap()
}

#[tokio::test]
async fn a_guest_checks_out_with_cash_on_delivery_at_the_servers_prices() {
    let app = spawn_app().await;
    let s = shop(&app, "guest-shop").await;
    let (cart, token) = guest_cart(&app, &s.store).await;
    // A price sent by the client is ignored.
    let body = json_of(
        shopper(&app, Method::POST, &format!("/api/v1/stores/{}/carts/{cart}/lines", s.store), Some(&token), None)
            .json(&json!({ "variant_id": s.phone, "quantity": 1, "price": 1, "unit_price": { "minor": 1, "currency": "NGN" } }))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(minor(&body["lines"][0]["unit_price"]), 2_000_000);
    add(&app, &s.store, &cart, &token, &s.case, 2).await;
    let body = json_of(
        shopper(
            &app,
            Method::POST,
            &format!("/api/v1/stores/{}/carts/{cart}/discount", s.store),
            Some(&token),
            None,
        )
        .json(&json!({ "code": " Welcome10 " }))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(body["discount_code"], "WELCOME10");
    assert_eq!(minor(&body["totals"]["subtotal"]), 3_000_000);
    assert_eq!(minor(&body["totals"]["discount"]), 300_000);

    let methods = shopper_get(
        &app,
        &format!(
            "/api/v1/stores/{}/carts/{cart}/shipping-methods?country=NG",
            s.store
        ),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(methods.as_array().unwrap().len(), 2);
    assert_eq!(
        minor(&methods[0]["price"]),
        250_000,
        "below the free-shipping threshold"
    );
    assert_eq!(minor(&methods[1]["price"]), 0);
    let abroad = shopper_get(
        &app,
        &format!(
            "/api/v1/stores/{}/carts/{cart}/shipping-methods?country=GH",
            s.store
        ),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(abroad, json!([]));

    // Totals the client claims are ignored too.
    let mut body = checkout_body(&cart, &s.standard, "cash_on_delivery");
    body["totals"] = json!({ "total": { "minor": 1, "currency": "NGN" } });
    body["total"] = json!(1);
    let order = json_of(
        checkout(&app, &s.store, Some(&token), None, "key-1", &body).await,
        201,
    )
    .await;
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(order["payment_status"], "pending");
    assert_eq!(order["number"], 1001);
    let totals = &order["totals"];
    let (subtotal, discount, shipping, tax, total) = (
        minor(&totals["subtotal"]),
        minor(&totals["discount"]),
        minor(&totals["shipping"]),
        minor(&totals["tax"]),
        minor(&totals["total"]),
    );
    assert_eq!(
        (subtotal, discount, shipping, tax),
        (3_000_000, 300_000, 250_000, 202_500)
    );
    assert_eq!(total, subtotal - discount + shipping + tax);
    assert_eq!(total, 3_152_500);
    let line_totals: i64 = order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| minor(&l["total"]))
        .sum();
    assert_eq!(line_totals + shipping, total);
    assert!(
        order["payment_instructions"]
            .as_str()
            .unwrap()
            .contains("₦31,525.00")
    );
    let order_token = order["token"].as_str().unwrap().to_owned();
    let id = order["id"].as_str().unwrap().to_owned();

    // Stock is held; the cart is gone.
    assert_eq!(available(&app, &s.store, "acme-phone").await, 2);
    let gone = shopper(
        &app,
        Method::GET,
        &format!("/api/v1/stores/{}/carts/{cart}", s.store),
        Some(&token),
        None,
    )
    .send()
    .await
    .unwrap();
    assert_error(gone, 404, "not_found").await;

    // The guest finds the order with its token, nobody finds it without.
    let found = json_of(
        shopper(
            &app,
            Method::GET,
            &format!("/api/v1/stores/{}/orders/{id}", s.store),
            None,
            None,
        )
        .header("X-Order-Token", &order_token)
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(found["number"], 1001);
    assert!(found.get("token").is_none() && found.get("history").is_none());
    let denied = shopper(
        &app,
        Method::GET,
        &format!("/api/v1/stores/{}/orders/{id}", s.store),
        None,
        None,
    )
    .header("X-Order-Token", "wrong")
    .send()
    .await
    .unwrap();
    assert_error(denied, 404, "not_found").await;

    // Staff see it, with its history; the event log has order.created.
    let listed = s.staff_get(&app, "/orders?q=%231001").await;
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let staff_view = s.staff_get(&app, &format!("/orders/{id}")).await;
    assert_eq!(staff_view["history"][0]["to"], "pending_payment");
    assert_eq!(staff_view["history"][0]["actor"]["kind"], "guest");
    let events = s.staff_get(&app, "/events").await;
    let created = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "order.created")
        .unwrap();
    assert_eq!(created["payload"]["number"], 1001);
}

#[tokio::test]
async fn a_replayed_checkout_returns_the_same_order_and_a_reused_key_is_refused() {
    let app = spawn_app().await;
    let s = shop(&app, "idem-shop").await;
    let (cart, token) = guest_cart(&app, &s.store).await;
    add(&app, &s.store, &cart, &token, &s.case, 1).await;
    let body = checkout_body(&cart, &s.pickup, "bank_transfer");

    // Two requests with one key at the same time make one order.
    let (first, second) = tokio::join!(
        checkout(&app, &s.store, Some(&token), None, "double-click", &body),
        checkout(&app, &s.store, Some(&token), None, "double-click", &body),
    );
    let first = json_of(first, 201).await;
    let second = json_of(second, 201).await;
    assert_eq!(first, second, "identical responses");
    let replay = checkout(&app, &s.store, Some(&token), None, "double-click", &body).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(replay, 201).await, first);
    assert!(
        first["payment_instructions"]
            .as_str()
            .unwrap()
            .contains("GTBank")
    );

    let mut other = body.clone();
    other["email"] = json!("someone@example.com");
    let reused = checkout(&app, &s.store, Some(&token), None, "double-click", &other).await;
    assert_error(reused, 422, "idempotency_key_reused").await;

    let missing = shopper(
        &app,
        Method::POST,
        &format!("/api/v1/stores/{}/checkout", s.store),
        Some(&token),
        None,
    )
    .json(&body)
    .send()
    .await
    .unwrap();
    assert_error(missing, 400, "bad_request").await;
    let listed = s.staff_get(&app, "/orders").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "one order");
}

#[tokio::test]
async fn asking_for_more_than_is_left_is_409_out_of_stock_naming_the_short_lines() {
    let app = spawn_app().await;
    let s = shop(&app, "short-shop").await;
    let (first, first_token) = guest_cart(&app, &s.store).await;
    add(&app, &s.store, &first, &first_token, &s.phone, 2).await;
    let (second, second_token) = guest_cart(&app, &s.store).await;
    let view = add(&app, &s.store, &second, &second_token, &s.phone, 2).await;
    assert_eq!(view["lines"][0]["available"], 3);
    json_of(
        checkout(
            &app,
            &s.store,
            Some(&first_token),
            None,
            "a",
            &checkout_body(&first, &s.pickup, "cash_on_delivery"),
        )
        .await,
        201,
    )
    .await;

    // The second cart asked for 2 while 1 is left: checkout refuses, naming the line.
    let refused = checkout(
        &app,
        &s.store,
        Some(&second_token),
        None,
        "b",
        &checkout_body(&second, &s.pickup, "cash_on_delivery"),
    )
    .await;
    let error = assert_error(refused, 409, "out_of_stock").await;
    let lines = &error["error"]["details"]["lines"];
    assert_eq!(lines[0]["variant_id"], s.phone.as_str());
    assert_eq!(lines[0]["sku"], "PH-1");
    assert_eq!(
        (
            lines[0]["requested"].as_i64(),
            lines[0]["available"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(
        available(&app, &s.store, "acme-phone").await,
        1,
        "nothing more held"
    );
    // Reading the cart afterwards says why, once.
    let view = shopper_get(
        &app,
        &format!("/api/v1/stores/{}/carts/{second}", s.store),
        Some(&second_token),
        None,
    )
    .await;
    assert_eq!(view["warnings"][0]["code"], "quantity_reduced");
    assert_eq!(view["warnings"][0]["available"], 1);
}

#[tokio::test]
async fn bad_checkouts_are_refused_with_clear_codes() {
    let app = spawn_app().await;
    let s = shop(&app, "bad-shop").await;
    let (cart, token) = guest_cart(&app, &s.store).await;
    let empty = checkout(
        &app,
        &s.store,
        Some(&token),
        None,
        "k1",
        &checkout_body(&cart, &s.pickup, "cash_on_delivery"),
    )
    .await;
    assert_error(empty, 422, "cart_empty").await;
    add(&app, &s.store, &cart, &token, &s.case, 1).await;

    let mut abroad = checkout_body(&cart, &s.standard, "cash_on_delivery");
    abroad["shipping_address"]["country"] = json!("GH");
    assert_error(
        checkout(&app, &s.store, Some(&token), None, "k2", &abroad).await,
        422,
        "shipping_unavailable",
    )
    .await;

    let mut invalid = checkout_body(&cart, &s.standard, "cash_on_delivery");
    invalid["email"] = json!("not-an-email");
    invalid["shipping_address"]["country"] = json!("Narnia");
    let error = assert_error(
        checkout(&app, &s.store, Some(&token), None, "k3", &invalid).await,
        422,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = error["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "shipping_address.country"]);

    // A cart is the token holder's only: no token, a wrong token, another store.
    let body = checkout_body(&cart, &s.standard, "cash_on_delivery");
    assert_error(
        checkout(&app, &s.store, None, None, "k4", &body).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        checkout(&app, &s.store, Some("x.y"), None, "k5", &body).await,
        404,
        "not_found",
    )
    .await;
    let other = shop(&app, "other-shop").await;
    let stolen = shopper(
        &app,
        Method::GET,
        &format!("/api/v1/stores/{}/carts/{cart}", other.store),
        Some(&token),
        None,
    )
    .send()
    .await
    .unwrap();
    assert_error(stolen, 404, "not_found").await;

    // Only payment methods the store offers.
    let only_cod = send(&app, Method::PUT, &admin(&s.store, "/checkout-settings"), &s.merchant.access, Some(json!({
        "payment_methods": ["cash_on_delivery"],
        "zones": [{ "name": "NG", "countries": ["NG"], "methods": [{ "name": "Pickup", "rate": { "type": "pickup" } }] }]
    }))).await;
    let settings = json_of(only_cod, 200).await;
    let pickup = settings["zones"][0]["methods"][0]["id"].as_str().unwrap();
    let transfer = checkout(
        &app,
        &s.store,
        Some(&token),
        None,
        "k6",
        &checkout_body(&cart, pickup, "bank_transfer"),
    )
    .await;
    assert_error(transfer, 422, "payment_method_unavailable").await;

    // Quantities are bounded and unknown variants named.
    let zero = shopper(
        &app,
        Method::POST,
        &format!("/api/v1/stores/{}/carts/{cart}/lines", s.store),
        Some(&token),
        None,
    )
    .json(&json!({ "variant_id": s.case, "quantity": 0 }))
    .send()
    .await
    .unwrap();
    assert_error(zero, 422, "validation_failed").await;
    let unknown = shopper(
        &app,
        Method::POST,
        &format!("/api/v1/stores/{}/carts/{cart}/lines", s.store),
        Some(&token),
        None,
    )
    .json(&json!({ "variant_id": uuid::Uuid::now_v7(), "quantity": 1 }))
    .send()
    .await
    .unwrap();
    let error = assert_error(unknown, 422, "validation_failed").await;
    assert_eq!(
        error["error"]["details"]["fields"][0]["field"],
        "variant_id"
    );
}

#[tokio::test]
async fn cart_lines_change_and_warn_about_price_changes_once() {
    let app = spawn_app().await;
    let s = shop(&app, "warn-shop").await;
    let (cart, token) = guest_cart(&app, &s.store).await;
    let view = add(&app, &s.store, &cart, &token, &s.case, 1).await;
    let again = add(&app, &s.store, &cart, &token, &s.case, 2).await;
    assert_eq!(
        again["lines"].as_array().unwrap().len(),
        1,
        "one line per variant"
    );
    assert_eq!(again["lines"][0]["quantity"], 3);
    let line = view["lines"][0]["id"].as_str().unwrap().to_owned();
    let patched = json_of(
        shopper(
            &app,
            Method::PATCH,
            &format!("/api/v1/stores/{}/carts/{cart}/lines/{line}", s.store),
            Some(&token),
            None,
        )
        .json(&json!({ "quantity": 4 }))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(minor(&patched["totals"]["subtotal"]), 2_000_000);

    // The merchant changes the price: the next read warns once, with the old price.
    let products = s.staff_get(&app, "/products").await;
    let case = products["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Phone Case")
        .unwrap();
    let replaced = send(
        &app,
        Method::PUT,
        &admin(
            &s.store,
            &format!("/products/{}", case["id"].as_str().unwrap()),
        ),
        &s.merchant.access,
        Some(json!({
            "title": "Phone Case", "status": "active",
            "variants": [{ "id": s.case, "sku": "CASE-1", "price": 450_000 }]
        })),
    )
    .await;
    assert_eq!(replaced.status(), 200);
    let path = format!("/api/v1/stores/{}/carts/{cart}", s.store);
    let view = shopper_get(&app, &path, Some(&token), None).await;
    assert_eq!(view["warnings"][0]["code"], "price_changed");
    assert_eq!(minor(&view["warnings"][0]["previous_price"]), 500_000);
    assert_eq!(minor(&view["totals"]["subtotal"]), 1_800_000);
    let view = shopper_get(&app, &path, Some(&token), None).await;
    assert_eq!(view["warnings"], json!([]));

    // With a destination the cart shows shipping and tax.
    let estimate = shopper_get(
        &app,
        &format!("{path}?country=NG&shipping_method_id={}", s.standard),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(minor(&estimate["totals"]["shipping"]), 250_000);
    assert_eq!(minor(&estimate["totals"]["tax"]), 135_000);

    let removed = json_of(
        shopper(
            &app,
            Method::DELETE,
            &format!("/api/v1/stores/{}/carts/{cart}/lines/{line}", s.store),
            Some(&token),
            None,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(removed["lines"], json!([]));
    let missing = shopper(
        &app,
        Method::DELETE,
        &format!("/api/v1/stores/{}/carts/{cart}/lines/{line}", s.store),
        Some(&token),
        None,
    )
    .send()
    .await
    .unwrap();
    assert_error(missing, 404, "not_found").await;
}

#[tokio::test]
async fn discount_codes_apply_only_within_their_rules() {
    let app = spawn_app().await;
    let s = shop(&app, "code-shop").await;
    let discounts = admin(&s.store, "/discounts");
    let create = |body: Value| {
        send(
            &app,
            Method::POST,
            &discounts,
            &s.merchant.access,
            Some(body),
        )
    };
    json_of(create(json!({ "code": "BIG", "kind": { "type": "fixed_amount", "minor": 100_000 }, "min_subtotal": 5_000_000 })).await, 201).await;
    json_of(create(json!({ "code": "OLD", "kind": { "type": "percentage", "bps": 500 }, "ends_at": "2020-01-01T00:00:00Z" })).await, 201).await;
    json_of(create(json!({ "code": "PHONES", "kind": { "type": "percentage", "bps": 5000 }, "scope": { "type": "products", "ids": [] } })).await, 422).await;
    let taken =
        create(json!({ "code": "big", "kind": { "type": "percentage", "bps": 500 } })).await;
    assert_error(taken, 409, "conflict").await;

    let (cart, token) = guest_cart(&app, &s.store).await;
    add(&app, &s.store, &cart, &token, &s.case, 1).await;
    let apply = |code: &'static str| {
        shopper(
            &app,
            Method::POST,
            &format!("/api/v1/stores/{}/carts/{cart}/discount", s.store),
            Some(&token),
            None,
        )
        .json(&json!({ "code": code }))
        .send()
    };
    for (code, reason) in [
        ("NOPE", "unknown_code"),
        ("BIG", "below_minimum"),
        ("OLD", "expired"),
    ] {
        let error = assert_error(apply(code).await.unwrap(), 422, "discount_not_applicable").await;
        assert_eq!(error["error"]["details"]["reason"], reason, "{code}");
    }
    add(&app, &s.store, &cart, &token, &s.phone, 3).await;
    let view = json_of(apply("BIG").await.unwrap(), 200).await;
    assert_eq!(minor(&view["totals"]["discount"]), 100_000);
    let shares: i64 = view["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| minor(&l["discount"]))
        .sum();
    assert_eq!(shares, 100_000, "allocated to the minor unit");

    // Dropping below the minimum removes the code with a warning.
    let phone_line = view["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["variant_id"] == s.phone.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let view = json_of(
        shopper(
            &app,
            Method::DELETE,
            &format!("/api/v1/stores/{}/carts/{cart}/lines/{phone_line}", s.store),
            Some(&token),
            None,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(view["warnings"][0]["code"], "discount_removed");
    assert!(view.get("discount_code").is_none());

    // Staff without discounts.write cannot manage codes.
    let (member, _) = {
        app.verify_staff(&s.merchant.email).await;
        app.add_member(&s.merchant, "clerk@code-shop.example", "staff")
            .await
    };
    let denied = send(
        &app,
        Method::GET,
        &admin(&s.store, "/discounts"),
        &member,
        None,
    )
    .await;
    assert_error(denied, 403, "forbidden").await;
}

#[tokio::test]
async fn a_guest_cart_merges_into_the_customers_on_sign_in_and_orders_show_in_the_account() {
    let app = spawn_app().await;
    let s = shop(&app, "merge-shop").await;
    let (guest, token) = guest_cart(&app, &s.store).await;
    add(&app, &s.store, &guest, &token, &s.case, 2).await;
    let ada = app
        .register_customer(&s.store, "ada@example.com", "correct horse battery staple")
        .await;
    let merged = json_of(
        shopper(
            &app,
            Method::POST,
            &format!("/api/v1/stores/{}/carts", s.store),
            Some(&token),
            Some(&ada.access),
        )
        .send()
        .await
        .unwrap(),
        201,
    )
    .await;
    assert_eq!(merged["customer_id"], ada.id.as_str());
    assert_eq!(merged["lines"][0]["quantity"], 2);
    assert!(merged.get("token").is_none());
    let cart = merged["id"].as_str().unwrap().to_owned();
    let old = shopper(
        &app,
        Method::GET,
        &format!("/api/v1/stores/{}/carts/{guest}", s.store),
        Some(&token),
        None,
    )
    .send()
    .await
    .unwrap();
    assert_error(old, 404, "not_found").await;
    let again = json_of(
        shopper(
            &app,
            Method::POST,
            &format!("/api/v1/stores/{}/carts", s.store),
            None,
            Some(&ada.access),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(again["id"], cart.as_str(), "one cart per customer");

    let order = json_of(
        checkout(
            &app,
            &s.store,
            None,
            Some(&ada.access),
            "ada-1",
            &checkout_body(&cart, &s.pickup, "cash_on_delivery"),
        )
        .await,
        201,
    )
    .await;
    let id = order["id"].as_str().unwrap();
    assert_eq!(order["customer_id"], ada.id.as_str());
    let mine = shopper_get(
        &app,
        &format!("/api/v1/stores/{}/customers/me/orders", s.store),
        None,
        Some(&ada.access),
    )
    .await;
    assert_eq!(mine["items"][0]["id"], id);
    shopper_get(
        &app,
        &format!("/api/v1/stores/{}/customers/me/orders/{id}", s.store),
        None,
        Some(&ada.access),
    )
    .await;
    let bola = app
        .register_customer(&s.store, "bola@example.com", "correct horse battery staple")
        .await;
    let theirs = shopper(
        &app,
        Method::GET,
        &format!("/api/v1/stores/{}/customers/me/orders/{id}", s.store),
        None,
        Some(&bola.access),
    )
    .send()
    .await
    .unwrap();
    assert_error(theirs, 404, "not_found").await;
    let none = shopper_get(
        &app,
        &format!("/api/v1/stores/{}/customers/me/orders", s.store),
        None,
        Some(&bola.access),
    )
    .await;
    assert_eq!(none["items"], json!([]));
    let cart_of_ada = shopper(
        &app,
        Method::GET,
        &format!("/api/v1/stores/{}/carts/{cart}", s.store),
        None,
        Some(&bola.access),
    )
    .send()
    .await
    .unwrap();
    assert_error(cart_of_ada, 404, "not_found").await;
}

#[tokio::test]
async fn the_demo_store_sells_with_its_nigerian_checkout_settings() {
    let app = spawn_app().await;
    techverse::app::seed::seed_demo(&app.ctx, 0, false)
        .await
        .unwrap();
    let page = json_of(
        app.get("/api/v1/stores/demo/products?in_stock=true&sort=price_asc")
            .await,
        200,
    )
    .await;
    let cheapest = page["items"][0]["slug"].as_str().unwrap().to_owned();
    let detail = json_of(
        app.get(&format!("/api/v1/stores/demo/products/{cheapest}"))
            .await,
        200,
    )
    .await;
    let variant = detail["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["in_stock"] == true)
        .unwrap();
    let variant_id = variant["id"].as_str().unwrap();
    let (cart, token) = guest_cart(&app, "demo").await;
    add(&app, "demo", &cart, &token, variant_id, 1).await;
    let methods = shopper_get(
        &app,
        &format!("/api/v1/stores/demo/carts/{cart}/shipping-methods?country=NG"),
        Some(&token),
        None,
    )
    .await;
    let names: Vec<&str> = methods
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Standard delivery (2-4 days)", "Pickup at our Lagos store"]
    );
    let view = json_of(
        shopper(
            &app,
            Method::POST,
            &format!("/api/v1/stores/demo/carts/{cart}/discount"),
            Some(&token),
            None,
        )
        .json(&json!({ "code": "welcome10" }))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert!(minor(&view["totals"]["discount"]) > 0);
    let standard = methods[0]["id"].as_str().unwrap();
    let order = json_of(
        checkout(
            &app,
            "demo",
            Some(&token),
            None,
            "demo-1",
            &checkout_body(&cart, standard, "bank_transfer"),
        )
        .await,
        201,
    )
    .await;
    assert!(
        order["payment_instructions"]
            .as_str()
            .unwrap()
            .contains("GTBank")
    );
    let totals = &order["totals"];
    assert_eq!(
        minor(&totals["total"]),
        minor(&totals["subtotal"]) - minor(&totals["discount"])
            + minor(&totals["shipping"])
            + minor(&totals["tax"])
    );
}

#[tokio::test]
async fn thirty_buyers_racing_for_three_phones_make_exactly_three_orders() {
    let app = spawn_app().await;
    let s = shop(&app, "race-shop").await;
    let mut carts = Vec::new();
    for _ in 0..30 {
        let (cart, token) = guest_cart(&app, &s.store).await;
        add(&app, &s.store, &cart, &token, &s.phone, 1).await;
        carts.push((cart, token));
    }
    let racing = carts.iter().enumerate().map(|(n, (cart, token))| {
        // Thirty different buyers.
        let mut body = checkout_body(cart, &s.pickup, "cash_on_delivery");
        body["email"] = json!(format!("buyer{n}@example.com"));
        let app = &app;
        let store = s.store.clone();
        async move { checkout(app, &store, Some(token), None, &format!("race-{n}"), &body).await }
    });
    let responses = futures_util::future::join_all(racing).await;
    let mut placed = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => placed += 1,
            409 => {
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "out_of_stock");
                assert_eq!(
                    body["error"]["details"]["lines"][0]["variant_id"],
                    s.phone.as_str()
                );
                assert_eq!(body["error"]["details"]["lines"][0]["available"], 0);
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(placed, 3);
    assert_eq!(available(&app, &s.store, "acme-phone").await, 0);
}

#[tokio::test]
async fn a_buyer_cannot_hold_stock_with_more_unpaid_orders_than_the_limit() {
    let app = crate::helpers::spawn_app_with(&[("TECHVERSE_MAX_OPEN_ORDERS_PER_BUYER", "2")]).await;
    let s = shop(&app, "hoard-shop").await;
    let order_case = |key: &'static str| {
        let app = &app;
        let s = &s;
        async move {
            let (cart, token) = guest_cart(app, &s.store).await;
            add(app, &s.store, &cart, &token, &s.case, 5).await;
            let body = checkout_body(&cart, &s.pickup, "cash_on_delivery");
            checkout(app, &s.store, Some(&token), None, key, &body).await
        }
    };
    json_of(order_case("one").await, 201).await;
    json_of(order_case("two").await, 201).await;
    let refused = order_case("three").await;
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        retry,
        15 * 60,
        "the oldest open order ends within its payment window"
    );
    let body = assert_error(refused, 429, "too_many_open_orders").await;
    assert_eq!(body["error"]["details"]["scope"], "buyer");
    assert_eq!(
        available(&app, &s.store, "phone-case").await,
        40,
        "nothing more is held"
    );
}

#[tokio::test]
async fn a_sale_shows_at_once_on_the_cached_public_product_page() {
    let app = spawn_app().await;
    let s = shop(&app, "fresh-stock").await;
    // Warm every cache layer (in-process, and Redis in the production-like run).
    assert_eq!(available(&app, &s.store, "phone-case").await, 50);
    assert_eq!(available(&app, &s.store, "phone-case").await, 50);
    let (cart, token) = guest_cart(&app, &s.store).await;
    add(&app, &s.store, &cart, &token, &s.case, 2).await;
    let body = checkout_body(&cart, &s.pickup, "cash_on_delivery");
    json_of(
        checkout(&app, &s.store, Some(&token), None, "fresh", &body).await,
        201,
    )
    .await;
    assert_eq!(
        available(&app, &s.store, "phone-case").await,
        48,
        "the page shows the sale, not the cached stock"
    );
}

#[tokio::test]
async fn a_sale_leaves_list_pages_cached_unless_it_sells_a_product_out() {
    let app = spawn_app().await;
    let s = shop(&app, "warm-lists").await;
    let list = format!("/api/v1/stores/{}/products?sort=newest", s.store);
    let listed = |body: Value| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["title"].as_str().unwrap().to_owned(),
                    p["in_stock"].as_bool().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let first = listed(app.get(&list).await.json().await.unwrap());
    let sell = |variant: String, units: i64, key: &'static str| {
        let (app, s) = (&app, &s);
        async move {
            let (cart, token) = guest_cart(app, &s.store).await;
            add(app, &s.store, &cart, &token, &variant, units).await;
            let mut body = checkout_body(&cart, &s.pickup, "cash_on_delivery");
            body["email"] = json!(format!("{key}@example.com"));
            json_of(
                checkout(app, &s.store, Some(&token), None, key, &body).await,
                201,
            )
            .await;
        }
    };
    // One case of fifty: every product is still in stock, the cached page still holds.
    sell(s.case.clone(), 1, "case").await;
    let hits = crate::catalog::lookups(&app, "memory", "hit").await;
    assert_eq!(listed(app.get(&list).await.json().await.unwrap()), first);
    assert_eq!(
        crate::catalog::lookups(&app, "memory", "hit").await,
        hits + 1,
        "served from the cache"
    );
    assert_eq!(
        available(&app, &s.store, "phone-case").await,
        49,
        "the product page follows"
    );
    // The last three phones: the list now shows the phone sold out.
    sell(s.phone.clone(), 3, "phones").await;
    let after = listed(app.get(&list).await.json().await.unwrap());
    assert!(
        after.contains(&("Acme Phone".to_owned(), false)),
        "{after:?}"
    );
}

//! Card payments against the local Stripe fake: PaymentIntents at checkout on the store's
//! connected account, the signed webhook (verified on raw bytes, applied once), mismatches
//! and forged events that pay nothing, late payments (re-reserved or refunded), refunds in
//! either order, the reconciler, Stripe being down, and no Stripe at all.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    checkout::{add, checkout, checkout_body, guest_cart, json_of, shopper},
    helpers::{admin, assert_error, send, spawn_app},
    orders::phone_stock,
    stripe::{
        CardApp, CardShop, card_app, card_app_with, card_order, card_shop, staff_order, tools_dir,
        wait_order,
    },
};

const WEBHOOK: &str = "/api/v1/payments/stripe/webhook";

fn minor(value: &Value) -> i64 {
    value["minor"].as_i64().unwrap()
}

/// POSTs a raw webhook body with this Stripe-Signature header (or none).
async fn post_webhook(c: &CardApp, body: &str, signature: Option<&str>) -> reqwest::Response {
    let mut request = c
        .app
        .client
        .post(c.app.url(WEBHOOK))
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("Stripe-Signature", signature);
    }
    request.send().await.unwrap()
}

/// An event as Stripe would send it for a PaymentIntent object.
fn intent_event(id: &str, kind: &str, account: &str, intent: &Value) -> String {
    json!({
        "id": id, "object": "event", "type": kind, "account": account,
        "created": techverse::domain::now().as_second(), "livemode": false,
        "data": { "object": intent }
    })
    .to_string()
}

fn sign(body: &str, secret: &str) -> String {
    techverse::payments::signature::sign(
        body.as_bytes(),
        secret,
        techverse::domain::now().as_second(),
    )
}

fn transitions_to(order: &Value, to: &str) -> usize {
    order["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["field"] == "payment_status" && t["to"] == to)
        .count()
}

async fn event_kinds(c: &CardApp, s: &CardShop) -> Vec<String> {
    let log = s.shop.staff_get(&c.app, "/events?limit=100").await;
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// A staff action on one of the shop's orders (`cancel`, …), as the owner.
async fn staff_act(c: &CardApp, s: &CardShop, id: &str, action: &str) -> reqwest::Response {
    send(
        &c.app,
        Method::POST,
        &admin(&s.shop.store, &format!("/orders/{id}/{action}")),
        &s.shop.merchant.access,
        None,
    )
    .await
}

/// The order as its guest buyer sees it (with the order token).
async fn buyer_view(c: &CardApp, s: &CardShop, order: &crate::stripe::CardOrder) -> Value {
    json_of(
        shopper(
            &c.app,
            Method::GET,
            &format!("/api/v1/stores/{}/orders/{}", s.shop.store, order.id),
            None,
            None,
        )
        .header("X-Order-Token", &order.token)
        .send()
        .await
        .unwrap(),
        200,
    )
    .await
}

#[tokio::test]
async fn a_card_order_is_paid_by_the_signed_webhook_on_the_stores_connected_account() {
    let c = card_app().await;
    let s = card_shop(&c, "card-shop").await;
    let methods = json_of(
        c.app.get("/api/v1/stores/card-shop/payment-methods").await,
        200,
    )
    .await;
    assert_eq!(
        methods["methods"],
        json!(["cash_on_delivery", "bank_transfer", "card"])
    );
    let audit = s.shop.staff_get(&c.app, "/audit-log").await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "payments.stripe_onboarding")
    );
    let status = s.shop.staff_get(&c.app, "/payments/stripe").await;
    assert_eq!(
        (status["account_id"].as_str(), &status["charges_enabled"]),
        (Some(s.account.as_str()), &json!(true))
    );

    let order = card_order(&c, &s, 1, "card-1").await;
    let payment = &order.body["payment"];
    assert_eq!(payment["provider"], "stripe");
    assert_eq!(payment["account_id"], s.account.as_str());
    assert_eq!(payment["publishable_key"], "pk_test_techverse");
    assert_eq!(order.body["status"], "pending_payment");
    // Exactly the order total, on the connected account, with the platform's 2.5 % fee and
    // metadata naming this store and order.
    let intent = c.fake.intent(&s.account, &order.intent).await;
    let total = minor(&order.body["totals"]["total"]);
    assert_eq!(intent["amount"], total);
    assert_eq!(intent["currency"], "ngn");
    assert_eq!(intent["application_fee_amount"], total * 250 / 10_000);
    assert_eq!(intent["automatic_payment_methods"]["enabled"], true);
    assert_eq!(intent["metadata"]["order_id"], order.id.as_str());
    assert_eq!(
        intent["metadata"]["order_number"],
        order.body["number"].to_string()
    );

    // A replayed checkout gets the same PaymentIntent.
    let (cart, token) = guest_cart(&c.app, "card-shop").await;
    add(&c.app, "card-shop", &cart, &token, &s.shop.case, 1).await;
    let body = checkout_body(&cart, &s.shop.pickup, "card");
    let first = json_of(
        checkout(&c.app, "card-shop", Some(&token), None, "replay", &body).await,
        201,
    )
    .await;
    let again = json_of(
        checkout(&c.app, "card-shop", Some(&token), None, "replay", &body).await,
        201,
    )
    .await;
    assert_eq!(
        first["payment"]["client_secret"],
        again["payment"]["client_secret"]
    );

    // The buyer pays; Stripe's signed webhook marks the order paid.
    c.fake.on_intent(&order.intent, "succeed", json!({})).await;
    let staff = staff_order(&c, &s, &order.id).await;
    assert_eq!(staff["status"], "paid");
    assert_eq!(staff["payment_status"], "paid");
    assert_eq!(staff["payment"]["intent_id"], order.intent.as_str());
    assert_eq!(staff["payment"]["status"], "succeeded");
    assert!(staff["payment"].get("client_secret").is_none());
    assert_eq!(phone_stock(&c.app, &s.shop).await, (2, 0));
    // The shopper's view: paid, no secret any more.
    let mine = buyer_view(&c, &s, &order).await;
    assert_eq!(mine["payment_status"], "paid");
    assert!(mine["payment"].get("client_secret").is_none());
    assert!(mine["payment"].get("intent_id").is_none());
}

#[tokio::test]
async fn a_webhook_without_a_good_signature_is_400_and_changes_nothing() {
    let c = card_app().await;
    let s = card_shop(&c, "sig-shop").await;
    let order = card_order(&c, &s, 1, "sig-1").await;
    let mut intent = c.fake.intent(&s.account, &order.intent).await;
    intent["status"] = json!("succeeded");
    intent["amount_received"] = intent["amount"].clone();
    let body = intent_event("evt_sig_1", "payment_intent.succeeded", &s.account, &intent);
    let now = techverse::domain::now().as_second();
    let good = sign(&body, &c.secret);
    let bad_signature = format!("t={now},v1={}", "ab".repeat(32));
    let stale = techverse::payments::signature::sign(body.as_bytes(), &c.secret, now - 301);
    let unknown = sign(&body, "whsec_someone_else");
    let altered = body.replace("\"livemode\":false", "\"livemode\":true ");
    for (what, body, header) in [
        ("bad signature", body.as_str(), Some(bad_signature.as_str())),
        ("missing header", body.as_str(), None),
        ("stale timestamp", body.as_str(), Some(stale.as_str())),
        ("unknown secret", body.as_str(), Some(unknown.as_str())),
        ("altered body", altered.as_str(), Some(good.as_str())),
        ("garbage header", body.as_str(), Some("t=oops")),
    ] {
        let response = post_webhook(&c, body, header).await;
        assert_eq!(response.status(), 400, "{what}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "invalid_signature", "{what}");
    }
    let untouched = staff_order(&c, &s, &order.id).await;
    assert_eq!(untouched["payment_status"], "pending");
    // Nothing was stored either: the same event, signed properly (with the retired secret
    // too, which is still accepted), is applied now as new.
    let old = sign(&body, &c.old_secret);
    assert_eq!(post_webhook(&c, &body, Some(&old)).await.status(), 200);
    assert_eq!(
        staff_order(&c, &s, &order.id).await["payment_status"],
        "paid"
    );
    // A verified body that is not an event is a clear 400, not a 500.
    let junk = "{\"not\":\"an event\"}";
    let response = post_webhook(&c, junk, Some(&sign(junk, &c.secret))).await;
    assert_error(response, 400, "invalid_json").await;
    // Unknown event types are acknowledged and ignored.
    let other = json!({ "id": "evt_other", "type": "customer.created", "data": { "object": {} } })
        .to_string();
    assert_eq!(
        post_webhook(&c, &other, Some(&sign(&other, &c.secret)))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn signatures_agree_with_the_stripe_package_both_ways() {
    // Ours, checked by stripe-python.
    let body = r#"{"id":"evt_cross","type":"payment_intent.succeeded"}"#;
    let secret = "whsec_crosscheck";
    let header = sign(body, secret);
    let verify = |header: &str, body: &str| {
        let mut child = std::process::Command::new(
            std::env::var("TECHVERSE_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned()),
        )
        .arg(tools_dir().join("verify_signature.py"))
        .args([secret, header])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        child.wait().unwrap().success()
    };
    assert!(verify(&header, body), "stripe-python accepts our signature");
    assert!(!verify(&header, &body.replace("cross", "crass")));
    // Theirs, checked by us: every event the fake sends is signed by stripe-python's
    // generate_signature_header; one of them, fetched from the fake's log and re-sent, pays.
    let c = card_app().await;
    let s = card_shop(&c, "cross-shop").await;
    c.fake
        .control("config", json!({ "drop_webhooks": true }))
        .await;
    let order = card_order(&c, &s, 1, "cross-1").await;
    c.fake.on_intent(&order.intent, "succeed", json!({})).await;
    assert_eq!(
        staff_order(&c, &s, &order.id).await["payment_status"],
        "pending"
    );
    let event = c.fake.events_of("payment_intent.succeeded").await.remove(0);
    let delivered = c
        .fake
        .control(
            &format!("events/{}/deliver", event["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(delivered["statuses"], json!([200]));
    assert_eq!(
        staff_order(&c, &s, &order.id).await["payment_status"],
        "paid"
    );
}

#[tokio::test]
async fn a_redelivered_event_has_one_effect() {
    let c = card_app().await;
    let s = card_shop(&c, "dup-shop").await;
    let order = card_order(&c, &s, 2, "dup-1").await;
    c.fake.on_intent(&order.intent, "succeed", json!({})).await;
    let event = c.fake.events_of("payment_intent.succeeded").await.remove(0);
    let id = event["id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let delivered = c
            .fake
            .control(&format!("events/{id}/deliver"), json!({}))
            .await;
        assert_eq!(delivered["statuses"], json!([200]));
    }
    let staff = staff_order(&c, &s, &order.id).await;
    assert_eq!(transitions_to(&staff, "paid"), 1);
    assert_eq!(phone_stock(&c.app, &s.shop).await, (1, 0), "committed once");
    let paid_events = event_kinds(&c, &s)
        .await
        .into_iter()
        .filter(|k| k == "order.paid")
        .count();
    assert_eq!(paid_events, 1);
}

#[tokio::test]
async fn a_payment_of_another_amount_or_currency_never_pays_and_flags_the_order() {
    let c = card_app().await;
    let s = card_shop(&c, "odd-shop").await;
    let short = card_order(&c, &s, 1, "odd-1").await;
    let total = minor(&short.body["totals"]["total"]);
    c.fake
        .on_intent(
            &short.intent,
            "succeed",
            json!({ "amount_received": total - 1 }),
        )
        .await;
    let other = card_order(&c, &s, 1, "odd-2").await;
    c.fake
        .on_intent(&other.intent, "succeed", json!({ "currency": "usd" }))
        .await;
    for id in [&short.id, &other.id] {
        let order = staff_order(&c, &s, id).await;
        assert_eq!(order["status"], "pending_payment", "{order}");
        assert_eq!(order["payment_status"], "pending");
        assert_eq!(order["flags"][0]["kind"], "payment_mismatch");
    }
    assert!(
        event_kinds(&c, &s)
            .await
            .contains(&"order.payment_mismatch".to_owned())
    );
    assert_eq!(
        phone_stock(&c.app, &s.shop).await,
        (3, 2),
        "still only held"
    );
}

#[tokio::test]
async fn an_event_for_another_stores_order_pays_nothing_in_either_store() {
    let c = card_app().await;
    let a = card_shop(&c, "store-a").await;
    let b = card_shop(&c, "store-b").await;
    let order_a = card_order(&c, &a, 1, "a-1").await;
    let order_b = card_order(&c, &b, 1, "b-1").await;
    // Store A's merchant edits their own PaymentIntent to name store B's order, and pays it.
    let intent_b = c.fake.intent(&b.account, &order_b.intent).await;
    c.fake
        .on_intent(&order_a.intent, "metadata", intent_b["metadata"].clone())
        .await;
    c.fake
        .on_intent(&order_a.intent, "succeed", json!({}))
        .await;
    // And a validly signed event from store A's account claims store B's PaymentIntent.
    let mut forged = intent_b.clone();
    forged["status"] = json!("succeeded");
    forged["amount_received"] = forged["amount"].clone();
    let body = intent_event(
        "evt_forged",
        "payment_intent.succeeded",
        &a.account,
        &forged,
    );
    assert_eq!(
        post_webhook(&c, &body, Some(&sign(&body, &c.secret)))
            .await
            .status(),
        200
    );
    let seen_a = staff_order(&c, &a, &order_a.id).await;
    let seen_b = staff_order(&c, &b, &order_b.id).await;
    assert_eq!(seen_a["payment_status"], "pending");
    assert_eq!(seen_b["payment_status"], "pending");
    assert_eq!(seen_a["flags"][0]["kind"], "payment_mismatch");
    assert_eq!(seen_b["flags"][0]["kind"], "payment_mismatch");
    assert_eq!(phone_stock(&c.app, &a.shop).await, (3, 1));
    assert_eq!(phone_stock(&c.app, &b.shop).await, (3, 1));
}

/// Succeeds the PaymentIntent at Stripe while its webhook is held, then expires the order.
async fn pay_while_the_order_expires(c: &CardApp, intent: &str) {
    c.fake
        .control("config", json!({ "hold_webhooks": true }))
        .await;
    c.fake.on_intent(intent, "succeed", json!({})).await;
}

fn after_deadline() -> jiff::Timestamp {
    techverse::domain::now() + jiff::SignedDuration::from_mins(16)
}

#[tokio::test]
async fn a_late_payment_takes_the_stock_again_when_it_is_still_there() {
    let c = card_app().await;
    let s = card_shop(&c, "late-shop").await;
    let order = card_order(&c, &s, 2, "late-1").await;
    pay_while_the_order_expires(&c, &order.intent).await;
    let swept = techverse::app::orders::sweep(&c.app.ctx, after_deadline())
        .await
        .unwrap();
    assert_eq!(swept.expired_orders, 1);
    // The sweeper tries to cancel the PaymentIntent, finds it succeeded, and pays the order
    // late; the held webhook, delivered after, changes nothing.
    let paid = wait_order(&c, &s, &order.id, |o| o["status"] == "paid").await;
    c.fake.control("flush", json!({})).await;
    assert_eq!(paid["payment_status"], "paid");
    let reason = paid["history"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|t| t["field"] == "status")
        .unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("after the payment deadline"), "{reason}");
    assert_eq!(phone_stock(&c.app, &s.shop).await, (1, 0));
    assert_eq!(
        transitions_to(&staff_order(&c, &s, &order.id).await, "paid"),
        1
    );
}

#[tokio::test]
async fn a_late_payment_whose_stock_was_sold_is_refunded_in_full() {
    let c = card_app().await;
    let s = card_shop(&c, "gone-shop").await;
    let order = card_order(&c, &s, 3, "gone-1").await;
    // Stripe is unreachable when the sweeper expires the order, so it cannot cancel the
    // PaymentIntent; meanwhile someone else buys every phone.
    c.fake.control("config", json!({ "down": true })).await;
    techverse::app::orders::sweep(&c.app.ctx, after_deadline())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    c.fake.control("config", json!({ "down": false })).await;
    let (cart, token) = guest_cart(&c.app, "gone-shop").await;
    add(&c.app, "gone-shop", &cart, &token, &s.shop.phone, 3).await;
    json_of(
        checkout(
            &c.app,
            "gone-shop",
            Some(&token),
            None,
            "other-buyer",
            &checkout_body(&cart, &s.shop.pickup, "cash_on_delivery"),
        )
        .await,
        201,
    )
    .await;
    // Now the card payment succeeds.
    c.fake.on_intent(&order.intent, "succeed", json!({})).await;
    let refunded = wait_order(&c, &s, &order.id, |o| {
        o["payment_status"] == "refunded" && o["payment"]["status"] == "refunded"
    })
    .await;
    assert_eq!(refunded["status"], "expired");
    assert_eq!(
        minor(&refunded["refunded"]),
        minor(&refunded["totals"]["total"])
    );
    assert_eq!(refunded["payment"]["status"], "refunded");
    let refunds = c.fake.events_of("refund.created").await;
    assert_eq!(refunds.len(), 1, "one refund at Stripe");
    assert_eq!(
        refunds[0]["data"]["object"]["amount"],
        minor(&refunded["totals"]["total"])
    );
    assert!(
        event_kinds(&c, &s)
            .await
            .contains(&"order.refunded".to_owned())
    );
    // The other buyer's reservation is untouched.
    assert_eq!(phone_stock(&c.app, &s.shop).await, (3, 3));
    // The shopper's page says so.
    let mine = buyer_view(&c, &s, &order).await;
    assert_eq!(
        (mine["status"].as_str(), mine["payment_status"].as_str()),
        (Some("expired"), Some("refunded"))
    );
}

#[tokio::test]
async fn two_sweepers_racing_the_webhook_make_one_outcome() {
    let c = card_app().await;
    let s = card_shop(&c, "race-shop").await;
    let order = card_order(&c, &s, 2, "race-1").await;
    pay_while_the_order_expires(&c, &order.intent).await;
    let later = after_deadline();
    let (one, two, flushed) = tokio::join!(
        techverse::app::orders::sweep(&c.app.ctx, later),
        techverse::app::orders::sweep(&c.app.ctx, later),
        c.fake.control("flush", json!({})),
    );
    assert!(one.unwrap().expired_orders + two.unwrap().expired_orders <= 1);
    assert_eq!(flushed["statuses"][0], 200);
    let paid = wait_order(&c, &s, &order.id, |o| o["status"] == "paid").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let settled = staff_order(&c, &s, &order.id).await;
    assert_eq!(settled["status"], paid["status"]);
    assert_eq!(settled["payment_status"], "paid");
    assert_eq!(transitions_to(&settled, "paid"), 1);
    assert_eq!(minor(&settled["refunded"]), 0);
    assert!(c.fake.events_of("refund.created").await.is_empty());
    assert_eq!(phone_stock(&c.app, &s.shop).await, (1, 0));
}

async fn refund(c: &CardApp, s: &CardShop, id: &str, key: &str, amount: i64) -> reqwest::Response {
    c.app
        .client
        .post(
            c.app
                .url(&admin(&s.shop.store, &format!("/orders/{id}/refunds"))),
        )
        .bearer_auth(&s.shop.merchant.access)
        .header("Idempotency-Key", key)
        .json(&json!({ "amount": amount, "reason": "customer asked" }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn refunds_apply_once_whether_stripes_answer_or_its_webhook_comes_first() {
    let c = card_app().await;
    let s = card_shop(&c, "refund-shop").await;
    let order = card_order(&c, &s, 1, "refund-1").await;
    c.fake.on_intent(&order.intent, "succeed", json!({})).await;
    let total = minor(&order.body["totals"]["total"]);
    let part = total / 4;

    // Partial, the API answer first (the webhook is held, then delivered).
    c.fake
        .control("config", json!({ "hold_webhooks": true }))
        .await;
    let first = json_of(refund(&c, &s, &order.id, "r-1", part).await, 200).await;
    assert_eq!(minor(&first["refunded"]), part);
    assert_eq!(first["payment_status"], "partially_refunded");
    // The same request again is the same refund.
    let again = json_of(refund(&c, &s, &order.id, "r-1", part).await, 200).await;
    assert_eq!(minor(&again["refunded"]), part);
    c.fake
        .control("config", json!({ "hold_webhooks": false }))
        .await;
    c.fake.control("flush", json!({})).await;
    assert_eq!(
        minor(&staff_order(&c, &s, &order.id).await["refunded"]),
        part
    );
    assert_eq!(c.fake.events_of("refund.created").await.len(), 1);

    // More than is left is refused before Stripe hears of it.
    let too_much = refund(&c, &s, &order.id, "r-2", total).await;
    assert_error(too_much, 422, "validation_failed").await;

    // The rest, the webhook first (the fake delivers it before it answers).
    let rest = json_of(refund(&c, &s, &order.id, "r-3", total - part).await, 200).await;
    assert_eq!(minor(&rest["refunded"]), total);
    assert_eq!(rest["payment_status"], "refunded");
    let refunds = rest["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 2);
    let ids: std::collections::BTreeSet<_> = refunds
        .iter()
        .map(|r| r["provider_refund_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "each Stripe refund once: {refunds:?}");
    assert_eq!(c.fake.events_of("refund.created").await.len(), 2);
    // Should the bank refuse a refund already booked, the order is flagged for staff.
    let failed = ids.iter().next().unwrap().to_string();
    c.fake
        .control(&format!("refunds/{failed}/fail"), json!({}))
        .await;
    let flagged = staff_order(&c, &s, &order.id).await;
    assert_eq!(flagged["flags"][0]["kind"], "payment_mismatch");
    assert!(
        flagged["flags"][0]["detail"]
            .as_str()
            .unwrap()
            .contains(&failed)
    );
    // A paid card order is not cancelled behind Stripe's back; fully refunded it may be.
    assert_eq!(
        json_of(staff_act(&c, &s, &order.id, "cancel").await, 200).await["status"],
        "cancelled"
    );
}

#[tokio::test]
async fn the_reconciler_applies_a_payment_whose_webhook_was_lost() {
    let c = card_app().await;
    let s = card_shop(&c, "recon-shop").await;
    c.fake
        .control("config", json!({ "drop_webhooks": true }))
        .await;
    let order = card_order(&c, &s, 1, "recon-1").await;
    c.fake.on_intent(&order.intent, "succeed", json!({})).await;
    assert_eq!(
        staff_order(&c, &s, &order.id).await["payment_status"],
        "pending"
    );
    let now = techverse::domain::now();
    // Too recent: left to its webhook.
    let early = techverse::app::payments::reconcile(&c.app.ctx, None, now)
        .await
        .unwrap();
    assert_eq!(early.checked, 0);
    let later = now + jiff::SignedDuration::from_mins(6);
    let (one, two) = tokio::join!(
        techverse::app::payments::reconcile(&c.app.ctx, None, later),
        techverse::app::payments::reconcile(&c.app.ctx, None, later),
    );
    assert_eq!(
        one.unwrap().checked + two.unwrap().checked,
        1,
        "leased once"
    );
    let paid = staff_order(&c, &s, &order.id).await;
    assert_eq!(paid["payment_status"], "paid");
    assert_eq!(paid["payment"]["status"], "succeeded");
    let after = techverse::app::payments::reconcile(&c.app.ctx, None, later)
        .await
        .unwrap();
    assert_eq!(after.checked, 0, "settled attempts are not checked again");

    // The operator's command does the same, beside the running server.
    let second = card_order(&c, &s, 1, "recon-2").await;
    c.fake.on_intent(&second.intent, "succeed", json!({})).await;
    let printed = reconcile_cli(&c, "recon-shop");
    assert!(printed.contains("checked 1 card payments"), "{printed}");
    assert_eq!(
        staff_order(&c, &s, &second.id).await["payment_status"],
        "paid"
    );
}

/// `techverse payments reconcile --store <slug>` on the test app's storage, every payment old
/// enough.
fn reconcile_cli(c: &CardApp, store: &str) -> String {
    use secrecy::ExposeSecret;
    let settings = &c.app.ctx.settings;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_techverse"));
    for (key, _) in std::env::vars() {
        if key.starts_with("TECHVERSE_") {
            command.env_remove(key);
        }
    }
    command
        .env("TECHVERSE_DATA_DIR", &settings.data_dir)
        .env(
            "TECHVERSE_STRIPE_SECRET_KEY",
            settings.stripe_secret_key.as_ref().unwrap().expose_secret(),
        )
        .env("TECHVERSE_STRIPE_API_BASE", &settings.stripe_api_base)
        .env("TECHVERSE_STRIPE_RECONCILE_MIN_AGE_SECS", "0")
        .env("TECHVERSE_LOG_LEVEL", "warn");
    if let Some(uri) = &settings.mongodb_uri {
        command
            .env("TECHVERSE_MONGODB_URI", uri.expose_secret())
            .env("TECHVERSE_MONGODB_DATABASE", &settings.mongodb_database);
    }
    let output = command
        .args(["payments", "reconcile", "--store", store])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn an_unpaid_card_order_that_ends_cancels_its_payment_intent() {
    let c = card_app().await;
    let s = card_shop(&c, "cancel-shop").await;
    let expiring = card_order(&c, &s, 1, "cancel-1").await;
    let cancelled = card_order(&c, &s, 1, "cancel-2").await;
    techverse::app::orders::sweep(&c.app.ctx, after_deadline())
        .await
        .unwrap();
    json_of(staff_act(&c, &s, &cancelled.id, "cancel").await, 409).await;
    // Both expired by the sweep (same deadline); each PaymentIntent is cancelled at Stripe.
    for order in [&expiring, &cancelled] {
        let mut status = Value::Null;
        for _ in 0..100 {
            status = c.fake.intent(&s.account, &order.intent).await["status"].clone();
            if status == "canceled" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(status, "canceled");
        let seen = wait_order(&c, &s, &order.id, |o| o["payment"]["status"] == "canceled").await;
        assert_eq!(seen["status"], "expired");
    }
    // A pending card order cancelled by staff cancels its PaymentIntent too.
    let open = card_order(&c, &s, 1, "cancel-3").await;
    let cancel = json_of(staff_act(&c, &s, &open.id, "cancel").await, 200).await;
    assert_eq!(cancel["status"], "cancelled");
    wait_order(&c, &s, &open.id, |o| o["payment"]["status"] == "canceled").await;
    assert_eq!(phone_stock(&c.app, &s.shop).await, (3, 0));
}

#[tokio::test]
async fn when_stripe_is_down_the_order_waits_and_the_buyer_retries_payment() {
    let c = card_app().await;
    let s = card_shop(&c, "down-shop").await;
    c.fake.control("config", json!({ "down": true })).await;
    let (cart, token) = guest_cart(&c.app, "down-shop").await;
    add(&c.app, "down-shop", &cart, &token, &s.shop.phone, 1).await;
    let placed = json_of(
        checkout(
            &c.app,
            "down-shop",
            Some(&token),
            None,
            "down-1",
            &checkout_body(&cart, &s.shop.pickup, "card"),
        )
        .await,
        201,
    )
    .await;
    assert!(placed.get("payment").is_none());
    assert_eq!(
        phone_stock(&c.app, &s.shop).await,
        (3, 1),
        "held until the deadline"
    );
    let id = placed["id"].as_str().unwrap();
    let order_token = placed["token"].as_str().unwrap();
    let retry = || {
        c.app
            .client
            .post(
                c.app
                    .url(&format!("/api/v1/stores/down-shop/orders/{id}/payment")),
            )
            .header("X-Order-Token", order_token)
            .send()
    };
    let refused = retry().await.unwrap();
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    assert_error(refused, 503, "payment_provider_unavailable").await;
    c.fake.control("config", json!({ "down": false })).await;
    let started = json_of(retry().await.unwrap(), 200).await;
    let secret = started["payment"]["client_secret"].as_str().unwrap();
    let same = json_of(retry().await.unwrap(), 200).await;
    assert_eq!(same["payment"]["client_secret"], secret);
    // Without the order's token it is someone else's order.
    let stranger = c
        .app
        .client
        .post(
            c.app
                .url(&format!("/api/v1/stores/down-shop/orders/{id}/payment")),
        )
        .send()
        .await
        .unwrap();
    assert_error(stranger, 404, "not_found").await;
}

#[tokio::test]
async fn a_declined_card_is_noted_and_a_dispute_flags_the_order() {
    let c = card_app().await;
    let s = card_shop(&c, "decline-shop").await;
    let order = card_order(&c, &s, 1, "decline-1").await;
    c.fake
        .on_intent(
            &order.intent,
            "fail",
            json!({ "message": "Your card has insufficient funds." }),
        )
        .await;
    let failed = staff_order(&c, &s, &order.id).await;
    assert_eq!(failed["status"], "pending_payment");
    assert_eq!(
        failed["payment"]["last_error"],
        "Your card has insufficient funds."
    );
    assert!(
        failed["notes"][0]["text"]
            .as_str()
            .unwrap()
            .contains("insufficient funds")
    );
    c.fake.on_intent(&order.intent, "succeed", json!({})).await;
    c.fake.on_intent(&order.intent, "dispute", json!({})).await;
    let disputed = staff_order(&c, &s, &order.id).await;
    assert_eq!(disputed["payment_status"], "paid");
    assert_eq!(disputed["flags"][0]["kind"], "disputed");
    assert!(
        event_kinds(&c, &s)
            .await
            .contains(&"order.disputed".to_owned())
    );
}

#[tokio::test]
async fn without_a_stripe_key_card_is_not_offered_and_checkout_refuses_it() {
    let app = spawn_app().await;
    let s = crate::checkout::shop(&app, "no-stripe").await;
    let methods = json_of(
        app.get("/api/v1/stores/no-stripe/payment-methods").await,
        200,
    )
    .await;
    assert_eq!(
        methods["methods"],
        json!(["cash_on_delivery", "bank_transfer"])
    );
    let (cart, token) = guest_cart(&app, "no-stripe").await;
    add(&app, "no-stripe", &cart, &token, &s.phone, 1).await;
    let refused = checkout(
        &app,
        "no-stripe",
        Some(&token),
        None,
        "no-card",
        &checkout_body(&cart, &s.pickup, "card"),
    )
    .await;
    assert_error(refused, 422, "payment_method_unavailable").await;
    let onboarding = send(
        &app,
        Method::POST,
        &admin("no-stripe", "/payments/stripe/onboarding"),
        &s.merchant.access,
        None,
    )
    .await;
    assert_error(onboarding, 409, "payment_provider_not_configured").await;
    // Card is never one of a store's own settings.
    let settings = send(
        &app,
        Method::PUT,
        &admin("no-stripe", "/checkout-settings"),
        &s.merchant.access,
        Some(json!({ "payment_methods": ["card"] })),
    )
    .await;
    let body = assert_error(settings, 422, "validation_failed").await;
    assert_eq!(body["error"]["details"]["fields"][0]["code"], "not_offline");
    // The webhook with no secrets configured verifies nothing.
    let webhook = app
        .client
        .post(app.url(WEBHOOK))
        .header("Stripe-Signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(webhook, 400, "invalid_signature").await;
    // Stores whose Stripe account cannot take charges yet do not offer card either.
    let c = card_app_with(&[]).await;
    crate::checkout::shop(&c.app, "not-onboarded").await;
    let methods = json_of(
        c.app
            .get("/api/v1/stores/not-onboarded/payment-methods")
            .await,
        200,
    )
    .await;
    assert_eq!(
        methods["methods"],
        json!(["cash_on_delivery", "bank_transfer"])
    );
}

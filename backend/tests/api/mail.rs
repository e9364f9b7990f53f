//! Mail through a real SMTP server (aiosmtpd): an outage delays mail and loses none, and a
//! retried message arrives exactly once.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{PASSWORD, Service, TestApp, free_port, spawn_app_with, token_in};

async fn outbox_pending(app: &TestApp) -> u64 {
    let metrics = app.get("/metrics").await.text().await.unwrap();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("techverse_mail_outbox_pending "))
        .and_then(|value| value.trim().parse().ok())
        .expect("the outbox gauge")
}

#[tokio::test]
async fn mail_queued_while_smtp_is_down_arrives_exactly_once_when_it_returns() {
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(&[("TECHVERSE_SMTP_URL", url.as_str())]).await;
    app.create_store("smtp-shop").await;
    app.register_customer("smtp-shop", "ada@example.com", PASSWORD)
        .await;
    let requested = app
        .post_json(
            "/api/v1/stores/smtp-shop/auth/password-reset/request",
            &json!({ "email": "ada@example.com" }),
        )
        .await;
    assert_eq!(
        requested.status(),
        202,
        "the request succeeds while SMTP is down"
    );

    // Welcome, verification and reset wait in the outbox while nothing listens.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(outbox_pending(&app).await, 3);
    assert!(app.mails().is_empty(), "the SMTP adapter writes no files");

    let smtp = Service::smtp_on(port).await;
    for _ in 0..600 {
        if smtp.delivered().len() >= 3 && outbox_pending(&app).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(outbox_pending(&app).await, 0);
    // Give a duplicate every chance to show up before counting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let delivered = smtp.delivered();
    assert_eq!(delivered.len(), 3, "{delivered:#?}");
    let resets: Vec<&String> = delivered
        .iter()
        .filter(|m| {
            m.replace("=\r\n", "")
                .replace("=\n", "")
                .contains("/s/smtp-shop/reset-password")
        })
        .collect();
    assert_eq!(resets.len(), 1, "exactly one reset mail");
    let reset = resets[0];
    assert!(reset.contains("To: ada@example.com"));
    assert!(reset.contains("Subject: Reset your Store smtp-shop password"));
    assert!(reset.contains("multipart/alternative"));
    let normalised = reset
        .replace("\r\n", "\n")
        .replace("=\n", "")
        .replace("\n", "\r\n");
    let token = token_in(&normalised, "/s/smtp-shop/reset-password").expect("a reset token");
    let reset = app
        .post_json(
            "/api/v1/stores/smtp-shop/auth/password-reset",
            &json!({ "token": token, "password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(reset.status(), 200, "the delivered link works");
}

fn gauge(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in the metrics"))
}

#[tokio::test]
async fn mail_undeliverable_for_three_days_is_given_up_and_counted_not_retried_forever() {
    let url = format!("smtp://127.0.0.1:{}", free_port());
    let app = spawn_app_with(&[("TECHVERSE_SMTP_URL", url.as_str())]).await;
    // A message queued four days ago that has failed four times already.
    let long_ago = techverse::domain::now() - jiff::SignedDuration::from_hours(96);
    let mail = techverse::domain::mail::OutgoingMail {
        id: "old-mail".into(),
        to: "nobody@example.com".into(),
        subject: "Your order".into(),
        text: "text".into(),
        html: "<p>html</p>".into(),
        attempts: 4,
        next_attempt_at: techverse::domain::now(),
        lease_until: long_ago,
        last_error: Some("connection refused".into()),
        created_at: long_ago,
        dead_at: None,
    };
    app.ctx.storage.outbox().enqueue(&mail).await.unwrap();
    for _ in 0..100 {
        // The two gauges are read one after the other: wait for both to settle.
        let metrics = app.get("/metrics").await.text().await.unwrap();
        let dead = gauge(&metrics, "techverse_mail_outbox_dead");
        let pending = gauge(&metrics, "techverse_mail_outbox_pending");
        if (dead, pending) == (1, 0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the undeliverable message was not given up");
}

/// Waits (up to 20 s) until the sink holds a message to `to` with `subject`; returns all such.
async fn wait_delivered(smtp: &Service, to: &str, subject: &str) -> Vec<String> {
    for _ in 0..200 {
        let found: Vec<String> = smtp
            .delivered()
            .into_iter()
            .filter(|m| {
                m.contains(&format!("To: {to}")) && m.contains(&format!("Subject: {subject}"))
            })
            .collect();
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no mail to {to} with subject {subject}");
}

#[tokio::test]
async fn an_order_mails_the_shopper_and_the_owner_and_shipping_mails_the_tracking_once_each() {
    use techverse::app::dispatch::Consumer as _;

    let port = free_port();
    let smtp = Service::smtp_on(port).await;
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(&[("TECHVERSE_SMTP_URL", url.as_str())]).await;
    let s = crate::checkout::shop(&app, "mail-orders").await;
    let owner = s.merchant.email.clone();
    let (id, _) = crate::live::order_case(&app, &s, "mail-1").await;
    let confirmation = wait_delivered(&smtp, "ada@example.com", "Order #1001 confirmed").await;
    let text = confirmation[0].replace("=\r\n", "").replace("=\n", "");
    assert!(text.contains("Phone Case"), "lines listed: {text}");
    assert!(text.contains("Cash on delivery"));
    wait_delivered(&smtp, &owner, "New order #1001").await;

    let access = s.merchant.access.clone();
    let paid = crate::orders::mark_paid(&app, &s, &id).await;
    let line = paid["lines"][0]["id"].as_str().unwrap().to_owned();
    let fulfil = json!({ "lines": [{ "line_id": line, "quantity": 1 }], "carrier": "GIG Logistics", "tracking_number": "GIG-4242" });
    crate::checkout::json_of(
        crate::orders::act(&app, &s, &access, &id, "fulfilments", Some(fulfil)).await,
        200,
    )
    .await;
    crate::checkout::json_of(
        crate::orders::act(&app, &s, &access, &id, "ship", None).await,
        200,
    )
    .await;
    let shipped = wait_delivered(&smtp, "ada@example.com", "Order #1001 is on its way").await;
    assert!(shipped[0].contains("GIG-4242") && shipped[0].contains("GIG Logistics"));

    // The consumer handed the same event again (as after a crash) queues nothing new.
    let store = app.store("mail-orders").await;
    let log = app
        .ctx
        .storage
        .catalog()
        .events(store.id, 0, 100)
        .await
        .unwrap();
    let created = log.iter().find(|e| e.kind == "order.created").unwrap();
    let consumer = techverse::app::notify::MailConsumer::new(app.ctx.clone());
    consumer.handle(created).await.unwrap();
    consumer.handle(created).await.unwrap();
    assert_eq!(outbox_pending(&app).await, 0, "nothing queued again");
    let count = |to: &str, subject: &str| {
        smtp.delivered()
            .iter()
            .filter(|m| {
                m.contains(&format!("To: {to}")) && m.contains(&format!("Subject: {subject}"))
            })
            .count()
    };
    assert_eq!(count("ada@example.com", "Order #1001 confirmed"), 1);
    assert_eq!(count(&owner, "New order #1001"), 1);
    assert_eq!(count("ada@example.com", "Order #1001 is on its way"), 1);
}

/// The SMTP outage of the resilience suite: orders placed while the mail server is down are
/// placed (201), their mail waits in the outbox, and each message arrives once when it returns.
#[tokio::test]
async fn orders_placed_while_smtp_is_down_succeed_and_their_mail_arrives_once_when_it_returns() {
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(&[("TECHVERSE_SMTP_URL", url.as_str())]).await;
    let s = crate::checkout::shop(&app, "smtp-down").await;
    let owner = s.merchant.email.clone();
    let (first, _) = crate::live::order_case(&app, &s, "down-1").await;
    let (second, _) = crate::live::order_case(&app, &s, "down-2").await;
    assert_ne!(first, second, "both orders placed while nothing listens");
    // Each order's confirmation and the owner's notice wait, besides the owner's own mail.
    let mut pending = 0;
    for _ in 0..100 {
        pending = outbox_pending(&app).await;
        if pending >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(pending >= 4, "order mail queued: {pending}");

    let smtp = Service::smtp_on(port).await;
    for number in [1001, 1002] {
        wait_delivered(
            &smtp,
            "ada@example.com",
            &format!("Order #{number} confirmed"),
        )
        .await;
        wait_delivered(&smtp, &owner, &format!("New order #{number}")).await;
    }
    for _ in 0..200 {
        if outbox_pending(&app).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(outbox_pending(&app).await, 0, "the outbox drained");
    // Give a duplicate every chance to show up before counting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let delivered = smtp.delivered();
    for number in [1001, 1002] {
        for (to, subject) in [
            ("ada@example.com", format!("Order #{number} confirmed")),
            (owner.as_str(), format!("New order #{number}")),
        ] {
            let copies = delivered
                .iter()
                .filter(|m| {
                    m.contains(&format!("To: {to}")) && m.contains(&format!("Subject: {subject}"))
                })
                .count();
            assert_eq!(copies, 1, "{subject} to {to} exactly once");
        }
    }
}

#[tokio::test]
async fn staff_turn_new_order_mail_off_per_store_and_get_it_no_more() {
    let app = spawn_app_with(&crate::live::MANY_ORDERS).await;
    let s = crate::checkout::shop(&app, "quiet-owner").await;
    let me = crate::helpers::send(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/me",
        &s.merchant.access,
        Some(json!({ "notifications": [{ "store": "quiet-owner", "new_order": false }] })),
    )
    .await;
    let me = crate::checkout::json_of(me, 200).await;
    assert_eq!(
        me["stores"][0]["notifications"],
        json!({ "new_order": false, "low_stock": true })
    );
    let unknown = crate::helpers::send(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/me",
        &s.merchant.access,
        Some(json!({ "notifications": [{ "store": "not-mine", "low_stock": false }] })),
    )
    .await;
    let error = crate::helpers::assert_error(unknown, 422, "validation_failed").await;
    assert_eq!(
        error["error"]["details"]["fields"][0]["field"],
        "notifications[0].store"
    );
    crate::live::order_case(&app, &s, "quiet-1").await;
    app.wait_mail("ada@example.com", "Order #1001 confirmed")
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !app.mails().iter().any(|m| m.contains("New order #1001")),
        "the owner turned it off"
    );
}

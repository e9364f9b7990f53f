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

//! Merchant webhooks against a receiver this test runs: Standard Webhooks signatures checked by
//! an independent implementation (the `standardwebhooks` PyPI package), retries with growing
//! delays and the delivery log, manual replay with the same `webhook-id`, secret rotation, and
//! the SSRF guard at registration and at connection time.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{HttpRequest, HttpResponse, web};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    checkout::{json_of, shop},
    helpers::{TestApp, admin, assert_error, send, spawn_app_with},
    live::{MANY_ORDERS, order_case},
};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: Value,
    body: String,
    at: std::time::Instant,
}

/// An HTTP receiver on a free port answering the statuses of `script` in turn (then 200).
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    _server: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start(script: &[u16]) -> Self {
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.to_vec()));
        let (sink, plan) = (Arc::clone(&got), Arc::clone(&script));
        let server = actix_web::HttpServer::new(move || {
            let (sink, plan) = (Arc::clone(&sink), Arc::clone(&plan));
            actix_web::App::new().default_service(web::to(
                move |req: HttpRequest, body: web::Bytes| {
                    let (sink, plan) = (Arc::clone(&sink), Arc::clone(&plan));
                    async move {
                        let headers: serde_json::Map<String, Value> = [
                            "webhook-id",
                            "webhook-timestamp",
                            "webhook-signature",
                            "content-type",
                        ]
                        .iter()
                        .filter_map(|name| {
                            let value = req.headers().get(*name)?.to_str().ok()?;
                            Some(((*name).to_owned(), Value::String(value.to_owned())))
                        })
                        .collect();
                        sink.lock().unwrap().push(Received {
                            headers: Value::Object(headers),
                            body: String::from_utf8_lossy(&body).into_owned(),
                            at: std::time::Instant::now(),
                        });
                        let status = {
                            let mut plan = plan.lock().unwrap();
                            if plan.is_empty() { 200 } else { plan.remove(0) }
                        };
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                            .body(format!("answered {status}"))
                    }
                },
            ))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            port,
            got,
            _server: handle,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..300 {
            let got = self.got.lock().unwrap().clone();
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the receiver got {} of {count}",
            self.got.lock().unwrap().len()
        );
    }
}

/// Whether the standardwebhooks package accepts this request with `secret`.
fn verifies(secret: &str, received: &Received) -> bool {
    use std::io::Write as _;
    let python = std::env::var("TECHVERSE_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tools/webhooks/verify_signature.py"
    );
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python with standardwebhooks (scripts/test installs it)");
    let request = json!({ "secret": secret, "headers": received.headers, "body": received.body });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("verified"), "{said}");
    output.status.success()
}

const LOCAL: [(&str, &str); 5] = [
    ("TECHVERSE_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true"),
    ("TECHVERSE_WEBHOOKS_ALLOW_INSECURE", "true"),
    ("TECHVERSE_WEBHOOKS_RETRY_SCHEDULE", "300ms,900ms,2s"),
    MANY_ORDERS[0],
    MANY_ORDERS[1],
];

async fn register(app: &TestApp, store: &str, token: &str, body: Value) -> reqwest::Response {
    send(
        app,
        Method::POST,
        &admin(store, "/webhooks"),
        token,
        Some(body),
    )
    .await
}

#[tokio::test]
async fn deliveries_verify_independently_retry_with_growing_delays_and_replay_with_the_same_id() {
    let app = spawn_app_with(&LOCAL).await;
    let s = shop(&app, "hooks").await;
    let owner = s.merchant.access.clone();
    let receiver = Receiver::start(&[500, 500]).await;
    let created = json_of(
        register(
            &app,
            &s.store,
            &owner,
            json!({ "url": receiver.url(), "events": ["order.created"], "description": "ERP" }),
        )
        .await,
        201,
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() >= 6 + 32,
        "{secret}"
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let listed = json_of(
        send(
            &app,
            Method::GET,
            &admin(&s.store, "/webhooks"),
            &owner,
            None,
        )
        .await,
        200,
    )
    .await;
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once"
    );

    let (order, _) = order_case(&app, &s, "hook-1").await;
    let got = receiver.wait_for(3).await;
    let ids: Vec<&Value> = got.iter().map(|r| &r.headers["webhook-id"]).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one webhook-id on every attempt: {ids:?}"
    );
    let body: Value = serde_json::from_str(&got[2].body).unwrap();
    assert_eq!(body["type"], "order.created");
    assert_eq!(body["data"]["order_id"], order.as_str());
    assert!(body["timestamp"].is_string());
    assert!(
        verifies(&secret, &got[2]),
        "the standardwebhooks package verifies it"
    );
    let mut forged = got[2].clone();
    forged.body = forged.body.replace("order.created", "order.paid");
    assert!(
        !verifies(&secret, &forged),
        "a changed body does not verify"
    );
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(240),
        "first retry after ~300 ms"
    );
    assert!(
        got[2].at - got[1].at >= Duration::from_millis(720),
        "second after ~900 ms"
    );

    let log = json_of(
        send(
            &app,
            Method::GET,
            &admin(&s.store, &format!("/webhooks/{id}/deliveries")),
            &owner,
            None,
        )
        .await,
        200,
    )
    .await;
    let delivery = &log["items"][0];
    assert_eq!(delivery["state"], "succeeded");
    let statuses: Vec<i64> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 500, 200]);
    assert_eq!(delivery["attempts"][0]["response"], "answered 500");
    assert_eq!(delivery["event_id"], *ids[0]);

    let delivery_id = delivery["id"].as_str().unwrap();
    let retried = send(
        &app,
        Method::POST,
        &admin(
            &s.store,
            &format!("/webhooks/{id}/deliveries/{delivery_id}/retry"),
        ),
        &owner,
        None,
    )
    .await;
    assert_eq!(retried.status(), 202);
    let again = receiver.wait_for(4).await;
    assert_eq!(
        again[3].headers["webhook-id"], *ids[0],
        "a replay keeps the webhook-id"
    );

    // Rotating: the new secret signs, and the old one still does for a day.
    let rotated = json_of(
        send(
            &app,
            Method::POST,
            &admin(&s.store, &format!("/webhooks/{id}/rotate-secret")),
            &owner,
            None,
        )
        .await,
        200,
    )
    .await;
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    order_case(&app, &s, "hook-2").await;
    let latest = receiver.wait_for(5).await;
    assert!(verifies(&new_secret, &latest[4]));
    assert!(
        verifies(&secret, &latest[4]),
        "the old secret signs beside the new"
    );
    let audit = json_of(
        send(
            &app,
            Method::GET,
            &admin(&s.store, "/audit-log"),
            &owner,
            None,
        )
        .await,
        200,
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "webhook.created",
        "webhook.delivery_retried",
        "webhook.secret_rotated",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let deleted = send(
        &app,
        Method::DELETE,
        &admin(&s.store, &format!("/webhooks/{id}")),
        &owner,
        None,
    )
    .await;
    assert_eq!(deleted.status(), 204);
}

#[tokio::test]
async fn internal_targets_are_refused_at_registration_without_the_test_only_switch() {
    let app = spawn_app_with(&[]).await;
    let merchant = app.signup("ssrf-shop").await;
    for url in [
        "http://127.0.0.1/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::1]/hook",
        "https://100.64.0.1/hook",
        "https://localhost/hook",
    ] {
        let refused = register(
            &app,
            "ssrf-shop",
            &merchant.access,
            json!({ "url": url, "events": ["*"] }),
        )
        .await;
        let body = assert_error(refused, 422, "webhook_target_forbidden").await;
        assert_eq!(body["error"]["details"]["field"], "url", "{url}");
    }
    let bad = register(
        &app,
        "ssrf-shop",
        &merchant.access,
        json!({ "url": "not a url", "events": ["bogus.kind"] }),
    )
    .await;
    let body = assert_error(bad, 422, "validation_failed").await;
    let fields: Vec<&str> = body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"url") && fields.contains(&"events[0]"),
        "{fields:?}"
    );
}

#[tokio::test]
async fn a_target_that_turns_internal_after_registration_is_refused_at_connection() {
    // http is allowed here, private addresses are not: the endpoint below is written straight
    // to storage, as if its name had resolved to a public address when it was registered.
    let app = spawn_app_with(&[
        ("TECHVERSE_WEBHOOKS_ALLOW_INSECURE", "true"),
        MANY_ORDERS[0],
        MANY_ORDERS[1],
    ])
    .await;
    let s = shop(&app, "rebind-shop").await;
    let receiver = Receiver::start(&[]).await;
    let store = app.store("rebind-shop").await;
    let now = techverse::domain::now();
    for url in [
        receiver.url(),
        format!("http://localhost:{}/hook", receiver.port),
    ] {
        let endpoint = techverse::domain::webhook::WebhookEndpoint {
            id: techverse_shared::WebhookId::from_uuid(uuid::Uuid::now_v7()),
            store_id: store.id,
            url,
            events: vec!["*".into()],
            description: None,
            active: true,
            secrets: vec![techverse::domain::webhook::SigningSecret {
                secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(), // pragma: allowlist secret (a test vector, not a key)
                expires_at: None,
            }],
            failing_since: None,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        app.ctx
            .storage
            .webhooks()
            .insert_webhook(&endpoint)
            .await
            .unwrap();
    }
    order_case(&app, &s, "rebind-1").await;
    let endpoints = app.ctx.storage.webhooks().webhooks(store.id).await.unwrap();
    for endpoint in endpoints {
        let mut attempted = None;
        for _ in 0..100 {
            let log = app
                .ctx
                .storage
                .webhooks()
                .deliveries(store.id, endpoint.id, None, 10)
                .await
                .unwrap();
            if let Some(attempt) = log.iter().flat_map(|d| d.attempts.clone()).next() {
                attempted = Some(attempt);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let attempt = attempted.expect("an attempt was made");
        assert_eq!(attempt.status, None, "{}", endpoint.url);
        assert!(
            attempt
                .error
                .as_deref()
                .unwrap_or_default()
                .contains("non-public"),
            "{attempt:?}"
        );
    }
    assert!(
        receiver.got.lock().unwrap().is_empty(),
        "nothing reached the internal address"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("techverse_webhook_deliveries_total{outcome=\"failed\"}"),
        "{metrics}"
    );
}

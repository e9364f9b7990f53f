//! The local Stripe fake (`tools/stripe-fake/stripe_fake.py`, signing with the `stripe` PyPI
//! package) and a card-ready shop on top of the checkout helpers.

use std::io::{BufRead, BufReader};

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    checkout::{Shop, add, checkout, checkout_body, guest_cart, json_of, shop},
    helpers::{TestApp, admin, send, spawn_app_with},
};

pub struct StripeFake {
    pub url: String,
    child: std::process::Child,
    client: reqwest::Client,
}

impl Drop for StripeFake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> String {
    std::env::var("TECHVERSE_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

pub fn tools_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/stripe-fake")
}

impl StripeFake {
    pub fn start() -> Self {
        let mut child = std::process::Command::new(python())
            .arg(tools_dir().join("stripe_fake.py"))
            .args(["--port", "0"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the Stripe fake with {} (scripts/test installs its stripe package): {e}", python()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the Stripe fake said {line:?}"))
            .to_owned();
        Self {
            url,
            child,
            client: reqwest::Client::new(),
        }
    }

    /// POSTs to one of the fake's `/_test/…` controls.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/_test/{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "control {path}");
        response.json().await.unwrap()
    }

    /// Acts on a PaymentIntent as its buyer or Stripe would (`succeed`, `fail`, `dispute`,
    /// `metadata`): the fake sends the signed webhook that follows.
    pub async fn on_intent(&self, intent: &str, action: &str, body: Value) -> Value {
        self.control(&format!("payment_intents/{intent}/{action}"), body)
            .await
    }

    /// Every event the fake made, oldest first.
    pub async fn events(&self) -> Vec<Value> {
        let body: Value = self
            .client
            .get(format!("{}/_test/events", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["data"].as_array().unwrap().clone()
    }

    pub async fn events_of(&self, kind: &str) -> Vec<Value> {
        self.events()
            .await
            .into_iter()
            .filter(|e| e["type"] == kind)
            .collect()
    }

    /// A PaymentIntent as the fake holds it (the platform key, on `account`).
    pub async fn intent(&self, account: &str, id: &str) -> Value {
        self.client
            .get(format!("{}/v1/payment_intents/{id}", self.url))
            .bearer_auth("sk_test_fake")
            .header("Stripe-Account", account)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// The app wired to the fake, webhooks coming back to it, with this secret (and a retired one).
pub struct CardApp {
    pub app: TestApp,
    pub fake: StripeFake,
    pub secret: String,
    pub old_secret: String,
}

pub async fn card_app() -> CardApp {
    card_app_with(&[]).await
}

pub async fn card_app_with(extra: &[(&str, &str)]) -> CardApp {
    let fake = StripeFake::start();
    let random = uuid::Uuid::new_v4().simple().to_string();
    let secret = format!("whsec_{random}");
    let old_secret = format!("whsec_old_{random}");
    let secrets = format!("{old_secret}, {secret}");
    let js = format!("{}/v3/", fake.url);
    let mut settings = vec![
        ("TECHVERSE_STRIPE_SECRET_KEY", "sk_test_techverse"),
        ("TECHVERSE_STRIPE_PUBLISHABLE_KEY", "pk_test_techverse"),
        ("TECHVERSE_STRIPE_WEBHOOK_SECRETS", secrets.as_str()),
        ("TECHVERSE_STRIPE_API_BASE", fake.url.as_str()),
        ("TECHVERSE_STRIPE_JS_URL", js.as_str()),
        ("TECHVERSE_STRIPE_APPLICATION_FEE_BPS", "250"),
        ("TECHVERSE_STRIPE_RECONCILE_INTERVAL_SECS", "0"),
    ];
    settings.extend_from_slice(extra);
    let app = spawn_app_with(&settings).await;
    fake.control(
        "config",
        json!({ "webhook_url": app.url("/api/v1/payments/stripe/webhook"), "webhook_secret": secret }),
    )
    .await;
    CardApp {
        app,
        fake,
        secret,
        old_secret,
    }
}

/// The checkout helpers' shop, with a connected Stripe account that can take charges.
pub struct CardShop {
    pub shop: Shop,
    pub account: String,
}

pub async fn card_shop(c: &CardApp, slug: &str) -> CardShop {
    let shop = shop(&c.app, slug).await;
    let onboarding = json_of(
        send(
            &c.app,
            Method::POST,
            &admin(slug, "/payments/stripe/onboarding"),
            &shop.merchant.access,
            None,
        )
        .await,
        200,
    )
    .await;
    let account = onboarding["account_id"].as_str().unwrap().to_owned();
    assert_eq!(onboarding["charges_enabled"], false);
    assert!(onboarding["url"].as_str().unwrap().starts_with("https://"));
    // Onboarding finished: Stripe says so with account.updated.
    c.fake
        .control(&format!("accounts/{account}/enable"), json!({}))
        .await;
    CardShop { shop, account }
}

/// A placed card order.
pub struct CardOrder {
    pub id: String,
    pub token: String,
    pub intent: String,
    pub body: Value,
}

/// A guest orders `quantity` phones by card (store pickup).
pub async fn card_order(c: &CardApp, s: &CardShop, quantity: i64, key: &str) -> CardOrder {
    let (cart, token) = guest_cart(&c.app, &s.shop.store).await;
    add(
        &c.app,
        &s.shop.store,
        &cart,
        &token,
        &s.shop.phone,
        quantity,
    )
    .await;
    let body = json_of(
        checkout(
            &c.app,
            &s.shop.store,
            Some(&token),
            None,
            key,
            &checkout_body(&cart, &s.shop.pickup, "card"),
        )
        .await,
        201,
    )
    .await;
    let secret = body["payment"]["client_secret"].as_str().unwrap();
    CardOrder {
        id: body["id"].as_str().unwrap().to_owned(),
        token: body["token"].as_str().unwrap().to_owned(),
        intent: secret.split("_secret_").next().unwrap().to_owned(),
        body,
    }
}

/// The order as staff see it.
pub async fn staff_order(c: &CardApp, s: &CardShop, id: &str) -> Value {
    s.shop.staff_get(&c.app, &format!("/orders/{id}")).await
}

/// Polls the staff view until `done` holds (background work: late refunds), up to 10 s.
pub async fn wait_order(
    c: &CardApp,
    s: &CardShop,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..200 {
        let order = staff_order(c, s, id).await;
        if done(&order) {
            return order;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "order {id} never reached the expected state: {}",
        staff_order(c, s, id).await
    );
}

//! Checkout throughput on the embedded store, over real HTTP on loopback (server and client in
//! this one process, sharing the machine's cores). Prints figures; asserts nothing about speed.
//!
//! (a) many SKUs, low contention: `ORDERS` checkouts (default 3000) spread over 1000 products,
//!     `CONCURRENCY` (default 64) in flight; carts are filled before the clock starts.
//! (b) `BUYERS` (default 1000) concurrent buyers for one SKU with `UNITS` (default 100) units:
//!     exactly `UNITS` orders must succeed, the rest answer 409 `out_of_stock`.
//!
//! Run: `cargo bench -p techverse-backend --bench checkout` (or `bash infra/bench/checkout.sh`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "benchmark driver: prints its figures, and a failed step aborts the run"
)]

#[path = "support/report.rs"]
mod load_report;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::Client;
use serde_json::{Value, json};
use techverse::{config::Settings, startup::Application};
use tokio::sync::Semaphore;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Bench {
    client: Client,
    base: String,
    token: String,
    store: String,
    pickup: String,
}

impl Bench {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn product(&self, n: usize, stock: i64) -> String {
        let response = self
            .client
            .post(self.url(&format!("/api/v1/admin/stores/{}/products", self.store)))
            .bearer_auth(&self.token)
            .json(&json!({
                "title": format!("Bench item {n}"),
                "status": "active",
                "variants": [{ "sku": format!("BENCH-{n}"), "price": 150_000 + n as i64, "stock": stock }]
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["variants"][0]["id"].as_str().unwrap().to_owned()
    }

    /// A guest cart holding one unit of `variant`: `(cart id, token)`.
    async fn cart(&self, variant: &str) -> (String, String) {
        let cart: Value = self
            .client
            .post(self.url(&format!("/api/v1/stores/{}/carts", self.store)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let (id, token) = (
            cart["id"].as_str().unwrap().to_owned(),
            cart["token"].as_str().unwrap().to_owned(),
        );
        let added = self
            .client
            .post(self.url(&format!("/api/v1/stores/{}/carts/{id}/lines", self.store)))
            .header("X-Cart-Token", &token)
            .json(&json!({ "variant_id": variant, "quantity": 1 }))
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), 200);
        (id, token)
    }

    async fn checkout(&self, cart: &str, token: &str, key: &str) -> (u16, Duration) {
        let started = Instant::now();
        let response = self
            .client
            .post(self.url(&format!("/api/v1/stores/{}/checkout", self.store)))
            .header("X-Cart-Token", token)
            .header("Idempotency-Key", key)
            .json(&json!({
                "cart_id": cart,
                "email": "buyer@example.com",
                "shipping_address": { "name": "Ada Obi", "line1": "1 Marina", "city": "Lagos", "country": "NG" },
                "shipping_method_id": self.pickup,
                "payment_method": "cash_on_delivery"
            }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let _ = response.bytes().await;
        (status, started.elapsed())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn run(
    bench: &Arc<Bench>,
    carts: Vec<(String, String)>,
    concurrency: usize,
) -> (Vec<u16>, Vec<Duration>, Duration) {
    let gate = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let tasks: Vec<_> = carts
        .into_iter()
        .enumerate()
        .map(|(n, (cart, token))| {
            let (bench, gate) = (Arc::clone(bench), Arc::clone(&gate));
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await.unwrap();
                bench.checkout(&cart, &token, &format!("bench-{n}")).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    let mut latencies = Vec::new();
    for task in tasks {
        let (status, latency) = task.await.unwrap();
        statuses.push(status);
        latencies.push(latency);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    (statuses, latencies, elapsed)
}

fn report(name: &str, statuses: &[u16], latencies: &[Duration], elapsed: Duration) {
    let created = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 409).count();
    let other = statuses.len() - created - refused;
    let (p50, p99) = (
        percentile(latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(latencies, 0.99).as_secs_f64() * 1000.0,
    );
    let rate = created as f64 / elapsed.as_secs_f64();
    println!(
        "{name}: {} requests in {:.2} s -> {rate:.0} orders/s | p50 {p50:.1} ms, p99 {p99:.1} ms, max {:.1} ms | 201: {created}, 409: {refused}, other: {other}",
        statuses.len(),
        elapsed.as_secs_f64(),
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
    load_report::row(&[
        format!("checkout: {name}"),
        format!("{rate:.0} orders/s"),
        format!("{p50:.2}ms"),
        format!("{p99:.2}ms"),
        other.to_string(),
        format!(
            "{:.0} MiB (server and client)",
            load_report::rss_mib("self")
        ),
    ]);
}

#[tokio::main]
async fn main() {
    let orders = env_or("ORDERS", 3000);
    let products = env_or("PRODUCTS", 1000);
    let concurrency = env_or("CONCURRENCY", 64);
    let buyers = env_or("BUYERS", 1000);
    let units = env_or("UNITS", 100);

    let data = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = [
        ("TECHVERSE_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("TECHVERSE_DATA_DIR", data.path().display().to_string()),
        ("TECHVERSE_LOG_LEVEL", "error".to_owned()),
        (
            "TECHVERSE_RATE_LIMIT_IP_PER_MINUTE",
            "1000000000".to_owned(),
        ),
        (
            "TECHVERSE_RATE_LIMIT_STORE_PER_MINUTE",
            "1000000000".to_owned(),
        ),
        (
            "TECHVERSE_RATE_LIMIT_STORE_IP_PER_MINUTE",
            "1000000000".to_owned(),
        ),
        (
            "TECHVERSE_RATE_LIMIT_USER_PER_MINUTE",
            "1000000000".to_owned(),
        ),
        // One benchmark client places thousands of unpaid orders on purpose.
        ("TECHVERSE_MAX_OPEN_ORDERS_PER_BUYER", "1000000".to_owned()),
        (
            "TECHVERSE_MAX_OPEN_ORDERS_PER_ADDRESS",
            "1000000".to_owned(),
        ),
        ("TECHVERSE_ARGON2_MEMORY_KIB", "1024".to_owned()),
        ("TECHVERSE_ARGON2_ITERATIONS", "1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let app = Application::build(Settings::load(None, env).unwrap())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending::<()>()));

    let client = Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    let signup: Value = client
        .post(format!("{base}/api/v1/signup"))
        .json(&json!({
            "email": "bench@example.com", "password": "correct horse battery staple", "name": "Bench",
            "store": { "slug": "bench", "name": "Bench", "currency": "NGN" }
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["session"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let settings: Value = client
        .put(format!(
            "{base}/api/v1/admin/stores/bench/checkout-settings"
        ))
        .bearer_auth(&token)
        .json(&json!({
            "payment_methods": ["cash_on_delivery"],
            "zones": [{ "name": "NG", "countries": ["NG"], "tax_bps": 750,
                        "methods": [{ "name": "Pickup", "rate": { "type": "pickup" } }] }]
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bench = Arc::new(Bench {
        client,
        base,
        token,
        store: "bench".into(),
        pickup: settings["zones"][0]["methods"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    });

    println!("setting up (a): {products} products, {orders} carts");
    let mut variants = Vec::with_capacity(products);
    for n in 0..products {
        variants.push(bench.product(n, 1_000_000).await);
    }
    let mut carts = Vec::with_capacity(orders);
    for n in 0..orders {
        carts.push(bench.cart(&variants[n % variants.len()]).await);
    }
    let (statuses, latencies, elapsed) = run(&bench, carts, concurrency).await;
    report(
        &format!("(a) many SKUs, {concurrency} in flight"),
        &statuses,
        &latencies,
        elapsed,
    );

    println!("setting up (b): 1 SKU with {units} units, {buyers} carts");
    let scarce = bench.product(products + 1, units as i64).await;
    let mut carts = Vec::with_capacity(buyers);
    for _ in 0..buyers {
        carts.push(bench.cart(&scarce).await);
    }
    let (statuses, latencies, elapsed) = run(&bench, carts, buyers).await;
    report(
        &format!("(b) {buyers} concurrent buyers, one SKU"),
        &statuses,
        &latencies,
        elapsed,
    );
    let created = statuses.iter().filter(|s| **s == 201).count();
    println!(
        "(b) orders placed: {created} of {units} units -> {}",
        if created == units {
            "exactly the stock, no oversell"
        } else {
            "MISMATCH"
        }
    );
    if created != units {
        std::process::exit(1);
    }
}

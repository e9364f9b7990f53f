//! Load client for `infra/bench/realtime.sh`: opens many staff sockets across many stores
//! (spread over one or more instances), places guest orders at a steady rate, and prints how
//! many sockets it held, the order-commit → socket-receive latency (p50/p99, from each event's
//! commit time to its arrival) and each server's resident memory. Figures, not a test.
//!
//! `cargo run --release --example realtime_load -- <servers,comma> <pids,comma> <stores>
//!  <sockets> <orders per second> <seconds>`

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark client: it prints figures and stops at the first broken step"
)]

#[path = "../benches/support/report.rs"]
mod load_report;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

struct Store {
    slug: String,
    access: String,
    variant: String,
    pickup: String,
}

async fn post(client: &reqwest::Client, url: &str, bearer: Option<&str>, body: &Value) -> Value {
    let mut request = client.post(url).json(body);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "POST {url}: {status} {body}");
    body
}

async fn open_store(client: &reqwest::Client, base: &str, n: usize) -> Store {
    let slug = format!("load-{n}");
    let signup = post(
        client,
        &format!("{base}/api/v1/signup"),
        None,
        &json!({
            "email": format!("owner@{slug}.example"), "password": "correct horse battery staple",
            "name": "Owner", "store": { "slug": slug, "name": slug, "currency": "NGN" }
        }),
    )
    .await;
    let access = signup["session"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = format!("{base}/api/v1/admin/stores/{slug}");
    let product = post(
        client,
        &format!("{admin}/products"),
        Some(&access),
        &json!({
            "title": "Load Phone", "status": "active",
            "variants": [{ "sku": "LOAD-1", "price": 100_000, "stock": 1_000_000 }]
        }),
    )
    .await;
    let settings = client
        .put(format!("{admin}/checkout-settings"))
        .bearer_auth(&access)
        .json(&json!({
            "prices_include_tax": true, "payment_methods": ["cash_on_delivery"],
            "reservation_minutes": 60,
            "zones": [{ "name": "NG", "countries": ["NG"], "tax_bps": 0,
                "methods": [{ "name": "Pickup", "rate": { "type": "pickup" } }] }]
        }))
        .send()
        .await
        .unwrap();
    let settings: Value = settings.json().await.unwrap();
    Store {
        variant: product["variants"][0]["id"].as_str().unwrap().to_owned(),
        pickup: settings["zones"][0]["methods"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        slug,
        access,
    }
}

async fn order(client: &reqwest::Client, base: &str, store: &Store, key: usize) {
    let shop = format!("{base}/api/v1/stores/{}", store.slug);
    let cart = post(client, &format!("{shop}/carts"), None, &json!({})).await;
    let (id, token) = (
        cart["id"].as_str().unwrap(),
        cart["token"].as_str().unwrap(),
    );
    client
        .post(format!("{shop}/carts/{id}/lines"))
        .header("X-Cart-Token", token)
        .json(&json!({ "variant_id": store.variant, "quantity": 1 }))
        .send()
        .await
        .unwrap();
    let placed = client
        .post(format!("{shop}/checkout"))
        .header("X-Cart-Token", token)
        .header("Idempotency-Key", format!("load-{key}"))
        .json(&json!({
            "cart_id": id, "email": "load@example.com",
            "shipping_address": { "name": "Load", "line1": "1 Way", "city": "Lagos", "country": "NG" },
            "shipping_method_id": store.pickup, "payment_method": "cash_on_delivery"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        placed.status(),
        201,
        "{}",
        placed.text().await.unwrap_or_default()
    );
}

/// Opens one socket following `store`; every event's latency goes to `latencies`.
async fn follow(
    client: &reqwest::Client,
    base: &str,
    store: &Store,
    latencies: Arc<Mutex<Vec<f64>>>,
    held: Arc<std::sync::atomic::AtomicUsize>,
) {
    let ticket = post(
        client,
        &format!("{base}/api/v1/ws/tickets"),
        Some(&store.access),
        &json!({}),
    )
    .await;
    let url = format!(
        "{}/api/v1/ws?ticket={}",
        base.replace("http://", "ws://"),
        ticket["ticket"].as_str().unwrap()
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("socket");
    socket
        .send(Message::text(
            json!({ "type": "subscribe", "store": store.slug }).to_string(),
        ))
        .await
        .unwrap();
    held.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if frame["type"] != "event" || frame["kind"] != "order.created" {
                continue;
            }
            let Some(at) = frame["at"]
                .as_str()
                .and_then(|at| at.parse::<jiff::Timestamp>().ok())
            else {
                continue;
            };
            let ms = jiff::Timestamp::now().duration_since(at).as_secs_f64() * 1000.0;
            latencies.lock().unwrap().push(ms);
        }
    });
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let servers: Vec<String> = args[1].split(',').map(str::to_owned).collect();
    let pids: Vec<String> = args[2].split(',').map(str::to_owned).collect();
    let (stores, sockets): (usize, usize) = (args[3].parse().unwrap(), args[4].parse().unwrap());
    let (rate, seconds): (f64, u64) = (args[5].parse().unwrap(), args[6].parse().unwrap());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let started = Instant::now();
    let mut shops = Vec::new();
    for n in 0..stores {
        shops.push(open_store(&client, &servers[0], n).await);
    }
    let shops = Arc::new(shops);
    println!(
        "{stores} stores set up in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let latencies = Arc::new(Mutex::new(Vec::new()));
    let held = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let opening = Instant::now();
    let mut tasks = futures_util::stream::iter(0..sockets)
        .map(|n| {
            let (client, shops, latencies, held) = (
                client.clone(),
                Arc::clone(&shops),
                Arc::clone(&latencies),
                Arc::clone(&held),
            );
            let base = servers[n % servers.len()].clone();
            async move { follow(&client, &base, &shops[n % shops.len()], latencies, held).await }
        })
        .buffer_unordered(64);
    while tasks.next().await.is_some() {}
    let held_now = held.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "sockets held: {held_now} (opened in {:.1} s)",
        opening.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;

    let every = Duration::from_secs_f64(1.0 / rate);
    let mut ticker = tokio::time::interval(every);
    let total = (rate * seconds as f64) as usize;
    let mut placing = Vec::with_capacity(total);
    for n in 0..total {
        ticker.tick().await;
        let (client, shops, base) = (client.clone(), Arc::clone(&shops), servers[0].clone());
        placing.push(tokio::spawn(async move {
            order(&client, &base, &shops[n % shops.len()], n).await
        }));
    }
    for task in placing {
        task.await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut all = latencies.lock().unwrap().clone();
    all.sort_by(f64::total_cmp);
    let expected = total * (sockets / stores.max(1));
    println!(
        "orders placed: {total} at {rate}/s; events received: {} of {expected}",
        all.len()
    );
    println!(
        "commit → socket latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or(f64::NAN)
    );
    let mut rss = Vec::new();
    for (server, pid) in servers.iter().zip(&pids) {
        let mib = load_report::rss_mib(pid);
        rss.push(mib);
        println!("server {server} (pid {pid}) RSS: {mib:.0} MiB");
    }
    println!(
        "sockets still held: {}",
        held.load(std::sync::atomic::Ordering::Relaxed)
    );
    load_report::row(&[
        format!(
            "live feed: {held_now} sockets, {stores} stores, {} instance(s)",
            servers.len()
        ),
        format!("{:.0} events/s", all.len() as f64 / seconds as f64),
        format!("{:.2}ms", percentile(&all, 0.50)),
        format!("{:.2}ms", percentile(&all, 0.99)),
        format!("{} events missed", expected.saturating_sub(all.len())),
        rss.iter()
            .map(|mib| format!("{mib:.0} MiB"))
            .collect::<Vec<_>>()
            .join(" + "),
    ]);
}

//! The catalogue: admin CRUD with validation paths, the public list (filters, facets, sorts,
//! cursor pages), product pages, categories, suggestions, search safety, caching with ETags and
//! per-store invalidation, stock adjustments, low-stock events and wishlists.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Merchant, PASSWORD, Service, TestApp, admin, assert_error, get_json, send, spawn_app,
    spawn_app_with,
};

/// A phone with two colours and two storage sizes.
fn phone(title: &str, sku: &str, price: i64, status: &str, categories: &[&str]) -> Value {
    json!({
        "title": title,
        "description": "A **fast** phone. <script>alert(1)</script> [site](javascript:alert(1))",
        "brand": "Acme",
        "category_ids": categories,
        "tags": ["Phones", "5G"],
        "status": status,
        "images": [{ "url": "https://img.example/phone.jpg", "alt": title }],
        "options": [
            { "name": "Colour", "values": ["Black", "Silver"] },
            { "name": "Storage", "values": ["128 GB", "256 GB"] }
        ],
        "variants": [
            { "sku": format!("{sku}-B128"), "options": ["Black", "128 GB"], "price": price, "compare_at": price + 50_000, "stock": 10 },
            { "sku": format!("{sku}-S256"), "options": ["Silver", "256 GB"], "price": price + 100_000, "stock": 0 }
        ],
        "specs": [
            { "name": "Display", "specs": [{ "key": "Screen", "value": "6.1\" OLED", "filterable": true }] },
            { "name": "Memory", "specs": [{ "key": "RAM", "value": "8 GB", "filterable": true }] }
        ]
    })
}

async fn product(app: &TestApp, owner: &Merchant, body: Value) -> Value {
    let response = send(
        app,
        Method::POST,
        &admin(&owner.store, "/products"),
        &owner.access,
        Some(body),
    )
    .await;
    let status = response.status();
    let value: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{value}");
    value
}

async fn category(app: &TestApp, owner: &Merchant, name: &str, parent: Option<&str>) -> String {
    let response = send(
        app,
        Method::POST,
        &admin(&owner.store, "/categories"),
        &owner.access,
        Some(json!({ "name": name, "parent_id": parent })),
    )
    .await;
    let value: Value = response.json().await.unwrap();
    value["id"].as_str().unwrap().to_owned()
}

async fn public(app: &TestApp, store: &str, query: &str) -> Value {
    let response = app
        .get(&format!("/api/v1/stores/{store}/products{query}"))
        .await;
    let status = response.status();
    let value: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{value}");
    value
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn only_active_products_are_public_even_while_the_cache_is_warm() {
    let app = spawn_app().await;
    let owner = app.signup("cat-shop").await;
    let live = product(
        &app,
        &owner,
        phone("Acme One", "ONE", 300_000, "active", &[]),
    )
    .await;
    product(
        &app,
        &owner,
        phone("Acme Draft", "DRAFT", 200_000, "draft", &[]),
    )
    .await;
    product(
        &app,
        &owner,
        phone("Acme Old", "OLD", 100_000, "archived", &[]),
    )
    .await;
    let page = public(&app, "cat-shop", "").await;
    assert_eq!(titles(&page), ["Acme One"]);
    assert_eq!(
        public(&app, "cat-shop", "").await,
        page,
        "the cache answers the same"
    );
    let detail = app.get("/api/v1/stores/cat-shop/products/acme-one").await;
    assert_eq!(detail.status(), 200);
    let detail: Value = detail.json().await.unwrap();
    assert_eq!(detail["variants"].as_array().unwrap().len(), 2);
    assert_eq!(
        detail["price_min"],
        json!({ "minor": 300_000, "currency": "NGN" })
    );
    let html = detail["description_html"].as_str().unwrap();
    assert!(html.contains("<strong>fast</strong>"), "{html}");
    assert!(
        !html.contains("<script") && !html.contains("javascript:"),
        "{html}"
    );
    for hidden in ["acme-draft", "acme-old"] {
        let response = app
            .get(&format!("/api/v1/stores/cat-shop/products/{hidden}"))
            .await;
        assert_error(response, 404, "not_found").await;
    }

    // Archive the live product while its pages are cached: it disappears at once.
    let id = live["id"].as_str().unwrap();
    let archived = send(
        &app,
        Method::PATCH,
        &admin("cat-shop", &format!("/products/{id}")),
        &owner.access,
        Some(json!({ "status": "draft" })),
    )
    .await;
    assert_eq!(archived.status(), 200);
    assert!(titles(&public(&app, "cat-shop", "").await).is_empty());
    let gone = app.get("/api/v1/stores/cat-shop/products/acme-one").await;
    assert_error(gone, 404, "not_found").await;
    let search = public(&app, "cat-shop", "?q=acme").await;
    assert!(titles(&search).is_empty(), "not in search either");
}

#[tokio::test]
async fn product_validation_names_every_bad_field_by_path() {
    let app = spawn_app().await;
    let owner = app.signup("valid-shop").await;
    let bad = json!({
        "title": "",
        "images": [{ "url": "ftp://x" }],
        "options": [{ "name": "Colour", "values": ["Black", "Black"] }],
        "variants": [
            { "sku": "bad sku!", "options": ["Red"], "price": -5 },
            { "sku": "OK-1", "options": ["Black"], "price": 100, "compare_at": 50 }
        ]
    });
    let response = send(
        &app,
        Method::POST,
        &admin("valid-shop", "/products"),
        &owner.access,
        Some(bad),
    )
    .await;
    let body = assert_error(response, 422, "validation_failed").await;
    let fields: Vec<&str> = body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for expected in [
        "title",
        "images[0].url",
        "options[0].values[1]",
        "variants[0].sku",
        "variants[0].options[0]",
        "variants[0].price",
        "variants[1].compare_at",
    ] {
        assert!(fields.contains(&expected), "{expected} in {fields:?}");
    }
    let shape = send(
        &app,
        Method::POST,
        &admin("valid-shop", "/products"),
        &owner.access,
        Some(json!({ "title": "X", "variants": [{ "sku": "A", "price": "12.50" }] })),
    )
    .await;
    let body = assert_error(shape, 422, "validation_failed").await;
    assert_eq!(
        body["error"]["details"]["fields"][0]["field"], "variants[0].price",
        "no floats for money"
    );
}

#[tokio::test]
async fn slugs_and_skus_are_unique_per_store_only() {
    let app = spawn_app().await;
    let a = app.signup("uniq-a").await;
    let b = app.signup("uniq-b").await;
    product(&app, &a, phone("Acme One", "ONE", 300_000, "active", &[])).await;
    let same_slug = send(
        &app,
        Method::POST,
        &admin("uniq-a", "/products"),
        &a.access,
        Some(phone("Acme One", "OTHER", 1, "active", &[])),
    )
    .await;
    assert_error(same_slug, 409, "slug_taken").await;
    let mut renamed = phone("Acme Two", "ONE", 1, "active", &[]);
    renamed["slug"] = json!("acme-two");
    let same_sku = send(
        &app,
        Method::POST,
        &admin("uniq-a", "/products"),
        &a.access,
        Some(renamed),
    )
    .await;
    assert_error(same_sku, 409, "sku_taken").await;
    product(&app, &b, phone("Acme One", "ONE", 300_000, "active", &[])).await;
}

#[tokio::test]
async fn the_list_filters_sorts_counts_facets_and_pages_with_a_stable_cursor() {
    let app = spawn_app().await;
    let owner = app.signup("list-shop").await;
    let phones = category(&app, &owner, "Phones", None).await;
    let android = category(&app, &owner, "Android", Some(&phones)).await;
    let audio = category(&app, &owner, "Audio", None).await;
    for (n, price) in [(1, 100_000), (2, 300_000), (3, 200_000)] {
        product(
            &app,
            &owner,
            phone(
                &format!("Droid {n}"),
                &format!("D{n}"),
                price,
                "active",
                &[&android],
            ),
        )
        .await;
    }
    let mut buds = phone("Buds Pro", "BUDS", 50_000, "active", &[&audio]);
    buds["brand"] = json!("Sonic");
    buds["specs"] = json!([{ "name": "Audio", "specs": [{ "key": "Driver", "value": "11 mm", "filterable": true }] }]);
    product(&app, &owner, buds).await;

    let all = public(&app, "list-shop", "?sort=price_asc").await;
    assert_eq!(titles(&all), ["Buds Pro", "Droid 1", "Droid 3", "Droid 2"]);
    assert_eq!(all["total"], 4);
    let facets = &all["facets"];
    assert_eq!(
        facets["brands"][0],
        json!({ "value": "Acme", "label": "Acme", "count": 3 })
    );
    assert_eq!(facets["price_min"]["minor"], 50_000);
    assert_eq!(facets["price_max"]["minor"], 300_000);
    let ram = facets["specs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "RAM")
        .unwrap();
    assert_eq!(ram["values"][0]["count"], 3);

    let in_phones = public(
        &app,
        "list-shop",
        &format!("?category={phones}&sort=price_desc"),
    )
    .await;
    assert_eq!(
        titles(&in_phones),
        ["Droid 2", "Droid 3", "Droid 1"],
        "a category includes its descendants"
    );
    let cheap = public(&app, "list-shop", "?max_price=150000&sort=price_asc").await;
    assert_eq!(titles(&cheap), ["Buds Pro", "Droid 1"]);
    let brand = public(&app, "list-shop", "?brand=sonic").await;
    assert_eq!(titles(&brand), ["Buds Pro"]);
    let spec = public(&app, "list-shop", "?spec.Driver=11%20mm").await;
    assert_eq!(titles(&spec), ["Buds Pro"]);

    // Page through by price while a cheaper product is added: nothing is skipped or repeated.
    let first = public(&app, "list-shop", "?sort=price_asc&limit=2").await;
    assert_eq!(titles(&first), ["Buds Pro", "Droid 1"]);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    product(
        &app,
        &owner,
        phone("Budget Phone", "CHEAP", 10_000, "active", &[]),
    )
    .await;
    let second = public(
        &app,
        "list-shop",
        &format!("?sort=price_asc&limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(titles(&second), ["Droid 3", "Droid 2"]);
    assert!(second.get("next_cursor").is_none());

    for bad in [
        "?sort=cheapest",
        "?limit=0",
        "?limit=1000",
        "?min_price=-1",
        "?min_price=1.5",
        "?cursor=garbage",
        "?in_stock=maybe",
    ] {
        let response = app
            .get(&format!("/api/v1/stores/list-shop/products{bad}"))
            .await;
        assert_error(response, 422, "validation_failed").await;
    }
    let mismatched = app
        .get(&format!(
            "/api/v1/stores/list-shop/products?sort=newest&cursor={cursor}"
        ))
        .await;
    assert_error(mismatched, 422, "validation_failed").await;

    let tree = app.get_json("/api/v1/stores/list-shop/categories").await;
    assert_eq!(tree["items"][0]["name"], "Phones");
    assert_eq!(tree["items"][0]["children"][0]["name"], "Android");
    assert_eq!(tree["items"][1]["name"], "Audio");
    let detail = app
        .get_json("/api/v1/stores/list-shop/products/droid-1")
        .await;
    let related: Vec<&str> = detail["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(related.len(), 2);
    assert!(!related.contains(&"Droid 1"));
}

#[tokio::test]
async fn search_ranks_matches_and_survives_any_input() {
    let app = spawn_app().await;
    let owner = app.signup("search-shop").await;
    product(
        &app,
        &owner,
        phone("Galaxy Phone", "GAL", 100_000, "active", &[]),
    )
    .await;
    let mut laptop = phone("Laptop Pro", "LAP", 900_000, "active", &[]);
    laptop["description"] = json!("Pairs with any galaxy phone");
    product(&app, &owner, laptop).await;
    let found = public(&app, "search-shop", "?q=galaxy").await;
    assert_eq!(
        titles(&found),
        ["Galaxy Phone", "Laptop Pro"],
        "title matches rank first"
    );
    let prefix = public(&app, "search-shop", "?q=gal%20pho").await;
    assert_eq!(titles(&prefix)[0], "Galaxy Phone");
    for hostile in [
        ".*",
        "(a|b)+$",
        "\\",
        "[",
        "\"",
        "*",
        "title:galaxy OR 1=1",
        "NEAR(galaxy laptop)",
        "{\"$gt\":\"\"}",
        "$where",
        "galaxy\" OR \"",
        "' OR 1=1 --",
        "%00",
        "😀 galaxy",
    ] {
        let encoded: String = hostile.bytes().map(|b| format!("%{b:02X}")).collect();
        let response = app
            .get(&format!("/api/v1/stores/search-shop/products?q={encoded}"))
            .await;
        assert_eq!(response.status(), 200, "{hostile}");
        let suggest = app
            .get(&format!(
                "/api/v1/stores/search-shop/search/suggest?q={encoded}"
            ))
            .await;
        assert_eq!(suggest.status(), 200, "{hostile}");
    }
    let long = "a".repeat(201);
    let response = app
        .get(&format!("/api/v1/stores/search-shop/products?q={long}"))
        .await;
    assert_error(response, 422, "validation_failed").await;
    let suggestions = app
        .get_json("/api/v1/stores/search-shop/search/suggest?q=lap")
        .await;
    assert_eq!(suggestions["items"], json!(["Laptop Pro"]));
}

#[tokio::test]
async fn responses_carry_etags_and_a_match_is_304() {
    let app = spawn_app().await;
    let owner = app.signup("etag-shop").await;
    product(
        &app,
        &owner,
        phone("Acme One", "ONE", 300_000, "active", &[]),
    )
    .await;
    for path in [
        "/api/v1/stores/etag-shop/products",
        "/api/v1/stores/etag-shop/products/acme-one",
        "/api/v1/stores/etag-shop/categories",
    ] {
        let first = app.get(path).await;
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let again = app
            .client
            .get(app.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
        let other = app
            .client
            .get(app.url(path))
            .header("if-none-match", "\"nope\"")
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 200);
    }
    let before = app.get("/api/v1/stores/etag-shop/products").await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    product(
        &app,
        &owner,
        phone("Acme Two", "TWO", 300_000, "active", &[]),
    )
    .await;
    let after = app
        .client
        .get(app.url("/api/v1/stores/etag-shop/products"))
        .header("if-none-match", &before)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 200, "a write changes the entity");
}

pub async fn lookups(app: &TestApp, layer: &str, result: &str) -> u64 {
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let needle = format!("techverse_cache_lookups_total{{layer=\"{layer}\",result=\"{result}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&needle))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn a_write_in_one_store_invalidates_only_that_store(app: &TestApp) {
    let a = app.signup("inval-a").await;
    let b = app.signup("inval-b").await;
    product(app, &a, phone("A Phone", "A1", 1000, "active", &[])).await;
    product(app, &b, phone("B Phone", "B1", 1000, "active", &[])).await;
    public(app, "inval-a", "").await;
    public(app, "inval-b", "").await;
    let hits = lookups(app, "memory", "hit").await;
    public(app, "inval-b", "").await;
    assert_eq!(lookups(app, "memory", "hit").await, hits + 1, "B is cached");
    product(app, &a, phone("A Second", "A2", 1000, "active", &[])).await;
    let misses = lookups(app, "memory", "miss").await;
    let page = public(app, "inval-a", "").await;
    assert_eq!(titles(&page).len(), 2, "A sees its new product");
    assert_eq!(
        lookups(app, "memory", "miss").await,
        misses + 1,
        "A was recomputed"
    );
    let hits = lookups(app, "memory", "hit").await;
    public(app, "inval-b", "").await;
    assert_eq!(
        lookups(app, "memory", "hit").await,
        hits + 1,
        "B is still cached"
    );
}

#[tokio::test]
async fn a_write_in_store_a_invalidates_a_and_not_b_in_process() {
    let app = spawn_app().await;
    a_write_in_one_store_invalidates_only_that_store(&app).await;
}

#[tokio::test]
async fn a_write_in_store_a_invalidates_a_and_not_b_with_redis_and_survives_redis_going_away() {
    let mut redis = Service::redis().await;
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let prefix = format!("tv-test-{}:", uuid::Uuid::new_v4().simple());
    let app = spawn_app_with(&[
        ("TECHVERSE_REDIS_URL", url.as_str()),
        ("TECHVERSE_REDIS_KEY_PREFIX", prefix.as_str()),
    ])
    .await;
    a_write_in_one_store_invalidates_only_that_store(&app).await;
    assert!(
        lookups(&app, "redis", "miss").await >= 3,
        "computed pages went through Redis"
    );
    let client = deadpool_redis::redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = deadpool_redis::redis::cmd("KEYS")
        .arg(format!("{prefix}cache:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.iter().any(|k| k.contains(":v2:list")), "{keys:?}");
    redis.stop();
    let owner_b: Value = app
        .login_staff("owner@inval-b.example", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let token = owner_b["access_token"].as_str();
    assert!(token.is_none(), "sessions live in Redis, which is down");
    let page = public(&app, "inval-a", "?sort=price_asc").await;
    assert_eq!(titles(&page).len(), 2, "served from storage without Redis");
}

#[tokio::test]
async fn stock_adjustments_are_atomic_audited_and_raise_low_stock_events() {
    let app = spawn_app().await;
    let owner = app.signup("stock-shop").await;
    let created = product(
        &app,
        &owner,
        phone("Acme One", "ONE", 300_000, "active", &[]),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let variant = created["variants"][0]["id"].as_str().unwrap();
    let path = admin(
        "stock-shop",
        &format!("/products/{id}/variants/{variant}/stock"),
    );
    let too_much = send(
        &app,
        Method::POST,
        &path,
        &owner.access,
        Some(json!({ "delta": -11, "reason": "count" })),
    )
    .await;
    let body = assert_error(too_much, 409, "insufficient_stock").await;
    assert_eq!(body["error"]["details"]["on_hand"], 10);
    let sold = send(
        &app,
        Method::POST,
        &path,
        &owner.access,
        Some(json!({ "delta": -6, "reason": "sold at a fair" })),
    )
    .await;
    assert_eq!(sold.status(), 200);
    let sold: Value = sold.json().await.unwrap();
    assert_eq!(sold["variants"][0]["stock_on_hand"], 4);
    let events: Value = get_json(&app, &admin("stock-shop", "/events"), &owner.access).await;
    let low: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "inventory.low_stock")
        .collect();
    // The silver variant started at 0 (low on creation); the black one crossed to 4 now.
    assert_eq!(low.len(), 2, "{events}");
    assert_eq!(low[1]["payload"]["available"], 4);
    let no_reason = send(
        &app,
        Method::POST,
        &path,
        &owner.access,
        Some(json!({ "delta": 1, "reason": " " })),
    )
    .await;
    assert_error(no_reason, 422, "validation_failed").await;
    // Found by schemathesis: the most negative i64 overflowed the range check (a dropped
    // connection in debug builds) instead of being refused.
    for delta in [i64::MIN, i64::MAX, -1_000_000_001] {
        let huge = send(
            &app,
            Method::POST,
            &path,
            &owner.access,
            Some(json!({ "delta": delta, "reason": "count" })),
        )
        .await;
        assert_error(huge, 422, "validation_failed").await;
    }
    let unknown = send(
        &app,
        Method::POST,
        &admin(
            "stock-shop",
            &format!("/products/{id}/variants/{}/stock", uuid::Uuid::nil()),
        ),
        &owner.access,
        Some(json!({ "delta": 1, "reason": "x" })),
    )
    .await;
    assert_error(unknown, 404, "not_found").await;
    let page: Value = get_json(
        &app,
        &admin("stock-shop", "/audit-log?action=inventory.adjusted"),
        &owner.access,
    )
    .await;
    assert_eq!(page["items"][0]["summary"]["reason"], "sold at a fair");
    let detail = app
        .get_json("/api/v1/stores/stock-shop/products/acme-one")
        .await;
    assert_eq!(
        detail["variants"][0]["available"], 4,
        "the public page is not stale"
    );
}

#[tokio::test]
async fn catalogue_changes_need_products_write_and_reads_products_read() {
    let app = spawn_app().await;
    let owner = app.verified_merchant("perm-cat").await;
    let role: Value = send(
        &app,
        Method::POST,
        &admin("perm-cat", "/roles"),
        &owner.access,
        Some(json!({ "name": "Support", "permissions": ["orders.read"] })),
    )
    .await
    .json()
    .await
    .unwrap();
    let (support, _) = app
        .add_member(&owner, "support@example.com", role["key"].as_str().unwrap())
        .await;
    let read = send(
        &app,
        Method::GET,
        &admin("perm-cat", "/products"),
        &support,
        None,
    )
    .await;
    assert_error(read, 403, "forbidden").await;
    let (clerk, _) = app.add_member(&owner, "clerk@example.com", "staff").await;
    let created = send(
        &app,
        Method::POST,
        &admin("perm-cat", "/products"),
        &clerk,
        Some(phone("Clerk Phone", "CLK", 1, "active", &[])),
    )
    .await;
    assert_eq!(created.status(), 201);
    let write = send(
        &app,
        Method::POST,
        &admin("perm-cat", "/categories"),
        &support,
        Some(json!({ "name": "X" })),
    )
    .await;
    assert_error(write, 403, "forbidden").await;
    let other = app.signup("other-cat").await;
    let foreign = send(
        &app,
        Method::GET,
        &admin("perm-cat", "/products"),
        &other.access,
        None,
    )
    .await;
    assert_error(foreign, 404, "store_not_found").await;
}

#[tokio::test]
async fn a_category_cannot_become_its_own_ancestor() {
    let app = spawn_app().await;
    let owner = app.signup("tree-shop").await;
    let top = category(&app, &owner, "Computers", None).await;
    let mid = category(&app, &owner, "Laptops", Some(&top)).await;
    let leaf = category(&app, &owner, "Gaming", Some(&mid)).await;
    let cycle = send(
        &app,
        Method::PATCH,
        &admin("tree-shop", &format!("/categories/{top}")),
        &owner.access,
        Some(json!({ "name": "Computers", "parent_id": leaf })),
    )
    .await;
    let body = assert_error(cycle, 422, "validation_failed").await;
    assert_eq!(body["error"]["details"]["fields"][0]["code"], "cycle");
    let own = send(
        &app,
        Method::PATCH,
        &admin("tree-shop", &format!("/categories/{mid}")),
        &owner.access,
        Some(json!({ "name": "Laptops", "parent_id": mid })),
    )
    .await;
    assert_error(own, 422, "validation_failed").await;
    let has_children = send(
        &app,
        Method::DELETE,
        &admin("tree-shop", &format!("/categories/{mid}")),
        &owner.access,
        None,
    )
    .await;
    assert_error(has_children, 409, "conflict").await;
    let same_slug = send(
        &app,
        Method::POST,
        &admin("tree-shop", "/categories"),
        &owner.access,
        Some(json!({ "name": "Gaming" })),
    )
    .await;
    assert_error(same_slug, 422, "validation_failed").await;
    let unknown = send(
        &app,
        Method::POST,
        &admin("tree-shop", "/products"),
        &owner.access,
        Some(phone(
            "X",
            "X",
            1,
            "active",
            &[&uuid::Uuid::nil().to_string()],
        )),
    )
    .await;
    assert_error(unknown, 422, "validation_failed").await;
}

#[tokio::test]
async fn customers_keep_a_wishlist_of_active_products() {
    let app = spawn_app().await;
    let owner = app.signup("wish-shop").await;
    let live = product(
        &app,
        &owner,
        phone("Acme One", "ONE", 300_000, "active", &[]),
    )
    .await;
    let draft = product(&app, &owner, phone("Acme Draft", "DRAFT", 1, "draft", &[])).await;
    let shopper = app
        .register_customer("wish-shop", "ada@example.com", PASSWORD)
        .await;
    let path = "/api/v1/stores/wish-shop/customers/me/wishlist";
    for _ in 0..2 {
        let added = send(
            &app,
            Method::POST,
            path,
            &shopper.access,
            Some(json!({ "product_id": live["id"] })),
        )
        .await;
        assert_eq!(added.status(), 200);
    }
    let list: Value = get_json(&app, path, &shopper.access).await;
    assert_eq!(titles(&list), ["Acme One"], "adding twice keeps one");
    let hidden = send(
        &app,
        Method::POST,
        path,
        &shopper.access,
        Some(json!({ "product_id": draft["id"] })),
    )
    .await;
    assert_error(hidden, 404, "not_found").await;
    let removed = send(
        &app,
        Method::DELETE,
        &format!("{path}/{}", live["id"].as_str().unwrap()),
        &shopper.access,
        None,
    )
    .await;
    assert_eq!(removed.status(), 204);
    let again = send(
        &app,
        Method::DELETE,
        &format!("{path}/{}", live["id"].as_str().unwrap()),
        &shopper.access,
        None,
    )
    .await;
    assert_error(again, 404, "not_found").await;
    let anonymous = app.get(path).await;
    assert_error(anonymous, 401, "unauthorized").await;
}

#[tokio::test]
async fn staff_read_list_and_replace_products_keeping_variant_stock() {
    let app = spawn_app().await;
    let owner = app.signup("edit-shop").await;
    let created = product(
        &app,
        &owner,
        phone("Acme One", "ONE", 300_000, "draft", &[]),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let path = admin("edit-shop", &format!("/products/{id}"));
    let read: Value = get_json(&app, &path, &owner.access).await;
    assert_eq!(read["status"], "draft");
    assert_eq!(read["variants"][0]["stock_on_hand"], 10);
    assert_eq!(read["version"], 1);

    let drafts: Value = get_json(
        &app,
        &admin("edit-shop", "/products?status=draft"),
        &owner.access,
    )
    .await;
    assert_eq!(drafts["items"].as_array().unwrap().len(), 1);
    let active: Value = get_json(
        &app,
        &admin("edit-shop", "/products?status=active"),
        &owner.access,
    )
    .await;
    assert!(active["items"].as_array().unwrap().is_empty());
    let bad = send(
        &app,
        Method::GET,
        &admin("edit-shop", "/products?status=gone"),
        &owner.access,
        None,
    )
    .await;
    assert_error(bad, 400, "bad_request").await;

    // Replace: keep the first variant (by id, with its stock), drop the second, add a third.
    let mut body = phone("Acme One Plus", "ONE", 310_000, "active", &[]);
    body["slug"] = json!("acme-one");
    body["variants"] = json!([
        { "id": read["variants"][0]["id"], "sku": "ONE-B128", "options": ["Black", "128 GB"], "price": 310_000, "stock": 999 },
        { "sku": "ONE-S128", "options": ["Silver", "128 GB"], "price": 320_000, "stock": 4 }
    ]);
    let replaced = send(&app, Method::PUT, &path, &owner.access, Some(body)).await;
    assert_eq!(replaced.status(), 200);
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(replaced["title"], "Acme One Plus");
    assert_eq!(
        replaced["variants"][0]["stock_on_hand"], 10,
        "stock moves only by adjustments"
    );
    assert_eq!(replaced["variants"][1]["stock_on_hand"], 4);
    assert_eq!(replaced["variants"].as_array().unwrap().len(), 2);
    let public_page = app
        .get_json("/api/v1/stores/edit-shop/products/acme-one")
        .await;
    assert_eq!(public_page["title"], "Acme One Plus");
    let foreign_variant = send(
        &app,
        Method::PUT,
        &path,
        &owner.access,
        Some(json!({ "title": "X", "variants": [{ "id": uuid::Uuid::nil(), "sku": "Z", "price": 1 }] })),
    )
    .await;
    let body = assert_error(foreign_variant, 422, "validation_failed").await;
    assert_eq!(
        body["error"]["details"]["fields"][0]["field"],
        "variants[0].id"
    );
    let missing = send(
        &app,
        Method::PUT,
        &admin("edit-shop", &format!("/products/{}", uuid::Uuid::nil())),
        &owner.access,
        Some(phone("X", "X", 1, "active", &[])),
    )
    .await;
    assert_error(missing, 404, "not_found").await;
    let junk = send(
        &app,
        Method::GET,
        &admin("edit-shop", "/products/not-an-id"),
        &owner.access,
        None,
    )
    .await;
    assert_error(junk, 404, "not_found").await;
    let audit: Value = get_json(
        &app,
        &admin("edit-shop", "/audit-log?action=product.updated"),
        &owner.access,
    )
    .await;
    assert_eq!(audit["items"][0]["summary"]["title"]["to"], "Acme One Plus");
}

#[tokio::test]
async fn a_replacement_naming_one_variant_twice_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.signup("twice-shop").await;
    let created = product(
        &app,
        &owner,
        phone("Acme Twice", "TW", 100_000, "active", &[]),
    )
    .await;
    let path = admin(
        "twice-shop",
        &format!("/products/{}", created["id"].as_str().unwrap()),
    );
    let id = created["variants"][0]["id"].clone();
    let mut body = phone("Acme Twice", "TW", 100_000, "active", &[]);
    body["variants"] = json!([
        { "id": id, "sku": "TW-1", "options": ["Black", "128 GB"], "price": 100_000 },
        { "id": id, "sku": "TW-2", "options": ["Silver", "128 GB"], "price": 110_000 }
    ]);
    let refused = send(&app, Method::PUT, &path, &owner.access, Some(body)).await;
    let refused = assert_error(refused, 422, "validation_failed").await;
    let fields = refused["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        fields
            .iter()
            .any(|f| f["field"] == "variants[1].id" && f["code"] == "duplicate"),
        "{fields:?}"
    );
    let stored: Value = get_json(&app, &path, &owner.access).await;
    assert_eq!(stored["variants"], created["variants"], "nothing changed");
}

#[tokio::test]
async fn a_wishlist_holds_two_hundred_products_in_the_order_they_were_added() {
    let app = spawn_app().await;
    let owner = app.signup("full-wish").await;
    let shopper = app
        .register_customer("full-wish", "ada@example.com", PASSWORD)
        .await;
    let path = "/api/v1/stores/full-wish/customers/me/wishlist";
    let mut ids = Vec::new();
    for n in 0..201 {
        let created = product(
            &app,
            &owner,
            json!({ "title": format!("Thing {n:03}"), "status": "active",
                    "variants": [{ "sku": format!("W-{n}"), "price": 100, "stock": 1 }] }),
        )
        .await;
        ids.push(created["id"].clone());
    }
    for id in &ids[..200] {
        let added = send(
            &app,
            Method::POST,
            path,
            &shopper.access,
            Some(json!({ "product_id": id })),
        )
        .await;
        assert_eq!(added.status(), 200);
    }
    let full = send(
        &app,
        Method::POST,
        path,
        &shopper.access,
        Some(json!({ "product_id": ids[200] })),
    )
    .await;
    assert_error(full, 409, "wishlist_full").await;
    // A product already in it is still fine to add again.
    let again = send(
        &app,
        Method::POST,
        path,
        &shopper.access,
        Some(json!({ "product_id": ids[5] })),
    )
    .await;
    assert_eq!(again.status(), 200);
    let list: Value = get_json(&app, path, &shopper.access).await;
    let listed = titles(&list);
    assert_eq!(listed.len(), 200);
    assert_eq!(listed[0], "Thing 199", "newest first");
    assert_eq!(listed[199], "Thing 000");
}

#[tokio::test]
async fn the_staff_product_list_pages_by_cursor_and_searches_and_filters_every_status() {
    let app = spawn_app().await;
    let owner = app.signup("admin-list").await;
    for n in 0..25 {
        let status = ["active", "draft", "archived"][n % 3];
        let brand = if n % 2 == 0 { "Acme" } else { "Zeta" };
        product(
            &app,
            &owner,
            json!({ "title": format!("Gadget {n:02}"), "status": status, "brand": brand,
                    "variants": [{ "sku": format!("AL-{n}"), "price": 1000 + n, "stock": 3 }] }),
        )
        .await;
    }
    product(
        &app,
        &owner,
        phone("Secret Prototype", "PROTO", 5, "draft", &[]),
    )
    .await;
    let get = |query: String| {
        let app = &app;
        let token = owner.access.clone();
        async move {
            let response = send(
                app,
                Method::GET,
                &admin("admin-list", &format!("/products{query}")),
                &token,
                None,
            )
            .await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    // Cursor pages walk all 26 products once, newest first.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=10&cursor={c}"),
            None => "?limit=10".to_owned(),
        };
        let page = get(query).await;
        assert_eq!(page["total"], 26);
        seen.extend(titles(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 26);
    assert_eq!(seen[0], "Secret Prototype");
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 26, "no product twice");
    // Status and public-list filters combine; staff search finds drafts too.
    let drafts = get("?status=draft&brand=acme&limit=100".to_owned()).await;
    assert_eq!(
        titles(&drafts),
        [
            "Secret Prototype",
            "Gadget 22",
            "Gadget 16",
            "Gadget 10",
            "Gadget 04"
        ]
    );
    assert_eq!(drafts["total"], 5);
    assert_eq!(drafts["items"][0]["status"], "draft");
    assert!(
        drafts["items"][0]["variants"][0]["stock_on_hand"].is_number(),
        "full staff view"
    );
    let found = get("?q=secret%20proto".to_owned()).await;
    assert_eq!(titles(&found), ["Secret Prototype"]);
    assert!(found["facets"]["brands"].is_array());
    let bad = send(
        &app,
        Method::GET,
        &admin("admin-list", "/products?limit=0"),
        &owner.access,
        None,
    )
    .await;
    assert_error(bad, 422, "validation_failed").await;
}

#[tokio::test]
async fn the_description_preview_renders_what_shoppers_would_see_and_needs_products_write() {
    let app = spawn_app().await;
    let owner = app.verified_merchant("preview").await;
    let path = admin("preview", "/products/description-preview");
    let markdown =
        "# Fast\n\n**8 GB** of RAM <script>alert(1)</script> [site](https://example.com)";
    let shown = send(
        &app,
        Method::POST,
        &path,
        &owner.access,
        Some(json!({ "description": markdown })),
    )
    .await;
    assert_eq!(shown.status(), 200);
    let html = shown.json::<Value>().await.unwrap()["description_html"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        html.contains("<h1>Fast</h1>") && html.contains("<strong>8 GB</strong>"),
        "{html}"
    );
    assert!(
        !html.contains("<script"),
        "sanitised as saved descriptions are: {html}"
    );
    assert!(
        html.contains("rel=\"noopener noreferrer nofollow\""),
        "{html}"
    );
    // A product saved with that text shows the same HTML.
    let mut body = phone("Preview Phone", "PRV", 1, "active", &[]);
    body["description"] = json!(markdown);
    let saved = product(&app, &owner, body).await;
    assert_eq!(saved["description_html"], html.as_str());

    let long = "a".repeat(20_001);
    let refused = send(
        &app,
        Method::POST,
        &path,
        &owner.access,
        Some(json!({ "description": long })),
    )
    .await;
    let error = assert_error(refused, 422, "validation_failed").await;
    assert_eq!(
        error["error"]["details"]["fields"][0]["field"],
        "description"
    );
    let unknown = send(
        &app,
        Method::POST,
        &path,
        &owner.access,
        Some(json!({ "markdown": "x" })),
    )
    .await;
    assert_error(unknown, 422, "validation_failed").await;

    let role: Value = send(
        &app,
        Method::POST,
        &admin("preview", "/roles"),
        &owner.access,
        Some(json!({ "name": "Readers", "permissions": ["products.read"] })),
    )
    .await
    .json()
    .await
    .unwrap();
    let (reader, _) = app
        .add_member(&owner, "reader@example.com", role["key"].as_str().unwrap())
        .await;
    let forbidden = send(
        &app,
        Method::POST,
        &path,
        &reader,
        Some(json!({ "description": "x" })),
    )
    .await;
    assert_error(forbidden, 403, "forbidden").await;
    let anonymous = app.post_json(&path, &json!({ "description": "x" })).await;
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn the_public_catalogue_is_gzipped_for_clients_that_accept_it_and_private_answers_are_not() {
    let app = spawn_app().await;
    let owner = app.verified_merchant("gzip-shop").await;
    for n in 0..5 {
        product(
            &app,
            &owner,
            phone(
                &format!("Gzip Phone {n}"),
                &format!("GZ{n}"),
                1000,
                "active",
                &[],
            ),
        )
        .await;
    }
    let url = app.url("/api/v1/stores/gzip-shop/products");
    let plain = app.client.get(&url).send().await.unwrap();
    assert!(
        plain.headers().get("content-encoding").is_none(),
        "only on request"
    );
    let etag = plain.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with("W/\""),
        "one entity, either encoding: {etag}"
    );
    let body = plain.bytes().await.unwrap();

    let zipped = app
        .client
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.status(), 200);
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let vary: Vec<String> = zipped
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_lowercase())
        .collect();
    assert!(
        vary.iter().any(|v| v.contains("accept-encoding")),
        "{vary:?}"
    );
    assert_eq!(zipped.headers()["etag"].to_str().unwrap(), etag);
    let packed = zipped.bytes().await.unwrap();
    let mut unpacked = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&packed[..]),
        &mut unpacked,
    )
    .unwrap();
    assert_eq!(unpacked, body, "the same JSON");
    assert!(
        packed.len() * 2 < body.len(),
        "{} → {} bytes",
        body.len(),
        packed.len()
    );
    // The weak tag still revalidates.
    let again = app
        .client
        .get(&url)
        .header("accept-encoding", "gzip")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // Answers with anything private in them are never compressed.
    let login = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("accept-encoding", "gzip")
        .json(&json!({ "email": owner.email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(login.headers().get("content-encoding").is_none());
    let admin_list = app
        .authed(Method::GET, &admin("gzip-shop", "/products"), &owner.access)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(admin_list.status(), 200);
    assert!(admin_list.headers().get("content-encoding").is_none());
}

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn the_platform_api_refuses_a_missing_or_wrong_token() {
    let app = spawn_app().await;
    let missing = app
        .client
        .get(app.url("/api/v1/platform/stores"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_error(missing, 401, "unauthorized").await;
    let wrong = app
        .client
        .post(app.url("/api/v1/platform/stores"))
        .bearer_auth("not-the-token")
        .json(&json!({ "slug": "sneaky", "name": "Sneaky", "currency": "NGN" }))
        .send()
        .await
        .unwrap();
    assert_error(wrong, 401, "unauthorized").await;
    assert_error(
        app.get("/api/v1/stores/sneaky").await,
        404,
        "store_not_found",
    )
    .await;
}

#[tokio::test]
async fn a_taken_slug_is_409_slug_taken() {
    let app = spawn_app().await;
    app.create_store("twin-shop").await;
    let again = app
        .post_store(&json!({ "slug": "twin-shop", "name": "Other", "currency": "USD" }))
        .await;
    assert_error(again, 409, "slug_taken").await;
    let profile = app.get_json("/api/v1/stores/twin-shop").await;
    assert_eq!(profile["currency"], "NGN", "the first store is unchanged");
}

#[tokio::test]
async fn stores_are_listed_in_pages_in_slug_order() {
    let app = spawn_app().await;
    for slug in ["delta-shop", "alpha-shop", "charlie-shop", "bravo-shop"] {
        app.create_store(slug).await;
    }
    let page: Value = app
        .platform_send(Method::GET, "/api/v1/platform/stores?limit=3")
        .await
        .json()
        .await
        .unwrap();
    let slugs: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].clone())
        .collect();
    assert_eq!(slugs, ["alpha-shop", "bravo-shop", "charlie-shop"]);
    assert_eq!(page["items"][0]["status"], "active");
    assert!(page["items"][0]["created_at"].is_string());
    assert_eq!(page["next_after"], "charlie-shop");
    let rest: Value = app
        .platform_send(
            Method::GET,
            "/api/v1/platform/stores?limit=3&after=charlie-shop",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"][0]["slug"], "delta-shop");
    assert_eq!(rest["next_after"], Value::Null);
}

#[tokio::test]
async fn suspending_an_unknown_store_is_404() {
    let app = spawn_app().await;
    let response = app
        .platform_send(Method::POST, "/api/v1/platform/stores/ghost-shop/suspend")
        .await;
    assert_error(response, 404, "store_not_found").await;
}

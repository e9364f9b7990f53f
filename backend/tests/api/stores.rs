use serde_json::Value;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn a_created_store_has_a_public_profile() {
    let app = spawn_app().await;
    let created = app.create_store("demo-shop").await;
    let response = app.get("/api/v1/stores/demo-shop").await;
    assert_eq!(response.status(), 200);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["id"], created["id"]);
    assert_eq!(profile["slug"], "demo-shop");
    assert_eq!(profile["name"], "Store demo-shop");
    assert_eq!(profile["currency"], "NGN");
    assert_eq!(profile["currency_exponent"], 2);
    assert_eq!(profile["country"], "NG");
    assert_eq!(profile["timezone"], "UTC");
    assert!(
        profile.get("status").is_none(),
        "public profile hides operator fields"
    );
}

#[tokio::test]
async fn an_unknown_or_malformed_store_is_404_store_not_found() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/stores/ghost-shop",
        "/api/v1/stores/NOT_A_SLUG",
        "/api/v1/stores/ab",
    ] {
        assert_error(app.get(path).await, 404, "store_not_found").await;
    }
}

#[tokio::test]
async fn a_suspended_store_is_404_and_comes_back_when_reactivated() {
    let app = spawn_app().await;
    app.create_store("pause-shop").await;
    let suspended = app
        .platform_send(
            reqwest::Method::POST,
            "/api/v1/platform/stores/pause-shop/suspend",
        )
        .await;
    assert_eq!(suspended.status(), 200);
    let body: Value = suspended.json().await.unwrap();
    assert_eq!(body["status"], "suspended");
    assert_error(
        app.get("/api/v1/stores/pause-shop").await,
        404,
        "store_not_found",
    )
    .await;

    let reactivated = app
        .platform_send(
            reqwest::Method::POST,
            "/api/v1/platform/stores/pause-shop/reactivate",
        )
        .await;
    assert_eq!(reactivated.status(), 200);
    assert_eq!(app.get("/api/v1/stores/pause-shop").await.status(), 200);
}

#[tokio::test]
async fn one_store_never_answers_for_another() {
    let app = spawn_app().await;
    let a = app.create_store("shop-a").await;
    let b = app.create_store("shop-b").await;
    let profile_a = app.get_json("/api/v1/stores/shop-a").await;
    let profile_b = app.get_json("/api/v1/stores/shop-b").await;
    assert_eq!(profile_a["id"], a["id"]);
    assert_eq!(profile_b["id"], b["id"]);
    assert_ne!(a["id"], b["id"]);
}

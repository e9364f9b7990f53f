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

#[tokio::test]
async fn staff_with_settings_write_change_the_profile_and_the_currency_locks_with_the_first_order()
{
    use reqwest::Method;
    use serde_json::json;

    use crate::{
        checkout::shop,
        helpers::{admin, send},
        orders::{member_with, order_phones},
    };
    let app = spawn_app().await;
    let s = shop(&app, "profile-shop").await;
    let patch = |token: String, body: Value| {
        let app = &app;
        async move {
            send(
                app,
                Method::PATCH,
                &admin("profile-shop", ""),
                &token,
                Some(body),
            )
            .await
        }
    };
    let owner = s.merchant.access.clone();
    let store_id = app.get_json("/api/v1/stores/profile-shop").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let logo = format!("/media/{store_id}/logo.png");
    let changed = patch(
        owner.clone(),
        json!({
            "name": "Profile Phones",
            "description": "Phones, delivered across Nigeria.",
            "logo_url": logo,
            "contact_email": "Hello@Profile-Shop.example",
            "timezone": "Africa/Lagos",
            "currency": "USD",
        }),
    )
    .await;
    assert_eq!(changed.status(), 200);
    let public = app.get_json("/api/v1/stores/profile-shop").await;
    assert_eq!(public["name"], "Profile Phones");
    assert_eq!(public["description"], "Phones, delivered across Nigeria.");
    assert_eq!(public["logo_url"], logo.as_str());
    assert_eq!(public["contact_email"], "hello@profile-shop.example");
    assert_eq!(
        (public["timezone"].as_str(), public["currency"].as_str()),
        (Some("Africa/Lagos"), Some("USD"))
    );

    // Every bad field at once, nothing saved.
    let bad = patch(
        owner.clone(),
        json!({
            "name": "  ",
            "logo_url": "http://elsewhere.example/logo.png",
            "contact_email": "not an email",
            "timezone": "Mars/Olympus",
            "currency": "XXX1",
        }),
    )
    .await;
    let body = assert_error(bad, 422, "validation_failed").await;
    let mut fields: Vec<&str> = body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["contact_email", "currency", "logo_url", "name", "timezone"]
    );
    assert_eq!(
        app.get_json("/api/v1/stores/profile-shop").await["name"],
        "Profile Phones"
    );
    let unknown = patch(owner.clone(), json!({ "status": "suspended" })).await;
    assert_eq!(unknown.status(), 422, "status is not a profile field");

    // Cleared fields go; once an order exists the currency is locked.
    assert_eq!(
        patch(owner.clone(), json!({ "logo_url": "", "currency": "NGN" }))
            .await
            .status(),
        200
    );
    assert!(
        app.get_json("/api/v1/stores/profile-shop")
            .await
            .get("logo_url")
            .is_none()
    );
    order_phones(&app, &s, 1, "p1").await;
    let locked = assert_error(
        patch(owner.clone(), json!({ "currency": "USD" })).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        locked["error"]["details"]["fields"][0]["code"],
        "currency_locked"
    );
    assert_eq!(
        patch(
            owner.clone(),
            json!({ "currency": "NGN", "name": "Same Money" })
        )
        .await
        .status(),
        200
    );

    // Without settings.write: refused; the change is in the audit log.
    app.verify_staff(&s.merchant.email).await;
    let clerk = member_with(&app, &s, "Clerk", &["orders.read"]).await;
    assert_error(
        patch(clerk, json!({ "name": "Mine now" })).await,
        403,
        "forbidden",
    )
    .await;
    let audit = crate::helpers::get_json(
        &app,
        &admin("profile-shop", "/audit-log?action=store.updated"),
        &owner,
    )
    .await;
    assert!(audit["items"].as_array().unwrap().len() >= 3, "{audit:#}");
}

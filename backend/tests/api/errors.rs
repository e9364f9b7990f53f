//! Every kind of bad request gets its status and stable code in the JSON envelope, and a 5xx
//! body says nothing about the inside of the server.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn an_unknown_route_is_404_not_found() {
    let app = spawn_app().await;
    assert_error(app.get("/api/v1/nothing/here").await, 404, "not_found").await;
    assert_error(app.get("/").await, 404, "not_found").await;
}

#[tokio::test]
async fn a_wrong_method_is_405_method_not_allowed() {
    let app = spawn_app().await;
    let response = app.client.delete(app.url("/health")).send().await.unwrap();
    assert_error(response, 405, "method_not_allowed").await;
    let response = app
        .client
        .put(app.url("/api/v1/platform/stores"))
        .send()
        .await
        .unwrap();
    assert_error(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn malformed_json_is_400_invalid_json() {
    let app = spawn_app().await;
    for body in ["{", "{\"slug\": }", "not json at all", "{} {}"] {
        let response = app
            .platform(Method::POST, "/api/v1/platform/stores")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let error = assert_error(response, 400, "invalid_json").await;
        assert!(error["error"]["details"]["line"].is_number());
    }
}

#[tokio::test]
async fn failed_validation_is_422_with_every_bad_field_named() {
    let app = spawn_app().await;
    let response = app.post_store(&json!({ "slug": "Bad Slug", "name": "", "currency": "XXX", "timezone": "Nowhere/City" })).await;
    let body = assert_error(response, 422, "validation_failed").await;
    let fields: Vec<(String, String)> = body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("slug", "invalid_character"),
        ("name", "required"),
        ("currency", "unknown_currency"),
        ("timezone", "unknown_timezone"),
    ];
    assert_eq!(fields, expected.map(|(f, c)| (f.to_owned(), c.to_owned())));

    let wrong_type = app
        .post_store(&json!({ "slug": 7, "name": "x", "currency": "NGN" }))
        .await;
    let body = assert_error(wrong_type, 422, "validation_failed").await;
    assert_eq!(body["error"]["details"]["fields"][0]["field"], "slug");

    let reserved = app
        .post_store(&json!({ "slug": "admin", "name": "x", "currency": "NGN" }))
        .await;
    let body = assert_error(reserved, 422, "validation_failed").await;
    assert_eq!(body["error"]["details"]["fields"][0]["code"], "reserved");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_nothing_is_created() {
    let app = spawn_app().await;
    let huge = "x".repeat(200 * 1024);
    let response = app
        .post_store(&json!({ "slug": "big-shop", "name": huge, "currency": "NGN" }))
        .await;
    assert_error(response, 413, "payload_too_large").await;
    assert_error(
        app.get("/api/v1/stores/big-shop").await,
        404,
        "store_not_found",
    )
    .await;
}

#[tokio::test]
async fn a_non_json_body_is_415() {
    let app = spawn_app().await;
    let response = app
        .platform(Method::POST, "/api/v1/platform/stores")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("slug=x")
        .send()
        .await
        .unwrap();
    assert_error(response, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn a_bad_query_parameter_is_400_in_the_envelope() {
    let app = spawn_app().await;
    let response = app
        .platform_send(Method::GET, "/api/v1/platform/stores?limit=lots")
        .await;
    assert_error(response, 400, "bad_request").await;
}

#[tokio::test]
async fn a_server_error_reveals_nothing_from_inside() {
    let app = spawn_app().await;
    app.create_store("broken-shop").await;
    // Corrupt the stored record behind the server's back, as a bad migration or manual edit
    // might, in whichever store the app runs on.
    match &app.ctx.settings.mongodb_uri {
        Some(uri) => {
            use secrecy::ExposeSecret;
            let client = mongodb::Client::with_uri_str(uri.expose_secret())
                .await
                .unwrap();
            client
                .database(&app.ctx.settings.mongodb_database)
                .collection::<mongodb::bson::Document>("stores")
                .update_one(
                    mongodb::bson::doc! { "slug": "broken-shop" },
                    mongodb::bson::doc! { "$set": { "currency": "ZZZ-SECRET" } },
                )
                .await
                .unwrap();
        }
        None => {
            let db =
                rusqlite::Connection::open(app.data_dir.path().join("techverse.sqlite3")).unwrap();
            db.execute(
                "UPDATE stores SET currency = 'ZZZ-SECRET' WHERE slug = 'broken-shop'",
                [],
            )
            .unwrap();
        }
    }
    let response = app.get("/api/v1/stores/broken-shop").await;
    let text_body = assert_error(response, 500, "internal_error").await;
    let text = text_body.to_string();
    assert_eq!(text_body["error"]["message"], "internal server error");
    for leak in ["ZZZ", "SECRET", "currency", "sqlite", "store broken"] {
        assert!(!text.contains(leak), "5xx body leaks `{leak}`: {text}");
    }
    let _: Value = text_body;
}

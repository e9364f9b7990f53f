//! Tenancy: staff of store A see every admin endpoint of store B as a 404, and a customer
//! token of store A means nothing in store B.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_error, spawn_app};

#[tokio::test]
async fn staff_of_one_store_get_404_on_every_admin_endpoint_of_another() {
    let app = spawn_app().await;
    let a = app.verified_merchant("iso-a").await;
    let b = app.verified_merchant("iso-b").await;
    let role: serde_json::Value = app
        .authed(Method::POST, "/api/v1/admin/stores/iso-b/roles", &b.access)
        .json(&json!({ "name": "B role", "permissions": [] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let role_key = role["key"].as_str().unwrap();
    let member = format!("/api/v1/admin/stores/iso-b/staff/{}", b.user_id);
    let role_path = format!("/api/v1/admin/stores/iso-b/roles/{role_key}");
    let endpoints: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, "/api/v1/admin/stores/iso-b".into(), None),
        (Method::GET, "/api/v1/admin/stores/iso-b/staff".into(), None),
        (
            Method::POST,
            "/api/v1/admin/stores/iso-b/staff/invitations".into(),
            Some(json!({ "email": "x@example.com", "role": "staff" })),
        ),
        (
            Method::PATCH,
            member.clone(),
            Some(json!({ "role": "staff" })),
        ),
        (Method::DELETE, member, None),
        (Method::GET, "/api/v1/admin/stores/iso-b/roles".into(), None),
        (
            Method::POST,
            "/api/v1/admin/stores/iso-b/roles".into(),
            Some(json!({ "name": "X", "permissions": [] })),
        ),
        (
            Method::PATCH,
            role_path.clone(),
            Some(json!({ "name": "Y" })),
        ),
        (Method::DELETE, role_path, None),
        (
            Method::GET,
            "/api/v1/admin/stores/iso-b/audit-log".into(),
            None,
        ),
    ];
    for (method, path, body) in endpoints {
        let request = app.authed(method.clone(), &path, &a.access);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let response = request.send().await.unwrap();
        let body = assert_error(response, 404, "store_not_found").await;
        assert!(
            !body.to_string().contains("iso-b\""),
            "{method} {path}: {body}"
        );
    }
    // Store B is untouched and its owner still sees everything.
    let members: serde_json::Value = app
        .authed(Method::GET, "/api/v1/admin/stores/iso-b/staff", &b.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(members["items"].as_array().unwrap().len(), 1);
    let roles: serde_json::Value = app
        .authed(Method::GET, "/api/v1/admin/stores/iso-b/roles", &b.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(roles["items"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_customer_of_one_store_cannot_use_another() {
    let app = spawn_app().await;
    app.signup("shop-one").await;
    app.signup("shop-two").await;
    let shopper = app
        .register_customer("shop-one", "ada@example.com", PASSWORD)
        .await;
    for path in [
        "/api/v1/stores/shop-two/customers/me",
        "/api/v1/stores/shop-two/customers/me/addresses",
    ] {
        let response = app
            .authed(Method::GET, path, &shopper.access)
            .send()
            .await
            .unwrap();
        assert_error(response, 401, "unauthorized").await;
    }
    let logout_all = app
        .authed(
            Method::POST,
            "/api/v1/stores/shop-two/auth/logout-all",
            &shopper.access,
        )
        .send()
        .await
        .unwrap();
    assert_error(logout_all, 401, "unauthorized").await;
    let admin = app
        .authed(
            Method::GET,
            "/api/v1/admin/stores/shop-one/staff",
            &shopper.access,
        )
        .send()
        .await
        .unwrap();
    assert_error(admin, 401, "unauthorized").await;
    let login = app
        .post_json(
            "/api/v1/stores/shop-two/auth/login",
            &json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await;
    assert_error(login, 401, "invalid_credentials").await;
}

//! Customers belong to one store: registration, sessions bound to the store, profile,
//! addresses, verification and password reset.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, assert_error, spawn_app};

#[tokio::test]
async fn the_same_email_is_two_customers_of_two_stores_with_two_passwords() {
    let app = spawn_app().await;
    app.create_store("store-a").await;
    app.create_store("store-b").await;
    let a = app
        .register_customer("store-a", "ada@example.com", PASSWORD)
        .await;
    let b = app
        .register_customer("store-b", "ADA@example.com", "another long passphrase")
        .await;
    assert_ne!(a.id, b.id);
    let login = |store: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.post_json(
                &format!("/api/v1/stores/{store}/auth/login"),
                &json!({ "email": "ada@example.com", "password": password }),
            )
            .await
        }
    };
    assert_eq!(login("store-a", PASSWORD).await.status(), 200);
    assert_eq!(
        login("store-b", "another long passphrase").await.status(),
        200
    );
    assert_error(
        login("store-a", "another long passphrase").await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_error(login("store-b", PASSWORD).await, 401, "invalid_credentials").await;
    let again = app
        .post_json(
            "/api/v1/stores/store-a/customers",
            &json!({ "email": "ada@example.com", "password": PASSWORD, "name": "Ada" }),
        )
        .await;
    assert_error(again, 409, "email_taken").await;
}

#[tokio::test]
async fn a_customer_token_of_store_a_is_refused_by_store_b() {
    let app = spawn_app().await;
    app.create_store("token-a").await;
    app.create_store("token-b").await;
    let shopper = app
        .register_customer("token-a", "ada@example.com", PASSWORD)
        .await;
    let own = app
        .authed(
            Method::GET,
            "/api/v1/stores/token-a/customers/me",
            &shopper.access,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let other = app
        .authed(
            Method::GET,
            "/api/v1/stores/token-b/customers/me",
            &shopper.access,
        )
        .send()
        .await
        .unwrap();
    assert_error(other, 401, "unauthorized").await;
    let refresh = app
        .post_json(
            "/api/v1/stores/token-b/auth/refresh",
            &json!({ "refresh_token": shopper.refresh }),
        )
        .await;
    assert_error(refresh, 400, "invalid_token").await;
    // Nor is a customer token any good on the staff side.
    let me = app
        .authed(Method::GET, "/api/v1/me", &shopper.access)
        .send()
        .await
        .unwrap();
    assert_error(me, 401, "unauthorized").await;
    // The failed attempt in store B did not hurt the session in store A.
    let refresh = app
        .post_json(
            "/api/v1/stores/token-a/auth/refresh",
            &json!({ "refresh_token": shopper.refresh }),
        )
        .await;
    assert_eq!(refresh.status(), 200);
}

#[tokio::test]
async fn a_customer_reads_and_updates_their_profile() {
    let app = spawn_app().await;
    app.create_store("profile-shop").await;
    let shopper = app
        .register_customer("profile-shop", "ada@example.com", PASSWORD)
        .await;
    let path = "/api/v1/stores/profile-shop/customers/me";
    let me: Value = app
        .authed(Method::GET, path, &shopper.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["email_verified"], false);
    assert!(me.get("password_hash").is_none());
    let patched = app
        .authed(Method::PATCH, path, &shopper.access)
        .json(&json!({ "name": "Ada Lovelace", "phone": "+234 803 123 4567" }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["name"], "Ada Lovelace");
    assert_eq!(patched["phone"], "+234 803 123 4567");
    let cleared: Value = app
        .authed(Method::PATCH, path, &shopper.access)
        .json(&json!({ "phone": null }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(cleared.get("phone").is_none());
    assert_eq!(cleared["name"], "Ada Lovelace");
    let bad = app
        .authed(Method::PATCH, path, &shopper.access)
        .json(&json!({ "name": "", "phone": "call me maybe" }))
        .send()
        .await
        .unwrap();
    let body = assert_error(bad, 422, "validation_failed").await;
    assert_eq!(
        body["error"]["details"]["fields"].as_array().unwrap().len(),
        2
    );
    let anonymous = app.get(path).await;
    assert_error(anonymous, 401, "unauthorized").await;
}

#[tokio::test]
async fn addresses_can_be_added_read_replaced_and_removed_in_any_country() {
    let app = spawn_app().await;
    app.create_store("address-shop").await;
    let shopper = app
        .register_customer("address-shop", "ada@example.com", PASSWORD)
        .await;
    let base = "/api/v1/stores/address-shop/customers/me/addresses";
    let lagos = json!({ "name": "Ada Obi", "line1": "12 Admiralty Way", "city": "Lekki",
                        "region": "Lagos", "country": "NG" });
    let created = app
        .authed(Method::POST, base, &shopper.access)
        .json(&lagos)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let first: Value = created.json().await.unwrap();
    assert_eq!(
        first["is_default"], true,
        "the first address is the default"
    );
    assert!(first.get("postal_code").is_none());
    let tokyo = json!({ "name": "Ada Obi", "line1": "1-1 Chiyoda", "city": "Tokyo",
                        "postal_code": "100-0001", "country": "JP", "is_default": true });
    let second: Value = app
        .authed(Method::POST, base, &shopper.access)
        .json(&tokyo)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["is_default"], true);
    let list: Value = app
        .authed(Method::GET, base, &shopper.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items.iter().filter(|a| a["is_default"] == true).count(), 1);

    let one = format!("{base}/{}", first["id"].as_str().unwrap());
    let mut moved = lagos.clone();
    moved["city"] = json!("Ikeja");
    let replaced: Value = app
        .authed(Method::PUT, &one, &shopper.access)
        .json(&moved)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["city"], "Ikeja");
    let read: Value = app
        .authed(Method::GET, &one, &shopper.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["city"], "Ikeja");
    let bad = app
        .authed(Method::POST, base, &shopper.access)
        .json(&json!({ "name": "X", "line1": "", "city": "Y", "country": "Atlantis" }))
        .send()
        .await
        .unwrap();
    assert_error(bad, 422, "validation_failed").await;
    let deleted = app
        .authed(Method::DELETE, &one, &shopper.access)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = app
        .authed(Method::GET, &one, &shopper.access)
        .send()
        .await
        .unwrap();
    assert_error(gone, 404, "not_found").await;
    let again = app
        .authed(Method::DELETE, &one, &shopper.access)
        .send()
        .await
        .unwrap();
    assert_error(again, 404, "not_found").await;
    let junk = app
        .authed(Method::GET, &format!("{base}/not-an-id"), &shopper.access)
        .send()
        .await
        .unwrap();
    assert_error(junk, 404, "not_found").await;
}

#[tokio::test]
async fn another_customer_cannot_see_or_touch_my_addresses() {
    let app = spawn_app().await;
    app.create_store("private-shop").await;
    let ada = app
        .register_customer("private-shop", "ada@example.com", PASSWORD)
        .await;
    let bob = app
        .register_customer("private-shop", "bob@example.com", PASSWORD)
        .await;
    let base = "/api/v1/stores/private-shop/customers/me/addresses";
    let address: Value = app
        .authed(Method::POST, base, &ada.access)
        .json(&json!({ "name": "Ada", "line1": "1 Road", "city": "Abuja", "country": "NG" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!("{base}/{}", address["id"].as_str().unwrap());
    let read = app
        .authed(Method::GET, &path, &bob.access)
        .send()
        .await
        .unwrap();
    assert_error(read, 404, "not_found").await;
    let delete = app
        .authed(Method::DELETE, &path, &bob.access)
        .send()
        .await
        .unwrap();
    assert_error(delete, 404, "not_found").await;
    let still = app
        .authed(Method::GET, &path, &ada.access)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200);
}

#[tokio::test]
async fn customers_verify_their_email_and_reset_their_password_per_store() {
    let app = spawn_app().await;
    app.create_store("mail-shop").await;
    let shopper = app
        .register_customer("mail-shop", "ada@example.com", PASSWORD)
        .await;
    let welcome = app
        .wait_mail("ada@example.com", "Welcome to Store mail-shop")
        .await;
    assert!(welcome.contains("Store mail-shop"));
    let token = app
        .mailed_token("ada@example.com", "/s/mail-shop/verify-email")
        .await;
    let verified = app
        .post_json(
            "/api/v1/stores/mail-shop/auth/verify-email",
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(verified.status(), 200);
    let me: Value = app
        .authed(
            Method::GET,
            "/api/v1/stores/mail-shop/customers/me",
            &shopper.access,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email_verified"], true);

    let requested = app
        .post_json(
            "/api/v1/stores/mail-shop/auth/password-reset/request",
            &json!({ "email": "ada@example.com" }),
        )
        .await;
    assert_eq!(requested.status(), 202);
    let token = app
        .mailed_token("ada@example.com", "/s/mail-shop/reset-password")
        .await;
    // A customer's reset token means nothing on the staff side.
    let wrong_realm = app
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({ "token": token, "password": "a brand new passphrase" }),
        )
        .await;
    assert_error(wrong_realm, 400, "invalid_token").await;
}

#[tokio::test]
async fn customer_logout_all_and_reset_revoke_every_customer_session() {
    let app = spawn_app().await;
    app.create_store("revoke-shop").await;
    let shopper = app
        .register_customer("revoke-shop", "ada@example.com", PASSWORD)
        .await;
    let second: Value = app
        .post_json(
            "/api/v1/stores/revoke-shop/auth/login",
            &json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await
        .json()
        .await
        .unwrap();
    let out = app
        .authed(
            Method::POST,
            "/api/v1/stores/revoke-shop/auth/logout-all",
            &shopper.access,
        )
        .send()
        .await
        .unwrap();
    let out: Value = out.json().await.unwrap();
    assert_eq!(out["revoked_sessions"], 2);
    let me = app
        .authed(
            Method::GET,
            "/api/v1/stores/revoke-shop/customers/me",
            second["access_token"].as_str().unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_error(me, 401, "unauthorized").await;

    let login: Value = app
        .post_json(
            "/api/v1/stores/revoke-shop/auth/login",
            &json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await
        .json()
        .await
        .unwrap();
    app.post_json(
        "/api/v1/stores/revoke-shop/auth/password-reset/request",
        &json!({ "email": "ada@example.com" }),
    )
    .await;
    let token = app
        .mailed_token("ada@example.com", "/s/revoke-shop/reset-password")
        .await;
    let reset = app
        .post_json(
            "/api/v1/stores/revoke-shop/auth/password-reset",
            &json!({ "token": token, "password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(reset.status(), 200);
    let refresh = app
        .post_json(
            "/api/v1/stores/revoke-shop/auth/refresh",
            &json!({ "refresh_token": login["refresh_token"] }),
        )
        .await;
    assert_error(refresh, 400, "invalid_token").await;
}

#[tokio::test]
async fn a_suspended_store_refuses_its_customers() {
    let app = spawn_app().await;
    app.create_store("closing-shop").await;
    let shopper = app
        .register_customer("closing-shop", "ada@example.com", PASSWORD)
        .await;
    app.platform_send(Method::POST, "/api/v1/platform/stores/closing-shop/suspend")
        .await;
    let me = app
        .authed(
            Method::GET,
            "/api/v1/stores/closing-shop/customers/me",
            &shopper.access,
        )
        .send()
        .await
        .unwrap();
    assert_error(me, 404, "store_not_found").await;
    let login = app
        .post_json(
            "/api/v1/stores/closing-shop/auth/login",
            &json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await;
    assert_error(login, 404, "store_not_found").await;
}

#[tokio::test]
async fn a_customer_logs_out_one_session_and_can_ask_for_a_new_verification_link() {
    let app = spawn_app().await;
    app.create_store("bye-shop").await;
    let shopper = app
        .register_customer("bye-shop", "ada@example.com", PASSWORD)
        .await;
    let second: Value = app
        .post_json(
            "/api/v1/stores/bye-shop/auth/login",
            &json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await
        .json()
        .await
        .unwrap();
    let out = app
        .authed(
            Method::POST,
            "/api/v1/stores/bye-shop/auth/logout",
            &shopper.access,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let me = app
        .authed(
            Method::GET,
            "/api/v1/stores/bye-shop/customers/me",
            &shopper.access,
        )
        .send()
        .await
        .unwrap();
    assert_error(me, 401, "unauthorized").await;
    let still = app
        .authed(
            Method::GET,
            "/api/v1/stores/bye-shop/customers/me",
            second["access_token"].as_str().unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200, "only that session ended");

    let first_link = app
        .mailed_token("ada@example.com", "/s/bye-shop/verify-email")
        .await;
    let again = app
        .post_json(
            "/api/v1/stores/bye-shop/auth/verify-email/request",
            &json!({ "email": "ada@example.com" }),
        )
        .await;
    assert_eq!(again.status(), 202);
    let unknown = app
        .post_json(
            "/api/v1/stores/bye-shop/auth/verify-email/request",
            &json!({ "email": "zed@example.com" }),
        )
        .await;
    assert_eq!(unknown.status(), 202);
    let malformed = app
        .post_json(
            "/api/v1/stores/bye-shop/auth/verify-email/request",
            &json!({ "email": "zed" }),
        )
        .await;
    assert_error(malformed, 422, "validation_failed").await;
    // The newer link replaces the older one.
    let mut latest = first_link.clone();
    for _ in 0..100 {
        let tokens: Vec<String> = app
            .mails()
            .iter()
            .filter_map(|m| crate::helpers::token_in(m, "/s/bye-shop/verify-email"))
            .collect();
        if tokens.len() == 2 {
            latest = tokens.into_iter().find(|t| *t != first_link).unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_ne!(latest, first_link);
    let old = app
        .post_json(
            "/api/v1/stores/bye-shop/auth/verify-email",
            &json!({ "token": first_link }),
        )
        .await;
    assert_error(old, 400, "invalid_token").await;
    let new = app
        .post_json(
            "/api/v1/stores/bye-shop/auth/verify-email",
            &json!({ "token": latest }),
        )
        .await;
    assert_eq!(new.status(), 200);
}

/// Asks a password reset for `email` in `store` and returns the mailed token.
async fn reset_token(app: &crate::helpers::TestApp, store: &str, email: &str) -> String {
    let requested = app
        .post_json(
            &format!("/api/v1/stores/{store}/auth/password-reset/request"),
            &json!({ "email": email }),
        )
        .await;
    assert_eq!(requested.status(), 202);
    app.mailed_token(email, &format!("/s/{store}/reset-password"))
        .await
}

#[tokio::test]
async fn a_new_password_may_not_be_the_own_email_and_a_refused_one_keeps_the_link() {
    let app = spawn_app().await;
    app.create_store("policy-shop").await;
    app.register_customer("policy-shop", "ada.obi@example.com", PASSWORD)
        .await;
    let token = reset_token(&app, "policy-shop", "ada.obi@example.com").await;
    let reset = |password: &str| {
        let body = json!({ "token": token, "password": password });
        let app = &app;
        async move {
            app.post_json("/api/v1/stores/policy-shop/auth/password-reset", &body)
                .await
        }
    };
    let refused = assert_error(reset("ada.obi@example.com").await, 422, "validation_failed").await;
    assert_eq!(
        refused["error"]["details"]["fields"][0]["field"],
        "password"
    );
    assert_eq!(
        reset("a brand new passphrase").await.status(),
        200,
        "the link still works"
    );
}

#[tokio::test]
async fn a_profile_save_from_a_copy_read_before_a_password_reset_keeps_the_new_password() {
    let app = spawn_app().await;
    let store = app.create_store("race-shop").await;
    let shopper = app
        .register_customer("race-shop", "ada@example.com", PASSWORD)
        .await;
    // A profile edit loaded the customer…
    let store_id = store["id"].as_str().unwrap().parse().unwrap();
    let stale = app
        .ctx
        .storage
        .customers()
        .by_id(store_id, shopper.id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    // …a password reset completes meanwhile…
    let token = reset_token(&app, "race-shop", "ada@example.com").await;
    let reset = app
        .post_json(
            "/api/v1/stores/race-shop/auth/password-reset",
            &json!({ "token": token, "password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(reset.status(), 200);
    // …and then the edit saves.
    let patch: techverse::app::customers::ProfilePatch =
        serde_json::from_value(json!({ "name": "Ada Obi" })).unwrap();
    let saved = techverse::app::customers::update_profile(&app.ctx, stale, &patch)
        .await
        .unwrap();
    assert_eq!(saved.name.as_str(), "Ada Obi");
    let login = app
        .post_json(
            "/api/v1/stores/race-shop/auth/login",
            &json!({ "email": "ada@example.com", "password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(login.status(), 200, "the new password still holds");
    let old = app
        .post_json(
            "/api/v1/stores/race-shop/auth/login",
            &json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await;
    assert_error(old, 401, "invalid_credentials").await;
}

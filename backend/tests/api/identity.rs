//! Merchant sign-up and staff sessions: login, refresh rotation and reuse detection, logout,
//! logout-all, email verification, password reset, and the cookie transport with CSRF.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, spawn_app, spawn_app_with};

#[tokio::test]
async fn signup_creates_the_owner_and_the_first_store_and_signs_in() {
    let app = spawn_app().await;
    let merchant = app.signup("lagos-gadgets").await;
    let me: Value = app
        .authed(Method::GET, "/api/v1/me", &merchant.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["email"], "owner@lagos-gadgets.example");
    assert_eq!(me["user"]["email_verified"], false);
    assert_eq!(me["stores"][0]["store"]["slug"], "lagos-gadgets");
    assert_eq!(me["stores"][0]["role"], "owner");
    assert_eq!(me["stores"][0]["permissions"].as_array().unwrap().len(), 11);
    // A welcome and a verification mail, with the true expiry.
    let welcome = app.wait_mail(&merchant.email, "Welcome to TechVerse").await;
    assert!(welcome.contains("Your account is ready"));
    let verify = app.wait_mail(&merchant.email, "/admin/verify-email").await;
    assert!(verify.contains("expires"), "{verify}");
    assert!(verify.contains("(in 24 hours)"), "{verify}");
}

#[tokio::test]
async fn signup_reports_every_bad_field_including_a_weak_password() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/signup",
            &json!({
                "email": "not-an-email",
                "password": "password123",
                "name": " ",
                "store": { "slug": "API", "name": "x", "currency": "ZZZ" }
            }),
        )
        .await;
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
    for expected in [
        ("email", "invalid_email"),
        ("password", "too_common"),
        ("name", "required"),
        ("store.currency", "unknown_currency"),
    ] {
        assert!(
            fields
                .iter()
                .any(|(f, c)| f == expected.0 && c == expected.1),
            "{expected:?} in {fields:?}"
        );
    }
    let short = app
        .post_json(
            "/api/v1/signup",
            &json!({ "email": "a@b.example", "password": "short", "name": "A",
                     "store": { "slug": "shop-a", "name": "A", "currency": "NGN" } }),
        )
        .await;
    let body = assert_error(short, 422, "validation_failed").await;
    assert_eq!(body["error"]["details"]["fields"][0]["code"], "too_short");
}

#[tokio::test]
async fn a_duplicate_email_or_slug_is_a_conflict() {
    let app = spawn_app().await;
    app.signup("first-shop").await;
    let again = app
        .post_json(
            "/api/v1/signup",
            &json!({ "email": "OWNER@first-shop.example", "password": PASSWORD, "name": "B",
                     "store": { "slug": "second-shop", "name": "B", "currency": "NGN" } }),
        )
        .await;
    assert_error(again, 409, "email_taken").await;
    let slug = app
        .post_json(
            "/api/v1/signup",
            &json!({ "email": "other@example.com", "password": PASSWORD, "name": "B",
                     "store": { "slug": "first-shop", "name": "B", "currency": "NGN" } }),
        )
        .await;
    assert_error(slug, 409, "slug_taken").await;
}

#[tokio::test]
async fn login_answers_with_bearer_tokens_and_refuses_wrong_passwords_alike() {
    let app = spawn_app().await;
    let merchant = app.signup("login-shop").await;
    let response = app.login_staff(&merchant.email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().unwrap().contains('.'));
    let header = jsonwebtoken::decode_header(body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::HS256);
    assert_eq!(header.kid.as_deref(), Some("local"));

    let wrong = app
        .login_staff(&merchant.email, "not the password at all")
        .await;
    let wrong = assert_error(wrong, 401, "invalid_credentials").await;
    let unknown = app.login_staff("nobody@example.com", PASSWORD).await;
    let unknown = assert_error(unknown, 401, "invalid_credentials").await;
    assert_eq!(
        wrong, unknown,
        "unknown email and wrong password look the same"
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    let merchant = app.signup("rotate-shop").await;
    let first = merchant.refresh.clone();
    let rotated: Value = app
        .post_json("/api/v1/auth/refresh", &json!({ "refresh_token": first }))
        .await
        .json()
        .await
        .unwrap();
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    let access = rotated["access_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let me = app
        .authed(Method::GET, "/api/v1/me", &access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    let third: Value = app
        .post_json("/api/v1/auth/refresh", &json!({ "refresh_token": second }))
        .await
        .json()
        .await
        .unwrap();
    let third = third["refresh_token"].as_str().unwrap().to_owned();

    // The first token again, two rotations later: reuse, so the family is revoked and the
    // newest token and its access token die too.
    let reuse = app
        .post_json("/api/v1/auth/refresh", &json!({ "refresh_token": first }))
        .await;
    assert_error(reuse, 401, "session_revoked").await;
    let after = app
        .post_json("/api/v1/auth/refresh", &json!({ "refresh_token": third }))
        .await;
    assert_error(after, 400, "invalid_token").await;
    let me = app
        .authed(Method::GET, "/api/v1/me", &access)
        .send()
        .await
        .unwrap();
    assert_error(me, 401, "unauthorized").await;
    // Other sessions of the same user are untouched.
    let other = app.login_staff(&merchant.email, PASSWORD).await;
    assert_eq!(other.status(), 200);
}

/// Refreshes `token` twice at once, as two tabs (or two requests of one page) do when their
/// access token expires together, and checks both succeed with the same pair and the session
/// stays signed in. Returns the newest (refresh, access) tokens.
pub async fn concurrent_refreshes_agree(app: &TestApp, token: &str) -> (String, String) {
    let body = json!({ "refresh_token": token });
    let (a, b) = tokio::join!(
        app.post_json("/api/v1/auth/refresh", &body),
        app.post_json("/api/v1/auth/refresh", &body)
    );
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a["refresh_token"], b["refresh_token"], "the same new pair");
    assert_eq!(a["access_token"], b["access_token"]);
    let access = a["access_token"].as_str().unwrap();
    let me = app
        .authed(Method::GET, "/api/v1/me", access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "still signed in");
    let next = a["refresh_token"].as_str().unwrap();
    let again = app
        .post_json("/api/v1/auth/refresh", &json!({ "refresh_token": next }))
        .await;
    assert_eq!(again.status(), 200, "the shared new token goes on working");
    let again: Value = again.json().await.unwrap();
    let text = |key: &str| again[key].as_str().unwrap().to_owned();
    (text("refresh_token"), text("access_token"))
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_get_the_same_pair_and_keep_the_session() {
    let app = spawn_app().await;
    let merchant = app.signup("twin-tabs").await;
    concurrent_refreshes_agree(&app, &merchant.refresh).await;
}

#[tokio::test]
async fn a_replaced_token_past_the_grace_window_revokes_the_family() {
    let app = spawn_app_with(&[("TECHVERSE_REFRESH_GRACE_SECS", "1")]).await;
    let merchant = app.signup("grace-ends").await;
    let rotated = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": merchant.refresh }),
        )
        .await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let late = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": merchant.refresh }),
        )
        .await;
    assert_error(late, 401, "session_revoked").await;
    let current = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": rotated["refresh_token"] }),
        )
        .await;
    assert_error(current, 400, "invalid_token").await;
}

#[tokio::test]
async fn garbage_refresh_tokens_and_missing_tokens_are_refused() {
    let app = spawn_app().await;
    for token in ["", "abc", "a.b", &"x".repeat(500)] {
        let response = app
            .post_json("/api/v1/auth/refresh", &json!({ "refresh_token": token }))
            .await;
        assert_error(response, 400, "invalid_token").await;
    }
    let none = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_error(none, 401, "unauthorized").await;
    let me = app.get("/api/v1/me").await;
    assert_error(me, 401, "unauthorized").await;
    let forged = app
        .authed(Method::GET, "/api/v1/me", "eyJhbGciOiJub25lIn0.e30.") // pragma: allowlist secret (a test vector, not a key)
        .send()
        .await
        .unwrap();
    assert_error(forged, 401, "unauthorized").await;
}

#[tokio::test]
async fn logout_ends_the_session_and_its_access_token() {
    let app = spawn_app().await;
    let merchant = app.signup("logout-shop").await;
    let response = app
        .authed(Method::POST, "/api/v1/auth/logout", &merchant.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let me = app
        .authed(Method::GET, "/api/v1/me", &merchant.access)
        .send()
        .await
        .unwrap();
    assert_error(me, 401, "unauthorized").await;
    let refresh = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": merchant.refresh }),
        )
        .await;
    assert_error(refresh, 400, "invalid_token").await;

    // Logging out with the refresh token works for clients without an access token.
    let login: Value = app
        .login_staff(&merchant.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let refresh_token = login["refresh_token"].as_str().unwrap();
    let out = app
        .post_json(
            "/api/v1/auth/logout",
            &json!({ "refresh_token": refresh_token }),
        )
        .await;
    assert_eq!(out.status(), 204);
    let again = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token }),
        )
        .await;
    assert_error(again, 400, "invalid_token").await;
}

#[tokio::test]
async fn logout_all_revokes_every_session_of_the_user() {
    let app = spawn_app().await;
    let merchant = app.signup("all-shop").await;
    let second: Value = app
        .login_staff(&merchant.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let response = app
        .authed(Method::POST, "/api/v1/auth/logout-all", &merchant.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["revoked_sessions"], 2);
    for access in [
        merchant.access.as_str(),
        second["access_token"].as_str().unwrap(),
    ] {
        let me = app
            .authed(Method::GET, "/api/v1/me", access)
            .send()
            .await
            .unwrap();
        assert_error(me, 401, "unauthorized").await;
    }
    for refresh in [
        merchant.refresh.as_str(),
        second["refresh_token"].as_str().unwrap(),
    ] {
        let response = app
            .post_json("/api/v1/auth/refresh", &json!({ "refresh_token": refresh }))
            .await;
        assert_error(response, 400, "invalid_token").await;
    }
}

#[tokio::test]
async fn an_expired_access_token_says_so() {
    let app = spawn_app().await;
    let merchant = app.signup("expiry-shop").await;
    let key = std::fs::read_to_string(app.data_dir.path().join("jwt-signing.key")).unwrap();
    use base64::Engine as _;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key.trim())
        .unwrap();
    let claims: Value = {
        let payload = merchant.access.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let mut expired = claims.clone();
    expired["exp"] = json!(claims["iat"].as_i64().unwrap() - 3600);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("local".into());
    let token = jsonwebtoken::encode(
        &header,
        &expired,
        &jsonwebtoken::EncodingKey::from_secret(&secret),
    )
    .unwrap();
    let me = app
        .authed(Method::GET, "/api/v1/me", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.headers()["www-authenticate"], "Bearer");
    assert_error(me, 401, "token_expired").await;
}

#[tokio::test]
async fn more_stores_need_a_verified_email() {
    let app = spawn_app().await;
    let merchant = app.signup("first-of-many").await;
    let new_store = json!({ "slug": "second-of-many", "name": "Second", "currency": "USD" });
    let refused = app
        .authed(Method::POST, "/api/v1/stores", &merchant.access)
        .json(&new_store)
        .send()
        .await
        .unwrap();
    assert_error(refused, 403, "email_not_verified").await;

    app.verify_staff(&merchant.email).await;
    let created = app
        .authed(Method::POST, "/api/v1/stores", &merchant.access)
        .json(&new_store)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let me: Value = app
        .authed(Method::GET, "/api/v1/me", &merchant.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["email_verified"], true);
    let slugs: Vec<&str> = me["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["store"]["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs.len(), 2);
    assert!(slugs.contains(&"second-of-many"));
}

#[tokio::test]
async fn a_verification_token_works_once() {
    let app = spawn_app().await;
    let merchant = app.signup("verify-once").await;
    let token = app
        .mailed_token(&merchant.email, "/admin/verify-email")
        .await;
    let first = app
        .post_json("/api/v1/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(first.status(), 200);
    let second = app
        .post_json("/api/v1/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_error(second, 400, "invalid_token").await;
}

#[tokio::test]
async fn request_endpoints_answer_the_same_for_unknown_emails() {
    let app = spawn_app().await;
    let merchant = app.signup("same-answer").await;
    let mut answers = Vec::new();
    for email in [merchant.email.as_str(), "nobody@example.com"] {
        for path in [
            "/api/v1/auth/password-reset/request",
            "/api/v1/auth/verify-email/request",
        ] {
            let response = app.post_json(path, &json!({ "email": email })).await;
            assert_eq!(response.status(), 202);
            answers.push((path, response.text().await.unwrap()));
        }
    }
    assert_eq!(answers[0], answers[2]);
    assert_eq!(answers[1], answers[3]);
    app.wait_mail(&merchant.email, "/admin/reset-password")
        .await;
    assert!(
        !app.mails()
            .iter()
            .any(|m| m.contains("To: nobody@example.com"))
    );
}

#[tokio::test]
async fn a_password_reset_changes_the_password_and_revokes_every_session() {
    let app = spawn_app().await;
    let merchant = app.signup("reset-shop").await;
    let other: Value = app
        .login_staff(&merchant.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let requested = app
        .post_json(
            "/api/v1/auth/password-reset/request",
            &json!({ "email": merchant.email }),
        )
        .await;
    assert_eq!(requested.status(), 202);
    let mail = app
        .wait_mail(&merchant.email, "/admin/reset-password")
        .await;
    assert!(
        mail.contains("(in 60 minutes)"),
        "the mail states the real expiry: {mail}"
    );
    let token = crate::helpers::token_in(&mail, "/admin/reset-password").unwrap();

    let weak = app
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({ "token": token, "password": "qwertyuiop" }),
        )
        .await;
    assert_error(weak, 422, "validation_failed").await;
    let reset = app
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({ "token": token, "password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(reset.status(), 200);

    for access in [
        merchant.access.as_str(),
        other["access_token"].as_str().unwrap(),
    ] {
        let me = app
            .authed(Method::GET, "/api/v1/me", access)
            .send()
            .await
            .unwrap();
        assert_error(me, 401, "unauthorized").await;
    }
    let refresh = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": merchant.refresh }),
        )
        .await;
    assert_error(refresh, 400, "invalid_token").await;
    let old = app.login_staff(&merchant.email, PASSWORD).await;
    assert_error(old, 401, "invalid_credentials").await;
    let new = app
        .login_staff(&merchant.email, "a brand new passphrase")
        .await;
    assert_eq!(new.status(), 200);
    let reused = app
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({ "token": token, "password": "yet another passphrase" }),
        )
        .await;
    assert_error(reused, 400, "invalid_token").await;
}

#[tokio::test]
async fn an_expired_reset_token_is_refused() {
    let app = spawn_app_with(&[("TECHVERSE_PASSWORD_RESET_TTL_SECS", "0")]).await;
    let merchant = app.signup("expired-reset").await;
    app.post_json(
        "/api/v1/auth/password-reset/request",
        &json!({ "email": merchant.email }),
    )
    .await;
    let token = app
        .mailed_token(&merchant.email, "/admin/reset-password")
        .await;
    let response = app
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({ "token": token, "password": "a brand new passphrase" }),
        )
        .await;
    assert_error(response, 400, "invalid_token").await;
}

fn set_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tv_refresh="))
        .expect("refresh cookie")
}

#[tokio::test]
async fn browsers_get_the_refresh_token_in_a_strict_http_only_cookie_guarded_against_csrf() {
    let app = spawn_app().await;
    let merchant = app.signup("cookie-shop").await;
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": merchant.email, "password": PASSWORD, "cookie": true }),
        )
        .await;
    assert_eq!(login.status(), 200);
    let cookie = set_cookie(&login);
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let body: Value = login.json().await.unwrap();
    assert!(
        body.get("refresh_token").is_none(),
        "not in the body for browsers"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();

    let no_header = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_error(no_header, 403, "csrf_failed").await;
    let cross_site = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", &pair)
        .header("x-techverse-csrf", "1")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_error(cross_site, 403, "csrf_failed").await;
    let ok = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", &pair)
        .header("x-techverse-csrf", "1")
        .header("origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let rotated = set_cookie(&ok);
    assert_ne!(rotated.split(';').next().unwrap(), pair);
    let body: Value = ok.json().await.unwrap();
    assert!(body["access_token"].is_string());
    assert!(body.get("refresh_token").is_none());
}

#[tokio::test]
async fn an_inbox_cannot_be_bombed_with_reset_or_verification_requests() {
    let app = spawn_app_with(&[("TECHVERSE_RATE_LIMIT_ACCOUNT_MAIL_PER_HOUR", "2")]).await;
    let merchant = app.signup("bomb-shop").await;
    let email = techverse::domain::account::Email::parse(&merchant.email).unwrap();
    let realm = techverse::app::accounts::Realm::Staff;
    // Every request is answered alike…
    for _ in 0..6 {
        let answer = app
            .post_json(
                "/api/v1/auth/password-reset/request",
                &json!({ "email": merchant.email }),
            )
            .await;
        assert_eq!(answer.status(), 202);
    }
    // …but this hour the account is sent two reset links, however many are asked for.
    for _ in 0..6 {
        techverse::app::accounts::send_link(
            &app.ctx,
            &realm,
            &email,
            techverse::app::accounts::LinkRequest::PasswordReset,
        )
        .await
        .unwrap();
    }
    app.wait_mail(&merchant.email, "/admin/reset-password")
        .await;
    for _ in 0..100 {
        if app.ctx.storage.outbox().pending().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let resets = app
        .mails()
        .iter()
        .filter(|m| m.replace("=\r\n", "").contains("/admin/reset-password"))
        .count();
    assert_eq!(resets, 2, "two links in the hour");
}

//! Rate limits: headers on every API response, 429 with Retry-After, per-store limits that keep
//! one busy store from starving the others, the login throttle, and the Redis-shared limiter
//! with its in-process fallback.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{PASSWORD, Service, TestApp, assert_error, spawn_app, spawn_app_with};

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn every_api_response_carries_rate_limit_headers() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/stores/nowhere").await;
    assert_eq!(response.status(), 404);
    assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("600"));
    assert_eq!(
        header(&response, "ratelimit-remaining").as_deref(),
        Some("599")
    );
    assert!(header(&response, "ratelimit-reset").is_some());
    let health = app.get("/health").await;
    assert!(
        header(&health, "ratelimit-limit").is_none(),
        "operations endpoints are not limited"
    );
}

#[tokio::test]
async fn past_the_ip_limit_requests_get_429_with_retry_after() {
    let app = spawn_app_with(&[("TECHVERSE_RATE_LIMIT_IP_PER_MINUTE", "3")]).await;
    for remaining in ["2", "1", "0"] {
        let response = app.get("/api/v1/stores/nowhere").await;
        assert_eq!(response.status(), 404);
        assert_eq!(
            header(&response, "ratelimit-remaining").as_deref(),
            Some(remaining)
        );
    }
    let limited = app.get("/api/v1/stores/nowhere").await;
    assert_eq!(
        header(&limited, "ratelimit-remaining").as_deref(),
        Some("0")
    );
    let retry: u64 = header(&limited, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_error(limited, 429, "rate_limited").await;
    assert_eq!(app.get("/health").await.status(), 200);
}

#[tokio::test]
async fn a_client_cannot_choose_its_address_by_writing_x_forwarded_for() {
    let app = spawn_app_with(&[
        ("TECHVERSE_TRUST_FORWARDED_FOR", "true"),
        ("TECHVERSE_RATE_LIMIT_IP_PER_MINUTE", "3"),
    ])
    .await;
    // The proxy appends the address it saw (203.0.113.7); the client invents the rest.
    let from = |claimed: &str| {
        app.client
            .get(app.url("/api/v1/stores/nowhere"))
            .header("x-forwarded-for", format!("{claimed}, 203.0.113.7"))
            .send()
    };
    for claimed in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        assert_eq!(from(claimed).await.unwrap().status(), 404);
    }
    assert_error(from("10.0.0.4").await.unwrap(), 429, "rate_limited").await;
    // Another real client behind the same proxy has its own budget.
    let other = app
        .client
        .get(app.url("/api/v1/stores/nowhere"))
        .header("x-forwarded-for", "198.51.100.9")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);

    // Behind CloudFront and an ALB the client is the second entry from the right.
    let two = spawn_app_with(&[
        ("TECHVERSE_TRUST_FORWARDED_FOR", "true"),
        ("TECHVERSE_TRUSTED_PROXY_HOPS", "2"),
        ("TECHVERSE_RATE_LIMIT_IP_PER_MINUTE", "2"),
    ])
    .await;
    let via_cdn = |claimed: &str, edge: &str| {
        two.client
            .get(two.url("/api/v1/stores/nowhere"))
            .header("x-forwarded-for", format!("{claimed}, 203.0.113.7, {edge}"))
            .send()
    };
    assert_eq!(
        via_cdn("1.1.1.1", "130.176.0.1").await.unwrap().status(),
        404
    );
    assert_eq!(
        via_cdn("2.2.2.2", "130.176.0.2").await.unwrap().status(),
        404
    );
    assert_error(
        via_cdn("3.3.3.3", "130.176.0.3").await.unwrap(),
        429,
        "rate_limited",
    )
    .await;
}

#[tokio::test]
async fn abusers_of_a_storefront_are_refused_alone_and_its_staff_never_starve() {
    let app = spawn_app_with(&[
        ("TECHVERSE_TRUST_FORWARDED_FOR", "true"),
        ("TECHVERSE_RATE_LIMIT_STORE_PER_MINUTE", "12"),
        ("TECHVERSE_RATE_LIMIT_STORE_IP_PER_MINUTE", "4"),
    ])
    .await;
    let owner = app.signup("siege-shop").await;
    let from = |ip: &str| {
        app.client
            .get(app.url("/api/v1/stores/siege-shop"))
            .header("x-forwarded-for", ip.to_owned())
            .send()
    };
    // One abuser hammering: refused after its own 4, spending only those of the store's 12.
    for attempt in 0..20 {
        let status = from("6.6.6.6").await.unwrap().status();
        assert_eq!(
            status,
            if attempt < 4 { 200 } else { 429 },
            "attempt {attempt}"
        );
    }
    assert_eq!(
        from("198.51.100.1").await.unwrap().status(),
        200,
        "a real shopper"
    );
    // Enough abusers exhaust the storefront's budget (the noisy-tenant guard)…
    for ip in ["6.6.6.7", "6.6.6.8"] {
        for _ in 0..4 {
            from(ip).await.unwrap();
        }
    }
    assert_error(from("198.51.100.2").await.unwrap(), 429, "rate_limited").await;
    // …but the store's staff have a budget of their own.
    for _ in 0..5 {
        let admin = app
            .client
            .get(app.url("/api/v1/admin/stores/siege-shop/orders"))
            .bearer_auth(&owner.access)
            .header("x-forwarded-for", "198.51.100.3")
            .send()
            .await
            .unwrap();
        assert_eq!(
            admin.status(),
            200,
            "staff are not starved by storefront traffic"
        );
    }
}

#[tokio::test]
async fn one_busy_store_does_not_starve_the_others() {
    let app = spawn_app_with(&[("TECHVERSE_RATE_LIMIT_STORE_PER_MINUTE", "5")]).await;
    app.create_store("busy-store").await;
    app.create_store("quiet-store").await;
    for _ in 0..5 {
        assert_eq!(app.get("/api/v1/stores/busy-store").await.status(), 200);
    }
    let limited = app.get("/api/v1/stores/busy-store").await;
    assert!(header(&limited, "retry-after").is_some());
    assert_error(limited, 429, "rate_limited").await;
    let quiet = app.get("/api/v1/stores/quiet-store").await;
    assert_eq!(quiet.status(), 200);
    assert_eq!(
        header(&quiet, "ratelimit-limit").as_deref(),
        Some("5"),
        "the tighter limit is reported"
    );
}

async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", ip)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn failed_logins_slow_the_attacker_without_locking_the_real_user_out() {
    let app = spawn_app_with(&[("TECHVERSE_TRUST_FORWARDED_FOR", "true")]).await;
    let merchant = app.signup("throttle-shop").await;
    let attacker = "203.0.113.66";
    for _ in 0..5 {
        let response = login_from(&app, attacker, &merchant.email, "guessing the password").await;
        assert_error(response, 401, "invalid_credentials").await;
    }
    // Now the attacker must wait, even with the right password…
    let throttled = login_from(&app, attacker, &merchant.email, PASSWORD).await;
    assert!(header(&throttled, "retry-after").is_some());
    assert_error(throttled, 429, "rate_limited").await;
    // …while the owner, from their own address, signs in at once.
    let owner = login_from(&app, "198.51.100.7", &merchant.email, PASSWORD).await;
    assert_eq!(owner.status(), 200);
}

#[tokio::test]
async fn login_attempts_are_limited_per_ip_across_accounts() {
    let app = spawn_app_with(&[
        ("TECHVERSE_TRUST_FORWARDED_FOR", "true"),
        ("TECHVERSE_RATE_LIMIT_LOGIN_PER_MINUTE", "3"),
    ])
    .await;
    for n in 0..3 {
        let response = login_from(
            &app,
            "203.0.113.9",
            &format!("user{n}@example.com"),
            PASSWORD,
        )
        .await;
        assert_error(response, 401, "invalid_credentials").await;
    }
    let stuffed = login_from(&app, "203.0.113.9", "user9@example.com", PASSWORD).await;
    assert_error(stuffed, 429, "rate_limited").await;
    let other = login_from(&app, "198.51.100.1", "user9@example.com", PASSWORD).await;
    assert_error(other, 401, "invalid_credentials").await;
}

async fn statuses(app: &TestApp, count: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(app.get("/api/v1/stores/nowhere").await.status().as_u16());
    }
    out
}

#[tokio::test]
async fn two_instances_sharing_redis_enforce_one_limit_and_fall_back_when_it_fails() {
    let mut redis = Service::redis().await;
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let prefix = format!("tv-test-{}:", uuid::Uuid::new_v4().simple());
    let extra = [
        ("TECHVERSE_REDIS_URL", url.as_str()),
        ("TECHVERSE_REDIS_KEY_PREFIX", prefix.as_str()),
        ("TECHVERSE_RATE_LIMIT_IP_PER_MINUTE", "10"),
    ];
    let a = spawn_app_with(&extra).await;
    let b = spawn_app_with(&extra).await;

    // One combined budget of 10 across both instances.
    let mut seen = statuses(&a, 5).await;
    seen.extend(statuses(&b, 5).await);
    assert!(seen.iter().all(|s| *s == 404), "{seen:?}");
    assert_eq!(statuses(&a, 1).await, [429]);
    assert_eq!(statuses(&b, 1).await, [429]);

    // Redis goes away: requests are still served, and each instance limits on its own.
    redis.stop();
    let seen = statuses(&a, 11).await;
    assert_eq!(&seen[..10], [404; 10], "{seen:?}");
    assert_eq!(seen[10], 429);
    assert_eq!(
        statuses(&b, 1).await,
        [404],
        "B has its own in-process budget"
    );
    let ready = a.get("/ready").await;
    assert_eq!(ready.status(), 503);

    // Redis comes back (empty): after the short pause both instances share it again.
    redis.start_redis().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut seen = statuses(&a, 6).await;
    seen.extend(statuses(&b, 4).await);
    assert!(seen.iter().all(|s| *s == 404), "{seen:?}");
    assert_eq!(statuses(&b, 1).await, [429]);
    assert_eq!(a.get("/ready").await.status(), 200);
}

#[tokio::test]
async fn with_redis_configured_refresh_sessions_live_in_redis() {
    let redis = Service::redis().await;
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let prefix = format!("tv-test-{}:", uuid::Uuid::new_v4().simple());
    let extra = [
        ("TECHVERSE_REDIS_URL", url.as_str()),
        ("TECHVERSE_REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    let app = spawn_app_with(&extra).await;
    let merchant = app.signup("redis-sessions").await;

    let client = deadpool_redis::redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = deadpool_redis::redis::cmd("KEYS")
        .arg(format!("{prefix}session:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "the session is in Redis: {keys:?}");
    let session_id = merchant.refresh.split('.').next().unwrap();
    assert_eq!(keys[0], format!("{prefix}session:{session_id}"));
    let stored: String = deadpool_redis::redis::cmd("HGET")
        .arg(&keys[0])
        .arg("hash")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!merchant.refresh.contains(&stored), "only a hash is stored");

    // Concurrent refreshes agree on Redis too; then the first token, two rotations later, is
    // reuse and ends the family.
    let (_, newest_access) =
        crate::identity::concurrent_refreshes_agree(&app, &merchant.refresh).await;
    let reused = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": merchant.refresh }),
        )
        .await;
    assert_error(reused, 401, "session_revoked").await;
    let me = app
        .authed(reqwest::Method::GET, "/api/v1/me", &newest_access)
        .send()
        .await
        .unwrap();
    assert_error(me, 401, "unauthorized").await;

    let login: serde_json::Value = app
        .login_staff(&merchant.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    app.login_staff(&merchant.email, PASSWORD).await;
    let all: serde_json::Value = app
        .authed(
            reqwest::Method::POST,
            "/api/v1/auth/logout-all",
            login["access_token"].as_str().unwrap(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["revoked_sessions"], 2);
    let left: Vec<String> = deadpool_redis::redis::cmd("KEYS")
        .arg(format!("{prefix}session:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn cross_origin_access_is_denied_unless_configured() {
    let closed = spawn_app().await;
    let preflight = |app: &TestApp| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/login"))
            .header("origin", "https://admin.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let refused = preflight(&closed).await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let open = spawn_app_with(&[("TECHVERSE_CORS_ALLOWED_ORIGINS", "https://admin.example")]).await;
    let allowed = preflight(&open).await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://admin.example"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
}

#[tokio::test]
async fn a_burst_of_registrations_is_served_or_told_to_retry_never_left_to_pile_up() {
    // One hash at a time (a 1 MiB budget), each costly enough to make a line.
    let app = spawn_app_with(&[
        ("TECHVERSE_PASSWORD_HASH_BUDGET_MIB", "1"),
        ("TECHVERSE_ARGON2_MEMORY_KIB", "8192"),
        ("TECHVERSE_ARGON2_ITERATIONS", "3"),
        ("TECHVERSE_RATE_LIMIT_IP_PER_MINUTE", "100000"),
        ("TECHVERSE_RATE_LIMIT_STORE_PER_MINUTE", "100000"),
    ])
    .await;
    app.create_store("burst-shop").await;
    let attempts = (0..40).map(|i| {
        let request = app
            .client
            .post(app.url("/api/v1/stores/burst-shop/customers"))
            .json(&json!({
                "email": format!("buyer{i}@example.com"),
                "password": PASSWORD,
                "name": "Buyer",
            }));
        async move { request.send().await.unwrap() }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let mut created = 0;
    for answer in answers {
        match answer.status().as_u16() {
            201 => created += 1,
            503 => {
                let retry: u64 = header(&answer, "retry-after").unwrap().parse().unwrap();
                assert!(retry >= 1);
                assert_error(answer, 503, "service_unavailable").await;
            }
            other => panic!("a burst is answered 201 or 503, got {other}"),
        }
    }
    assert!(created >= 1, "the server keeps serving while it sheds load");
}

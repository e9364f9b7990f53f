//! The dashboard's analytics and the customers admin over HTTP: the figures equal a recount
//! from the orders API, only this store's orders count, bad windows are field errors, and each
//! needs its permission. (Day boundaries in several time zones are in the storage
//! conformance suite, where orders can be placed at any instant.)

use reqwest::Method;
use serde_json::Value;

use crate::{
    checkout::{customer_order, shop},
    helpers::{admin, assert_error, send, spawn_app},
    orders::{act, mark_paid, member_with, order_phones},
};

fn minor(value: &Value) -> i64 {
    value["minor"].as_i64().unwrap()
}

#[tokio::test]
async fn analytics_equal_a_recount_from_the_orders_api_and_count_this_store_only() {
    let app = spawn_app().await;
    let s = shop(&app, "figures-shop").await;
    let other = shop(&app, "figures-other").await;
    // Three phones in stock: the cancelled order gives its unit back first.
    let cancelled = order_phones(&app, &s, 1, "f4").await;
    assert_eq!(
        act(&app, &s, &s.merchant.access, &cancelled, "cancel", None)
            .await
            .status(),
        200
    );
    let paid = order_phones(&app, &s, 1, "f1").await;
    mark_paid(&app, &s, &paid).await;
    let refunded = order_phones(&app, &s, 1, "f2").await;
    mark_paid(&app, &s, &refunded).await;
    let refund = act(
        &app,
        &s,
        &s.merchant.access,
        &refunded,
        "refunds",
        Some(serde_json::json!({ "amount": 150_000 })),
    )
    .await;
    assert_eq!(refund.status(), 200, "{:?}", refund.text().await);
    order_phones(&app, &s, 1, "f3").await; // placed, not paid
    let elsewhere = order_phones(&app, &other, 1, "o1").await;
    mark_paid(&app, &other, &elsewhere).await;

    let report = s.staff_get(&app, "/analytics").await;
    let orders = s.staff_get(&app, "/orders?limit=100").await;
    let orders = orders["items"].as_array().unwrap();
    assert_eq!(orders.len(), 4);
    let mut expect = (0, 0, 0, 0);
    for summary in orders {
        let order = s
            .staff_get(
                &app,
                &format!("/orders/{}", summary["id"].as_str().unwrap()),
            )
            .await;
        let state = order["payment_status"].as_str().unwrap();
        expect.0 += i64::from(state != "voided");
        if ["paid", "partially_refunded", "refunded"].contains(&state) {
            expect.1 += 1;
            expect.2 += minor(&order["totals"]["total"]);
            expect.3 += minor(&order["refunded"]);
        }
    }
    let totals = &report["totals"];
    assert_eq!(
        (
            totals["orders"].as_i64().unwrap(),
            totals["paid_orders"].as_i64().unwrap(),
            minor(&totals["gross_sales"]),
            minor(&totals["refunds"]),
        ),
        expect,
        "{report:#}"
    );
    assert_eq!(expect.3, 150_000);
    assert_eq!(minor(&totals["net_sales"]), expect.2 - expect.3);
    assert_eq!(minor(&totals["average_order_value"]), expect.2 / expect.1);
    assert_eq!(totals["gross_sales"]["currency"], "NGN");
    // Thirty local days, today last, holding every order.
    let series = report["series"].as_array().unwrap();
    assert_eq!(series.len(), 30);
    assert_eq!(series[29]["orders"].as_i64(), Some(expect.0));
    assert_eq!(report["timezone"], "UTC", "the store opened without a zone");
    let count = |status: &str| {
        report["by_status"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == status)
            .unwrap()["orders"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        (count("paid"), count("pending_payment"), count("cancelled")),
        (2, 1, 1)
    );
    let top = &report["top_products"][0];
    assert_eq!(
        (top["title"].as_str(), top["quantity"].as_i64()),
        (Some("Acme Phone"), Some(2))
    );
    // The phone (3 in stock: two sold, one held by the unpaid order) is out, so low; the
    // case (50 in stock) is not.
    let low = report["low_stock"].as_array().unwrap();
    assert_eq!(low.len(), 1, "{report:#}");
    assert_eq!(
        (low[0]["sku"].as_str(), low[0]["available"].as_i64()),
        (Some("PH-1"), Some(0))
    );

    // By the hour, today only: 24 steps.
    let today = report["to"].as_str().unwrap();
    let hourly = s
        .staff_get(
            &app,
            &format!("/analytics?from={today}&to={today}&interval=hour"),
        )
        .await;
    assert_eq!(hourly["series"].as_array().unwrap().len(), 24);
    assert_eq!(hourly["totals"], report["totals"]);
}

#[tokio::test]
async fn bad_windows_are_field_errors_and_analytics_need_orders_read() {
    let app = spawn_app().await;
    let s = shop(&app, "window-shop").await;
    let bad = send(
        &app,
        Method::GET,
        &admin(&s.store, "/analytics?from=2026-12-02&to=2026-12-01"),
        &s.merchant.access,
        None,
    )
    .await;
    let body = assert_error(bad, 422, "validation_failed").await;
    assert_eq!(body["error"]["details"]["fields"][0]["field"], "from");
    for query in [
        "from=yesterday",
        "interval=week",
        "from=2025-01-01&to=2026-12-01",
        "from=2026-01-01&to=2026-03-01&interval=hour",
        "colour=red",
    ] {
        let response = send(
            &app,
            Method::GET,
            &admin(&s.store, &format!("/analytics?{query}")),
            &s.merchant.access,
            None,
        )
        .await;
        assert!(
            [400, 422].contains(&response.status().as_u16()),
            "{query}: {}",
            response.status()
        );
    }
    app.verify_staff(&s.merchant.email).await;
    let catalogue = member_with(&app, &s, "Catalogue", &["products.read"]).await;
    let refused = send(
        &app,
        Method::GET,
        &admin(&s.store, "/analytics"),
        &catalogue,
        None,
    )
    .await;
    assert_error(refused, 403, "forbidden").await;
    let customers = send(
        &app,
        Method::GET,
        &admin(&s.store, "/customers"),
        &catalogue,
        None,
    )
    .await;
    assert_error(customers, 403, "forbidden").await;
}

#[tokio::test]
async fn staff_list_and_open_their_store_customers_with_their_orders() {
    let app = spawn_app().await;
    let s = shop(&app, "people-shop").await;
    let other = shop(&app, "people-other").await;
    let ada = app
        .register_customer(&s.store, "ada@example.com", "correct horse battery")
        .await;
    app.register_customer(&s.store, "bola@example.com", "correct horse battery")
        .await;
    app.register_customer(&s.store, "adaeze@example.com", "correct horse battery")
        .await;
    let stranger = app
        .register_customer(
            &other.store,
            "ada@elsewhere.example",
            "correct horse battery",
        )
        .await;
    let order = customer_order(&app, &s, &ada.access, &s.phone, "c1").await;

    let page = s.staff_get(&app, "/customers?limit=2").await;
    let emails = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["email"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(emails(&page), ["ada@example.com", "adaeze@example.com"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = s
        .staff_get(&app, &format!("/customers?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(emails(&next), ["bola@example.com"]);
    assert!(next.get("next_cursor").is_none());
    assert_eq!(
        emails(&s.staff_get(&app, "/customers?q=ADA").await),
        ["ada@example.com", "adaeze@example.com"]
    );
    assert!(page["items"][0].get("password_hash").is_none());

    let detail = s.staff_get(&app, &format!("/customers/{}", ada.id)).await;
    assert_eq!(detail["customer"]["email"], "ada@example.com");
    assert_eq!(detail["orders"]["items"][0]["id"], order["id"]);
    for missing in [stranger.id.as_str(), "not-an-id"] {
        let response = send(
            &app,
            Method::GET,
            &admin(&s.store, &format!("/customers/{missing}")),
            &s.merchant.access,
            None,
        )
        .await;
        assert_error(response, 404, "not_found").await;
    }
    let too_many = send(
        &app,
        Method::GET,
        &admin(&s.store, "/customers?limit=500"),
        &s.merchant.access,
        None,
    )
    .await;
    assert_error(too_many, 422, "validation_failed").await;
}

/// Every order of the store through the orders API (each one's detail, for what was refunded).
async fn every_order(app: &crate::helpers::TestApp, store: &str, token: &str) -> Vec<Value> {
    let mut orders = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = crate::helpers::get_json(
            app,
            &admin(store, &format!("/orders?limit=100{cursor}")),
            token,
        )
        .await;
        for summary in page["items"].as_array().unwrap() {
            let id = summary["id"].as_str().unwrap();
            orders.push(
                crate::helpers::get_json(app, &admin(store, &format!("/orders/{id}")), token).await,
            );
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return orders,
        }
    }
}

#[tokio::test]
async fn the_demo_history_fills_thirty_lagos_days_that_the_analytics_count_like_the_orders_api() {
    // Seeded before the server runs, as `techverse seed demo` and `serve --demo` do.
    let seeded = std::sync::Arc::new(std::sync::Mutex::new(None));
    let app = {
        let seeded = seeded.clone();
        crate::helpers::spawn_app_prepared(|ctx| async move {
            let done = techverse::app::seed::seed_demo(&ctx, 0, true)
                .await
                .unwrap();
            *seeded.lock().unwrap() = Some(done);
        })
        .await
    };
    let Some(techverse::app::seed::Seeded::Created {
        owner_email,
        owner_password,
        orders: placed,
        ..
    }) = seeded.lock().unwrap().take()
    else {
        panic!("seeded");
    };
    let login: Value = app
        .login_staff(&owner_email, &owner_password)
        .await
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    // Unpaid history past its deadline expires at the first sweep; do it now, not mid-test.
    techverse::app::orders::sweep(&app.ctx, techverse::domain::now())
        .await
        .unwrap();
    let report = crate::helpers::get_json(&app, &admin("demo", "/analytics"), &token).await;
    let orders = every_order(&app, "demo", &token).await;
    assert_eq!(orders.len(), placed);
    assert!(placed >= 30, "{placed}");

    // Recount by local day in Lagos (UTC+1) from the orders API.
    let lagos = jiff::tz::TimeZone::get("Africa/Lagos").unwrap();
    let mut by_day: std::collections::BTreeMap<String, [i64; 4]> =
        std::collections::BTreeMap::new();
    for order in &orders {
        let at: jiff::Timestamp = order["created_at"].as_str().unwrap().parse().unwrap();
        let day = at.to_zoned(lagos.clone()).date().to_string();
        let state = order["payment_status"].as_str().unwrap();
        let row = by_day.entry(day).or_default();
        row[0] += i64::from(state != "voided");
        if ["paid", "partially_refunded", "refunded"].contains(&state) {
            row[1] += 1;
            row[2] += minor(&order["totals"]["total"]);
            row[3] += minor(&order["refunded"]);
        }
    }
    let mut shown = std::collections::BTreeMap::new();
    for point in report["series"].as_array().unwrap() {
        let day = point["start"].as_str().unwrap()[..10].to_owned();
        assert!(
            point["start"]
                .as_str()
                .unwrap()
                .ends_with("T00:00:00+01:00"),
            "{point}"
        );
        let row = [
            point["orders"].as_i64().unwrap(),
            point["paid_orders"].as_i64().unwrap(),
            minor(&point["gross_sales"]),
            minor(&point["refunds"]),
        ];
        if row != [0; 4] {
            shown.insert(day, row);
        }
    }
    by_day.retain(|_, row| *row != [0; 4]);
    assert_eq!(shown, by_day);
    assert!(shown.len() >= 25, "orders on most days: {}", shown.len());
    assert!(minor(&report["totals"]["refunds"]) > 0);
    let statuses: Vec<&str> = report["by_status"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["orders"].as_i64() > Some(0))
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    for status in ["delivered", "shipped", "paid", "cancelled"] {
        assert!(statuses.contains(&status), "{status} in {statuses:?}");
    }

    // Reviews: approved, counted on the products; the history sent no mail.
    let list = app
        .get_json("/api/v1/stores/demo/products?sort=rating&limit=5")
        .await;
    assert!(
        list["items"][0]["rating"]["count"].as_i64() > Some(0),
        "{list:#}"
    );
    let mailed: Vec<String> = app
        .mails()
        .into_iter()
        .filter(|m| m.contains("shoppers.demo.techverse.local"))
        .map(|m| {
            m.lines()
                .filter(|l| l.to_lowercase().starts_with("subject:"))
                .collect()
        })
        .collect();
    assert!(
        mailed.is_empty(),
        "no mail to the demo shoppers: {mailed:?}"
    );
}

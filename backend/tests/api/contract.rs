//! The API contract: the OpenAPI document served at `/api/v1/openapi.json` names exactly the
//! routes the server registers, and the docs page renders it from the binary.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_exists() {
    let app = spawn_app().await;
    // Answering proves a worker has built the app, which records its route table.
    let served: Value = app.get_json("/api/v1/openapi.json").await;
    let registered: BTreeSet<(String, String)> = techverse::http::routes::table::registered()
        .into_iter()
        .collect();
    let documented: BTreeSet<(String, String)> =
        techverse::http::openapi::documented(&techverse::http::openapi::document())
            .into_iter()
            .collect();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let missing: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty() && missing.is_empty(),
        "routes without documentation: {undocumented:?}; documented routes that do not exist: {missing:?}"
    );
    assert!(
        registered.len() > 90,
        "the table holds every route: {}",
        registered.len()
    );
    let served_paths = served["paths"].as_object().expect("paths").len();
    let table_paths: BTreeSet<&String> = registered.iter().map(|(_, path)| path).collect();
    assert_eq!(
        served_paths,
        table_paths.len(),
        "the served document is this one"
    );
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_the_error_envelope_and_the_security_schemes() {
    let app = spawn_app().await;
    let doc: Value = app.get_json("/api/v1/openapi.json").await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("schemes");
    for name in ["staff", "customer", "platform", "cart_token", "order_token"] {
        assert!(schemes.contains_key(name), "security scheme {name}");
    }
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    assert!(
        codes
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "out_of_stock"))
    );
    let money = &doc["components"]["schemas"]["Money"]["properties"];
    assert_eq!(money["minor"]["type"], "integer");
    assert!(money["currency"].is_object());
    let checkout = &doc["paths"]["/api/v1/stores/{store}/checkout"]["post"];
    let headers: Vec<&str> = checkout["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(headers.contains(&"Idempotency-Key"), "{headers:?}");
    for status in ["201", "409", "422", "429", "503"] {
        assert!(
            checkout["responses"][status].is_object(),
            "checkout documents {status}"
        );
    }
    let limited = &doc["components"]["responses"]["TooManyRequests"]["headers"];
    assert!(limited["Retry-After"].is_object());
    // The limiter's headers, on the shared error answers and on each operation's own.
    let placed = &checkout["responses"]["201"]["headers"];
    for name in ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"] {
        assert!(limited[name].is_object(), "429 documents {name}");
        assert!(placed[name].is_object(), "checkout's 201 documents {name}");
    }
}

#[tokio::test]
async fn the_docs_page_and_its_assets_come_from_the_binary() {
    let app = spawn_app().await;
    let page = app.get("/api/docs/").await;
    assert_eq!(page.status(), 200);
    let policy = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("https://"),
        "no asset from elsewhere: {html}"
    );
    let init = app.get("/api/docs/swagger-initializer.js").await;
    assert_eq!(init.status(), 200);
    let script = init.text().await.unwrap();
    assert!(script.contains("/api/v1/openapi.json"), "{script}");
}

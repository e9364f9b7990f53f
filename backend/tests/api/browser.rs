//! What browsers are told: every answer forbids sniffing and framing and sets a referrer policy;
//! API answers carry a policy under which nothing runs; the apps a policy allowing only our own
//! scripts and wasm; Strict-Transport-Security behind TLS. `HEAD` answers like `GET`, bodiless.

use reqwest::{Method, Response};

use crate::helpers::{spawn_app, spawn_app_with};

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn assert_protected(response: &Response) {
    assert_eq!(header(response, "x-content-type-options"), "nosniff");
    assert_eq!(header(response, "x-frame-options"), "DENY");
    assert_eq!(
        header(response, "referrer-policy"),
        "strict-origin-when-cross-origin"
    );
    assert!(
        header(response, "content-security-policy").contains("frame-ancestors 'none'"),
        "{:?}",
        response.headers()
    );
}

#[tokio::test]
async fn api_answers_forbid_sniffing_framing_and_running_anything() {
    let app = spawn_app().await;
    app.create_store("csp-shop").await;
    for path in [
        "/api/v1/stores/csp-shop",
        "/api/v1/stores/nowhere",
        "/health",
    ] {
        let response = app.get(path).await;
        assert_protected(&response);
        assert_eq!(
            header(&response, "content-security-policy"),
            "default-src 'none'; frame-ancestors 'none'; sandbox",
            "{path}"
        );
        // The test deployment's public URL is https.
        assert!(
            header(&response, "strict-transport-security").starts_with("max-age=63072000"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_app_runs_only_its_own_scripts_and_plain_http_gets_no_hsts() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dist.path().join("assets")).unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>t</title>",
    )
    .unwrap();
    std::fs::write(dist.path().join("assets/boot-1.js"), "export {};").unwrap();
    let static_dir = dist.path().display().to_string();
    let app = spawn_app_with(&[
        ("TECHVERSE_STATIC_DIR", static_dir.as_str()),
        ("TECHVERSE_PUBLIC_URL", "http://localhost:8080"),
    ])
    .await;
    for path in ["/s/demo/products", "/assets/boot-1.js"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_protected(&response);
        let csp = header(&response, "content-security-policy");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(header(&response, "strict-transport-security").is_empty());
    }
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let app = spawn_app().await;
    app.create_store("head-shop").await;
    for path in [
        "/api/v1/stores/head-shop",
        "/api/v1/stores/head-shop/products",
        "/health",
    ] {
        let get = app.get(path).await;
        let head = app
            .client
            .request(Method::HEAD, app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        assert_eq!(
            header(&head, "content-type"),
            header(&get, "content-type"),
            "{path}"
        );
        assert_eq!(header(&head, "etag"), header(&get, "etag"), "{path}");
        assert_eq!(
            header(&head, "content-length"),
            get.bytes().await.unwrap().len().to_string(),
            "{path}: the length GET would send"
        );
        assert!(head.bytes().await.unwrap().is_empty(), "{path}: no body");
    }
    // Methods a route does not have are still refused.
    let put = app
        .client
        .request(Method::PUT, app.url("/api/v1/stores/head-shop"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 405);
}

#[tokio::test]
async fn the_console_and_the_storefront_each_answer_their_own_deep_links() {
    let dist = tempfile::tempdir().unwrap();
    for dir in ["assets", "admin/assets"] {
        std::fs::create_dir_all(dist.path().join(dir)).unwrap();
    }
    let write = |path: &str, body: &str| std::fs::write(dist.path().join(path), body).unwrap();
    write("index.html", "storefront");
    write("admin/index.html", "console");
    write("assets/techverse-1.js", "export {};");
    write("admin/assets/admin-1.js", "export {};");
    let static_dir = dist.path().display().to_string();
    let app = spawn_app_with(&[("TECHVERSE_STATIC_DIR", static_dir.as_str())]).await;
    for (path, body, cache) in [
        ("/s/demo/products/x", "storefront", "no-cache"),
        ("/admin", "console", "no-cache"),
        ("/admin/orders/123", "console", "no-cache"),
        ("/administrator", "storefront", "no-cache"),
        (
            "/assets/techverse-1.js",
            "export {};",
            "public, max-age=31536000, immutable",
        ),
        (
            "/admin/assets/admin-1.js",
            "export {};",
            "public, max-age=31536000, immutable",
        ),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "cache-control"), cache, "{path}");
        assert_eq!(response.text().await.unwrap(), body, "{path}");
    }
    for path in [
        "/admin/assets/gone.js",
        "/assets/gone.js",
        "/api/v1/admin/nothing",
        // A file nobody built is not a page: browsers ask for these on their own.
        "/favicon.ico",
        "/admin/favicon.ico",
        "/robots.txt",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            header(&response, "content-type").starts_with("application/json"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn built_assets_go_out_precompressed_to_clients_that_accept_it() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dist.path().join("assets")).unwrap();
    let write = |path: &str, body: &str| std::fs::write(dist.path().join(path), body).unwrap();
    write("index.html", "storefront");
    write("assets/techverse-1.wasm", "plain wasm");
    write("assets/techverse-1.wasm.br", "brotli bytes");
    write("assets/techverse-1.wasm.gz", "gzip bytes");
    write("assets/style-1.css", "plain css");
    write("assets/style-1.css.gz", "gzip css");
    let static_dir = dist.path().display().to_string();
    let app = spawn_app_with(&[("TECHVERSE_STATIC_DIR", static_dir.as_str())]).await;
    let fetch = |path: &'static str, accept: &'static str| {
        let request = app.client.get(app.url(path));
        let request = if accept.is_empty() {
            request
        } else {
            request.header("accept-encoding", accept)
        };
        async move { request.send().await.unwrap() }
    };
    for (path, accept, body, coding, kind) in [
        (
            "/assets/techverse-1.wasm",
            "gzip, deflate, br",
            "brotli bytes",
            "br",
            "application/wasm",
        ),
        (
            "/assets/techverse-1.wasm",
            "gzip",
            "gzip bytes",
            "gzip",
            "application/wasm",
        ),
        (
            "/assets/techverse-1.wasm",
            "br;q=0, gzip",
            "gzip bytes",
            "gzip",
            "application/wasm",
        ),
        (
            "/assets/techverse-1.wasm",
            "",
            "plain wasm",
            "",
            "application/wasm",
        ),
        (
            "/assets/techverse-1.wasm",
            "identity",
            "plain wasm",
            "",
            "application/wasm",
        ),
        // Only a .gz was built for the stylesheet.
        (
            "/assets/style-1.css",
            "br, gzip",
            "gzip css",
            "gzip",
            "text/css",
        ),
        ("/assets/style-1.css", "br", "plain css", "", "text/css"),
    ] {
        let response = fetch(path, accept).await;
        assert_eq!(response.status(), 200, "{path} {accept}");
        assert_eq!(
            header(&response, "content-encoding"),
            coding,
            "{path} {accept}"
        );
        assert!(
            header(&response, "content-type").starts_with(kind),
            "{path} {accept}"
        );
        assert!(
            header(&response, "vary").starts_with("accept-encoding"),
            "{path} {accept}"
        );
        assert_eq!(
            header(&response, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(response.text().await.unwrap(), body, "{path} {accept}");
    }
}

//! Image upload: types by signature, a size cap, generated names, served at /media/….

use reqwest::{Method, multipart};
use serde_json::Value;

use crate::helpers::{TestApp, assert_error, spawn_app};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\xa5\xfb\xd0\xba\0\0\0\0IEND\xaeB`\x82";

async fn upload(
    app: &TestApp,
    store: &str,
    token: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    app.authed(
        Method::POST,
        &format!("/api/v1/admin/stores/{store}/media"),
        token,
    )
    .multipart(form)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn an_image_is_sniffed_stored_under_a_generated_name_and_served() {
    let app = spawn_app().await;
    let owner = app.signup("media-shop").await;
    let response = upload(
        &app,
        "media-shop",
        &owner.access,
        "../../evil name.jpg",
        PNG.to_vec(),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["content_type"], "image/png",
        "the signature wins over the name"
    );
    let url = body["url"].as_str().unwrap();
    assert!(
        url.starts_with("/media/") && url.ends_with(".png") && !url.contains("evil"),
        "{url}"
    );
    let served = app.get(url).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);

    let svg = upload(
        &app,
        "media-shop",
        &owner.access,
        "x.png",
        b"<svg onload=alert(1)></svg>".to_vec(),
    )
    .await;
    assert_error(svg, 415, "unsupported_media_type").await;
    let mut huge = PNG.to_vec();
    huge.resize(5 * 1024 * 1024 + 1, 0);
    let big = upload(&app, "media-shop", &owner.access, "big.png", huge).await;
    assert_error(big, 413, "payload_too_large").await;
    for path in [
        "/media/not-a-store/x.png",
        "/media/00000000-0000-0000-0000-000000000000/..%2F..%2Fetc%2Fpasswd",
        "/media/00000000-0000-0000-0000-000000000000/missing.png",
    ] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
    let actions: Value = app
        .authed(
            Method::GET,
            "/api/v1/admin/stores/media-shop/audit-log?action=media.uploaded",
            &owner.access,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(actions["items"].as_array().unwrap().len(), 1);
    let customer = app
        .register_customer("media-shop", "ada@example.com", crate::helpers::PASSWORD)
        .await;
    let refused = upload(&app, "media-shop", &customer.access, "a.png", PNG.to_vec()).await;
    assert_error(refused, 401, "unauthorized").await;
}

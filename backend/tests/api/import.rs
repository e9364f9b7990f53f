//! Product CSV in Shopify's layout: a real export-shaped fixture imports (multi-variant
//! products, options, images, drafts), an invalid file reports rows and columns and imports
//! nothing, and export -> import round-trips.

use reqwest::{Method, multipart};
use serde_json::Value;

use crate::helpers::{TestApp, assert_error, spawn_app};

const FIXTURE: &str = include_str!("../fixtures/shopify_products.csv");
const INVALID: &str = include_str!("../fixtures/shopify_invalid.csv");

async fn upload(app: &TestApp, store: &str, token: &str, csv: &str) -> reqwest::Response {
    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(csv.as_bytes().to_vec())
            .file_name("products.csv")
            .mime_str("text/csv")
            .unwrap(),
    );
    app.authed(
        Method::POST,
        &format!("/api/v1/admin/stores/{store}/products/import"),
        token,
    )
    .multipart(form)
    .send()
    .await
    .unwrap()
}

async fn export(app: &TestApp, store: &str, token: &str) -> String {
    let response = app
        .authed(
            Method::GET,
            &format!("/api/v1/admin/stores/{store}/products/export.csv"),
            token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    response.text().await.unwrap()
}

async fn product_count(app: &TestApp, store: &str, token: &str) -> usize {
    let list: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/admin/stores/{store}/products"),
            token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_shopify_export_imports_with_variants_options_images_and_categories() {
    let app = spawn_app().await;
    let owner = app.signup("import-shop").await;
    let response = upload(&app, "import-shop", &owner.access, FIXTURE).await;
    let status = response.status();
    let report: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 3);
    assert_eq!(report["categories_created"], 3);

    let pixel: Value = app
        .get("/api/v1/stores/import-shop/products/pixel-9")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pixel["title"], "Pixel 9");
    assert_eq!(pixel["brand"], "Google");
    assert_eq!(
        pixel["options"][0],
        serde_json::json!({ "name": "Colour", "values": ["Obsidian", "Porcelain"] })
    );
    assert_eq!(
        pixel["options"][1]["values"],
        serde_json::json!(["128 GB", "256 GB"])
    );
    assert_eq!(pixel["variants"].as_array().unwrap().len(), 3);
    assert_eq!(pixel["variants"][0]["price"]["minor"], 89_900_000);
    assert_eq!(pixel["variants"][0]["compare_at"]["minor"], 94_900_000);
    assert_eq!(pixel["variants"][2]["in_stock"], false);
    assert_eq!(pixel["images"].as_array().unwrap().len(), 2);
    assert_eq!(pixel["seo_title"], "Pixel 9 | Lagos Gadgets");
    assert!(
        pixel["description_html"]
            .as_str()
            .unwrap()
            .contains("<strong>Pixel 9</strong>")
    );
    let cable: Value = app
        .get("/api/v1/stores/import-shop/products/usb-c-cable")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        cable["options"].as_array().unwrap().is_empty(),
        "Shopify's Default Title is no option"
    );
    assert_eq!(cable["variants"][0]["price"]["minor"], 750_050);
    let draft = app
        .get("/api/v1/stores/import-shop/products/airpods-pro-2")
        .await;
    assert_error(draft, 404, "not_found").await;
    let tree: Value = app
        .get("/api/v1/stores/import-shop/categories")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tree["items"].as_array().unwrap().len(), 3);

    // Importing the same file again updates in place and keeps stock.
    let again: Value = upload(&app, "import-shop", &owner.access, FIXTURE)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["updated"], 3);
    assert_eq!(again["created"], 0);
    assert_eq!(product_count(&app, "import-shop", &owner.access).await, 3);
}

#[tokio::test]
async fn an_invalid_file_reports_rows_and_columns_and_imports_nothing() {
    let app = spawn_app().await;
    let owner = app.signup("bad-import").await;
    let response = upload(&app, "bad-import", &owner.access, INVALID).await;
    let body = assert_error(response, 422, "validation_failed").await;
    let rows: Vec<(u64, String)> = body["error"]["details"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [(3, "Title"), (4, "Variant Price"), (6, "Status")] {
        assert!(
            rows.iter()
                .any(|(r, c)| *r == expected.0 && c == expected.1),
            "{expected:?} in {rows:?}"
        );
    }
    assert_eq!(
        product_count(&app, "bad-import", &owner.access).await,
        0,
        "nothing imported"
    );

    // Structure is fine but rules fail: still nothing imported.
    let rules = INVALID
        .lines()
        .filter(|l| {
            !l.starts_with("no-title") && !l.starts_with("bad-price") && !l.starts_with("cheap")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let response = upload(&app, "bad-import", &owner.access, &rules).await;
    let body = assert_error(response, 422, "validation_failed").await;
    assert_eq!(body["error"]["details"]["rows"][0]["column"], "Variant SKU");
    assert_eq!(body["error"]["details"]["rows"][0]["row"], 3);
    assert_eq!(product_count(&app, "bad-import", &owner.access).await, 0);

    let not_multipart = app
        .authed(
            Method::POST,
            "/api/v1/admin/stores/bad-import/products/import",
            &owner.access,
        )
        .body(FIXTURE)
        .header("content-type", "text/csv")
        .send()
        .await
        .unwrap();
    assert_error(not_multipart, 415, "unsupported_media_type").await;
    let no_file = app
        .authed(
            Method::POST,
            "/api/v1/admin/stores/bad-import/products/import",
            &owner.access,
        )
        .multipart(multipart::Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_error(no_file, 422, "validation_failed").await;
}

#[tokio::test]
async fn export_then_import_round_trips() {
    let app = spawn_app().await;
    let first = app.signup("round-one").await;
    let second = app.signup("round-two").await;
    let imported = upload(&app, "round-one", &first.access, FIXTURE).await;
    assert_eq!(imported.status(), 200);
    let exported = export(&app, "round-one", &first.access).await;
    assert!(
        exported.starts_with("Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Option1 Name")
    );
    let response = upload(&app, "round-two", &second.access, &exported).await;
    let status = response.status();
    let report: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 3);
    assert_eq!(export(&app, "round-two", &second.access).await, exported);
}

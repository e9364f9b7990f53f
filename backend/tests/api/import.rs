//! Product CSV in Shopify's layout: a real export-shaped fixture imports (multi-variant
//! products, options, images, drafts), an invalid file reports rows and columns and imports
//! nothing, a file in Shopify's full current export layout imports with warnings for what
//! it changes or leaves out, and export -> import round-trips.

use reqwest::{Method, multipart};
use serde_json::Value;

use crate::helpers::{TestApp, assert_error, spawn_app};

const FIXTURE: &str = include_str!("../fixtures/shopify_products.csv");
const INVALID: &str = include_str!("../fixtures/shopify_invalid.csv");
/// Every column of Shopify's current product export (Google Shopping, metafield and market
/// columns included), a byte-order mark, a multi-line description, decimal grams, a compare-at
/// price below the price, a variant without SKU, negative stock, image-only rows out of
/// position order, a variant image, a gift card and a product without options.
const FULL_EXPORT: &str = include_str!("../fixtures/shopify_full_export.csv");

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
    usize::try_from(list["total"].as_u64().unwrap()).unwrap()
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

    let pixel = app
        .get_json("/api/v1/stores/import-shop/products/pixel-9")
        .await;
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
    let cable = app
        .get_json("/api/v1/stores/import-shop/products/usb-c-cable")
        .await;
    assert!(
        cable["options"].as_array().unwrap().is_empty(),
        "Shopify's Default Title is no option"
    );
    assert_eq!(cable["variants"][0]["price"]["minor"], 750_050);
    let draft = app
        .get("/api/v1/stores/import-shop/products/airpods-pro-2")
        .await;
    assert_error(draft, 404, "not_found").await;
    let tree = app.get_json("/api/v1/stores/import-shop/categories").await;
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

async fn admin_product(app: &TestApp, store: &str, token: &str, slug: &str) -> Value {
    let list: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/admin/stores/{store}/products?q={slug}"),
            token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["slug"] == slug)
        .unwrap_or_else(|| panic!("{slug} in {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.authed(
        Method::GET,
        &format!("/api/v1/admin/stores/{store}/products/{id}"),
        token,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

fn codes_at(report: &Value, list: &str) -> Vec<(u64, String, String)> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {report}"))
        .iter()
        .map(|n| {
            (
                n["row"].as_u64().unwrap(),
                n["column"].as_str().unwrap().to_owned(),
                n["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn shopifys_full_export_imports_and_warns_of_what_it_changes_or_leaves_out() {
    let app = spawn_app().await;
    let owner = app.signup("full-export").await;
    let response = upload(&app, "full-export", &owner.access, FULL_EXPORT).await;
    let status = response.status();
    let report: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 3, "the gift card is left out: {report}");
    assert_eq!(report["categories_created"], 3);

    let warnings = codes_at(&report, "warnings");
    for expected in [
        (3, "Variant Compare At Price", "compare_at_dropped"),
        (4, "Variant SKU", "sku_made"),
        (4, "Variant Inventory Qty", "stock_raised"),
        (7, "Gift Card", "gift_card_skipped"),
        (9, "Variant Inventory Policy", "oversell_not_offered"),
        (1, "Variant Barcode", "column_not_imported"),
        (1, "Cost per item", "column_not_imported"),
        (1, "Google Shopping / Gender", "column_not_imported"),
        (
            1,
            "Color (product.metafields.shopify.color-pattern)",
            "column_not_imported",
        ),
    ] {
        assert!(
            warnings
                .iter()
                .any(|(r, c, k)| *r == expected.0 && c == expected.1 && k == expected.2),
            "{expected:?} in {warnings:?}"
        );
    }
    for quiet in ["Variant Taxable", "Variant Tax Code", "Option1 Linked To"] {
        assert!(
            !warnings.iter().any(|(_, c, _)| c == quiet),
            "{quiet} has nothing to report: {warnings:?}"
        );
    }
    assert_eq!(
        warnings.iter().filter(|(r, _, _)| *r == 3).count(),
        1,
        "a compare-at of 0.00 is no compare-at and no warning: {warnings:?}"
    );

    let hoodie = app
        .get_json("/api/v1/stores/full-export/products/example-hoodie")
        .await;
    let variants = hoodie["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 3);
    assert_eq!(variants[0]["weight_grams"], 227, "226.796185 g rounds");
    assert_eq!(variants[1]["weight_grams"], 454);
    assert_eq!(variants[0]["compare_at"]["minor"], 3_000_000);
    assert!(variants[1]["compare_at"].is_null(), "dropped, not refused");
    assert_eq!(variants[2]["sku"], "EXAMPLE-HOODIE-L-BLACK");
    assert_eq!(variants[2]["price"]["minor"], 2_750_050);
    assert_eq!(variants[2]["available"], 0);
    let images: Vec<&str> = hoodie["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["url"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        images,
        [
            "hoodie-front.jpg",
            "hoodie-back.jpg",
            "hoodie-detail.jpg",
            "hoodie-side.jpg",
            "hoodie-m.jpg"
        ],
        "by Image Position, the variant image last"
    );
    assert!(
        hoodie["description_html"]
            .as_str()
            .unwrap()
            .contains("<li>Cotton, polyester</li>")
    );
    let tee = app
        .get_json("/api/v1/stores/full-export/products/linen-tee")
        .await;
    assert_eq!(tee["options"].as_array().unwrap().len(), 3);
    assert_eq!(tee["variants"][1]["in_stock"], false);
    assert_error(
        app.get("/api/v1/stores/full-export/products/gift-card")
            .await,
        404,
        "not_found",
    )
    .await;
    let tree = app.get_json("/api/v1/stores/full-export/categories").await;
    let mut names: Vec<&str> = tree["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["Activewear", "Kitchen", "Shirts"],
        "Type, else Product Category's last step"
    );

    let mug = admin_product(&app, "full-export", &owner.access, "example-mug").await;
    assert_eq!(mug["status"], "draft");
    assert_eq!(
        mug["variants"][0]["track_inventory"], false,
        "blank tracker"
    );
    assert!(mug["options"].as_array().unwrap().is_empty());

    // The same file again: every product updated in place, the made SKU matches its variant.
    let before = admin_product(&app, "full-export", &owner.access, "example-hoodie").await;
    let again: Value = upload(&app, "full-export", &owner.access, FULL_EXPORT)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (again["created"].as_u64(), again["updated"].as_u64()),
        (Some(0), Some(3))
    );
    let after = admin_product(&app, "full-export", &owner.access, "example-hoodie").await;
    assert_eq!(before["variants"], after["variants"]);
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
    let message = |row: u64, column: &str| -> String {
        body["error"]["details"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["row"] == row && r["column"] == column)
            .map(|r| r["message"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(
        message(4, "Variant Price"),
        "`12.345` is not a price in NGN with at most 2 decimals, like 12.50"
    );
    assert_eq!(
        message(6, "Status"),
        "`maybe` is not a status: active, draft or archived"
    );
    assert_eq!(
        message(7, "Variant SKU"),
        "a SKU is 1-64 letters, digits, `-`, `_` and `.`, without spaces"
    );
    let warnings = codes_at(&body["error"]["details"], "warnings");
    assert!(
        warnings.contains(&(
            6,
            "Variant Compare At Price".into(),
            "compare_at_dropped".into()
        )),
        "a compare-at below the price warns, it is no error: {warnings:?}"
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

/// A Shopify-layout file of `count` one-variant products (row `bad`, if any, without a title).
pub fn generated_csv(count: usize, bad: Option<usize>) -> String {
    let mut csv =
        String::from("Handle,Title,Status,Variant SKU,Variant Price,Variant Inventory Qty\n");
    for n in 1..=count {
        let title = if Some(n) == bad {
            String::new()
        } else {
            format!("Generated {n}")
        };
        csv.push_str(&format!(
            "generated-{n},{title},active,GEN-{n},{}.50,{}\n",
            100 + n,
            n % 7
        ));
    }
    csv
}

async fn upload_with_progress(app: &TestApp, store: &str, token: &str, csv: &str) -> Vec<Value> {
    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("products.csv"),
    );
    let response = app
        .authed(
            Method::POST,
            &format!("/api/v1/admin/stores/{store}/products/import"),
            token,
        )
        .header("accept", "application/x-ndjson")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/x-ndjson")
    );
    response
        .text()
        .await
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test]
async fn an_import_asked_for_progress_streams_it_and_ends_with_the_report_or_the_rows_at_fault() {
    let app = spawn_app().await;
    let owner = app.signup("stream-import").await;
    let lines = upload_with_progress(
        &app,
        "stream-import",
        &owner.access,
        &generated_csv(200, None),
    )
    .await;
    let (last, steps) = lines.split_last().unwrap();
    assert_eq!(last["report"]["created"], 200, "{last}");
    let done: Vec<u64> = steps
        .iter()
        .map(|l| l["progress"]["done"].as_u64().unwrap())
        .collect();
    assert!(
        !done.is_empty() && done.windows(2).all(|w| w[0] < w[1]),
        "{done:?}"
    );
    assert!(steps.iter().all(|l| l["progress"]["total"] == 200));
    assert_eq!(
        product_count(&app, "stream-import", &owner.access).await,
        200
    );

    let lines = upload_with_progress(
        &app,
        "stream-import",
        &owner.access,
        &generated_csv(20, Some(7)),
    )
    .await;
    let error = &lines.last().unwrap()["error"];
    assert_eq!(error["code"], "validation_failed");
    let row = &error["details"]["rows"][0];
    assert_eq!(
        (row["row"].as_u64(), row["column"].as_str()),
        (Some(8), Some("Title")),
        "{error}"
    );
    assert_eq!(
        product_count(&app, "stream-import", &owner.access).await,
        200,
        "nothing more imported"
    );
}

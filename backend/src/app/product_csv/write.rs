//! Writing the store's products in Shopify's layout: one row per variant, the product's fields
//! on its first row, images on the rows in turn (extra rows when images outnumber variants).

use std::collections::{BTreeMap, HashMap};

use techverse_shared::{CategoryId, Currency, ProductStatus};

use super::format_amount;
use crate::domain::catalog::{Category, Product};

/// The columns written, in Shopify's order (a subset Shopify itself reads back).
pub const COLUMNS: &[&str] = &[
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Price",
    "Variant Compare At Price",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "SEO Title",
    "SEO Description",
    "Status",
];

const OPTION_NAMES: [&str; 3] = ["Option1 Name", "Option2 Name", "Option3 Name"];
const OPTION_VALUES: [&str; 3] = ["Option1 Value", "Option2 Value", "Option3 Value"];

type Record = BTreeMap<&'static str, String>;

/// The store's products, sorted by handle.
pub fn export(
    products: &[Product],
    categories: &[Category],
    currency: Currency,
) -> Result<Vec<u8>, csv::Error> {
    let names: HashMap<CategoryId, &str> =
        categories.iter().map(|c| (c.id, c.name.as_str())).collect();
    let mut sorted: Vec<&Product> = products.iter().collect();
    sorted.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS)?;
    for product in sorted {
        let rows = product.variants.len().max(product.images.len()).max(1);
        for index in 0..rows {
            let mut record = Record::new();
            record.insert("Handle", product.slug.clone());
            if index == 0 {
                product_fields(&mut record, product, &names);
            }
            if let Some(variant) = product.variants.get(index) {
                variant_fields(&mut record, variant, currency);
            }
            if let Some(image) = product.images.get(index) {
                record.insert("Image Src", image.url.clone());
                record.insert("Image Position", (index + 1).to_string());
                record.insert("Image Alt Text", image.alt.clone());
            }
            writer.write_record(
                COLUMNS
                    .iter()
                    .map(|c| record.get(c).map_or("", String::as_str)),
            )?;
        }
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

fn product_fields(record: &mut Record, product: &Product, categories: &HashMap<CategoryId, &str>) {
    let category = product
        .category_ids
        .first()
        .and_then(|id| categories.get(id))
        .map(|n| (*n).to_owned());
    record.insert("Title", product.title.clone());
    record.insert("Body (HTML)", product.description.clone());
    record.insert("Vendor", product.brand.clone().unwrap_or_default());
    record.insert("Type", category.unwrap_or_default());
    record.insert("Tags", product.tags.join(", "));
    let published = product.status == ProductStatus::Active;
    record.insert("Published", published.to_string());
    for (name, option) in OPTION_NAMES.iter().zip(&product.options) {
        record.insert(name, option.name.clone());
    }
    record.insert("SEO Title", product.seo_title.clone().unwrap_or_default());
    let seo_description = product.seo_description.clone().unwrap_or_default();
    record.insert("SEO Description", seo_description);
    record.insert("Status", product.status.as_str().to_owned());
}

fn variant_fields(
    record: &mut Record,
    variant: &crate::domain::catalog::Variant,
    currency: Currency,
) {
    for (column, value) in OPTION_VALUES.iter().zip(&variant.options) {
        record.insert(column, value.clone());
    }
    record.insert("Variant SKU", variant.sku.clone());
    let grams = variant.weight_grams.map(|g| g.to_string());
    record.insert("Variant Grams", grams.unwrap_or_default());
    let tracker = if variant.track_inventory {
        "shopify"
    } else {
        ""
    };
    record.insert("Variant Inventory Tracker", tracker.to_owned());
    record.insert("Variant Inventory Qty", variant.stock_on_hand.to_string());
    record.insert("Variant Inventory Policy", "deny".to_owned());
    record.insert("Variant Price", format_amount(variant.price, currency));
    let compare_at = variant.compare_at.map(|c| format_amount(c, currency));
    record.insert("Variant Compare At Price", compare_at.unwrap_or_default());
}

//! Product CSV in the column layout of Shopify's product export, so a merchant can move a
//! Shopify store over: one row per variant (the first row of a handle also carries the
//! product's fields), extra rows for extra images. Prices are decimal strings converted exactly
//! to minor units of the store currency. Every row is checked before anything is written, and
//! errors name the row (1 = the header) and the column.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use techverse_shared::{CategoryId, Currency, ProductStatus};

use crate::domain::catalog::{
    Category, ImageInput, OptionInput, Product, ProductInput, VariantInput,
};

/// The columns written on export, in Shopify's order (a subset Shopify itself reads back).
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
    "Variant Inventory Qty",
    "Variant Price",
    "Variant Compare At Price",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "SEO Title",
    "SEO Description",
    "Status",
];

/// One problem in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based line of the record (1 is the header).
    pub row: usize,
    pub column: String,
    pub code: String,
    pub message: String,
}

/// A product read from the file, ready to validate and save.
#[derive(Debug, Clone)]
pub struct Imported {
    pub input: ProductInput,
    /// The `Type` column: a category name (created when the store lacks it).
    pub category: Option<String>,
    /// Rows of the product (first) and of each variant and image, for error messages.
    pub product_row: usize,
    pub variant_rows: Vec<usize>,
    pub image_rows: Vec<usize>,
}

/// Parses a decimal amount ("12.50", "1200") into minor units, exactly. More decimals than the
/// currency has, signs, exponents and thousands separators are refused.
pub fn parse_amount(text: &str, currency: Currency) -> Option<i64> {
    let text = text.trim();
    let exponent = u32::from(currency.exponent());
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if fraction.len() > exponent as usize {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let padded = format!("{fraction:0<width$}", width = exponent as usize);
    let fraction: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().ok()?
    };
    whole
        .checked_mul(10_i64.checked_pow(exponent)?)?
        .checked_add(fraction)
}

/// Minor units as the decimal text Shopify writes.
pub fn format_amount(minor: i64, currency: Currency) -> String {
    let exponent = u32::from(currency.exponent());
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10_i64.pow(exponent);
    format!(
        "{}.{:0width$}",
        minor / scale,
        minor % scale,
        width = exponent as usize
    )
}

struct Record<'a> {
    fields: HashMap<&'a str, &'a str>,
}

impl Record<'_> {
    fn get(&self, column: &str) -> &str {
        self.fields.get(column).map_or("", |v| v.trim())
    }
}

/// Reads the whole file: the products it describes and the errors in its structure (columns,
/// numbers, statuses). Product rules are checked by [`validate`].
pub fn parse(bytes: &[u8], currency: Currency) -> (Vec<Imported>, Vec<RowError>) {
    let mut errors = Vec::new();
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(error) => {
            return (
                Vec::new(),
                vec![RowError {
                    row: 1,
                    column: String::new(),
                    code: "invalid_csv".into(),
                    message: error.to_string(),
                }],
            );
        }
    };
    for required in ["Handle", "Title", "Variant Price"] {
        if !headers.iter().any(|h| h == required) {
            errors.push(RowError {
                row: 1,
                column: required.into(),
                code: "missing_column".into(),
                message: format!("the header has no `{required}` column"),
            });
        }
    }
    if !errors.is_empty() {
        return (Vec::new(), errors);
    }
    let mut products: Vec<Imported> = Vec::new();
    let mut by_handle: HashMap<String, usize> = HashMap::new();
    let mut option_names: HashMap<usize, Vec<String>> = HashMap::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 2;
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                errors.push(RowError {
                    row,
                    column: String::new(),
                    code: "invalid_csv".into(),
                    message: error.to_string(),
                });
                continue;
            }
        };
        let fields: HashMap<&str, &str> = headers.iter().zip(record.iter()).collect();
        let rec = Record { fields };
        let handle = rec.get("Handle").to_owned();
        if handle.is_empty() {
            errors.push(RowError {
                row,
                column: "Handle".into(),
                code: "required".into(),
                message: "every row needs a handle".into(),
            });
            continue;
        }
        let position = match by_handle.get(&handle) {
            Some(position) => *position,
            None => {
                let status = match rec.get("Status") {
                    "" => Some(if rec.get("Published").eq_ignore_ascii_case("true") {
                        ProductStatus::Active
                    } else {
                        ProductStatus::Draft
                    }),
                    other => ProductStatus::parse(&other.to_lowercase()).or_else(|| {
                        errors.push(RowError {
                            row,
                            column: "Status".into(),
                            code: "invalid".into(),
                            message: "active, draft or archived".into(),
                        });
                        None
                    }),
                };
                let mut options = Vec::new();
                let mut names = Vec::new();
                for n in 1..=3 {
                    let name = rec.get(&format!("Option{n} Name"));
                    // Shopify writes a product without options as `Title` / `Default Title`.
                    let placeholder =
                        n == 1 && name == "Title" && rec.get("Option1 Value") == "Default Title";
                    if !name.is_empty() && !placeholder {
                        options.push(OptionInput {
                            name: name.to_owned(),
                            values: Vec::new(),
                        });
                        names.push(name.to_owned());
                    }
                }
                let tags = rec
                    .get("Tags")
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect();
                let optional =
                    |column: &str| Some(rec.get(column).to_owned()).filter(|v| !v.is_empty());
                products.push(Imported {
                    input: ProductInput {
                        title: rec.get("Title").to_owned(),
                        slug: Some(handle.clone()),
                        description: optional("Body (HTML)"),
                        brand: optional("Vendor"),
                        tags,
                        status,
                        seo_title: optional("SEO Title"),
                        seo_description: optional("SEO Description"),
                        options,
                        ..ProductInput::default()
                    },
                    category: optional("Type"),
                    product_row: row,
                    variant_rows: Vec::new(),
                    image_rows: Vec::new(),
                });
                by_handle.insert(handle, products.len() - 1);
                option_names.insert(products.len() - 1, names);
                products.len() - 1
            }
        };
        let product = &mut products[position];
        let option_count = option_names.get(&position).map_or(0, Vec::len);
        let has_variant =
            !rec.get("Variant SKU").is_empty() || !rec.get("Variant Price").is_empty();
        if has_variant {
            let mut values = Vec::new();
            for n in 1..=option_count {
                let value = rec.get(&format!("Option{n} Value")).to_owned();
                if let Some(option) = product.input.options.get_mut(n - 1)
                    && !value.is_empty()
                    && !option.values.contains(&value)
                {
                    option.values.push(value.clone());
                }
                values.push(value);
            }
            let mut number = |column: &str| -> Option<i64> {
                let text = rec.get(column);
                if text.is_empty() {
                    return None;
                }
                let parsed = if column.ends_with("Price") {
                    parse_amount(text, currency)
                } else {
                    text.parse::<i64>().ok()
                };
                if parsed.is_none() {
                    errors.push(RowError {
                        row,
                        column: column.into(),
                        code: "invalid_number".into(),
                        message: format!("`{text}` is not a valid amount here"),
                    });
                }
                parsed
            };
            let price = number("Variant Price");
            let compare_at = number("Variant Compare At Price").filter(|c| *c > 0);
            let stock = number("Variant Inventory Qty");
            let grams = number("Variant Grams").and_then(|g| u32::try_from(g).ok());
            if price.is_none() && rec.get("Variant Price").is_empty() {
                errors.push(RowError {
                    row,
                    column: "Variant Price".into(),
                    code: "required".into(),
                    message: "a variant needs a price".into(),
                });
            }
            product.input.variants.push(VariantInput {
                sku: rec.get("Variant SKU").to_owned(),
                options: values,
                price: price.unwrap_or(0),
                compare_at,
                stock: stock.map(|s| s.max(0)),
                weight_grams: grams,
                ..VariantInput::default()
            });
            product.variant_rows.push(row);
        }
        let image = rec.get("Image Src");
        if !image.is_empty() && !product.input.images.iter().any(|i| i.url == image) {
            product.input.images.push(ImageInput {
                url: image.to_owned(),
                alt: rec.get("Image Alt Text").to_owned(),
            });
            product.image_rows.push(row);
        }
    }
    (products, errors)
}

/// Errors in file order.
pub fn sorted(mut errors: Vec<RowError>) -> Vec<RowError> {
    errors.sort_by(|a, b| a.row.cmp(&b.row).then_with(|| a.column.cmp(&b.column)));
    errors.dedup();
    errors
}

/// The file column a product field path came from.
fn column_of(path: &str) -> String {
    let head = path.split('.').next().unwrap_or(path);
    let base = head.split('[').next().unwrap_or(head);
    let leaf = path.rsplit('.').next().unwrap_or(path);
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    let option_number = |p: &str| -> usize {
        p.split("options[")
            .nth(1)
            .and_then(|r| r.split(']').next())
            .and_then(|n| n.parse::<usize>().ok())
            .map_or(1, |n| n + 1)
    };
    match (base, leaf) {
        ("title", _) => "Title".into(),
        ("slug", _) => "Handle".into(),
        ("description", _) => "Body (HTML)".into(),
        ("brand", _) => "Vendor".into(),
        ("tags", _) => "Tags".into(),
        ("category_ids", _) => "Type".into(),
        ("seo_title", _) => "SEO Title".into(),
        ("seo_description", _) => "SEO Description".into(),
        ("images", "url") => "Image Src".into(),
        ("images", "alt") => "Image Alt Text".into(),
        ("options", "name") => format!("Option{} Name", option_number(path)),
        ("options", _) => format!("Option{} Value", option_number(path)),
        ("variants", "sku") => "Variant SKU".into(),
        ("variants", "price") => "Variant Price".into(),
        ("variants", "compare_at") => "Variant Compare At Price".into(),
        ("variants", "stock") => "Variant Inventory Qty".into(),
        ("variants", "weight_grams") => "Variant Grams".into(),
        ("variants", "options") => {
            let tail = path
                .split("options[")
                .nth(1)
                .and_then(|r| r.split(']').next())
                .and_then(|n| n.parse::<usize>().ok());
            tail.map_or_else(
                || "Option1 Value".into(),
                |n| format!("Option{} Value", n + 1),
            )
        }
        ("status", _) => "Status".into(),
        _ => path.to_owned(),
    }
}

/// The row a product field path came from.
fn row_of(imported: &Imported, path: &str) -> usize {
    let index = |prefix: &str| -> Option<usize> {
        path.strip_prefix(prefix)
            .and_then(|r| r.split(']').next())
            .and_then(|n| n.parse().ok())
    };
    if let Some(i) = index("variants[") {
        return imported
            .variant_rows
            .get(i)
            .copied()
            .unwrap_or(imported.product_row);
    }
    if let Some(i) = index("images[") {
        return imported
            .image_rows
            .get(i)
            .copied()
            .unwrap_or(imported.product_row);
    }
    imported.product_row
}

/// Checks every product against the catalogue rules and the store's other products (slugs and
/// SKUs owned by products not in the file), returning the parsed products or every error.
pub fn validate(
    imported: &[Imported],
    existing: &[Product],
    categories: &BTreeMap<String, CategoryId>,
    mut new_product: impl FnMut(
        &ProductInput,
        Option<&Product>,
    ) -> Result<Product, crate::domain::validation::ValidationErrors>,
) -> Result<Vec<Product>, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    let by_slug: HashMap<&str, &Product> = existing.iter().map(|p| (p.slug.as_str(), p)).collect();
    let mut sku_owner: HashMap<String, (String, usize)> = HashMap::new();
    for product in existing {
        for variant in &product.variants {
            sku_owner.insert(variant.sku.to_lowercase(), (product.slug.clone(), 0));
        }
    }
    for item in imported {
        let mut input = item.input.clone();
        if let Some(name) = &item.category
            && let Some(id) = categories.get(&name.to_lowercase())
        {
            input.category_ids = vec![*id];
        }
        let current = input.slug.as_deref().and_then(|s| by_slug.get(s).copied());
        // Variants of a product already in the store keep their ids (and stock) by SKU.
        if let Some(current) = current {
            for variant in &mut input.variants {
                variant.id = current
                    .variants
                    .iter()
                    .find(|v| v.sku.eq_ignore_ascii_case(&variant.sku))
                    .map(|v| v.id);
                if variant.id.is_some() {
                    variant.stock = None;
                }
            }
        }
        match new_product(&input, current) {
            Ok(product) => {
                for (index, variant) in product.variants.iter().enumerate() {
                    let row = item
                        .variant_rows
                        .get(index)
                        .copied()
                        .unwrap_or(item.product_row);
                    let key = variant.sku.to_lowercase();
                    match sku_owner.get(&key) {
                        Some((owner, _)) if owner != &product.slug => errors.push(RowError {
                            row,
                            column: "Variant SKU".into(),
                            code: "sku_taken".into(),
                            message: format!("SKU {} is used by `{owner}`", variant.sku),
                        }),
                        _ => {
                            sku_owner.insert(key, (product.slug.clone(), row));
                        }
                    }
                }
                parsed.push(product);
            }
            Err(failures) => {
                for failure in failures.0 {
                    errors.push(RowError {
                        row: row_of(item, &failure.field),
                        column: column_of(&failure.field),
                        code: failure.code,
                        message: failure.message,
                    });
                }
            }
        }
    }
    let mut handles = HashMap::new();
    for item in imported {
        if let Some(slug) = &item.input.slug
            && handles.insert(slug.clone(), item.product_row).is_some()
        {
            errors.push(RowError {
                row: item.product_row,
                column: "Handle".into(),
                code: "duplicate".into(),
                message: "this handle appears twice, apart".into(),
            });
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(sorted(errors))
    }
}

/// The store's products in the same layout, sorted by handle.
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
            let mut record: BTreeMap<&str, String> = BTreeMap::new();
            record.insert("Handle", product.slug.clone());
            if index == 0 {
                record.insert("Title", product.title.clone());
                record.insert("Body (HTML)", product.description.clone());
                record.insert("Vendor", product.brand.clone().unwrap_or_default());
                let category = product
                    .category_ids
                    .first()
                    .and_then(|id| names.get(id))
                    .map(|n| (*n).to_owned());
                record.insert("Type", category.unwrap_or_default());
                record.insert("Tags", product.tags.join(", "));
                record.insert(
                    "Published",
                    (product.status == ProductStatus::Active).to_string(),
                );
                for (n, option) in product.options.iter().enumerate() {
                    record.insert(
                        ["Option1 Name", "Option2 Name", "Option3 Name"][n.min(2)],
                        option.name.clone(),
                    );
                }
                record.insert("SEO Title", product.seo_title.clone().unwrap_or_default());
                record.insert(
                    "SEO Description",
                    product.seo_description.clone().unwrap_or_default(),
                );
                record.insert("Status", product.status.as_str().to_owned());
            }
            if let Some(variant) = product.variants.get(index) {
                for (n, value) in variant.options.iter().enumerate() {
                    record.insert(
                        ["Option1 Value", "Option2 Value", "Option3 Value"][n.min(2)],
                        value.clone(),
                    );
                }
                record.insert("Variant SKU", variant.sku.clone());
                record.insert(
                    "Variant Grams",
                    variant
                        .weight_grams
                        .map(|g| g.to_string())
                        .unwrap_or_default(),
                );
                record.insert("Variant Inventory Qty", variant.stock_on_hand.to_string());
                record.insert("Variant Price", format_amount(variant.price, currency));
                record.insert(
                    "Variant Compare At Price",
                    variant
                        .compare_at
                        .map(|c| format_amount(c, currency))
                        .unwrap_or_default(),
                );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ngn() -> Currency {
        Currency::from_code("NGN").unwrap()
    }

    #[test]
    fn amounts_convert_exactly_without_floats() {
        assert_eq!(parse_amount("12.50", ngn()), Some(1250));
        assert_eq!(parse_amount("12.5", ngn()), Some(1250));
        assert_eq!(parse_amount("1200", ngn()), Some(120_000));
        assert_eq!(parse_amount("0.07", ngn()), Some(7));
        assert_eq!(
            parse_amount("1.005", ngn()),
            None,
            "more decimals than the currency"
        );
        assert_eq!(parse_amount("-1", ngn()), None);
        assert_eq!(parse_amount("1e3", ngn()), None);
        assert_eq!(parse_amount("1,000", ngn()), None);
        assert_eq!(
            parse_amount("1500", Currency::from_code("JPY").unwrap()),
            Some(1500)
        );
        assert_eq!(
            parse_amount("1.5", Currency::from_code("JPY").unwrap()),
            None
        );
        assert_eq!(parse_amount("99999999999999999999", ngn()), None);
        assert_eq!(format_amount(1250, ngn()), "12.50");
        assert_eq!(format_amount(7, ngn()), "0.07");
        assert_eq!(
            format_amount(1500, Currency::from_code("JPY").unwrap()),
            "1500"
        );
    }

    #[test]
    fn error_paths_map_to_shopify_columns() {
        assert_eq!(column_of("variants[2].price"), "Variant Price");
        assert_eq!(column_of("variants[0].options[1]"), "Option2 Value");
        assert_eq!(column_of("options[2].name"), "Option3 Name");
        assert_eq!(column_of("options[0].values[3]"), "Option1 Value");
        assert_eq!(column_of("images[1].url"), "Image Src");
        assert_eq!(column_of("title"), "Title");
    }
}

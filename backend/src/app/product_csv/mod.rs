//! Product CSV in the column layout of Shopify's product export, so a merchant can move a
//! Shopify store over: one row per variant (the first row of a handle also carries the
//! product's fields), extra rows for extra images. Prices are decimal strings converted exactly
//! to minor units of the store currency. Every row is checked before anything is written;
//! errors and warnings name the row (1 = the header) and the column.

mod columns;
mod read;
mod write;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use techverse_shared::{CategoryId, Currency};

pub use read::{made_sku, parse};
pub use write::{COLUMNS, export};

use crate::domain::catalog::{Product, ProductInput};

/// One problem in the file, or one value changed or left out on the way in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowNote {
    /// 1-based line of the record (1 is the header).
    pub row: usize,
    pub column: String,
    pub code: String,
    pub message: String,
}

/// Errors (any one stops the import) and warnings (the import goes ahead) gathered so far.
#[derive(Debug, Clone, Default)]
pub struct Notes {
    pub errors: Vec<RowNote>,
    pub warnings: Vec<RowNote>,
}

impl Notes {
    fn error(row: usize, column: &str, code: &str, message: String) -> Self {
        let mut notes = Self::default();
        notes.add_error(row, column, code, message);
        notes
    }

    pub fn add_error(&mut self, row: usize, column: &str, code: &str, message: String) {
        self.errors.push(note(row, column, code, message));
    }

    pub fn add_warning(&mut self, row: usize, column: &str, code: &str, message: String) {
        self.warnings.push(note(row, column, code, message));
    }

    /// Both lists in file order.
    pub fn sorted(self) -> Self {
        Self {
            errors: sorted(self.errors),
            warnings: sorted(self.warnings),
        }
    }
}

fn note(row: usize, column: &str, code: &str, message: String) -> RowNote {
    RowNote {
        row,
        column: column.to_owned(),
        code: code.to_owned(),
        message,
    }
}

/// A product read from the file, ready to validate and save.
#[derive(Debug, Clone)]
pub struct Imported {
    pub input: ProductInput,
    /// The category name (`Type`, or the last step of `Product Category`), created when the
    /// store lacks it.
    pub category: Option<String>,
    /// Rows of the product (first) and of each variant and image, for error messages.
    pub product_row: usize,
    pub variant_rows: Vec<usize>,
    pub image_rows: Vec<usize>,
}

/// What [`parse`] found.
#[derive(Debug, Default)]
pub struct Parsed {
    pub products: Vec<Imported>,
    pub notes: Notes,
}

impl Parsed {
    fn failed(notes: Notes) -> Self {
        Self {
            products: Vec::new(),
            notes,
        }
    }
}

/// Parses a decimal amount ("12.50", "1200", "1500.00" in JPY) into minor units, exactly.
/// Non-zero digits beyond the currency's decimals, signs, exponents and thousands separators
/// are refused.
pub fn parse_amount(text: &str, currency: Currency) -> Option<i64> {
    let exponent = usize::from(currency.exponent());
    let (whole, fraction) = split_decimal(text.trim())?;
    let (kept, rest) = fraction.split_at(fraction.len().min(exponent));
    if rest.bytes().any(|b| b != b'0') {
        return None;
    }
    let padded = format!("{kept:0<exponent$}");
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().ok()?
    };
    whole
        .checked_mul(10_i64.checked_pow(u32::try_from(exponent).ok()?)?)?
        .checked_add(fraction)
}

/// Grams from a decimal ("250", "226.796185"), rounded half up to a whole gram, exactly.
pub fn parse_grams(text: &str) -> Option<u32> {
    let (whole, fraction) = split_decimal(text.trim())?;
    let whole: u32 = whole.parse().ok()?;
    let round_up = fraction.bytes().next().is_some_and(|b| b >= b'5');
    whole.checked_add(u32::from(round_up))
}

/// A whole number of items, possibly negative ("-3": Shopify sold past zero).
pub fn parse_quantity(text: &str) -> Option<i64> {
    let text = text.trim();
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `digits[.digits]` split at the point; anything else is `None`.
fn split_decimal(text: &str) -> Option<(&str, &str)> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (!whole.is_empty() && digits(whole) && digits(fraction)).then_some((whole, fraction))
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

/// Errors in file order.
fn sorted(mut errors: Vec<RowNote>) -> Vec<RowNote> {
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
) -> Result<Vec<Product>, Vec<RowNote>> {
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    let by_slug: HashMap<&str, &Product> = existing.iter().map(|p| (p.slug.as_str(), p)).collect();
    let mut sku_owner: HashMap<String, String> = existing
        .iter()
        .flat_map(|p| {
            p.variants
                .iter()
                .map(|v| (v.sku.to_lowercase(), p.slug.clone()))
        })
        .collect();
    for item in imported {
        let current = item
            .input
            .slug
            .as_deref()
            .and_then(|s| by_slug.get(s).copied());
        let input = input_for(item, categories, current);
        match new_product(&input, current) {
            Ok(product) => {
                claim_skus(item, &product, &mut sku_owner, &mut errors);
                parsed.push(product);
            }
            Err(failures) => errors.extend(failures.0.into_iter().map(|failure| RowNote {
                row: row_of(item, &failure.field),
                column: column_of(&failure.field),
                code: failure.code,
                message: failure.message,
            })),
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(sorted(errors))
    }
}

/// The product input with its category resolved; variants of a product already in the store
/// keep their ids (and stock) by SKU.
fn input_for(
    item: &Imported,
    categories: &BTreeMap<String, CategoryId>,
    current: Option<&Product>,
) -> ProductInput {
    let mut input = item.input.clone();
    if let Some(name) = &item.category
        && let Some(id) = categories.get(&name.to_lowercase())
    {
        input.category_ids = vec![*id];
    }
    let Some(current) = current else {
        return input;
    };
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
    input
}

/// Records the product's SKUs, with an error for each one another product already uses.
fn claim_skus(
    item: &Imported,
    product: &Product,
    owners: &mut HashMap<String, String>,
    errors: &mut Vec<RowNote>,
) {
    for (index, variant) in product.variants.iter().enumerate() {
        let row = item
            .variant_rows
            .get(index)
            .copied()
            .unwrap_or(item.product_row);
        let owner = owners
            .entry(variant.sku.to_lowercase())
            .or_insert_with(|| product.slug.clone());
        if owner != &product.slug {
            let message = format!("SKU {} is used by `{owner}`", variant.sku);
            errors.push(note(row, "Variant SKU", "sku_taken", message));
        }
    }
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
        assert_eq!(parse_amount("12.500", ngn()), Some(1250), "trailing zeros");
        assert_eq!(
            parse_amount("1500.00", Currency::from_code("JPY").unwrap()),
            Some(1500)
        );
        assert_eq!(parse_amount(".5", ngn()), None);
        assert_eq!(parse_amount("5.", ngn()), Some(500));
        assert_eq!(format_amount(1250, ngn()), "12.50");
        assert_eq!(format_amount(7, ngn()), "0.07");
        assert_eq!(
            format_amount(1500, Currency::from_code("JPY").unwrap()),
            "1500"
        );
    }

    #[test]
    fn grams_round_to_the_nearest_gram_exactly() {
        assert_eq!(parse_grams("226.796185"), Some(227));
        assert_eq!(parse_grams("453.5"), Some(454));
        assert_eq!(parse_grams("99.4999"), Some(99));
        assert_eq!(parse_grams("250"), Some(250));
        assert_eq!(parse_grams("0.0"), Some(0));
        for refused in ["-1", "1e3", "abc", "", "1,5", "4294967296"] {
            assert_eq!(parse_grams(refused), None, "{refused}");
        }
        assert_eq!(parse_quantity("-3"), Some(-3));
        assert_eq!(parse_quantity("12"), Some(12));
        assert_eq!(parse_quantity("1.0"), None);
        assert_eq!(parse_quantity("-"), None);
    }

    #[test]
    fn made_skus_come_from_the_handle_and_values_and_never_repeat() {
        let values = ["Obsidian".to_owned(), "128 GB".to_owned()];
        assert_eq!(made_sku("pixel-9", &values, &[]), "PIXEL-9-OBSIDIAN-128-GB");
        assert_eq!(
            made_sku("pixel-9", &values, &["pixel-9-obsidian-128-gb"]),
            "PIXEL-9-OBSIDIAN-128-GB-2"
        );
        let long = "a".repeat(100);
        let sku = made_sku(&long, &[], &[&"A".repeat(64)]);
        assert_eq!(sku.len(), 64);
        assert!(sku.ends_with("-2"));
        assert!(crate::domain::catalog::parse_sku(&sku).is_ok());
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

//! Reading a file: rows grouped by handle into products (the first row of a handle carries the
//! product's fields, every row with variant fields is a variant, image-only rows add images),
//! with structural errors (bad numbers, statuses) and warnings (what was changed or left out).

use std::collections::{BTreeMap, HashMap};

use csv::StringRecord;
use techverse_shared::{Currency, ProductStatus};

use super::columns::Columns;
use super::{Imported, Notes, Parsed, parse_amount, parse_grams, parse_quantity};
use crate::domain::catalog::{ImageInput, OptionInput, ProductInput, VariantInput, slugify};

/// Columns whose values make a row a variant row (an image-only row has none of them).
const VARIANT_COLUMNS: &[&str] = &[
    "Variant SKU",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Grams",
    "Variant Inventory Qty",
    "Option1 Value",
];

const OPTION_NAMES: [&str; 3] = ["Option1 Name", "Option2 Name", "Option3 Name"];
const OPTION_VALUES: [&str; 3] = ["Option1 Value", "Option2 Value", "Option3 Value"];

/// One record with its line number (1 is the header).
struct Row<'a> {
    line: usize,
    record: &'a StringRecord,
    columns: &'a Columns,
}

impl Row<'_> {
    fn get(&self, column: &str) -> &str {
        self.columns
            .position(column)
            .and_then(|i| self.record.get(i))
            .map_or("", str::trim)
    }

    fn has(&self, column: &str) -> bool {
        !self.get(column).is_empty()
    }

    fn optional(&self, column: &str) -> Option<String> {
        Some(self.get(column).to_owned()).filter(|v| !v.is_empty())
    }
}

/// What a handle seen before stands for.
enum Seen {
    Product(usize),
    /// A gift card, left out with a warning; its other rows are passed over.
    Skipped,
}

/// A product being assembled, with the `Image Position` of each image.
struct Draft {
    imported: Imported,
    option_count: usize,
    image_positions: Vec<Option<u32>>,
}

struct Reader<'a> {
    currency: Currency,
    columns: &'a Columns,
    drafts: Vec<Draft>,
    seen: HashMap<String, Seen>,
    notes: Notes,
    /// Rows holding a value, per ignored column position.
    ignored_values: BTreeMap<usize, usize>,
}

/// Reads the whole file: the products it describes, the errors in its structure and the
/// warnings about values changed or left out. Product rules are checked by [`super::validate`].
pub fn parse(bytes: &[u8], currency: Currency) -> Parsed {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let columns = match reader.headers() {
        Ok(header) => Columns::from_header(header.iter()),
        Err(error) => return Parsed::failed(Notes::error(1, "", "invalid_csv", error.to_string())),
    };
    if !columns.has("Title") && !columns.has("Handle") {
        let message = "the header needs a `Title` column (and `Handle` to update products)";
        return Parsed::failed(Notes::error(1, "Title", "missing_column", message.into()));
    }
    let mut state = Reader {
        currency,
        columns: &columns,
        drafts: Vec::new(),
        seen: HashMap::new(),
        notes: Notes::default(),
        ignored_values: BTreeMap::new(),
    };
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        match record {
            Ok(record) => state.read(&Row {
                line,
                record: &record,
                columns: &columns,
            }),
            Err(error) => state
                .notes
                .add_error(line, "", "invalid_csv", error.to_string()),
        }
    }
    state.finish()
}

impl Reader<'_> {
    fn read(&mut self, row: &Row) {
        self.count_ignored(row);
        let Some(handle) = self.handle_of(row) else {
            return;
        };
        let index = match self.seen.get(&handle) {
            Some(Seen::Skipped) => return,
            Some(Seen::Product(index)) => *index,
            None => match self.start_product(row, &handle) {
                Some(index) => index,
                None => return,
            },
        };
        if VARIANT_COLUMNS.iter().any(|c| row.has(c)) {
            self.add_variant(index, row);
        }
        self.add_images(index, row);
    }

    /// The row's handle; Shopify makes one from the title when it is left empty.
    fn handle_of(&mut self, row: &Row) -> Option<String> {
        if row.has("Handle") {
            return Some(row.get("Handle").to_owned());
        }
        let made = slugify(row.get("Title"));
        if made.is_empty() {
            let message = "a row needs a handle, or a title to make one from";
            self.notes
                .add_error(row.line, "Handle", "required", message.into());
            return None;
        }
        Some(made)
    }

    fn start_product(&mut self, row: &Row, handle: &str) -> Option<usize> {
        if row.get("Gift Card").eq_ignore_ascii_case("true") {
            let message = "gift cards are not products here; this one was left out";
            self.notes
                .add_warning(row.line, "Gift Card", "gift_card_skipped", message.into());
            self.seen.insert(handle.to_owned(), Seen::Skipped);
            return None;
        }
        let options: Vec<OptionInput> = (0..3)
            .map(|n| row.get(OPTION_NAMES[n]))
            .enumerate()
            .filter(|(n, name)| !name.is_empty() && !is_placeholder(row, *n, name))
            .map(|(_, name)| OptionInput {
                name: name.to_owned(),
                values: Vec::new(),
            })
            .collect();
        let input = ProductInput {
            title: row.get("Title").to_owned(),
            slug: Some(handle.to_owned()),
            description: row.optional("Body (HTML)"),
            brand: row.optional("Vendor"),
            tags: tags(row.get("Tags")),
            status: self.status(row),
            seo_title: row.optional("SEO Title"),
            seo_description: row.optional("SEO Description"),
            options,
            ..ProductInput::default()
        };
        let index = self.drafts.len();
        self.drafts.push(Draft {
            option_count: input.options.len(),
            imported: Imported {
                input,
                category: category_of(row),
                product_row: row.line,
                variant_rows: Vec::new(),
                image_rows: Vec::new(),
            },
            image_positions: Vec::new(),
        });
        self.seen.insert(handle.to_owned(), Seen::Product(index));
        Some(index)
    }

    /// `Status` when given (active, draft, archived), else `Published`.
    fn status(&mut self, row: &Row) -> Option<ProductStatus> {
        match row.get("Status") {
            "" if row.get("Published").eq_ignore_ascii_case("true") => Some(ProductStatus::Active),
            "" => Some(ProductStatus::Draft),
            other => ProductStatus::parse(&other.to_lowercase()).or_else(|| {
                let message = format!("`{other}` is not a status: active, draft or archived");
                self.notes.add_error(row.line, "Status", "invalid", message);
                None
            }),
        }
    }

    fn add_variant(&mut self, index: usize, row: &Row) {
        let option_count = self.drafts[index].option_count;
        let values: Vec<String> = OPTION_VALUES[..option_count]
            .iter()
            .map(|c| row.get(c).to_owned())
            .collect();
        let price = self.price(row, "Variant Price");
        if !row.has("Variant Price") {
            let message = "a variant needs a price".into();
            self.notes
                .add_error(row.line, "Variant Price", "required", message);
        }
        let compare_at = self.compare_at(row, price);
        let variant = VariantInput {
            sku: self.sku(index, row, &values),
            options: values,
            price: price.unwrap_or(0),
            compare_at,
            stock: self.stock(row),
            weight_grams: self.grams(row),
            track_inventory: self.tracked(row),
            ..VariantInput::default()
        };
        let draft = &mut self.drafts[index];
        for (option, value) in draft
            .imported
            .input
            .options
            .iter_mut()
            .zip(&variant.options)
        {
            if !value.is_empty() && !option.values.contains(value) {
                option.values.push(value.clone());
            }
        }
        draft.imported.input.variants.push(variant);
        draft.imported.variant_rows.push(row.line);
    }

    fn price(&mut self, row: &Row, column: &str) -> Option<i64> {
        let text = row.get(column);
        if text.is_empty() {
            return None;
        }
        let parsed = parse_amount(text, self.currency);
        if parsed.is_none() {
            let message = format!("`{text}` is not {}", price_rule(self.currency));
            self.notes
                .add_error(row.line, column, "invalid_number", message);
        }
        parsed
    }

    /// A compare-at price not above the price shows no saving: Shopify keeps it, TechVerse
    /// leaves it out and says so. Zero means none.
    fn compare_at(&mut self, row: &Row, price: Option<i64>) -> Option<i64> {
        let compare_at = self
            .price(row, "Variant Compare At Price")
            .filter(|c| *c > 0)?;
        let price = price?;
        if compare_at > price {
            return Some(compare_at);
        }
        let message = format!(
            "the compare-at price {} is not above the price {}, so it shows no saving; it was left out",
            row.get("Variant Compare At Price"),
            row.get("Variant Price")
        );
        self.notes.add_warning(
            row.line,
            "Variant Compare At Price",
            "compare_at_dropped",
            message,
        );
        None
    }

    /// Stock of a new variant. Shopify's negative stock (sold past zero) starts at 0.
    fn stock(&mut self, row: &Row) -> Option<i64> {
        let text = row.get("Variant Inventory Qty");
        if text.is_empty() {
            return None;
        }
        let Some(quantity) = parse_quantity(text) else {
            let message = format!("`{text}` is not a whole number of items");
            self.notes
                .add_error(row.line, "Variant Inventory Qty", "invalid_number", message);
            return None;
        };
        if quantity < 0 {
            let message = format!("stock of {quantity} (sold past zero) starts at 0");
            self.notes
                .add_warning(row.line, "Variant Inventory Qty", "stock_raised", message);
        }
        Some(quantity.max(0))
    }

    /// Weight in whole grams; Shopify writes converted weights with decimals (`226.796185`),
    /// which round to the nearest gram.
    fn grams(&mut self, row: &Row) -> Option<u32> {
        let text = row.get("Variant Grams");
        if text.is_empty() {
            return None;
        }
        let grams = parse_grams(text);
        if grams.is_none() {
            let message = format!("`{text}` is not a weight in grams, like 250 or 226.8");
            self.notes
                .add_error(row.line, "Variant Grams", "invalid_number", message);
        }
        grams
    }

    /// Tracked unless the file has a tracker column left empty (Shopify's "don't track").
    /// Selling past zero (`continue`) is not offered here: stock stops sales at 0.
    fn tracked(&mut self, row: &Row) -> Option<bool> {
        let policy = row.get("Variant Inventory Policy");
        if policy.eq_ignore_ascii_case("continue") || policy.eq_ignore_ascii_case("true") {
            let message =
                "selling when out of stock is not offered; sales stop when stock reaches 0".into();
            self.notes.add_warning(
                row.line,
                "Variant Inventory Policy",
                "oversell_not_offered",
                message,
            );
        }
        self.columns
            .has("Variant Inventory Tracker")
            .then(|| row.has("Variant Inventory Tracker"))
    }

    /// The row's SKU, or one made from the handle and option values (Shopify lets SKUs be
    /// empty; TechVerse needs one per variant to match them on the next import).
    fn sku(&mut self, index: usize, row: &Row, values: &[String]) -> String {
        if row.has("Variant SKU") {
            return row.get("Variant SKU").to_owned();
        }
        let draft = &self.drafts[index].imported;
        let handle = draft.input.slug.as_deref().unwrap_or_default();
        let taken: Vec<&str> = draft
            .input
            .variants
            .iter()
            .map(|v| v.sku.as_str())
            .collect();
        let sku = made_sku(handle, values, &taken);
        let message = format!("no SKU; this variant gets {sku}");
        self.notes
            .add_warning(row.line, "Variant SKU", "sku_made", message);
        sku
    }

    fn add_images(&mut self, index: usize, row: &Row) {
        let position = match row.get("Image Position") {
            "" => None,
            text => {
                let parsed = text.parse::<u32>().ok().filter(|p| *p >= 1);
                if parsed.is_none() {
                    let message = format!("`{text}` is not a position: a whole number from 1");
                    self.notes
                        .add_error(row.line, "Image Position", "invalid_number", message);
                }
                parsed
            }
        };
        let draft = &mut self.drafts[index];
        for (column, alt, position) in [
            ("Image Src", row.get("Image Alt Text"), position),
            ("Variant Image", "", None),
        ] {
            let url = row.get(column);
            if url.is_empty() || draft.imported.input.images.iter().any(|i| i.url == url) {
                continue;
            }
            draft.imported.input.images.push(ImageInput {
                url: url.to_owned(),
                alt: alt.to_owned(),
            });
            draft.imported.image_rows.push(row.line);
            draft.image_positions.push(position);
        }
    }

    fn count_ignored(&mut self, row: &Row) {
        for (_, position) in &self.columns.ignored {
            if row
                .record
                .get(*position)
                .is_some_and(|v| !v.trim().is_empty())
            {
                *self.ignored_values.entry(*position).or_default() += 1;
            }
        }
    }

    fn finish(mut self) -> Parsed {
        for (name, position) in &self.columns.ignored {
            if let Some(rows) = self.ignored_values.get(position) {
                let message =
                    format!("`{name}` has values in {rows} row(s); they are not imported");
                self.notes
                    .add_warning(1, name, "column_not_imported", message);
            }
        }
        if !self.columns.has("Variant Inventory Qty") {
            let message = "no `Variant Inventory Qty` column: new variants start with no stock";
            self.notes.add_warning(
                1,
                "Variant Inventory Qty",
                "no_stock_column",
                message.into(),
            );
        }
        let products = self.drafts.into_iter().map(Draft::into_imported).collect();
        Parsed {
            products,
            notes: self.notes,
        }
    }
}

impl Draft {
    /// The product with its images in `Image Position` order (unnumbered ones after, as read).
    fn into_imported(self) -> Imported {
        let mut imported = self.imported;
        let mut order: Vec<usize> = (0..imported.input.images.len()).collect();
        order.sort_by_key(|i| self.image_positions[*i].unwrap_or(u32::MAX));
        let images = std::mem::take(&mut imported.input.images);
        let rows = std::mem::take(&mut imported.image_rows);
        imported.input.images = order.iter().map(|i| images[*i].clone()).collect();
        imported.image_rows = order.iter().map(|i| rows[*i]).collect();
        imported
    }
}

/// Shopify writes a product without options as option `Title` with value `Default Title`.
fn is_placeholder(row: &Row, option: usize, name: &str) -> bool {
    option == 0 && name == "Title" && row.get("Option1 Value") == "Default Title"
}

fn tags(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `Type` names the category; without it, the last step of Shopify's `Product Category`
/// (`Electronics > Audio` is `Audio`).
fn category_of(row: &Row) -> Option<String> {
    row.optional("Type").or_else(|| {
        row.get("Product Category")
            .rsplit('>')
            .next()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
    })
}

fn price_rule(currency: Currency) -> String {
    match currency.exponent() {
        0 => format!("a price in whole {currency}, like 1500"),
        places => format!("a price in {currency} with at most {places} decimals, like 12.50"),
    }
}

/// A SKU from a handle and option values (`PIXEL-9-OBSIDIAN-128-GB`), at most 64 characters,
/// numbered when it would repeat one in `taken`.
pub fn made_sku(handle: &str, values: &[String], taken: &[&str]) -> String {
    let base = slugify(&format!("{handle} {}", values.join(" "))).to_uppercase();
    let base = if base.is_empty() {
        "VARIANT".to_owned()
    } else {
        base
    };
    (1..)
        .map(|n| {
            let suffix = if n == 1 {
                String::new()
            } else {
                format!("-{n}")
            };
            let keep = 64 - suffix.len();
            let stem: String = base.chars().take(keep).collect();
            format!("{}{suffix}", stem.trim_end_matches('-'))
        })
        .find(|sku| !taken.iter().any(|t| t.eq_ignore_ascii_case(sku)))
        .unwrap_or(base)
}

//! The columns of Shopify's product CSV: which ones TechVerse reads, which carry nothing it
//! keeps (and are passed over quietly), and the newer names Shopify also writes for them.

use std::collections::HashMap;

/// Columns read by the importer, by their classic Shopify names.
pub const READ: &[&str] = &[
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Product Category",
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
    "Gift Card",
    "SEO Title",
    "SEO Description",
    "Variant Image",
    "Status",
];

/// Columns Shopify writes whose values TechVerse has no use for (shipping and tax flags, the
/// display unit of a weight always given in grams, option-to-metafield links).
const QUIET: &[&str] = &[
    "Option1 Linked To",
    "Option2 Linked To",
    "Option3 Linked To",
    "Variant Fulfillment Service",
    "Variant Requires Shipping",
    "Variant Taxable",
    "Variant Weight Unit",
    "Fulfillment service",
    "Requires shipping",
    "Charge tax",
    "Weight unit for display",
];

/// Newer header names Shopify uses for the same columns.
const ALIASES: &[(&str, &str)] = &[
    ("URL handle", "Handle"),
    ("Description", "Body (HTML)"),
    ("Published on online store", "Published"),
    ("SKU", "Variant SKU"),
    ("Price", "Variant Price"),
    ("Compare-at price", "Variant Compare At Price"),
    ("Inventory tracker", "Variant Inventory Tracker"),
    ("Inventory quantity", "Variant Inventory Qty"),
    (
        "Continue selling when out of stock",
        "Variant Inventory Policy",
    ),
    ("Weight value (grams)", "Variant Grams"),
    ("Product image URL", "Image Src"),
    ("Variant image URL", "Variant Image"),
];

/// Where each read column sits in the file, and the columns passed over.
#[derive(Debug, Default)]
pub struct Columns {
    read: HashMap<&'static str, usize>,
    /// Columns whose values are not imported (header text, position): a warning names those
    /// that hold data.
    pub ignored: Vec<(String, usize)>,
}

impl Columns {
    /// Sorts a header row. Names are matched without regard to case or surrounding space; the
    /// first of two columns with one name wins.
    pub fn from_header<'h>(header: impl IntoIterator<Item = &'h str>) -> Self {
        let mut columns = Self::default();
        for (position, raw) in header.into_iter().enumerate() {
            let name = raw.trim().trim_start_matches('\u{feff}').trim();
            match canonical(name) {
                Some(known) => {
                    columns.read.entry(known).or_insert(position);
                }
                None if QUIET.iter().any(|q| q.eq_ignore_ascii_case(name)) => {}
                None => columns.ignored.push((name.to_owned(), position)),
            }
        }
        columns
    }

    pub fn position(&self, column: &str) -> Option<usize> {
        self.read.get(column).copied()
    }

    pub fn has(&self, column: &str) -> bool {
        self.read.contains_key(column)
    }
}

fn canonical(name: &str) -> Option<&'static str> {
    READ.iter()
        .find(|known| known.eq_ignore_ascii_case(name))
        .copied()
        .or_else(|| {
            ALIASES
                .iter()
                .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
                .map(|(_, known)| *known)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_without_case_byte_order_mark_or_newer_names() {
        let columns = Columns::from_header([
            "\u{feff}Handle",
            " title ",
            "SKU",
            "Variant Barcode",
            "Variant Taxable",
            "Google Shopping / MPN",
        ]);
        assert_eq!(columns.position("Handle"), Some(0));
        assert_eq!(columns.position("Title"), Some(1));
        assert_eq!(columns.position("Variant SKU"), Some(2));
        assert_eq!(
            columns.ignored,
            vec![
                ("Variant Barcode".to_owned(), 3),
                ("Google Shopping / MPN".to_owned(), 5)
            ],
            "quiet columns are not reported"
        );
    }
}

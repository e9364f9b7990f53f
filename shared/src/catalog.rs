//! Catalogue shapes shared by the API and the storefront: prices in minor units, product
//! summaries and details, the category tree, facets and pages.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{CategoryId, Currency, ProductId, VariantId};

/// An amount of money: an integer count of minor units of a currency. Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// `12,500.00 NGN`-style text: grouped major units, the currency's decimals, the code.
    pub fn format(&self) -> String {
        let exponent = u32::from(self.currency.exponent());
        let scale = 10_i64.pow(exponent);
        let sign = if self.minor < 0 { "-" } else { "" };
        let magnitude = self.minor.unsigned_abs();
        let scale = scale.unsigned_abs();
        let major = (magnitude / scale).to_string();
        let mut grouped = String::with_capacity(major.len() + major.len() / 3);
        for (index, digit) in major.chars().enumerate() {
            if index > 0 && (major.len() - index).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        if exponent == 0 {
            format!("{sign}{grouped} {}", self.currency)
        } else {
            let minor = magnitude % scale;
            format!(
                "{sign}{grouped}.{minor:0width$} {}",
                self.currency,
                width = exponent as usize
            )
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Draft,
    Active,
    Archived,
}

impl ProductStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Archived => "archived",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        match input {
            "draft" => Some(Self::Draft),
            "active" => Some(Self::Active),
            "archived" => Some(Self::Archived),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageView {
    pub url: String,
    pub alt: String,
    pub position: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingView {
    /// Average stars times 100 (4.35 stars = 435), so no float crosses the wire.
    pub average_x100: u32,
    pub count: u32,
}

/// One product in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductSummary {
    pub id: ProductId,
    pub title: String,
    pub slug: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    pub price_min: Money,
    pub price_max: Money,
    /// The highest compare-at price above the lowest price, if any variant is discounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_at: Option<Money>,
    pub in_stock: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<RatingView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionView {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantView {
    pub id: VariantId,
    pub sku: String,
    /// One value per product option, in option order.
    pub options: Vec<String>,
    pub price: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_at: Option<Money>,
    pub in_stock: bool,
    /// Units a shopper can buy now; absent when inventory is not tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecView {
    pub key: String,
    pub value: String,
    pub filterable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecGroupView {
    pub name: String,
    pub specs: Vec<SpecView>,
}

/// A product page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDetail {
    #[serde(flatten)]
    pub summary: ProductSummary,
    /// Sanitised HTML rendered from the Markdown description.
    pub description_html: String,
    pub category_ids: Vec<CategoryId>,
    pub tags: Vec<String>,
    pub images: Vec<ImageView>,
    pub options: Vec<OptionView>,
    pub variants: Vec<VariantView>,
    pub specs: Vec<SpecGroupView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seo_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seo_description: Option<String>,
    pub related: Vec<ProductSummary>,
    pub updated_at: Timestamp,
}

/// A category with its children, in position order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryNode {
    pub id: CategoryId,
    pub name: String,
    pub slug: String,
    pub position: u32,
    pub children: Vec<CategoryNode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetValue {
    /// The value to filter by (a category id, a brand, a spec value).
    pub value: String,
    pub label: String,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecFacet {
    pub key: String,
    pub values: Vec<FacetValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facets {
    pub categories: Vec<FacetValue>,
    pub brands: Vec<FacetValue>,
    pub specs: Vec<SpecFacet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_min: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_max: Option<Money>,
    pub in_stock: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductPage {
    pub items: Vec<ProductSummary>,
    pub total: u32,
    pub facets: Facets,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(minor: i64, code: &str) -> Money {
        Money::new(
            minor,
            Currency::from_code(code).unwrap_or_else(|_| unreachable!()),
        )
    }

    #[test]
    fn money_formats_from_minor_units_with_the_currency_exponent() {
        assert_eq!(money(1_250_000, "NGN").format(), "12,500.00 NGN");
        assert_eq!(money(5, "USD").format(), "0.05 USD");
        assert_eq!(money(-123_456, "USD").format(), "-1,234.56 USD");
        assert_eq!(money(1500, "JPY").format(), "1,500 JPY");
        assert_eq!(money(1_234_567, "KWD").format(), "1,234.567 KWD");
        assert_eq!(
            money(i64::MIN, "USD").format(),
            "-92,233,720,368,547,758.08 USD"
        );
    }
}

//! The catalogue: products with options, variants (each its own SKU, price and stock) and
//! specifications, and the category tree. Parsing validates everything a merchant sends and
//! reports every bad field with its path.

use std::collections::{BTreeSet, HashMap, HashSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use techverse_shared::{
    CategoryId, CategoryNode, Currency, ImageView, Money, OptionView, ProductId, ProductStatus,
    ProductSummary, RatingView, SpecGroupView, SpecView, StoreId, VariantId, VariantView,
};

use super::{
    account::{clean_text, optional_text},
    validation::ValidationErrors,
};

/// The most options (Shopify's limit), variants, images and spec entries of one product.
pub use techverse_shared::catalog::MAX_OPTIONS;
pub const MAX_VARIANTS: usize = 100;
pub const MAX_IMAGES: usize = 20;
pub const MAX_SPEC_GROUPS: usize = 20;
pub const MAX_SPECS_PER_GROUP: usize = 50;
pub const MAX_TAGS: usize = 30;
/// Largest price accepted, in minor units (10 billion major units of a 2-decimal currency).
pub const MAX_PRICE_MINOR: i64 = 1_000_000_000_000;
pub const MAX_STOCK: i64 = 1_000_000_000;

/// A URL name unique within a store: 1–120 of `a-z`, `0-9` and single inner hyphens.
pub fn parse_slug(input: &str) -> Result<String, &'static str> {
    let slug = input.trim();
    if slug.is_empty() {
        return Err("required");
    }
    if slug.len() > 120 {
        return Err("too_long");
    }
    let valid = slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--");
    if valid {
        Ok(slug.to_owned())
    } else {
        Err("invalid_character")
    }
}

/// A slug made from a title: ASCII letters and digits kept (lower-cased), everything else
/// folded into single hyphens. Empty when nothing usable remains.
pub fn slugify(title: &str) -> String {
    let mut slug = String::with_capacity(title.len());
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    slug.chars()
        .take(120)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// A stock-keeping unit: 1–64 of letters, digits, `-`, `_` and `.`; unique within a store.
pub fn parse_sku(input: &str) -> Result<String, &'static str> {
    let sku = input.trim();
    if sku.is_empty() {
        return Err("required");
    }
    if sku.len() > 64 {
        return Err("too_long");
    }
    if sku
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        Ok(sku.to_owned())
    } else {
        Err("invalid_character")
    }
}

/// Markdown to HTML, then sanitised (scripts, event handlers, `javascript:` links removed).
/// The longest Markdown description a product may have.
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;

fn check_description(errors: &mut ValidationErrors, markdown: &str) {
    if markdown.chars().count() > MAX_DESCRIPTION_CHARS {
        errors.add(
            "description",
            "too_long",
            format!("a description has at most {MAX_DESCRIPTION_CHARS} characters"),
        );
    }
}

/// What shoppers would see for a description being written, under the same rules as a saved
/// one (the console's live preview).
pub fn preview_description(markdown: &str) -> Result<String, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    check_description(&mut errors, markdown);
    let html = errors.is_empty().then(|| render_description(markdown));
    errors.finish(html)
}

pub fn render_description(markdown: &str) -> String {
    let parser = pulldown_cmark::Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_TABLES);
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&html)
        .to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Image {
    pub url: String,
    pub alt: String,
    pub position: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductOption {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Variant {
    pub id: VariantId,
    pub sku: String,
    /// One value per product option, in option order.
    pub options: Vec<String>,
    pub price: i64,
    pub compare_at: Option<i64>,
    /// Units physically in stock.
    pub stock_on_hand: i64,
    /// Units held by unpaid orders (checkout); never more than on hand.
    pub reserved: i64,
    pub weight_grams: Option<u32>,
    pub track_inventory: bool,
    pub low_stock_threshold: i64,
}

impl Variant {
    /// Units a shopper can buy now (`None`: not tracked, always available).
    pub fn available(&self) -> Option<i64> {
        self.track_inventory
            .then(|| (self.stock_on_hand - self.reserved).max(0))
    }

    pub fn in_stock(&self) -> bool {
        self.available().is_none_or(|units| units > 0)
    }

    /// Whether available stock sits at or below the low-stock threshold.
    pub fn is_low(&self) -> bool {
        self.available()
            .is_some_and(|units| units <= self.low_stock_threshold)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Spec {
    pub key: String,
    pub value: String,
    pub filterable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SpecGroup {
    pub name: String,
    pub specs: Vec<Spec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub store_id: StoreId,
    pub title: String,
    pub slug: String,
    pub description: String,
    pub description_html: String,
    pub brand: Option<String>,
    pub category_ids: Vec<CategoryId>,
    pub tags: Vec<String>,
    pub status: ProductStatus,
    pub images: Vec<Image>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub options: Vec<ProductOption>,
    pub variants: Vec<Variant>,
    pub specs: Vec<SpecGroup>,
    /// Sum of review stars and number of reviews (approved ones, from the reviews issue).
    pub rating_total: i64,
    pub rating_count: i64,
    pub sold_count: i64,
    #[schema(value_type = i64)]
    #[serde(with = "super::millis")]
    pub created_at: Timestamp,
    #[schema(value_type = i64)]
    #[serde(with = "super::millis")]
    pub updated_at: Timestamp,
    /// Bumped by every save; storage refuses a save based on an older version.
    pub version: i64,
}

/// Raw product fields from the admin API or an import.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    pub title: String,
    #[serde(default)]
    pub slug: Option<String>,
    /// Markdown.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub category_ids: Vec<CategoryId>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub status: Option<ProductStatus>,
    #[serde(default)]
    pub images: Vec<ImageInput>,
    #[serde(default)]
    pub seo_title: Option<String>,
    #[serde(default)]
    pub seo_description: Option<String>,
    #[serde(default)]
    pub options: Vec<OptionInput>,
    pub variants: Vec<VariantInput>,
    #[serde(default)]
    pub specs: Vec<SpecGroupInput>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageInput {
    pub url: String,
    #[serde(default)]
    pub alt: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionInput {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantInput {
    /// Present when updating an existing variant (keeps its stock and id).
    #[serde(default)]
    pub id: Option<VariantId>,
    pub sku: String,
    #[serde(default)]
    pub options: Vec<String>,
    /// Minor units of the store currency.
    pub price: i64,
    #[serde(default)]
    pub compare_at: Option<i64>,
    /// Initial stock of a new variant; existing variants change stock only by adjustments.
    #[serde(default)]
    pub stock: Option<i64>,
    #[serde(default)]
    pub weight_grams: Option<u32>,
    #[serde(default)]
    pub track_inventory: Option<bool>,
    #[serde(default)]
    pub low_stock_threshold: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecGroupInput {
    pub name: String,
    pub specs: Vec<SpecInput>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecInput {
    pub key: String,
    pub value: String,
    #[serde(default)]
    pub filterable: bool,
}

fn required_text(
    errors: &mut ValidationErrors,
    field: &str,
    input: &str,
    max: usize,
) -> Option<String> {
    errors.check(field, clean_text(input, max), |e| e.code())
}

fn check_image_url(url: &str) -> Result<String, &'static str> {
    let url = url.trim();
    if url.is_empty() {
        return Err("required");
    }
    if url.len() > 2048 {
        return Err("too_long");
    }
    let allowed =
        url.starts_with("https://") || url.starts_with("http://") || url.starts_with("/media/");
    if !allowed
        || url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>')
    {
        return Err("invalid_url");
    }
    Ok(url.to_owned())
}

/// Ids for new variants; the caller decides how they are made (UUIDv7 in production).
pub trait IdSource {
    fn variant_id(&mut self) -> VariantId;
}

impl<F: FnMut() -> VariantId> IdSource for F {
    fn variant_id(&mut self) -> VariantId {
        self()
    }
}

impl Product {
    /// Validates `input` into a product. `existing` is the product being replaced (its id,
    /// creation time, counters and variants' stock are kept); `None` creates a new one.
    pub fn parse(
        input: &ProductInput,
        id: ProductId,
        store_id: StoreId,
        existing: Option<&Self>,
        ids: &mut impl IdSource,
        now: Timestamp,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let title = required_text(&mut errors, "title", &input.title, 200);
        let slug = match input
            .slug
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(slug) => errors.check("slug", parse_slug(slug).map_err(TextError::slug), |e| {
                e.code
            }),
            None => {
                let made = slugify(&input.title);
                if made.is_empty() && title.is_some() {
                    errors.add(
                        "slug",
                        "required",
                        "give a slug: the title has no letters or digits to make one from",
                    );
                    None
                } else {
                    Some(made)
                }
            }
        };
        let description = input.description.clone().unwrap_or_default();
        check_description(&mut errors, &description);
        let brand = optional_text(&mut errors, "brand", input.brand.as_deref(), 100);
        let mut tags = Vec::new();
        if input.tags.len() > MAX_TAGS {
            errors.add("tags", "too_many", format!("at most {MAX_TAGS} tags"));
        }
        for (index, tag) in input.tags.iter().enumerate() {
            if let Some(tag) = required_text(&mut errors, &format!("tags[{index}]"), tag, 50) {
                let tag = tag.to_lowercase();
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
        }
        let category_ids: Vec<CategoryId> = input
            .category_ids
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if input.images.len() > MAX_IMAGES {
            errors.add("images", "too_many", format!("at most {MAX_IMAGES} images"));
        }
        let mut images = Vec::new();
        for (index, image) in input.images.iter().enumerate() {
            let url = errors.check(
                &format!("images[{index}].url"),
                check_image_url(&image.url).map_err(TextError::image_url),
                |e| e.code,
            );
            let alt = if image.alt.trim().is_empty() {
                Some(String::new())
            } else {
                required_text(
                    &mut errors,
                    &format!("images[{index}].alt"),
                    &image.alt,
                    200,
                )
            };
            if let (Some(url), Some(alt)) = (url, alt) {
                images.push(Image {
                    url,
                    alt,
                    position: u32::try_from(index).unwrap_or(u32::MAX),
                });
            }
        }
        let seo_title = optional_text(&mut errors, "seo_title", input.seo_title.as_deref(), 200);
        let seo_description = optional_text(
            &mut errors,
            "seo_description",
            input.seo_description.as_deref(),
            320,
        );
        let options = parse_options(&mut errors, &input.options);
        let variants = parse_variants(&mut errors, input, &options, existing, ids);
        let specs = parse_specs(&mut errors, &input.specs);
        let status = input
            .status
            .or(existing.map(|p| p.status))
            .unwrap_or(ProductStatus::Draft);
        let parsed = match (title, slug) {
            (Some(title), Some(slug)) if errors.is_empty() => Some(Self {
                id,
                store_id,
                title,
                slug,
                description_html: render_description(&description),
                description,
                brand,
                category_ids,
                tags,
                status,
                images,
                seo_title,
                seo_description,
                options,
                variants,
                specs,
                rating_total: existing.map_or(0, |p| p.rating_total),
                rating_count: existing.map_or(0, |p| p.rating_count),
                sold_count: existing.map_or(0, |p| p.sold_count),
                created_at: existing.map_or(now, |p| p.created_at),
                updated_at: now,
                version: existing.map_or(0, |p| p.version),
            }),
            _ => None,
        };
        errors.finish(parsed)
    }

    /// Variants with a price, lowest first.
    fn price_range(&self) -> (i64, i64) {
        let prices = self.variants.iter().map(|v| v.price);
        let min = prices.clone().min().unwrap_or(0);
        let max = prices.max().unwrap_or(0);
        (min, max)
    }

    pub fn min_price(&self) -> i64 {
        self.price_range().0
    }

    pub fn in_stock(&self) -> bool {
        self.variants.iter().any(Variant::in_stock)
    }

    pub fn rating_x100(&self) -> Option<u32> {
        (self.rating_count > 0)
            .then(|| u32::try_from(self.rating_total * 100 / self.rating_count).unwrap_or(0))
    }

    /// Adds `delta` to a variant's stock on hand; never below zero or below what is reserved.
    pub fn adjust_stock(&mut self, variant: VariantId, delta: i64) -> Result<(), StockRefusal> {
        let target = self
            .variants
            .iter_mut()
            .find(|v| v.id == variant)
            .ok_or(StockRefusal::UnknownVariant)?;
        let on_hand = target.stock_on_hand.saturating_add(delta);
        if on_hand < 0 || on_hand < target.reserved {
            return Err(StockRefusal::Insufficient {
                on_hand: target.stock_on_hand,
                reserved: target.reserved,
            });
        }
        target.stock_on_hand = on_hand;
        Ok(())
    }

    /// Applies one order's stock move to a variant. A reservation of a tracked variant is
    /// refused when fewer units are available than asked; the other moves always apply and
    /// never take a count below zero.
    pub fn apply_stock_move(
        &mut self,
        variant: VariantId,
        op: super::order::StockOp,
        quantity: i64,
    ) -> Result<(), StockRefusal> {
        use super::order::StockOp;
        let target = self
            .variants
            .iter_mut()
            .find(|v| v.id == variant)
            .ok_or(StockRefusal::UnknownVariant)?;
        match op {
            StockOp::Reserve => {
                if target.track_inventory && target.stock_on_hand - target.reserved < quantity {
                    return Err(StockRefusal::Insufficient {
                        on_hand: target.stock_on_hand,
                        reserved: target.reserved,
                    });
                }
                target.reserved += quantity;
            }
            StockOp::Release => target.reserved = (target.reserved - quantity).max(0),
            StockOp::Commit => {
                target.reserved = (target.reserved - quantity).max(0);
                target.stock_on_hand = (target.stock_on_hand - quantity).max(0);
                self.sold_count += quantity;
            }
            StockOp::Restock => {
                target.stock_on_hand += quantity;
                self.sold_count = (self.sold_count - quantity).max(0);
            }
        }
        Ok(())
    }

    /// `inventory.low_stock` for each variant that went from above its threshold to at or
    /// below it between `before` (None: a new product) and this state.
    pub fn low_stock_events(&self, before: Option<&Self>) -> Vec<super::order::EventDraft> {
        self.variants
            .iter()
            .filter(|variant| variant.is_low())
            .filter(|variant| {
                !before
                    .and_then(|p| p.variant(variant.id))
                    .is_some_and(Variant::is_low)
            })
            .map(|variant| {
                (
                    "inventory.low_stock",
                    serde_json::json!({
                        "product_id": self.id,
                        "variant_id": variant.id,
                        "sku": variant.sku,
                        "available": variant.available(),
                        "threshold": variant.low_stock_threshold,
                    }),
                )
            })
            .collect()
    }

    pub fn variant(&self, id: VariantId) -> Option<&Variant> {
        self.variants.iter().find(|v| v.id == id)
    }

    /// Filterable spec values, as (key, value) pairs.
    pub fn filterable_specs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.specs
            .iter()
            .flat_map(|group| group.specs.iter())
            .filter(|spec| spec.filterable)
            .map(|spec| (spec.key.as_str(), spec.value.as_str()))
    }

    pub fn summary(&self, currency: Currency) -> ProductSummary {
        let (min, max) = self.price_range();
        let compare_at = self
            .variants
            .iter()
            .filter_map(|v| v.compare_at.filter(|c| *c > v.price))
            .max()
            .filter(|c| *c > min);
        ProductSummary {
            id: self.id,
            title: self.title.clone(),
            slug: self.slug.clone(),
            brand: self.brand.clone(),
            price_min: Money::new(min, currency),
            price_max: Money::new(max, currency),
            compare_at: compare_at.map(|c| Money::new(c, currency)),
            in_stock: self.in_stock(),
            image: self.images.first().map(image_view),
            rating: self.rating_x100().map(|average_x100| RatingView {
                average_x100,
                count: u32::try_from(self.rating_count).unwrap_or(u32::MAX),
            }),
        }
    }

    pub fn option_views(&self) -> Vec<OptionView> {
        self.options
            .iter()
            .map(|o| OptionView {
                name: o.name.clone(),
                values: o.values.clone(),
            })
            .collect()
    }

    pub fn variant_views(&self, currency: Currency) -> Vec<VariantView> {
        self.variants
            .iter()
            .map(|v| VariantView {
                id: v.id,
                sku: v.sku.clone(),
                options: v.options.clone(),
                price: Money::new(v.price, currency),
                compare_at: v.compare_at.map(|c| Money::new(c, currency)),
                in_stock: v.in_stock(),
                available: v.available(),
                weight_grams: v.weight_grams,
            })
            .collect()
    }

    pub fn spec_views(&self) -> Vec<SpecGroupView> {
        self.specs
            .iter()
            .map(|g| SpecGroupView {
                name: g.name.clone(),
                specs: g
                    .specs
                    .iter()
                    .map(|s| SpecView {
                        key: s.key.clone(),
                        value: s.value.clone(),
                        filterable: s.filterable,
                    })
                    .collect(),
            })
            .collect()
    }

    pub fn image_views(&self) -> Vec<ImageView> {
        self.images.iter().map(image_view).collect()
    }
}

fn image_view(image: &Image) -> ImageView {
    ImageView {
        url: image.url.clone(),
        alt: image.alt.clone(),
        position: image.position,
    }
}

/// A refused text field: its code (carried through `ValidationErrors::check`), and the rule the
/// value breaks when its characters are wrong.
#[derive(Debug)]
struct TextError {
    code: &'static str,
    rule: &'static str,
}

impl TextError {
    fn slug(code: &'static str) -> Self {
        Self {
            code,
            rule: "use lower-case letters, digits and single hyphens",
        }
    }

    fn sku(code: &'static str) -> Self {
        Self {
            code,
            rule: "a SKU is 1-64 letters, digits, `-`, `_` and `.`, without spaces",
        }
    }

    fn image_url(code: &'static str) -> Self {
        Self {
            code,
            rule: "use an http(s) URL or a /media/ path",
        }
    }
}

impl std::fmt::Display for TextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.code {
            "required" => "this field is required",
            "too_long" if self.rule.starts_with("a SKU") => "a SKU is at most 64 characters",
            "too_long" => "this field is too long",
            _ => self.rule,
        })
    }
}

fn parse_options(errors: &mut ValidationErrors, input: &[OptionInput]) -> Vec<ProductOption> {
    if input.len() > MAX_OPTIONS {
        errors.add(
            "options",
            "too_many",
            format!("at most {MAX_OPTIONS} options"),
        );
    }
    let mut options = Vec::new();
    let mut names = HashSet::new();
    for (index, option) in input.iter().enumerate() {
        let Some(name) = required_text(errors, &format!("options[{index}].name"), &option.name, 50)
        else {
            continue;
        };
        if !names.insert(name.to_lowercase()) {
            errors.add(
                &format!("options[{index}].name"),
                "duplicate",
                "two options have this name",
            );
        }
        if option.values.is_empty() {
            errors.add(
                &format!("options[{index}].values"),
                "required",
                "an option needs at least one value",
            );
        }
        let mut values: Vec<String> = Vec::new();
        for (value_index, value) in option.values.iter().enumerate() {
            let field = format!("options[{index}].values[{value_index}]");
            if let Some(value) = required_text(errors, &field, value, 50) {
                if values.contains(&value) {
                    errors.add(&field, "duplicate", "this value is listed twice");
                } else {
                    values.push(value);
                }
            }
        }
        options.push(ProductOption { name, values });
    }
    options
}

fn parse_variants(
    errors: &mut ValidationErrors,
    input: &ProductInput,
    options: &[ProductOption],
    existing: Option<&Product>,
    ids: &mut impl IdSource,
) -> Vec<Variant> {
    if input.variants.is_empty() {
        errors.add(
            "variants",
            "required",
            "a product needs at least one variant",
        );
    }
    if input.variants.len() > MAX_VARIANTS {
        errors.add(
            "variants",
            "too_many",
            format!("at most {MAX_VARIANTS} variants"),
        );
    }
    let mut seen = SeenVariants::default();
    let mut variants = Vec::new();
    for (index, raw) in input.variants.iter().enumerate() {
        let field = |name: &str| format!("variants[{index}].{name}");
        let sku = errors.check(
            &field("sku"),
            parse_sku(&raw.sku).map_err(TextError::sku),
            |e| e.code,
        );
        if let Some(sku) = &sku
            && !seen.skus.insert(sku.to_ascii_lowercase())
        {
            errors.add(&field("sku"), "duplicate", "two variants have this SKU");
        }
        check_variant_options(errors, index, raw, options, &mut seen);
        check_variant_numbers(errors, index, raw);
        let previous = previous_variant(errors, index, raw, existing, &mut seen);
        let Some(sku) = sku else { continue };
        variants.push(Variant {
            id: previous.map_or_else(|| ids.variant_id(), |p| p.id),
            sku,
            options: raw.options.iter().map(|v| v.trim().to_owned()).collect(),
            price: raw.price,
            compare_at: raw.compare_at,
            stock_on_hand: previous.map_or(raw.stock.unwrap_or(0), |p| p.stock_on_hand),
            reserved: previous.map_or(0, |p| p.reserved),
            weight_grams: raw.weight_grams,
            track_inventory: raw.track_inventory.unwrap_or(true),
            low_stock_threshold: raw.low_stock_threshold.unwrap_or(5),
        });
    }
    check_reserved_kept(errors, existing, &variants);
    variants
}

/// What the variants checked so far used, for the duplicate checks.
#[derive(Default)]
struct SeenVariants {
    skus: HashSet<String>,
    combinations: HashSet<Vec<String>>,
    ids: HashSet<VariantId>,
}

/// One value per option, each a value of its option, and no two variants alike.
fn check_variant_options(
    errors: &mut ValidationErrors,
    index: usize,
    raw: &VariantInput,
    options: &[ProductOption],
    seen: &mut SeenVariants,
) {
    let field = format!("variants[{index}].options");
    if raw.options.len() != options.len() {
        let message = format!("give one value for each of the {} options", options.len());
        errors.add(&field, "mismatch", message);
        return;
    }
    for (option_index, (value, option)) in raw.options.iter().zip(options).enumerate() {
        if !option.values.iter().any(|v| v == value.trim()) {
            errors.add(
                &format!("{field}[{option_index}]"),
                "unknown_value",
                format!("`{}` is not a value of {}", value.trim(), option.name),
            );
        }
    }
    let combination: Vec<String> = raw.options.iter().map(|v| v.trim().to_owned()).collect();
    if !seen.combinations.insert(combination) {
        errors.add(&field, "duplicate", "two variants have the same options");
    }
}

/// Price, compare-at price, stock, weight and threshold within their ranges.
fn check_variant_numbers(errors: &mut ValidationErrors, index: usize, raw: &VariantInput) {
    let field = |name: &str| format!("variants[{index}].{name}");
    if !(0..=MAX_PRICE_MINOR).contains(&raw.price) {
        errors.add(
            &field("price"),
            "out_of_range",
            "a price is 0 or more minor units, within limits",
        );
    }
    if let Some(compare_at) = raw.compare_at
        && (compare_at <= raw.price || compare_at > MAX_PRICE_MINOR)
    {
        errors.add(
            &field("compare_at"),
            "out_of_range",
            "the compare-at price must be higher than the price (it shows what the price was)",
        );
    }
    if raw.stock.is_some_and(|s| !(0..=MAX_STOCK).contains(&s)) {
        errors.add(&field("stock"), "out_of_range", "stock is 0 or more");
    }
    if raw.weight_grams.is_some_and(|w| w > 10_000_000) {
        errors.add(&field("weight_grams"), "out_of_range", "at most 10 tonnes");
    }
    if raw
        .low_stock_threshold
        .is_some_and(|t| !(0..=MAX_STOCK).contains(&t))
    {
        errors.add(
            &field("low_stock_threshold"),
            "out_of_range",
            "a threshold is 0 or more",
        );
    }
}

/// The stored variant a raw one names by id (each id once, and on this product).
fn previous_variant<'p>(
    errors: &mut ValidationErrors,
    index: usize,
    raw: &VariantInput,
    existing: Option<&'p Product>,
    seen: &mut SeenVariants,
) -> Option<&'p Variant> {
    let id = raw.id?;
    let field = format!("variants[{index}].id");
    let previous = existing.and_then(|p| p.variant(id));
    if previous.is_none() {
        errors.add(&field, "unknown_variant", "no such variant on this product");
    }
    if !seen.ids.insert(id) {
        errors.add(&field, "duplicate", "two variants have this id");
    }
    previous
}

/// A variant that holds reserved stock cannot silently disappear.
fn check_reserved_kept(
    errors: &mut ValidationErrors,
    existing: Option<&Product>,
    variants: &[Variant],
) {
    let Some(existing) = existing else { return };
    for old in existing.variants.iter().filter(|v| v.reserved > 0) {
        if !variants.iter().any(|v| v.id == old.id) {
            errors.add(
                "variants",
                "reserved_stock",
                format!("variant {} has stock reserved by orders", old.sku),
            );
        }
    }
}

fn parse_specs(errors: &mut ValidationErrors, input: &[SpecGroupInput]) -> Vec<SpecGroup> {
    if input.len() > MAX_SPEC_GROUPS {
        errors.add(
            "specs",
            "too_many",
            format!("at most {MAX_SPEC_GROUPS} groups"),
        );
    }
    let mut groups = Vec::new();
    for (index, group) in input.iter().enumerate() {
        let name = required_text(errors, &format!("specs[{index}].name"), &group.name, 60);
        if group.specs.len() > MAX_SPECS_PER_GROUP {
            errors.add(
                &format!("specs[{index}].specs"),
                "too_many",
                format!("at most {MAX_SPECS_PER_GROUP}"),
            );
        }
        let mut specs = Vec::new();
        for (spec_index, spec) in group.specs.iter().enumerate() {
            let key = required_text(
                errors,
                &format!("specs[{index}].specs[{spec_index}].key"),
                &spec.key,
                60,
            );
            let value = required_text(
                errors,
                &format!("specs[{index}].specs[{spec_index}].value"),
                &spec.value,
                200,
            );
            if let (Some(key), Some(value)) = (key, value) {
                specs.push(Spec {
                    key,
                    value,
                    filterable: spec.filterable,
                });
            }
        }
        if let Some(name) = name {
            groups.push(SpecGroup { name, specs });
        }
    }
    groups
}

/// Why a stock adjustment was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockRefusal {
    UnknownVariant,
    /// The change would take stock on hand below zero or below what orders hold reserved.
    Insufficient {
        on_hand: i64,
        reserved: i64,
    },
}

/// A category in a store's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Category {
    pub id: CategoryId,
    pub store_id: StoreId,
    pub parent_id: Option<CategoryId>,
    pub name: String,
    pub slug: String,
    pub position: u32,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    pub name: String,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub parent_id: Option<CategoryId>,
    #[serde(default)]
    pub position: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("no such parent category")]
    UnknownParent,
    #[error("a category cannot be its own ancestor")]
    Cycle,
}

impl Category {
    pub fn parse(
        input: &CategoryInput,
        id: CategoryId,
        store_id: StoreId,
        siblings_hint: u32,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name = required_text(&mut errors, "name", &input.name, 100);
        let slug = match input
            .slug
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(slug) => errors.check("slug", parse_slug(slug).map_err(TextError::slug), |e| {
                e.code
            }),
            None => Some(slugify(&input.name))
                .filter(|s| !s.is_empty())
                .or_else(|| {
                    if name.is_some() {
                        errors.add(
                            "slug",
                            "required",
                            "give a slug: the name has no letters or digits",
                        );
                    }
                    None
                }),
        };
        let parsed = name.zip(slug).map(|(name, slug)| Self {
            id,
            store_id,
            parent_id: input.parent_id,
            name,
            slug,
            position: input.position.unwrap_or(siblings_hint),
        });
        errors.finish(parsed)
    }
}

/// Checks that giving `category` the parent `parent` keeps the tree a tree.
pub fn check_parent(
    all: &[Category],
    category: CategoryId,
    parent: Option<CategoryId>,
) -> Result<(), TreeError> {
    let Some(mut current) = parent else {
        return Ok(());
    };
    let parents: HashMap<CategoryId, Option<CategoryId>> =
        all.iter().map(|c| (c.id, c.parent_id)).collect();
    if !parents.contains_key(&current) {
        return Err(TreeError::UnknownParent);
    }
    for _ in 0..=all.len() {
        if current == category {
            return Err(TreeError::Cycle);
        }
        match parents.get(&current).copied().flatten() {
            Some(next) => current = next,
            None => return Ok(()),
        }
    }
    Err(TreeError::Cycle)
}

/// `root` and every category below it.
pub fn descendants(all: &[Category], root: CategoryId) -> HashSet<CategoryId> {
    let mut children: HashMap<CategoryId, Vec<CategoryId>> = HashMap::new();
    for category in all {
        if let Some(parent) = category.parent_id {
            children.entry(parent).or_default().push(category.id);
        }
    }
    let mut found = HashSet::from([root]);
    let mut stack = vec![root];
    while let Some(next) = stack.pop() {
        for child in children.get(&next).into_iter().flatten() {
            if found.insert(*child) {
                stack.push(*child);
            }
        }
    }
    found
}

/// The categories as a tree, each level ordered by position then name.
pub fn tree(all: &[Category]) -> Vec<CategoryNode> {
    fn build(all: &[Category], parent: Option<CategoryId>, depth: usize) -> Vec<CategoryNode> {
        if depth > 64 {
            return Vec::new();
        }
        let mut level: Vec<&Category> = all.iter().filter(|c| c.parent_id == parent).collect();
        level.sort_by(|a, b| {
            a.position
                .cmp(&b.position)
                .then_with(|| a.name.cmp(&b.name))
        });
        level
            .into_iter()
            .map(|c| CategoryNode {
                id: c.id,
                name: c.name.clone(),
                slug: c.slug.clone(),
                position: c.position,
                children: build(all, Some(c.id), depth + 1),
            })
            .collect()
    }
    build(all, None, 0)
}

//! The public product list, as pure functions over the store's active products: filters, facets
//! with counts, sorting and a keyset cursor. A cursor names the last item's sort key and id, so
//! the next page starts strictly after it even while products are being added.

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use techverse_shared::{
    CategoryId, Currency, FacetValue, Facets, Money, ProductId, ProductPage, SpecFacet,
};

use super::catalog::{Category, Product};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Search rank when there is a query, else newest.
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
    BestSelling,
    Rating,
}

impl Sort {
    pub fn parse(input: &str) -> Option<Self> {
        Some(match input {
            "relevance" => Self::Relevance,
            "price_asc" => Self::PriceAsc,
            "price_desc" => Self::PriceDesc,
            "newest" => Self::Newest,
            "best_selling" => Self::BestSelling,
            "rating" => Self::Rating,
            _ => return None,
        })
    }
}

/// Where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "s")]
    pub sort: Sort,
    #[serde(rename = "k")]
    pub key: i64,
    #[serde(rename = "i")]
    pub id: ProductId,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(text: &str) -> Option<Self> {
        if text.len() > 200 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Product ids matching the search text, best first (`None`: no text search).
    pub matches: Option<Vec<ProductId>>,
    pub category: Option<CategoryId>,
    pub brand: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub in_stock: Option<bool>,
    /// `spec.<key>=<value>` filters on filterable specs (all must match).
    pub specs: Vec<(String, String)>,
    pub sort: Sort,
    pub limit: u32,
    pub cursor: Option<Cursor>,
}

pub const MAX_LIMIT: u32 = 100;

/// The key a product sorts by (ascending order of (key, id) is the page order).
fn sort_key(product: &Product, sort: Sort, rank: Option<&HashMap<ProductId, i64>>) -> i64 {
    match sort {
        Sort::PriceAsc => product.min_price(),
        Sort::PriceDesc => -product.min_price(),
        Sort::BestSelling => -product.sold_count,
        Sort::Rating => -i64::from(product.rating_x100().unwrap_or(0)),
        Sort::Newest => -product.created_at.as_millisecond(),
        Sort::Relevance => match rank {
            Some(rank) => rank.get(&product.id).copied().unwrap_or(i64::MAX),
            None => -product.created_at.as_millisecond(),
        },
    }
}

fn matches_filters(
    product: &Product,
    query: &ListQuery,
    scope: Option<&HashSet<CategoryId>>,
) -> bool {
    if let Some(scope) = scope
        && !product.category_ids.iter().any(|c| scope.contains(c))
    {
        return false;
    }
    if let Some(brand) = &query.brand
        && !product
            .brand
            .as_deref()
            .is_some_and(|b| b.eq_ignore_ascii_case(brand))
    {
        return false;
    }
    let price = product.min_price();
    if query.min_price.is_some_and(|min| price < min)
        || query.max_price.is_some_and(|max| price > max)
    {
        return false;
    }
    if let Some(wanted) = query.in_stock
        && product.in_stock() != wanted
    {
        return false;
    }
    query.specs.iter().all(|(key, value)| {
        product
            .filterable_specs()
            .any(|(k, v)| k.eq_ignore_ascii_case(key) && v.eq_ignore_ascii_case(value))
    })
}

fn facet_values(counts: BTreeMap<String, (String, u32)>) -> Vec<FacetValue> {
    let mut values: Vec<FacetValue> = counts
        .into_iter()
        .map(|(value, (label, count))| FacetValue {
            value,
            label,
            count,
        })
        .collect();
    values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
    values
}

fn facets(products: &[&Product], categories: &[Category], currency: Currency) -> Facets {
    let names: HashMap<CategoryId, &str> =
        categories.iter().map(|c| (c.id, c.name.as_str())).collect();
    let mut by_category = BTreeMap::new();
    let mut by_brand = BTreeMap::new();
    let mut by_spec: BTreeMap<String, BTreeMap<String, (String, u32)>> = BTreeMap::new();
    let mut in_stock = 0;
    for product in products {
        for id in &product.category_ids {
            if let Some(name) = names.get(id) {
                by_category
                    .entry(id.to_string())
                    .or_insert_with(|| ((*name).to_owned(), 0))
                    .1 += 1;
            }
        }
        if let Some(brand) = &product.brand {
            by_brand
                .entry(brand.clone())
                .or_insert_with(|| (brand.clone(), 0))
                .1 += 1;
        }
        let mut seen = HashSet::new();
        for (key, value) in product.filterable_specs() {
            if seen.insert((key, value)) {
                by_spec
                    .entry(key.to_owned())
                    .or_default()
                    .entry(value.to_owned())
                    .or_insert_with(|| (value.to_owned(), 0))
                    .1 += 1;
            }
        }
        if product.in_stock() {
            in_stock += 1;
        }
    }
    let prices = products.iter().map(|p| p.min_price());
    Facets {
        categories: facet_values(by_category),
        brands: facet_values(by_brand),
        specs: by_spec
            .into_iter()
            .map(|(key, values)| SpecFacet {
                key,
                values: facet_values(values),
            })
            .collect(),
        price_min: prices.clone().min().map(|m| Money::new(m, currency)),
        price_max: prices.max().map(|m| Money::new(m, currency)),
        in_stock,
    }
}

/// One page of the public list: `products` are the store's active products.
pub fn page(
    products: &[Product],
    categories: &[Category],
    query: &ListQuery,
    currency: Currency,
) -> ProductPage {
    let scope = query
        .category
        .map(|root| super::catalog::descendants(categories, root));
    let rank: Option<HashMap<ProductId, i64>> = query.matches.as_ref().map(|ids| {
        ids.iter()
            .enumerate()
            .map(|(index, id)| (*id, i64::try_from(index).unwrap_or(i64::MAX)))
            .collect()
    });
    let mut selected: Vec<&Product> = products
        .iter()
        .filter(|p| rank.as_ref().is_none_or(|r| r.contains_key(&p.id)))
        .filter(|p| matches_filters(p, query, scope.as_ref()))
        .collect();
    let facets = facets(&selected, categories, currency);
    let total = u32::try_from(selected.len()).unwrap_or(u32::MAX);
    let key = |p: &Product| (sort_key(p, query.sort, rank.as_ref()), p.id);
    selected.sort_by_key(|p| key(p));
    let start = match &query.cursor {
        Some(cursor) if cursor.sort == query.sort => {
            let after = (cursor.key, cursor.id);
            selected.partition_point(|p| key(p) <= after)
        }
        _ => 0,
    };
    let limit = query.limit.clamp(1, MAX_LIMIT) as usize;
    let window: Vec<&Product> = selected.iter().skip(start).take(limit).copied().collect();
    let next_cursor = (start + window.len() < selected.len())
        .then(|| window.last())
        .flatten()
        .map(|last| {
            let (key, id) = key(last);
            Cursor {
                sort: query.sort,
                key,
                id,
            }
            .encode()
        });
    ProductPage {
        items: window.iter().map(|p| p.summary(currency)).collect(),
        total,
        facets,
        next_cursor,
    }
}

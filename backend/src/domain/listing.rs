//! The public product list, as pure functions over the store's active products: filters, facets
//! with counts, sorting and a keyset cursor. A cursor names the last item's sort key and id, so
//! the next page starts strictly after it even while products are being added.
//!
//! A [`ListingIndex`] is built once per catalogue version: every product reduced to what lists
//! need (price, stock, brand, categories and specs as small integers, its summary ready to
//! send) and pre-sorted for every order. A page is then one pass of integer comparisons and
//! counts over the index, whatever the filters: no product is parsed, no string compared per
//! product, nothing sorted (except best-selling with fresher sales counts).

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use techverse_shared::{
    CategoryId, Currency, FacetValue, Facets, Money, ProductId, ProductPage, ProductSummary,
    SpecFacet,
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

/// How many units each product has sold, fresher than the index (sales move with every paid
/// order; the index only with catalogue changes).
pub type SoldCounts = HashMap<ProductId, i64>;

/// The orders an index keeps pre-sorted, by their [`Sort`] (relevance without a search is
/// newest).
const SORTS: [Sort; 5] = [
    Sort::PriceAsc,
    Sort::PriceDesc,
    Sort::BestSelling,
    Sort::Rating,
    Sort::Newest,
];

fn sort_slot(sort: Sort) -> usize {
    match sort {
        Sort::PriceAsc => 0,
        Sort::PriceDesc => 1,
        Sort::BestSelling => 2,
        Sort::Rating => 3,
        Sort::Newest | Sort::Relevance => 4,
    }
}

/// One product as lists see it.
#[derive(Debug, Clone)]
struct Row {
    id: ProductId,
    price: i64,
    in_stock: bool,
    brand: Option<u32>,
    category_ids: Box<[CategoryId]>,
    /// Indexes into the known categories (for facets).
    categories: Box<[u32]>,
    /// Distinct (key, value) spec pairs, as indexes into the interned pairs.
    specs: Box<[u32]>,
    /// The key of each pre-sorted order, as `sort_key` gives it.
    keys: [i64; 5],
}

/// Strings seen once, numbered in the order met.
#[derive(Debug, Default)]
struct Interner {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Interner {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.index.get(name) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), id);
        id
    }
}

/// A store's active products and categories, ready for any list query.
#[derive(Debug)]
pub struct ListingIndex {
    currency: Currency,
    rows: Vec<Row>,
    summaries: Vec<ProductSummary>,
    position: HashMap<ProductId, u32>,
    categories: Vec<Category>,
    /// Known categories (index = interned number): id and name.
    known: Vec<(CategoryId, String)>,
    brands: Vec<String>,
    /// Interned spec pairs: (key, value), exactly as written.
    pairs: Vec<(String, String)>,
    orders: [Vec<u32>; 5],
}

impl ListingIndex {
    pub fn build(products: &[Product], categories: &[Category], currency: Currency) -> Self {
        let known: Vec<(CategoryId, String)> =
            categories.iter().map(|c| (c.id, c.name.clone())).collect();
        let known_index: HashMap<CategoryId, u32> = known
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (*id, u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let (mut brands, mut pairs) = (Interner::default(), Interner::default());
        let mut pair_names = Vec::new();
        let rows: Vec<Row> = products
            .iter()
            .map(|product| {
                let mut specs: Vec<u32> = product
                    .filterable_specs()
                    .map(|(key, value)| {
                        let id = pairs.id(&format!("{key}\u{0}{value}"));
                        if id as usize == pair_names.len() {
                            pair_names.push((key.to_owned(), value.to_owned()));
                        }
                        id
                    })
                    .collect();
                specs.sort_unstable();
                specs.dedup();
                let mut keys = [0_i64; 5];
                for (slot, sort) in keys.iter_mut().zip(SORTS) {
                    *slot = sort_key(product, sort, None);
                }
                Row {
                    id: product.id,
                    price: product.min_price(),
                    in_stock: product.in_stock(),
                    brand: product.brand.as_deref().map(|b| brands.id(b)),
                    category_ids: product.category_ids.clone().into(),
                    categories: product
                        .category_ids
                        .iter()
                        .filter_map(|c| known_index.get(c).copied())
                        .collect(),
                    specs: specs.into(),
                    keys,
                }
            })
            .collect();
        let orders = std::array::from_fn(|slot| {
            let mut order: Vec<u32> = (0..u32::try_from(rows.len()).unwrap_or(u32::MAX)).collect();
            order.sort_by_key(|&i| (rows[i as usize].keys[slot], rows[i as usize].id));
            order
        });
        Self {
            currency,
            summaries: products.iter().map(|p| p.summary(currency)).collect(),
            position: rows
                .iter()
                .enumerate()
                .map(|(i, r)| (r.id, u32::try_from(i).unwrap_or(u32::MAX)))
                .collect(),
            rows,
            categories: categories.to_vec(),
            known,
            brands: brands.names,
            pairs: pair_names,
            orders,
        }
    }

    /// How many products the index holds.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The store's categories as indexed.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// The summary of a product the index holds.
    pub fn summary(&self, id: ProductId) -> Option<&ProductSummary> {
        self.position
            .get(&id)
            .and_then(|&i| self.summaries.get(i as usize))
    }

    /// Products sharing a category with `of` (not `of` itself), best-selling first (by `sold`
    /// when given), at most `limit`.
    pub fn related(
        &self,
        of: ProductId,
        categories: &[CategoryId],
        sold: Option<&SoldCounts>,
        limit: usize,
    ) -> Vec<ProductSummary> {
        let mut found: Vec<(i64, ProductId, usize)> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.id != of && r.category_ids.iter().any(|c| categories.contains(c)))
            .map(|(i, r)| (self.best_selling_key(i, sold), r.id, i))
            .collect();
        found.sort_unstable();
        found
            .into_iter()
            .take(limit)
            .map(|(_, _, i)| self.summaries[i].clone())
            .collect()
    }

    fn best_selling_key(&self, row: usize, sold: Option<&SoldCounts>) -> i64 {
        let stored = self.rows[row].keys[sort_slot(Sort::BestSelling)];
        sold.and_then(|s| s.get(&self.rows[row].id))
            .map_or(stored, |units| -units)
    }

    /// The rows of `query`'s order with each row's key: pre-sorted, or (a search's relevance,
    /// best-selling with fresher counts) ordered now.
    fn ordered(&self, query: &ListQuery, sold: Option<&SoldCounts>) -> Vec<(i64, u32)> {
        match (&query.matches, query.sort) {
            (Some(matches), Sort::Relevance) => {
                let mut seen = HashSet::new();
                matches
                    .iter()
                    .enumerate()
                    .filter(|(_, id)| seen.insert(**id))
                    .filter_map(|(rank, id)| {
                        Some((
                            i64::try_from(rank).unwrap_or(i64::MAX),
                            *self.position.get(id)?,
                        ))
                    })
                    .collect()
            }
            (_, Sort::BestSelling) if sold.is_some() => {
                let mut order: Vec<(i64, u32)> = (0..self.rows.len())
                    .map(|i| {
                        (
                            self.best_selling_key(i, sold),
                            u32::try_from(i).unwrap_or(u32::MAX),
                        )
                    })
                    .collect();
                order.sort_unstable_by_key(|&(key, i)| (key, self.rows[i as usize].id));
                order
            }
            (_, sort) => {
                let slot = sort_slot(sort);
                self.orders[slot]
                    .iter()
                    .map(|&i| (self.rows[i as usize].keys[slot], i))
                    .collect()
            }
        }
    }

    /// One page of the list for `query` (see the module documentation).
    pub fn page(&self, query: &ListQuery, sold: Option<&SoldCounts>) -> ProductPage {
        let (rows, chosen) = self.choose(query, sold);
        ProductPage {
            items: rows
                .iter()
                .map(|&i| self.summaries[i as usize].clone())
                .collect(),
            total: chosen.total,
            facets: chosen.facets,
            next_cursor: chosen.next_cursor,
        }
    }

    /// Like [`Self::page`], naming the page's products by id (for views other than summaries).
    pub fn select(&self, query: &ListQuery, sold: Option<&SoldCounts>) -> Selection {
        let (rows, mut chosen) = self.choose(query, sold);
        chosen.ids = rows.iter().map(|&i| self.rows[i as usize].id).collect();
        chosen
    }

    /// The rows of the page, with everything else a page says (ids left empty).
    fn choose(&self, query: &ListQuery, sold: Option<&SoldCounts>) -> (Vec<u32>, Selection) {
        let filter = Filter::new(self, query);
        let mut counts = Counts::new(self);
        let after = query
            .cursor
            .as_ref()
            .filter(|c| c.sort == query.sort)
            .map(|c| (c.key, c.id));
        let limit = query.limit.clamp(1, MAX_LIMIT) as usize;
        let mut window: Vec<(i64, u32)> = Vec::with_capacity(limit);
        let mut more = false;
        for (key, i) in self.ordered(query, sold) {
            let row = &self.rows[i as usize];
            if !filter.keeps(i, row) {
                continue;
            }
            counts.add(row);
            if after.is_some_and(|after| (key, row.id) <= after) {
                continue;
            }
            if window.len() < limit {
                window.push((key, i));
            } else {
                more = true;
            }
        }
        let next_cursor = more.then(|| window.last()).flatten().map(|&(key, i)| {
            Cursor {
                sort: query.sort,
                key,
                id: self.rows[i as usize].id,
            }
            .encode()
        });
        let selection = Selection {
            ids: Vec::new(),
            total: counts.total,
            facets: counts.facets(self),
            next_cursor,
        };
        (window.into_iter().map(|(_, i)| i).collect(), selection)
    }
}

/// A page of a list, its products named by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub ids: Vec<ProductId>,
    pub total: u32,
    pub facets: Facets,
    pub next_cursor: Option<String>,
}

/// A list query's filters, resolved against one index.
struct Filter<'a> {
    query: &'a ListQuery,
    /// With a search, which rows matched it.
    matched: Option<Vec<bool>>,
    scope: Option<HashSet<CategoryId>>,
    brands: Option<Vec<bool>>,
    /// Per spec filter, which interned pairs satisfy it.
    specs: Vec<Vec<bool>>,
}

impl<'a> Filter<'a> {
    fn new(index: &ListingIndex, query: &'a ListQuery) -> Self {
        Self {
            query,
            matched: query.matches.as_ref().map(|ids| {
                let mut matched = vec![false; index.rows.len()];
                for id in ids {
                    if let Some(&i) = index.position.get(id) {
                        matched[i as usize] = true;
                    }
                }
                matched
            }),
            scope: query
                .category
                .map(|root| super::catalog::descendants(&index.categories, root)),
            brands: query.brand.as_ref().map(|wanted| {
                index
                    .brands
                    .iter()
                    .map(|b| b.eq_ignore_ascii_case(wanted))
                    .collect()
            }),
            specs: query
                .specs
                .iter()
                .map(|(key, value)| {
                    index
                        .pairs
                        .iter()
                        .map(|(k, v)| k.eq_ignore_ascii_case(key) && v.eq_ignore_ascii_case(value))
                        .collect()
                })
                .collect(),
        }
    }

    fn keeps(&self, position: u32, row: &Row) -> bool {
        if let Some(matched) = &self.matched
            && !matched[position as usize]
        {
            return false;
        }
        if let Some(scope) = &self.scope
            && !row.category_ids.iter().any(|c| scope.contains(c))
        {
            return false;
        }
        if let Some(brands) = &self.brands
            && !row.brand.is_some_and(|b| brands[b as usize])
        {
            return false;
        }
        if self.query.min_price.is_some_and(|min| row.price < min)
            || self.query.max_price.is_some_and(|max| row.price > max)
        {
            return false;
        }
        if self
            .query
            .in_stock
            .is_some_and(|wanted| row.in_stock != wanted)
        {
            return false;
        }
        self.specs
            .iter()
            .all(|wanted| row.specs.iter().any(|&p| wanted[p as usize]))
    }
}

/// Facet counts over the products a query keeps.
struct Counts {
    total: u32,
    categories: Vec<u32>,
    brands: Vec<u32>,
    pairs: Vec<u32>,
    in_stock: u32,
    price: Option<(i64, i64)>,
}

impl Counts {
    fn new(index: &ListingIndex) -> Self {
        Self {
            total: 0,
            categories: vec![0; index.known.len()],
            brands: vec![0; index.brands.len()],
            pairs: vec![0; index.pairs.len()],
            in_stock: 0,
            price: None,
        }
    }

    fn add(&mut self, row: &Row) {
        self.total += 1;
        for &c in &row.categories {
            self.categories[c as usize] += 1;
        }
        if let Some(b) = row.brand {
            self.brands[b as usize] += 1;
        }
        for &p in &row.specs {
            self.pairs[p as usize] += 1;
        }
        if row.in_stock {
            self.in_stock += 1;
        }
        self.price = Some(match self.price {
            Some((low, high)) => (low.min(row.price), high.max(row.price)),
            None => (row.price, row.price),
        });
    }

    fn facets(&self, index: &ListingIndex) -> Facets {
        // Most products first; ties by label, then by value.
        let ranked = |mut values: Vec<FacetValue>| {
            values.sort_by(|a, b| {
                b.count
                    .cmp(&a.count)
                    .then_with(|| a.label.cmp(&b.label))
                    .then_with(|| a.value.cmp(&b.value))
            });
            values
        };
        let categories = index
            .known
            .iter()
            .zip(&self.categories)
            .filter(|(_, count)| **count > 0)
            .map(|((id, name), count)| FacetValue {
                value: id.to_string(),
                label: name.clone(),
                count: *count,
            })
            .collect();
        let brands = index
            .brands
            .iter()
            .zip(&self.brands)
            .filter(|(_, count)| **count > 0)
            .map(|(brand, count)| FacetValue {
                value: brand.clone(),
                label: brand.clone(),
                count: *count,
            })
            .collect();
        let mut by_key: BTreeMap<&str, Vec<FacetValue>> = BTreeMap::new();
        for ((key, value), count) in index.pairs.iter().zip(&self.pairs) {
            if *count > 0 {
                by_key.entry(key).or_default().push(FacetValue {
                    value: value.clone(),
                    label: value.clone(),
                    count: *count,
                });
            }
        }
        Facets {
            categories: ranked(categories),
            brands: ranked(brands),
            specs: by_key
                .into_iter()
                .map(|(key, values)| SpecFacet {
                    key: key.to_owned(),
                    values: ranked(values),
                })
                .collect(),
            price_min: self.price.map(|(low, _)| Money::new(low, index.currency)),
            price_max: self.price.map(|(_, high)| Money::new(high, index.currency)),
            in_stock: self.in_stock,
        }
    }
}

#[cfg(test)]
mod reference {
    //! The plain implementation the index must agree with: every product filtered, counted and
    //! sorted for each request.
    use super::*;

    pub fn matches_filters(
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
            .map(|root| crate::domain::catalog::descendants(categories, root));
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
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use techverse_shared::StoreId;

    use super::*;
    use crate::domain::catalog::{ProductInput, SpecGroupInput, SpecInput, VariantInput};

    fn category(n: u128, parent: Option<u128>, name: &str) -> Category {
        Category {
            id: CategoryId::from_uuid(uuid::Uuid::from_u128(n)),
            store_id: StoreId::from_uuid(uuid::Uuid::nil()),
            parent_id: parent.map(|p| CategoryId::from_uuid(uuid::Uuid::from_u128(p))),
            name: name.into(),
            slug: format!("c{n}"),
            position: 0,
        }
    }

    fn categories() -> Vec<Category> {
        vec![
            category(1, None, "Phones"),
            category(2, Some(1), "Android"),
            category(3, None, "Audio"),
            // Two categories with one name: ties break by id.
            category(4, None, "Audio"),
        ]
    }

    /// (brand, categories, specs, price, stock, sold, created, rating)
    type Shape = (u8, u8, Vec<(u8, u8)>, i64, i64, i64, i64, u8);

    fn product(n: usize, shape: &Shape) -> Product {
        let (brand, cats, specs, price, stock, sold, created, rating) = shape;
        let brands = [None, Some("Acme"), Some("acme"), Some("Zeta")];
        let keys = ["Storage", "storage", "Colour"];
        let values = ["128 GB", "256 gb", "Red", "red"];
        let input = ProductInput {
            title: format!("Thing {n}"),
            status: Some(techverse_shared::ProductStatus::Active),
            brand: brands[*brand as usize % 4].map(str::to_owned),
            category_ids: (0..5_u128)
                .filter(|i| cats & (1 << i) != 0)
                .map(|i| CategoryId::from_uuid(uuid::Uuid::from_u128(i + 1)))
                .collect(),
            specs: vec![SpecGroupInput {
                name: "Specs".into(),
                specs: specs
                    .iter()
                    .map(|(k, v)| SpecInput {
                        key: keys[*k as usize % 3].into(),
                        value: values[*v as usize % 4].into(),
                        filterable: true,
                    })
                    .collect(),
            }],
            variants: vec![VariantInput {
                sku: format!("SKU-{n}"),
                price: *price,
                stock: Some(*stock),
                ..VariantInput::default()
            }],
            ..ProductInput::default()
        };
        let mut ids = || techverse_shared::VariantId::from_uuid(uuid::Uuid::now_v7());
        let mut product = Product::parse(
            &input,
            ProductId::from_uuid(uuid::Uuid::from_u128(1000 + n as u128)),
            StoreId::from_uuid(uuid::Uuid::nil()),
            None,
            &mut ids,
            jiff::Timestamp::from_millisecond(1_700_000_000_000 + created).unwrap(),
        )
        .unwrap();
        product.sold_count = *sold;
        product.rating_count = i64::from(*rating > 0);
        product.rating_total = i64::from(*rating);
        product
    }

    fn shapes() -> impl Strategy<Value = Vec<Shape>> {
        prop::collection::vec(
            (
                0u8..4,
                0u8..32,
                prop::collection::vec((0u8..3, 0u8..4), 0..4),
                1i64..50,
                0i64..3,
                0i64..4,
                0i64..6,
                0u8..6,
            ),
            0..40,
        )
    }

    fn queries() -> impl Strategy<Value = ListQuery> {
        let sorts = prop::sample::select(vec![
            Sort::Relevance,
            Sort::PriceAsc,
            Sort::PriceDesc,
            Sort::Newest,
            Sort::BestSelling,
            Sort::Rating,
        ]);
        (
            sorts,
            prop::option::of(0u128..6),
            prop::option::of(prop::sample::select(vec!["acme", "ZETA", "none"])),
            prop::option::of(1i64..30),
            prop::option::of(10i64..50),
            prop::option::of(any::<bool>()),
            prop::option::of(prop::sample::select(vec![
                ("STORAGE", "256 GB"),
                ("colour", "RED"),
            ])),
            1u32..8,
            prop::option::of(prop::collection::vec(1000u128..1045, 0..12)),
        )
            .prop_map(
                |(sort, category, brand, min, max, in_stock, spec, limit, matches)| ListQuery {
                    // As a search gives them: best first, each id once.
                    matches: matches.map(|ids| {
                        let mut seen = HashSet::new();
                        ids.into_iter()
                            .filter(|n| seen.insert(*n))
                            .map(|n| ProductId::from_uuid(uuid::Uuid::from_u128(n)))
                            .collect()
                    }),
                    category: category.map(|n| CategoryId::from_uuid(uuid::Uuid::from_u128(n))),
                    brand: brand.map(str::to_owned),
                    min_price: min,
                    max_price: max,
                    in_stock,
                    specs: spec
                        .map(|(k, v)| vec![(k.to_owned(), v.to_owned())])
                        .unwrap_or_default(),
                    sort,
                    limit,
                    cursor: None,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Every page of every query, walked by its cursors, is exactly what the plain
        /// implementation gives.
        #[test]
        fn the_index_pages_exactly_like_filtering_every_product(
            shapes in shapes(),
            query in queries(),
        ) {
            let products: Vec<Product> =
                shapes.iter().enumerate().map(|(n, s)| product(n, s)).collect();
            let categories = categories();
            let currency = Currency::from_code("NGN").unwrap();
            let index = ListingIndex::build(&products, &categories, currency);
            let mut query = query;
            for _ in 0..50 {
                let expected = reference::page(&products, &categories, &query, currency);
                let actual = index.page(&query, None);
                prop_assert_eq!(&actual, &expected);
                match actual.next_cursor.as_deref().and_then(Cursor::decode) {
                    Some(cursor) => query.cursor = Some(cursor),
                    None => break,
                }
            }
        }

        /// Fresher sales counts order best-selling lists as if the products carried them.
        #[test]
        fn fresher_sales_reorder_best_selling_like_updated_products(
            shapes in shapes(),
            fresh in prop::collection::vec(0i64..10, 40),
        ) {
            let mut products: Vec<Product> =
                shapes.iter().enumerate().map(|(n, s)| product(n, s)).collect();
            let currency = Currency::from_code("NGN").unwrap();
            let index = ListingIndex::build(&products, &categories(), currency);
            let sold: SoldCounts = products
                .iter()
                .zip(&fresh)
                .map(|(p, units)| (p.id, *units))
                .collect();
            for (product, units) in products.iter_mut().zip(&fresh) {
                product.sold_count = *units;
            }
            let query = ListQuery { sort: Sort::BestSelling, limit: 100, ..ListQuery::default() };
            prop_assert_eq!(
                index.page(&query, Some(&sold)),
                reference::page(&products, &categories(), &query, currency)
            );
        }
    }
}

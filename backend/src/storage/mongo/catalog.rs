//! `CatalogRepository` on MongoDB. A product is one document; beside its JSON form it carries
//! the lower-cased SKUs (unique per store through a multikey index) and, when active, the
//! prefixes of its words for search. Prefix arrays give the same "every word as a prefix"
//! matching as the embedded FTS5 index, on plain multikey indexes that Amazon DocumentDB also
//! supports; `$text` would match whole words only. No regex is ever built from input.

use std::collections::HashMap;

use async_trait::async_trait;
use mongodb::{
    bson::{Document, doc},
    options::ReturnDocument,
};
use techverse_shared::{CategoryId, CustomerId, ProductId, ProductStatus, StoreId, VariantId};

use super::{
    MongoStorage,
    identity::{from_document, to_document},
    mongo_error, query, unavailable,
};
use crate::{
    domain::{
        catalog::{Category, Product},
        events::StoreEvent,
        order::{StockMove, StockOp},
        search::{
            PREFIX_CHARS, has_word_prefix, indexed_prefix, prefixes, score, searchable_texts,
        },
    },
    storage::{CatalogRepository, CatalogVersions, StockChange, StorageError, StorageResult},
};

/// The fields stored beside a product's JSON form.
pub fn product_extra(product: &Product) -> Document {
    let skus: Vec<String> = product
        .variants
        .iter()
        .map(|v| v.sku.to_lowercase())
        .collect();
    let mut extra = doc! { "skus_lower": skus };
    if product.status == ProductStatus::Active {
        let texts = searchable_texts(product);
        extra.insert(
            "search_prefixes",
            prefixes(texts.iter().map(String::as_str)),
        );
        extra.insert("title_prefixes", prefixes([product.title.as_str()]));
    }
    extra
}

/// The filter for active products of a store having every word as a prefix (words longer than
/// the index holds match on their first 20 characters here and are checked whole afterwards).
pub fn search_filter(store: StoreId, words: &[String]) -> Document {
    let clauses: Vec<Document> = words
        .iter()
        .map(|w| doc! { "search_prefixes": { "$in": [indexed_prefix(w)] } })
        .collect();
    doc! { "store_id": store.to_string(), "status": "active", "$and": clauses }
}

impl MongoStorage {
    async fn find_products(&self, filter: Document) -> StorageResult<Vec<Product>> {
        let documents = super::collect(
            self.collection(query::PRODUCTS)
                .find(filter)
                .sort(doc! { "created_at": -1, "_id": -1 }),
        )
        .await?;
        let mut products: Vec<Product> = documents
            .into_iter()
            .map(from_document)
            .collect::<StorageResult<_>>()?;
        self.overlay_stock(&mut products).await?;
        Ok(products)
    }

    async fn find_product(&self, filter: Document) -> StorageResult<Option<Product>> {
        let found: Option<Product> = self
            .collection(query::PRODUCTS)
            .find_one(filter)
            .await
            .map_err(unavailable)?
            .map(from_document)
            .transpose()?;
        let mut found: Vec<Product> = found.into_iter().collect();
        self.overlay_stock(&mut found).await?;
        Ok(found.pop())
    }

    /// Stock lives in the inventory collection (one document per variant, so a reservation is
    /// a single-document conditional update); product reads take their counts from there.
    async fn overlay_stock(&self, products: &mut [Product]) -> StorageResult<()> {
        let Some(first) = products.first() else {
            return Ok(());
        };
        let store = first.store_id.to_string();
        let filter = if products.len() > 50 {
            doc! { "store_id": &store }
        } else {
            let ids: Vec<String> = products.iter().map(|p| p.id.to_string()).collect();
            doc! { "store_id": &store, "product_id": { "$in": ids } }
        };
        let documents = super::collect(self.collection(query::INVENTORY).find(filter)).await?;
        let counts: HashMap<String, (i64, i64)> = documents
            .iter()
            .filter_map(|d| {
                let id = d.get_str("_id").ok()?;
                let variant = id.rsplit(':').next()?.to_owned();
                Some((variant, (number(d, "on_hand"), number(d, "reserved"))))
            })
            .collect();
        for product in products.iter_mut() {
            for variant in &mut product.variants {
                if let Some((on_hand, reserved)) = counts.get(&variant.id.to_string()) {
                    variant.stock_on_hand = *on_hand;
                    variant.reserved = *reserved;
                }
            }
        }
        Ok(())
    }

    /// Products stored before stock moved to the inventory collection get their documents
    /// (once: only while the collection is empty).
    pub(super) async fn backfill_inventory(&self) -> StorageResult<()> {
        let inventory = self
            .collection(query::INVENTORY)
            .find_one(doc! {})
            .await
            .map_err(unavailable)?;
        if inventory.is_some() {
            return Ok(());
        }
        let documents = super::collect(self.collection(query::PRODUCTS).find(doc! {})).await?;
        for document in documents {
            let product: Product = from_document(document)?;
            self.seed_inventory(product.store_id, &product).await?;
        }
        Ok(())
    }

    /// Creates inventory documents for variants that have none (new products and variants).
    async fn seed_inventory(&self, store: StoreId, product: &Product) -> StorageResult<()> {
        for variant in &product.variants {
            self.collection(query::INVENTORY)
                .update_one(
                    doc! { "_id": query::inventory_id(store, variant.id) },
                    query::inventory_seed(store, product.id, variant.stock_on_hand),
                )
                .upsert(true)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    /// Applies one stock move. `None` when a reservation found too few units; else the units
    /// available right after this very move (read from the atomic update itself, so concurrent
    /// moves never blur it), when the variant has inventory.
    pub(super) async fn apply_stock_move(
        &self,
        store: StoreId,
        change: &StockMove,
    ) -> StorageResult<Option<Option<i64>>> {
        let (filter, update) = query::stock_move(store, change);
        self.apply_stock_update(store, change, filter, update).await
    }

    /// [`Self::apply_stock_move`] with the move's update already built (a saga marks it).
    pub(super) async fn apply_stock_update(
        &self,
        store: StoreId,
        change: &StockMove,
        filter: Document,
        update: Document,
    ) -> StorageResult<Option<Option<i64>>> {
        let after = self
            .collection(query::INVENTORY)
            .find_one_and_update(filter, update)
            .return_document(ReturnDocument::After)
            .await
            .map_err(unavailable)?;
        let sold = match change.op {
            StockOp::Commit => change.quantity,
            StockOp::Restock => -change.quantity,
            StockOp::Reserve | StockOp::Release => 0,
        };
        if sold != 0 && after.is_some() {
            self.collection(query::PRODUCTS)
                .update_one(
                    doc! { "store_id": store.to_string(), "_id": change.product_id.to_string() },
                    doc! { "$inc": { "sold_count": sold } },
                )
                .await
                .map_err(unavailable)?;
        }
        let available = after.as_ref().map(|d| number(d, "available"));
        Ok(if available.is_none() && change.op == StockOp::Reserve {
            None
        } else {
            Some(available)
        })
    }

    /// Units of a variant available now (0 when it has no inventory).
    pub(super) async fn available(&self, store: StoreId, variant: VariantId) -> StorageResult<i64> {
        let found = self
            .collection(query::INVENTORY)
            .find_one(doc! { "_id": query::inventory_id(store, variant) })
            .await
            .map_err(unavailable)?;
        Ok(found.map_or(0, |d| number(&d, "available").max(0)))
    }
}

/// An integer field, whether stored as 32 or 64 bits (0 when absent).
pub(super) fn number(document: &Document, key: &str) -> i64 {
    document
        .get_i64(key)
        .ok()
        .or_else(|| document.get_i32(key).ok().map(i64::from))
        // Some servers answer a `$sum` of integers as a double.
        .or_else(|| document.get_f64(key).ok().map(|n| n as i64))
        .unwrap_or(0)
}

fn product_conflict(error: mongodb::error::Error) -> StorageError {
    let text = error.to_string();
    let constraint = if text.contains("skus") {
        "products.sku"
    } else {
        "products.slug"
    };
    mongo_error(constraint)(error)
}

#[async_trait]
impl CatalogRepository for MongoStorage {
    async fn insert_product(&self, store: StoreId, product: &Product) -> StorageResult<()> {
        let mut product = product.clone();
        product.store_id = store;
        product.version = 1;
        let document = to_document(&product.id.to_string(), &product, product_extra(&product))?;
        self.collection(query::PRODUCTS)
            .insert_one(document)
            .await
            .map_err(product_conflict)?;
        self.seed_inventory(store, &product).await
    }

    async fn save_product(&self, store: StoreId, product: &Product) -> StorageResult<bool> {
        let expected = product.version;
        let mut next = product.clone();
        next.store_id = store;
        next.version = expected + 1;
        let id = next.id.to_string();
        let document = to_document(&id, &next, product_extra(&next))?;
        // Sales `$inc` the count without a new version: a save based on an older count would
        // write it back, so the count is part of what the save expects to find.
        let result = self
            .collection(query::PRODUCTS)
            .replace_one(
                doc! {
                    "store_id": store.to_string(),
                    "_id": &id,
                    "version": expected,
                    "sold_count": product.sold_count,
                },
                document,
            )
            .await
            .map_err(product_conflict)?;
        if result.matched_count == 1 {
            self.seed_inventory(store, &next).await?;
        }
        Ok(result.matched_count == 1)
    }

    async fn product(&self, store: StoreId, id: ProductId) -> StorageResult<Option<Product>> {
        self.find_product(doc! { "store_id": store.to_string(), "_id": id.to_string() })
            .await
    }

    async fn products_by_ids(
        &self,
        store: StoreId,
        ids: &[ProductId],
    ) -> StorageResult<Vec<Product>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.find_products(doc! { "store_id": store.to_string(), "_id": { "$in": ids } })
            .await
    }

    async fn product_by_variant(
        &self,
        store: StoreId,
        variant: VariantId,
    ) -> StorageResult<Option<Product>> {
        let Some(inventory) = self
            .collection(query::INVENTORY)
            .find_one(doc! { "_id": query::inventory_id(store, variant) })
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let Ok(product) = inventory.get_str("product_id") else {
            return Ok(None);
        };
        let found = self
            .find_product(doc! { "store_id": store.to_string(), "_id": product })
            .await?;
        Ok(found.filter(|p| p.variant(variant).is_some()))
    }

    async fn product_by_slug(&self, store: StoreId, slug: &str) -> StorageResult<Option<Product>> {
        self.find_product(doc! { "store_id": store.to_string(), "slug": slug })
            .await
    }

    async fn products(
        &self,
        store: StoreId,
        status: Option<ProductStatus>,
    ) -> StorageResult<Vec<Product>> {
        let mut filter = doc! { "store_id": store.to_string() };
        if let Some(status) = status {
            filter.insert("status", status.as_str());
        }
        self.find_products(filter).await
    }

    async fn search(
        &self,
        store: StoreId,
        words: &[String],
        limit: u32,
    ) -> StorageResult<Vec<ProductId>> {
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.find_products(search_filter(store, words)).await?;
        let long: Vec<&String> = words
            .iter()
            .filter(|w| w.chars().count() > PREFIX_CHARS)
            .collect();
        let mut ranked: Vec<(i64, ProductId)> = found
            .iter()
            .filter(|p| {
                long.is_empty() || {
                    let texts = searchable_texts(p);
                    long.iter()
                        .all(|w| has_word_prefix(texts.iter().map(String::as_str), w))
                }
            })
            .map(|p| (-score(p, words), p.id))
            .collect();
        ranked.sort();
        Ok(ranked
            .into_iter()
            .take(limit as usize)
            .map(|(_, id)| id)
            .collect())
    }

    async fn suggest(
        &self,
        store: StoreId,
        prefix: &str,
        limit: u32,
    ) -> StorageResult<Vec<String>> {
        if prefix.is_empty() {
            return Ok(Vec::new());
        }
        let found = self
            .find_products(doc! {
                "store_id": store.to_string(),
                "status": "active",
                "title_prefixes": { "$in": [indexed_prefix(prefix)] },
            })
            .await?;
        let mut titles: Vec<String> = found
            .into_iter()
            .map(|p| p.title)
            .filter(|title| has_word_prefix([title.as_str()], prefix))
            .collect();
        titles.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        titles.truncate(limit as usize);
        Ok(titles)
    }

    async fn adjust_stock(
        &self,
        store: StoreId,
        product: ProductId,
        variant: VariantId,
        delta: i64,
    ) -> StorageResult<StockChange> {
        let Some(found) = self.product(store, product).await? else {
            return Ok(StockChange::NotFound);
        };
        let Some(current) = found.variant(variant) else {
            return Ok(StockChange::NotFound);
        };
        if current.stock_on_hand + delta < 0 {
            return Ok(StockChange::Insufficient {
                on_hand: current.stock_on_hand,
                reserved: current.reserved,
            });
        }
        // One conditional update: it matches only while the change keeps stock at or above
        // what is reserved, whatever reservations happen meanwhile.
        let (filter, update) = query::stock_adjustment(store, product, variant, delta);
        let result = self
            .collection(query::INVENTORY)
            .update_one(filter, update)
            .await
            .map_err(unavailable)?;
        if result.matched_count == 1 {
            // Like an edit, an adjustment is a new version of the product.
            self.collection(query::PRODUCTS)
                .update_one(
                    doc! { "store_id": store.to_string(), "_id": product.to_string() },
                    doc! { "$inc": { "version": 1_i64 } },
                )
                .await
                .map_err(unavailable)?;
        }
        let after = self.product(store, product).await?;
        match after {
            None => Ok(StockChange::NotFound),
            Some(after) if result.matched_count == 1 => Ok(StockChange::Adjusted(Box::new(after))),
            Some(after) => {
                let now = after.variant(variant);
                Ok(StockChange::Insufficient {
                    on_hand: now.map_or(0, |v| v.stock_on_hand),
                    reserved: now.map_or(0, |v| v.reserved),
                })
            }
        }
    }

    async fn categories(&self, store: StoreId) -> StorageResult<Vec<Category>> {
        let documents = super::collect(
            self.collection(query::CATEGORIES)
                .find(doc! { "store_id": store.to_string() })
                .sort(doc! { "_id": 1 }),
        )
        .await?;
        documents.into_iter().map(from_document).collect()
    }

    async fn insert_category(&self, store: StoreId, category: &Category) -> StorageResult<()> {
        let mut category = category.clone();
        category.store_id = store;
        let document = to_document(&category.id.to_string(), &category, doc! {})?;
        self.collection(query::CATEGORIES)
            .insert_one(document)
            .await
            .map(drop)
            .map_err(mongo_error("categories.slug"))
    }

    async fn update_category(&self, store: StoreId, category: &Category) -> StorageResult<bool> {
        let mut category = category.clone();
        category.store_id = store;
        let id = category.id.to_string();
        let document = to_document(&id, &category, doc! {})?;
        let result = self
            .collection(query::CATEGORIES)
            .replace_one(doc! { "store_id": store.to_string(), "_id": &id }, document)
            .await
            .map_err(mongo_error("categories.slug"))?;
        Ok(result.matched_count == 1)
    }

    async fn delete_category(&self, store: StoreId, id: CategoryId) -> StorageResult<bool> {
        let result = self
            .collection(query::CATEGORIES)
            .delete_one(doc! { "store_id": store.to_string(), "_id": id.to_string() })
            .await
            .map_err(unavailable)?;
        Ok(result.deleted_count == 1)
    }

    async fn wishlist(
        &self,
        store: StoreId,
        customer: CustomerId,
    ) -> StorageResult<Vec<ProductId>> {
        let documents = super::collect(
            self.collection(query::WISHLISTS)
                .find(doc! { "store_id": store.to_string(), "customer_id": customer.to_string() })
                .sort(doc! { "added_at": -1, "product_id": 1 }),
        )
        .await?;
        documents
            .iter()
            .map(|d| {
                d.get_str("product_id")
                    .ok()
                    .and_then(|id| id.parse().ok())
                    .ok_or_else(|| StorageError::Corrupt("wishlist: bad product_id".to_owned()))
            })
            .collect()
    }

    async fn wishlist_add(
        &self,
        store: StoreId,
        customer: CustomerId,
        product: ProductId,
    ) -> StorageResult<()> {
        let id = format!("{store}:{customer}:{product}");
        let result = self
            .collection(query::WISHLISTS)
            .insert_one(doc! {
                "_id": id,
                "store_id": store.to_string(),
                "customer_id": customer.to_string(),
                "product_id": product.to_string(),
                "added_at": crate::domain::now().as_millisecond(),
            })
            .await;
        match result.map_err(mongo_error("wishlists.item")) {
            Ok(_) | Err(StorageError::Conflict(_)) => Ok(()),
            Err(other) => Err(other),
        }
    }

    async fn wishlist_remove(
        &self,
        store: StoreId,
        customer: CustomerId,
        product: ProductId,
    ) -> StorageResult<bool> {
        let result = self
            .collection(query::WISHLISTS)
            .delete_one(doc! { "_id": format!("{store}:{customer}:{product}") })
            .await
            .map_err(unavailable)?;
        Ok(result.deleted_count == 1)
    }

    async fn catalog_versions(&self, store: StoreId) -> StorageResult<CatalogVersions> {
        let (content, stock) = (format!("catalog:{store}"), format!("stock:{store}"));
        let documents = super::collect(
            self.collection(query::COUNTERS)
                .find(doc! { "_id": { "$in": [&content, &stock] } }),
        )
        .await?;
        // Read as `increment` writes it: some servers keep a small counter as a 32-bit integer.
        let value = |name: &str| {
            documents
                .iter()
                .find(|d| d.get_str("_id").is_ok_and(|id| id == name))
                .map_or(0, |d| number(d, "value"))
        };
        Ok(CatalogVersions {
            content: value(&content),
            stock: value(&stock),
        })
    }

    async fn sold_counts(&self, store: StoreId) -> StorageResult<Vec<(ProductId, i64)>> {
        let documents = super::collect(
            self.collection(query::PRODUCTS)
                .find(doc! { "store_id": store.to_string(), "status": "active" })
                .projection(doc! { "_id": 1, "sold_count": 1 }),
        )
        .await?;
        documents
            .iter()
            .map(|d| {
                let id = d.get_str("_id").unwrap_or_default();
                id.parse()
                    .map(|id| (id, number(d, "sold_count")))
                    .map_err(|_| StorageError::Corrupt(format!("bad product id {id}")))
            })
            .collect()
    }

    async fn bump_catalog_version(&self, store: StoreId) -> StorageResult<i64> {
        self.increment(&format!("catalog:{store}")).await
    }

    async fn append_event(&self, store: StoreId, event: &StoreEvent) -> StorageResult<i64> {
        let events = self.collection(query::STORE_EVENTS);
        let id = event.id.to_string();
        // Keyed by the event's own id: appending it again (a retried follow-up) stores it once.
        if let Some(stored) = events
            .find_one(doc! { "_id": &id })
            .await
            .map_err(unavailable)?
        {
            // A retried append also repairs a head the first attempt did not get to raise.
            let seq = number(&stored, "seq");
            self.raise_head(store, seq).await?;
            return Ok(seq);
        }
        let seq = self.increment(&format!("events:{store}")).await?;
        let mut event = event.clone();
        event.seq = seq;
        event.store_id = store;
        let document = to_document(&id, &event, doc! {})?;
        match events.insert_one(document).await {
            Ok(_) => {
                self.raise_head(store, seq).await?;
                Ok(seq)
            }
            Err(error) if super::is_duplicate_key(&error) => events
                .find_one(doc! { "_id": &id })
                .await
                .map_err(unavailable)?
                .map(|stored| number(&stored, "seq"))
                .ok_or(StorageError::Conflict("store_events.id")),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn events(
        &self,
        store: StoreId,
        after: i64,
        limit: u32,
    ) -> StorageResult<Vec<StoreEvent>> {
        let documents = super::collect(
            self.collection(query::STORE_EVENTS)
                .find(doc! { "store_id": store.to_string(), "seq": { "$gt": after } })
                .sort(doc! { "seq": 1 })
                .limit(i64::from(limit)),
        )
        .await?;
        documents.into_iter().map(from_document).collect()
    }
}

impl MongoStorage {
    /// Bumps the store's stock version.
    pub(super) async fn bump_stock_version(&self, store: StoreId) -> StorageResult<i64> {
        self.increment(&format!("stock:{store}")).await
    }

    /// Atomically increments a named counter, creating it at 1.
    pub(super) async fn increment(&self, name: &str) -> StorageResult<i64> {
        let updated = self
            .collection(query::COUNTERS)
            .find_one_and_update(doc! { "_id": name }, doc! { "$inc": { "value": 1_i64 } })
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(unavailable)?;
        updated
            .and_then(|d| {
                d.get_i64("value")
                    .ok()
                    .or_else(|| d.get_i32("value").ok().map(i64::from))
            })
            .ok_or_else(|| StorageError::Corrupt(format!("counter {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_filters_hold_words_as_values_never_as_operators() {
        let store = StoreId::from_uuid(uuid::Uuid::nil());
        let filter = search_filter(store, &["$where".to_owned(), ".*".to_owned()]);
        let clauses = filter.get_array("$and").unwrap();
        assert_eq!(clauses.len(), 2);
        assert_eq!(
            clauses[0].as_document().unwrap(),
            &doc! { "search_prefixes": { "$in": ["$where"] } }
        );
    }
}

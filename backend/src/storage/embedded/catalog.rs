//! `CatalogRepository` on SQLite: products as JSON documents with a SKU table for the per-store
//! unique rule and an FTS5 index of active products, categories, wishlists, the catalogue
//! version and the store event log.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction};
use techverse_shared::{CategoryId, CustomerId, ProductId, ProductStatus, StoreId, VariantId};

use super::{
    EmbeddedStorage,
    identity::{from_json, immediate, to_json},
    sql_error, unavailable,
};
use crate::{
    domain::{
        catalog::{Category, Product},
        events::StoreEvent,
    },
    storage::{CatalogRepository, CatalogVersions, StockChange, StorageError, StorageResult},
};

/// Text the search index holds for a product: everything a shopper might type.
fn search_body(product: &Product) -> String {
    let mut body = product.description.clone();
    for group in &product.specs {
        for spec in &group.specs {
            body.push(' ');
            body.push_str(&spec.value);
        }
    }
    for variant in &product.variants {
        body.push(' ');
        body.push_str(&variant.sku);
        for option in &variant.options {
            body.push(' ');
            body.push_str(option);
        }
    }
    body
}

/// An FTS5 query from plain words: each quoted and used as a prefix, all required. Words hold
/// only letters and digits (see `app::catalog::search_words`), so no syntax gets through.
pub fn fts_query(words: &[String]) -> String {
    words
        .iter()
        .map(|word| format!("\"{}\"*", word.replace('"', "")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes a product's SKUs and search row (after its document row).
fn write_indexes(tx: &Transaction<'_>, store: &str, product: &Product) -> StorageResult<()> {
    let id = product.id.to_string();
    tx.execute(
        "DELETE FROM product_skus WHERE store_id = ?1 AND product_id = ?2",
        [store, &id],
    )
    .map_err(unavailable)?;
    tx.execute(
        "DELETE FROM product_variants WHERE store_id = ?1 AND product_id = ?2",
        [store, &id],
    )
    .map_err(unavailable)?;
    for variant in &product.variants {
        tx.execute(
            "INSERT INTO product_variants (store_id, variant_id, product_id) VALUES (?1, ?2, ?3)",
            [store, &variant.id.to_string(), &id],
        )
        .map_err(unavailable)?;
        tx.execute(
            "INSERT INTO product_skus (store_id, sku, product_id) VALUES (?1, ?2, ?3)",
            [store, &variant.sku, &id],
        )
        .map_err(sql_error("products.sku"))?;
    }
    tx.execute("DELETE FROM products_fts WHERE product_id = ?1", [&id])
        .map_err(unavailable)?;
    if product.status == ProductStatus::Active {
        tx.execute(
            "INSERT INTO products_fts (product_id, store_id, title, brand, tags, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (
                &id,
                store,
                &product.title,
                product.brand.clone().unwrap_or_default(),
                product.tags.join(" "),
                search_body(product),
            ),
        )
        .map_err(unavailable)?;
    }
    Ok(())
}

pub(super) fn read_product(
    tx: &Transaction<'_>,
    store: &str,
    id: &str,
) -> StorageResult<Option<Product>> {
    let doc: Option<String> = tx
        .query_row(
            "SELECT doc FROM products WHERE store_id = ?1 AND id = ?2",
            [store, id],
            |row| row.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    doc.as_deref().map(from_json).transpose()
}

pub(super) fn write_product(
    tx: &Transaction<'_>,
    store: &str,
    product: &Product,
) -> StorageResult<()> {
    tx.execute(
        "UPDATE products SET slug = ?3, status = ?4, version = ?5, doc = ?6 WHERE store_id = ?1 AND id = ?2",
        (
            store,
            product.id.to_string(),
            &product.slug,
            product.status.as_str(),
            product.version,
            to_json(product)?,
        ),
    )
    .map_err(sql_error("products.slug"))?;
    write_indexes(tx, store, product)
}

/// Bumps the store's catalogue version (inside whatever transaction `conn` is in).
pub(super) fn bump_version(conn: &rusqlite::Connection, store: StoreId) -> StorageResult<i64> {
    conn.query_row(
        "INSERT INTO catalog_versions (store_id, version) VALUES (?1, 1)
         ON CONFLICT (store_id) DO UPDATE SET version = version + 1
         RETURNING version",
        [store.to_string()],
        |row| row.get(0),
    )
    .map_err(unavailable)
}

/// Bumps the store's stock version (inside the caller's transaction).
pub(super) fn bump_stock_version(conn: &rusqlite::Connection, store: StoreId) -> StorageResult<()> {
    conn.execute(
        "INSERT INTO catalog_versions (store_id, version, stock) VALUES (?1, 0, 1)
         ON CONFLICT (store_id) DO UPDATE SET stock = stock + 1",
        [store.to_string()],
    )
    .map(drop)
    .map_err(unavailable)
}

/// Appends an event after the store's last one, inside the caller's transaction.
pub(super) fn append_event(
    tx: &Transaction<'_>,
    store: StoreId,
    mut event: StoreEvent,
) -> StorageResult<i64> {
    let store_text = store.to_string();
    let id = event.id.to_string();
    let stored: Option<i64> = tx
        .query_row("SELECT seq FROM store_events WHERE id = ?1", [&id], |row| {
            row.get(0)
        })
        .optional()
        .map_err(unavailable)?;
    if let Some(seq) = stored {
        return Ok(seq);
    }
    event.seq = tx
        .query_row(
            "INSERT INTO event_heads (store_id, seq) VALUES (?1, 1)
             ON CONFLICT (store_id) DO UPDATE SET seq = seq + 1 RETURNING seq",
            [&store_text],
            |row| row.get(0),
        )
        .map_err(unavailable)?;
    event.store_id = store;
    tx.execute(
        "INSERT INTO store_events (store_id, seq, kind, doc, id) VALUES (?1, ?2, ?3, ?4, ?5)",
        (&store_text, event.seq, &event.kind, to_json(&event)?, &id),
    )
    .map_err(unavailable)?;
    Ok(event.seq)
}

/// Saves a product whose indexed fields did not change (a stock move): the document only.
pub(super) fn write_stock(
    tx: &Transaction<'_>,
    store: &str,
    product: &Product,
) -> StorageResult<()> {
    tx.execute(
        "UPDATE products SET version = ?3, doc = ?4 WHERE store_id = ?1 AND id = ?2",
        (
            store,
            product.id.to_string(),
            product.version,
            to_json(product)?,
        ),
    )
    .map(drop)
    .map_err(unavailable)
}

fn parse_ids(ids: Vec<String>) -> StorageResult<Vec<ProductId>> {
    ids.iter()
        .map(|id| {
            id.parse()
                .map_err(|_| StorageError::Corrupt(format!("bad product id {id}")))
        })
        .collect()
}

#[async_trait]
impl CatalogRepository for EmbeddedStorage {
    async fn insert_product(&self, store: StoreId, product: &Product) -> StorageResult<()> {
        let mut product = product.clone();
        product.store_id = store;
        product.version = 1;
        self.call(move |conn| {
            let tx = immediate(conn)?;
            let store = store.to_string();
            tx.execute(
                "INSERT INTO products (store_id, id, slug, status, created_at, version, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                (
                    &store,
                    product.id.to_string(),
                    &product.slug,
                    product.status.as_str(),
                    product.created_at.as_millisecond(),
                    product.version,
                    to_json(&product)?,
                ),
            )
            .map_err(sql_error("products.slug"))?;
            write_indexes(&tx, &store, &product)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn save_product(&self, store: StoreId, product: &Product) -> StorageResult<bool> {
        let expected = product.version;
        let mut next = product.clone();
        next.store_id = store;
        next.version = expected + 1;
        self.call(move |conn| {
            let tx = immediate(conn)?;
            let store = store.to_string();
            let current: Option<i64> = tx
                .query_row(
                    "SELECT version FROM products WHERE store_id = ?1 AND id = ?2",
                    [&store, &next.id.to_string()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            if current != Some(expected) {
                return Ok(false);
            }
            write_product(&tx, &store, &next)?;
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn product(&self, store: StoreId, id: ProductId) -> StorageResult<Option<Product>> {
        self.read(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            read_product(&tx, &store.to_string(), &id.to_string())
        })
        .await
    }

    async fn product_by_variant(
        &self,
        store: StoreId,
        variant: VariantId,
    ) -> StorageResult<Option<Product>> {
        self.doc(
            "SELECT p.doc FROM product_variants v
             JOIN products p ON p.store_id = v.store_id AND p.id = v.product_id
             WHERE v.store_id = ?1 AND v.variant_id = ?2",
            [store.to_string(), variant.to_string()],
        )
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
        let ids = serde_json::to_string(&ids.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let docs: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT doc FROM products
                         WHERE store_id = ?1 AND id IN (SELECT value FROM json_each(?2))",
                    )
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map((store.to_string(), ids), |row| row.get(0))
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<_>>().map_err(unavailable)
            })
            .await?;
        docs.iter().map(|doc| from_json(doc)).collect()
    }

    async fn product_by_slug(&self, store: StoreId, slug: &str) -> StorageResult<Option<Product>> {
        let slug = slug.to_owned();
        let doc: Option<String> = self
            .read(move |conn| {
                conn.query_row(
                    "SELECT doc FROM products WHERE store_id = ?1 AND slug = ?2",
                    [store.to_string(), slug],
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)
            })
            .await?;
        doc.as_deref().map(from_json).transpose()
    }

    async fn products(
        &self,
        store: StoreId,
        status: Option<ProductStatus>,
    ) -> StorageResult<Vec<Product>> {
        let docs: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT doc FROM products WHERE store_id = ?1 AND (?2 IS NULL OR status = ?2)
                         ORDER BY created_at DESC, id DESC",
                    )
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map((store.to_string(), status.map(ProductStatus::as_str)), |row| row.get(0))
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<_>>().map_err(unavailable)
            })
            .await?;
        docs.iter().map(|doc| from_json(doc)).collect()
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
        let query = fts_query(words);
        let ids: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT product_id FROM products_fts
                         WHERE products_fts MATCH ?1 AND store_id = ?2
                         ORDER BY bm25(products_fts, 0.0, 0.0, 10.0, 4.0, 2.0, 1.0), product_id
                         LIMIT ?3",
                    )
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map((query, store.to_string(), limit), |row| row.get(0))
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<_>>().map_err(unavailable)
            })
            .await?;
        parse_ids(ids)
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
        let query = format!("title : {}", fts_query(&[prefix.to_owned()]));
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT title FROM products_fts WHERE products_fts MATCH ?1 AND store_id = ?2
                     ORDER BY length(title), title LIMIT ?3",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map((query, store.to_string(), limit), |row| row.get(0))
                .map_err(unavailable)?;
            rows.collect::<rusqlite::Result<_>>().map_err(unavailable)
        })
        .await
    }

    async fn adjust_stock(
        &self,
        store: StoreId,
        product: ProductId,
        variant: VariantId,
        delta: i64,
    ) -> StorageResult<StockChange> {
        self.call(move |conn| {
            let tx = immediate(conn)?;
            let store = store.to_string();
            let Some(mut found) = read_product(&tx, &store, &product.to_string())? else {
                return Ok(StockChange::NotFound);
            };
            if let Err(refusal) = found.adjust_stock(variant, delta) {
                return Ok(refusal.into());
            }
            found.version += 1;
            write_stock(&tx, &store, &found)?;
            tx.commit().map_err(unavailable)?;
            Ok(StockChange::Adjusted(Box::new(found)))
        })
        .await
    }

    async fn categories(&self, store: StoreId) -> StorageResult<Vec<Category>> {
        let docs: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached("SELECT doc FROM categories WHERE store_id = ?1 ORDER BY id")
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map([store.to_string()], |row| row.get(0))
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<_>>().map_err(unavailable)
            })
            .await?;
        docs.iter().map(|doc| from_json(doc)).collect()
    }

    async fn insert_category(&self, store: StoreId, category: &Category) -> StorageResult<()> {
        let doc = to_json(category)?;
        let (id, slug) = (category.id.to_string(), category.slug.clone());
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO categories (store_id, id, slug, doc) VALUES (?1, ?2, ?3, ?4)",
                (store.to_string(), id, slug, doc),
            )
            .map(drop)
            .map_err(sql_error("categories.slug"))
        })
        .await
    }

    async fn update_category(&self, store: StoreId, category: &Category) -> StorageResult<bool> {
        let doc = to_json(category)?;
        let (id, slug) = (category.id.to_string(), category.slug.clone());
        self.call(move |conn| {
            conn.execute(
                "UPDATE categories SET slug = ?3, doc = ?4 WHERE store_id = ?1 AND id = ?2",
                (store.to_string(), id, slug, doc),
            )
            .map(|changed| changed > 0)
            .map_err(sql_error("categories.slug"))
        })
        .await
    }

    async fn delete_category(&self, store: StoreId, id: CategoryId) -> StorageResult<bool> {
        self.call(move |conn| {
            conn.execute(
                "DELETE FROM categories WHERE store_id = ?1 AND id = ?2",
                [store.to_string(), id.to_string()],
            )
            .map(|changed| changed > 0)
            .map_err(unavailable)
        })
        .await
    }

    async fn wishlist(
        &self,
        store: StoreId,
        customer: CustomerId,
    ) -> StorageResult<Vec<ProductId>> {
        let ids: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT product_id FROM wishlists WHERE store_id = ?1 AND customer_id = ?2
                         ORDER BY added_at DESC, product_id",
                    )
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map([store.to_string(), customer.to_string()], |row| row.get(0))
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<_>>().map_err(unavailable)
            })
            .await?;
        parse_ids(ids)
    }

    async fn wishlist_add(
        &self,
        store: StoreId,
        customer: CustomerId,
        product: ProductId,
    ) -> StorageResult<()> {
        let now = crate::domain::now().as_millisecond();
        self.call(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO wishlists (store_id, customer_id, product_id, added_at)
                 VALUES (?1, ?2, ?3, ?4)",
                (
                    store.to_string(),
                    customer.to_string(),
                    product.to_string(),
                    now,
                ),
            )
            .map(drop)
            .map_err(unavailable)
        })
        .await
    }

    async fn wishlist_remove(
        &self,
        store: StoreId,
        customer: CustomerId,
        product: ProductId,
    ) -> StorageResult<bool> {
        self.call(move |conn| {
            conn.execute(
                "DELETE FROM wishlists WHERE store_id = ?1 AND customer_id = ?2 AND product_id = ?3",
                [store.to_string(), customer.to_string(), product.to_string()],
            )
            .map(|changed| changed > 0)
            .map_err(unavailable)
        })
        .await
    }

    async fn catalog_versions(&self, store: StoreId) -> StorageResult<CatalogVersions> {
        self.read_point(move |conn| {
            conn.prepare_cached("SELECT version, stock FROM catalog_versions WHERE store_id = ?1")
                .and_then(|mut statement| {
                    statement.query_row([store.to_string()], |row| {
                        Ok(CatalogVersions {
                            content: row.get(0)?,
                            stock: row.get(1)?,
                        })
                    })
                })
                .optional()
                .map(Option::unwrap_or_default)
                .map_err(unavailable)
        })
        .await
    }

    async fn sold_counts(&self, store: StoreId) -> StorageResult<Vec<(ProductId, i64)>> {
        let rows: Vec<(String, i64)> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT id, COALESCE(json_extract(doc, '$.sold_count'), 0) FROM products
                         WHERE store_id = ?1 AND status = 'active'",
                    )
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map([store.to_string()], |row| Ok((row.get(0)?, row.get(1)?)))
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<_>>().map_err(unavailable)
            })
            .await?;
        rows.into_iter()
            .map(|(id, sold)| {
                id.parse()
                    .map(|id| (id, sold))
                    .map_err(|_| StorageError::Corrupt(format!("bad product id {id}")))
            })
            .collect()
    }

    async fn bump_catalog_version(&self, store: StoreId) -> StorageResult<i64> {
        self.call(move |conn| bump_version(conn, store)).await
    }

    async fn append_event(&self, store: StoreId, event: &StoreEvent) -> StorageResult<i64> {
        let event = event.clone();
        self.call(move |conn| {
            let tx = immediate(conn)?;
            let seq = append_event(&tx, store, event)?;
            tx.commit().map_err(unavailable)?;
            Ok(seq)
        })
        .await
    }

    async fn events(
        &self,
        store: StoreId,
        after: i64,
        limit: u32,
    ) -> StorageResult<Vec<StoreEvent>> {
        let docs: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT doc FROM store_events WHERE store_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                    )
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map((store.to_string(), after, limit), |row| row.get(0))
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<_>>().map_err(unavailable)
            })
            .await?;
        docs.iter().map(|doc| from_json(doc)).collect()
    }
}

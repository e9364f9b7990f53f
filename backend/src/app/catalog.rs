//! Catalogue use cases: the admin side (products, variants, stock, categories; each change
//! audited and bumping the store's catalogue version) and the public side (lists with facets,
//! product pages, the category tree, suggestions; all cached under versioned keys), plus
//! customers' wishlists.

use std::{collections::HashSet, sync::Arc};

use serde::Serialize;
use serde_json::json;
use techverse_shared::{
    CategoryId, CategoryNode, CustomerId, ProductDetail, ProductId, ProductStatus, ProductSummary,
    StoreId, VariantId,
};

use super::{Context, audit};
use crate::{
    cache::Cached,
    domain::{
        self,
        catalog::{self, Category, CategoryInput, Product, ProductInput, TreeError},
        events::StoreEvent,
        listing::{ListQuery, ListingIndex, SoldCounts, Sort},
        store::Store,
        validation::ValidationErrors,
    },
    storage::{CatalogVersions, StockChange, StorageError},
};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error("the slug is already used by another product")]
    SlugTaken,
    #[error("a SKU is already used by another product")]
    SkuTaken,
    #[error("no such product")]
    ProductNotFound,
    #[error("no such variant")]
    VariantNotFound,
    #[error("no such category")]
    CategoryNotFound,
    #[error("the product changed since it was read; reload and try again")]
    Stale,
    #[error("not enough stock: {on_hand} on hand, {reserved} reserved")]
    InsufficientStock { on_hand: i64, reserved: i64 },
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error("the category has sub-categories; move or delete them first")]
    CategoryHasChildren,
    #[error("the wishlist holds {MAX_WISHLIST} products already")]
    WishlistFull,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn conflict(error: StorageError) -> CatalogError {
    match error {
        StorageError::Conflict("products.sku") => CatalogError::SkuTaken,
        StorageError::Conflict(_) => CatalogError::SlugTaken,
        other => CatalogError::Storage(other),
    }
}

/// Marks every cached catalogue page of the store stale.
async fn changed(ctx: &Context, store: StoreId) -> Result<(), StorageError> {
    ctx.storage
        .catalog()
        .bump_catalog_version(store)
        .await
        .map(drop)
}

fn new_variant_id() -> VariantId {
    VariantId::from_uuid(uuid::Uuid::now_v7())
}

/// Records `inventory.low_stock` for variants that went from above to at-or-below threshold.
async fn low_stock_events(
    ctx: &Context,
    before: Option<&Product>,
    after: &Product,
) -> Result<(), StorageError> {
    for (kind, payload) in after.low_stock_events(before) {
        let event = StoreEvent::new(after.store_id, kind, payload, domain::now());
        super::events::append(ctx, &event).await?;
    }
    Ok(())
}

async fn check_categories(
    ctx: &Context,
    store: StoreId,
    ids: &[CategoryId],
) -> Result<(), CatalogError> {
    if ids.is_empty() {
        return Ok(());
    }
    let known: HashSet<CategoryId> = ctx
        .storage
        .catalog()
        .categories(store)
        .await?
        .iter()
        .map(|c| c.id)
        .collect();
    let mut errors = ValidationErrors::default();
    for (index, id) in ids.iter().enumerate() {
        if !known.contains(id) {
            errors.add(
                &format!("category_ids[{index}]"),
                "unknown_category",
                "no such category in this store",
            );
        }
    }
    errors.finish(Some(())).map_err(Into::into)
}

pub async fn create_product(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
    input: &ProductInput,
) -> Result<Product, CatalogError> {
    let id = ProductId::from_uuid(uuid::Uuid::now_v7());
    let product = Product::parse(
        input,
        id,
        store.id,
        None,
        &mut new_variant_id,
        domain::now(),
    )?;
    check_categories(ctx, store.id, &product.category_ids).await?;
    ctx.storage
        .catalog()
        .insert_product(store.id, &product)
        .await
        .map_err(conflict)?;
    changed(ctx, store.id).await?;
    low_stock_events(ctx, None, &product).await?;
    audit::record(
        ctx,
        store.id,
        actor,
        "product.created",
        format!("product:{id}"),
        json!({ "title": product.title, "status": product.status, "variants": product.variants.len() }),
    )
    .await?;
    Ok(Product {
        version: 1,
        ..product
    })
}

/// Replaces a product's fields (variants matched by id keep their stock).
pub async fn update_product(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
    id: ProductId,
    input: &ProductInput,
) -> Result<Product, CatalogError> {
    let existing = ctx
        .storage
        .catalog()
        .product(store.id, id)
        .await?
        .ok_or(CatalogError::ProductNotFound)?;
    let product = Product::parse(
        input,
        id,
        store.id,
        Some(&existing),
        &mut new_variant_id,
        domain::now(),
    )?;
    check_categories(ctx, store.id, &product.category_ids).await?;
    save(ctx, store.id, &product).await?;
    low_stock_events(ctx, Some(&existing), &product).await?;
    audit::record(
        ctx,
        store.id,
        actor,
        "product.updated",
        format!("product:{id}"),
        json!({
            "title": { "from": existing.title, "to": product.title },
            "status": { "from": existing.status, "to": product.status },
            "variants": { "from": existing.variants.len(), "to": product.variants.len() },
        }),
    )
    .await?;
    Ok(Product {
        version: product.version + 1,
        ..product
    })
}

async fn save(ctx: &Context, store: StoreId, product: &Product) -> Result<(), CatalogError> {
    if !ctx
        .storage
        .catalog()
        .save_product(store, product)
        .await
        .map_err(conflict)?
    {
        return Err(CatalogError::Stale);
    }
    changed(ctx, store).await?;
    Ok(())
}

pub async fn set_status(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
    id: ProductId,
    status: ProductStatus,
) -> Result<Product, CatalogError> {
    for _ in 0..5 {
        let mut product = ctx
            .storage
            .catalog()
            .product(store.id, id)
            .await?
            .ok_or(CatalogError::ProductNotFound)?;
        let previous = product.status;
        product.status = status;
        product.updated_at = domain::now();
        match save(ctx, store.id, &product).await {
            Err(CatalogError::Stale) => continue,
            Err(other) => return Err(other),
            Ok(()) => {
                audit::record(
                    ctx,
                    store.id,
                    actor,
                    "product.status_changed",
                    format!("product:{id}"),
                    json!({ "status": { "from": previous, "to": status } }),
                )
                .await?;
                return Ok(Product {
                    version: product.version + 1,
                    ..product
                });
            }
        }
    }
    Err(CatalogError::Stale)
}

/// A page of the staff product list: full products (every status, or the one asked for).
#[derive(Debug)]
pub struct AdminPage {
    pub items: Vec<Product>,
    pub total: u32,
    pub facets: techverse_shared::Facets,
    pub next_cursor: Option<String>,
}

/// The staff product list: the public list's filters, facets, sorts and cursors over every
/// product of the store (drafts and archived included), and search by word prefixes over the
/// same texts shoppers search. Not cached: staff see stock as it is now.
pub async fn admin_list(
    ctx: &Context,
    store: &Store,
    status: Option<ProductStatus>,
    query: &PublicQuery,
) -> Result<AdminPage, CatalogError> {
    let catalog = ctx.storage.catalog();
    let products = catalog.products(store.id, status).await?;
    let categories = catalog.categories(store.id).await?;
    let mut list = query.list.clone();
    if let Some(q) = &query.q {
        list.matches = Some(staff_search(&products, &search_words(q)));
    }
    let index = ListingIndex::build(&products, &categories, store.currency);
    let selection = index.select(&list, None);
    let mut by_id: std::collections::HashMap<ProductId, Product> =
        products.into_iter().map(|p| (p.id, p)).collect();
    Ok(AdminPage {
        items: selection
            .ids
            .iter()
            .filter_map(|id| by_id.remove(id))
            .collect(),
        total: selection.total,
        facets: selection.facets,
        next_cursor: selection.next_cursor,
    })
}

/// Products having every word as a word prefix, best match first.
fn staff_search(products: &[Product], words: &[String]) -> Vec<ProductId> {
    use crate::domain::search::{has_word_prefix, score, searchable_texts};
    if words.is_empty() {
        return Vec::new();
    }
    let mut ranked: Vec<(i64, ProductId)> = products
        .iter()
        .filter(|p| {
            let texts = searchable_texts(p);
            words
                .iter()
                .all(|w| has_word_prefix(texts.iter().map(String::as_str), w))
        })
        .map(|p| (-score(p, words), p.id))
        .collect();
    ranked.sort();
    ranked.into_iter().map(|(_, id)| id).collect()
}

pub async fn admin_product(
    ctx: &Context,
    store: StoreId,
    id: ProductId,
) -> Result<Product, CatalogError> {
    ctx.storage
        .catalog()
        .product(store, id)
        .await?
        .ok_or(CatalogError::ProductNotFound)
}

/// Moves a variant's stock on hand by `delta` (with a reason for the audit log).
pub async fn adjust_stock(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
    product: ProductId,
    variant: VariantId,
    delta: i64,
    reason: &str,
) -> Result<Product, CatalogError> {
    let mut errors = ValidationErrors::default();
    if delta == 0 || delta.unsigned_abs() > catalog::MAX_STOCK.unsigned_abs() {
        errors.add("delta", "out_of_range", "a non-zero change within limits");
    }
    let reason = errors.check("reason", domain::account::clean_text(reason, 200), |e| {
        e.code()
    });
    let reason = errors.finish(reason)?;
    let before = ctx.storage.catalog().product(store.id, product).await?;
    let updated = match ctx
        .storage
        .catalog()
        .adjust_stock(store.id, product, variant, delta)
        .await?
    {
        StockChange::Adjusted(updated) => *updated,
        StockChange::Insufficient { on_hand, reserved } => {
            return Err(CatalogError::InsufficientStock { on_hand, reserved });
        }
        StockChange::NotFound if before.is_some() => return Err(CatalogError::VariantNotFound),
        StockChange::NotFound => return Err(CatalogError::ProductNotFound),
    };
    changed(ctx, store.id).await?;
    low_stock_events(ctx, before.as_ref(), &updated).await?;
    let stock = updated.variant(variant).map(|v| v.stock_on_hand);
    audit::record(
        ctx,
        store.id,
        actor,
        "inventory.adjusted",
        format!("variant:{variant}"),
        json!({ "product_id": product, "delta": delta, "reason": reason, "stock_on_hand": stock }),
    )
    .await?;
    Ok(updated)
}

// ---- categories ---------------------------------------------------------------------------

pub async fn create_category(
    ctx: &Context,
    store: StoreId,
    actor: audit::Actor<'_>,
    input: &CategoryInput,
) -> Result<Category, CatalogError> {
    let all = ctx.storage.catalog().categories(store).await?;
    let siblings = all
        .iter()
        .filter(|c| c.parent_id == input.parent_id)
        .count();
    let category = Category::parse(
        input,
        CategoryId::from_uuid(uuid::Uuid::now_v7()),
        store,
        u32::try_from(siblings).unwrap_or(u32::MAX),
    )?;
    catalog::check_parent(&all, category.id, category.parent_id)?;
    ctx.storage
        .catalog()
        .insert_category(store, &category)
        .await
        .map_err(|error| match error {
            StorageError::Conflict(_) => slug_taken_field(),
            other => other.into(),
        })?;
    changed(ctx, store).await?;
    audit::record(
        ctx,
        store,
        actor,
        "category.created",
        format!("category:{}", category.id),
        json!({ "name": category.name, "parent_id": category.parent_id }),
    )
    .await?;
    Ok(category)
}

fn slug_taken_field() -> CatalogError {
    let mut errors = ValidationErrors::default();
    errors.add("slug", "taken", "another category has this slug");
    errors.into()
}

pub async fn update_category(
    ctx: &Context,
    store: StoreId,
    actor: audit::Actor<'_>,
    id: CategoryId,
    input: &CategoryInput,
) -> Result<Category, CatalogError> {
    let all = ctx.storage.catalog().categories(store).await?;
    let current = all
        .iter()
        .find(|c| c.id == id)
        .ok_or(CatalogError::CategoryNotFound)?;
    let category = Category::parse(input, id, store, current.position)?;
    catalog::check_parent(&all, id, category.parent_id)?;
    let found = ctx
        .storage
        .catalog()
        .update_category(store, &category)
        .await
        .map_err(|error| match error {
            StorageError::Conflict(_) => slug_taken_field(),
            other => other.into(),
        })?;
    if !found {
        return Err(CatalogError::CategoryNotFound);
    }
    changed(ctx, store).await?;
    audit::record(ctx, store, actor, "category.updated", format!("category:{id}"), json!({ "name": { "from": current.name, "to": category.name }, "parent_id": { "from": current.parent_id, "to": category.parent_id } })).await?;
    Ok(category)
}

pub async fn delete_category(
    ctx: &Context,
    store: StoreId,
    actor: audit::Actor<'_>,
    id: CategoryId,
) -> Result<(), CatalogError> {
    let all = ctx.storage.catalog().categories(store).await?;
    let current = all
        .iter()
        .find(|c| c.id == id)
        .ok_or(CatalogError::CategoryNotFound)?;
    if all.iter().any(|c| c.parent_id == Some(id)) {
        return Err(CatalogError::CategoryHasChildren);
    }
    ctx.storage.catalog().delete_category(store, id).await?;
    changed(ctx, store).await?;
    audit::record(
        ctx,
        store,
        actor,
        "category.deleted",
        format!("category:{id}"),
        json!({ "name": current.name }),
    )
    .await?;
    Ok(())
}

// ---- public reads, cached -----------------------------------------------------------------

/// What a cached response depends on: the content version only (it shows no stock counts or
/// sales), or the stock version too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depends {
    Content,
    Stock,
}

/// The cache key of a public read: store, the versions it depends on, what was asked.
fn key(store: StoreId, versions: CatalogVersions, depends: Depends, what: &str) -> String {
    match depends {
        Depends::Content => format!("{store}:v{}:{what}", versions.content),
        Depends::Stock => format!("{store}:v{}.{}:{what}", versions.content, versions.stock),
    }
}

fn shared_error<E: std::fmt::Display>(shared: Arc<E>) -> CatalogError {
    CatalogError::Storage(StorageError::Unavailable(anyhow::anyhow!("{shared}")))
}

/// The store's listing index at a content version (built once per version).
async fn listing(
    ctx: &Context,
    store: &Store,
    version: i64,
) -> Result<Arc<ListingIndex>, CatalogError> {
    let catalog = ctx.storage.catalog();
    let build = async {
        let products = catalog
            .products(store.id, Some(ProductStatus::Active))
            .await?;
        let categories = catalog.categories(store.id).await?;
        Ok::<_, StorageError>(ListingIndex::build(&products, &categories, store.currency))
    };
    ctx.cache
        .listing(store.id, version, build)
        .await
        .map_err(shared_error)
}

/// The store's sales counts at a stock version (loaded once per version).
async fn sales(
    ctx: &Context,
    store: StoreId,
    version: i64,
) -> Result<Arc<SoldCounts>, CatalogError> {
    let load = async {
        let counts = ctx.storage.catalog().sold_counts(store).await?;
        Ok::<_, StorageError>(counts.into_iter().collect::<SoldCounts>())
    };
    ctx.cache
        .sales(store, version, load)
        .await
        .map_err(shared_error)
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, CatalogError> {
    serde_json::to_vec(value)
        .map_err(|e| CatalogError::Storage(StorageError::Corrupt(e.to_string())))
}

/// The cached response for `what` at the store's current versions, computed by
/// `compute(versions)` on a miss.
async fn cached<F, Fut>(
    ctx: &Context,
    store: StoreId,
    depends: Depends,
    what: &str,
    compute: F,
) -> Result<Cached, CatalogError>
where
    F: FnOnce(CatalogVersions) -> Fut,
    Fut: Future<Output = Result<Vec<u8>, CatalogError>>,
{
    let versions = ctx.storage.catalog().catalog_versions(store).await?;
    let key = key(store, versions, depends, what);
    let compute = compute(versions);
    ctx.cache
        .get_or_compute(key, compute)
        .await
        .map_err(|shared| match Arc::try_unwrap(shared) {
            Ok(error) => error,
            Err(shared) => match &*shared {
                CatalogError::ProductNotFound => CatalogError::ProductNotFound,
                other => {
                    CatalogError::Storage(StorageError::Unavailable(anyhow::anyhow!("{other}")))
                }
            },
        })
}

/// Plain lower-case words of a search box: letters and digits only, at most 10 of 40 chars.
pub fn search_words(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().chars().take(40).collect())
        .take(10)
        .collect()
}

/// The parsed public list query (everything but search text, which is given as words).
#[derive(Debug, Clone, Default)]
pub struct PublicQuery {
    pub q: Option<String>,
    pub list: ListQuery,
    /// The canonical query string, for the cache key.
    pub canonical: String,
}

/// A page of the public list. Best-selling pages follow sales (the stock version); every other
/// page changes only with the catalogue's content, so sales leave them cached.
pub async fn list(
    ctx: &Context,
    store: &Store,
    query: PublicQuery,
) -> Result<Cached, CatalogError> {
    let what = format!("list?{}", query.canonical);
    let best_selling = query.list.sort == Sort::BestSelling;
    let depends = if best_selling {
        Depends::Stock
    } else {
        Depends::Content
    };
    cached(ctx, store.id, depends, &what, |versions| async move {
        let mut list = query.list.clone();
        if let Some(q) = &query.q {
            let words = search_words(q);
            list.matches = Some(if words.is_empty() {
                Vec::new()
            } else {
                ctx.storage.catalog().search(store.id, &words, 1000).await?
            });
        }
        let index = listing(ctx, store, versions.content).await?;
        let sold = if best_selling {
            Some(sales(ctx, store.id, versions.stock).await?)
        } else {
            None
        };
        to_json(&index.page(&list, sold.as_deref()))
    })
    .await
}

/// A product page: it shows units available, so it follows the stock version.
pub async fn detail(ctx: &Context, store: &Store, slug: &str) -> Result<Cached, CatalogError> {
    let what = format!("product/{slug}");
    cached(
        ctx,
        store.id,
        Depends::Stock,
        &what,
        |versions| async move {
            let product = ctx
                .storage
                .catalog()
                .product_by_slug(store.id, slug)
                .await?
                .filter(|p| p.status == ProductStatus::Active)
                .ok_or(CatalogError::ProductNotFound)?;
            let related: Vec<ProductSummary> = if product.category_ids.is_empty() {
                Vec::new()
            } else {
                let index = listing(ctx, store, versions.content).await?;
                let sold = sales(ctx, store.id, versions.stock).await?;
                index.related(product.id, &product.category_ids, Some(&sold), 4)
            };
            let detail = ProductDetail {
                summary: product.summary(store.currency),
                description_html: product.description_html.clone(),
                category_ids: product.category_ids.clone(),
                tags: product.tags.clone(),
                images: product.image_views(),
                options: product.option_views(),
                variants: product.variant_views(store.currency),
                specs: product.spec_views(),
                seo_title: product.seo_title.clone(),
                seo_description: product.seo_description.clone(),
                related,
                updated_at: product.updated_at,
            };
            to_json(&detail)
        },
    )
    .await
}

pub async fn category_tree(ctx: &Context, store: &Store) -> Result<Cached, CatalogError> {
    cached(ctx, store.id, Depends::Content, "categories", |_| async {
        let categories = ctx.storage.catalog().categories(store.id).await?;
        let tree: Vec<CategoryNode> = catalog::tree(&categories);
        to_json(&json!({ "items": tree }))
    })
    .await
}

pub async fn suggest(ctx: &Context, store: &Store, q: &str) -> Result<Cached, CatalogError> {
    let words = search_words(q);
    let prefix = words.last().cloned().unwrap_or_default();
    let what = format!("suggest?{prefix}");
    cached(ctx, store.id, Depends::Content, &what, |_| async move {
        let titles = ctx.storage.catalog().suggest(store.id, &prefix, 8).await?;
        to_json(&json!({ "items": titles }))
    })
    .await
}

// ---- wishlists ------------------------------------------------------------------------------

/// The most products one wishlist holds.
pub const MAX_WISHLIST: usize = 200;

pub async fn wishlist(
    ctx: &Context,
    store: &Store,
    customer: CustomerId,
) -> Result<Vec<ProductSummary>, CatalogError> {
    let catalog = ctx.storage.catalog();
    let ids = catalog.wishlist(store.id, customer).await?;
    // One query for every product, then the wishlist's own order.
    let products: std::collections::HashMap<ProductId, Product> = catalog
        .products_by_ids(store.id, &ids)
        .await?
        .into_iter()
        .filter(|p| p.status == ProductStatus::Active)
        .map(|p| (p.id, p))
        .collect();
    Ok(ids
        .iter()
        .filter_map(|id| products.get(id))
        .map(|p| p.summary(store.currency))
        .collect())
}

pub async fn wishlist_add(
    ctx: &Context,
    store: &Store,
    customer: CustomerId,
    product: ProductId,
) -> Result<(), CatalogError> {
    let catalog = ctx.storage.catalog();
    catalog
        .product(store.id, product)
        .await?
        .filter(|p| p.status == ProductStatus::Active)
        .ok_or(CatalogError::ProductNotFound)?;
    let held = catalog.wishlist(store.id, customer).await?;
    if !held.contains(&product) && held.len() >= MAX_WISHLIST {
        return Err(CatalogError::WishlistFull);
    }
    catalog.wishlist_add(store.id, customer, product).await?;
    Ok(())
}

pub async fn wishlist_remove(
    ctx: &Context,
    store: &Store,
    customer: CustomerId,
    product: ProductId,
) -> Result<(), CatalogError> {
    if ctx
        .storage
        .catalog()
        .wishlist_remove(store.id, customer, product)
        .await?
    {
        Ok(())
    } else {
        Err(CatalogError::ProductNotFound)
    }
}

// ---- CSV import and export -------------------------------------------------------------------

use super::product_csv;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Errors in the file (and the warnings found beside them).
    #[error("the file has {} problem(s); nothing was imported", .0.errors.len())]
    Rows(product_csv::Notes),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

impl From<StorageError> for ImportError {
    fn from(error: StorageError) -> Self {
        Self::Catalog(error.into())
    }
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub categories_created: usize,
    /// Values changed or left out on the way in (a compare-at price not above the price, a
    /// made SKU, columns TechVerse does not keep), by row and column.
    pub warnings: Vec<product_csv::RowNote>,
}

/// Imports a Shopify-layout CSV: every row is checked first; a file with any error imports
/// nothing. Products whose handle exists are updated (variants matched by SKU keep their stock),
/// others are created; `Type` names a category, created when missing. `progress(done, total)`
/// is called as products are written.
pub async fn import_csv(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
    bytes: &[u8],
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<ImportReport, ImportError> {
    let product_csv::Parsed {
        products: imported,
        mut notes,
    } = product_csv::parse(bytes, store.currency);
    let catalog = ctx.storage.catalog();
    let existing = catalog.products(store.id, None).await?;
    let known = catalog.categories(store.id).await?;
    let (by_name, new_categories) = plan_categories(store, &known, &imported, &mut notes);
    let now = domain::now();
    let validated = product_csv::validate(&imported, &existing, &by_name, |input, current| {
        let id = current.map_or_else(|| ProductId::from_uuid(uuid::Uuid::now_v7()), |p| p.id);
        Product::parse(input, id, store.id, current, &mut new_variant_id, now)
    });
    let products = match validated {
        Ok(products) if notes.errors.is_empty() => products,
        Ok(_) => return Err(ImportError::Rows(notes.sorted())),
        Err(more) => {
            notes.errors.extend(more);
            return Err(ImportError::Rows(notes.sorted()));
        }
    };
    let mut report =
        write_import(ctx, store, &existing, &new_categories, &products, progress).await?;
    report.warnings = notes.sorted().warnings;
    changed(ctx, store.id).await?;
    let summary = json!({
        "created": report.created,
        "updated": report.updated,
        "categories_created": report.categories_created,
        "warnings": report.warnings.len(),
    });
    audit::record(
        ctx,
        store.id,
        actor,
        "product.imported",
        "products".to_owned(),
        summary,
    )
    .await?;
    Ok(report)
}

/// Category ids by lower-cased name, with the categories the file names that the store lacks
/// (to create once the file is known to be good).
fn plan_categories(
    store: &Store,
    known: &[Category],
    imported: &[product_csv::Imported],
    notes: &mut product_csv::Notes,
) -> (
    std::collections::BTreeMap<String, CategoryId>,
    Vec<Category>,
) {
    let mut by_name: std::collections::BTreeMap<String, CategoryId> = known
        .iter()
        .map(|c| (c.name.to_lowercase(), c.id))
        .collect();
    let mut new_categories = Vec::new();
    for item in imported {
        let Some(name) = item.category.as_deref() else {
            continue;
        };
        let std::collections::btree_map::Entry::Vacant(slot) = by_name.entry(name.to_lowercase())
        else {
            continue;
        };
        let input = CategoryInput {
            name: name.to_owned(),
            ..CategoryInput::default()
        };
        let id = CategoryId::from_uuid(uuid::Uuid::now_v7());
        match Category::parse(&input, id, store.id, 0) {
            Ok(category) => {
                slot.insert(id);
                new_categories.push(category);
            }
            Err(_) => {
                let message = format!("`{name}` cannot be a category name");
                notes.add_error(item.product_row, "Type", "invalid", message);
            }
        }
    }
    (by_name, new_categories)
}

/// Writes the checked file: new categories, then each product (updated when it exists).
async fn write_import(
    ctx: &Context,
    store: &Store,
    existing: &[Product],
    new_categories: &[Category],
    products: &[Product],
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<ImportReport, CatalogError> {
    let catalog = ctx.storage.catalog();
    for category in new_categories {
        catalog.insert_category(store.id, category).await?;
    }
    let mut report = ImportReport {
        categories_created: new_categories.len(),
        ..ImportReport::default()
    };
    let total = u64::try_from(products.len()).unwrap_or(u64::MAX);
    for (done, product) in products.iter().enumerate() {
        let before = existing.iter().find(|p| p.id == product.id);
        if before.is_some() {
            if !catalog
                .save_product(store.id, product)
                .await
                .map_err(conflict)?
            {
                return Err(CatalogError::Stale);
            }
            report.updated += 1;
        } else {
            catalog
                .insert_product(store.id, product)
                .await
                .map_err(conflict)?;
            report.created += 1;
        }
        low_stock_events(ctx, before, product).await?;
        progress(u64::try_from(done + 1).unwrap_or(u64::MAX), total);
    }
    Ok(report)
}

/// Every product of the store as Shopify-layout CSV.
pub async fn export_csv(ctx: &Context, store: &Store) -> Result<Vec<u8>, CatalogError> {
    let catalog = ctx.storage.catalog();
    let products = catalog.products(store.id, None).await?;
    let categories = catalog.categories(store.id).await?;
    super::product_csv::export(&products, &categories, store.currency)
        .map_err(|e| CatalogError::Storage(StorageError::Corrupt(e.to_string())))
}

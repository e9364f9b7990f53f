//! The catalogue admin of a store (`/api/v1/admin/stores/{store}/…`): products, variants'
//! stock, categories and the store's event log. Reads need `products.read` (the event log
//! shows each member the events their permissions cover), changes
//! `products.write`; every change is audited.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use techverse_shared::{
    ApiErrorBody, CategoryId, ErrorCode, Money, Permission, ProductId, ProductStatus, VariantId,
};

use crate::{
    app::{
        catalog::ImportReport,
        catalog::{self, ImportError},
        events::{self, EventPage},
    },
    domain::{
        self,
        catalog::{Category, CategoryInput, Product, ProductInput},
    },
    http::routes::table::resource,
    http::{
        AppState, auth::StoreStaff, error::ApiError, json::JsonBody, openapi::StorePath, upload,
    },
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    create,
    export,
    import,
    preview_description,
    get,
    replace,
    set_status,
    adjust_stock,
    categories,
    create_category,
    update_category,
    delete_category,
    events
))]
pub struct Doc;

/// The admin list's own parameter; the rest are the public list's.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct StatusParam {
    #[param(inline)]
    status: Option<ProductStatus>,
}

/// A page of the admin list.
#[derive(Serialize, utoipa::ToSchema)]
struct AdminProductPage<'a> {
    items: Vec<AdminProduct<'a>>,
    total: u32,
    facets: techverse_shared::Facets,
    next_cursor: Option<String>,
}

/// `{description_html}`.
#[derive(Serialize, utoipa::ToSchema)]
struct Preview {
    description_html: String,
}

/// The categories, flat and as a tree.
#[derive(Serialize, utoipa::ToSchema)]
struct AdminCategories {
    items: Vec<Category>,
    tree: Vec<techverse_shared::CategoryNode>,
}

/// The import's form: the CSV in `file`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ImportUpload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/admin/stores/{store}/products")
            .get(list)
            .post(create),
    )
    // Before `/products/{product}`, which would otherwise take these names as ids.
    .service(resource("/admin/stores/{store}/products/export.csv").get(export))
    .service(resource("/admin/stores/{store}/products/import").post(import))
    .service(
        resource("/admin/stores/{store}/products/description-preview").post(preview_description),
    )
    .service(
        resource("/admin/stores/{store}/products/{product}")
            .get(get)
            .put(replace)
            .patch(set_status),
    )
    .service(
        resource("/admin/stores/{store}/products/{product}/variants/{variant}/stock")
            .post(adjust_stock),
    )
    .service(
        resource("/admin/stores/{store}/categories")
            .get(categories)
            .post(create_category),
    )
    .service(
        resource("/admin/stores/{store}/categories/{category}")
            .patch(update_category)
            .delete(delete_category),
    )
    .service(resource("/admin/stores/{store}/events").get(events));
}

fn not_found(what: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("no such {what}"))
}

/// A product as its staff see it: everything, including stock and reservations.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AdminProduct<'a> {
    #[serde(flatten)]
    product: &'a Product,
    price_min: Money,
    in_stock: bool,
}

fn view<'a>(staff: &StoreStaff, product: &'a Product) -> AdminProduct<'a> {
    AdminProduct {
        product,
        price_min: Money::new(product.min_price(), staff.store.currency),
        in_stock: product.in_stock(),
    }
}

/// `GET …/products`: `status` (draft, active, archived) and everything the public list takes
/// (`q`, `category`, `brand`, prices, `in_stock`, `spec.<key>`, `sort`, `limit`, `cursor`).
/// Every product of the store in any status, with the public list's search and filters (`products.read`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/products",
    tag = "admin-catalog",
    params(StorePath, StatusParam, crate::http::routes::catalog::ListParams),
    security(("staff" = [])),
    responses(
        (status = 200, description = "A page of products.", body = AdminProductPage),
    ),
)]
async fn list(
    state: web::Data<AppState>,
    staff: StoreStaff,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::ProductsRead)?;
    let mut status = None;
    let mut rest = Vec::with_capacity(query.len());
    for (name, value) in query.iter() {
        if name == "status" {
            status = Some(ProductStatus::parse(value).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::BadRequest,
                    "`status` is draft, active or archived",
                )
            })?);
        } else {
            rest.push((name.clone(), value.clone()));
        }
    }
    let parsed = crate::http::routes::catalog::parse_list_query(&rest)?;
    let page = catalog::admin_list(&state.ctx, &staff.store, status, &parsed).await?;
    let items: Vec<AdminProduct<'_>> = page.items.iter().map(|p| view(&staff, p)).collect();
    Ok(HttpResponse::Ok().json(AdminProductPage {
        items,
        total: page.total,
        facets: page.facets,
        next_cursor: page.next_cursor,
    }))
}

/// Creates a product with its options, variants, specs and images (`products.write`).
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/products",
    tag = "admin-catalog",
    params(StorePath),
    request_body = ProductInput,
    security(("staff" = [])),
    responses(
        (status = 201, description = "The product.", body = AdminProduct),
        (status = 409, description = "A SKU or the slug is taken (`sku_taken`, `conflict`).", body = ApiErrorBody),
    ),
)]
async fn create(
    state: web::Data<AppState>,
    staff: StoreStaff,
    JsonBody(input): JsonBody<ProductInput>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::ProductsWrite)?;
    let product = catalog::create_product(&state.ctx, &staff.store, staff.actor(), &input).await?;
    Ok(HttpResponse::Created().json(view(&staff, &product)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PreviewInput {
    description: String,
}

/// `{description}` (Markdown) → `{description_html}` as a saved product would show it.
/// Renders Markdown as a saved product's description would show it (`products.write`).
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/products/description-preview",
    tag = "admin-catalog",
    params(StorePath),
    request_body = PreviewInput,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The sanitised HTML.", body = Preview),
    ),
)]
async fn preview_description(
    staff: StoreStaff,
    JsonBody(input): JsonBody<PreviewInput>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::ProductsWrite)?;
    let html = domain::catalog::preview_description(&input.description)?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(Preview {
            description_html: html,
        }))
}

fn product_id(raw: &str) -> Result<ProductId, ApiError> {
    raw.parse().map_err(|_| not_found("product"))
}

/// One product with stock and reservations (`products.read`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/products/{product}",
    tag = "admin-catalog",
    params(StorePath, ("product" = String, Path, description = "The product id.")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The product.", body = AdminProduct),
    ),
)]
async fn get(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::ProductsRead)?;
    let product = catalog::admin_product(&state.ctx, staff.store.id, product_id(&path.1)?).await?;
    Ok(HttpResponse::Ok().json(view(&staff, &product)))
}

/// Replaces a product; saved variants keep their id, stock and reservations (`products.write`).
#[utoipa::path(
    put,
    path = "/admin/stores/{store}/products/{product}",
    tag = "admin-catalog",
    params(StorePath, ("product" = String, Path, description = "The product id.")),
    request_body = ProductInput,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The product.", body = AdminProduct),
        (status = 409, description = "A SKU or the slug is taken (`sku_taken`, `conflict`).", body = ApiErrorBody),
    ),
)]
async fn replace(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
    JsonBody(input): JsonBody<ProductInput>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::ProductsWrite)?;
    let product = catalog::update_product(
        &state.ctx,
        &staff.store,
        staff.actor(),
        product_id(&path.1)?,
        &input,
    )
    .await?;
    Ok(HttpResponse::Ok().json(view(&staff, &product)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: ProductStatus,
}

/// Publishes, drafts or archives a product (`products.write`).
#[utoipa::path(
    patch,
    path = "/admin/stores/{store}/products/{product}",
    tag = "admin-catalog",
    params(StorePath, ("product" = String, Path, description = "The product id.")),
    request_body = StatusBody,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The product.", body = AdminProduct),
    ),
)]
async fn set_status(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
    JsonBody(body): JsonBody<StatusBody>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::ProductsWrite)?;
    let product = catalog::set_status(
        &state.ctx,
        &staff.store,
        staff.actor(),
        product_id(&path.1)?,
        body.status,
    )
    .await?;
    Ok(HttpResponse::Ok().json(view(&staff, &product)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StockBody {
    /// Units to add (negative to remove).
    delta: i64,
    reason: String,
}

/// Adds or removes units of a variant, with a reason (`products.write`).
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/products/{product}/variants/{variant}/stock",
    tag = "admin-catalog",
    params(StorePath, ("product" = String, Path, description = "The product id."), ("variant" = String, Path, description = "The variant id.")),
    request_body = StockBody,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The product.", body = AdminProduct),
        (status = 409, description = "Stock would go below zero or below what orders hold (`insufficient_stock`).", body = ApiErrorBody),
    ),
)]
async fn adjust_stock(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String, String)>,
    JsonBody(body): JsonBody<StockBody>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::ProductsWrite)?;
    let product = product_id(&path.1)?;
    let variant: VariantId = path.2.parse().map_err(|_| not_found("variant"))?;
    let updated = catalog::adjust_stock(
        &state.ctx,
        &staff.store,
        staff.actor(),
        product,
        variant,
        body.delta,
        &body.reason,
    )
    .await?;
    Ok(HttpResponse::Ok().json(view(&staff, &updated)))
}

/// Every category, flat and as a tree (`products.read`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/categories",
    tag = "admin-catalog",
    params(StorePath),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The categories.", body = AdminCategories),
    ),
)]
async fn categories(
    state: web::Data<AppState>,
    staff: StoreStaff,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::ProductsRead)?;
    let all = state
        .ctx
        .storage
        .catalog()
        .categories(staff.store.id)
        .await?;
    let tree = crate::domain::catalog::tree(&all);
    Ok(HttpResponse::Ok().json(AdminCategories { items: all, tree }))
}

/// Creates a category (`products.write`).
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/categories",
    tag = "admin-catalog",
    params(StorePath),
    request_body = CategoryInput,
    security(("staff" = [])),
    responses(
        (status = 201, description = "The category.", body = Category),
        (status = 409, description = "The slug is taken or the parent would make a loop (`conflict`).", body = ApiErrorBody),
    ),
)]
async fn create_category(
    state: web::Data<AppState>,
    staff: StoreStaff,
    JsonBody(input): JsonBody<CategoryInput>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::ProductsWrite)?;
    let category =
        catalog::create_category(&state.ctx, staff.store.id, staff.actor(), &input).await?;
    Ok(HttpResponse::Created().json(category))
}

fn category_id(raw: &str) -> Result<CategoryId, ApiError> {
    raw.parse().map_err(|_| not_found("category"))
}

/// Renames or moves a category (`products.write`).
#[utoipa::path(
    patch,
    path = "/admin/stores/{store}/categories/{category}",
    tag = "admin-catalog",
    params(StorePath, ("category" = String, Path, description = "The category id.")),
    request_body = CategoryInput,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The category.", body = Category),
        (status = 409, description = "The slug is taken or the parent would make a loop (`conflict`).", body = ApiErrorBody),
    ),
)]
async fn update_category(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
    JsonBody(input): JsonBody<CategoryInput>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::ProductsWrite)?;
    let category = catalog::update_category(
        &state.ctx,
        staff.store.id,
        staff.actor(),
        category_id(&path.1)?,
        &input,
    )
    .await?;
    Ok(HttpResponse::Ok().json(category))
}

/// Deletes a category (`products.write`).
#[utoipa::path(
    delete,
    path = "/admin/stores/{store}/categories/{category}",
    tag = "admin-catalog",
    params(StorePath, ("category" = String, Path, description = "The category id.")),
    security(("staff" = [])),
    responses(
        (status = 204, description = "The category is deleted."),
        (status = 409, description = "The category still has children (`conflict`).", body = ApiErrorBody),
    ),
)]
async fn delete_category(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::ProductsWrite)?;
    catalog::delete_category(
        &state.ctx,
        staff.store.id,
        staff.actor(),
        category_id(&path.1)?,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct EventParams {
    /// The last sequence number already read.
    after: Option<i64>,
    #[param(minimum = 1, maximum = 500, default = 100)]
    limit: Option<u32>,
}

/// The store's event log after a sequence number, showing the events the member's permissions cover.
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/events",
    tag = "admin-catalog",
    params(StorePath, EventParams),
    security(("staff" = [])),
    responses(
        (status = 200, description = "A page of events.", body = EventPage),
    ),
)]
async fn events(
    state: web::Data<AppState>,
    staff: StoreStaff,
    params: web::Query<EventParams>,
) -> Result<HttpResponse, ApiError> {
    if !events::may_read_any(&staff.permissions) {
        staff.require(Permission::OrdersRead)?;
    }
    let page = events::visible(
        &state.ctx,
        &staff.store,
        &staff.permissions,
        params.after.unwrap_or(0),
        params.limit.unwrap_or(100).clamp(1, 500),
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Largest CSV accepted by the import endpoint.
pub const IMPORT_LIMIT_BYTES: usize = 10 * 1024 * 1024;

impl From<ImportError> for ApiError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Rows(notes) => {
                Self::new(ErrorCode::ValidationFailed, error_text(notes.errors.len()))
                    .with_details(json!({ "rows": notes.errors, "warnings": notes.warnings }))
            }
            ImportError::Catalog(catalog) => catalog.into(),
        }
    }
}

fn error_text(count: usize) -> String {
    format!("the file has {count} problem(s); nothing was imported")
}

/// `multipart/form-data` with the CSV in a field named `file`.
/// Imports a Shopify-layout CSV (multipart field `file`): every row is checked first, and a file with any error imports nothing (`products.write`). With `Accept: application/x-ndjson` the answer streams `{"progress":{done,total}}` lines, then a `{"report":…}` or `{"error":…}` line.
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/products/import",
    tag = "admin-catalog",
    params(StorePath),
    request_body(content = ImportUpload, content_type = "multipart/form-data"),
    security(("staff" = [])),
    responses(
        (status = 200, description = "What was imported (or, with `Accept: application/x-ndjson`, progress lines and then the report).", content((ImportReport = "application/json"), (String = "application/x-ndjson"))),
    ),
)]
async fn import(
    state: web::Data<AppState>,
    staff: StoreStaff,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::ProductsWrite)?;
    let file = upload::read_file(&req, payload, IMPORT_LIMIT_BYTES, "CSV").await?;
    if wants_progress(&req) {
        return Ok(import_with_progress(state.ctx.clone(), staff, file));
    }
    let report =
        catalog::import_csv(&state.ctx, &staff.store, staff.actor(), &file, &|_, _| {}).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The client asked for the import as a stream of progress lines (`Accept:
/// application/x-ndjson`).
fn wants_progress(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(NDJSON))
}

const NDJSON: &str = "application/x-ndjson";

/// The import, answered as it runs: `{"progress":{"done","total"}}` lines as products are
/// written (at most one per percent), then one `{"report":…}` or `{"error":…}` line (the
/// same error body as the plain answer; the status is already 200 by then).
fn import_with_progress(
    ctx: crate::app::Context,
    staff: StoreStaff,
    file: Vec<u8>,
) -> HttpResponse {
    let (tx, rx) = tokio::sync::mpsc::channel::<web::Bytes>(8);
    let line = |value: serde_json::Value| web::Bytes::from(format!("{value}\n"));
    actix_web::rt::spawn(async move {
        let last = std::sync::atomic::AtomicU64::new(u64::MAX);
        let progress = |done: u64, total: u64| {
            let percent = done * 100 / total.max(1);
            if last.swap(percent, std::sync::atomic::Ordering::Relaxed) != percent {
                // Lossy on purpose: a slow reader misses steps, never the result.
                let _ = tx.try_send(line(
                    json!({ "progress": { "done": done, "total": total } }),
                ));
            }
        };
        let result = catalog::import_csv(&ctx, &staff.store, staff.actor(), &file, &progress).await;
        let end = match result {
            Ok(report) => json!({ "report": report }),
            Err(error) => json!(ApiError::from(error).body()),
        };
        let _ = tx.send(line(end)).await;
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, actix_web::Error>(bytes), rx))
    });
    HttpResponse::Ok()
        .content_type(NDJSON)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(stream)
}

/// The catalogue as a Shopify-layout CSV (`products.read`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/products/export.csv",
    tag = "admin-catalog",
    params(StorePath),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The CSV file.", content_type = "text/csv", body = String),
    ),
)]
async fn export(state: web::Data<AppState>, staff: StoreStaff) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::ProductsRead)?;
    let csv = catalog::export_csv(&state.ctx, &staff.store).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}-products.csv\"", staff.store.slug),
        ))
        .body(csv))
}

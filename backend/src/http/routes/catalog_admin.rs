//! The catalogue admin of a store (`/api/v1/admin/stores/{store}/…`): products, variants'
//! stock, categories and the store's event log. Reads need `products.read` (the event log
//! shows each member the events their permissions cover), changes
//! `products.write`; every change is audited.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use techverse_shared::{
    CategoryId, ErrorCode, Money, Permission, ProductId, ProductStatus, VariantId,
};

use crate::{
    app::{
        catalog::{self, ImportError},
        events,
    },
    domain::{
        self,
        catalog::{CategoryInput, Product, ProductInput},
    },
    http::{AppState, auth::StoreStaff, error::ApiError, json::JsonBody, upload},
};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/stores/{store}/products")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    // Before `/products/{product}`, which would otherwise take these names as ids.
    .service(
        web::resource("/admin/stores/{store}/products/export.csv").route(web::get().to(export)),
    )
    .service(web::resource("/admin/stores/{store}/products/import").route(web::post().to(import)))
    .service(
        web::resource("/admin/stores/{store}/products/description-preview")
            .route(web::post().to(preview_description)),
    )
    .service(
        web::resource("/admin/stores/{store}/products/{product}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(set_status)),
    )
    .service(
        web::resource("/admin/stores/{store}/products/{product}/variants/{variant}/stock")
            .route(web::post().to(adjust_stock)),
    )
    .service(
        web::resource("/admin/stores/{store}/categories")
            .route(web::get().to(categories))
            .route(web::post().to(create_category)),
    )
    .service(
        web::resource("/admin/stores/{store}/categories/{category}")
            .route(web::patch().to(update_category))
            .route(web::delete().to(delete_category)),
    )
    .service(web::resource("/admin/stores/{store}/events").route(web::get().to(events)));
}

fn not_found(what: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("no such {what}"))
}

/// A product as its staff see it: everything, including stock and reservations.
#[derive(Debug, Serialize)]
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
    Ok(HttpResponse::Ok().json(json!({
        "items": items,
        "total": page.total,
        "facets": page.facets,
        "next_cursor": page.next_cursor,
    })))
}

async fn create(
    state: web::Data<AppState>,
    staff: StoreStaff,
    JsonBody(input): JsonBody<ProductInput>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::ProductsWrite)?;
    let product = catalog::create_product(&state.ctx, &staff.store, staff.actor(), &input).await?;
    Ok(HttpResponse::Created().json(view(&staff, &product)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewInput {
    description: String,
}

/// `{description}` (Markdown) → `{description_html}` as a saved product would show it.
async fn preview_description(
    staff: StoreStaff,
    JsonBody(input): JsonBody<PreviewInput>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::ProductsWrite)?;
    let html = domain::catalog::preview_description(&input.description)?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(json!({ "description_html": html })))
}

fn product_id(raw: &str) -> Result<ProductId, ApiError> {
    raw.parse().map_err(|_| not_found("product"))
}

async fn get(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::ProductsRead)?;
    let product = catalog::admin_product(&state.ctx, staff.store.id, product_id(&path.1)?).await?;
    Ok(HttpResponse::Ok().json(view(&staff, &product)))
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: ProductStatus,
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StockBody {
    /// Units to add (negative to remove).
    delta: i64,
    reason: String,
}

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
    Ok(
        HttpResponse::Ok()
            .json(json!({ "items": all, "tree": crate::domain::catalog::tree(&all) })),
    )
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventParams {
    after: Option<i64>,
    limit: Option<u32>,
}

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

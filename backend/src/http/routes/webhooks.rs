//! A store's merchant webhooks: `/api/v1/admin/stores/{store}/webhooks…` (`webhooks.manage`,
//! every change audited): endpoints, secret rotation, the delivery log and manual retry.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use techverse_shared::{ErrorCode, Permission, WebhookDeliveryId, WebhookId};

use crate::{
    app::webhooks::{self, DeliveryView, EndpointInput, EndpointView},
    http::routes::table::resource,
    http::{
        AppState,
        auth::StoreStaff,
        error::ApiError,
        json::JsonBody,
        openapi::{Items, StorePath},
    },
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, get, update, delete, rotate_secret, deliveries, retry))]
pub struct Doc;

/// A page of the delivery log.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct DeliveryPage {
    items: Vec<DeliveryView>,
    /// Pass as `before` for older deliveries.
    next_before: Option<String>,
}

pub fn config(cfg: &mut web::ServiceConfig) {
    const BASE: &str = "/admin/stores/{store}/webhooks";
    cfg.service(resource(BASE).get(list).post(create))
        .service(
            resource(format!("{BASE}/{{webhook}}"))
                .get(get)
                .patch(update)
                .delete(delete),
        )
        .service(resource(format!("{BASE}/{{webhook}}/rotate-secret")).post(rotate_secret))
        .service(resource(format!("{BASE}/{{webhook}}/deliveries")).get(deliveries))
        .service(resource(format!("{BASE}/{{webhook}}/deliveries/{{delivery}}/retry")).post(retry));
}

fn webhook_id(raw: &str) -> Result<WebhookId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::from(webhooks::WebhookError::NotFound))
}

fn managing(staff: &StoreStaff, write: bool) -> Result<(), ApiError> {
    if write {
        staff.require_write(Permission::WebhooksManage)
    } else {
        staff.require(Permission::WebhooksManage)
    }
}

/// The store's webhook endpoints (`webhooks.manage`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/webhooks",
    tag = "admin-webhooks",
    params(StorePath),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The endpoints.", body = Items<EndpointView>),
    ),
)]
async fn list(state: web::Data<AppState>, staff: StoreStaff) -> Result<HttpResponse, ApiError> {
    managing(&staff, false)?;
    let items = webhooks::list(&state.ctx, &staff.store).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// Adds an endpoint; its signing secret is shown in this answer only (`webhooks.manage`).
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/webhooks",
    tag = "admin-webhooks",
    params(StorePath),
    request_body = EndpointInput,
    security(("staff" = [])),
    responses(
        (status = 201, description = "The endpoint with its secret.", body = EndpointView),
    ),
)]
async fn create(
    state: web::Data<AppState>,
    staff: StoreStaff,
    JsonBody(input): JsonBody<EndpointInput>,
) -> Result<HttpResponse, ApiError> {
    managing(&staff, true)?;
    let created = webhooks::create(&state.ctx, &staff.store, staff.actor(), &input).await?;
    Ok(HttpResponse::Created()
        .insert_header(("cache-control", "no-store"))
        .json(created))
}

/// One endpoint (`webhooks.manage`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/webhooks/{webhook}",
    tag = "admin-webhooks",
    params(StorePath, ("webhook" = String, Path, description = "The endpoint id.")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The endpoint.", body = EndpointView),
    ),
)]
async fn get(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    managing(&staff, false)?;
    let found = webhooks::get(&state.ctx, &staff.store, webhook_id(&path.1)?).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Changes an endpoint's URL, events, description or pauses it (`webhooks.manage`).
#[utoipa::path(
    patch,
    path = "/admin/stores/{store}/webhooks/{webhook}",
    tag = "admin-webhooks",
    params(StorePath, ("webhook" = String, Path, description = "The endpoint id.")),
    request_body = EndpointInput,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The endpoint.", body = EndpointView),
    ),
)]
async fn update(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
    JsonBody(input): JsonBody<EndpointInput>,
) -> Result<HttpResponse, ApiError> {
    managing(&staff, true)?;
    let id = webhook_id(&path.1)?;
    let updated = webhooks::update(&state.ctx, &staff.store, staff.actor(), id, &input).await?;
    Ok(HttpResponse::Ok().json(updated))
}

/// Deletes an endpoint (`webhooks.manage`).
#[utoipa::path(
    delete,
    path = "/admin/stores/{store}/webhooks/{webhook}",
    tag = "admin-webhooks",
    params(StorePath, ("webhook" = String, Path, description = "The endpoint id.")),
    security(("staff" = [])),
    responses(
        (status = 204, description = "The endpoint is deleted."),
    ),
)]
async fn delete(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    managing(&staff, true)?;
    let id = webhook_id(&path.1)?;
    webhooks::delete(&state.ctx, &staff.store, staff.actor(), id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Makes a new signing secret, shown in this answer only; the old one keeps signing for a day (`webhooks.manage`).
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/webhooks/{webhook}/rotate-secret",
    tag = "admin-webhooks",
    params(StorePath, ("webhook" = String, Path, description = "The endpoint id.")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The endpoint with its new secret.", body = EndpointView),
    ),
)]
async fn rotate_secret(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    managing(&staff, true)?;
    let id = webhook_id(&path.1)?;
    let rotated = webhooks::rotate_secret(&state.ctx, &staff.store, staff.actor(), id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(rotated))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LogParams {
    /// A delivery id: the page continues with older deliveries.
    #[param(format = Uuid)]
    before: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 25)]
    limit: Option<u32>,
}

/// The endpoint's delivery log, newest first, with each attempt (`webhooks.manage`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/webhooks/{webhook}/deliveries",
    tag = "admin-webhooks",
    params(StorePath, ("webhook" = String, Path, description = "The endpoint id."), LogParams),
    security(("staff" = [])),
    responses(
        (status = 200, description = "A page of deliveries.", body = DeliveryPage),
    ),
)]
async fn deliveries(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
    params: web::Query<LogParams>,
) -> Result<HttpResponse, ApiError> {
    managing(&staff, false)?;
    let before = params
        .before
        .as_deref()
        .map(|raw| {
            raw.parse::<WebhookDeliveryId>()
                .map_err(|_| ApiError::new(ErrorCode::BadRequest, "before is not a delivery id"))
        })
        .transpose()?;
    let limit = params.limit.unwrap_or(25).clamp(1, 100);
    let items = webhooks::deliveries(
        &state.ctx,
        &staff.store,
        webhook_id(&path.1)?,
        before,
        limit,
    )
    .await?;
    let next = (items.len() == limit as usize)
        .then(|| items.last().map(|d| d.id.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(DeliveryPage {
        items,
        next_before: next,
    }))
}

/// Sends a delivery again now (`webhooks.manage`).
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/webhooks/{webhook}/deliveries/{delivery}/retry",
    tag = "admin-webhooks",
    params(StorePath, ("webhook" = String, Path, description = "The endpoint id."), ("delivery" = String, Path, description = "The delivery id.")),
    security(("staff" = [])),
    responses(
        (status = 202, description = "The delivery is queued.", body = DeliveryView),
    ),
)]
async fn retry(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    managing(&staff, true)?;
    webhook_id(&path.1)?;
    let delivery = path
        .2
        .parse()
        .map_err(|_| ApiError::from(webhooks::WebhookError::DeliveryNotFound))?;
    let retried = webhooks::retry(&state.ctx, &staff.store, staff.actor(), delivery).await?;
    Ok(HttpResponse::Accepted().json(retried))
}

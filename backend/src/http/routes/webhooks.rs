//! A store's merchant webhooks: `/api/v1/admin/stores/{store}/webhooks…` (`webhooks.manage`,
//! every change audited): endpoints, secret rotation, the delivery log and manual retry.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use techverse_shared::{ErrorCode, Permission, WebhookDeliveryId, WebhookId};

use crate::{
    app::webhooks::{self, EndpointInput},
    http::{AppState, auth::StoreStaff, error::ApiError, json::JsonBody},
};

pub fn config(cfg: &mut web::ServiceConfig) {
    const BASE: &str = "/admin/stores/{store}/webhooks";
    cfg.service(
        web::resource(BASE)
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource(format!("{BASE}/{{webhook}}"))
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(
        web::resource(format!("{BASE}/{{webhook}}/rotate-secret"))
            .route(web::post().to(rotate_secret)),
    )
    .service(
        web::resource(format!("{BASE}/{{webhook}}/deliveries")).route(web::get().to(deliveries)),
    )
    .service(
        web::resource(format!("{BASE}/{{webhook}}/deliveries/{{delivery}}/retry"))
            .route(web::post().to(retry)),
    );
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

async fn list(state: web::Data<AppState>, staff: StoreStaff) -> Result<HttpResponse, ApiError> {
    managing(&staff, false)?;
    let items = webhooks::list(&state.ctx, &staff.store).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

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

async fn get(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    managing(&staff, false)?;
    let found = webhooks::get(&state.ctx, &staff.store, webhook_id(&path.1)?).await?;
    Ok(HttpResponse::Ok().json(found))
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogParams {
    /// A delivery id: the page continues with older deliveries.
    before: Option<String>,
    limit: Option<u32>,
}

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
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_before": next })))
}

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

//! The platform operator API: `/api/v1/platform/stores…`, behind [`PlatformOperator`].

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use techverse_shared::{ErrorCode, PlatformStore, StorePage, StoreSlug, StoreStatus};

use crate::{
    app::stores,
    domain::store::{NewStoreInput, Store},
    http::{AppState, error::ApiError, json::JsonBody, platform_auth::PlatformOperator},
};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/platform/stores")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/platform/stores/{store}/suspend").route(web::post().to(suspend)))
    .service(
        web::resource("/platform/stores/{store}/reactivate").route(web::post().to(reactivate)),
    );
}

fn view(store: &Store) -> PlatformStore {
    PlatformStore {
        profile: store.profile(),
        status: store.status,
        created_at: store.created_at,
        updated_at: store.updated_at,
    }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    after: Option<String>,
    limit: Option<u32>,
}

async fn list(
    _: PlatformOperator,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let after = query
        .after
        .as_deref()
        .map(StoreSlug::parse)
        .transpose()
        .map_err(|_| ApiError::new(ErrorCode::BadRequest, "`after` is not a store slug"))?;
    let (items, next_after) = stores::page(
        state.storage.as_ref(),
        after.as_ref(),
        query.limit.unwrap_or(50),
    )
    .await?;
    Ok(HttpResponse::Ok().json(StorePage {
        items: items.iter().map(view).collect(),
        next_after,
    }))
}

async fn create(
    _: PlatformOperator,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<NewStoreInput>,
) -> Result<HttpResponse, ApiError> {
    let store = stores::open(state.storage.as_ref(), &input).await?;
    tracing::info!(store = %store.slug, store_id = %store.id, "store opened");
    Ok(HttpResponse::Created().json(view(&store)))
}

async fn change_status(
    state: &AppState,
    slug: &str,
    status: StoreStatus,
) -> Result<HttpResponse, ApiError> {
    let store = stores::set_status(state.storage.as_ref(), slug, status).await?;
    tracing::info!(store = %store.slug, status = status.as_str(), "store status changed");
    Ok(HttpResponse::Ok().json(view(&store)))
}

async fn suspend(
    _: PlatformOperator,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    change_status(&state, &slug, StoreStatus::Suspended).await
}

async fn reactivate(
    _: PlatformOperator,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    change_status(&state, &slug, StoreStatus::Active).await
}

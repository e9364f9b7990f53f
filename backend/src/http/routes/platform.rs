//! The platform operator API: `/api/v1/platform/stores…`, behind [`PlatformOperator`].

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use techverse_shared::{ApiErrorBody, ErrorCode, PlatformStore, StorePage, StoreSlug, StoreStatus};

use crate::{
    app::stores,
    domain::store::{NewStoreInput, Store},
    http::routes::table::resource,
    http::{
        AppState, error::ApiError, json::JsonBody, openapi::StorePath,
        platform_auth::PlatformOperator,
    },
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, suspend, reactivate))]
pub struct Doc;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/platform/stores").get(list).post(create))
        .service(resource("/platform/stores/{store}/suspend").post(suspend))
        .service(resource("/platform/stores/{store}/reactivate").post(reactivate));
}

fn view(store: &Store) -> PlatformStore {
    PlatformStore {
        profile: store.profile(),
        status: store.status,
        created_at: store.created_at,
        updated_at: store.updated_at,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `next_after` of the previous page: a store slug.
    after: Option<String>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<u32>,
}

/// Every store, by slug (platform administrators).
#[utoipa::path(
    get,
    path = "/platform/stores",
    tag = "platform",
    params(ListQuery),
    security(("platform" = [])),
    responses(
        (status = 200, description = "A page of stores.", body = StorePage),
    ),
)]
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

/// Opens a store with no owner yet (platform administrators).
#[utoipa::path(
    post,
    path = "/platform/stores",
    tag = "platform",
    request_body = NewStoreInput,
    security(("platform" = [])),
    responses(
        (status = 201, description = "The store.", body = PlatformStore),
        (status = 409, description = "The slug is taken (`slug_taken`).", body = ApiErrorBody),
    ),
)]
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

/// Suspends a store: its storefront closes and its admin turns read-only.
#[utoipa::path(
    post,
    path = "/platform/stores/{store}/suspend",
    tag = "platform",
    params(StorePath),
    security(("platform" = [])),
    responses(
        (status = 200, description = "The store.", body = PlatformStore),
    ),
)]
async fn suspend(
    _: PlatformOperator,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    change_status(&state, &slug, StoreStatus::Suspended).await
}

/// Reopens a suspended store.
#[utoipa::path(
    post,
    path = "/platform/stores/{store}/reactivate",
    tag = "platform",
    params(StorePath),
    security(("platform" = [])),
    responses(
        (status = 200, description = "The store.", body = PlatformStore),
    ),
)]
async fn reactivate(
    _: PlatformOperator,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    change_status(&state, &slug, StoreStatus::Active).await
}

//! Public store profile: `GET /api/v1/stores/{store}`.

use actix_web::{HttpResponse, web};

use techverse_shared::StoreProfile;

use crate::http::{openapi::StorePath, routes::table::resource, tenant::CurrentStore};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/stores/{store}").get(profile));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(profile))]
pub struct Doc;

/// A store's public profile: name, description, currency, logo, contact.
#[utoipa::path(
    get,
    path = "/stores/{store}",
    tag = "storefront",
    params(StorePath),
    responses((status = 200, description = "The store's public profile.", body = StoreProfile)),
)]
async fn profile(CurrentStore(store): CurrentStore) -> HttpResponse {
    HttpResponse::Ok().json(store.profile())
}

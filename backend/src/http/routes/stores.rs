//! Public store profile: `GET /api/v1/stores/{store}`.

use actix_web::{HttpResponse, web};

use crate::http::tenant::CurrentStore;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/stores/{store}").route(web::get().to(profile)));
}

async fn profile(CurrentStore(store): CurrentStore) -> HttpResponse {
    HttpResponse::Ok().json(store.profile())
}

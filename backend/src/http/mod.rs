//! The HTTP layer: shared state, middleware, extractors, error mapping, and each resource's
//! routes. Handlers stay thin: parse, authorise, call an application service, map errors.

pub mod auth;
pub mod browser;
pub mod error;
pub mod json;
pub mod limits;
pub mod observe;
pub mod openapi;
pub mod platform_auth;
pub mod routes;
pub mod tenant;
pub mod upload;

use std::sync::Arc;

use actix_web::{
    middleware::{ErrorHandlers, from_fn},
    web,
};

use crate::{app::Context, config::Settings, redis::RedisHandle, storage::Storage};

/// Everything handlers share, built once at startup.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub storage: Arc<dyn Storage>,
    pub redis: Option<RedisHandle>,
    pub metrics: observe::Metrics,
    /// This instance's live feed sockets.
    pub hub: crate::realtime::hub::HubHandle,
    /// The use cases' ports and policies.
    pub ctx: Context,
}

/// Registers every route, the middleware stack and the fallbacks on an `App`.
pub fn app(
    state: web::Data<AppState>,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let limit = state.settings.body_limit_bytes;
    let cors = cors(&state.settings);
    actix_web::App::new()
        .app_data(state)
        .app_data(web::PayloadConfig::new(limit))
        .wrap(ErrorHandlers::new().default_handler(error::envelope_foreign_errors))
        .wrap(from_fn(limits::limit))
        .wrap(cors)
        .wrap(from_fn(browser::protect))
        .wrap(from_fn(observe::observe))
        .configure(routes::ops::config)
        .configure(routes::media::config_files)
        .service(openapi::docs_page())
        .service(
            web::scope("/api/v1")
                .configure(routes::stores::config)
                .configure(routes::auth::config)
                .configure(routes::customers::config)
                .configure(routes::catalog::config)
                .configure(routes::catalog_admin::config)
                .configure(routes::shop::config)
                .configure(routes::orders_admin::config)
                .configure(routes::media::config_api)
                .configure(routes::staff::config)
                .configure(routes::payments::config)
                .configure(routes::live::config)
                .configure(routes::webhooks::config)
                .configure(routes::platform::config)
                .configure(openapi::config),
        )
        .default_service(web::to(routes::storefront::serve))
}

/// Cross-origin access: only the configured origins (none by default), with credentials so the
/// refresh cookie works for an admin app served from another origin.
fn cors(settings: &Settings) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            "authorization",
            "content-type",
            "idempotency-key",
            "x-cart-token",
            "x-order-token",
            "x-request-id",
            routes::auth::CSRF_HEADER,
        ])
        .expose_headers([
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "retry-after",
            "x-request-id",
            "idempotent-replayed",
        ])
        .supports_credentials()
        .max_age(600);
    for origin in settings.cors_origins() {
        cors = cors.allowed_origin(&origin);
    }
    cors
}

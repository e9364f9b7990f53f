//! Customer accounts of a store: `POST /api/v1/stores/{store}/customers` (register),
//! `GET/PATCH …/customers/me`, and saved addresses under `…/customers/me/addresses`; for the
//! store's staff (`customers.read`), `GET /api/v1/admin/stores/{store}/customers` and
//! `…/customers/{customer}`.

use actix_web::{HttpResponse, http::StatusCode, web};
use serde_json::json;
use techverse_shared::{AddressId, AddressView, CustomerId, ErrorCode, Permission};

use crate::{
    app::{
        accounts::Realm,
        customers::{self, CustomerError, CustomerListParams, ProfilePatch, RegisterInput},
    },
    domain::{account::Customer, address::AddressInput},
    http::{
        AppState,
        auth::{CustomerAuth, StoreStaff},
        error::ApiError,
        json::JsonBody,
        routes::auth::issue,
        tenant::CurrentStore,
    },
};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/stores/{store}/customers").route(web::get().to(list)))
        .service(
            web::resource("/admin/stores/{store}/customers/{customer}")
                .route(web::get().to(detail)),
        )
        .service(web::resource("/stores/{store}/customers").route(web::post().to(register)))
        .service(
            web::resource("/stores/{store}/customers/me")
                .route(web::get().to(me))
                .route(web::patch().to(update_me)),
        )
        .service(
            web::resource("/stores/{store}/customers/me/addresses")
                .route(web::get().to(list_addresses))
                .route(web::post().to(add_address)),
        )
        .service(
            web::resource("/stores/{store}/customers/me/addresses/{address}")
                .route(web::get().to(get_address))
                .route(web::put().to(replace_address))
                .route(web::delete().to(remove_address)),
        );
}

async fn register(
    state: web::Data<AppState>,
    CurrentStore(store): CurrentStore,
    JsonBody(input): JsonBody<RegisterInput>,
) -> Result<HttpResponse, ApiError> {
    let (customer, tokens) = customers::register(&state.ctx, &store, &input).await?;
    let extra = json!({ "customer": customer.view() });
    Ok(issue(
        &state,
        &Realm::Customers(Box::new(store)),
        tokens,
        input.cookie,
        StatusCode::CREATED,
        Some(extra),
    ))
}

async fn list(
    state: web::Data<AppState>,
    staff: StoreStaff,
    params: web::Query<CustomerListParams>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::CustomersRead)?;
    Ok(HttpResponse::Ok().json(customers::list(&state.ctx, &staff.store, &params).await?))
}

async fn detail(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::CustomersRead)?;
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such customer");
    let id: CustomerId = path.1.parse().map_err(|_| not_found())?;
    let detail = customers::detail(&state.ctx, &staff.store, id).await?;
    Ok(HttpResponse::Ok().json(detail.ok_or_else(not_found)?))
}

async fn me(auth: CustomerAuth) -> HttpResponse {
    HttpResponse::Ok().json(auth.customer.view())
}

async fn update_me(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    JsonBody(patch): JsonBody<ProfilePatch>,
) -> Result<HttpResponse, ApiError> {
    let customer = customers::update_profile(&state.ctx, auth.customer, &patch).await?;
    Ok(HttpResponse::Ok().json(customer.view()))
}

fn address_views(customer: &Customer) -> Vec<AddressView> {
    customer.addresses.iter().map(|a| a.view()).collect()
}

fn address_view(customer: &Customer, id: AddressId) -> Result<AddressView, ApiError> {
    customer
        .addresses
        .iter()
        .find(|a| a.id == id)
        .map(|a| a.view())
        .ok_or_else(|| CustomerError::AddressNotFound.into())
}

/// The `{address}` path segment; anything that is not an address id finds nothing.
fn address_id(raw: &str) -> Result<AddressId, ApiError> {
    raw.parse()
        .map_err(|_| CustomerError::AddressNotFound.into())
}

async fn list_addresses(auth: CustomerAuth) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "items": address_views(&auth.customer) }))
}

async fn add_address(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    JsonBody(input): JsonBody<AddressInput>,
) -> Result<HttpResponse, ApiError> {
    let (customer, id) = customers::add_address(&state.ctx, auth.customer, &input).await?;
    Ok(HttpResponse::Created().json(address_view(&customer, id)?))
}

async fn get_address(
    auth: CustomerAuth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = address_id(&path.1)?;
    Ok(HttpResponse::Ok().json(address_view(&auth.customer, id)?))
}

async fn replace_address(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<(String, String)>,
    JsonBody(input): JsonBody<AddressInput>,
) -> Result<HttpResponse, ApiError> {
    let id = address_id(&path.1)?;
    let customer = customers::replace_address(&state.ctx, auth.customer, id, &input).await?;
    Ok(HttpResponse::Ok().json(address_view(&customer, id)?))
}

async fn remove_address(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = address_id(&path.1)?;
    customers::remove_address(&state.ctx, auth.customer, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

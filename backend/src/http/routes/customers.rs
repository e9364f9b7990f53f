//! Customer accounts of a store: `POST /api/v1/stores/{store}/customers` (register),
//! `GET/PATCH …/customers/me`, and saved addresses under `…/customers/me/addresses`; for the
//! store's staff (`customers.read`), `GET /api/v1/admin/stores/{store}/customers` and
//! `…/customers/{customer}`.

use actix_web::{HttpResponse, http::StatusCode, web};
use serde_json::json;
use techverse_shared::{
    AddressId, AddressView, ApiErrorBody, CustomerDetail, CustomerId, CustomerPage, CustomerView,
    ErrorCode, Permission,
};

use crate::{
    app::{
        accounts::Realm,
        customers::{self, CustomerError, CustomerListParams, ProfilePatch, RegisterInput},
    },
    domain::{account::Customer, address::AddressInput},
    http::routes::table::resource,
    http::{
        AppState,
        auth::{CustomerAuth, StoreStaff},
        error::ApiError,
        json::JsonBody,
        openapi::{Items, StorePath},
        routes::auth::issue,
        tenant::CurrentStore,
    },
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    detail,
    register,
    me,
    update_me,
    list_addresses,
    add_address,
    get_address,
    replace_address,
    remove_address
))]
pub struct Doc;

/// `201` to a registration: the customer and a session.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct Registered {
    customer: CustomerView,
    session: techverse_shared::TokenResponse,
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/admin/stores/{store}/customers").get(list))
        .service(resource("/admin/stores/{store}/customers/{customer}").get(detail))
        .service(resource("/stores/{store}/customers").post(register))
        .service(
            resource("/stores/{store}/customers/me")
                .get(me)
                .patch(update_me),
        )
        .service(
            resource("/stores/{store}/customers/me/addresses")
                .get(list_addresses)
                .post(add_address),
        )
        .service(
            resource("/stores/{store}/customers/me/addresses/{address}")
                .get(get_address)
                .put(replace_address)
                .delete(remove_address),
        );
}

/// Opens a customer account in this store and signs in.
#[utoipa::path(
    post,
    path = "/stores/{store}/customers",
    tag = "customers",
    params(StorePath),
    request_body = RegisterInput,
    responses(
        (status = 201, description = "The customer and a session.", body = Registered),
        (status = 409, description = "The email has an account in this store (`email_taken`).", body = ApiErrorBody),
    ),
)]
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

/// A page of the store's customers by email (`customers.read`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/customers",
    tag = "admin-customers",
    params(StorePath, CustomerListParams),
    security(("staff" = [])),
    responses(
        (status = 200, description = "A page of customers.", body = CustomerPage),
    ),
)]
async fn list(
    state: web::Data<AppState>,
    staff: StoreStaff,
    params: web::Query<CustomerListParams>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::CustomersRead)?;
    Ok(HttpResponse::Ok().json(customers::list(&state.ctx, &staff.store, &params).await?))
}

/// One customer with their addresses and orders (`customers.read`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/customers/{customer}",
    tag = "admin-customers",
    params(StorePath, ("customer" = String, Path, description = "The customer id.")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The customer.", body = CustomerDetail),
    ),
)]
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

/// The signed-in customer.
#[utoipa::path(
    get,
    path = "/stores/{store}/customers/me",
    tag = "customers",
    params(StorePath),
    security(("customer" = [])),
    responses(
        (status = 200, description = "The customer.", body = CustomerView),
    ),
)]
async fn me(auth: CustomerAuth) -> HttpResponse {
    HttpResponse::Ok().json(auth.customer.view())
}

/// Changes the signed-in customer's name or phone.
#[utoipa::path(
    patch,
    path = "/stores/{store}/customers/me",
    tag = "customers",
    params(StorePath),
    request_body = ProfilePatch,
    security(("customer" = [])),
    responses(
        (status = 200, description = "The customer after the change.", body = CustomerView),
    ),
)]
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

/// The customer's saved addresses.
#[utoipa::path(
    get,
    path = "/stores/{store}/customers/me/addresses",
    tag = "customers",
    params(StorePath),
    security(("customer" = [])),
    responses(
        (status = 200, description = "The addresses.", body = Items<AddressView>),
    ),
)]
async fn list_addresses(auth: CustomerAuth) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "items": address_views(&auth.customer) }))
}

/// Saves a new address.
#[utoipa::path(
    post,
    path = "/stores/{store}/customers/me/addresses",
    tag = "customers",
    params(StorePath),
    request_body = AddressInput,
    security(("customer" = [])),
    responses(
        (status = 201, description = "The saved address.", body = AddressView),
    ),
)]
async fn add_address(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    JsonBody(input): JsonBody<AddressInput>,
) -> Result<HttpResponse, ApiError> {
    let (customer, id) = customers::add_address(&state.ctx, auth.customer, &input).await?;
    Ok(HttpResponse::Created().json(address_view(&customer, id)?))
}

/// One saved address.
#[utoipa::path(
    get,
    path = "/stores/{store}/customers/me/addresses/{address}",
    tag = "customers",
    params(StorePath, ("address" = String, Path, description = "The address id.")),
    security(("customer" = [])),
    responses(
        (status = 200, description = "The address.", body = AddressView),
    ),
)]
async fn get_address(
    auth: CustomerAuth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = address_id(&path.1)?;
    Ok(HttpResponse::Ok().json(address_view(&auth.customer, id)?))
}

/// Replaces a saved address.
#[utoipa::path(
    put,
    path = "/stores/{store}/customers/me/addresses/{address}",
    tag = "customers",
    params(StorePath, ("address" = String, Path, description = "The address id.")),
    request_body = AddressInput,
    security(("customer" = [])),
    responses(
        (status = 200, description = "The address after the change.", body = AddressView),
    ),
)]
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

/// Removes a saved address.
#[utoipa::path(
    delete,
    path = "/stores/{store}/customers/me/addresses/{address}",
    tag = "customers",
    params(StorePath, ("address" = String, Path, description = "The address id.")),
    security(("customer" = [])),
    responses(
        (status = 204, description = "The address is removed."),
    ),
)]
async fn remove_address(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = address_id(&path.1)?;
    customers::remove_address(&state.ctx, auth.customer, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

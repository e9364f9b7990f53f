//! The shopper's side of checkout (`/api/v1/stores/{store}/…`): carts, shipping methods,
//! checkout, order lookup, a customer's orders, and product reviews. Guests send their cart
//! token as `X-Cart-Token` and an order token as `X-Order-Token`; signed-in customers their
//! bearer token.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use techverse_shared::{CartId, CartLineId, CountryCode, OrderId, ShippingMethodId, VariantId};

use crate::{
    app::{
        carts, checkout,
        commerce::{CommerceError, Destination},
        orders::{self, ListParams},
        reviews,
    },
    domain::review::ReviewInput,
    http::{
        AppState,
        auth::{CustomerAuth, Shopper},
        error::ApiError,
        json::JsonBody,
    },
};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/stores/{store}/carts").route(web::post().to(open_cart)))
        .service(web::resource("/stores/{store}/carts/{cart}").route(web::get().to(get_cart)))
        .service(
            web::resource("/stores/{store}/carts/{cart}/lines").route(web::post().to(add_line)),
        )
        .service(
            web::resource("/stores/{store}/carts/{cart}/lines/{line}")
                .route(web::patch().to(set_quantity))
                .route(web::delete().to(remove_line)),
        )
        .service(
            web::resource("/stores/{store}/carts/{cart}/discount")
                .route(web::post().to(apply_discount))
                .route(web::delete().to(remove_discount)),
        )
        .service(
            web::resource("/stores/{store}/carts/{cart}/shipping-methods")
                .route(web::get().to(shipping_methods)),
        )
        .service(web::resource("/stores/{store}/checkout").route(web::post().to(place)))
        .service(web::resource("/stores/{store}/orders/{order}").route(web::get().to(lookup)))
        .service(
            web::resource("/stores/{store}/customers/me/orders").route(web::get().to(my_orders)),
        )
        .service(
            web::resource("/stores/{store}/customers/me/orders/{order}")
                .route(web::get().to(my_order)),
        )
        .service(
            web::resource("/stores/{store}/products/{slug}/reviews")
                .route(web::get().to(product_reviews))
                .route(web::post().to(write_review)),
        );
}

fn cart_id(raw: &str) -> Result<CartId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::from(CommerceError::CartNotFound))
}

fn line_id(raw: &str) -> Result<CartLineId, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::from(CommerceError::Cart(
            crate::domain::cart::CartError::NoSuchLine,
        ))
    })
}

fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::from(CommerceError::OrderNotFound))
}

async fn open_cart(state: web::Data<AppState>, shopper: Shopper) -> Result<HttpResponse, ApiError> {
    let (cart, created) = carts::open(&state.ctx, &shopper.store, &shopper.cart_access()).await?;
    Ok(if created {
        HttpResponse::Created().json(cart)
    } else {
        HttpResponse::Ok().json(cart)
    })
}

/// Optional destination for estimating shipping and tax in the cart's totals.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DestinationParams {
    country: Option<String>,
    region: Option<String>,
    shipping_method_id: Option<ShippingMethodId>,
}

fn destination(params: &DestinationParams) -> Result<Option<Destination>, ApiError> {
    let Some(country) = &params.country else {
        return Ok(None);
    };
    let country = CountryCode::parse(country).map_err(|_| {
        let mut errors = crate::domain::validation::ValidationErrors::default();
        errors.add("country", "unknown_country", "an ISO 3166 country code");
        ApiError::from(errors)
    })?;
    Ok(Some(Destination {
        country,
        region: params.region.clone().filter(|r| !r.trim().is_empty()),
        method: params.shipping_method_id,
    }))
}

async fn get_cart(
    state: web::Data<AppState>,
    shopper: Shopper,
    path: web::Path<(String, String)>,
    params: web::Query<DestinationParams>,
) -> Result<HttpResponse, ApiError> {
    let id = cart_id(&path.1)?;
    let destination = destination(&params)?;
    let cart = carts::load(&state.ctx, &shopper.store, &shopper.cart_access(), id).await?;
    let view = carts::view(&state.ctx, &shopper.store, cart, destination.as_ref()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A line to add. Unknown fields (a price, say) are ignored: the catalogue prices lines.
#[derive(Debug, Deserialize)]
struct LineBody {
    variant_id: VariantId,
    quantity: i64,
}

async fn add_line(
    state: web::Data<AppState>,
    shopper: Shopper,
    path: web::Path<(String, String)>,
    JsonBody(body): JsonBody<LineBody>,
) -> Result<HttpResponse, ApiError> {
    let view = carts::add_line(
        &state.ctx,
        &shopper.store,
        &shopper.cart_access(),
        cart_id(&path.1)?,
        body.variant_id,
        body.quantity,
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
struct QuantityBody {
    quantity: i64,
}

async fn set_quantity(
    state: web::Data<AppState>,
    shopper: Shopper,
    path: web::Path<(String, String, String)>,
    JsonBody(body): JsonBody<QuantityBody>,
) -> Result<HttpResponse, ApiError> {
    let view = carts::set_quantity(
        &state.ctx,
        &shopper.store,
        &shopper.cart_access(),
        cart_id(&path.1)?,
        line_id(&path.2)?,
        body.quantity,
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn remove_line(
    state: web::Data<AppState>,
    shopper: Shopper,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let view = carts::remove_line(
        &state.ctx,
        &shopper.store,
        &shopper.cart_access(),
        cart_id(&path.1)?,
        line_id(&path.2)?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    code: String,
}

async fn apply_discount(
    state: web::Data<AppState>,
    shopper: Shopper,
    path: web::Path<(String, String)>,
    JsonBody(body): JsonBody<CodeBody>,
) -> Result<HttpResponse, ApiError> {
    let view = carts::apply_discount(
        &state.ctx,
        &shopper.store,
        &shopper.cart_access(),
        cart_id(&path.1)?,
        &body.code,
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn remove_discount(
    state: web::Data<AppState>,
    shopper: Shopper,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let view = carts::remove_discount(
        &state.ctx,
        &shopper.store,
        &shopper.cart_access(),
        cart_id(&path.1)?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn shipping_methods(
    state: web::Data<AppState>,
    shopper: Shopper,
    path: web::Path<(String, String)>,
    params: web::Query<DestinationParams>,
) -> Result<HttpResponse, ApiError> {
    let Some(destination) = destination(&params)? else {
        let mut errors = crate::domain::validation::ValidationErrors::default();
        errors.add("country", "required", "the destination country");
        return Err(errors.into());
    };
    let methods = carts::shipping_methods(
        &state.ctx,
        &shopper.store,
        &shopper.cart_access(),
        cart_id(&path.1)?,
        &destination,
    )
    .await?;
    Ok(HttpResponse::Ok().json(methods))
}

async fn place(
    req: HttpRequest,
    state: web::Data<AppState>,
    shopper: Shopper,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let key = checkout::parse_key(
        req.headers()
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok()),
    )?;
    let request = checkout::CheckoutRequest::parse(&body)?;
    let ip = crate::http::limits::client_ip(&req, &state.settings);
    let access = shopper.cart_access();
    let buyer = checkout::Buyer {
        access: &access,
        key: &key,
        client_ip: Some(&ip),
    };
    let (order, created) = checkout::checkout(&state.ctx, &shopper.store, &buyer, &request).await?;
    let mut response = HttpResponse::Created();
    if !created {
        response.insert_header(("idempotent-replayed", "true"));
    }
    Ok(response.json(order))
}

async fn lookup(
    state: web::Data<AppState>,
    shopper: Shopper,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let order = checkout::lookup(
        &state.ctx,
        &shopper.store,
        order_id(&path.1)?,
        shopper.customer.as_ref().map(|c| c.id),
        shopper.order_token.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(order))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageParams {
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn my_orders(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let params = ListParams {
        cursor: params.cursor.clone(),
        limit: params.limit,
        ..ListParams::default()
    };
    let page = orders::list(&state.ctx, &auth.store, &params, Some(auth.customer.id)).await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn my_order(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let order = checkout::lookup(
        &state.ctx,
        &auth.store,
        order_id(&path.1)?,
        Some(auth.customer.id),
        None,
    )
    .await?;
    Ok(HttpResponse::Ok().json(order))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewParams {
    cursor: Option<String>,
    limit: Option<usize>,
}

async fn product_reviews(
    state: web::Data<AppState>,
    shopper: Shopper,
    path: web::Path<(String, String)>,
    params: web::Query<ReviewParams>,
) -> Result<HttpResponse, ApiError> {
    let offset = match params.cursor.as_deref() {
        None => 0,
        Some(raw) => raw.parse().map_err(|_| {
            let mut errors = crate::domain::validation::ValidationErrors::default();
            errors.add("cursor", "invalid_cursor", "not a cursor from this list");
            ApiError::from(errors)
        })?,
    };
    let limit = params.limit.unwrap_or(20).clamp(1, 100);
    let page = reviews::public(&state.ctx, &shopper.store, &path.1, offset, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn write_review(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<(String, String)>,
    JsonBody(input): JsonBody<ReviewInput>,
) -> Result<HttpResponse, ApiError> {
    let review = reviews::write(&state.ctx, &auth.store, &auth.customer, &path.1, &input).await?;
    Ok(HttpResponse::Created().json(review))
}

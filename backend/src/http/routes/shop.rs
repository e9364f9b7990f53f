//! The shopper's side of checkout (`/api/v1/stores/{store}/…`): carts, shipping methods,
//! checkout, order lookup, a customer's orders, and product reviews. Guests send their cart
//! token as `X-Cart-Token` and an order token as `X-Order-Token`; signed-in customers their
//! bearer token.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use techverse_shared::{
    ApiErrorBody, CartId, CartLineId, CartView, CountryCode, OrderId, OrderPage, OrderView,
    ReviewPage, ReviewView, ShippingMethodId, ShippingMethodView, VariantId,
};

use crate::{
    app::{
        carts,
        checkout::{self, CheckoutInput},
        commerce::{CommerceError, Destination},
        orders::{self, ListParams},
        reviews,
    },
    domain::review::ReviewInput,
    http::routes::table::resource,
    http::{
        AppState,
        auth::{CustomerAuth, Shopper},
        error::ApiError,
        json::JsonBody,
        openapi::{IdempotencyKey, StorePath},
    },
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    open_cart,
    get_cart,
    add_line,
    set_quantity,
    remove_line,
    apply_discount,
    remove_discount,
    shipping_methods,
    place,
    lookup,
    my_orders,
    my_order,
    product_reviews,
    write_review
))]
pub struct Doc;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/stores/{store}/carts").post(open_cart))
        .service(resource("/stores/{store}/carts/{cart}").get(get_cart))
        .service(resource("/stores/{store}/carts/{cart}/lines").post(add_line))
        .service(
            resource("/stores/{store}/carts/{cart}/lines/{line}")
                .patch(set_quantity)
                .delete(remove_line),
        )
        .service(
            resource("/stores/{store}/carts/{cart}/discount")
                .post(apply_discount)
                .delete(remove_discount),
        )
        .service(resource("/stores/{store}/carts/{cart}/shipping-methods").get(shipping_methods))
        .service(resource("/stores/{store}/checkout").post(place))
        .service(resource("/stores/{store}/orders/{order}").get(lookup))
        .service(resource("/stores/{store}/customers/me/orders").get(my_orders))
        .service(resource("/stores/{store}/customers/me/orders/{order}").get(my_order))
        .service(
            resource("/stores/{store}/products/{slug}/reviews")
                .get(product_reviews)
                .post(write_review),
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

/// Opens a cart: a guest gets a new cart and its token; a signed-in customer gets their open cart.
#[utoipa::path(
    post,
    path = "/stores/{store}/carts",
    tag = "checkout",
    params(StorePath),
    security((), ("cart_token" = []), ("customer" = [])),
    responses(
        (status = 201, description = "A new cart (with `token` for a guest).", body = CartView),
        (status = 200, description = "The customer's open cart.", body = CartView),
    ),
)]
async fn open_cart(state: web::Data<AppState>, shopper: Shopper) -> Result<HttpResponse, ApiError> {
    let (cart, created) = carts::open(&state.ctx, &shopper.store, &shopper.cart_access()).await?;
    Ok(if created {
        HttpResponse::Created().json(cart)
    } else {
        HttpResponse::Ok().json(cart)
    })
}

/// Optional destination for estimating shipping and tax in the cart's totals.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DestinationParams {
    /// ISO 3166-1 alpha-2.
    #[param(pattern = "^[A-Za-z]{2}$")]
    country: Option<String>,
    region: Option<String>,
    #[param(value_type = Option<String>, format = Uuid)]
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

/// A cart, priced now; with a destination, shipping and tax are estimated.
#[utoipa::path(
    get,
    path = "/stores/{store}/carts/{cart}",
    tag = "checkout",
    params(StorePath, ("cart" = String, Path, description = "The cart id."), DestinationParams),
    security((), ("cart_token" = []), ("customer" = [])),
    responses(
        (status = 200, description = "The cart with its lines, totals and warnings.", body = CartView),
    ),
)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct LineBody {
    variant_id: VariantId,
    quantity: i64,
}

/// Adds units of a variant (priced by the catalogue).
#[utoipa::path(
    post,
    path = "/stores/{store}/carts/{cart}/lines",
    tag = "checkout",
    params(StorePath, ("cart" = String, Path, description = "The cart id.")),
    request_body = LineBody,
    security((), ("cart_token" = []), ("customer" = [])),
    responses(
        (status = 200, description = "The cart with its lines, totals and warnings.", body = CartView),
    ),
)]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct QuantityBody {
    quantity: i64,
}

/// Sets a line's quantity (0 removes it).
#[utoipa::path(
    patch,
    path = "/stores/{store}/carts/{cart}/lines/{line}",
    tag = "checkout",
    params(StorePath, ("cart" = String, Path, description = "The cart id."), ("line" = String, Path, description = "The cart line id.")),
    request_body = QuantityBody,
    security((), ("cart_token" = []), ("customer" = [])),
    responses(
        (status = 200, description = "The cart with its lines, totals and warnings.", body = CartView),
    ),
)]
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

/// Removes a line.
#[utoipa::path(
    delete,
    path = "/stores/{store}/carts/{cart}/lines/{line}",
    tag = "checkout",
    params(StorePath, ("cart" = String, Path, description = "The cart id."), ("line" = String, Path, description = "The cart line id.")),
    security((), ("cart_token" = []), ("customer" = [])),
    responses(
        (status = 200, description = "The cart with its lines, totals and warnings.", body = CartView),
    ),
)]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    code: String,
}

/// Applies a discount code.
#[utoipa::path(
    post,
    path = "/stores/{store}/carts/{cart}/discount",
    tag = "checkout",
    params(StorePath, ("cart" = String, Path, description = "The cart id.")),
    request_body = CodeBody,
    security((), ("cart_token" = []), ("customer" = [])),
    responses(
        (status = 200, description = "The cart with its lines, totals and warnings.", body = CartView),
    ),
)]
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

/// Removes the discount code.
#[utoipa::path(
    delete,
    path = "/stores/{store}/carts/{cart}/discount",
    tag = "checkout",
    params(StorePath, ("cart" = String, Path, description = "The cart id.")),
    security((), ("cart_token" = []), ("customer" = [])),
    responses(
        (status = 200, description = "The cart with its lines, totals and warnings.", body = CartView),
    ),
)]
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

/// The shipping methods serving a destination, priced for this cart.
#[utoipa::path(
    get,
    path = "/stores/{store}/carts/{cart}/shipping-methods",
    tag = "checkout",
    params(StorePath, ("cart" = String, Path, description = "The cart id."), DestinationParams),
    security((), ("cart_token" = []), ("customer" = [])),
    responses(
        (status = 200, description = "The methods, cheapest first.", body = Vec<ShippingMethodView>),
    ),
)]
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

/// Places an order from a cart: prices it, reserves its stock and returns the order (and, for a guest, its token). Needs an `Idempotency-Key`: a retry with the same key and body returns the same order.
#[utoipa::path(
    post,
    path = "/stores/{store}/checkout",
    tag = "checkout",
    params(StorePath, IdempotencyKey),
    request_body = CheckoutInput,
    security((), ("cart_token" = []), ("customer" = [])),
    responses(
        (status = 201, description = "The order (a replay carries `Idempotent-Replayed: true`).", body = OrderView, headers(("Idempotent-Replayed" = String, description = "`true` when this answer is the replay of an earlier request with the same key."))),
        (status = 409, description = "Stock ran out, or the same key is in flight (`out_of_stock`, `idempotency_key_in_flight`, `conflict`).", body = ApiErrorBody),
    ),
)]
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

/// An order, for its customer or the holder of its order token.
#[utoipa::path(
    get,
    path = "/stores/{store}/orders/{order}",
    tag = "checkout",
    params(StorePath, ("order" = String, Path, description = "The order id.")),
    security((), ("order_token" = []), ("customer" = [])),
    responses(
        (status = 200, description = "The order.", body = OrderView),
    ),
)]
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PageParams {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<u32>,
}

/// The signed-in customer's orders, newest first.
#[utoipa::path(
    get,
    path = "/stores/{store}/customers/me/orders",
    tag = "customers",
    params(StorePath, PageParams),
    security(("customer" = [])),
    responses(
        (status = 200, description = "A page of orders.", body = OrderPage),
    ),
)]
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

/// One of the signed-in customer's orders.
#[utoipa::path(
    get,
    path = "/stores/{store}/customers/me/orders/{order}",
    tag = "customers",
    params(StorePath, ("order" = String, Path, description = "The order id.")),
    security(("customer" = [])),
    responses(
        (status = 200, description = "The order.", body = OrderView),
    ),
)]
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ReviewParams {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<usize>,
}

/// Approved reviews of a product, newest first, with the rating summary.
#[utoipa::path(
    get,
    path = "/stores/{store}/products/{slug}/reviews",
    tag = "storefront",
    params(StorePath, ("slug" = String, Path, description = "The product's slug."), ReviewParams),
    responses(
        (status = 200, description = "A page of reviews.", body = ReviewPage),
    ),
)]
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

/// Reviews a product (once per customer); it shows once approved.
#[utoipa::path(
    post,
    path = "/stores/{store}/products/{slug}/reviews",
    tag = "customers",
    params(StorePath, ("slug" = String, Path, description = "The product's slug.")),
    request_body = ReviewInput,
    security(("customer" = [])),
    responses(
        (status = 201, description = "The review, pending moderation.", body = ReviewView),
        (status = 409, description = "Already reviewed (`already_reviewed`).", body = ApiErrorBody),
    ),
)]
async fn write_review(
    state: web::Data<AppState>,
    auth: CustomerAuth,
    path: web::Path<(String, String)>,
    JsonBody(input): JsonBody<ReviewInput>,
) -> Result<HttpResponse, ApiError> {
    let review = reviews::write(&state.ctx, &auth.store, &auth.customer, &path.1, &input).await?;
    Ok(HttpResponse::Created().json(review))
}

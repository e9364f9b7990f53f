//! Card payments over HTTP: Stripe's webhook (raw body, verified before anything is parsed),
//! a store's Stripe onboarding and status (`settings.write` / any member), the payment
//! methods a shopper may choose, and a buyer starting or retrying payment of a card order.

use actix_web::{HttpRequest, HttpResponse, web};
use techverse_shared::{ApiErrorBody, ErrorCode, OrderId, OrderView, PaymentMethod, Permission};

use crate::{
    app::{
        checkout,
        commerce::CommerceError,
        payments::{self, WebhookError},
    },
    domain::payment::ConnectedAccount,
    http::routes::table::resource,
    http::{
        AppState,
        auth::{Shopper, StoreStaff},
        error::ApiError,
        openapi::StorePath,
    },
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(webhook, onboard, status, methods, pay))]
pub struct Doc;

/// The `Stripe-Signature` header.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct StripeSignature {
    /// `t=<unix time>,v1=<hex HMAC-SHA256>[,v1=…]`.
    #[param(rename = "Stripe-Signature")]
    signature: String,
}

/// `200` to a webhook.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Received {
    received: bool,
}

/// A store's Stripe account.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct StripeAccount {
    account_id: String,
    charges_enabled: bool,
    payouts_enabled: bool,
    /// What Stripe still needs from the merchant.
    requirements_due: Vec<String>,
}

/// The account and where to send the merchant.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Onboarding {
    #[serde(flatten)]
    account: StripeAccount,
    url: String,
}

/// `{methods}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Methods {
    methods: Vec<PaymentMethod>,
}

impl From<&ConnectedAccount> for StripeAccount {
    fn from(account: &ConnectedAccount) -> Self {
        Self {
            account_id: account.account_id.clone(),
            charges_enabled: account.charges_enabled,
            payouts_enabled: account.payouts_enabled,
            requirements_due: account.requirements_due.clone(),
        }
    }
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/payments/stripe/webhook").post(webhook))
        .service(resource("/admin/stores/{store}/payments/stripe/onboarding").post(onboard))
        .service(resource("/admin/stores/{store}/payments/stripe").get(status))
        .service(resource("/stores/{store}/payment-methods").get(methods))
        .service(resource("/stores/{store}/orders/{order}/payment").post(pay));
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::Signature(reason) => {
                Self::new(ErrorCode::InvalidSignature, reason.to_string())
            }
            WebhookError::Malformed(reason) => Self::new(ErrorCode::InvalidJson, reason),
            WebhookError::Commerce(error) => error.into(),
        }
    }
}

/// Stripe's signed events (payment intents, refunds, Connect accounts). The `Stripe-Signature` header must verify against one of the platform's webhook secrets; a replayed event changes nothing.
#[utoipa::path(
    post,
    path = "/payments/stripe/webhook",
    tag = "payments",
    params(StripeSignature),
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "The event is recorded.", body = Received),
    ),
)]
async fn webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    payments::receive(&state.ctx, &body, signature).await?;
    Ok(HttpResponse::Ok().json(Received { received: true }))
}

/// Starts or resumes Stripe Connect onboarding; the answer holds the Stripe page to send the merchant to (`settings.write`).
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/payments/stripe/onboarding",
    tag = "payments",
    params(StorePath),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The account and the onboarding link.", body = Onboarding),
        (status = 409, description = "The platform has no Stripe key (`payment_provider_not_configured`).", body = ApiErrorBody),
    ),
)]
async fn onboard(state: web::Data<AppState>, staff: StoreStaff) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::SettingsWrite)?;
    let onboarding = payments::onboard(&state.ctx, &staff.store, staff.actor()).await?;
    Ok(HttpResponse::Ok().json(Onboarding {
        account: StripeAccount::from(&onboarding.account),
        url: onboarding.url,
    }))
}

/// The store's Stripe account: whether it can take charges and pay out.
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/payments/stripe",
    tag = "payments",
    params(StorePath),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The account.", body = StripeAccount),
    ),
)]
async fn status(state: web::Data<AppState>, staff: StoreStaff) -> Result<HttpResponse, ApiError> {
    let account = payments::account_status(&state.ctx, &staff.store)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "the store has no Stripe account yet"))?;
    Ok(HttpResponse::Ok().json(StripeAccount::from(&account)))
}

/// The payment methods the store offers at checkout.
#[utoipa::path(
    get,
    path = "/stores/{store}/payment-methods",
    tag = "checkout",
    params(StorePath),
    responses(
        (status = 200, description = "The methods.", body = Methods),
    ),
)]
async fn methods(state: web::Data<AppState>, shopper: Shopper) -> Result<HttpResponse, ApiError> {
    let methods = payments::offered_methods(&state.ctx, &shopper.store).await?;
    Ok(HttpResponse::Ok().json(Methods { methods }))
}

/// Starts (or resumes) the card payment of an unpaid order; the order's `payment` holds the client secret for Stripe.js.
#[utoipa::path(
    post,
    path = "/stores/{store}/orders/{order}/payment",
    tag = "checkout",
    params(StorePath, ("order" = String, Path, description = "The order id.")),
    security((), ("order_token" = []), ("customer" = [])),
    responses(
        (status = 200, description = "The order with its payment.", body = OrderView),
        (status = 409, description = "The order cannot be paid now, or card payments are not set up (`invalid_transition`, `payment_provider_not_configured`).", body = ApiErrorBody),
    ),
)]
async fn pay(
    state: web::Data<AppState>,
    shopper: Shopper,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id: OrderId = path
        .1
        .parse()
        .map_err(|_| ApiError::from(CommerceError::OrderNotFound))?;
    let order = checkout::buyer_order(
        &state.ctx,
        &shopper.store,
        id,
        shopper.customer.as_ref().map(|c| c.id),
        shopper.order_token.as_deref(),
    )
    .await?;
    let view = payments::pay(&state.ctx, &shopper.store, &order).await?;
    Ok(HttpResponse::Ok().json(view))
}

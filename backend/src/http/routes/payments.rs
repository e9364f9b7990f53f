//! Card payments over HTTP: Stripe's webhook (raw body, verified before anything is parsed),
//! a store's Stripe onboarding and status (`settings.write` / any member), the payment
//! methods a shopper may choose, and a buyer starting or retrying payment of a card order.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use techverse_shared::{ErrorCode, OrderId, Permission};

use crate::{
    app::{
        checkout,
        commerce::CommerceError,
        payments::{self, WebhookError},
    },
    domain::payment::ConnectedAccount,
    http::{
        AppState,
        auth::{Shopper, StoreStaff},
        error::ApiError,
    },
};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/payments/stripe/webhook").route(web::post().to(webhook)))
        .service(
            web::resource("/admin/stores/{store}/payments/stripe/onboarding")
                .route(web::post().to(onboard)),
        )
        .service(
            web::resource("/admin/stores/{store}/payments/stripe").route(web::get().to(status)),
        )
        .service(web::resource("/stores/{store}/payment-methods").route(web::get().to(methods)))
        .service(
            web::resource("/stores/{store}/orders/{order}/payment").route(web::post().to(pay)),
        );
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
    Ok(HttpResponse::Ok().json(json!({ "received": true })))
}

fn account_json(account: &ConnectedAccount) -> serde_json::Value {
    json!({
        "account_id": account.account_id,
        "charges_enabled": account.charges_enabled,
        "payouts_enabled": account.payouts_enabled,
        "requirements_due": account.requirements_due,
    })
}

async fn onboard(state: web::Data<AppState>, staff: StoreStaff) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::SettingsWrite)?;
    let onboarding = payments::onboard(&state.ctx, &staff.store, staff.actor()).await?;
    let mut body = account_json(&onboarding.account);
    body["url"] = json!(onboarding.url);
    Ok(HttpResponse::Ok().json(body))
}

async fn status(state: web::Data<AppState>, staff: StoreStaff) -> Result<HttpResponse, ApiError> {
    let account = payments::account_status(&state.ctx, &staff.store)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "the store has no Stripe account yet"))?;
    Ok(HttpResponse::Ok().json(account_json(&account)))
}

async fn methods(state: web::Data<AppState>, shopper: Shopper) -> Result<HttpResponse, ApiError> {
    let methods = payments::offered_methods(&state.ctx, &shopper.store).await?;
    Ok(HttpResponse::Ok().json(json!({ "methods": methods })))
}

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

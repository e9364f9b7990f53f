//! Staff side of commerce (`/api/v1/admin/stores/{store}/…`): orders and their actions
//! (`orders.read`, `orders.write`, `orders.refund`), the dashboard's analytics (`orders.read`), discount codes (`discounts.write`), the
//! checkout settings (read by any member, changed with `settings.write`) and review
//! moderation (`products.write`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use techverse_shared::{
    DiscountId, ErrorCode, FulfilledLine, OrderId, Permission, ReviewId, ReviewStatus,
};

use crate::{
    app::{
        analytics,
        commerce::CommerceError,
        discounts,
        orders::{self, ListParams, StaffAction},
        payments, reviews,
    },
    domain::{
        analytics::WindowInput, discount::DiscountInput, review::Moderation,
        shipping::SettingsInput,
    },
    http::{AppState, auth::StoreStaff, error::ApiError, json::JsonBody},
};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/stores/{store}/orders").route(web::get().to(list)))
        .service(web::resource("/admin/stores/{store}/analytics").route(web::get().to(analytics)))
        .service(web::resource("/admin/stores/{store}/orders/{order}").route(web::get().to(get)))
        .service(
            web::resource("/admin/stores/{store}/orders/{order}/{action}")
                .route(web::post().to(act)),
        )
        .service(
            web::resource("/admin/stores/{store}/discounts")
                .route(web::get().to(list_discounts))
                .route(web::post().to(create_discount)),
        )
        .service(
            web::resource("/admin/stores/{store}/discounts/{discount}")
                .route(web::get().to(get_discount))
                .route(web::put().to(update_discount))
                .route(web::delete().to(delete_discount)),
        )
        .service(
            web::resource("/admin/stores/{store}/checkout-settings")
                .route(web::get().to(get_settings))
                .route(web::put().to(put_settings)),
        )
        .service(web::resource("/admin/stores/{store}/reviews").route(web::get().to(list_reviews)))
        .service(
            web::resource("/admin/stores/{store}/reviews/{review}/moderation")
                .route(web::post().to(moderate)),
        );
}

fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::from(CommerceError::OrderNotFound))
}

fn discount_id(raw: &str) -> Result<DiscountId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::from(CommerceError::DiscountNotFound))
}

async fn list(
    state: web::Data<AppState>,
    staff: StoreStaff,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::OrdersRead)?;
    let page = orders::list(&state.ctx, &staff.store, &params, None).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET …/analytics?from=&to=&interval=day|hour`: the dashboard's figures over local days of
/// the store's time zone (by default the last 30).
async fn analytics(
    state: web::Data<AppState>,
    staff: StoreStaff,
    params: web::Query<WindowInput>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::OrdersRead)?;
    let report = analytics::report(&state.ctx, &staff.store, &params).await?;
    Ok(HttpResponse::Ok().json(report))
}

async fn get(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::OrdersRead)?;
    let order = orders::get(&state.ctx, &staff.store, order_id(&path.1)?).await?;
    Ok(HttpResponse::Ok().json(payments::order_view(&state.ctx, &order, true).await?))
}

/// The body of an order action; which fields apply depends on the action.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    reason: Option<String>,
    lines: Option<Vec<FulfilledLine>>,
    carrier: Option<String>,
    tracking_number: Option<String>,
    amount: Option<i64>,
    restock: Option<Vec<FulfilledLine>>,
    text: Option<String>,
}

fn action(name: &str, body: ActionBody, key: Option<String>) -> Result<StaffAction, ApiError> {
    let required = |field: &str| {
        let mut errors = crate::domain::validation::ValidationErrors::default();
        errors.add(
            field,
            "required",
            format!("`{field}` is required for this action"),
        );
        ApiError::from(errors)
    };
    Ok(match name {
        "mark-paid" => StaffAction::MarkPaid {
            reason: body.reason,
        },
        "fulfilments" => StaffAction::Fulfil {
            lines: body.lines.ok_or_else(|| required("lines"))?,
            carrier: body.carrier,
            tracking_number: body.tracking_number,
        },
        "ship" => StaffAction::Ship,
        "deliver" => StaffAction::Deliver,
        "cancel" => StaffAction::Cancel {
            reason: body.reason,
        },
        "refunds" => StaffAction::Refund {
            amount: body.amount.ok_or_else(|| required("amount"))?,
            restock: body.restock.unwrap_or_default(),
            reason: body.reason,
            key,
        },
        "notes" => StaffAction::Note {
            text: body.text.ok_or_else(|| required("text"))?,
        },
        _ => return Err(ApiError::from_code(techverse_shared::ErrorCode::NotFound)),
    })
}

async fn act(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::OrdersRead)?;
    let id = order_id(&path.1)?;
    // Actions without fields (ship, deliver) may be sent without a body.
    let body: ActionBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActionBody::default()
    } else {
        crate::http::json::parse(&body)?
    };
    // Refunds accept an Idempotency-Key (the same key is the same refund).
    let key = match req.headers().get("idempotency-key") {
        Some(raw) => Some(crate::app::checkout::parse_key(raw.to_str().ok())?),
        None => None,
    };
    let action = action(&path.2, body, key)?;
    let order = orders::act(
        &state.ctx,
        &staff.store,
        staff.actor(),
        staff.user.id,
        &staff.permissions,
        id,
        &action,
    )
    .await?;
    Ok(HttpResponse::Ok().json(payments::order_view(&state.ctx, &order, true).await?))
}

async fn list_discounts(
    state: web::Data<AppState>,
    staff: StoreStaff,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::DiscountsWrite)?;
    let items = state
        .ctx
        .storage
        .commerce()
        .discounts(staff.store.id)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn create_discount(
    state: web::Data<AppState>,
    staff: StoreStaff,
    JsonBody(input): JsonBody<DiscountInput>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::DiscountsWrite)?;
    let discount = discounts::create(&state.ctx, &staff.store, staff.actor(), &input).await?;
    Ok(HttpResponse::Created().json(discount))
}

async fn get_discount(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::DiscountsWrite)?;
    let discount = discounts::get(&state.ctx, &staff.store, discount_id(&path.1)?).await?;
    Ok(HttpResponse::Ok().json(discount))
}

async fn update_discount(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
    JsonBody(input): JsonBody<DiscountInput>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::DiscountsWrite)?;
    let discount = discounts::update(
        &state.ctx,
        &staff.store,
        staff.actor(),
        discount_id(&path.1)?,
        &input,
    )
    .await?;
    Ok(HttpResponse::Ok().json(discount))
}

async fn delete_discount(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::DiscountsWrite)?;
    discounts::delete(
        &state.ctx,
        &staff.store,
        staff.actor(),
        discount_id(&path.1)?,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn get_settings(
    state: web::Data<AppState>,
    staff: StoreStaff,
) -> Result<HttpResponse, ApiError> {
    let settings = discounts::settings(&state.ctx, &staff.store).await?;
    Ok(HttpResponse::Ok().json(settings))
}

async fn put_settings(
    state: web::Data<AppState>,
    staff: StoreStaff,
    JsonBody(input): JsonBody<SettingsInput>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::SettingsWrite)?;
    let settings =
        discounts::save_settings(&state.ctx, &staff.store, staff.actor(), &input).await?;
    Ok(HttpResponse::Ok().json(settings))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewFilter {
    status: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn list_reviews(
    state: web::Data<AppState>,
    staff: StoreStaff,
    params: web::Query<ReviewFilter>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::ProductsRead)?;
    let status = match params.status.as_deref() {
        None => None,
        Some(raw) => Some(ReviewStatus::parse(raw).ok_or_else(|| {
            let mut errors = crate::domain::validation::ValidationErrors::default();
            errors.add(
                "status",
                "unknown_status",
                "pending, approved, rejected or hidden",
            );
            ApiError::from(errors)
        })?),
    };
    let offset = match params.cursor.as_deref() {
        None => 0,
        Some(raw) => raw.parse::<u64>().map_err(|_| {
            ApiError::new(ErrorCode::BadRequest, "cursor is not one this list gave")
        })?,
    };
    let limit = params.limit.unwrap_or(25).clamp(1, 100);
    let (items, next) =
        reviews::staff_list(&state.ctx, &staff.store, status, offset, limit).await?;
    Ok(HttpResponse::Ok().json(json!({
        "items": items,
        "next_cursor": next.map(|n| n.to_string()),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModerationBody {
    action: Moderation,
}

async fn moderate(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
    JsonBody(body): JsonBody<ModerationBody>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::ProductsWrite)?;
    let id: ReviewId = path
        .1
        .parse()
        .map_err(|_| ApiError::from(CommerceError::ReviewNotFound))?;
    let review =
        reviews::moderate(&state.ctx, &staff.store, staff.actor(), id, body.action).await?;
    Ok(HttpResponse::Ok().json(review))
}

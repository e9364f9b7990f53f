//! Staff side of commerce (`/api/v1/admin/stores/{store}/…`): orders and their actions
//! (`orders.read`, `orders.write`, `orders.refund`), the dashboard's analytics (`orders.read`), discount codes (`discounts.write`), the
//! checkout settings (read by any member, changed with `settings.write`) and review
//! moderation (`products.write`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use techverse_shared::{
    Analytics, ApiErrorBody, DiscountId, ErrorCode, FulfilledLine, OrderId, OrderPage, OrderView,
    Permission, ReviewId, ReviewStatus, ReviewView,
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
        analytics::WindowInput,
        discount::{Discount, DiscountInput},
        review::Moderation,
        shipping::{CheckoutSettings, SettingsInput},
    },
    http::routes::table::resource,
    http::{
        AppState,
        auth::StoreStaff,
        error::ApiError,
        json::JsonBody,
        openapi::{IdempotencyKey, Items, StorePath},
    },
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    analytics,
    get,
    act,
    list_discounts,
    create_discount,
    get_discount,
    update_discount,
    delete_discount,
    get_settings,
    put_settings,
    list_reviews,
    moderate
))]
pub struct Doc;

/// A page of the review queue.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct ReviewQueue {
    items: Vec<ReviewView>,
    next_cursor: Option<String>,
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/admin/stores/{store}/orders").get(list))
        .service(resource("/admin/stores/{store}/analytics").get(analytics))
        .service(resource("/admin/stores/{store}/orders/{order}").get(get))
        .service(resource("/admin/stores/{store}/orders/{order}/{action}").post(act))
        .service(
            resource("/admin/stores/{store}/discounts")
                .get(list_discounts)
                .post(create_discount),
        )
        .service(
            resource("/admin/stores/{store}/discounts/{discount}")
                .get(get_discount)
                .put(update_discount)
                .delete(delete_discount),
        )
        .service(
            resource("/admin/stores/{store}/checkout-settings")
                .get(get_settings)
                .put(put_settings),
        )
        .service(resource("/admin/stores/{store}/reviews").get(list_reviews))
        .service(resource("/admin/stores/{store}/reviews/{review}/moderation").post(moderate));
}

fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::from(CommerceError::OrderNotFound))
}

fn discount_id(raw: &str) -> Result<DiscountId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::from(CommerceError::DiscountNotFound))
}

/// The store's orders, newest first, with status, payment, customer and search filters (`orders.read`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/orders",
    tag = "admin-orders",
    params(StorePath, ListParams),
    security(("staff" = [])),
    responses(
        (status = 200, description = "A page of orders.", body = OrderPage),
    ),
)]
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
/// Sales, orders, refunds, top products and low stock over local days of the store's time zone (`orders.read`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/analytics",
    tag = "admin-orders",
    params(StorePath, WindowInput),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The figures.", body = Analytics),
    ),
)]
async fn analytics(
    state: web::Data<AppState>,
    staff: StoreStaff,
    params: web::Query<WindowInput>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::OrdersRead)?;
    let report = analytics::report(&state.ctx, &staff.store, &params).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// One order with lines, totals, addresses, payments and history (`orders.read`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/orders/{order}",
    tag = "admin-orders",
    params(StorePath, ("order" = String, Path, description = "The order id.")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The order.", body = OrderView),
    ),
)]
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
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
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

/// Moves an order as its state machine allows: `mark-paid` and `cancel` (`reason`), `fulfilments` (`lines`, `carrier`, `tracking_number`), `ship`, `deliver` (no body), `refunds` (`amount`, `restock`, `reason`; `orders.refund`; an `Idempotency-Key` makes it once), `notes` (`text`). Needs `orders.write`.
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/orders/{order}/{action}",
    tag = "admin-orders",
    params(StorePath, ("order" = String, Path, description = "The order id."), ("action" = String, Path, pattern = "^(mark-paid|fulfilments|ship|deliver|cancel|refunds|notes)$", description = "The action."), IdempotencyKey),
    request_body = Option<ActionBody>,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The order.", body = OrderView),
        (status = 409, description = "The order cannot make this move now (`invalid_transition`).", body = ApiErrorBody),
    ),
)]
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

/// The store's discount codes (`discounts.write`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/discounts",
    tag = "admin-orders",
    params(StorePath),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The discounts.", body = Items<Discount>),
    ),
)]
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

/// Creates a discount code (`discounts.write`).
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/discounts",
    tag = "admin-orders",
    params(StorePath),
    request_body = DiscountInput,
    security(("staff" = [])),
    responses(
        (status = 201, description = "The discount.", body = Discount),
        (status = 409, description = "The code is taken (`conflict`).", body = ApiErrorBody),
    ),
)]
async fn create_discount(
    state: web::Data<AppState>,
    staff: StoreStaff,
    JsonBody(input): JsonBody<DiscountInput>,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::DiscountsWrite)?;
    let discount = discounts::create(&state.ctx, &staff.store, staff.actor(), &input).await?;
    Ok(HttpResponse::Created().json(discount))
}

/// One discount (`discounts.write`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/discounts/{discount}",
    tag = "admin-orders",
    params(StorePath, ("discount" = String, Path, description = "The discount id.")),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The discount.", body = Discount),
    ),
)]
async fn get_discount(
    state: web::Data<AppState>,
    staff: StoreStaff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    staff.require(Permission::DiscountsWrite)?;
    let discount = discounts::get(&state.ctx, &staff.store, discount_id(&path.1)?).await?;
    Ok(HttpResponse::Ok().json(discount))
}

/// Replaces a discount (`discounts.write`).
#[utoipa::path(
    put,
    path = "/admin/stores/{store}/discounts/{discount}",
    tag = "admin-orders",
    params(StorePath, ("discount" = String, Path, description = "The discount id.")),
    request_body = DiscountInput,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The discount.", body = Discount),
        (status = 409, description = "The code is taken (`conflict`).", body = ApiErrorBody),
    ),
)]
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

/// Deletes a discount (`discounts.write`).
#[utoipa::path(
    delete,
    path = "/admin/stores/{store}/discounts/{discount}",
    tag = "admin-orders",
    params(StorePath, ("discount" = String, Path, description = "The discount id.")),
    security(("staff" = [])),
    responses(
        (status = 204, description = "The discount is deleted."),
    ),
)]
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

/// The checkout settings: zones, tax, shipping methods, payment methods, reservation minutes.
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/checkout-settings",
    tag = "admin-orders",
    params(StorePath),
    security(("staff" = [])),
    responses(
        (status = 200, description = "The settings.", body = CheckoutSettings),
    ),
)]
async fn get_settings(
    state: web::Data<AppState>,
    staff: StoreStaff,
) -> Result<HttpResponse, ApiError> {
    let settings = discounts::settings(&state.ctx, &staff.store).await?;
    Ok(HttpResponse::Ok().json(settings))
}

/// Replaces the checkout settings (`settings.write`); `version` guards against a concurrent change.
#[utoipa::path(
    put,
    path = "/admin/stores/{store}/checkout-settings",
    tag = "admin-orders",
    params(StorePath),
    request_body = SettingsInput,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The settings.", body = CheckoutSettings),
        (status = 409, description = "Someone changed the settings since `version` (`conflict`).", body = ApiErrorBody),
    ),
)]
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ReviewFilter {
    #[param(pattern = "^(pending|approved|rejected|hidden)$")]
    status: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 25)]
    limit: Option<u32>,
}

/// The review queue, by status (`products.read`).
#[utoipa::path(
    get,
    path = "/admin/stores/{store}/reviews",
    tag = "admin-orders",
    params(StorePath, ReviewFilter),
    security(("staff" = [])),
    responses(
        (status = 200, description = "A page of reviews.", body = ReviewQueue),
    ),
)]
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
    Ok(HttpResponse::Ok().json(ReviewQueue {
        items,
        next_cursor: next.map(|n| n.to_string()),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ModerationBody {
    action: Moderation,
}

/// Approves, rejects or hides a review (`products.write`).
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/reviews/{review}/moderation",
    tag = "admin-orders",
    params(StorePath, ("review" = String, Path, description = "The review id.")),
    request_body = ModerationBody,
    security(("staff" = [])),
    responses(
        (status = 200, description = "The review.", body = ReviewView),
    ),
)]
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

//! Errors become HTTP here, and only here: one JSON envelope, stable codes, and nothing from
//! inside the server in a 5xx body.

use actix_web::{
    HttpResponse, ResponseError,
    body::{BoxBody, MessageBody},
    dev::ServiceResponse,
    http::{StatusCode, header},
    middleware::ErrorHandlerResponse,
};
use techverse_shared::{ApiError as ApiErrorDto, ApiErrorBody, ErrorCode};

use crate::{
    app::{
        accounts::SignupError, analytics::AnalyticsError, catalog::CatalogError,
        commerce::CommerceError, customers::CustomerError, sessions::AuthError, stores::StoreError,
        team::TeamError,
    },
    domain::{access::AccessError, validation::ValidationErrors},
    storage::StorageError,
};

/// An error on its way to the client (boxed: handlers return it in every `Result`).
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    code: ErrorCode,
    message: String,
    details: Option<serde_json::Value>,
    /// What went wrong inside, for the logs only.
    source: Option<anyhow::Error>,
    /// Seconds for `Retry-After` (429s).
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            code,
            message: message.into(),
            details: None,
            source: None,
            retry_after: None,
        }))
    }

    fn with_source(mut self, source: anyhow::Error) -> Self {
        self.0.source = Some(source);
        self
    }

    /// Sends `Retry-After: seconds` (at least 1) with the error.
    fn retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after = Some(seconds.max(1));
        self
    }

    /// A 429 telling the client when to come back.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::from_code(ErrorCode::RateLimited)
            .with_details(serde_json::json!({ "retry_after_secs": retry_after_secs }))
            .retry_after(retry_after_secs)
    }

    /// 503 with `Retry-After`: a bounded resource (password hashing, say) is full right now.
    pub fn overloaded(retry_after_secs: u64) -> Self {
        Self::new(
            ErrorCode::ServiceUnavailable,
            "the server is busy; retry after the time in Retry-After",
        )
        .with_details(serde_json::json!({ "retry_after_secs": retry_after_secs }))
        .retry_after(retry_after_secs)
    }

    /// An error carrying only its code's default message.
    pub fn from_code(code: ErrorCode) -> Self {
        Self::new(code, default_message(code))
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.0.details = Some(details);
        self
    }

    /// A 500 whose cause goes to the log and nowhere else.
    pub fn internal(source: anyhow::Error) -> Self {
        Self::from_code(ErrorCode::InternalError).with_source(source)
    }

    pub fn store_not_found() -> Self {
        Self::new(ErrorCode::StoreNotFound, "store not found")
    }

    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    pub fn body(&self) -> ApiErrorBody {
        ApiErrorBody {
            error: ApiErrorDto {
                code: self.0.code,
                message: self.0.message.clone(),
                details: self.0.details.clone(),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.code, self.0.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        if let Some(source) = &self.0.source {
            tracing::error!(error = ?source, code = %self.0.code, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        if matches!(
            self.0.code,
            ErrorCode::Unauthorized | ErrorCode::TokenExpired | ErrorCode::SessionRevoked
        ) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(seconds) = self.0.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(self.body())
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        Self::new(ErrorCode::ValidationFailed, "some fields are not valid")
            .with_details(serde_json::json!({ "fields": errors.0 }))
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Unavailable(source) => Self::from_code(ErrorCode::StorageUnavailable)
                .retry_after(1)
                .with_source(source),
            StorageError::SessionsUnavailable(source) => {
                Self::from_code(ErrorCode::ServiceUnavailable)
                    .retry_after(1)
                    .with_source(source)
            }
            other => Self::internal(other.into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Invalid(errors) => errors.into(),
            StoreError::SlugTaken(slug) => Self::new(
                ErrorCode::SlugTaken,
                format!("the slug `{slug}` is already taken"),
            )
            .with_details(serde_json::json!({ "field": "slug" })),
            StoreError::NotFound(_) => Self::store_not_found(),
            StoreError::Storage(storage) => storage.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::InvalidCredentials => Self::from_code(ErrorCode::InvalidCredentials),
            AuthError::Throttled(wait) => Self::rate_limited(wait.as_secs().max(1)),
            AuthError::InvalidToken => Self::from_code(ErrorCode::InvalidToken),
            AuthError::TokenExpired => Self::from_code(ErrorCode::TokenExpired),
            AuthError::Unauthenticated => Self::from_code(ErrorCode::Unauthorized),
            AuthError::SessionRevoked => Self::from_code(ErrorCode::SessionRevoked),
            AuthError::EmailTaken => Self::from_code(ErrorCode::EmailTaken)
                .with_details(serde_json::json!({ "field": "email" })),
            AuthError::EmailNotVerified => Self::from_code(ErrorCode::EmailNotVerified),
            AuthError::Busy(retry) => Self::overloaded(retry.as_secs().max(1)),
            AuthError::Invalid(errors) => errors.into(),
            AuthError::Storage(storage) => storage.into(),
            AuthError::Internal(source) => Self::internal(source),
        }
    }
}

impl From<SignupError> for ApiError {
    fn from(error: SignupError) -> Self {
        match error {
            SignupError::Auth(auth) => auth.into(),
            SignupError::Store(store) => store.into(),
        }
    }
}

impl From<AnalyticsError> for ApiError {
    fn from(error: AnalyticsError) -> Self {
        match error {
            AnalyticsError::Invalid(errors) => errors.into(),
            AnalyticsError::Storage(storage) => storage.into(),
        }
    }
}

impl From<CustomerError> for ApiError {
    fn from(error: CustomerError) -> Self {
        match error {
            CustomerError::Auth(auth) => auth.into(),
            CustomerError::AddressNotFound => Self::new(ErrorCode::NotFound, "no such address"),
            CustomerError::TooManyAddresses => Self::new(ErrorCode::Conflict, error.to_string()),
            CustomerError::Orders(orders) => (*orders).into(),
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> Self {
        let message = error.to_string();
        match error {
            AccessError::MissingPermission(permission) => Self::new(ErrorCode::Forbidden, message)
                .with_details(serde_json::json!({ "permission": permission })),
            AccessError::CannotGrant(missing) => Self::new(ErrorCode::Forbidden, message)
                .with_details(serde_json::json!({ "missing_permissions": missing })),
            AccessError::OwnerOnly => Self::new(ErrorCode::Forbidden, message),
            AccessError::LastOwner => Self::from_code(ErrorCode::LastOwner),
            AccessError::NotMember => Self::new(ErrorCode::NotFound, "no such member"),
            AccessError::AlreadyMember => Self::from_code(ErrorCode::AlreadyMember),
            AccessError::InvitationWithdrawn => Self::from_code(ErrorCode::InvitationWithdrawn),
            AccessError::UnknownRole => Self::new(ErrorCode::NotFound, "no such role"),
            AccessError::RoleInUse => Self::new(ErrorCode::Conflict, message),
            AccessError::RoleNameTaken => Self::new(ErrorCode::Conflict, message)
                .with_details(serde_json::json!({ "field": "name" })),
            AccessError::BadRoleName(text) => {
                let mut errors = ValidationErrors::default();
                errors.add("name", text.code(), text.to_string());
                errors.into()
            }
        }
    }
}

impl From<TeamError> for ApiError {
    fn from(error: TeamError) -> Self {
        match error {
            TeamError::Access(access) => access.into(),
            TeamError::Auth(auth) => auth.into(),
            TeamError::Busy => Self::new(ErrorCode::Conflict, error.to_string()),
            TeamError::StoreNotFound => Self::store_not_found(),
            TeamError::InvitationWithdrawn => Self::from_code(ErrorCode::InvitationWithdrawn),
            TeamError::InvitationNotFound => {
                Self::new(ErrorCode::NotFound, "no such pending invitation")
            }
        }
    }
}

impl From<crate::app::webhooks::WebhookError> for ApiError {
    fn from(error: crate::app::webhooks::WebhookError) -> Self {
        use crate::app::webhooks::WebhookError;
        let message = error.to_string();
        match error {
            WebhookError::Invalid(errors) => errors.into(),
            WebhookError::NotFound | WebhookError::DeliveryNotFound => {
                Self::new(ErrorCode::NotFound, message)
            }
            WebhookError::TargetForbidden(reason) => {
                Self::new(ErrorCode::WebhookTargetForbidden, reason.to_string())
                    .with_details(serde_json::json!({ "field": "url" }))
            }
            WebhookError::TooMany | WebhookError::Stale => Self::new(ErrorCode::Conflict, message),
            WebhookError::Storage(storage) => storage.into(),
            WebhookError::Internal(internal) => Self::internal(internal),
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        let message = error.to_string();
        let field = |field: &str, code: &str| {
            let mut errors = ValidationErrors::default();
            errors.add(field, code, message.clone());
            Self::from(errors)
        };
        match error {
            CatalogError::Invalid(errors) => errors.into(),
            CatalogError::SlugTaken => Self::new(ErrorCode::SlugTaken, message)
                .with_details(serde_json::json!({ "field": "slug" })),
            CatalogError::SkuTaken => Self::from_code(ErrorCode::SkuTaken),
            CatalogError::ProductNotFound
            | CatalogError::VariantNotFound
            | CatalogError::CategoryNotFound => Self::new(ErrorCode::NotFound, message),
            CatalogError::Stale | CatalogError::CategoryHasChildren => {
                Self::new(ErrorCode::Conflict, message)
            }
            CatalogError::WishlistFull => Self::new(ErrorCode::WishlistFull, message),
            CatalogError::InsufficientStock { on_hand, reserved } => {
                Self::new(ErrorCode::InsufficientStock, message)
                    .with_details(serde_json::json!({ "on_hand": on_hand, "reserved": reserved }))
            }
            CatalogError::Tree(crate::domain::catalog::TreeError::Cycle) => {
                field("parent_id", "cycle")
            }
            CatalogError::Tree(crate::domain::catalog::TreeError::UnknownParent) => {
                field("parent_id", "unknown_category")
            }
            CatalogError::Storage(storage) => storage.into(),
        }
    }
}

impl From<CommerceError> for ApiError {
    fn from(error: CommerceError) -> Self {
        use crate::domain::{cart::CartError, order::OrderError};
        let message = error.to_string();
        let field = |field: &str, code: &str| {
            let mut errors = ValidationErrors::default();
            errors.add(field, code, message.clone());
            Self::from(errors)
        };
        match error {
            CommerceError::Invalid(errors) | CommerceError::Order(OrderError::Invalid(errors)) => {
                errors.into()
            }
            CommerceError::CartNotFound
            | CommerceError::OrderNotFound
            | CommerceError::DiscountNotFound
            | CommerceError::ReviewNotFound
            | CommerceError::ProductNotFound
            | CommerceError::Cart(CartError::NoSuchLine) => Self::new(ErrorCode::NotFound, message),
            CommerceError::Cart(CartError::BadQuantity) => field("quantity", "out_of_range"),
            CommerceError::Cart(CartError::TooManyLines) => field("variant_id", "too_many_lines"),
            CommerceError::CartEmpty => Self::from_code(ErrorCode::CartEmpty),
            CommerceError::UnknownDiscount => Self::new(ErrorCode::DiscountNotApplicable, message)
                .with_details(serde_json::json!({ "reason": "unknown_code" })),
            CommerceError::DiscountRefused(refusal) => {
                Self::new(ErrorCode::DiscountNotApplicable, refusal.to_string())
                    .with_details(serde_json::json!({ "reason": refusal.code() }))
            }
            CommerceError::DiscountCodeTaken => Self::new(ErrorCode::Conflict, message)
                .with_details(serde_json::json!({ "field": "code" })),
            CommerceError::ShippingUnavailable => Self::from_code(ErrorCode::ShippingUnavailable),
            CommerceError::PaymentMethodUnavailable => {
                Self::from_code(ErrorCode::PaymentMethodUnavailable)
            }
            CommerceError::PaymentProviderUnavailable => {
                let mut error = Self::new(ErrorCode::PaymentProviderUnavailable, message);
                error.0.retry_after = Some(PAYMENT_RETRY_SECS);
                error.with_details(serde_json::json!({ "retry_after_secs": PAYMENT_RETRY_SECS }))
            }
            CommerceError::PaymentProviderNotConfigured => {
                Self::new(ErrorCode::PaymentProviderNotConfigured, message)
            }
            CommerceError::PaymentRefused(_) => Self::new(ErrorCode::PaymentRefused, message),
            CommerceError::OutOfStock(lines) => Self::from_code(ErrorCode::OutOfStock)
                .with_details(serde_json::json!({ "lines": lines })),
            CommerceError::IdempotencyKeyMissing => Self::new(ErrorCode::BadRequest, message)
                .with_details(serde_json::json!({ "header": "Idempotency-Key" })),
            CommerceError::IdempotencyKeyReused => Self::from_code(ErrorCode::IdempotencyKeyReused),
            CommerceError::IdempotencyKeyInFlight => {
                Self::from_code(ErrorCode::IdempotencyKeyInFlight)
            }
            CommerceError::TooManyOpenOrders {
                scope,
                limit,
                retry_after_secs,
            } => {
                let scope = match scope {
                    crate::storage::OpenOrderScope::Buyer => "buyer",
                    crate::storage::OpenOrderScope::Address => "address",
                };
                let mut error = Self::from_code(ErrorCode::TooManyOpenOrders).with_details(
                    serde_json::json!({ "scope": scope, "limit": limit, "retry_after_secs": retry_after_secs }),
                );
                error.0.retry_after = Some(retry_after_secs.max(1));
                error
            }
            CommerceError::Order(OrderError::InvalidTransition { from, to }) => {
                Self::new(ErrorCode::InvalidTransition, message)
                    .with_details(serde_json::json!({ "from": from, "to": to }))
            }
            CommerceError::MissingPermission(permission) => {
                AccessError::MissingPermission(permission).into()
            }
            CommerceError::Stale => Self::new(ErrorCode::Conflict, message),
            CommerceError::AlreadyReviewed => Self::from_code(ErrorCode::AlreadyReviewed),
            CommerceError::Pricing(_) => field("quantity", "out_of_range"),
            CommerceError::Storage(storage) => storage.into(),
        }
    }
}

/// How long a client waits before retrying a call the payment provider could not take.
const PAYMENT_RETRY_SECS: u64 = 10;

/// The message sent for a code when nothing more specific is known.
fn default_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NotFound => "no such resource",
        ErrorCode::MethodNotAllowed => "this method is not allowed on this resource",
        ErrorCode::InvalidJson => "the body is not valid JSON",
        ErrorCode::ValidationFailed => "some fields are not valid",
        ErrorCode::BadRequest => "the request is malformed",
        ErrorCode::PayloadTooLarge => "the body is too large",
        ErrorCode::UnsupportedMediaType => "unsupported content type",
        ErrorCode::Unauthorized => "missing or invalid credentials",
        ErrorCode::Forbidden => "not allowed",
        ErrorCode::StoreNotFound => "store not found",
        ErrorCode::SlugTaken => "the slug is already taken",
        ErrorCode::EmailTaken => "an account with this email already exists",
        ErrorCode::InvalidCredentials => "email or password is wrong",
        ErrorCode::TokenExpired => "the access token has expired",
        ErrorCode::InvalidToken => "the token is invalid, used or expired",
        ErrorCode::SessionRevoked => "this session was revoked; sign in again",
        ErrorCode::EmailNotVerified => "verify your email address first",
        ErrorCode::StoreSuspended => "the store is suspended; its admin is read-only",
        ErrorCode::LastOwner => "a store must keep at least one owner",
        ErrorCode::AlreadyMember => "already a member of this store",
        ErrorCode::InvitationWithdrawn => "this invitation can no longer be accepted",
        ErrorCode::CsrfFailed => "cross-site request refused",
        ErrorCode::Conflict => "the request conflicts with the current state",
        ErrorCode::SkuTaken => "a SKU is already used by another product",
        ErrorCode::InsufficientStock => "not enough stock for this change",
        ErrorCode::OutOfStock => "some items are not available in the quantity asked",
        ErrorCode::IdempotencyKeyReused => "this Idempotency-Key was used with another request",
        ErrorCode::IdempotencyKeyInFlight => "a request with this Idempotency-Key is in progress",
        ErrorCode::InvalidTransition => "the order cannot make this change in its current state",
        ErrorCode::DiscountNotApplicable => "the discount code does not apply",
        ErrorCode::CartEmpty => "the cart has nothing that can be bought",
        ErrorCode::ShippingUnavailable => "this shipping method does not serve the address",
        ErrorCode::PaymentMethodUnavailable => "the store does not offer this payment method",
        ErrorCode::PaymentProviderUnavailable => {
            "the payment provider cannot be reached right now; retry later"
        }
        ErrorCode::PaymentProviderNotConfigured => "card payments are not set up for this store",
        ErrorCode::PaymentRefused => "the payment provider refused the request",
        ErrorCode::InvalidSignature => "the webhook signature is missing or not valid",
        ErrorCode::WebhookTargetForbidden => "webhooks may only target public addresses over https",
        ErrorCode::AlreadyReviewed => "you have already reviewed this product",
        ErrorCode::WishlistFull => "the wishlist is full; remove a product first",
        ErrorCode::TooManyOpenOrders => "too many unpaid orders are open; pay or cancel one first",
        ErrorCode::RateLimited => "too many requests",
        ErrorCode::StorageUnavailable => {
            "the database cannot take this request right now; retry after the time in Retry-After"
        }
        ErrorCode::ServiceUnavailable => "the service is temporarily unavailable",
        ErrorCode::InternalError => "internal server error",
    }
}

/// The code for an error status produced outside our handlers (routing, actix extractors).
fn code_for_status(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
        status if status.is_server_error() => ErrorCode::InternalError,
        _ => ErrorCode::BadRequest,
    }
}

/// Rewrites every error response that is not already our JSON envelope (actix's own 404/405,
/// extractor errors whose body would be their `Display` text) into the envelope.
pub fn envelope_foreign_errors<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let code = code_for_status(status);
    let (request, original) = response.into_parts();
    let mut rebuilt = HttpResponse::build(status);
    for (name, value) in original.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rebuilt.append_header((name.clone(), value.clone()));
        }
    }
    let body = ApiError::from_code(code).body();
    let response = ServiceResponse::new(request, rebuilt.json(body)).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(response))
}

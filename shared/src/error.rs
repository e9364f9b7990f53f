//! The API error envelope and its stable, machine-readable codes.
//!
//! Every error the API returns is `{"error":{"code":"…","message":"…","details":…}}`. The
//! frontend matches on [`ErrorCode`], never on the message text.

use serde::{Deserialize, Serialize};

/// Stable snake_case error codes. Adding a code is fine; renaming one breaks clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No route matches the path.
    NotFound,
    /// The route exists but not for this HTTP method.
    MethodNotAllowed,
    /// The body is not well-formed JSON.
    InvalidJson,
    /// The body is JSON but a field is missing, of the wrong type or out of range.
    ValidationFailed,
    /// The request (or a path/query parameter) is malformed in another way.
    BadRequest,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The body has a content type this route does not take.
    UnsupportedMediaType,
    /// Credentials are missing or wrong.
    Unauthorized,
    /// The caller is known but may not do this.
    Forbidden,
    /// The store named in the path does not exist or is not open to the public.
    StoreNotFound,
    /// The store slug is already in use.
    SlugTaken,
    /// An account with this email already exists (in this store, for customers).
    EmailTaken,
    /// The email and password do not match an account.
    InvalidCredentials,
    /// The access token has expired: refresh it.
    TokenExpired,
    /// A verification, reset, invitation or refresh token is unknown, used or expired.
    InvalidToken,
    /// The refresh token was already used, so its whole session was revoked.
    SessionRevoked,
    /// This action needs a verified email address.
    EmailNotVerified,
    /// The store is suspended: its admin is read-only.
    StoreSuspended,
    /// The store's last owner cannot be removed or demoted.
    LastOwner,
    /// The user is already a member of this store's staff.
    AlreadyMember,
    /// The invitation can no longer be accepted: it was revoked, or whoever sent it may no
    /// longer grant its role.
    InvitationWithdrawn,
    /// A cookie-authenticated request lacked the CSRF header or came from another origin.
    CsrfFailed,
    /// The request conflicts with the current state (a name in use, a concurrent change).
    Conflict,
    /// A SKU is already used by another product of this store.
    SkuTaken,
    /// A stock change would take stock below zero or below what orders hold.
    InsufficientStock,
    /// A checkout asked for more units than are available; `details.lines` names each.
    OutOfStock,
    /// The `Idempotency-Key` was already used with a different request body.
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still being processed; retry shortly.
    IdempotencyKeyInFlight,
    /// The order cannot make this move from its current state.
    InvalidTransition,
    /// The discount code is unknown, expired, used up or does not apply to this cart.
    DiscountNotApplicable,
    /// The cart is empty, or nothing in it can be bought.
    CartEmpty,
    /// The chosen shipping method does not serve the address or is unknown.
    ShippingUnavailable,
    /// The chosen payment method is not offered by the store.
    PaymentMethodUnavailable,
    /// The payment provider (Stripe) could not be reached or failed; retry after the time in
    /// `Retry-After` (an order placed by the checkout stays reserved until its deadline).
    PaymentProviderUnavailable,
    /// Card payments are not set up: the platform has no Stripe key, or the store has not
    /// connected a Stripe account that can take charges.
    PaymentProviderNotConfigured,
    /// The payment provider refused the request (an amount it cannot charge, say); the message
    /// says why.
    PaymentRefused,
    /// A payment webhook's signature is missing, malformed, stale or not made with any of our
    /// webhook secrets. Nothing was stored.
    InvalidSignature,
    WebhookTargetForbidden,
    /// This customer has already reviewed this product.
    AlreadyReviewed,
    /// The wishlist holds as many products as it can; remove one first.
    WishlistFull,
    /// This buyer (email, address or cart) already has as many unpaid orders open in the store
    /// as it allows; pay or cancel one, or wait for it to expire.
    TooManyOpenOrders,
    /// Too many requests; retry after the time in `Retry-After`.
    RateLimited,
    /// The database cannot take this request right now (a full or stalled disk, an unreachable
    /// server). Retry after `Retry-After`, a checkout with the same `Idempotency-Key`.
    StorageUnavailable,
    /// Another dependency (Redis, the password-hashing budget) is not available right now.
    ServiceUnavailable,
    /// Something failed inside the server. The message says nothing more, by design.
    InternalError,
}

impl ErrorCode {
    /// The wire form, e.g. `"store_not_found"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::InvalidJson => "invalid_json",
            Self::ValidationFailed => "validation_failed",
            Self::BadRequest => "bad_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::StoreNotFound => "store_not_found",
            Self::SlugTaken => "slug_taken",
            Self::EmailTaken => "email_taken",
            Self::InvalidCredentials => "invalid_credentials",
            Self::TokenExpired => "token_expired",
            Self::InvalidToken => "invalid_token",
            Self::SessionRevoked => "session_revoked",
            Self::EmailNotVerified => "email_not_verified",
            Self::StoreSuspended => "store_suspended",
            Self::LastOwner => "last_owner",
            Self::AlreadyMember => "already_member",
            Self::InvitationWithdrawn => "invitation_withdrawn",
            Self::CsrfFailed => "csrf_failed",
            Self::Conflict => "conflict",
            Self::SkuTaken => "sku_taken",
            Self::InsufficientStock => "insufficient_stock",
            Self::OutOfStock => "out_of_stock",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::IdempotencyKeyInFlight => "idempotency_key_in_flight",
            Self::InvalidTransition => "invalid_transition",
            Self::DiscountNotApplicable => "discount_not_applicable",
            Self::CartEmpty => "cart_empty",
            Self::ShippingUnavailable => "shipping_unavailable",
            Self::PaymentMethodUnavailable => "payment_method_unavailable",
            Self::PaymentProviderUnavailable => "payment_provider_unavailable",
            Self::PaymentProviderNotConfigured => "payment_provider_not_configured",
            Self::PaymentRefused => "payment_refused",
            Self::InvalidSignature => "invalid_signature",
            Self::WebhookTargetForbidden => "webhook_target_forbidden",
            Self::AlreadyReviewed => "already_reviewed",
            Self::WishlistFull => "wishlist_full",
            Self::TooManyOpenOrders => "too_many_open_orders",
            Self::RateLimited => "rate_limited",
            Self::StorageUnavailable => "storage_unavailable",
            Self::ServiceUnavailable => "service_unavailable",
            Self::InternalError => "internal_error",
        }
    }

    /// The HTTP status this code is sent with.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::NotFound | Self::StoreNotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::InvalidJson | Self::BadRequest => 400,
            Self::ValidationFailed => 422,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::SlugTaken => 409,
            Self::EmailTaken => 409,
            Self::InvalidCredentials => 401,
            Self::TokenExpired => 401,
            Self::InvalidToken => 400,
            Self::SessionRevoked => 401,
            Self::EmailNotVerified => 403,
            Self::StoreSuspended => 403,
            Self::LastOwner => 409,
            Self::AlreadyMember => 409,
            Self::InvitationWithdrawn => 409,
            Self::CsrfFailed => 403,
            Self::Conflict => 409,
            Self::SkuTaken => 409,
            Self::InsufficientStock => 409,
            Self::OutOfStock => 409,
            Self::IdempotencyKeyReused => 422,
            Self::IdempotencyKeyInFlight => 409,
            Self::InvalidTransition => 409,
            Self::DiscountNotApplicable => 422,
            Self::CartEmpty => 422,
            Self::ShippingUnavailable => 422,
            Self::PaymentMethodUnavailable => 422,
            Self::PaymentProviderUnavailable => 503,
            Self::PaymentProviderNotConfigured => 409,
            Self::PaymentRefused => 422,
            Self::InvalidSignature => 400,
            Self::WebhookTargetForbidden => 422,
            Self::AlreadyReviewed => 409,
            Self::WishlistFull => 409,
            Self::TooManyOpenOrders => 429,
            Self::RateLimited => 429,
            Self::StorageUnavailable | Self::ServiceUnavailable => 503,
            Self::InternalError => 500,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The inner object of the envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// The whole error body: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiErrorBody {
    pub error: ApiError,
}

/// One failed field in a `validation_failed` error: `details.fields[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Dotted path to the field, e.g. `store.slug` or `lines[2].quantity`.
    pub field: String,
    /// Stable snake_case reason, e.g. `too_short`, `required`, `invalid_type`.
    pub code: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_wire_form() {
        for code in [
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::InvalidJson,
            ErrorCode::ValidationFailed,
            ErrorCode::BadRequest,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::StoreNotFound,
            ErrorCode::SlugTaken,
            ErrorCode::EmailTaken,
            ErrorCode::InvalidCredentials,
            ErrorCode::TokenExpired,
            ErrorCode::InvalidToken,
            ErrorCode::SessionRevoked,
            ErrorCode::EmailNotVerified,
            ErrorCode::StoreSuspended,
            ErrorCode::LastOwner,
            ErrorCode::AlreadyMember,
            ErrorCode::InvitationWithdrawn,
            ErrorCode::TooManyOpenOrders,
            ErrorCode::WishlistFull,
            ErrorCode::CsrfFailed,
            ErrorCode::Conflict,
            ErrorCode::SkuTaken,
            ErrorCode::InsufficientStock,
            ErrorCode::RateLimited,
            ErrorCode::StorageUnavailable,
            ErrorCode::ServiceUnavailable,
            ErrorCode::PaymentProviderUnavailable,
            ErrorCode::PaymentProviderNotConfigured,
            ErrorCode::PaymentRefused,
            ErrorCode::InvalidSignature,
            ErrorCode::WebhookTargetForbidden,
            ErrorCode::InternalError,
        ] {
            let json = serde_json::to_value(code).unwrap_or_default();
            assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
            let back: ErrorCode = serde_json::from_value(json).unwrap_or(ErrorCode::InternalError);
            assert_eq!(back, code);
        }
    }

    #[test]
    fn an_envelope_without_details_omits_the_field() {
        let body = ApiErrorBody {
            error: ApiError {
                code: ErrorCode::StoreNotFound,
                message: "store not found".into(),
                details: None,
            },
        };
        let text = serde_json::to_string(&body).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"error":{"code":"store_not_found","message":"store not found"}}"#
        );
    }
}

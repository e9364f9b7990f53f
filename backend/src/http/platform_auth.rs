//! The operator credential for `/api/v1/platform`: `Authorization: Bearer <token>` compared in
//! constant time with `TECHVERSE_PLATFORM_API_TOKEN`. Without a configured token nobody passes.

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use secrecy::ExposeSecret;
use std::future::{Ready, ready};
use subtle::ConstantTimeEq;
use techverse_shared::ErrorCode;

use super::{AppState, error::ApiError};

/// Proof that the caller presented the platform operator token.
pub struct PlatformOperator;

impl FromRequest for PlatformOperator {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let expected = req
            .app_data::<web::Data<AppState>>()
            .and_then(|state| state.settings.platform_api_token.as_ref());
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let ok = match (expected, presented) {
            (Some(expected), Some(presented)) => bool::from(
                expected
                    .expose_secret()
                    .as_bytes()
                    .ct_eq(presented.as_bytes()),
            ),
            _ => false,
        };
        ready(if ok {
            Ok(Self)
        } else {
            Err(ApiError::new(
                ErrorCode::Unauthorized,
                "missing or invalid platform credentials",
            ))
        })
    }
}

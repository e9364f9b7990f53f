//! The operator credential for `/api/v1/platform`: either a platform administrator's staff
//! access token, or `Authorization: Bearer <TECHVERSE_PLATFORM_API_TOKEN>` compared in constant
//! time (for automation; without a configured token only administrators pass).

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use futures_util::future::LocalBoxFuture;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;
use techverse_shared::ErrorCode;

use super::{
    auth::{StaffAuth, app_state, bearer},
    error::ApiError,
};

/// Proof that the caller is a platform operator.
pub struct PlatformOperator;

impl FromRequest for PlatformOperator {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req)?;
            let presented =
                bearer(&req).ok_or_else(|| ApiError::from_code(ErrorCode::Unauthorized))?;
            let is_operator_token =
                state
                    .settings
                    .platform_api_token
                    .as_ref()
                    .is_some_and(|expected| {
                        bool::from(
                            expected
                                .expose_secret()
                                .as_bytes()
                                .ct_eq(presented.as_bytes()),
                        )
                    });
            if is_operator_token {
                return Ok(Self);
            }
            let staff = StaffAuth::from_http(&req).await.map_err(|_| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "missing or invalid platform credentials",
                )
            })?;
            if staff.user.platform_admin {
                Ok(Self)
            } else {
                Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "platform administrators only",
                ))
            }
        })
    }
}

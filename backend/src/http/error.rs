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

use crate::{app::stores::StoreError, domain::validation::ValidationErrors, storage::StorageError};

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    details: Option<serde_json::Value>,
    /// What went wrong inside, for the logs only.
    source: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            source: None,
        }
    }

    /// An error carrying only its code's default message.
    pub fn from_code(code: ErrorCode) -> Self {
        Self::new(code, default_message(code))
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// A 500 whose cause goes to the log and nowhere else.
    pub fn internal(source: anyhow::Error) -> Self {
        Self {
            source: Some(source),
            ..Self::from_code(ErrorCode::InternalError)
        }
    }

    pub fn store_not_found() -> Self {
        Self::new(ErrorCode::StoreNotFound, "store not found")
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    fn body(&self) -> ApiErrorBody {
        ApiErrorBody {
            error: ApiErrorDto {
                code: self.code,
                message: self.message.clone(),
                details: self.details.clone(),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        if let Some(source) = &self.source {
            tracing::error!(error = ?source, code = %self.code, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        if self.code == ErrorCode::Unauthorized {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
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
            StorageError::Unavailable(source) => Self {
                source: Some(source),
                ..Self::from_code(ErrorCode::ServiceUnavailable)
            },
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
        ErrorCode::RateLimited => "too many requests",
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

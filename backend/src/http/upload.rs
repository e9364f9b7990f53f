//! Reading one uploaded file from a `multipart/form-data` body (field `file`), with a size cap.

use actix_web::{HttpRequest, http::header, web};
use futures_util::StreamExt;
use serde_json::json;
use techverse_shared::ErrorCode;

use super::error::ApiError;
use crate::domain::validation::ValidationErrors;

/// The bytes of the `file` field. Not multipart: 415; over `limit`: 413; no `file`: 422.
pub async fn read_file(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>, ApiError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("send the {what} as multipart/form-data in a field named `file`"),
        ));
    }
    let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
    let malformed = |_| {
        ApiError::new(
            ErrorCode::BadRequest,
            "the multipart body could not be read",
        )
    };
    let mut file = None;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(malformed)?;
        let is_file = field.content_disposition().and_then(|d| d.get_name()) == Some("file");
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(malformed)?;
            if bytes.len() + chunk.len() > limit {
                return Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("the {what} is larger than {limit} bytes"),
                )
                .with_details(json!({ "limit_bytes": limit })));
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_file {
            file = Some(bytes);
        }
    }
    file.ok_or_else(|| {
        let mut errors = ValidationErrors::default();
        errors.add(
            "file",
            "required",
            format!("attach the {what} in a field named `file`"),
        );
        errors.into()
    })
}

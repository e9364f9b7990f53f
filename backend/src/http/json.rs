//! `JsonBody<T>`: reads a JSON body under the configured size limit and reports malformed JSON
//! (400 `invalid_json`) apart from well-formed JSON with wrong fields (422 `validation_failed`,
//! naming the field path).

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use futures_util::{StreamExt, future::LocalBoxFuture};
use serde::de::DeserializeOwned;
use serde_json::json;
use techverse_shared::{ErrorCode, FieldError};

use super::{AppState, error::ApiError};

pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(256 * 1024, |state| state.settings.body_limit_bytes);
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(str::trim)
            .is_some_and(|mime| mime == "application/json" || mime.ends_with("+json"));
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "send the body as application/json",
                ));
            }
            if declared.is_some_and(|length| length > limit) {
                return Err(too_large(limit));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| {
                    ApiError::new(ErrorCode::BadRequest, "the body could not be read")
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body).map(JsonBody)
        })
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the body is larger than {limit} bytes"),
    )
    .with_details(json!({ "limit_bytes": limit }))
}

/// Parses JSON, telling syntax errors from shape errors.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Well-formedness first, so `{} trailing` is invalid JSON even though `{}` lacks fields.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|error| json_error(error, String::new()))?;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        json_error(error.into_inner(), path)
    })
}

fn json_error(error: serde_json::Error, path: String) -> ApiError {
    match error.classify() {
        serde_json::error::Category::Data => {
            let field = if path == "." { String::new() } else { path };
            let code = if error.to_string().starts_with("missing field") {
                "required"
            } else {
                "invalid"
            };
            ApiError::new(ErrorCode::ValidationFailed, "some fields are not valid").with_details(
                json!({ "fields": [FieldError {
                    field,
                    code: code.to_owned(),
                    message: error.to_string(),
                }] }),
            )
        }
        _ => ApiError::new(ErrorCode::InvalidJson, "the body is not valid JSON")
            .with_details(json!({ "line": error.line(), "column": error.column() })),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields exist to be deserialized")]
    struct Body {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[expect(dead_code, reason = "fields exist to be deserialized")]
    struct Inner {
        count: u32,
    }

    #[test]
    fn broken_json_is_invalid_json() {
        for bad in ["{", "{\"name\": }", "not json", "{} trailing", ""] {
            let error = parse::<Body>(bad.as_bytes()).unwrap_err();
            assert_eq!(error.code(), ErrorCode::InvalidJson, "{bad}");
        }
    }

    #[test]
    fn wrong_shapes_are_validation_failures_naming_the_field() {
        let error = parse::<Body>(br#"{"name": "x", "inner": {"count": -1}}"#).unwrap_err();
        assert_eq!(error.code(), ErrorCode::ValidationFailed);
        let details = format!("{error:?}");
        assert!(details.contains("inner.count"), "{details}");
        let missing = parse::<Body>(br#"{"inner": {"count": 1}}"#).unwrap_err();
        assert!(format!("{missing:?}").contains("required"));
    }

    #[test]
    fn a_well_formed_body_parses() {
        assert!(parse::<Body>(br#"{"name": "x", "inner": {"count": 3}}"#).is_ok());
    }
}

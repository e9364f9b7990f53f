//! Image upload (`POST /api/v1/admin/stores/{store}/media`, multipart field `file`) and serving
//! (`GET /media/{store id}/{file}`). The type comes from the file's signature; names are
//! generated; size is capped.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use futures_util::StreamExt;
use serde_json::json;
use techverse_shared::{ErrorCode, Permission, StoreId};

use crate::{
    app::audit,
    http::{AppState, auth::StoreStaff, error::ApiError},
    media::{ImageKind, MAX_IMAGE_BYTES, served_type},
};

pub fn config_api(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/stores/{store}/media").route(web::post().to(upload)));
}

pub fn config_files(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/media/{store}/{file}").route(web::get().to(serve)));
}

async fn upload(
    state: web::Data<AppState>,
    staff: StoreStaff,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    staff.require_write(Permission::ProductsWrite)?;
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the image as multipart/form-data in a field named `file`",
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
            if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
                return Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("an image has at most {MAX_IMAGE_BYTES} bytes"),
                )
                .with_details(json!({ "limit_bytes": MAX_IMAGE_BYTES })));
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_file {
            file = Some(bytes);
        }
    }
    let Some(bytes) = file else {
        let mut errors = crate::domain::validation::ValidationErrors::default();
        errors.add(
            "file",
            "required",
            "attach the image in a field named `file`",
        );
        return Err(errors.into());
    };
    let kind = ImageKind::sniff(&bytes).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "only PNG, JPEG, GIF and WebP images are accepted",
        )
    })?;
    let name = format!("{}.{}", uuid::Uuid::now_v7(), kind.extension());
    let size = bytes.len();
    let url = state
        .ctx
        .media
        .put(staff.store.id, &name, bytes)
        .await
        .map_err(ApiError::internal)?;
    audit::record(
        &state.ctx,
        staff.store.id,
        staff.actor(),
        "media.uploaded",
        format!("media:{name}"),
        json!({ "url": url, "content_type": kind.content_type(), "bytes": size }),
    )
    .await?;
    Ok(HttpResponse::Created()
        .json(json!({ "url": url, "content_type": kind.content_type(), "bytes": size })))
}

async fn serve(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::from_code(ErrorCode::NotFound);
    let store: StoreId = path.0.parse().map_err(|_| not_found())?;
    let content_type = served_type(&path.1).ok_or_else(not_found)?;
    let bytes = state
        .ctx
        .media
        .get(store, &path.1)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header((
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        ))
        .body(bytes))
}

//! Image upload (`POST /api/v1/admin/stores/{store}/media`, multipart field `file`) and serving
//! (`GET /media/{store id}/{file}`). The type comes from the file's signature; names are
//! generated; size is capped.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde_json::json;
use techverse_shared::{ErrorCode, Permission, StoreId};

use crate::{
    app::audit,
    http::{AppState, auth::StoreStaff, error::ApiError, upload},
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
    let bytes = upload::read_file(&req, payload, MAX_IMAGE_BYTES, "image").await?;
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

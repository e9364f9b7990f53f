//! Image upload (`POST /api/v1/admin/stores/{store}/media`, multipart field `file`) and serving
//! (`GET /media/{store id}/{file}`). The type comes from the file's signature; names are
//! generated; size is capped.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde_json::json;
use techverse_shared::{ErrorCode, Permission, StoreId};

use crate::{
    app::audit,
    http::routes::table::resource,
    http::{AppState, auth::StoreStaff, error::ApiError, openapi::StorePath, upload},
    media::{ImageKind, MAX_IMAGE_BYTES, served_type},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(upload))]
pub struct Doc;

/// The upload's form: the image in `file`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct Upload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// `201` to an upload.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Uploaded {
    url: String,
    content_type: &'static str,
    bytes: usize,
}

pub fn config_api(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/admin/stores/{store}/media").post(upload));
}

pub fn config_files(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/media/{store}/{file}").route(web::get().to(serve)));
}

/// Uploads a product image (PNG, JPEG, GIF or WebP, by its signature; multipart field `file` or the raw bytes) (`products.write`).
#[utoipa::path(
    post,
    path = "/admin/stores/{store}/media",
    tag = "admin-catalog",
    params(StorePath),
    request_body(content = Upload, content_type = "multipart/form-data"),
    security(("staff" = [])),
    responses(
        (status = 201, description = "Where the image is served.", body = Uploaded),
    ),
)]
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
    Ok(HttpResponse::Created().json(Uploaded {
        url,
        content_type: kind.content_type(),
        bytes: size,
    }))
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

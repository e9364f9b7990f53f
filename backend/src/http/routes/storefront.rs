//! The built apps (single-machine mode): files from `static_dir` (`frontend/dist`), hashed
//! assets cached for a year, `index.html` revalidated every time, and every other non-API path
//! answered with an `index.html` so deep links and reloads render the same page: the merchant
//! console's (`admin/index.html`) under `/admin`, the storefront's everywhere else.
//! `/api` and `/media` paths never fall back: an unknown one stays a JSON 404.

use std::path::{Component, Path, PathBuf};

use actix_files::NamedFile;
use actix_web::{
    HttpRequest, HttpResponse,
    http::{Method, header},
    web,
};
use techverse_shared::ErrorCode;

use crate::http::{AppState, error::ApiError};

/// A request path as a relative file path, if every segment is a plain name.
fn relative(path: &str) -> Option<PathBuf> {
    let trimmed = path.trim_start_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    let candidate = PathBuf::from(trimmed);
    candidate
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(candidate)
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/media" || path.starts_with("/media/")
}

/// Content-hashed files: the storefront's `assets/` and the console's `admin/assets/`.
fn is_asset(relative: &Path) -> bool {
    relative.starts_with("assets") || relative.starts_with("admin/assets")
}

async fn file(
    req: &HttpRequest,
    path: &Path,
    cache: &'static str,
) -> Result<HttpResponse, ApiError> {
    let file = NamedFile::open_async(path)
        .await
        .map_err(|_| ApiError::from_code(ErrorCode::NotFound))?;
    let mut response = file
        .use_etag(true)
        .use_last_modified(true)
        .into_response(req);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(cache),
    );
    Ok(response)
}

/// Every request no route matched.
pub async fn serve(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let path = req.path().to_owned();
    let root = Path::new(&state.settings.static_dir);
    if is_api(&path) || state.settings.static_dir.is_empty() {
        return Err(ApiError::from_code(ErrorCode::NotFound));
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Err(ApiError::from_code(ErrorCode::MethodNotAllowed));
    }
    let console = path == "/admin" || path.starts_with("/admin/");
    let index = root.join(if console {
        "admin/index.html"
    } else {
        "index.html"
    });
    if !index.is_file() {
        return Err(ApiError::from_code(ErrorCode::NotFound));
    }
    if let Some(relative) = relative(&path) {
        let candidate = root.join(&relative);
        if candidate.is_file() {
            let cache = if is_asset(&relative) {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            return file(&req, &candidate, cache).await;
        }
        if is_asset(&relative) {
            return Err(ApiError::from_code(ErrorCode::NotFound));
        }
    }
    file(&req, &index, "no-cache").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_reach_the_disk() {
        assert_eq!(
            relative("/assets/app-1.js"),
            Some(PathBuf::from("assets/app-1.js"))
        );
        assert_eq!(relative("/"), None);
        assert_eq!(relative("/../etc/passwd"), None);
        assert_eq!(relative("/assets/../../secret"), None);
        assert!(is_api("/api/v1/x") && is_api("/media/a.png") && !is_api("/apiary"));
        assert!(is_asset(Path::new("admin/assets/admin-1.js")) && !is_asset(Path::new("admin/x")));
    }
}

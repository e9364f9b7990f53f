//! The built apps (single-machine mode): files from `static_dir` (`frontend/dist`), hashed
//! assets cached for a year, `index.html` revalidated every time, and every other non-API path
//! answered with an `index.html` so deep links and reloads render the same page: the merchant
//! console's (`admin/index.html`) under `/admin`, the storefront's everywhere else.
//! `/api` and `/media` paths never fall back: an unknown one stays a JSON 404. Scripts, wasm and
//! styles built with a `.br` or `.gz` beside them go out precompressed to clients that accept
//! it (`Content-Encoding`, `Vary: Accept-Encoding`), never compressed again per request.

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

/// A request for a file (its last segment has an extension: `/favicon.ico`, `/robots.txt`)
/// rather than a page: when no such file was built it is a 404, never the app's HTML. The
/// apps' own routes (store slugs, product slugs, ids) never contain a dot.
fn names_a_file(relative: &Path) -> bool {
    relative.extension().is_some()
}

/// Content-hashed files: the storefront's `assets/` and the console's `admin/assets/`.
fn is_asset(relative: &Path) -> bool {
    relative.starts_with("assets") || relative.starts_with("admin/assets")
}

/// The precompressed copy of `path` the client accepts (`.br` before `.gz`), if it was built.
fn precompressed(req: &HttpRequest, path: &Path) -> Option<(PathBuf, &'static str)> {
    let accepted = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let accepts = |coding: &str| {
        accepted.split(',').any(|part| {
            let mut pieces = part.trim().split(';');
            let name = pieces.next().unwrap_or_default().trim();
            let refused =
                pieces.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case(coding) && !refused
        })
    };
    [("br", "br"), ("gzip", "gz")]
        .into_iter()
        .filter(|(coding, _)| accepts(coding))
        .map(|(coding, extension)| {
            let mut name = path.as_os_str().to_owned();
            name.push(format!(".{extension}"));
            (PathBuf::from(name), coding)
        })
        .find(|(candidate, _)| candidate.is_file())
}

async fn file(
    req: &HttpRequest,
    path: &Path,
    cache: &'static str,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::from_code(ErrorCode::NotFound);
    let encoded = precompressed(req, path);
    let file = match &encoded {
        Some((compressed, _)) => NamedFile::open_async(compressed)
            .await
            .map_err(|_| not_found())?
            .set_content_type(actix_files::file_extension_to_mime(
                path.extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or_default(),
            )),
        None => NamedFile::open_async(path).await.map_err(|_| not_found())?,
    };
    let mut response = file
        .use_etag(true)
        .use_last_modified(true)
        .into_response(req);
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(cache),
    );
    if let Some((_, coding)) = encoded {
        headers.insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static(coding),
        );
    }
    if is_compressible(path) {
        headers.insert(
            header::VARY,
            header::HeaderValue::from_static("accept-encoding"),
        );
    }
    Ok(response)
}

/// Files the build precompresses (so their answer varies with `Accept-Encoding`).
fn is_compressible(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("js" | "wasm" | "css")
    )
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
        if is_asset(&relative) || names_a_file(&relative) {
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
        assert!(
            names_a_file(Path::new("favicon.ico")) && !names_a_file(Path::new("s/demo/products"))
        );
    }
}

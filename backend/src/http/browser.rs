//! What browsers are told about every response: no MIME sniffing, no framing by other sites, a
//! referrer policy, a Content-Security-Policy fitting what the response is (the static apps run
//! only our own scripts and wasm; API answers and uploaded media run nothing at all) and, when
//! the deployment is served over TLS, Strict-Transport-Security. A header a handler set itself
//! is left alone.
//!
//! `HEAD` is answered like `GET` without a body: the request is routed as `GET` and the HTTP
//! layer (which saw the request as `HEAD`) sends the headers, `Content-Length` included, but no
//! body.

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::{
        Method,
        header::{self, HeaderMap, HeaderName, HeaderValue},
    },
    middleware::Next,
    web,
};

use super::AppState;
use crate::config::Settings;

/// The policy of API answers and uploaded media: nothing may run, nothing may frame them.
pub const LOCKED_DOWN_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// What a response is, for its policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// JSON from `/api`, metrics, health.
    Api,
    /// An uploaded image.
    Media,
    /// The storefront (or admin) app and its assets.
    App,
    /// The API's docs page (Swagger UI, served from the binary): its own scripts and styles,
    /// inline styles (React sets them), images as data URLs, requests to this origin only.
    Docs,
}

/// The docs page's policy.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'none'";

fn kind(path: &str) -> Kind {
    if path.starts_with("/media/") {
        Kind::Media
    } else if path.starts_with("/api/docs") {
        Kind::Docs
    } else if path.starts_with("/api/")
        || path == "/api"
        || matches!(path, "/health" | "/ready" | "/metrics")
    {
        Kind::Api
    } else {
        Kind::App
    }
}

/// The headers a response of `kind` gets under `settings`.
fn policy(settings: &Settings, kind: Kind) -> Vec<(HeaderName, String)> {
    let csp = match kind {
        Kind::App => settings.app_csp(),
        Kind::Api | Kind::Media => LOCKED_DOWN_CSP.to_owned(),
        Kind::Docs => DOCS_CSP.to_owned(),
    };
    let mut headers = vec![
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::X_FRAME_OPTIONS, "DENY".to_owned()),
        (
            header::REFERRER_POLICY,
            "strict-origin-when-cross-origin".to_owned(),
        ),
    ];
    if settings.public_url.starts_with("https://") && settings.hsts_max_age_secs > 0 {
        headers.push((
            header::STRICT_TRANSPORT_SECURITY,
            format!("max-age={}; includeSubDomains", settings.hsts_max_age_secs),
        ));
    }
    headers
}

fn add_missing(headers: &mut HeaderMap, wanted: Vec<(HeaderName, String)>) {
    for (name, value) in wanted {
        if !headers.contains_key(&name)
            && let Ok(value) = HeaderValue::from_str(&value)
        {
            headers.insert(name, value);
        }
    }
}

/// The middleware (`actix_web::middleware::from_fn(protect)`).
pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let wanted = req
        .app_data::<web::Data<AppState>>()
        .map(|state| policy(&state.settings, kind(req.path())));
    let mut response = next.call(req).await?;
    if let Some(wanted) = wanted {
        add_missing(response.headers_mut(), wanted);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_media_and_app_paths_get_their_own_policy() {
        assert_eq!(kind("/api/v1/stores/demo"), Kind::Api);
        assert_eq!(kind("/metrics"), Kind::Api);
        assert_eq!(kind("/media/abc/x.png"), Kind::Media);
        assert_eq!(kind("/s/demo/products"), Kind::App);
        assert_eq!(kind("/assets/techverse.js"), Kind::App);
        assert_eq!(kind("/apiary"), Kind::App);
        assert_eq!(kind("/api/docs/"), Kind::Docs);
        assert_eq!(kind("/api/docs/swagger-ui.css"), Kind::Docs);
    }

    #[test]
    fn strict_transport_security_is_sent_only_behind_tls() {
        let mut settings = Settings::load(None, Vec::new()).unwrap();
        let hsts = |settings: &Settings| {
            policy(settings, Kind::Api)
                .into_iter()
                .any(|(name, _)| name == header::STRICT_TRANSPORT_SECURITY)
        };
        assert!(!hsts(&settings), "the default public URL is plain http");
        settings.public_url = "https://shop.example".into();
        assert!(hsts(&settings));
        settings.hsts_max_age_secs = 0;
        assert!(!hsts(&settings));
    }
}

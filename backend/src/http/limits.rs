//! Rate limiting at the edge: every API request counts against its client IP here; extractors
//! add the per-account and per-store limits. Each response carries `RateLimit-Limit`,
//! `RateLimit-Remaining` and `RateLimit-Reset` of the tightest limit that applied.

use actix_web::{
    HttpMessage, HttpRequest,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    web,
};

use super::{AppState, error::ApiError};
use crate::ratelimit::{Decision, Rule};

/// The tightest decision so far for this request.
#[derive(Debug, Clone, Copy)]
struct Tightest(Decision);

fn note(req: &HttpRequest, decision: Decision) {
    let mut extensions = req.extensions_mut();
    let merged = match extensions.get::<Tightest>() {
        Some(Tightest(previous)) => previous.tighter(decision),
        None => decision,
    };
    extensions.insert(Tightest(merged));
}

/// The client's IP: the peer address, or the first `X-Forwarded-For` hop when configured to
/// trust a proxy.
pub fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> String {
    let forwarded = trust_forwarded_for
        .then(|| {
            req.connection_info()
                .realip_remote_addr()
                .map(str::to_owned)
        })
        .flatten();
    forwarded
        .or_else(|| req.peer_addr().map(|addr| addr.ip().to_string()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Counts this request against `rule` for `key`; a denial is a 429.
pub async fn enforce(
    req: &HttpRequest,
    state: &AppState,
    rule: Rule,
    key: &str,
) -> Result<(), ApiError> {
    let decision = state.ctx.limiter.hit(rule, key).await;
    note(req, decision);
    if decision.allowed {
        Ok(())
    } else {
        Err(ApiError::rate_limited(decision.reset_secs))
    }
}

/// The per-IP limit, and the `RateLimit-*` headers on the way out.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let Some(state) = state.filter(|_| req.path().starts_with("/api/")) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let ip = client_ip(req.request(), state.settings.trust_forwarded_for);
    let mut response = match enforce(req.request(), &state, Rule::Ip, &ip).await {
        Ok(()) => next.call(req).await?.map_into_left_body(),
        Err(error) => {
            let (request, _) = req.into_parts();
            let response = actix_web::ResponseError::error_response(&error);
            ServiceResponse::new(request, response).map_into_right_body()
        }
    };
    let tightest = response.request().extensions().get::<Tightest>().copied();
    if let Some(Tightest(decision)) = tightest {
        let headers = response.headers_mut();
        for (name, value) in [
            ("ratelimit-limit", decision.limit.to_string()),
            ("ratelimit-remaining", decision.remaining.to_string()),
            ("ratelimit-reset", decision.reset_secs.to_string()),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }
    Ok(response)
}

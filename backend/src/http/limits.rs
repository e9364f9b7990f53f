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

/// The client's IP: the peer address, or — behind trusted proxies — the `X-Forwarded-For`
/// entry `trusted_hops` from the right. Each proxy appends the address it received the request
/// from, so the rightmost entries are written by our proxies and everything left of them by
/// whoever sent the request (a client may put anything there).
pub fn client_ip(req: &HttpRequest, settings: &crate::config::Settings) -> String {
    let peer = req.peer_addr().map(|addr| addr.ip());
    let forwarded = settings
        .trust_forwarded_for
        .then(|| {
            let values: Vec<&str> = req
                .headers()
                .get_all("x-forwarded-for")
                .filter_map(|value| value.to_str().ok())
                .collect();
            forwarded_client(&values, settings.trusted_proxy_hops)
        })
        .flatten();
    forwarded
        .or(peer)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// The address `hops` entries from the right of the `X-Forwarded-For` values (in header
/// order); the leftmost when there are fewer entries than hops; `None` when that entry is not
/// an IP address.
pub fn forwarded_client(values: &[&str], hops: u32) -> Option<std::net::IpAddr> {
    let entries: Vec<&str> = values
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    let hops = usize::try_from(hops.max(1)).unwrap_or(1);
    let entry = entries.get(entries.len().saturating_sub(hops))?;
    parse_address(entry)
}

/// An IP address, with or without a port (`1.2.3.4:80`, `[2001:db8::1]:443`).
fn parse_address(entry: &str) -> Option<std::net::IpAddr> {
    entry
        .parse()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
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
    let ip = client_ip(req.request(), &state.settings);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_read_a_trusted_number_of_hops_from_the_right() {
        let ip = |text: &str| Some(text.parse::<std::net::IpAddr>().unwrap());
        // One proxy (an ALB) appends what it saw; the client wrote the rest.
        assert_eq!(
            forwarded_client(&["6.6.6.6, 203.0.113.7"], 1),
            ip("203.0.113.7")
        );
        // Two (CloudFront, then the ALB): the second from the right.
        assert_eq!(
            forwarded_client(&["6.6.6.6, 203.0.113.7, 130.176.0.1"], 2),
            ip("203.0.113.7")
        );
        // Several header lines count as one list, in order.
        assert_eq!(
            forwarded_client(&["6.6.6.6", "203.0.113.7"], 1),
            ip("203.0.113.7")
        );
        assert_eq!(forwarded_client(&["203.0.113.7"], 3), ip("203.0.113.7"));
        assert_eq!(
            forwarded_client(&["[2001:db8::1]:443"], 1),
            ip("2001:db8::1")
        );
        assert_eq!(forwarded_client(&["1.2.3.4:8080"], 1), ip("1.2.3.4"));
        assert_eq!(forwarded_client(&["1.2.3.4, not-an-ip"], 1), None);
        assert_eq!(forwarded_client(&[], 1), None);
    }
}

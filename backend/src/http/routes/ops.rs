//! Operations endpoints: `/health`, `/ready`, `/metrics`.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;
use techverse_shared::ErrorCode;

use crate::http::{AppState, error::ApiError};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health").route(web::get().to(health)))
        .service(web::resource("/ready").route(web::get().to(ready)))
        .service(web::resource("/metrics").route(web::get().to(metrics)));
}

/// 200 while the process runs.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// 200 only when storage and (if configured) Redis answer; otherwise 503 naming what failed.
async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let storage = healthy("storage", async {
        tokio::time::timeout(CHECK_TIMEOUT, state.storage.ping())
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {CHECK_TIMEOUT:?}"))?
            .map_err(anyhow::Error::new)
    });
    let redis = async {
        match &state.redis {
            None => None,
            Some(redis) => Some(healthy("redis", redis.ping()).await),
        }
    };
    let (storage_ok, redis_ok) = tokio::join!(storage, redis);
    let verdict = |ok: bool| if ok { "ok" } else { "unavailable" };
    let mut checks = serde_json::Map::new();
    checks.insert("storage".to_owned(), verdict(storage_ok).into());
    if let Some(ok) = redis_ok {
        checks.insert("redis".to_owned(), verdict(ok).into());
    }
    let mut failed = Vec::new();
    if !storage_ok {
        failed.push("storage");
    }
    if redis_ok == Some(false) {
        failed.push("redis");
    }
    if failed.is_empty() {
        return Ok(HttpResponse::Ok().json(
            json!({ "status": "ready", "storage": state.storage.kind(), "checks": checks }),
        ));
    }
    Err(ApiError::new(
        ErrorCode::ServiceUnavailable,
        format!("not ready: {} unavailable", failed.join(", ")),
    )
    .with_details(json!({ "failed": failed, "checks": checks })))
}

/// Runs one readiness check, logging why it failed.
async fn healthy(name: &str, check: impl Future<Output = anyhow::Result<()>>) -> bool {
    match check.await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(error = ?error, check = name, "readiness check failed");
            false
        }
    }
}

/// Prometheus text format.
async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let outbox = state.storage.outbox();
    match (outbox.pending().await, outbox.dead().await) {
        (Ok(pending), Ok(dead)) => {
            state.metrics.set_mail_pending(pending);
            state.metrics.set_mail_dead(dead);
        }
        (Err(error), _) | (_, Err(error)) => {
            tracing::warn!(error = ?error, "could not count the mail outbox");
        }
    }
    state.metrics.live.set_sockets_open(state.hub.open());
    let body = state.metrics.render().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}

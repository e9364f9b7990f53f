//! The tenant extractor: resolves `{store}` in the path to an active store before the handler
//! runs. Unknown, malformed and suspended stores are all the same 404. Each store's storefront
//! has its own rate limit, so one busy store cannot starve the others, and each client address
//! its own within a store, so a few abusers are refused long before the store's budget is gone.

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use futures_util::future::LocalBoxFuture;
use techverse_shared::StoreSlug;

use super::{AppState, auth::app_state, error::ApiError, limits::enforce};
use crate::{domain::store::Store, ratelimit::Rule};

/// The store named in the path, open to the public.
pub struct CurrentStore(pub Store);

/// Resolves the public store in the path and counts the request against its limit.
pub async fn public_store(req: &HttpRequest, state: &AppState) -> Result<Store, ApiError> {
    let Some(Ok(slug)) = req.match_info().get("store").map(StoreSlug::parse) else {
        return Err(ApiError::store_not_found());
    };
    tracing::Span::current().record("store", slug.as_str());
    let store = match state.ctx.storage.stores().by_slug(&slug).await? {
        Some(store) if store.is_public() => store,
        _ => return Err(ApiError::store_not_found()),
    };
    // The client's own budget in this store first: refused, it spends nothing of the store's.
    let ip = super::limits::client_ip(req, &state.settings);
    enforce(req, state, Rule::StoreIp, &format!("{}|{ip}", store.id)).await?;
    enforce(req, state, Rule::Store, &store.id.to_string()).await?;
    Ok(store)
}

impl FromRequest for CurrentStore {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req)?;
            public_store(&req, &state).await.map(Self)
        })
    }
}

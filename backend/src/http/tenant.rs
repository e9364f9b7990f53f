//! The tenant extractor: resolves `{store}` in the path to an active store before the handler
//! runs. Unknown, malformed and suspended stores are all the same 404.

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;
use techverse_shared::StoreSlug;

use super::{AppState, error::ApiError};
use crate::domain::store::Store;

/// The store named in the path, open to the public.
pub struct CurrentStore(pub Store);

impl FromRequest for CurrentStore {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let slug = req.match_info().get("store").map(StoreSlug::parse);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))?;
            let Some(Ok(slug)) = slug else {
                return Err(ApiError::store_not_found());
            };
            tracing::Span::current().record("store", slug.as_str());
            match state.storage.stores().by_slug(&slug).await? {
                Some(store) if store.is_public() => Ok(Self(store)),
                _ => Err(ApiError::store_not_found()),
            }
        })
    }
}

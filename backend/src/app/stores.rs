//! Opening, listing, suspending and reactivating stores.

use techverse_shared::{StoreId, StoreSlug, StoreStatus};

use crate::{
    domain::{
        self,
        store::{NewStore, NewStoreInput, Store},
        validation::ValidationErrors,
    },
    storage::{Storage, StorageError},
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error("the slug `{0}` is already taken")]
    SlugTaken(StoreSlug),
    #[error("no store `{0}`")]
    NotFound(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Validates the input and opens a new, active store with a fresh id.
#[tracing::instrument(skip_all, fields(slug = %input.slug))]
pub async fn open(storage: &dyn Storage, input: &NewStoreInput) -> Result<Store, StoreError> {
    let new = NewStore::parse(input)?;
    let store = Store::open(StoreId::from_uuid(uuid::Uuid::now_v7()), new, domain::now());
    match storage.stores().insert(&store).await {
        Ok(()) => Ok(store),
        Err(StorageError::Conflict(_)) => Err(StoreError::SlugTaken(store.slug)),
        Err(other) => Err(other.into()),
    }
}

/// Suspends or reactivates the store with this slug.
#[tracing::instrument(skip(storage))]
pub async fn set_status(
    storage: &dyn Storage,
    slug: &str,
    status: StoreStatus,
) -> Result<Store, StoreError> {
    let not_found = || StoreError::NotFound(slug.to_owned());
    let parsed = StoreSlug::parse(slug).map_err(|_| not_found())?;
    let store = storage
        .stores()
        .by_slug(&parsed)
        .await?
        .ok_or_else(not_found)?;
    if store.status == status {
        return Ok(store);
    }
    storage
        .stores()
        .set_status(store.id, status, domain::now())
        .await?
        .ok_or_else(not_found)
}

/// The largest page of stores one call returns.
pub const MAX_PAGE: u32 = 200;

/// A page of stores in slug order, and the cursor of the next page when there is one.
pub async fn page(
    storage: &dyn Storage,
    after: Option<&StoreSlug>,
    limit: u32,
) -> Result<(Vec<Store>, Option<StoreSlug>), StoreError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let mut stores = storage.stores().list(after, limit + 1).await?;
    let next = if stores.len() > limit as usize {
        stores.truncate(limit as usize);
        stores.last().map(|store| store.slug.clone())
    } else {
        None
    };
    Ok((stores, next))
}

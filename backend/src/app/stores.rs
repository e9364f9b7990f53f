//! Opening, listing, suspending and reactivating stores.

use serde_json::json;
use techverse_shared::{StoreId, StoreSlug, StoreStatus};

use super::{Context, audit};
use crate::{
    domain::{
        self,
        store::{NewStore, NewStoreInput, Store, StorePatch},
        validation::ValidationErrors,
    },
    storage::{OrderQuery, Storage, StorageError},
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

/// Changes the store's profile (name, description, logo, contact email, time zone; the
/// currency only while it has no orders), audited `store.updated` with the fields changed.
pub async fn update_profile(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
    patch: &StorePatch,
) -> Result<Store, StoreError> {
    let any_order = OrderQuery {
        limit: 1,
        ..OrderQuery::default()
    };
    let has_orders = !ctx
        .storage
        .commerce()
        .orders(store.id, &any_order)
        .await?
        .is_empty();
    let next = patch.apply(store, has_orders, domain::now())?;
    let saved = ctx
        .storage
        .stores()
        .update_profile(&next)
        .await?
        .ok_or_else(|| StoreError::NotFound(store.slug.as_str().to_owned()))?;
    let (before, after) = (store.profile(), saved.profile());
    let mut changed = serde_json::Map::new();
    let (before, after) = (json!(before), json!(after));
    for key in [
        "name",
        "description",
        "logo_url",
        "contact_email",
        "timezone",
        "currency",
    ] {
        if before.get(key) != after.get(key) {
            changed.insert(
                key.to_owned(),
                json!({ "from": before.get(key), "to": after.get(key) }),
            );
        }
    }
    audit::record(
        ctx,
        store.id,
        actor,
        "store.updated",
        "store".to_owned(),
        serde_json::Value::Object(changed),
    )
    .await?;
    Ok(saved)
}

//! `StoreRepository` on MongoDB.

use async_trait::async_trait;
use jiff::Timestamp;
use mongodb::bson::Document;
use techverse_shared::{StoreId, StoreSlug, StoreStatus};

use super::{MongoStorage, mongo_error, query, unavailable};
use crate::{
    domain::store::Store,
    storage::{StorageError, StorageResult, StoreRepository},
};

fn parse(document: &Document) -> StorageResult<Store> {
    query::store_from_document(document)
        .map_err(|field| StorageError::Corrupt(format!("store document: bad {field}")))
}

fn parse_optional(document: Option<Document>) -> StorageResult<Option<Store>> {
    document.as_ref().map(parse).transpose()
}

#[async_trait]
impl StoreRepository for MongoStorage {
    async fn insert(&self, store: &Store) -> StorageResult<()> {
        self.stores
            .insert_one(query::store_document(store))
            .await
            .map(drop)
            .map_err(mongo_error("stores.slug"))
    }

    async fn by_id(&self, id: StoreId) -> StorageResult<Option<Store>> {
        parse_optional(
            self.stores
                .find_one(query::store_by_id(id))
                .await
                .map_err(unavailable)?,
        )
    }

    async fn by_slug(&self, slug: &StoreSlug) -> StorageResult<Option<Store>> {
        parse_optional(
            self.stores
                .find_one(query::store_by_slug(slug))
                .await
                .map_err(unavailable)?,
        )
    }

    async fn list(&self, after: Option<&StoreSlug>, limit: u32) -> StorageResult<Vec<Store>> {
        let documents = super::collect(
            self.stores
                .find(query::stores_after(after))
                .sort(query::stores_sort())
                .limit(i64::from(limit)),
        )
        .await?;
        documents.iter().map(parse).collect()
    }

    async fn set_status(
        &self,
        id: StoreId,
        status: StoreStatus,
        at: Timestamp,
    ) -> StorageResult<Option<Store>> {
        // The whole document is written back (not a `$set` of two fields), so every field keeps
        // the BSON type it was inserted with, on every MongoDB-wire server.
        let Some(mut store) = self.by_id(id).await? else {
            return Ok(None);
        };
        store.status = status;
        store.updated_at = at;
        let replaced = self
            .stores
            .replace_one(query::store_by_id(id), query::store_document(&store))
            .await
            .map_err(unavailable)?;
        Ok((replaced.matched_count == 1).then_some(store))
    }

    async fn update_profile(&self, store: &Store) -> StorageResult<Option<Store>> {
        // The whole document is written back, on the status it was read with: a suspension
        // saved meanwhile is never undone; the profile is applied again on the new status.
        for _ in 0..5 {
            let Some(current) = self.by_id(store.id).await? else {
                return Ok(None);
            };
            let next = Store {
                status: current.status,
                slug: current.slug.clone(),
                created_at: current.created_at,
                ..store.clone()
            };
            let mut filter = query::store_by_id(store.id);
            filter.insert("status", current.status.as_str());
            let replaced = self
                .stores
                .replace_one(filter, query::store_document(&next))
                .await
                .map_err(unavailable)?;
            if replaced.matched_count == 1 {
                return Ok(Some(next));
            }
        }
        Err(StorageError::Unavailable(anyhow::anyhow!(
            "store {} kept changing while saving its profile",
            store.id
        )))
    }
}

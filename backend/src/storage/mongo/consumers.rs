//! Event consumers' positions on MongoDB: one document per (consumer, store), leased by an
//! owner, beside `event_heads` (each store's newest seq, raised on every append).

use std::collections::HashMap;

use async_trait::async_trait;
use jiff::Timestamp;
use mongodb::{
    bson::{Document, doc},
    options::ReturnDocument,
};
use techverse_shared::StoreId;

use super::{MongoStorage, catalog::number, collect, query, unavailable};
use crate::storage::{ConsumerLag, ConsumerRepository, StorageError, StorageResult};

/// The consumers a store that existed before consumers starts at its head for.
const CONSUMERS: [&str; 3] = ["realtime", "mail", "webhooks"];
const MIGRATED: &str = "migration:consumers";

fn position_id(consumer: &str, store: StoreId) -> String {
    format!("{consumer}:{store}")
}

impl MongoStorage {
    /// Raises the store's head to `seq` (never lowers it: appends may finish out of order).
    pub(super) async fn raise_head(&self, store: StoreId, seq: i64) -> StorageResult<()> {
        self.collection(query::EVENT_HEADS)
            .update_one(
                doc! { "_id": store.to_string() },
                doc! { "$max": { "seq": seq } },
            )
            .upsert(true)
            .await
            .map(drop)
            .map_err(unavailable)
    }

    /// Once per database: stores whose log predates consumers start every consumer at their
    /// head, so upgrading does not mail or post years of old events.
    pub(super) async fn start_consumers_at_heads(&self) -> StorageResult<()> {
        let counters = self.collection(query::COUNTERS);
        if counters
            .find_one(doc! { "_id": MIGRATED })
            .await
            .map_err(unavailable)?
            .is_some()
        {
            return Ok(());
        }
        for store in collect(self.collection(query::STORES).find(doc! {})).await? {
            let Ok(id) = store.get_str("_id") else {
                continue;
            };
            let Ok(store_id) = id.parse::<StoreId>() else {
                continue;
            };
            let head = counters
                .find_one(doc! { "_id": format!("events:{id}") })
                .await
                .map_err(unavailable)?
                .map_or(0, |counter| number(&counter, "value"));
            if head == 0 {
                continue;
            }
            self.raise_head(store_id, head).await?;
            for consumer in CONSUMERS {
                self.collection(query::CONSUMER_POSITIONS)
                    .update_one(
                        doc! { "_id": position_id(consumer, store_id) },
                        doc! { "$max": { "position": head }, "$set": {
                            "consumer": consumer, "store_id": id, "lease_until": 0_i64,
                        } },
                    )
                    .upsert(true)
                    .await
                    .map_err(unavailable)?;
            }
        }
        counters
            .update_one(
                doc! { "_id": MIGRATED },
                doc! { "$set": { "value": 1_i64 } },
            )
            .upsert(true)
            .await
            .map(drop)
            .map_err(unavailable)
    }
}

fn store_of(document: &Document, key: &str) -> StorageResult<StoreId> {
    document
        .get_str(key)
        .ok()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| StorageError::Corrupt(format!("consumer document without {key}")))
}

#[async_trait]
impl ConsumerRepository for MongoStorage {
    async fn behind(&self, consumer: &str, limit: u32) -> StorageResult<Vec<ConsumerLag>> {
        let positions: HashMap<StoreId, i64> = collect(
            self.collection(query::CONSUMER_POSITIONS)
                .find(doc! { "consumer": consumer }),
        )
        .await?
        .iter()
        .map(|document| {
            Ok((
                store_of(document, "store_id")?,
                number(document, "position"),
            ))
        })
        .collect::<StorageResult<_>>()?;
        let mut lagging = Vec::new();
        for head in collect(self.collection(query::EVENT_HEADS).find(doc! {})).await? {
            let store = store_of(&head, "_id")?;
            let (head, position) = (
                number(&head, "seq"),
                positions.get(&store).copied().unwrap_or(0),
            );
            if head > position {
                lagging.push(ConsumerLag {
                    store,
                    head,
                    position,
                });
            }
            if lagging.len() >= limit as usize {
                break;
            }
        }
        Ok(lagging)
    }

    async fn claim(
        &self,
        consumer: &str,
        store: StoreId,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StorageResult<Option<i64>> {
        let positions = self.collection(query::CONSUMER_POSITIONS);
        let id = position_id(consumer, store);
        let fresh = doc! {
            "_id": &id, "consumer": consumer, "store_id": store.to_string(),
            "position": 0_i64, "lease_until": 0_i64,
        };
        if let Err(error) = positions.insert_one(fresh).await
            && !super::is_duplicate_key(&error)
        {
            return Err(unavailable(error));
        }
        let claimed = positions
            .find_one_and_update(
                doc! { "_id": &id, "$or": [
                    { "lease_until": { "$lte": now.as_millisecond() } },
                    { "owner": owner },
                ] },
                doc! { "$set": { "owner": owner, "lease_until": lease_until.as_millisecond() } },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(unavailable)?;
        Ok(claimed.map(|document| number(&document, "position")))
    }

    async fn advance(
        &self,
        consumer: &str,
        store: StoreId,
        owner: &str,
        seq: i64,
    ) -> StorageResult<bool> {
        let updated = self
            .collection(query::CONSUMER_POSITIONS)
            .update_one(
                doc! { "_id": position_id(consumer, store), "owner": owner },
                doc! {
                    "$max": { "position": seq },
                    "$set": { "owner": "", "lease_until": 0_i64 },
                },
            )
            .await
            .map_err(unavailable)?;
        Ok(updated.matched_count > 0)
    }
}

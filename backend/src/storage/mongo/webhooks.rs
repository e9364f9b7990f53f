//! Merchant webhooks on MongoDB: endpoints replaced whole at their version, deliveries with a
//! `due_at` beside the document (`i64::MAX` once nothing is due, never null: a null and a
//! missing field differ between servers).

use async_trait::async_trait;
use jiff::Timestamp;
use mongodb::bson::{Document, doc};
use techverse_shared::{StoreId, WebhookDeliveryId, WebhookId};

use super::{
    MongoStorage, collect,
    identity::{claim_each, from_document, to_document},
    mongo_error, query, unavailable,
};
use crate::{
    domain::webhook::{Delivery, DeliveryState, WebhookEndpoint},
    storage::{StorageResult, WebhookRepository},
};

fn due(delivery: &Delivery) -> i64 {
    match (delivery.state, delivery.next_attempt_at) {
        (DeliveryState::Pending, Some(at)) => at.as_millisecond(),
        _ => i64::MAX,
    }
}

fn delivery_document(delivery: &Delivery) -> StorageResult<Document> {
    to_document(
        &delivery.id.to_string(),
        delivery,
        doc! { "due_at": due(delivery) },
    )
}

#[async_trait]
impl WebhookRepository for MongoStorage {
    async fn insert_webhook(&self, endpoint: &WebhookEndpoint) -> StorageResult<()> {
        let document = to_document(&endpoint.id.to_string(), endpoint, doc! {})?;
        self.collection(query::WEBHOOKS)
            .insert_one(document)
            .await
            .map(drop)
            .map_err(mongo_error("webhooks.id"))
    }

    async fn webhook(
        &self,
        store: StoreId,
        id: WebhookId,
    ) -> StorageResult<Option<WebhookEndpoint>> {
        let found = self
            .collection(query::WEBHOOKS)
            .find_one(doc! { "_id": id.to_string(), "store_id": store.to_string() })
            .await
            .map_err(unavailable)?;
        found.map(from_document).transpose()
    }

    async fn webhooks(&self, store: StoreId) -> StorageResult<Vec<WebhookEndpoint>> {
        collect(
            self.collection(query::WEBHOOKS)
                .find(doc! { "store_id": store.to_string() })
                .sort(doc! { "_id": 1 }),
        )
        .await?
        .into_iter()
        .map(from_document)
        .collect()
    }

    async fn save_webhook(&self, endpoint: &WebhookEndpoint) -> StorageResult<bool> {
        let mut next = endpoint.clone();
        next.version += 1;
        let replaced = self
            .collection(query::WEBHOOKS)
            .replace_one(
                doc! {
                    "_id": endpoint.id.to_string(),
                    "store_id": endpoint.store_id.to_string(),
                    "version": endpoint.version,
                },
                to_document(&endpoint.id.to_string(), &next, doc! {})?,
            )
            .await
            .map_err(unavailable)?;
        Ok(replaced.matched_count == 1)
    }

    async fn delete_webhook(&self, store: StoreId, id: WebhookId) -> StorageResult<bool> {
        let deleted = self
            .collection(query::WEBHOOKS)
            .delete_one(doc! { "_id": id.to_string(), "store_id": store.to_string() })
            .await
            .map_err(unavailable)?;
        self.collection(query::WEBHOOK_DELIVERIES)
            .delete_many(doc! { "store_id": store.to_string(), "endpoint_id": id.to_string() })
            .await
            .map_err(unavailable)?;
        Ok(deleted.deleted_count > 0)
    }

    async fn insert_delivery(&self, delivery: &Delivery) -> StorageResult<bool> {
        match self
            .collection(query::WEBHOOK_DELIVERIES)
            .insert_one(delivery_document(delivery)?)
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if super::is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<Delivery>> {
        claim_each(
            &self.collection(query::WEBHOOK_DELIVERIES),
            "due_at",
            now,
            lease_until,
            limit,
        )
        .await
    }

    async fn save_delivery(&self, delivery: &Delivery) -> StorageResult<()> {
        self.collection(query::WEBHOOK_DELIVERIES)
            .replace_one(
                doc! { "_id": delivery.id.to_string() },
                delivery_document(delivery)?,
            )
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn delivery(
        &self,
        store: StoreId,
        id: WebhookDeliveryId,
    ) -> StorageResult<Option<Delivery>> {
        let found = self
            .collection(query::WEBHOOK_DELIVERIES)
            .find_one(doc! { "_id": id.to_string(), "store_id": store.to_string() })
            .await
            .map_err(unavailable)?;
        found.map(from_document).transpose()
    }

    async fn deliveries(
        &self,
        store: StoreId,
        endpoint: WebhookId,
        before: Option<WebhookDeliveryId>,
        limit: u32,
    ) -> StorageResult<Vec<Delivery>> {
        let mut filter =
            doc! { "store_id": store.to_string(), "endpoint_id": endpoint.to_string() };
        if let Some(before) = before {
            filter.insert("_id", doc! { "$lt": before.to_string() });
        }
        collect(
            self.collection(query::WEBHOOK_DELIVERIES)
                .find(filter)
                .sort(doc! { "_id": -1 })
                .limit(i64::from(limit)),
        )
        .await?
        .into_iter()
        .map(from_document)
        .collect()
    }

    async fn delete_deliveries(&self, before: Timestamp) -> StorageResult<u64> {
        self.collection(query::WEBHOOK_DELIVERIES)
            .delete_many(doc! {
                "created_at": { "$lt": before.as_millisecond() },
                "due_at": i64::MAX,
            })
            .await
            .map(|deleted| deleted.deleted_count)
            .map_err(unavailable)
    }
}

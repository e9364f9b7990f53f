//! Merchant webhooks on SQLite: endpoints as versioned documents, deliveries with their due
//! time and lease beside the document.

use async_trait::async_trait;
use jiff::Timestamp;
use techverse_shared::{StoreId, WebhookDeliveryId, WebhookId};

use super::{
    EmbeddedStorage,
    identity::{Lease, immediate, to_json},
    unavailable,
};
use crate::{
    domain::webhook::{Delivery, DeliveryState, WebhookEndpoint},
    storage::{StorageResult, WebhookRepository},
};

fn due(delivery: &Delivery) -> Option<i64> {
    (delivery.state == DeliveryState::Pending)
        .then(|| delivery.next_attempt_at.map(Timestamp::as_millisecond))
        .flatten()
}

#[async_trait]
impl WebhookRepository for EmbeddedStorage {
    async fn insert_webhook(&self, endpoint: &WebhookEndpoint) -> StorageResult<()> {
        self.write(
            "INSERT INTO webhooks (store_id, id, version, doc) VALUES (?1, ?2, ?3, ?4)",
            (
                endpoint.store_id.to_string(),
                endpoint.id.to_string(),
                endpoint.version,
                to_json(endpoint)?,
            ),
            "webhooks.id",
        )
        .await
        .map(drop)
    }

    async fn webhook(
        &self,
        store: StoreId,
        id: WebhookId,
    ) -> StorageResult<Option<WebhookEndpoint>> {
        self.doc(
            "SELECT doc FROM webhooks WHERE store_id = ?1 AND id = ?2",
            (store.to_string(), id.to_string()),
        )
        .await
    }

    async fn webhooks(&self, store: StoreId) -> StorageResult<Vec<WebhookEndpoint>> {
        self.docs(
            "SELECT doc FROM webhooks WHERE store_id = ?1 ORDER BY id",
            (store.to_string(),),
        )
        .await
    }

    async fn save_webhook(&self, endpoint: &WebhookEndpoint) -> StorageResult<bool> {
        let mut next = endpoint.clone();
        next.version += 1;
        let changed = self
            .write(
                "UPDATE webhooks SET version = ?4, doc = ?5
                 WHERE store_id = ?1 AND id = ?2 AND version = ?3",
                (
                    endpoint.store_id.to_string(),
                    endpoint.id.to_string(),
                    endpoint.version,
                    next.version,
                    to_json(&next)?,
                ),
                "webhooks.id",
            )
            .await?;
        Ok(changed == 1)
    }

    async fn delete_webhook(&self, store: StoreId, id: WebhookId) -> StorageResult<bool> {
        let (store, id) = (store.to_string(), id.to_string());
        self.call(move |conn| {
            let tx = immediate(conn)?;
            tx.execute(
                "DELETE FROM webhook_deliveries WHERE store_id = ?1 AND endpoint_id = ?2",
                (&store, &id),
            )
            .map_err(unavailable)?;
            let deleted = tx
                .execute(
                    "DELETE FROM webhooks WHERE store_id = ?1 AND id = ?2",
                    (&store, &id),
                )
                .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn insert_delivery(&self, delivery: &Delivery) -> StorageResult<bool> {
        self.write(
            "INSERT INTO webhook_deliveries
                 (id, store_id, endpoint_id, event_id, due_at, lease_until, created_at, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
            (
                delivery.id.to_string(),
                delivery.store_id.to_string(),
                delivery.endpoint_id.to_string(),
                delivery.event_id.to_string(),
                due(delivery),
                delivery.lease_until.as_millisecond(),
                delivery.created_at.as_millisecond(),
                to_json(delivery)?,
            ),
            "webhook_deliveries.id",
        )
        .await
        .map(|inserted| inserted > 0)
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<Delivery>> {
        self.claim_docs(
            "SELECT doc FROM webhook_deliveries
             WHERE due_at IS NOT NULL AND due_at <= ?1 AND lease_until <= ?1
             ORDER BY due_at LIMIT ?2",
            "UPDATE webhook_deliveries SET lease_until = ?2, doc = ?3 WHERE id = ?1",
            Lease {
                now,
                until: lease_until,
                limit,
            },
            |delivery: &mut Delivery, until| {
                delivery.lease_until = until;
                delivery.id.to_string()
            },
        )
        .await
    }

    async fn save_delivery(&self, delivery: &Delivery) -> StorageResult<()> {
        self.write(
            "UPDATE webhook_deliveries SET due_at = ?2, lease_until = ?3, doc = ?4 WHERE id = ?1",
            (
                delivery.id.to_string(),
                due(delivery),
                delivery.lease_until.as_millisecond(),
                to_json(delivery)?,
            ),
            "webhook_deliveries.id",
        )
        .await
        .map(drop)
    }

    async fn delivery(
        &self,
        store: StoreId,
        id: WebhookDeliveryId,
    ) -> StorageResult<Option<Delivery>> {
        self.doc(
            "SELECT doc FROM webhook_deliveries WHERE store_id = ?1 AND id = ?2",
            (store.to_string(), id.to_string()),
        )
        .await
    }

    async fn deliveries(
        &self,
        store: StoreId,
        endpoint: WebhookId,
        before: Option<WebhookDeliveryId>,
        limit: u32,
    ) -> StorageResult<Vec<Delivery>> {
        // Ids are UUIDv7: newest first is descending id order.
        let before = before.map_or_else(|| "~".to_owned(), |id| id.to_string());
        self.docs(
            "SELECT doc FROM webhook_deliveries WHERE store_id = ?1 AND endpoint_id = ?2 AND id < ?3
             ORDER BY id DESC LIMIT ?4",
            (store.to_string(), endpoint.to_string(), before, limit),
        )
        .await
    }

    async fn delete_deliveries(&self, before: Timestamp) -> StorageResult<u64> {
        self.write(
            "DELETE FROM webhook_deliveries WHERE created_at < ?1 AND due_at IS NULL",
            [before.as_millisecond()],
            "webhook_deliveries.id",
        )
        .await
        .map(|n| n as u64)
    }
}

//! `PaymentRepository` on MongoDB. Documents are replaced whole (never `$set`), guarded by
//! their version where two writers may meet.

use async_trait::async_trait;
use jiff::Timestamp;
use mongodb::bson::{Document, doc};
use techverse_shared::{OrderId, StoreId};

use super::{
    MongoStorage,
    catalog::number,
    collect,
    identity::{find_one, from_document, to_document},
    is_duplicate_key, mongo_error, query, unavailable,
};
use crate::{
    domain::payment::{AttemptState, ConnectedAccount, EventRecord, PaymentAttempt, ProviderEvent},
    storage::{PaymentRepository, StorageError, StorageResult},
};

/// The attempt states the reconciler looks at.
fn unsettled_states() -> Vec<&'static str> {
    [AttemptState::Open, AttemptState::RefundDue]
        .into_iter()
        .map(AttemptState::as_str)
        .collect()
}

#[async_trait]
impl PaymentRepository for MongoStorage {
    async fn connected_account(&self, store: StoreId) -> StorageResult<Option<ConnectedAccount>> {
        find_one(
            &self.collection(query::STRIPE_ACCOUNTS),
            doc! { "_id": store.to_string() },
        )
        .await
    }

    async fn connected_account_by_id(
        &self,
        account_id: &str,
    ) -> StorageResult<Option<ConnectedAccount>> {
        find_one(
            &self.collection(query::STRIPE_ACCOUNTS),
            doc! { "account_id": account_id },
        )
        .await
    }

    async fn save_connected_account(&self, account: &ConnectedAccount) -> StorageResult<()> {
        let id = account.store_id.to_string();
        let document = to_document(&id, account, doc! {})?;
        self.collection(query::STRIPE_ACCOUNTS)
            .replace_one(doc! { "_id": &id }, document)
            .upsert(true)
            .await
            .map(drop)
            .map_err(mongo_error("stripe_accounts.account_id"))
    }

    async fn record_event(&self, event: &ProviderEvent) -> StorageResult<EventRecord> {
        let events = self.collection(query::PAYMENT_EVENTS);
        let document = doc! {
            "_id": &event.id,
            "kind": &event.kind,
            "account": event.account.clone().unwrap_or_default(),
            "received_at": event.received_at.as_millisecond(),
            "processed_at": 0_i64,
        };
        match events.insert_one(document).await {
            Ok(_) => Ok(EventRecord::New),
            Err(error) if is_duplicate_key(&error) => {
                let seen: Option<Document> = events
                    .find_one(doc! { "_id": &event.id })
                    .await
                    .map_err(unavailable)?;
                Ok(match seen {
                    Some(seen) if number(&seen, "processed_at") > 0 => EventRecord::Processed,
                    _ => EventRecord::Unprocessed,
                })
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn mark_event_processed(&self, id: &str, at: Timestamp) -> StorageResult<()> {
        let events = self.collection(query::PAYMENT_EVENTS);
        let Some(mut seen) = events
            .find_one(doc! { "_id": id })
            .await
            .map_err(unavailable)?
        else {
            return Ok(());
        };
        seen.insert("processed_at", at.as_millisecond());
        events
            .replace_one(doc! { "_id": id }, seen)
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn delete_processed_events(&self, before: Timestamp) -> StorageResult<u64> {
        self.collection(query::PAYMENT_EVENTS)
            .delete_many(doc! { "processed_at": { "$gt": 0_i64, "$lt": before.as_millisecond() } })
            .await
            .map(|result| result.deleted_count)
            .map_err(unavailable)
    }

    async fn insert_attempt(&self, attempt: &PaymentAttempt) -> StorageResult<()> {
        let document = to_document(&attempt.order_id.to_string(), attempt, doc! {})?;
        match self
            .collection(query::PAYMENT_ATTEMPTS)
            .insert_one(document)
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if is_duplicate_key(&error) => {
                let same_order = self.attempt(attempt.store_id, attempt.order_id).await?;
                let held = self
                    .collection(query::PAYMENT_ATTEMPTS)
                    .find_one(doc! { "_id": attempt.order_id.to_string() })
                    .await
                    .map_err(unavailable)?;
                Err(StorageError::Conflict(
                    if same_order.is_some() || held.is_some() {
                        "payment_attempts.order"
                    } else {
                        "payment_attempts.intent"
                    },
                ))
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn attempt(
        &self,
        store: StoreId,
        order: OrderId,
    ) -> StorageResult<Option<PaymentAttempt>> {
        find_one(
            &self.collection(query::PAYMENT_ATTEMPTS),
            doc! { "_id": order.to_string(), "store_id": store.to_string() },
        )
        .await
    }

    async fn attempt_by_intent(&self, intent_id: &str) -> StorageResult<Option<PaymentAttempt>> {
        find_one(
            &self.collection(query::PAYMENT_ATTEMPTS),
            doc! { "intent_id": intent_id },
        )
        .await
    }

    async fn save_attempt(&self, attempt: &PaymentAttempt) -> StorageResult<bool> {
        let mut next = attempt.clone();
        next.version += 1;
        let id = attempt.order_id.to_string();
        let document = to_document(&id, &next, doc! {})?;
        let result = self
            .collection(query::PAYMENT_ATTEMPTS)
            .replace_one(
                doc! { "_id": &id, "store_id": attempt.store_id.to_string(), "version": attempt.version },
                document,
            )
            .await
            .map_err(unavailable)?;
        Ok(result.matched_count == 1)
    }

    async fn unsettled_attempts(
        &self,
        store: Option<StoreId>,
        before: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<PaymentAttempt>> {
        let mut filter = doc! {
            "state": { "$in": unsettled_states() },
            "created_at": { "$lt": before.as_millisecond() },
            "lease_until": { "$lte": now.as_millisecond() },
        };
        if let Some(store) = store {
            filter.insert("store_id", store.to_string());
        }
        let found = collect(
            self.collection(query::PAYMENT_ATTEMPTS)
                .find(filter)
                .sort(doc! { "created_at": 1 })
                .limit(i64::from(limit)),
        )
        .await?;
        found.into_iter().map(from_document).collect()
    }
}

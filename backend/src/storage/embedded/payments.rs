//! `PaymentRepository` on SQLite: JSON documents beside the columns queries need.

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use techverse_shared::{OrderId, StoreId};

use super::{
    EmbeddedStorage,
    identity::{from_json, to_json},
    sql_error, unavailable,
};
use crate::{
    domain::payment::{ConnectedAccount, EventRecord, PaymentAttempt, ProviderEvent},
    storage::{PaymentRepository, StorageError, StorageResult},
};

#[async_trait]
impl PaymentRepository for EmbeddedStorage {
    async fn connected_account(&self, store: StoreId) -> StorageResult<Option<ConnectedAccount>> {
        self.doc(
            "SELECT doc FROM stripe_accounts WHERE store_id = ?1",
            [store.to_string()],
        )
        .await
    }

    async fn connected_account_by_id(
        &self,
        account_id: &str,
    ) -> StorageResult<Option<ConnectedAccount>> {
        self.doc(
            "SELECT doc FROM stripe_accounts WHERE account_id = ?1",
            [account_id.to_owned()],
        )
        .await
    }

    async fn save_connected_account(&self, account: &ConnectedAccount) -> StorageResult<()> {
        let doc = to_json(account)?;
        self.write(
            "INSERT INTO stripe_accounts (store_id, account_id, doc) VALUES (?1, ?2, ?3)
             ON CONFLICT (store_id) DO UPDATE SET account_id = excluded.account_id, doc = excluded.doc",
            (account.store_id.to_string(), account.account_id.clone(), doc),
            "stripe_accounts.account_id",
        )
        .await
        .map(drop)
    }

    async fn record_event(&self, event: &ProviderEvent) -> StorageResult<EventRecord> {
        let ProviderEvent {
            id,
            kind,
            account,
            received_at,
        } = event.clone();
        self.call(move |conn| {
            let inserted = conn
                .execute(
                    "INSERT INTO payment_events (id, kind, account, received_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO NOTHING",
                    params![id, kind, account, received_at.as_millisecond()],
                )
                .map_err(unavailable)?;
            if inserted == 1 {
                return Ok(EventRecord::New);
            }
            let processed: Option<i64> = conn
                .query_row(
                    "SELECT processed_at FROM payment_events WHERE id = ?1",
                    [&id],
                    |row| row.get(0),
                )
                .map_err(unavailable)?;
            Ok(if processed.is_some() {
                EventRecord::Processed
            } else {
                EventRecord::Unprocessed
            })
        })
        .await
    }

    async fn mark_event_processed(&self, id: &str, at: Timestamp) -> StorageResult<()> {
        self.write(
            "UPDATE payment_events SET processed_at = ?2 WHERE id = ?1",
            (id.to_owned(), at.as_millisecond()),
            "payment_events.id",
        )
        .await
        .map(drop)
    }

    async fn delete_processed_events(&self, before: Timestamp) -> StorageResult<u64> {
        let deleted = self
            .write(
                "DELETE FROM payment_events WHERE processed_at IS NOT NULL AND processed_at < ?1",
                [before.as_millisecond()],
                "payment_events.id",
            )
            .await?;
        Ok(u64::try_from(deleted).unwrap_or(0))
    }

    async fn insert_attempt(&self, attempt: &PaymentAttempt) -> StorageResult<()> {
        let doc = to_json(attempt)?;
        let attempt = attempt.clone();
        self.call(move |conn| {
            let tx = super::identity::immediate(conn)?;
            let taken = |sql: &str, value: String| {
                tx.query_row(sql, [value], |_| Ok(()))
                    .optional()
                    .map(|found| found.is_some())
                    .map_err(unavailable)
            };
            if taken(
                "SELECT 1 FROM payment_attempts WHERE order_id = ?1",
                attempt.order_id.to_string(),
            )? {
                return Err(StorageError::Conflict("payment_attempts.order"));
            }
            if taken(
                "SELECT 1 FROM payment_attempts WHERE intent_id = ?1",
                attempt.intent_id.clone(),
            )? {
                return Err(StorageError::Conflict("payment_attempts.intent"));
            }
            tx.execute(
                "INSERT INTO payment_attempts
                 (store_id, order_id, intent_id, unsettled, created_at, lease_until, version, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    attempt.store_id.to_string(),
                    attempt.order_id.to_string(),
                    attempt.intent_id,
                    attempt.state.unsettled(),
                    attempt.created_at.as_millisecond(),
                    attempt.lease_until.as_millisecond(),
                    attempt.version,
                    doc
                ],
            )
            .map_err(sql_error("payment_attempts.intent"))?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn attempt(
        &self,
        store: StoreId,
        order: OrderId,
    ) -> StorageResult<Option<PaymentAttempt>> {
        self.doc(
            "SELECT doc FROM payment_attempts WHERE store_id = ?1 AND order_id = ?2",
            [store.to_string(), order.to_string()],
        )
        .await
    }

    async fn attempt_by_intent(&self, intent_id: &str) -> StorageResult<Option<PaymentAttempt>> {
        self.doc(
            "SELECT doc FROM payment_attempts WHERE intent_id = ?1",
            [intent_id.to_owned()],
        )
        .await
    }

    async fn save_attempt(&self, attempt: &PaymentAttempt) -> StorageResult<bool> {
        let mut next = attempt.clone();
        next.version += 1;
        let doc = to_json(&next)?;
        let changed = self
            .write(
                "UPDATE payment_attempts SET unsettled = ?3, lease_until = ?4, version = ?5, doc = ?6
                 WHERE store_id = ?1 AND order_id = ?2 AND version = ?7",
                (
                    attempt.store_id.to_string(),
                    attempt.order_id.to_string(),
                    attempt.state.unsettled(),
                    attempt.lease_until.as_millisecond(),
                    next.version,
                    doc,
                    attempt.version,
                ),
                "payment_attempts.order",
            )
            .await?;
        Ok(changed == 1)
    }

    async fn unsettled_attempts(
        &self,
        store: Option<StoreId>,
        before: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<PaymentAttempt>> {
        let store = store.map(|s| s.to_string());
        let docs: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT doc FROM payment_attempts
                         WHERE unsettled = 1 AND created_at < ?1 AND lease_until <= ?2
                           AND (?3 IS NULL OR store_id = ?3)
                         ORDER BY created_at LIMIT ?4",
                    )
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map(
                        params![
                            before.as_millisecond(),
                            now.as_millisecond(),
                            store,
                            i64::from(limit)
                        ],
                        |row| row.get(0),
                    )
                    .map_err(unavailable)?;
                rows.collect::<Result<_, _>>().map_err(unavailable)
            })
            .await?;
        docs.iter().map(|doc| from_json(doc)).collect()
    }
}

//! Event consumers' positions on SQLite: one row per (consumer, store), leased by an owner.

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::OptionalExtension;
use techverse_shared::StoreId;

use super::{EmbeddedStorage, identity::immediate, unavailable};
use crate::storage::{ConsumerLag, ConsumerRepository, StorageError, StorageResult};

#[async_trait]
impl ConsumerRepository for EmbeddedStorage {
    async fn behind(&self, consumer: &str, limit: u32) -> StorageResult<Vec<ConsumerLag>> {
        let consumer = consumer.to_owned();
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT h.store_id, h.seq, COALESCE(p.position, 0) FROM event_heads h
                     LEFT JOIN consumer_positions p ON p.consumer = ?1 AND p.store_id = h.store_id
                     WHERE h.seq > COALESCE(p.position, 0) LIMIT ?2",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map((&consumer, limit), |row| {
                    Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?))
                })
                .map_err(unavailable)?;
            rows.map(|row| {
                let (store, head, position) = row.map_err(unavailable)?;
                let store = store
                    .parse()
                    .map_err(|e| StorageError::Corrupt(format!("consumer store id: {e}")))?;
                Ok(ConsumerLag {
                    store,
                    head,
                    position,
                })
            })
            .collect()
        })
        .await
    }

    async fn claim(
        &self,
        consumer: &str,
        store: StoreId,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> StorageResult<Option<i64>> {
        let (consumer, store, owner) = (consumer.to_owned(), store.to_string(), owner.to_owned());
        self.call(move |conn| {
            let tx = immediate(conn)?;
            tx.execute(
                "INSERT INTO consumer_positions (consumer, store_id, position) VALUES (?1, ?2, 0)
                 ON CONFLICT DO NOTHING",
                (&consumer, &store),
            )
            .map_err(unavailable)?;
            let position: Option<i64> = tx
                .query_row(
                    "UPDATE consumer_positions SET owner = ?3, lease_until = ?5
                     WHERE consumer = ?1 AND store_id = ?2 AND (lease_until <= ?4 OR owner = ?3)
                     RETURNING position",
                    (
                        &consumer,
                        &store,
                        &owner,
                        now.as_millisecond(),
                        lease_until.as_millisecond(),
                    ),
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(position)
        })
        .await
    }

    async fn advance(
        &self,
        consumer: &str,
        store: StoreId,
        owner: &str,
        seq: i64,
    ) -> StorageResult<bool> {
        self.write(
            "UPDATE consumer_positions SET position = MAX(position, ?4), owner = NULL, lease_until = 0
             WHERE consumer = ?1 AND store_id = ?2 AND owner = ?3",
            (consumer.to_owned(), store.to_string(), owner.to_owned(), seq),
            "consumer_positions",
        )
        .await
        .map(|changed| changed > 0)
    }
}

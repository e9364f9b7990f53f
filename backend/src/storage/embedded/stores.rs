//! `StoreRepository` on SQLite.

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, named_params};
use techverse_shared::{CountryCode, Currency, StoreId, StoreSlug, StoreStatus};

use super::{EmbeddedStorage, sql_error, unavailable};
use crate::{
    domain::store::{Store, StoreName, TimeZoneName},
    storage::{StorageError, StorageResult, StoreRepository},
};

const COLUMNS: &str =
    "id, slug, name, currency, country, timezone, status, created_at, updated_at, details";

/// The raw row, read inside the blocking call and parsed into the domain type after.
struct StoreRow {
    id: String,
    slug: String,
    name: String,
    currency: String,
    country: String,
    timezone: String,
    status: String,
    created_at: i64,
    updated_at: i64,
    details: String,
}

impl StoreRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            slug: row.get(1)?,
            name: row.get(2)?,
            currency: row.get(3)?,
            country: row.get(4)?,
            timezone: row.get(5)?,
            status: row.get(6)?,
            created_at: row.get(7)?,
            updated_at: row.get(8)?,
            details: row.get(9)?,
        })
    }

    fn into_store(self) -> StorageResult<Store> {
        let corrupt = |what: &str| StorageError::Corrupt(format!("store {}: bad {what}", self.id));
        Ok(Store {
            id: self.id.parse::<StoreId>().map_err(|_| corrupt("id"))?,
            slug: StoreSlug::parse(&self.slug).map_err(|_| corrupt("slug"))?,
            name: StoreName::parse(&self.name).map_err(|_| corrupt("name"))?,
            currency: Currency::from_code(&self.currency).map_err(|_| corrupt("currency"))?,
            country: CountryCode::parse(&self.country).map_err(|_| corrupt("country"))?,
            timezone: TimeZoneName::parse(&self.timezone).map_err(|_| corrupt("timezone"))?,
            status: StoreStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            details: serde_json::from_str(&self.details).map_err(|_| corrupt("details"))?,
            created_at: Timestamp::from_millisecond(self.created_at)
                .map_err(|_| corrupt("created_at"))?,
            updated_at: Timestamp::from_millisecond(self.updated_at)
                .map_err(|_| corrupt("updated_at"))?,
        })
    }
}

fn details_json(store: &Store) -> StorageResult<String> {
    serde_json::to_string(&store.details).map_err(|e| StorageError::Corrupt(e.to_string()))
}

impl EmbeddedStorage {
    async fn select_store(
        &self,
        column: &'static str,
        value: String,
    ) -> StorageResult<Option<Store>> {
        let sql = format!("SELECT {COLUMNS} FROM stores WHERE {column} = ?1");
        let row = self
            .read_point(move |conn| {
                conn.prepare_cached(&sql)
                    .and_then(|mut statement| statement.query_row([value], StoreRow::read))
                    .optional()
                    .map_err(unavailable)
            })
            .await?;
        row.map(StoreRow::into_store).transpose()
    }
}

#[async_trait]
impl StoreRepository for EmbeddedStorage {
    async fn insert(&self, store: &Store) -> StorageResult<()> {
        let store = store.clone();
        let details = details_json(&store)?;
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO stores (id, slug, name, currency, country, timezone, status, created_at, updated_at, details)
                 VALUES (:id, :slug, :name, :currency, :country, :timezone, :status, :created_at, :updated_at, :details)",
                named_params! {
                    ":id": store.id.to_string(),
                    ":slug": store.slug.as_str(),
                    ":name": store.name.as_str(),
                    ":currency": store.currency.code(),
                    ":country": store.country.as_str(),
                    ":timezone": store.timezone.as_str(),
                    ":status": store.status.as_str(),
                    ":created_at": store.created_at.as_millisecond(),
                    ":updated_at": store.updated_at.as_millisecond(),
                    ":details": details,
                },
            )
            .map(drop)
            .map_err(sql_error("stores.slug"))
        })
        .await
    }

    async fn by_id(&self, id: StoreId) -> StorageResult<Option<Store>> {
        self.select_store("id", id.to_string()).await
    }

    async fn by_slug(&self, slug: &StoreSlug) -> StorageResult<Option<Store>> {
        self.select_store("slug", slug.as_str().to_owned()).await
    }

    async fn list(&self, after: Option<&StoreSlug>, limit: u32) -> StorageResult<Vec<Store>> {
        let after = after
            .map(|slug| slug.as_str().to_owned())
            .unwrap_or_default();
        let rows = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM stores WHERE slug > ?1 ORDER BY slug LIMIT ?2"
                    ))
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map(rusqlite::params![after, limit], StoreRow::read)
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(unavailable)
            })
            .await?;
        rows.into_iter().map(StoreRow::into_store).collect()
    }

    async fn set_status(
        &self,
        id: StoreId,
        status: StoreStatus,
        at: Timestamp,
    ) -> StorageResult<Option<Store>> {
        let changed = self
            .call(move |conn| {
                conn.execute(
                    "UPDATE stores SET status = ?1, updated_at = ?2 WHERE id = ?3",
                    rusqlite::params![status.as_str(), at.as_millisecond(), id.to_string()],
                )
                .map_err(unavailable)
            })
            .await?;
        if changed == 0 {
            return Ok(None);
        }
        self.by_id(id).await
    }

    async fn update_profile(&self, store: &Store) -> StorageResult<Option<Store>> {
        let details = details_json(store)?;
        let store = store.clone();
        let id = store.id;
        let changed = self
            .call(move |conn| {
                conn.execute(
                    "UPDATE stores SET name = :name, currency = :currency, country = :country,
                            timezone = :timezone, details = :details, updated_at = :updated_at
                      WHERE id = :id",
                    named_params! {
                        ":id": store.id.to_string(),
                        ":name": store.name.as_str(),
                        ":currency": store.currency.code(),
                        ":country": store.country.as_str(),
                        ":timezone": store.timezone.as_str(),
                        ":details": details,
                        ":updated_at": store.updated_at.as_millisecond(),
                    },
                )
                .map_err(unavailable)
            })
            .await?;
        if changed == 0 {
            return Ok(None);
        }
        self.by_id(id).await
    }
}

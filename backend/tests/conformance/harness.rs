//! Opens a fresh storage for one test, on either adapter.

use std::{io::Write, sync::Arc};

use techverse::storage::{Storage, embedded::EmbeddedStorage, faults::Faults, mongo::MongoStorage};

const DIVERGENCES: &str = include_str!("../mongo_known_divergences.md");

pub enum Backend {
    Embedded(tempfile::TempDir),
    Mongo { uri: String, database: String },
}

pub struct Harness {
    backend: Backend,
    storage: Arc<dyn Storage>,
    faults: Faults,
}

/// Writes straight to stderr: libtest captures `eprintln!`, and a SKIP must always be seen.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The reason a test is listed as diverging on nx-27017, if it is.
fn divergence(test: &str) -> Option<&'static str> {
    let marker = format!("- `{test}`:");
    DIVERGENCES
        .lines()
        .find_map(|line| line.strip_prefix(marker.as_str()).map(str::trim))
}

impl Harness {
    pub async fn embedded() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let faults = Faults::plan();
        let storage = open_embedded(&dir, faults.clone()).await;
        Self {
            backend: Backend::Embedded(dir),
            storage,
            faults,
        }
    }

    /// `None` (after printing `SKIP mongo …`) when no MongoDB is configured, or when the test
    /// is a known divergence of the configured server.
    pub async fn mongo(test: &str) -> Option<Self> {
        let Some(uri) = std::env::var("TECHVERSE_TEST_MONGODB_URI")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            say(&format!(
                "SKIP mongo {test}: TECHVERSE_TEST_MONGODB_URI is not set, so the MongoDB adapter was not exercised"
            ));
            return None;
        };
        let flavor = std::env::var("TECHVERSE_TEST_MONGODB_FLAVOR").unwrap_or_default();
        if flavor == "nx-27017"
            && let Some(reason) = divergence(test)
        {
            say(&format!(
                "SKIP mongo {test}: known nx-27017 divergence: {reason}"
            ));
            return None;
        }
        let database = format!("tv_test_{}", uuid::Uuid::new_v4().simple());
        let faults = Faults::plan();
        let storage = open_mongo(&uri, &database, faults.clone()).await;
        Some(Self {
            backend: Backend::Mongo { uri, database },
            storage,
            faults,
        })
    }

    pub fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }

    /// Where the storage is told to fail next (each planned failure fires once).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The same storage, for tasks that run concurrently.
    pub fn shared(&self) -> Arc<dyn Storage> {
        Arc::clone(&self.storage)
    }

    /// A new storage instance on the same data, as after a process restart.
    pub async fn reopen(&self) -> Arc<dyn Storage> {
        match &self.backend {
            Backend::Embedded(dir) => open_embedded(dir, Faults::default()).await,
            Backend::Mongo { uri, database } => open_mongo(uri, database, Faults::default()).await,
        }
    }

    /// Drops the test database (MongoDB); the embedded temp dir goes away on drop.
    pub async fn cleanup(self) {
        if let Backend::Mongo { uri, database } = &self.backend
            && let Ok(client) = mongodb::Client::with_uri_str(uri).await
        {
            let _ = client.database(database).drop().await;
        }
    }
}

async fn open_embedded(dir: &tempfile::TempDir, faults: Faults) -> Arc<dyn Storage> {
    let storage = EmbeddedStorage::open(&dir.path().join("techverse.sqlite3"))
        .expect("open sqlite")
        .with_faults(faults);
    storage.migrate().await.expect("migrate sqlite");
    Arc::new(storage)
}

async fn open_mongo(uri: &str, database: &str, faults: Faults) -> Arc<dyn Storage> {
    let client = mongodb::Client::with_uri_str(uri)
        .await
        .expect("mongo client");
    let storage = MongoStorage::with_database(client.database(database)).with_faults(faults);
    storage.migrate().await.expect("create mongo indexes");
    Arc::new(storage)
}

/// The Redis session store on the machine's Redis (`TECHVERSE_TEST_REDIS_URL`, default
/// `redis://127.0.0.1:6379`, which `scripts/test` starts), each test under its own key prefix.
pub struct Redis {
    handle: techverse::redis::RedisHandle,
    sessions: techverse::auth::sessions::RedisSessions,
}

impl Redis {
    pub async fn connect() -> Self {
        let url = std::env::var("TECHVERSE_TEST_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
        let prefix = format!("tv-test-{}:", uuid::Uuid::new_v4().simple());
        let handle =
            techverse::redis::RedisHandle::new(&url.clone().into(), &prefix).expect("Redis pool");
        handle.ping().await.unwrap_or_else(|e| {
            panic!("Redis at {url} must answer (scripts/test starts one): {e:#}")
        });
        Self {
            sessions: techverse::auth::sessions::RedisSessions::new(handle.clone()),
            handle,
        }
    }

    pub fn sessions(&self) -> &dyn techverse::storage::SessionRepository {
        &self.sessions
    }

    /// Milliseconds until `suffix` (under this test's prefix) expires; negative when it has no
    /// expiry (-1) or does not exist (-2).
    pub async fn pttl(&self, suffix: &str) -> i64 {
        let mut conn = self.handle.connection().await.expect("Redis connection");
        deadpool_redis::redis::cmd("PTTL")
            .arg(self.handle.key(suffix))
            .query_async(&mut conn)
            .await
            .expect("PTTL")
    }

    /// Deletes every key this test wrote.
    pub async fn cleanup(self) {
        let Ok(mut conn) = self.handle.connection().await else {
            return;
        };
        let keys: Vec<String> = deadpool_redis::redis::cmd("KEYS")
            .arg(self.handle.key("*"))
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<i64, _> = deadpool_redis::redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut conn)
                .await;
        }
    }
}

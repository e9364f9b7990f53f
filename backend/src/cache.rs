//! The read cache for public catalogue responses: an in-process layer (moka) in front of an
//! optional shared layer (Redis). Keys carry the store and the catalogue versions the response
//! depends on, so a key's value never changes: a catalogue write bumps the version and every old
//! key is simply never asked for again, in this store only. Concurrent misses of one key compute once (moka's
//! `try_get_with`). When Redis fails, responses are computed from storage and Redis is retried
//! after a short pause.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use bytes::Bytes;
use deadpool_redis::redis::{self, AsyncCommands};
use prometheus::IntCounterVec;
use sha2::{Digest, Sha256};
use techverse_shared::StoreId;

use crate::{
    domain::listing::{ListingIndex, SoldCounts},
    redis::{Breaker, RedisHandle},
};

const SHARED_TTL_SECS: u64 = 600;
const SHARED_TIMEOUT: Duration = Duration::from_millis(300);
const SHARED_PAUSE: Duration = Duration::from_secs(2);

/// A cached response body and its entity tag. `Bytes` so a hit is sent without copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    pub body: Bytes,
    pub etag: Arc<str>,
}

impl Cached {
    pub fn new(body: Vec<u8>) -> Self {
        let digest = Sha256::digest(&body);
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        Self {
            body: body.into(),
            etag: format!("\"{hex}\"").into(),
        }
    }

    /// Whether an `If-None-Match` header value names this entity.
    pub fn matches(&self, if_none_match: &str) -> bool {
        if_none_match.trim() == "*"
            || if_none_match
                .split(',')
                .map(|tag| tag.trim().trim_start_matches("W/"))
                .any(|tag| tag == &*self.etag)
    }
}

/// The shared cache layer: a key-value store every instance sees. Failures are the caller's to
/// tolerate (the cache is an optimisation, never the source of truth).
#[async_trait]
pub trait SharedCache: Send + Sync {
    fn name(&self) -> &'static str;
    async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>>;
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> anyhow::Result<()>;
}

/// The Redis adapter of [`SharedCache`].
pub struct RedisCache {
    redis: RedisHandle,
}

impl RedisCache {
    pub fn new(redis: RedisHandle) -> Self {
        Self { redis }
    }
}

#[async_trait]
impl SharedCache for RedisCache {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let mut conn = self.redis.connection().await?;
        Ok(conn.get(self.redis.key(&format!("cache:{key}"))).await?)
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> anyhow::Result<()> {
        let mut conn = self.redis.connection().await?;
        redis::cmd("SET")
            .arg(self.redis.key(&format!("cache:{key}")))
            .arg(value)
            .arg("EX")
            .arg(ttl.as_secs().max(1))
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }
}

/// The catalogue cache: the in-process adapter (moka) always, in front of a shared adapter
/// (Redis) when one is configured.
pub struct Cache {
    local: moka::future::Cache<String, Cached>,
    /// The listing index per (store, content version): cold list pages are one pass over it
    /// instead of reading and parsing every product again.
    listings: moka::future::Cache<(StoreId, i64), Arc<ListingIndex>>,
    /// Sales counts per (store, stock version), for best-selling orders between catalogue
    /// changes.
    sales: moka::future::Cache<(StoreId, i64), Arc<SoldCounts>>,
    shared: Option<Arc<dyn SharedCache>>,
    breaker: Breaker,
    lookups: IntCounterVec,
}

impl Cache {
    pub fn new(
        shared: Option<Arc<dyn SharedCache>>,
        registry: &prometheus::Registry,
    ) -> anyhow::Result<Arc<Self>> {
        let lookups = IntCounterVec::new(
            prometheus::Opts::new(
                "cache_lookups_total",
                "Catalogue cache lookups by layer and result",
            ),
            &["layer", "result"],
        )?;
        registry.register(Box::new(lookups.clone()))?;
        Ok(Arc::new(Self {
            local: moka::future::Cache::builder()
                .max_capacity(64 * 1024 * 1024)
                .weigher(|key: &String, value: &Cached| {
                    u32::try_from(key.len() + value.body.len()).unwrap_or(u32::MAX)
                })
                .time_to_live(Duration::from_secs(SHARED_TTL_SECS))
                .build(),
            listings: moka::future::Cache::builder()
                .max_capacity(16)
                .time_to_idle(Duration::from_secs(SHARED_TTL_SECS))
                .build(),
            sales: moka::future::Cache::builder()
                .max_capacity(64)
                .time_to_idle(Duration::from_secs(SHARED_TTL_SECS))
                .build(),
            shared,
            breaker: Breaker::new("shared cache", SHARED_TIMEOUT, SHARED_PAUSE),
            lookups,
        }))
    }

    fn count(&self, layer: &str, result: &str) {
        self.lookups.with_label_values(&[layer, result]).inc();
    }

    async fn shared_get(&self, key: &str) -> Option<Vec<u8>> {
        let shared = self.shared.as_deref()?;
        self.breaker.call(shared.get(key)).await.flatten()
    }

    async fn shared_put(&self, key: &str, body: &[u8]) {
        if let Some(shared) = self.shared.as_deref() {
            let ttl = Duration::from_secs(SHARED_TTL_SECS);
            self.breaker.call(shared.put(key, body, ttl)).await;
        }
    }

    /// The store's listing index at content `version`, built once per version (concurrent
    /// callers wait for the one build).
    pub async fn listing<E, F>(
        &self,
        store: StoreId,
        version: i64,
        build: F,
    ) -> Result<Arc<ListingIndex>, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: Future<Output = Result<ListingIndex, E>>,
    {
        self.listings
            .try_get_with((store, version), async { build.await.map(Arc::new) })
            .await
    }

    /// The store's sales counts at stock `version`, loaded once per version.
    pub async fn sales<E, F>(
        &self,
        store: StoreId,
        version: i64,
        load: F,
    ) -> Result<Arc<SoldCounts>, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: Future<Output = Result<SoldCounts, E>>,
    {
        self.sales
            .try_get_with((store, version), async { load.await.map(Arc::new) })
            .await
    }

    /// The cached value of `key`, or `compute`'s (stored for next time). Only one `compute`
    /// runs per key at a time in this process; others wait for its result.
    pub async fn get_or_compute<E, F>(&self, key: String, compute: F) -> Result<Cached, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: Future<Output = Result<Vec<u8>, E>>,
    {
        if let Some(hit) = self.local.get(&key).await {
            self.count("memory", "hit");
            return Ok(hit);
        }
        self.count("memory", "miss");
        self.local
            .try_get_with(key.clone(), async {
                if let Some(body) = self.shared_get(&key).await {
                    self.count("redis", "hit");
                    return Ok(Cached::new(body));
                }
                if self.shared.is_some() {
                    self.count("redis", "miss");
                }
                let body = compute.await?;
                self.shared_put(&key, &body).await;
                Ok(Cached::new(body))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_misses_compute_once() {
        let cache = Cache::new(None, &prometheus::Registry::new()).unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let cache = Arc::clone(&cache);
            let runs = Arc::clone(&runs);
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_compute::<(), _>("k".to_owned(), async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(b"value".to_vec())
                    })
                    .await
                    .unwrap()
            }));
        }
        for task in tasks {
            assert_eq!(&*task.await.unwrap().body, b"value");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    struct Broken;

    #[async_trait]
    impl SharedCache for Broken {
        fn name(&self) -> &'static str {
            "broken"
        }

        async fn get(&self, _: &str) -> anyhow::Result<Option<Vec<u8>>> {
            anyhow::bail!("down")
        }

        async fn put(&self, _: &str, _: &[u8], _: Duration) -> anyhow::Result<()> {
            anyhow::bail!("down")
        }
    }

    #[tokio::test]
    async fn a_failing_shared_layer_falls_back_to_computing() {
        let cache = Cache::new(Some(Arc::new(Broken)), &prometheus::Registry::new()).unwrap();
        let value = cache
            .get_or_compute::<(), _>("k".to_owned(), async { Ok(b"fresh".to_vec()) })
            .await
            .unwrap();
        assert_eq!(&value.body[..], b"fresh");
        assert!(cache.breaker.is_paused(), "paused after the failure");
    }

    #[test]
    fn etags_match_strong_weak_and_star() {
        let cached = Cached::new(b"{}".to_vec());
        let tag = cached.etag.to_string();
        assert!(cached.matches(&tag));
        assert!(cached.matches(&format!("W/{tag}")));
        assert!(cached.matches(&format!("\"other\", {tag}")));
        assert!(cached.matches("*"));
        assert!(!cached.matches("\"other\""));
    }
}

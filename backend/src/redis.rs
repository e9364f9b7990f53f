//! The Redis connection pool (deadpool-redis), present when `TECHVERSE_REDIS_URL` is set.
//!
//! The pool connects on demand and recycles broken connections, so a Redis that goes away and
//! comes back is used again without a restart. Every key this deployment writes starts with
//! the configured prefix.

use std::time::Duration;

use anyhow::Context;
use deadpool_redis::{Config, Pool, PoolConfig, Runtime, Timeouts, redis};
use secrecy::{ExposeSecret, SecretString};

const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct RedisHandle {
    pool: Pool,
    /// For connections of their own (pub/sub), outside the pool.
    client: redis::Client,
    prefix: String,
}

impl RedisHandle {
    pub fn new(url: &SecretString, prefix: &str) -> anyhow::Result<Self> {
        let mut config = Config::from_url(url.expose_secret());
        let mut pool = PoolConfig::new(32);
        pool.timeouts = Timeouts {
            wait: Some(OPERATION_TIMEOUT),
            create: Some(OPERATION_TIMEOUT),
            recycle: Some(OPERATION_TIMEOUT),
        };
        config.pool = Some(pool);
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .context("creating the Redis pool (check TECHVERSE_REDIS_URL)")?;
        let client =
            redis::Client::open(url.expose_secret()).context("parsing TECHVERSE_REDIS_URL")?;
        Ok(Self {
            pool,
            client,
            prefix: prefix.to_owned(),
        })
    }

    /// A key under this deployment's prefix.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// A pooled connection, waiting at most the operation timeout.
    pub async fn connection(&self) -> anyhow::Result<deadpool_redis::Connection> {
        self.pool.get().await.context("connecting to Redis")
    }

    /// A connection of its own for subscribing (pub/sub cannot share the pool's).
    pub async fn pubsub(&self) -> anyhow::Result<redis::aio::PubSub> {
        self.client
            .get_async_pubsub()
            .await
            .context("connecting to Redis for pub/sub")
    }

    /// Answers whether Redis responds to `PING` within the operation timeout.
    pub async fn ping(&self) -> anyhow::Result<()> {
        let work = async {
            let mut conn = self.pool.get().await.context("connecting to Redis")?;
            let reply: String = redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .context("PING")?;
            anyhow::ensure!(reply == "PONG", "unexpected PING reply");
            Ok(())
        };
        tokio::time::timeout(OPERATION_TIMEOUT, work)
            .await
            .context("Redis did not answer in time")?
    }
}

/// Keeps a failing dependency out of the request path for a short pause after each failure, so
/// a Redis that is down costs one timeout per pause rather than one per request.
pub struct Breaker {
    what: &'static str,
    timeout: Duration,
    pause: Duration,
    paused_until: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Breaker {
    pub fn new(what: &'static str, timeout: Duration, pause: Duration) -> Self {
        Self {
            what,
            timeout,
            pause,
            paused_until: std::sync::Mutex::new(None),
        }
    }

    /// Whether calls are being skipped after a recent failure.
    pub fn is_paused(&self) -> bool {
        self.paused_until
            .lock()
            .ok()
            .and_then(|guard| *guard)
            .is_some_and(|until| std::time::Instant::now() < until)
    }

    /// Runs `work` unless paused. A failure or a timeout pauses the dependency (logged once per
    /// outage) and gives `None`, so the caller falls back.
    pub async fn call<T>(&self, work: impl Future<Output = anyhow::Result<T>>) -> Option<T> {
        if self.is_paused() {
            return None;
        }
        let error = match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(error)) => error,
            Err(_) => anyhow::anyhow!("no answer within {:?}", self.timeout),
        };
        if let Ok(mut guard) = self.paused_until.lock() {
            if guard.is_none_or(|until| std::time::Instant::now() >= until) {
                tracing::warn!(error = %error, dependency = self.what, "failed; falling back for now");
            }
            *guard = Some(std::time::Instant::now() + self.pause);
        }
        None
    }
}

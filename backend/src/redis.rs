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
        Ok(Self {
            pool,
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

//! The live feed's moving parts: the [`hub::HubHandle`] holding this instance's sockets, and
//! the fan-out that gets every committed event to every instance's hub — Redis pub/sub when
//! configured, else straight to the local hub. Pub/sub is only a fast path: the event log is
//! the truth, and sockets read it for whatever the fast path lost (after a resubscription, or
//! when an instance that could only publish locally tells the others once Redis is back).

pub mod hub;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use deadpool_redis::redis;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::{
    app::dispatch::Consumer,
    domain::events::StoreEvent,
    redis::{Breaker, RedisHandle},
};
use hub::HubHandle;

const CHANNEL: &str = "events";
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(1);

/// Hands committed events to every instance's hub.
#[derive(Clone)]
pub struct Fanout {
    hub: HubHandle,
    redis: Option<RedisHandle>,
    /// After a failed publish, Redis is skipped for a moment (local sockets only) instead of
    /// costing every event a timeout while it is down.
    breaker: Arc<Breaker>,
    /// Some event went to local sockets only: once Redis answers again, every instance is told
    /// to let its sockets re-read the log.
    degraded: Arc<AtomicBool>,
}

/// The message that asks every instance's sockets to re-read the log.
const RECHECK: &str = r#"{"recheck":true}"#;
/// How often an instance that published locally only tries to tell the others.
const HEAL_EVERY: Duration = Duration::from_secs(1);

impl Fanout {
    pub fn new(hub: HubHandle, redis: Option<RedisHandle>) -> Self {
        Self {
            hub,
            redis,
            breaker: Arc::new(Breaker::new(
                "redis pub/sub",
                PUBLISH_TIMEOUT,
                Duration::from_secs(2),
            )),
            degraded: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Publishes through Redis when configured (every instance's subscriber, this one's too,
    /// hands it to its hub); when Redis fails, to the local hub only, and other instances'
    /// sockets catch up from the log.
    pub async fn publish(&self, event: StoreEvent) {
        let Some(redis) = &self.redis else {
            self.hub.publish(Arc::new(event)).await;
            return;
        };
        let sent = async {
            let body = serde_json::to_string(&event)?;
            publish(redis, &body).await
        };
        if self.breaker.call(sent).await.is_none() {
            self.degraded.store(true, Ordering::Relaxed);
            self.hub.publish(Arc::new(event)).await;
        }
    }

    /// Until `stop`: after events went to local sockets only, asks every instance (through
    /// Redis, once it answers) to let its sockets re-read the log.
    pub async fn run_healer(self, stop: CancellationToken) {
        let Some(redis) = self.redis.clone() else {
            return;
        };
        let mut ticker = tokio::time::interval(HEAL_EVERY);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            if self.degraded.swap(false, Ordering::Relaxed)
                && self.breaker.call(publish(&redis, RECHECK)).await.is_none()
            {
                self.degraded.store(true, Ordering::Relaxed);
            }
        }
    }

    /// With Redis: subscribes once and hands every event to the hub, reconnecting (with a
    /// growing pause) whenever the subscription drops. After each (re)subscription, sockets
    /// are asked to read the log for what they missed meanwhile.
    pub async fn run_subscriber(self, stop: CancellationToken) {
        let Some(redis) = self.redis.clone() else {
            return;
        };
        let mut pause = Duration::from_millis(100);
        loop {
            let outcome = tokio::select! {
                () = stop.cancelled() => return,
                outcome = self.subscribe(&redis) => outcome,
            };
            if let Err(error) = outcome {
                tracing::warn!(error = %format!("{error:#}"), "live feed subscription lost; retrying");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }

    async fn subscribe(&self, redis: &RedisHandle) -> anyhow::Result<()> {
        let mut pubsub = tokio::time::timeout(PUBLISH_TIMEOUT * 2, redis.pubsub())
            .await
            .map_err(|_| anyhow::anyhow!("connecting timed out"))??;
        pubsub.subscribe(redis.key(CHANNEL)).await?;
        tracing::info!("live feed subscribed to Redis");
        self.hub.recheck().await;
        let mut messages = pubsub.into_on_message();
        while let Some(message) = messages.next().await {
            let payload = message.get_payload_bytes();
            if payload == RECHECK.as_bytes() {
                self.hub.recheck().await;
                continue;
            }
            match serde_json::from_slice::<StoreEvent>(payload) {
                Ok(event) => self.hub.publish(Arc::new(event)).await,
                Err(error) => tracing::warn!(error = %error, "unreadable live feed message"),
            }
        }
        anyhow::bail!("the subscription ended")
    }
}

async fn publish(redis: &RedisHandle, body: &str) -> anyhow::Result<()> {
    let mut conn = redis.connection().await?;
    redis::cmd("PUBLISH")
        .arg(redis.key(CHANNEL))
        .arg(body)
        .query_async::<i64>(&mut conn)
        .await?;
    Ok(())
}

/// The `realtime` consumer: every event goes to the fan-out.
#[async_trait]
impl Consumer for Fanout {
    fn name(&self) -> &'static str {
        "realtime"
    }

    async fn handle(&self, event: &StoreEvent) -> anyhow::Result<()> {
        self.publish(event.clone()).await;
        Ok(())
    }
}

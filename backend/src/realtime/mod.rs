//! The live feed's moving parts: the [`hub::HubHandle`] holding this instance's sockets, and
//! the fan-out that gets every committed event to every instance's hub — Redis pub/sub when
//! configured, else straight to the local hub. Pub/sub is only a fast path: the event log is
//! the truth, and sockets read it for whatever the fast path lost.

pub mod hub;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use deadpool_redis::redis;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::{app::dispatch::Consumer, domain::events::StoreEvent, redis::RedisHandle};
use hub::HubHandle;

const CHANNEL: &str = "events";
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(1);

/// Hands committed events to every instance's hub.
#[derive(Clone)]
pub struct Fanout {
    hub: HubHandle,
    redis: Option<RedisHandle>,
}

impl Fanout {
    pub fn new(hub: HubHandle, redis: Option<RedisHandle>) -> Self {
        Self { hub, redis }
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
            let mut conn = redis.connection().await?;
            redis::cmd("PUBLISH")
                .arg(redis.key(CHANNEL))
                .arg(body)
                .query_async::<i64>(&mut conn)
                .await?;
            anyhow::Ok(())
        };
        match tokio::time::timeout(PUBLISH_TIMEOUT, sent).await {
            Ok(Ok(())) => {}
            outcome => {
                let error = outcome.map_or_else(|_| "timed out".to_owned(), |r| format!("{r:?}"));
                tracing::debug!(error, "publishing to Redis failed; local sockets only");
                self.hub.publish(Arc::new(event)).await;
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
            match serde_json::from_slice::<StoreEvent>(message.get_payload_bytes()) {
                Ok(event) => self.hub.publish(Arc::new(event)).await,
                Err(error) => tracing::warn!(error = %error, "unreadable live feed message"),
            }
        }
        anyhow::bail!("the subscription ended")
    }
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

//! The event dispatcher: reads each store's event log in `seq` order and hands every event, at
//! least once, to each named consumer (the live feed, mail, merchant webhooks). A consumer's
//! position per store is persisted and claimed with a lease, so several instances share the
//! work and one crashing mid-batch loses nothing: the lease runs out and another instance hands
//! the same events on again. Consumers are therefore idempotent.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use jiff::SignedDuration;
use techverse_shared::StoreId;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::Context;
use crate::{domain, domain::events::StoreEvent, storage::StorageError};

/// How many lagging stores one round looks at, and how many events one claim hands on.
const STORES_PER_ROUND: u32 = 200;
const EVENTS_PER_CLAIM: u32 = 100;
/// How long a claim holds a store for one consumer: far longer than a batch takes, short
/// enough that a crashed instance's stores move on soon.
const LEASE: SignedDuration = SignedDuration::from_secs(30);

/// One consumer of store events. `handle` must be idempotent: an event may come twice.
#[async_trait]
pub trait Consumer: Send + Sync {
    /// Its name in storage and metrics: `realtime`, `mail`, `webhooks`.
    fn name(&self) -> &'static str;
    /// Does the consumer's work for one event. An error leaves the event (and the store's
    /// later events) to be handed on again at a later round.
    async fn handle(&self, event: &StoreEvent) -> anyhow::Result<()>;
}

/// "Events were committed": wakes every consumer loop of this instance at once (a change
/// arriving while a loop is busy is still seen when it next waits). Other instances' commits
/// are found by polling.
#[derive(Clone)]
pub struct EventSignal(Arc<watch::Sender<u64>>);

impl Default for EventSignal {
    fn default() -> Self {
        Self(Arc::new(watch::channel(0).0))
    }
}

impl EventSignal {
    pub fn committed(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// Counts per consumer, for `/metrics`.
pub trait DispatchMetrics: Send + Sync {
    fn delivered(&self, consumer: &'static str, count: u64);
    fn lag(&self, consumer: &'static str, lag: i64);
}

/// Runs `consumer` until `stop`: a round whenever events are committed here, or every `poll`.
pub async fn run(
    ctx: Context,
    consumer: Arc<dyn Consumer>,
    owner: String,
    poll: Duration,
    metrics: Arc<dyn DispatchMetrics>,
    stop: CancellationToken,
) {
    let mut committed = ctx.events.subscribe();
    tracing::info!(consumer = consumer.name(), "event consumer started");
    loop {
        committed.borrow_and_update();
        let busy = match round(&ctx, consumer.as_ref(), &owner, metrics.as_ref()).await {
            Ok(handed) => handed > 0,
            Err(error) => {
                tracing::warn!(consumer = consumer.name(), error = %error, "event round failed");
                false
            }
        };
        if busy {
            continue;
        }
        tokio::select! {
            () = stop.cancelled() => break,
            _ = committed.changed() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
    tracing::info!(consumer = consumer.name(), "event consumer stopped");
}

/// One pass over the stores `consumer` lags behind in: claims each, hands its next events on,
/// advances. Returns how many events were handed on.
pub async fn round(
    ctx: &Context,
    consumer: &dyn Consumer,
    owner: &str,
    metrics: &dyn DispatchMetrics,
) -> Result<u64, StorageError> {
    let positions = ctx.storage.consumers();
    let lagging = positions.behind(consumer.name(), STORES_PER_ROUND).await?;
    metrics.lag(
        consumer.name(),
        lagging.iter().map(|lag| lag.head - lag.position).sum(),
    );
    let mut handed = 0;
    for lag in lagging {
        let now = domain::now();
        let Some(position) = positions
            .claim(consumer.name(), lag.store, owner, now, now + LEASE)
            .await?
        else {
            continue;
        };
        let events = ctx
            .storage
            .catalog()
            .events(lag.store, position, EVENTS_PER_CLAIM)
            .await?;
        let mut reached = position;
        for event in &events {
            if let Err(error) = consumer.handle(event).await {
                tracing::warn!(consumer = consumer.name(), store_id = %lag.store, seq = event.seq,
                    error = %format!("{error:#}"), "event not handled; retried later");
                break;
            }
            reached = event.seq;
        }
        let count = u64::try_from(reached - position).unwrap_or(0);
        if !positions
            .advance(consumer.name(), lag.store, owner, reached)
            .await?
        {
            tracing::warn!(consumer = consumer.name(), store_id = %lag.store,
                "lease lost mid-batch; another instance hands these events on again");
        }
        handed += count;
        metrics.delivered(consumer.name(), count);
    }
    Ok(handed)
}

/// Every event consumer, by name.
pub const CONSUMERS: [&str; 3] = ["mail", "webhooks", "realtime"];

/// The owner name under which history is written.
const HISTORIAN: &str = "history";

/// Holds every consumer's lease on `store` while history (the demo seed) is written into its
/// log, so no running instance hands those events on; [`skip_history`] ends it.
pub async fn hold_for_history(ctx: &Context, store: StoreId) -> anyhow::Result<()> {
    let now = domain::now();
    for consumer in CONSUMERS {
        let held = ctx
            .storage
            .consumers()
            .claim(
                consumer,
                store,
                HISTORIAN,
                now,
                now + SignedDuration::from_mins(30),
            )
            .await?;
        anyhow::ensure!(
            held.is_some(),
            "the {consumer} consumer is busy with store {store}"
        );
    }
    Ok(())
}

/// Moves every consumer's position in `store`'s log to its head and lets go of the lease
/// [`hold_for_history`] took: what was written was history, not news, so no mail, webhook or
/// socket frame comes of it.
pub async fn skip_history(ctx: &Context, store: StoreId) -> anyhow::Result<()> {
    let consumers = ctx.storage.consumers();
    for consumer in CONSUMERS {
        let lags = consumers.behind(consumer, u32::MAX).await?;
        let head = lags
            .iter()
            .find(|lag| lag.store == store)
            .map_or(0, |lag| lag.head);
        consumers.advance(consumer, store, HISTORIAN, head).await?;
    }
    Ok(())
}

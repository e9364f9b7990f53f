//! Merchant webhooks: staff register endpoints for event kinds; the `webhooks` consumer queues
//! one delivery per (endpoint, event); the delivery worker signs and sends them (Standard
//! Webhooks), retrying on the configured schedule, disabling an endpoint that failed for five
//! days and telling the store's owners.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use techverse_shared::{StoreId, WebhookDeliveryId, WebhookId};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{
    Context,
    audit::{self, Actor},
    dispatch::Consumer,
};
use crate::{
    domain::{
        self,
        access::Role,
        events::StoreEvent,
        store::Store,
        validation::ValidationErrors,
        webhook::{self, Delivery, DeliveryState, EVENT_KINDS, MAX_ENDPOINTS, WebhookEndpoint},
    },
    mail::templates::{self, Branding},
    storage::StorageError,
    webhooks::{Policy, Request, Sender, TargetError, check_target},
};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook not found")]
    NotFound,
    #[error("delivery not found")]
    DeliveryNotFound,
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error("{0}")]
    TargetForbidden(TargetError),
    #[error("a store may register at most {MAX_ENDPOINTS} webhooks")]
    TooMany,
    #[error("the webhook changed meanwhile; reload and retry")]
    Stale,
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// `POST …/webhooks` and `PATCH …/webhooks/{id}` (on PATCH every field is optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// An endpoint as staff see it: never its secrets, except the new one right after creating or
/// rotating.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn view(endpoint: &WebhookEndpoint, secret: Option<String>) -> EndpointView {
    EndpointView {
        id: endpoint.id,
        url: endpoint.url.clone(),
        events: endpoint.events.clone(),
        description: endpoint.description.clone(),
        active: endpoint.active,
        disabled_reason: endpoint.disabled_reason.clone(),
        created_at: endpoint.created_at,
        updated_at: endpoint.updated_at,
        secret,
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: WebhookDeliveryId,
    pub event_id: techverse_shared::EventId,
    pub kind: String,
    pub state: DeliveryState,
    pub attempts: Vec<AttemptView>,
    pub next_attempt_at: Option<jiff::Timestamp>,
    pub created_at: jiff::Timestamp,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    pub at: jiff::Timestamp,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: u64,
    pub response: String,
}

pub fn delivery_view(delivery: &Delivery) -> DeliveryView {
    DeliveryView {
        id: delivery.id,
        event_id: delivery.event_id,
        kind: delivery.kind.clone(),
        state: delivery.state,
        attempts: delivery
            .attempts
            .iter()
            .map(|a| AttemptView {
                at: a.at,
                status: a.status,
                error: a.error.clone(),
                latency_ms: a.latency_ms,
                response: a.response.clone(),
            })
            .collect(),
        next_attempt_at: delivery.next_attempt_at,
        created_at: delivery.created_at,
    }
}

fn policy(ctx: &Context) -> Policy {
    Policy {
        allow_insecure: ctx.settings.webhooks_allow_insecure,
        allow_private: ctx.settings.webhooks_allow_private_targets,
    }
}

fn new_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(webhook::secret_from(&bytes))
}

/// Checks the fields present in `input` and applies them to `endpoint`.
async fn apply(
    ctx: &Context,
    endpoint: &mut WebhookEndpoint,
    input: &EndpointInput,
) -> Result<(), WebhookError> {
    let mut errors = ValidationErrors::default();
    if let Some(url) = &input.url {
        if url.len() > 2048 {
            errors.add("url", "too_long", "at most 2048 characters");
        } else {
            match check_target(url, policy(ctx)).await {
                Ok(parsed) => endpoint.url = parsed.to_string(),
                Err(TargetError::Invalid) => errors.add("url", "invalid", "not a URL"),
                Err(other) => return Err(WebhookError::TargetForbidden(other)),
            }
        }
    }
    if let Some(events) = &input.events {
        if events.is_empty() || events.len() > EVENT_KINDS.len() {
            errors.add("events", "invalid", "name one to all of the event kinds");
        }
        for (index, kind) in events.iter().enumerate() {
            if !EVENT_KINDS.contains(&kind.as_str()) {
                errors.add(
                    &format!("events[{index}]"),
                    "unknown_event",
                    format!("one of {}", EVENT_KINDS.join(", ")),
                );
            }
        }
        let mut events = events.clone();
        events.sort();
        events.dedup();
        endpoint.events = events;
    }
    if let Some(description) = &input.description {
        let description = description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        if description.is_some_and(|d| d.chars().count() > 200) {
            errors.add("description", "too_long", "at most 200 characters");
        }
        endpoint.description = description.map(str::to_owned);
    }
    if let Some(active) = input.active {
        endpoint.active = active;
        if active {
            endpoint.disabled_reason = None;
            endpoint.failing_since = None;
        }
    }
    errors.finish(Some(()))?;
    Ok(())
}

pub async fn create(
    ctx: &Context,
    store: &Store,
    actor: Actor<'_>,
    input: &EndpointInput,
) -> Result<EndpointView, WebhookError> {
    let mut errors = ValidationErrors::default();
    if input.url.is_none() {
        errors.add("url", "required", "the URL to deliver to");
    }
    if input.events.is_none() {
        errors.add("events", "required", "the event kinds to deliver");
    }
    errors.finish(Some(()))?;
    let repo = ctx.storage.webhooks();
    if repo.webhooks(store.id).await?.len() >= MAX_ENDPOINTS {
        return Err(WebhookError::TooMany);
    }
    let now = domain::now();
    let secret = new_secret()?;
    let mut endpoint = WebhookEndpoint {
        id: WebhookId::from_uuid(uuid::Uuid::now_v7()),
        store_id: store.id,
        url: String::new(),
        events: Vec::new(),
        description: None,
        active: true,
        secrets: vec![webhook::SigningSecret {
            secret: secret.clone(),
            expires_at: None,
        }],
        failing_since: None,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    apply(ctx, &mut endpoint, input).await?;
    repo.insert_webhook(&endpoint).await?;
    audit::record(
        ctx,
        store.id,
        actor,
        "webhook.created",
        format!("webhook:{}", endpoint.id),
        serde_json::json!({ "url": endpoint.url, "events": endpoint.events }),
    )
    .await?;
    Ok(view(&endpoint, Some(secret)))
}

pub async fn list(ctx: &Context, store: &Store) -> Result<Vec<EndpointView>, WebhookError> {
    Ok(ctx
        .storage
        .webhooks()
        .webhooks(store.id)
        .await?
        .iter()
        .map(|e| view(e, None))
        .collect())
}

async fn find(
    ctx: &Context,
    store: StoreId,
    id: WebhookId,
) -> Result<WebhookEndpoint, WebhookError> {
    ctx.storage
        .webhooks()
        .webhook(store, id)
        .await?
        .ok_or(WebhookError::NotFound)
}

pub async fn get(
    ctx: &Context,
    store: &Store,
    id: WebhookId,
) -> Result<EndpointView, WebhookError> {
    Ok(view(&find(ctx, store.id, id).await?, None))
}

pub async fn update(
    ctx: &Context,
    store: &Store,
    actor: Actor<'_>,
    id: WebhookId,
    input: &EndpointInput,
) -> Result<EndpointView, WebhookError> {
    let mut endpoint = find(ctx, store.id, id).await?;
    apply(ctx, &mut endpoint, input).await?;
    endpoint.updated_at = domain::now();
    save(ctx, &endpoint).await?;
    audit::record(ctx, store.id, actor, "webhook.updated", format!("webhook:{id}"),
        serde_json::json!({ "url": endpoint.url, "events": endpoint.events, "active": endpoint.active })).await?;
    endpoint.version += 1;
    Ok(view(&endpoint, None))
}

async fn save(ctx: &Context, endpoint: &WebhookEndpoint) -> Result<(), WebhookError> {
    if ctx.storage.webhooks().save_webhook(endpoint).await? {
        Ok(())
    } else {
        Err(WebhookError::Stale)
    }
}

pub async fn delete(
    ctx: &Context,
    store: &Store,
    actor: Actor<'_>,
    id: WebhookId,
) -> Result<(), WebhookError> {
    if !ctx.storage.webhooks().delete_webhook(store.id, id).await? {
        return Err(WebhookError::NotFound);
    }
    audit::record(
        ctx,
        store.id,
        actor,
        "webhook.deleted",
        format!("webhook:{id}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(())
}

/// A new current secret (shown once); the old one keeps signing for a day.
pub async fn rotate_secret(
    ctx: &Context,
    store: &Store,
    actor: Actor<'_>,
    id: WebhookId,
) -> Result<EndpointView, WebhookError> {
    let mut endpoint = find(ctx, store.id, id).await?;
    let secret = new_secret()?;
    endpoint.rotate(secret.clone(), domain::now());
    save(ctx, &endpoint).await?;
    audit::record(
        ctx,
        store.id,
        actor,
        "webhook.secret_rotated",
        format!("webhook:{id}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(view(&endpoint, Some(secret)))
}

pub async fn deliveries(
    ctx: &Context,
    store: &Store,
    id: WebhookId,
    before: Option<WebhookDeliveryId>,
    limit: u32,
) -> Result<Vec<DeliveryView>, WebhookError> {
    find(ctx, store.id, id).await?;
    Ok(ctx
        .storage
        .webhooks()
        .deliveries(store.id, id, before, limit)
        .await?
        .iter()
        .map(delivery_view)
        .collect())
}

/// Sends a delivery again now, with the same `webhook-id` and a fresh retry schedule.
pub async fn retry(
    ctx: &Context,
    store: &Store,
    actor: Actor<'_>,
    id: WebhookDeliveryId,
) -> Result<DeliveryView, WebhookError> {
    let repo = ctx.storage.webhooks();
    let mut delivery = repo
        .delivery(store.id, id)
        .await?
        .ok_or(WebhookError::DeliveryNotFound)?;
    delivery.retry_now(domain::now());
    repo.save_delivery(&delivery).await?;
    audit::record(
        ctx,
        store.id,
        actor,
        "webhook.delivery_retried",
        format!("delivery:{id}"),
        serde_json::json!({}),
    )
    .await?;
    ctx.webhook_wake.notify_one();
    Ok(delivery_view(&delivery))
}

/// The `webhooks` consumer: one delivery per endpoint that wants the event.
pub struct WebhookConsumer {
    ctx: Context,
}

impl WebhookConsumer {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }
}

#[async_trait]
impl Consumer for WebhookConsumer {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    async fn handle(&self, event: &StoreEvent) -> anyhow::Result<()> {
        let repo = self.ctx.storage.webhooks();
        let now = domain::now();
        let mut queued = false;
        for endpoint in repo.webhooks(event.store_id).await? {
            if !endpoint.wants(&event.kind) {
                continue;
            }
            let delivery = Delivery {
                id: WebhookDeliveryId::from_uuid(uuid::Uuid::now_v7()),
                store_id: event.store_id,
                endpoint_id: endpoint.id,
                event_id: event.id,
                kind: event.kind.clone(),
                body: webhook::body(&event.kind, event.at, &event.payload),
                state: DeliveryState::Pending,
                attempts: Vec::new(),
                scheduled_attempts: 0,
                next_attempt_at: Some(now),
                lease_until: now,
                created_at: now,
            };
            queued |= repo.insert_delivery(&delivery).await?;
        }
        if queued {
            self.ctx.webhook_wake.notify_one();
        }
        Ok(())
    }
}

/// Counts delivery outcomes for `/metrics`.
pub trait DeliveryMetrics: Send + Sync {
    fn attempt(&self, outcome: &'static str);
}

/// The delivery worker's parts.
pub struct Deliverer {
    pub ctx: Context,
    pub sender: Arc<dyn Sender>,
    pub schedule: Vec<Duration>,
    pub metrics: Arc<dyn DeliveryMetrics>,
}

/// Deliveries one round claims (and sends at once).
const BATCH: u32 = 16;

impl Deliverer {
    /// Sends what is due until `stop`, waking when a delivery is queued or every second.
    pub async fn run(self, wake: Arc<Notify>, stop: CancellationToken) {
        loop {
            let busy = match self.round().await {
                Ok(sent) => sent > 0,
                Err(error) => {
                    tracing::warn!(error = %error, "webhook deliveries unavailable");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Claims due deliveries and sends them concurrently; returns how many were attempted.
    pub async fn round(&self) -> Result<usize, StorageError> {
        let now = domain::now();
        let lease =
            SignedDuration::try_from(webhook::TIMEOUT * 3).unwrap_or(SignedDuration::from_secs(30));
        let claimed = self
            .ctx
            .storage
            .webhooks()
            .claim_deliveries(now, now + lease, BATCH)
            .await?;
        let count = claimed.len();
        let results =
            futures_util::future::join_all(claimed.into_iter().map(|d| self.attempt(d))).await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(count)
    }

    async fn attempt(&self, mut delivery: Delivery) -> Result<(), StorageError> {
        let repo = self.ctx.storage.webhooks();
        let Some(mut endpoint) = repo
            .webhook(delivery.store_id, delivery.endpoint_id)
            .await?
        else {
            return Ok(());
        };
        if !endpoint.active {
            delivery.state = DeliveryState::Failed;
            delivery.next_attempt_at = None;
            return repo.save_delivery(&delivery).await;
        }
        let now = domain::now();
        let timestamp = now.as_second();
        let id = delivery.event_id.to_string();
        let signature = webhook::signature(
            &endpoint.signing_secrets(now),
            &id,
            timestamp,
            &delivery.body,
        );
        let attempt = self
            .sender
            .send(Request {
                url: &endpoint.url,
                id: &id,
                timestamp,
                signature: &signature,
                body: &delivery.body,
            })
            .await;
        let succeeded = attempt.succeeded();
        let at = attempt.at;
        delivery.record(attempt, &self.schedule, jitter());
        self.metrics.attempt(match delivery.state {
            DeliveryState::Succeeded => "succeeded",
            DeliveryState::Pending => "failed",
            DeliveryState::Failed => "gave_up",
        });
        repo.save_delivery(&delivery).await?;
        let was = endpoint.failing_since;
        let disabled = endpoint.record_outcome(succeeded, at);
        let changed = disabled || was != endpoint.failing_since;
        let saved = changed && repo.save_webhook(&endpoint).await?;
        if saved && disabled {
            self.tell_owners(&endpoint).await;
        }
        Ok(())
    }

    /// Mails the store's owners that an endpoint was turned off.
    async fn tell_owners(&self, endpoint: &WebhookEndpoint) {
        let outcome = async {
            let storage = &self.ctx.storage;
            let store = storage
                .stores()
                .by_id(endpoint.store_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("store gone"))?;
            let team = storage
                .teams()
                .get(store.id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("team gone"))?;
            let mail = templates::webhook_disabled(&Branding::store(&store), &endpoint.url);
            for member in team.members.iter().filter(|m| m.role == Role::Owner) {
                if let Some(user) = storage.users().by_id(member.user_id).await? {
                    let key = format!(
                        "webhook-disabled:{}:{}:{}",
                        endpoint.id, endpoint.updated_at, user.email
                    );
                    self.ctx
                        .mail
                        .enqueue_once(&key, user.email.as_str(), mail.clone())
                        .await?;
                }
            }
            anyhow::Ok(())
        };
        if let Err(error) = outcome.await {
            tracing::warn!(error = %format!("{error:#}"), "could not tell owners about a disabled webhook");
        }
    }
}

/// A number in [-1, 1] spreading retries so a receiver's recovery is not met by every retry
/// at once.
fn jitter() -> f64 {
    let mut bytes = [0u8; 2];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.0;
    }
    f64::from(u16::from_le_bytes(bytes)) / f64::from(u16::MAX) * 2.0 - 1.0
}

/// A delivery that is not needed any more (not pending) is kept this long in the log.
pub const DELIVERY_LOG_DAYS: i64 = 30;

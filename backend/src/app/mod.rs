//! Use cases: each function validates with the domain, talks to ports, and returns a result
//! the HTTP layer and the CLI map as they need. Nothing here knows about HTTP.

pub mod accounts;
pub mod analytics;
pub mod audit;
pub mod carts;
pub mod catalog;
pub mod checkout;
pub mod commerce;
pub mod customers;
pub mod discounts;
pub mod dispatch;
pub mod events;
pub mod live;
pub mod notify;
pub mod orders;
pub mod payments;
pub mod product_csv;
pub mod reviews;
pub mod seed;
pub mod seed_history;
pub mod sessions;
pub mod stores;
pub mod team;
pub mod webhooks;

use std::sync::Arc;

use crate::{
    auth::{jwt::JwtKeys, password::Passwords},
    cache::Cache,
    config::Settings,
    mail::outbox::MailQueue,
    media::MediaStore,
    payments::{CardGateway, PaymentProvider},
    ratelimit::RateLimiter,
    storage::{SessionRepository, Storage},
};

/// The ports and policies every use case may need, built once at startup.
#[derive(Clone)]
pub struct Context {
    pub settings: Arc<Settings>,
    pub storage: Arc<dyn Storage>,
    /// Refresh sessions: Redis when configured, else the storage adapter.
    pub sessions: Arc<dyn SessionRepository>,
    pub jwt: Arc<JwtKeys>,
    pub passwords: Passwords,
    pub mail: MailQueue,
    pub limiter: Arc<RateLimiter>,
    /// Public catalogue responses (in-process, plus Redis when configured).
    pub cache: Arc<Cache>,
    /// Uploaded images.
    pub media: Arc<dyn MediaStore>,
    /// Starts payment for new orders (the manual provider: cash on delivery, bank transfer).
    pub payments: Arc<dyn PaymentProvider>,
    /// Card payments (Stripe Connect), when the platform has a Stripe secret key.
    pub cards: Option<Arc<dyn CardGateway>>,
    /// Work done after a request has been answered; shutdown waits for it.
    pub background: tokio_util::task::TaskTracker,
    /// Rung after events are committed: wakes this instance's event consumers.
    pub events: dispatch::EventSignal,
    /// Wakes the webhook delivery worker when a delivery is queued.
    pub webhook_wake: Arc<tokio::sync::Notify>,
}

/// Runs `work` every `interval` until `stop` is cancelled; a failed round is logged (as `what`)
/// and tried again at the next tick. The loop of every background worker.
pub async fn every<F, Fut, T, E>(
    interval: std::time::Duration,
    stop: tokio_util::sync::CancellationToken,
    what: &'static str,
    mut work: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = ticker.tick() => {
                if let Err(error) = work().await {
                    tracing::warn!(error = %error, "{what} failed; retrying next tick");
                }
            }
        }
    }
}

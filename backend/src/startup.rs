//! Building and running the application: storage, Redis, the HTTP server and shutdown.

use std::{future::Future, net::TcpListener, sync::Arc};

use actix_web::{HttpServer, dev::Server, web};
use anyhow::Context as _;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    app::Context,
    app::dispatch::Consumer,
    auth::{
        jwt::JwtKeys,
        password::{HashLimits, Passwords},
        sessions::{RedisSessions, StorageSessions},
    },
    cache::{Cache, RedisCache, SharedCache},
    config::Settings,
    http::{self, AppState, observe::Metrics},
    mail::{self, outbox::MailQueue},
    media::LocalMedia,
    payments::ManualPayments,
    ratelimit::RateLimiter,
    realtime::{
        Fanout,
        hub::{HubHandle, Limits},
    },
    redis::RedisHandle,
    storage::{self, SessionRepository, Storage},
};

/// Builds the use cases' context from the configuration and the connected storage.
pub fn context(
    settings: &Arc<Settings>,
    storage: &Arc<dyn Storage>,
    redis: Option<&RedisHandle>,
    registry: &prometheus::Registry,
) -> anyhow::Result<Context> {
    let sessions: Arc<dyn SessionRepository> = match redis {
        Some(redis) => Arc::new(RedisSessions::new(redis.clone())),
        None => Arc::new(StorageSessions(Arc::clone(storage))),
    };
    Ok(Context {
        settings: Arc::clone(settings),
        storage: Arc::clone(storage),
        sessions,
        jwt: Arc::new(JwtKeys::from_settings(settings)?),
        passwords: Passwords::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            HashLimits::from_budget(
                settings.password_hash_budget_mib,
                settings.argon2_memory_kib,
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
                std::time::Duration::from_secs(2),
            ),
        )?,
        mail: MailQueue::new(Arc::clone(storage)),
        limiter: RateLimiter::new(settings, redis.cloned()),
        cache: Cache::new(
            redis.map(|r| Arc::new(RedisCache::new(r.clone())) as Arc<dyn SharedCache>),
            registry,
        )?,
        media: Arc::new(LocalMedia::new(settings.data_dir.join("media"))),
        payments: Arc::new(ManualPayments),
        cards: card_gateway(settings)?,
        background: TaskTracker::new(),
        events: crate::app::dispatch::EventSignal::default(),
        webhook_wake: Arc::new(tokio::sync::Notify::new()),
    })
}

/// Stripe, when the platform has a secret key.
fn card_gateway(
    settings: &Settings,
) -> anyhow::Result<Option<Arc<dyn crate::payments::CardGateway>>> {
    use secrecy::ExposeSecret;
    let Some(key) = &settings.stripe_secret_key else {
        return Ok(None);
    };
    let gateway = crate::payments::stripe::StripeGateway::new(
        key.expose_secret(),
        &settings.stripe_api_base,
    )?;
    Ok(Some(Arc::new(gateway)))
}

pub struct Application {
    server: Server,
    port: u16,
    ctx: crate::app::Context,
    hub: HubHandle,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Application {
    /// Connects storage (and Redis when configured), binds the listener (port 0 picks a free
    /// port) and prepares the server. Nothing is served until [`Self::run_until_stopped`].
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // One TLS crypto provider for the process (ring; never aws-lc): clients that do not
        // bring their own configuration use it. Already installed is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let settings = Arc::new(settings);
        let storage = storage::connect(&settings).await?;
        let redis = settings
            .redis_url
            .as_ref()
            .map(|url| RedisHandle::new(url, &settings.redis_key_prefix))
            .transpose()?;
        let metrics = Metrics::new()?;
        let ctx = context(&settings, &storage, redis.as_ref(), metrics.registry())?;
        let shutdown = CancellationToken::new();
        // One tracker for the workers and for work requests leave behind: shutdown waits for all.
        let tasks = ctx.background.clone();
        let mailer = mail::from_settings(&settings)?;
        tasks.spawn(ctx.mail.clone().run_worker(mailer, shutdown.clone()));
        tasks.spawn(crate::app::orders::run_sweeper(
            ctx.clone(),
            std::time::Duration::from_secs(settings.order_sweep_interval_secs.max(1)),
            shutdown.clone(),
        ));
        if ctx.cards.is_some() && settings.stripe_reconcile_interval_secs > 0 {
            tasks.spawn(crate::app::payments::run_reconciler(
                ctx.clone(),
                std::time::Duration::from_secs(settings.stripe_reconcile_interval_secs),
                shutdown.clone(),
            ));
        }
        let hub = start_live(&ctx, redis.as_ref(), &metrics, &shutdown);
        start_webhooks(&ctx, &metrics, &shutdown)?;
        let state = web::Data::new(AppState {
            settings: Arc::clone(&settings),
            storage,
            redis,
            metrics,
            hub: hub.clone(),
            ctx: ctx.clone(),
        });

        let listener = TcpListener::bind(settings.listen_addr)
            .with_context(|| format!("binding {}", settings.listen_addr))?;
        let port = listener.local_addr()?.port();
        let mut server = HttpServer::new(move || http::app(state.clone()))
            .disable_signals()
            .shutdown_timeout(settings.shutdown_timeout_secs)
            .listen(listener)?;
        if settings.http_workers > 0 {
            server = server.workers(settings.http_workers);
        }
        tracing::info!(
            addr = %settings.listen_addr,
            port,
            storage = storage_kind(&settings),
            redis = settings.redis_url.is_some(),
            "techverse listening"
        );
        Ok(Self {
            server: server.run(),
            port,
            ctx,
            hub,
            shutdown,
            tasks,
        })
    }

    /// The use cases' context (tests drive the order sweeper at a chosen time with it).
    pub fn context(&self) -> crate::app::Context {
        self.ctx.clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `stop` resolves, then shuts down gracefully: stop accepting, let in-flight
    /// requests finish (bounded by `shutdown_timeout_secs`), cancel and await background tasks.
    pub async fn run_until_stopped(self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let server = tokio::spawn(self.server);
        stop.await;
        tracing::info!("shutting down: no new connections, finishing in-flight requests");
        // Sockets are requests that never finish by themselves: close them (1001) first.
        self.hub.close_all();
        handle.stop(true).await;
        server.await.context("server task")??;
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        tracing::info!("shutdown complete");
        Ok(())
    }
}

/// The live feed: this instance's socket hub, the fan-out (Redis pub/sub when configured) and
/// the event consumers, each its own loop.
fn start_live(
    ctx: &Context,
    redis: Option<&RedisHandle>,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> HubHandle {
    let settings = &ctx.settings;
    let hub = HubHandle::start(Limits {
        total: settings.ws_max_sockets,
        per_account: settings.ws_max_per_account,
        per_address: settings.ws_max_per_ip,
        queue: settings.ws_queue,
    });
    let fanout = Fanout::new(hub.clone(), redis.cloned());
    ctx.background
        .spawn(fanout.clone().run_subscriber(shutdown.clone()));
    ctx.background
        .spawn(fanout.clone().run_healer(shutdown.clone()));
    let owner = format!("instance-{}", uuid::Uuid::now_v7().simple());
    let consumers: Vec<Arc<dyn Consumer>> = vec![
        Arc::new(fanout),
        Arc::new(crate::app::notify::MailConsumer::new(ctx.clone())),
        Arc::new(crate::app::webhooks::WebhookConsumer::new(ctx.clone())),
    ];
    for consumer in consumers {
        ctx.background.spawn(crate::app::dispatch::run(
            ctx.clone(),
            consumer,
            owner.clone(),
            std::time::Duration::from_millis(settings.events_poll_ms.max(10)),
            Arc::new(metrics.live.clone()),
            shutdown.clone(),
        ));
    }
    hub
}

/// The merchant webhook delivery worker.
fn start_webhooks(
    ctx: &Context,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let settings = &ctx.settings;
    let schedule = crate::domain::webhook::parse_schedule(&settings.webhooks_retry_schedule)
        .map_err(|e| anyhow::anyhow!("TECHVERSE_WEBHOOKS_RETRY_SCHEDULE: {e}"))?;
    let sender = crate::webhooks::HttpSender::new(crate::webhooks::Policy {
        allow_insecure: settings.webhooks_allow_insecure,
        allow_private: settings.webhooks_allow_private_targets,
    })?;
    let deliverer = crate::app::webhooks::Deliverer {
        ctx: ctx.clone(),
        sender: Arc::new(sender),
        schedule,
        metrics: Arc::new(metrics.live.clone()),
    };
    ctx.background
        .spawn(deliverer.run(Arc::clone(&ctx.webhook_wake), shutdown.clone()));
    Ok(())
}

fn storage_kind(settings: &Settings) -> &'static str {
    if settings.mongodb_uri.is_some() {
        "mongo"
    } else {
        "embedded"
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received"),
                    _ = int.recv() => tracing::info!("SIGINT received"),
                }
            }
            _ => {
                tracing::warn!("could not install signal handlers; waiting for Ctrl-C");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

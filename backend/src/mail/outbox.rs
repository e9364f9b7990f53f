//! The outbox worker: claims due messages, hands them to the [`Mailer`], and on failure
//! schedules a retry with exponential backoff. Mail is only removed once the transport has
//! accepted it, so an SMTP outage delays mail and loses none.

use std::{sync::Arc, time::Duration};

use jiff::{SignedDuration, Timestamp};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::Mailer;
use crate::{
    domain::{
        self,
        mail::{BATCH, OutgoingMail, SEND_TIMEOUT, gives_up, lease, retry_delay},
    },
    storage::Storage,
};

const POLL: Duration = Duration::from_secs(1);

/// Puts mail in the outbox and wakes the worker.
#[derive(Clone)]
pub struct MailQueue {
    storage: Arc<dyn Storage>,
    wake: Arc<Notify>,
}

/// A rendered message, ready to queue.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl MailQueue {
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self {
            storage,
            wake: Arc::new(Notify::new()),
        }
    }

    pub async fn enqueue(&self, to: &str, message: Rendered) -> anyhow::Result<()> {
        let id = uuid::Uuid::now_v7().simple().to_string();
        self.enqueue_as(id, to, message).await.map(drop)
    }

    /// Queues the message under `key` (any text naming it: an event id, the kind of mail, the
    /// recipient): the same key queued again queues nothing, even after the first was sent.
    /// Returns whether it was queued now.
    pub async fn enqueue_once(
        &self,
        key: &str,
        to: &str,
        message: Rendered,
    ) -> anyhow::Result<bool> {
        let id = crate::auth::tokens::hash(key)[..32].to_owned();
        self.enqueue_as(id, to, message).await
    }

    async fn enqueue_as(&self, id: String, to: &str, message: Rendered) -> anyhow::Result<bool> {
        let now = domain::now();
        let mail = OutgoingMail {
            id,
            to: to.to_owned(),
            subject: message.subject,
            text: message.text,
            html: message.html,
            attempts: 0,
            next_attempt_at: now,
            lease_until: now,
            last_error: None,
            created_at: now,
            dead_at: None,
        };
        if !self.storage.outbox().enqueue(&mail).await? {
            tracing::debug!(mail_id = %mail.id, "mail queued before; not again");
            return Ok(false);
        }
        tracing::info!(mail_id = %mail.id, subject = %mail.subject, "mail queued");
        self.wake.notify_one();
        Ok(true)
    }

    /// Sends what is due until `stop` is cancelled.
    pub async fn run_worker(self, mailer: Arc<dyn Mailer>, stop: CancellationToken) {
        tracing::info!(mailer = mailer.kind(), "mail worker started");
        loop {
            let sent_any = match self.deliver_due(mailer.as_ref()).await {
                Ok(count) => count > 0,
                Err(error) => {
                    tracing::warn!(error = ?error, "mail outbox unavailable");
                    false
                }
            };
            if sent_any {
                continue;
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
        tracing::info!("mail worker stopped");
    }

    /// One pass: claims due messages and tries each once. Returns how many were sent.
    pub async fn deliver_due(&self, mailer: &dyn Mailer) -> anyhow::Result<usize> {
        let now = domain::now();
        let held = SignedDuration::try_from(lease(BATCH, SEND_TIMEOUT))?;
        let claimed = self
            .storage
            .outbox()
            .claim_due(now, now + held, BATCH)
            .await?;
        let mut sent = 0;
        for mail in claimed {
            let outcome = tokio::time::timeout(SEND_TIMEOUT, mailer.send(&mail))
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the transport did not answer in time")));
            match outcome {
                Ok(()) => {
                    self.storage
                        .outbox()
                        .mark_sent(&mail.id, domain::now())
                        .await?;
                    tracing::info!(mail_id = %mail.id, attempts = mail.attempts + 1, "mail sent");
                    sent += 1;
                }
                Err(error) => self.reschedule(&mail, &error).await?,
            }
        }
        Ok(sent)
    }

    async fn reschedule(&self, mail: &OutgoingMail, error: &anyhow::Error) -> anyhow::Result<()> {
        let attempts = mail.attempts + 1;
        if gives_up(attempts, mail.created_at, domain::now()) {
            tracing::error!(mail_id = %mail.id, attempts, error = %format!("{error:#}"),
                "mail undeliverable; given up (counted in mail_outbox_dead)");
            self.storage
                .outbox()
                .give_up(&mail.id, attempts, domain::now(), &format!("{error:#}"))
                .await?;
            return Ok(());
        }
        let delay = retry_delay(attempts);
        let next = Timestamp::now() + delay;
        tracing::warn!(mail_id = %mail.id, attempts, retry_in_secs = delay.as_secs(), error = %format!("{error:#}"), "mail not sent; will retry");
        self.storage
            .outbox()
            .retry_later(
                &mail.id,
                attempts,
                domain::truncate_to_millis(next),
                &format!("{error:#}"),
            )
            .await?;
        Ok(())
    }
}

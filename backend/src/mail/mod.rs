//! Outgoing mail: a [`Mailer`] port with an SMTP adapter (lettre) and a file adapter (`.eml`
//! files under the data directory, the default), a persisted outbox with a background worker
//! that retries with backoff, and the templates.

pub mod orders;
pub mod outbox;
pub mod templates;

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use async_trait::async_trait;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use secrecy::ExposeSecret;

use crate::{config::Settings, domain::mail::OutgoingMail};

/// Sends one message; an error means "not sent, try again later".
#[async_trait]
pub trait Mailer: Send + Sync {
    fn kind(&self) -> &'static str;
    async fn send(&self, mail: &OutgoingMail) -> anyhow::Result<()>;
}

/// Builds the MIME message. The Message-ID derives from the outbox id, so a retried message is
/// recognisably the same message.
pub fn build_message(from: &Mailbox, mail: &OutgoingMail) -> anyhow::Result<Message> {
    let to: Mailbox = mail.to.parse().context("recipient address")?;
    let message = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}@techverse>", mail.id)))
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .context("building the message")?;
    Ok(message)
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(url: &str, from: Mailbox) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("parsing TECHVERSE_SMTP_URL")?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    fn kind(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, mail: &OutgoingMail) -> anyhow::Result<()> {
        let message = build_message(&self.from, mail)?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .context("SMTP delivery")
    }
}

/// Writes each message to `<dir>/<outbox id>.eml` (atomically, so a retry overwrites rather
/// than duplicates).
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    pub fn new(dir: PathBuf, from: Mailbox) -> Self {
        Self { dir, from }
    }
}

#[async_trait]
impl Mailer for FileMailer {
    fn kind(&self) -> &'static str {
        "file"
    }

    async fn send(&self, mail: &OutgoingMail) -> anyhow::Result<()> {
        let bytes = build_message(&self.from, mail)?.formatted();
        let dir = self.dir.clone();
        let name = format!("{}.eml", mail.id);
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let temporary = dir.join(format!(".{name}.tmp"));
            std::fs::write(&temporary, bytes)?;
            std::fs::rename(&temporary, dir.join(&name))?;
            anyhow::Ok(())
        })
        .await
        .context("mail file task")?
    }
}

/// The mailer the configuration asks for: SMTP when `smtp_url` is set, else files.
pub fn from_settings(settings: &Settings) -> anyhow::Result<Arc<dyn Mailer>> {
    let from: Mailbox = settings
        .mail_from
        .parse()
        .context("TECHVERSE_MAIL_FROM is not a mailbox")?;
    Ok(match &settings.smtp_url {
        Some(url) => Arc::new(SmtpMailer::new(url.expose_secret(), from)?),
        None => Arc::new(FileMailer::new(settings.mail_dir(), from)),
    })
}

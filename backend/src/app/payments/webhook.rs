//! `POST /api/v1/payments/stripe/webhook`: the signature is checked on the raw bytes before
//! anything is parsed; a verified event is recorded by id, applied, then marked processed, so
//! a redelivery has no second effect and one that failed half-way is applied again. The work
//! per event is a few storage calls (a late payment's refund runs in the background), well
//! inside Stripe's timeout.

use std::collections::HashMap;

use serde::Deserialize;

use super::{Context, accounts, settle};
use crate::{
    app::commerce::CommerceError,
    domain::{
        self,
        payment::{EventRecord, ProviderEvent},
    },
    payments::{
        AccountState, Intent, IntentStatus, RefundState,
        signature::{self, SignatureError},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("the event could not be read: {0}")]
    Malformed(String),
    #[error(transparent)]
    Commerce(#[from] CommerceError),
}

impl From<crate::storage::StorageError> for WebhookError {
    fn from(error: crate::storage::StorageError) -> Self {
        Self::Commerce(error.into())
    }
}

/// The parts of Stripe's event envelope we read.
#[derive(Debug, Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    /// The connected account the event happened on (absent for platform events).
    #[serde(default)]
    account: Option<String>,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct ErrorObject {
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IntentObject {
    id: String,
    amount: i64,
    #[serde(default)]
    amount_received: i64,
    currency: String,
    status: String,
    #[serde(default)]
    metadata: HashMap<String, String>,
    #[serde(default)]
    last_payment_error: Option<ErrorObject>,
}

impl IntentObject {
    fn into_intent(self) -> Intent {
        let status = match self.status.as_str() {
            "succeeded" => IntentStatus::Succeeded,
            "canceled" => IntentStatus::Canceled,
            "processing" | "requires_capture" => IntentStatus::Processing,
            _ => IntentStatus::AwaitingBuyer,
        };
        Intent {
            id: self.id,
            status,
            amount: self.amount,
            amount_received: self.amount_received,
            currency: self.currency,
            client_secret: None,
            metadata: self.metadata,
            last_error: self.last_payment_error.and_then(|e| e.message),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RefundObject {
    id: String,
    amount: i64,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

impl RefundObject {
    fn state(&self) -> RefundState {
        RefundState {
            id: self.id.clone(),
            amount: self.amount,
            status: self.status.clone().unwrap_or_else(|| "pending".to_owned()),
            metadata: self.metadata.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RefundList {
    #[serde(default)]
    data: Vec<RefundObject>,
}

#[derive(Debug, Deserialize)]
struct ChargeObject {
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    refunds: Option<RefundList>,
}

#[derive(Debug, Deserialize)]
struct DisputeObject {
    id: String,
    amount: i64,
    currency: String,
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Requirements {
    #[serde(default)]
    currently_due: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct AccountObject {
    id: String,
    #[serde(default)]
    charges_enabled: bool,
    #[serde(default)]
    payouts_enabled: bool,
    #[serde(default)]
    requirements: Option<Requirements>,
}

fn object<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, WebhookError> {
    T::deserialize(value).map_err(|error| WebhookError::Malformed(error.to_string()))
}

/// A verified delivery, read: the envelope's id, type and account, and what it asks of us.
#[derive(Debug)]
pub struct StripeDelivery {
    pub id: String,
    pub kind: String,
    /// The connected account the event happened on (absent for platform events).
    pub account: Option<String>,
    pub event: StripeEvent,
}

/// What an event asks of us, decoded from its object (pure: no storage).
#[derive(Debug)]
pub enum StripeEvent {
    /// A PaymentIntent changed state.
    Intent(Intent),
    /// Refunds of the PaymentIntent `intent` were created or changed.
    Refunds {
        intent: String,
        refunds: Vec<RefundState>,
    },
    /// A buyer disputed a charge of the PaymentIntent `intent`.
    Dispute { intent: String, detail: String },
    /// A connected account's capabilities changed.
    Account(AccountState),
    /// An event we do not act on, or one that names no PaymentIntent.
    Ignored,
}

/// Reads a delivery's body (after its signature is checked): the envelope and, for the
/// events we act on, their object. Anything else is `Malformed`.
pub fn read_delivery(body: &[u8]) -> Result<StripeDelivery, WebhookError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|error| WebhookError::Malformed(error.to_string()))?;
    let event = decode(&envelope.kind, &envelope.data.object)?;
    Ok(StripeDelivery {
        id: envelope.id,
        kind: envelope.kind,
        account: envelope.account,
        event,
    })
}

fn decode(kind: &str, value: &serde_json::Value) -> Result<StripeEvent, WebhookError> {
    Ok(match kind {
        "payment_intent.succeeded"
        | "payment_intent.payment_failed"
        | "payment_intent.canceled"
        | "payment_intent.processing" => {
            StripeEvent::Intent(object::<IntentObject>(value)?.into_intent())
        }
        "charge.refunded" => {
            let charge: ChargeObject = object(value)?;
            match (charge.payment_intent, charge.refunds) {
                (Some(intent), Some(list)) => StripeEvent::Refunds {
                    intent,
                    refunds: list.data.iter().map(RefundObject::state).collect(),
                },
                _ => StripeEvent::Ignored,
            }
        }
        "refund.created" | "refund.updated" | "charge.refund.updated" => {
            let refund: RefundObject = object(value)?;
            match refund.payment_intent.clone() {
                Some(intent) => StripeEvent::Refunds {
                    intent,
                    refunds: vec![refund.state()],
                },
                None => StripeEvent::Ignored,
            }
        }
        "charge.dispute.created" => {
            let dispute: DisputeObject = object(value)?;
            match dispute.payment_intent {
                Some(intent) => StripeEvent::Dispute {
                    intent,
                    detail: format!(
                        "dispute {} for {} {} ({})",
                        dispute.id,
                        dispute.amount,
                        dispute.currency,
                        dispute.reason.as_deref().unwrap_or("no reason given")
                    ),
                },
                None => StripeEvent::Ignored,
            }
        }
        "account.updated" => {
            let account: AccountObject = object(value)?;
            StripeEvent::Account(AccountState {
                id: account.id,
                charges_enabled: account.charges_enabled,
                payouts_enabled: account.payouts_enabled,
                requirements_due: account
                    .requirements
                    .map(|r| r.currently_due)
                    .unwrap_or_default(),
            })
        }
        _ => StripeEvent::Ignored,
    })
}

/// Verifies, records and applies one delivery.
pub async fn receive(
    ctx: &Context,
    body: &[u8],
    signature_header: Option<&str>,
) -> Result<(), WebhookError> {
    let now = domain::now();
    signature::verify(
        signature_header,
        body,
        &ctx.settings.stripe_webhook_secrets(),
        now.as_second(),
    )?;
    let delivery = read_delivery(body)?;
    let repo = ctx.storage.payments();
    let record = repo
        .record_event(&ProviderEvent {
            id: delivery.id.clone(),
            kind: delivery.kind.clone(),
            account: delivery.account.clone(),
            received_at: now,
        })
        .await?;
    if record == EventRecord::Processed {
        return Ok(());
    }
    apply(ctx, &delivery).await?;
    repo.mark_event_processed(&delivery.id, domain::now())
        .await?;
    Ok(())
}

async fn apply(ctx: &Context, delivery: &StripeDelivery) -> Result<(), WebhookError> {
    // Payment events of a direct charge come from the connected account; an event without
    // one cannot match any of our PaymentIntents.
    let account = delivery.account.as_deref().unwrap_or("");
    match &delivery.event {
        StripeEvent::Intent(intent) => settle::apply_intent(ctx, account, intent).await?,
        StripeEvent::Refunds { intent, refunds } => {
            for refund in refunds {
                settle::apply_refund(ctx, account, intent, refund).await?;
            }
        }
        StripeEvent::Dispute { intent, detail } => {
            settle::dispute(ctx, account, intent, detail.clone()).await?
        }
        StripeEvent::Account(state) => accounts::updated(ctx, state).await?,
        StripeEvent::Ignored => tracing::debug!(kind = %delivery.kind, "Stripe event ignored"),
    }
    Ok(())
}

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
    let event: Envelope =
        serde_json::from_slice(body).map_err(|error| WebhookError::Malformed(error.to_string()))?;
    let repo = ctx.storage.payments();
    let record = repo
        .record_event(&ProviderEvent {
            id: event.id.clone(),
            kind: event.kind.clone(),
            account: event.account.clone(),
            received_at: now,
        })
        .await?;
    if record == EventRecord::Processed {
        return Ok(());
    }
    apply(ctx, &event).await?;
    repo.mark_event_processed(&event.id, domain::now()).await?;
    Ok(())
}

async fn apply(ctx: &Context, event: &Envelope) -> Result<(), WebhookError> {
    // Payment events of a direct charge come from the connected account; an event without
    // one cannot match any of our PaymentIntents.
    let account = event.account.as_deref().unwrap_or("");
    let value = &event.data.object;
    match event.kind.as_str() {
        "payment_intent.succeeded"
        | "payment_intent.payment_failed"
        | "payment_intent.canceled"
        | "payment_intent.processing" => {
            let intent = object::<IntentObject>(value)?.into_intent();
            settle::apply_intent(ctx, account, &intent).await?;
        }
        "charge.refunded" => {
            let charge: ChargeObject = object(value)?;
            let (Some(intent), Some(list)) = (charge.payment_intent, charge.refunds) else {
                return Ok(());
            };
            for refund in list.data {
                settle::apply_refund(ctx, account, &intent, &refund.state()).await?;
            }
        }
        "refund.created" | "refund.updated" | "charge.refund.updated" => {
            let refund: RefundObject = object(value)?;
            if let Some(intent) = &refund.payment_intent {
                settle::apply_refund(ctx, account, intent, &refund.state()).await?;
            }
        }
        "charge.dispute.created" => {
            let dispute: DisputeObject = object(value)?;
            if let Some(intent) = &dispute.payment_intent {
                let detail = format!(
                    "dispute {} for {} {} ({})",
                    dispute.id,
                    dispute.amount,
                    dispute.currency,
                    dispute.reason.as_deref().unwrap_or("no reason given")
                );
                settle::dispute(ctx, account, intent, detail).await?;
            }
        }
        "account.updated" => {
            let account: AccountObject = object(value)?;
            accounts::updated(
                ctx,
                &AccountState {
                    id: account.id,
                    charges_enabled: account.charges_enabled,
                    payouts_enabled: account.payouts_enabled,
                    requirements_due: account
                        .requirements
                        .map(|r| r.currently_due)
                        .unwrap_or_default(),
                },
            )
            .await?;
        }
        other => tracing::debug!(kind = other, "Stripe event ignored"),
    }
    Ok(())
}

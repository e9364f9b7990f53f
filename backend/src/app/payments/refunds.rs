//! Staff refunds on card orders: held on the order first (so refunds at once cannot together
//! exceed what was paid), then asked of Stripe with an idempotency key from the request's
//! `Idempotency-Key`, then settled by refund id, once, whether Stripe's answer or its webhook
//! comes first.

use serde_json::json;
use sha2::{Digest, Sha256};
use techverse_shared::{FulfilledLine, OrderId, RefundId, UserId};

use super::{Context, gateway, gateway_error, settle, update_order};
use crate::{
    app::{audit, commerce::CommerceError},
    domain::{
        self,
        order::{Effects, Order, OrderActor, PendingRefund, RefundRequestOutcome},
        payment::{AttemptState, to_stripe_amount},
        store::Store,
    },
    payments::RefundRequest,
};

/// What staff asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRefund<'a> {
    pub amount: i64,
    pub restock: &'a [FulfilledLine],
    pub reason: Option<&'a str>,
    /// The request's `Idempotency-Key`: the same key is the same refund.
    pub key: Option<&'a str>,
}

/// The refund's id: derived from the order and the key when there is one, so a retried
/// request names the same refund.
fn refund_id(order: OrderId, key: Option<&str>) -> RefundId {
    let Some(key) = key else {
        return RefundId::from_uuid(uuid::Uuid::now_v7());
    };
    let digest = Sha256::digest(format!("{order}:{key}").as_bytes());
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    RefundId::from_uuid(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// Refunds part or all of a paid card order through Stripe.
pub async fn refund_card(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
    user: UserId,
    id: OrderId,
    asked: &CardRefund<'_>,
) -> Result<Order, CommerceError> {
    let pending = PendingRefund {
        id: refund_id(id, asked.key),
        key: asked.key.map(str::to_owned),
        amount: asked.amount,
        restock: asked.restock.to_vec(),
        reason: asked.reason.map(str::to_owned),
        actor: OrderActor::Staff(user),
        at: domain::now(),
    };
    let mut outcome = None;
    update_order(ctx, store.id, id, |order| {
        let found = order.request_refund(pending.clone())?;
        let hold = matches!(found, RefundRequestOutcome::New(_));
        outcome = Some(found);
        Ok(hold.then(Effects::default))
    })
    .await?;
    let pending = match outcome {
        Some(RefundRequestOutcome::New(p) | RefundRequestOutcome::Pending(p)) => p,
        Some(RefundRequestOutcome::Done) | None => {
            return super::super::orders::get(ctx, store, id).await;
        }
    };
    let result = ask_stripe(ctx, store, id, &pending).await;
    if result.is_err() {
        // Not made (or not known to be): it stops counting against the order. Should Stripe
        // have made it after all, its webhook books it.
        update_order(ctx, store.id, id, |order| {
            Ok(order.drop_refund_request(pending.id).then(Effects::default))
        })
        .await?;
    }
    let provider_refund_id = result?;
    audit::record(
        ctx,
        store.id,
        actor,
        "order.refunded",
        format!("order:{id}"),
        json!({ "amount": pending.amount, "provider_refund_id": provider_refund_id, "restock": pending.restock }),
    )
    .await?;
    super::super::orders::get(ctx, store, id).await
}

/// Creates the Stripe refund and settles it on the order; returns its id.
async fn ask_stripe(
    ctx: &Context,
    store: &Store,
    id: OrderId,
    pending: &PendingRefund,
) -> Result<String, CommerceError> {
    let attempt = ctx
        .storage
        .payments()
        .attempt(store.id, id)
        .await?
        .filter(|a| a.state == AttemptState::Succeeded)
        .ok_or_else(|| {
            CommerceError::PaymentRefused("the order has no card payment to refund".to_owned())
        })?;
    let amount = to_stripe_amount(pending.amount, attempt.currency)
        .map_err(|error| CommerceError::PaymentRefused(error.to_string()))?;
    let refund = gateway(ctx)?
        .create_refund(&RefundRequest {
            account_id: attempt.account_id.clone(),
            intent_id: attempt.intent_id.clone(),
            amount,
            metadata: vec![
                ("techverse_refund_id", pending.id.to_string()),
                ("store_id", store.id.to_string()),
                ("order_id", id.to_string()),
            ],
            idempotency_key: format!("techverse-refund-{}", pending.id),
        })
        .await
        .map_err(gateway_error)?;
    if !matches!(refund.status.as_str(), "succeeded" | "pending") {
        return Err(CommerceError::PaymentRefused(format!(
            "Stripe answered the refund with status {}",
            refund.status
        )));
    }
    settle::apply_refund(ctx, &attempt.account_id, &attempt.intent_id, &refund).await?;
    Ok(refund.id)
}

//! What the provider says (a webhook, or the reconciler asking) applied to orders: a payment
//! that succeeded, failed or was cancelled, a refund, a dispute. Every check is against what
//! we recorded when we created the PaymentIntent (its account, store, order, amount and
//! currency), never against what the event claims; anything that does not match flags the
//! order for review and pays nothing. Each fact is applied once, however often it arrives.

use techverse_shared::{OrderStatus, PaymentStatus, RefundId};

use super::{Context, gateway, gateway_error, update_order};
use crate::{
    app::commerce::CommerceError,
    domain::{
        self,
        order::{Effects, FlagKind, OrderActor},
        payment::{AttemptState, PaymentAttempt, from_stripe_amount},
    },
    payments::{Intent, IntentStatus, RefundRequest, RefundState},
    storage::StorageError,
};

/// Why a provider's PaymentIntent does not belong to the attempt we recorded, if it does not.
fn mismatch(attempt: &PaymentAttempt, account: &str, intent: &Intent) -> Option<String> {
    if account != attempt.account_id {
        return Some(format!(
            "event from account {account}, but the payment was made on {}",
            attempt.account_id
        ));
    }
    let named = |key: &str| intent.metadata.get(key).map(String::as_str);
    if named("store_id") != Some(attempt.store_id.to_string().as_str())
        || named("order_id") != Some(attempt.order_id.to_string().as_str())
    {
        return Some(format!(
            "payment {} names store {:?} and order {:?}",
            intent.id,
            named("store_id"),
            named("order_id")
        ));
    }
    let currency = attempt.currency.code().to_ascii_lowercase();
    if intent.status == IntentStatus::Succeeded
        && (intent.amount_received != attempt.amount
            || !intent.currency.eq_ignore_ascii_case(&currency))
    {
        return Some(format!(
            "payment {} received {} {}, the order is {} {currency}",
            intent.id, intent.amount_received, intent.currency, attempt.amount
        ));
    }
    None
}

/// Applies what the provider reports about one of our PaymentIntents (`account`: the connected
/// account the report came from).
pub(super) async fn apply_intent(
    ctx: &Context,
    account: &str,
    intent: &Intent,
) -> Result<(), CommerceError> {
    let Some(attempt) = ctx.storage.payments().attempt_by_intent(&intent.id).await? else {
        tracing::info!(intent = %intent.id, "a PaymentIntent TechVerse did not create; ignored");
        return Ok(());
    };
    if let Some(problem) = mismatch(&attempt, account, intent) {
        tracing::warn!(intent = %intent.id, problem = %problem, "payment mismatch");
        return flag(ctx, &attempt, FlagKind::PaymentMismatch, problem).await;
    }
    match intent.status {
        IntentStatus::Succeeded => succeeded(ctx, &attempt).await,
        IntentStatus::Canceled => canceled(ctx, &attempt).await,
        IntentStatus::AwaitingBuyer | IntentStatus::Processing => match &intent.last_error {
            Some(error) if attempt.last_error.as_ref() != Some(error) => {
                failed(ctx, &attempt, error).await
            }
            _ => Ok(()),
        },
    }
}

/// Sets the attempt's state (and last error), reloading it when someone saved first.
async fn set_state(
    ctx: &Context,
    intent_id: &str,
    state: AttemptState,
    last_error: Option<&str>,
) -> Result<(), CommerceError> {
    let repo = ctx.storage.payments();
    for _ in 0..5 {
        let Some(mut attempt) = repo.attempt_by_intent(intent_id).await? else {
            return Ok(());
        };
        let error = last_error.map(str::to_owned).or(attempt.last_error.clone());
        if attempt.state == state && attempt.last_error == error {
            return Ok(());
        }
        attempt.state = state;
        attempt.last_error = error;
        attempt.updated_at = domain::now();
        if repo.save_attempt(&attempt).await? {
            return Ok(());
        }
    }
    Err(CommerceError::Stale)
}

async fn flag(
    ctx: &Context,
    attempt: &PaymentAttempt,
    kind: FlagKind,
    detail: String,
) -> Result<(), CommerceError> {
    update_order(ctx, attempt.store_id, attempt.order_id, |order| {
        Ok(order.flag(kind, detail.clone(), domain::now()))
    })
    .await
    .map(drop)
}

/// The money arrived. An unpaid order is paid; one that expired meanwhile is paid again if
/// its stock can be taken back; otherwise (stock gone, or the order cancelled) the money goes
/// back in full, in the background so the webhook is answered at once.
async fn succeeded(ctx: &Context, attempt: &PaymentAttempt) -> Result<(), CommerceError> {
    let order = match take_payment(ctx, attempt).await {
        Ok(order) => order,
        // The stock was sold meanwhile.
        Err(CommerceError::Storage(StorageError::Conflict("stock.reserve"))) => {
            return refund_due(ctx, attempt).await;
        }
        Err(other) => return Err(other),
    };
    let ended = matches!(order.status, OrderStatus::Expired | OrderStatus::Cancelled);
    match (ended, order.payment_status) {
        (true, PaymentStatus::Voided) => refund_due(ctx, attempt).await,
        (true, _) => set_state(ctx, &attempt.intent_id, AttemptState::Refunded, None).await,
        (false, _) => set_state(ctx, &attempt.intent_id, AttemptState::Succeeded, None).await,
    }
}

/// Pays the order if it can be paid (pending, or expired with its stock still there) and
/// returns it as it stands. Where an order change is not one transaction (MongoDB), the
/// release of an order that just expired lands a moment after the order itself: a refused
/// reservation is tried again a few times before the stock counts as gone.
async fn take_payment(
    ctx: &Context,
    attempt: &PaymentAttempt,
) -> Result<crate::domain::order::Order, CommerceError> {
    let intent = attempt.intent_id.clone();
    let mut tries = 0;
    loop {
        let paid = update_order(ctx, attempt.store_id, attempt.order_id, |order| {
            let payable = order.status == OrderStatus::PendingPayment
                || (order.status == OrderStatus::Expired
                    && order.payment_status == PaymentStatus::Voided);
            if !payable {
                return Ok(None);
            }
            Ok(Some(order.pay_by_card(&intent, domain::now())?))
        })
        .await;
        match paid {
            Ok(order) => return Ok(order),
            Err(CommerceError::Storage(StorageError::Conflict("stock.reserve"))) if tries < 5 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(other) => return Err(other),
        }
    }
}

/// Marks the money as owed back and sends it back in the background (the reconciler retries
/// attempts left in `refund_due`).
async fn refund_due(ctx: &Context, attempt: &PaymentAttempt) -> Result<(), CommerceError> {
    set_state(ctx, &attempt.intent_id, AttemptState::RefundDue, None).await?;
    let (ctx, attempt) = (ctx.clone(), attempt.clone());
    ctx.background.clone().spawn(async move {
        if let Err(error) = refund_late(&ctx, &attempt).await {
            tracing::warn!(intent = %attempt.intent_id, error = %error, "refunding a late payment failed; the reconciler retries");
        }
    });
    Ok(())
}

/// Sends a late payment back in full through the provider (once: the idempotency key is the
/// PaymentIntent's) and records it on the order.
pub(super) async fn refund_late(
    ctx: &Context,
    attempt: &PaymentAttempt,
) -> Result<(), CommerceError> {
    let refund = gateway(ctx)?
        .create_refund(&RefundRequest {
            account_id: attempt.account_id.clone(),
            intent_id: attempt.intent_id.clone(),
            amount: attempt.amount,
            metadata: vec![
                ("techverse_late_payment", "1".to_owned()),
                ("store_id", attempt.store_id.to_string()),
                ("order_id", attempt.order_id.to_string()),
            ],
            idempotency_key: format!("techverse-late-{}", attempt.intent_id),
        })
        .await
        .map_err(gateway_error)?;
    record_late_refund(ctx, attempt, &refund.id).await
}

async fn record_late_refund(
    ctx: &Context,
    attempt: &PaymentAttempt,
    refund_id: &str,
) -> Result<(), CommerceError> {
    update_order(ctx, attempt.store_id, attempt.order_id, |order| {
        let ended = matches!(order.status, OrderStatus::Expired | OrderStatus::Cancelled);
        if !ended || order.payment_status != PaymentStatus::Voided {
            return Ok(None);
        }
        Ok(Some(
            order.refund_unclaimed_payment(refund_id, domain::now())?,
        ))
    })
    .await?;
    set_state(ctx, &attempt.intent_id, AttemptState::Refunded, None).await
}

/// Cancelled at the provider: no money is coming, so an order still waiting for it is
/// cancelled now (its stock released) rather than at its deadline.
async fn canceled(ctx: &Context, attempt: &PaymentAttempt) -> Result<(), CommerceError> {
    set_state(ctx, &attempt.intent_id, AttemptState::Canceled, None).await?;
    update_order(ctx, attempt.store_id, attempt.order_id, |order| {
        if order.status != OrderStatus::PendingPayment {
            return Ok(None);
        }
        let reason = format!("card payment {} was cancelled at Stripe", attempt.intent_id);
        Ok(Some(order.cancel(
            OrderActor::System,
            domain::now(),
            Some(&reason),
        )?))
    })
    .await
    .map(drop)
}

/// A declined card: written in the order's history for staff; the order stays payable until
/// its deadline (the buyer may try another card).
async fn failed(ctx: &Context, attempt: &PaymentAttempt, error: &str) -> Result<(), CommerceError> {
    set_state(ctx, &attempt.intent_id, AttemptState::Open, Some(error)).await?;
    update_order(ctx, attempt.store_id, attempt.order_id, |order| {
        let text = format!("Card payment {} failed: {error}", attempt.intent_id);
        let text: String = text.chars().take(1_000).collect();
        order
            .add_note(OrderActor::System, &text, domain::now())
            .map_err(CommerceError::Invalid)?;
        Ok(Some(Effects::default()))
    })
    .await
    .map(drop)
}

/// A refund the provider reports (`charge.refunded`, `refund.*`, or its API answer): applied
/// once per refund id, settling the pending request it came from.
pub(super) async fn apply_refund(
    ctx: &Context,
    account: &str,
    intent_id: &str,
    refund: &RefundState,
) -> Result<(), CommerceError> {
    let Some(attempt) = ctx.storage.payments().attempt_by_intent(intent_id).await? else {
        return Ok(());
    };
    if account != attempt.account_id {
        let problem = format!("refund {} reported by account {account}", refund.id);
        return flag(ctx, &attempt, FlagKind::PaymentMismatch, problem).await;
    }
    let done = matches!(refund.status.as_str(), "succeeded" | "pending");
    if refund
        .metadata
        .get("techverse_late_payment")
        .map(String::as_str)
        == Some("1")
    {
        return if done {
            record_late_refund(ctx, &attempt, &refund.id).await
        } else {
            Ok(())
        };
    }
    let ours = refund
        .metadata
        .get("techverse_refund_id")
        .and_then(|raw| raw.parse::<RefundId>().ok());
    if !done {
        return refund_not_made(ctx, &attempt, refund, ours).await;
    }
    let Some(amount) = from_stripe_amount(refund.amount, attempt.currency) else {
        let problem = format!(
            "refund {} of {} has no exact amount",
            refund.id, refund.amount
        );
        return flag(ctx, &attempt, FlagKind::PaymentMismatch, problem).await;
    };
    update_order(ctx, attempt.store_id, attempt.order_id, |order| {
        let now = domain::now();
        match order.settle_refund(&refund.id, ours, amount, now) {
            Ok(effects) => Ok(effects),
            Err(error) => {
                let problem = format!("refund {}: {error}", refund.id);
                Ok(order.flag(FlagKind::PaymentMismatch, problem, now))
            }
        }
    })
    .await
    .map(drop)
}

/// A refund Stripe reports failed or cancelled: a pending request no longer counts against
/// the order; one already booked as made (Stripe answered `succeeded`, then the bank refused
/// it) flags the order, since the money did not go back after all.
async fn refund_not_made(
    ctx: &Context,
    attempt: &PaymentAttempt,
    refund: &RefundState,
    ours: Option<RefundId>,
) -> Result<(), CommerceError> {
    update_order(ctx, attempt.store_id, attempt.order_id, |order| {
        let booked = order
            .refunds
            .iter()
            .any(|r| r.provider_refund_id.as_deref() == Some(refund.id.as_str()));
        if booked {
            let problem = format!(
                "refund {} was booked but Stripe now reports it {}: the money did not go back",
                refund.id, refund.status
            );
            return Ok(order.flag(FlagKind::PaymentMismatch, problem, domain::now()));
        }
        let dropped = ours.is_some_and(|id| order.drop_refund_request(id));
        Ok(dropped.then(Effects::default))
    })
    .await
    .map(drop)
}

/// The buyer disputed the payment: staff must answer it in Stripe.
pub(super) async fn dispute(
    ctx: &Context,
    account: &str,
    intent_id: &str,
    detail: String,
) -> Result<(), CommerceError> {
    let Some(attempt) = ctx.storage.payments().attempt_by_intent(intent_id).await? else {
        return Ok(());
    };
    if account != attempt.account_id {
        return Ok(());
    }
    flag(ctx, &attempt, FlagKind::Disputed, detail).await
}

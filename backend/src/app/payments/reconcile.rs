//! The reconciler: card payments still unsettled a while after they started are checked
//! against Stripe and brought in line, so a lost webhook never strands an order. Each attempt
//! is leased (saved at its version) before it is looked at, so several instances share the
//! work without doing any twice at once.

use jiff::{SignedDuration, Timestamp};
use techverse_shared::{OrderStatus, StoreId};

use super::{Context, gateway, gateway_error, intents, settle};
use crate::{
    app::commerce::CommerceError,
    domain::{
        self,
        payment::{AttemptState, PaymentAttempt},
    },
    payments::IntentStatus,
};

/// How long one instance holds an attempt it is checking.
const LEASE_SECS: i64 = 60;
/// Attempts looked at per pass.
const BATCH: u32 = 100;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    pub checked: usize,
    pub failed: usize,
}

/// Checks the unsettled card payments (of `store`, or of every store) older than
/// `stripe_reconcile_min_age_secs` at `now`.
pub async fn reconcile(
    ctx: &Context,
    store: Option<StoreId>,
    now: Timestamp,
) -> Result<Reconciled, CommerceError> {
    gateway(ctx)?;
    let repo = ctx.storage.payments();
    let min_age = SignedDuration::from_secs(
        i64::try_from(ctx.settings.stripe_reconcile_min_age_secs).unwrap_or(i64::MAX),
    );
    let due = repo
        .unsettled_attempts(store, now - min_age, now, BATCH)
        .await?;
    let mut result = Reconciled::default();
    for mut attempt in due {
        attempt.lease_until = now + SignedDuration::from_secs(LEASE_SECS);
        if !repo.save_attempt(&attempt).await? {
            continue;
        }
        attempt.version += 1;
        result.checked += 1;
        if let Err(error) = check(ctx, &attempt).await {
            result.failed += 1;
            tracing::warn!(intent = %attempt.intent_id, error = %error, "reconciling a card payment failed; retried next pass");
        }
    }
    Ok(result)
}

async fn check(ctx: &Context, attempt: &PaymentAttempt) -> Result<(), CommerceError> {
    if attempt.state == AttemptState::RefundDue {
        return settle::refund_late(ctx, attempt).await;
    }
    let intent = gateway(ctx)?
        .intent(&attempt.account_id, &attempt.intent_id)
        .await
        .map_err(gateway_error)?;
    settle::apply_intent(ctx, &attempt.account_id, &intent).await?;
    // Still waiting for a buyer whose order has ended: cancel it so it cannot be paid.
    if matches!(intent.status, IntentStatus::AwaitingBuyer) {
        let order = ctx
            .storage
            .commerce()
            .order(attempt.store_id, attempt.order_id)
            .await?;
        if let Some(order) = order.filter(|o| o.status != OrderStatus::PendingPayment) {
            intents::cancel_for_ended(ctx, &order).await;
        }
    }
    Ok(())
}

/// Runs [`reconcile`] every `interval` until `stop` is cancelled.
pub async fn run_reconciler(
    ctx: Context,
    interval: std::time::Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    crate::app::every(interval, stop, "payment reconciliation", || {
        reconcile(&ctx, None, domain::now())
    })
    .await;
}

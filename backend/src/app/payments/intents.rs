//! A card order's PaymentIntent: created once per order (its idempotency key is the order id,
//! so a replayed checkout or a retried `POST …/payment` finds the same one), shown to the buyer
//! while the order is payable, cancelled when the order ends unpaid.

use techverse_shared::{Currency, OrderStatus, OrderView, PaymentMethod, PaymentView, StoreId};

use super::{Context, gateway, gateway_error, settle};
use crate::{
    app::commerce::CommerceError,
    domain::{
        self,
        order::{Order, OrderError},
        payment::{AttemptState, PaymentAttempt, application_fee, to_stripe_amount},
        store::Store,
    },
    payments::IntentRequest,
    storage::StorageError,
};

/// Whether the store can take cards now: the platform has Stripe and the store's connected
/// account can take charges.
pub async fn card_available(ctx: &Context, store: StoreId) -> Result<bool, CommerceError> {
    if ctx.cards.is_none() {
        return Ok(false);
    }
    Ok(ctx
        .storage
        .payments()
        .connected_account(store)
        .await?
        .is_some_and(|account| account.charges_enabled))
}

/// Refuses, before anything is reserved, a card order Stripe could not charge (an amount its
/// currency table does not allow).
pub fn check_chargeable(total: i64, currency: Currency) -> Result<(), CommerceError> {
    to_stripe_amount(total, currency)
        .map(drop)
        .map_err(|error| CommerceError::PaymentRefused(error.to_string()))
}

/// The order's PaymentIntent, created on the store's connected account if it has none yet.
async fn start(
    ctx: &Context,
    store: &Store,
    order: &Order,
) -> Result<PaymentAttempt, CommerceError> {
    let repo = ctx.storage.payments();
    if let Some(attempt) = repo.attempt(store.id, order.id).await? {
        return Ok(attempt);
    }
    let account = repo
        .connected_account(store.id)
        .await?
        .filter(|a| a.charges_enabled)
        .ok_or(CommerceError::PaymentProviderNotConfigured)?;
    let amount = to_stripe_amount(order.total, order.currency)
        .map_err(|error| CommerceError::PaymentRefused(error.to_string()))?;
    let intent = gateway(ctx)?
        .create_intent(&IntentRequest {
            account_id: account.account_id.clone(),
            amount,
            currency: order.currency,
            application_fee: application_fee(amount, ctx.settings.stripe_application_fee_bps),
            metadata: vec![
                ("store_id", store.id.to_string()),
                ("order_id", order.id.to_string()),
                ("order_number", order.number.to_string()),
            ],
            idempotency_key: format!("techverse-order-{}", order.id),
        })
        .await
        .map_err(gateway_error)?;
    let now = domain::now();
    let attempt = PaymentAttempt {
        store_id: store.id,
        order_id: order.id,
        intent_id: intent.id,
        account_id: account.account_id,
        client_secret: intent.client_secret.unwrap_or_default(),
        amount,
        currency: order.currency,
        state: AttemptState::Open,
        last_error: None,
        created_at: now,
        updated_at: now,
        lease_until: now,
        version: 0,
    };
    match repo.insert_attempt(&attempt).await {
        Ok(()) => Ok(attempt),
        // A concurrent start got there first (with the same PaymentIntent).
        Err(StorageError::Conflict(_)) => repo
            .attempt(store.id, order.id)
            .await?
            .ok_or(CommerceError::Stale),
        Err(other) => Err(other.into()),
    }
}

fn payment_view(
    ctx: &Context,
    attempt: &PaymentAttempt,
    order: &Order,
    for_staff: bool,
) -> PaymentView {
    let payable =
        order.status == OrderStatus::PendingPayment && attempt.state == AttemptState::Open;
    PaymentView {
        provider: "stripe".to_owned(),
        status: attempt.state.as_str().to_owned(),
        client_secret: (payable && !for_staff).then(|| attempt.client_secret.clone()),
        publishable_key: ctx.settings.stripe_publishable_key.clone(),
        account_id: attempt.account_id.clone(),
        js_url: Some(ctx.settings.stripe_js_url.clone()),
        intent_id: for_staff.then(|| attempt.intent_id.clone()),
        last_error: attempt.last_error.clone(),
    }
}

/// Adds the card payment (if any) to an order's view.
pub async fn attach(
    ctx: &Context,
    view: &mut OrderView,
    order: &Order,
    for_staff: bool,
) -> Result<(), CommerceError> {
    if order.payment_method != PaymentMethod::Card {
        return Ok(());
    }
    if let Some(attempt) = ctx
        .storage
        .payments()
        .attempt(order.store_id, order.id)
        .await?
    {
        view.payment = Some(payment_view(ctx, &attempt, order, for_staff));
    }
    Ok(())
}

/// The order as a buyer or staff see it, with its card payment.
pub async fn order_view(
    ctx: &Context,
    order: &Order,
    for_staff: bool,
) -> Result<OrderView, CommerceError> {
    let mut view = order.view(for_staff);
    attach(ctx, &mut view, order, for_staff).await?;
    Ok(view)
}

/// Right after checkout placed a card order: its PaymentIntent. When Stripe cannot be reached
/// the order stays placed and reserved until its deadline, without `payment`; the buyer
/// retries with `POST …/orders/{id}/payment`.
pub async fn start_after_checkout(
    ctx: &Context,
    store: &Store,
    view: &mut OrderView,
) -> Result<(), CommerceError> {
    let order = ctx
        .storage
        .commerce()
        .order(store.id, view.id)
        .await?
        .ok_or(CommerceError::OrderNotFound)?;
    if order.status != OrderStatus::PendingPayment {
        return attach(ctx, view, &order, false).await;
    }
    match start(ctx, store, &order).await {
        Ok(attempt) => view.payment = Some(payment_view(ctx, &attempt, &order, false)),
        Err(error) => {
            tracing::warn!(order_id = %order.id, error = %error, "card payment not started; the buyer can retry");
        }
    }
    Ok(())
}

/// The buyer starts (or resumes) paying their card order.
pub async fn pay(ctx: &Context, store: &Store, order: &Order) -> Result<OrderView, CommerceError> {
    if order.payment_method != PaymentMethod::Card {
        return Err(CommerceError::PaymentMethodUnavailable);
    }
    if order.status != OrderStatus::PendingPayment {
        return Err(OrderError::InvalidTransition {
            from: order.status.as_str().to_owned(),
            to: "paid".to_owned(),
        }
        .into());
    }
    let attempt = start(ctx, store, order).await?;
    let mut view = order.view(false);
    view.payment = Some(payment_view(ctx, &attempt, order, false));
    Ok(view)
}

/// After an unpaid card order ended (expired, cancelled): its PaymentIntent is cancelled so it
/// cannot be paid any more. A payment already under way shows up as a late payment instead;
/// a failure here is retried by the reconciler.
pub async fn cancel_for_ended(ctx: &Context, order: &Order) {
    let (Some(gateway), PaymentMethod::Card) = (ctx.cards.as_deref(), order.payment_method) else {
        return;
    };
    let attempt = match ctx
        .storage
        .payments()
        .attempt(order.store_id, order.id)
        .await
    {
        Ok(Some(attempt)) if attempt.state == AttemptState::Open => attempt,
        _ => return,
    };
    let intent = match gateway
        .cancel_intent(&attempt.account_id, &attempt.intent_id)
        .await
    {
        Ok(intent) => intent,
        // Refused: it may have succeeded meanwhile; look at where it stands.
        Err(_) => match gateway
            .intent(&attempt.account_id, &attempt.intent_id)
            .await
        {
            Ok(intent) => intent,
            Err(error) => {
                tracing::warn!(order_id = %order.id, error = %error, "cancelling the PaymentIntent failed; the reconciler retries");
                return;
            }
        },
    };
    if let Err(error) = settle::apply_intent(ctx, &attempt.account_id, &intent).await {
        tracing::warn!(order_id = %order.id, error = %error, "applying the cancelled PaymentIntent failed");
    }
}

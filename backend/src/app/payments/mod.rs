//! Card payments (DESIGN §5 steps 4–6, §7): each store's connected Stripe account, the
//! PaymentIntent of a card order, the verified webhook, staff refunds, late payments and the
//! reconciler. Direct charges: the PaymentIntent lives on the store's connected account (the
//! merchant is the seller of record and carries the fees and disputes, as with Shopify
//! Payments), the platform takes `stripe_application_fee_bps` as an application fee.

mod accounts;
mod intents;
mod reconcile;
mod refunds;
mod settle;
mod webhook;

use techverse_shared::{OrderId, StoreId};

pub use accounts::{Onboarding, account_status, offered_methods, onboard};
pub use intents::{
    attach, cancel_for_ended, card_available, check_chargeable, order_view, pay,
    start_after_checkout,
};
pub use reconcile::{Reconciled, reconcile, run_reconciler};
pub use refunds::{CardRefund, refund_card};
pub use webhook::{StripeDelivery, StripeEvent, WebhookError, read_delivery, receive};

use super::{Context, commerce::CommerceError, orders};
use crate::{
    domain::{self, order::Effects, order::Order},
    payments::{CardGateway, GatewayError},
};

fn gateway(ctx: &Context) -> Result<&dyn CardGateway, CommerceError> {
    ctx.cards
        .as_deref()
        .ok_or(CommerceError::PaymentProviderNotConfigured)
}

fn gateway_error(error: GatewayError) -> CommerceError {
    match error {
        GatewayError::Refused(message) => CommerceError::PaymentRefused(message),
        GatewayError::Unavailable(message) | GatewayError::Protocol(message) => {
            tracing::warn!(error = %message, "Stripe call failed");
            CommerceError::PaymentProviderUnavailable
        }
    }
}

/// Changes an order through `change` (which returns the effects to save, or `None`, leaving
/// the order untouched, when there is nothing to do), saved at the order's version and retried
/// when someone saved first. Returns the order as it stands: saved, or as read.
async fn update_order<F>(
    ctx: &Context,
    store: StoreId,
    id: OrderId,
    mut change: F,
) -> Result<Order, CommerceError>
where
    F: FnMut(&mut Order) -> Result<Option<Effects>, CommerceError> + Send,
{
    let repo = ctx.storage.commerce();
    for _ in 0..5 {
        let mut order = repo
            .order(store, id)
            .await?
            .ok_or(CommerceError::OrderNotFound)?;
        let Some(effects) = change(&mut order)? else {
            return Ok(order);
        };
        if orders::save_change(ctx, store, &order, &effects, domain::now()).await? {
            order.version += 1;
            return Ok(order);
        }
    }
    Err(CommerceError::Stale)
}

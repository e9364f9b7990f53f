//! Each store's connected Stripe account (Express): created once, onboarded through Account
//! Links, kept current by `account.updated` webhooks and a refresh on read.

use serde_json::json;
use techverse_shared::PaymentMethod;

use super::{Context, gateway, gateway_error};
use crate::{
    app::{audit, commerce::CommerceError},
    domain::{self, payment::ConnectedAccount, store::Store},
    payments::AccountState,
};

/// The account and a fresh onboarding link for it.
#[derive(Debug, Clone)]
pub struct Onboarding {
    pub account: ConnectedAccount,
    pub url: String,
}

fn connected(store: &Store, state: &AccountState) -> ConnectedAccount {
    ConnectedAccount {
        store_id: store.id,
        account_id: state.id.clone(),
        charges_enabled: state.charges_enabled,
        payouts_enabled: state.payouts_enabled,
        requirements_due: state.requirements_due.clone(),
        updated_at: domain::now(),
    }
}

/// Creates the store's connected account if it has none (once: the idempotency key is the
/// store's) and returns an onboarding link back to the admin.
pub async fn onboard(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
) -> Result<Onboarding, CommerceError> {
    let gateway = gateway(ctx)?;
    let repo = ctx.storage.payments();
    let account = match repo.connected_account(store.id).await? {
        Some(account) => account,
        None => {
            let state = gateway
                .create_account(
                    None,
                    vec![
                        ("store_id", store.id.to_string()),
                        ("store_slug", store.slug.to_string()),
                    ],
                    &format!("techverse-account-{}", store.id),
                )
                .await
                .map_err(gateway_error)?;
            let account = connected(store, &state);
            repo.save_connected_account(&account).await?;
            account
        }
    };
    let base = ctx.settings.public_url.trim_end_matches('/');
    let back = |step: &str| {
        format!(
            "{base}/admin/{}/settings/payments?stripe={step}",
            store.slug
        )
    };
    let url = gateway
        .account_link(&account.account_id, &back("return"), &back("refresh"))
        .await
        .map_err(gateway_error)?;
    audit::record(
        ctx,
        store.id,
        actor,
        "payments.stripe_onboarding",
        format!("stripe_account:{}", account.account_id),
        json!({ "account_id": account.account_id, "charges_enabled": account.charges_enabled }),
    )
    .await?;
    Ok(Onboarding { account, url })
}

/// The store's account, refreshed from Stripe when it answers (else as last known).
pub async fn account_status(
    ctx: &Context,
    store: &Store,
) -> Result<Option<ConnectedAccount>, CommerceError> {
    let repo = ctx.storage.payments();
    let Some(stored) = repo.connected_account(store.id).await? else {
        return Ok(None);
    };
    let Some(gateway) = ctx.cards.as_deref() else {
        return Ok(Some(stored));
    };
    match gateway.account(&stored.account_id).await {
        Ok(state) => {
            let fresh = connected(store, &state);
            repo.save_connected_account(&fresh).await?;
            Ok(Some(fresh))
        }
        Err(error) => {
            tracing::warn!(store_id = %store.id, error = %error, "Stripe account refresh failed; showing the last known state");
            Ok(Some(stored))
        }
    }
}

/// `account.updated`: the stored account follows.
pub(super) async fn updated(ctx: &Context, state: &AccountState) -> Result<(), CommerceError> {
    let repo = ctx.storage.payments();
    let Some(mut stored) = repo.connected_account_by_id(&state.id).await? else {
        return Ok(());
    };
    stored.charges_enabled = state.charges_enabled;
    stored.payouts_enabled = state.payouts_enabled;
    stored.requirements_due.clone_from(&state.requirements_due);
    stored.updated_at = domain::now();
    repo.save_connected_account(&stored).await?;
    Ok(())
}

/// The methods a shopper may choose: the store's offline ones, and card while its account
/// can take charges.
pub async fn offered_methods(
    ctx: &Context,
    store: &Store,
) -> Result<Vec<PaymentMethod>, CommerceError> {
    let settings = ctx
        .storage
        .commerce()
        .checkout_settings(store.id)
        .await?
        .unwrap_or_else(|| crate::domain::shipping::CheckoutSettings::initial(store.id));
    let mut methods = settings.payment_methods;
    if super::card_available(ctx, store.id).await? {
        methods.push(PaymentMethod::Card);
    }
    Ok(methods)
}

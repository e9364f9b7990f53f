//! Staff management of discount codes and of the store's checkout settings (shipping zones,
//! tax, payment methods). Every change is audited.

use serde_json::json;
use techverse_shared::{DiscountId, StoreId};

use super::{
    Context, audit,
    commerce::{self, CommerceError},
};
use crate::{
    domain::{
        self,
        discount::{Discount, DiscountInput, DiscountScope},
        shipping::{CheckoutSettings, SettingsInput},
        store::Store,
        validation::ValidationErrors,
    },
    storage::StorageError,
};

fn taken(error: StorageError) -> CommerceError {
    match error {
        StorageError::Conflict(_) => CommerceError::DiscountCodeTaken,
        other => other.into(),
    }
}

/// Products and categories a scope names must exist in this store.
async fn check_scope(
    ctx: &Context,
    store: StoreId,
    scope: &DiscountScope,
) -> Result<(), CommerceError> {
    let mut errors = ValidationErrors::default();
    match scope {
        DiscountScope::Order => {}
        DiscountScope::Categories(ids) => {
            let known = ctx.storage.catalog().categories(store).await?;
            for (index, id) in ids.iter().enumerate() {
                if !known.iter().any(|c| c.id == *id) {
                    errors.add(
                        &format!("scope.ids[{index}]"),
                        "unknown_category",
                        "no such category",
                    );
                }
            }
        }
        DiscountScope::Products(ids) => {
            for (index, id) in ids.iter().enumerate() {
                if ctx.storage.catalog().product(store, *id).await?.is_none() {
                    errors.add(
                        &format!("scope.ids[{index}]"),
                        "unknown_product",
                        "no such product",
                    );
                }
            }
        }
    }
    errors.finish(Some(())).map_err(Into::into)
}

pub async fn create(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
    input: &DiscountInput,
) -> Result<Discount, CommerceError> {
    let discount = Discount::parse(
        input,
        DiscountId::from_uuid(uuid::Uuid::now_v7()),
        store.id,
        None,
        domain::now(),
    )?;
    check_scope(ctx, store.id, &discount.scope).await?;
    ctx.storage
        .commerce()
        .insert_discount(store.id, &discount)
        .await
        .map_err(taken)?;
    audit::record(
        ctx,
        store.id,
        actor,
        "discount.created",
        format!("discount:{}", discount.id),
        json!({ "code": discount.code, "kind": discount.kind }),
    )
    .await?;
    Ok(discount)
}

pub async fn get(ctx: &Context, store: &Store, id: DiscountId) -> Result<Discount, CommerceError> {
    ctx.storage
        .commerce()
        .discount(store.id, id)
        .await?
        .ok_or(CommerceError::DiscountNotFound)
}

pub async fn update(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
    id: DiscountId,
    input: &DiscountInput,
) -> Result<Discount, CommerceError> {
    let existing = get(ctx, store, id).await?;
    let discount = Discount::parse(input, id, store.id, Some(&existing), domain::now())?;
    check_scope(ctx, store.id, &discount.scope).await?;
    if !ctx
        .storage
        .commerce()
        .update_discount(store.id, &discount)
        .await
        .map_err(taken)?
    {
        return Err(CommerceError::DiscountNotFound);
    }
    audit::record(
        ctx,
        store.id,
        actor,
        "discount.updated",
        format!("discount:{id}"),
        json!({ "code": { "from": existing.code, "to": discount.code }, "active": discount.active }),
    )
    .await?;
    Ok(discount)
}

pub async fn delete(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
    id: DiscountId,
) -> Result<(), CommerceError> {
    let existing = get(ctx, store, id).await?;
    ctx.storage.commerce().delete_discount(store.id, id).await?;
    audit::record(
        ctx,
        store.id,
        actor,
        "discount.deleted",
        format!("discount:{id}"),
        json!({ "code": existing.code, "used": existing.used }),
    )
    .await?;
    Ok(())
}

pub async fn settings(ctx: &Context, store: &Store) -> Result<CheckoutSettings, CommerceError> {
    commerce::settings(ctx, store).await.map_err(Into::into)
}

/// Replaces the checkout settings; ids of zones and methods sent back are kept.
pub async fn save_settings(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
    input: &SettingsInput,
) -> Result<CheckoutSettings, CommerceError> {
    for _ in 0..5 {
        let current = settings(ctx, store).await?;
        let next =
            CheckoutSettings::parse(input, store.id, current.version, &mut uuid::Uuid::now_v7)?;
        if ctx
            .storage
            .commerce()
            .save_checkout_settings(store.id, &next)
            .await?
        {
            audit::record(
                ctx,
                store.id,
                actor,
                "checkout_settings.updated",
                format!("store:{}", store.id),
                json!({
                    "zones": next.zones.len(),
                    "prices_include_tax": next.prices_include_tax,
                    "payment_methods": next.payment_methods,
                }),
            )
            .await?;
            return Ok(CheckoutSettings {
                version: next.version + 1,
                ..next
            });
        }
    }
    Err(CommerceError::Stale)
}

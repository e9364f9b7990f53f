//! What carts, checkout, orders, discounts and reviews share: their error type and the one
//! place a cart is priced from the live catalogue (used by the cart view and by checkout, so
//! the shopper sees exactly what checkout will charge).

use std::collections::HashMap;

use techverse_shared::{
    CartWarning, CartWarningCode, CountryCode, Money, ProductId, ShippingMethodId, ShortLine,
};

use super::Context;
use crate::{
    domain::{
        self,
        cart::{self, Cart, CartError, LiveVariant, PricedLine},
        catalog::Product,
        discount::{Discount, DiscountRefusal},
        order::OrderError,
        pricing::{self, PricingError, Quote, TaxRule},
        shipping::{CheckoutSettings, ShippingMethod, ShippingZone},
        store::Store,
        validation::ValidationErrors,
    },
    storage::StorageError,
};

#[derive(Debug, thiserror::Error)]
pub enum CommerceError {
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error("no such cart")]
    CartNotFound,
    #[error("no such order")]
    OrderNotFound,
    #[error("no such discount")]
    DiscountNotFound,
    #[error("no such review")]
    ReviewNotFound,
    #[error("no such product")]
    ProductNotFound,
    #[error("{0}")]
    Cart(#[from] CartError),
    #[error("the cart has nothing that can be bought")]
    CartEmpty,
    #[error("the discount code is not valid")]
    UnknownDiscount,
    #[error("{0}")]
    DiscountRefused(DiscountRefusal),
    #[error("a discount with this code already exists")]
    DiscountCodeTaken,
    #[error("no shipping method with this id serves the address")]
    ShippingUnavailable,
    #[error("the store does not offer this payment method")]
    PaymentMethodUnavailable,
    #[error("the payment provider cannot be reached right now; retry later")]
    PaymentProviderUnavailable,
    #[error("card payments are not set up for this store")]
    PaymentProviderNotConfigured,
    #[error("the payment provider refused: {0}")]
    PaymentRefused(String),
    #[error("some items are not available in the quantity asked")]
    OutOfStock(Vec<ShortLine>),
    #[error("the Idempotency-Key header is required (1 to 255 visible characters)")]
    IdempotencyKeyMissing,
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still in progress")]
    IdempotencyKeyInFlight,
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error("the record changed meanwhile; reload and try again")]
    Stale,
    #[error("missing permission {0}")]
    MissingPermission(techverse_shared::Permission),
    #[error("you have already reviewed this product")]
    AlreadyReviewed,
    #[error("an amount is out of range")]
    Pricing(#[from] PricingError),
    #[error("too many unpaid orders are open for this {scope:?} ({limit})")]
    TooManyOpenOrders {
        scope: crate::storage::OpenOrderScope,
        limit: u32,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Where an order would ship, for shipping and tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub country: CountryCode,
    pub region: Option<String>,
    pub method: Option<ShippingMethodId>,
}

/// A cart priced now.
#[derive(Debug, Clone)]
pub struct Priced {
    pub lines: Vec<PricedLine>,
    pub warnings: Vec<CartWarning>,
    pub quote: Quote,
    pub discount: Option<Discount>,
    pub shipping: Option<(ShippingZone, ShippingMethod)>,
    pub settings: CheckoutSettings,
    /// Why the cart's discount code does not apply, if it does not.
    pub refused_code: Option<CodeRefusal>,
    /// The cart's lines or discount changed while pricing (save it).
    pub cart_changed: bool,
}

/// Why a discount code was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    /// The store has no such code.
    Unknown,
    Refused(DiscountRefusal),
}

pub async fn settings(ctx: &Context, store: &Store) -> Result<CheckoutSettings, StorageError> {
    Ok(ctx
        .storage
        .commerce()
        .checkout_settings(store.id)
        .await?
        .unwrap_or_else(|| CheckoutSettings::initial(store.id)))
}

/// A variant of a product as the cart sees it.
pub fn live_variant(
    product: &Product,
    variant: techverse_shared::VariantId,
) -> Option<LiveVariant> {
    let found = product.variant(variant)?;
    Some(LiveVariant {
        product_id: product.id,
        slug: product.slug.clone(),
        title: product.title.clone(),
        variant_title: found.options.join(" / "),
        sku: found.sku.clone(),
        image: product.images.first().map(|i| i.url.clone()),
        category_ids: product.category_ids.clone(),
        price: found.price,
        available: found.available(),
        sellable: product.status == techverse_shared::ProductStatus::Active,
    })
}

/// Prices a cart from the live catalogue and the store's settings. Lines that cannot be bought
/// are left out with a warning; a discount that no longer applies is dropped with a warning.
pub async fn price_cart(
    ctx: &Context,
    store: &Store,
    cart: &mut Cart,
    destination: Option<&Destination>,
    customer_key: Option<&str>,
) -> Result<Priced, CommerceError> {
    let catalog = ctx.storage.catalog();
    let mut products: HashMap<ProductId, Option<Product>> = HashMap::new();
    for line in &cart.lines {
        if let std::collections::hash_map::Entry::Vacant(slot) = products.entry(line.product_id) {
            slot.insert(catalog.product(store.id, line.product_id).await?);
        }
    }
    let before = cart.clone();
    let (lines, mut warnings) = cart::reconcile(cart, store.currency, |line| {
        products
            .get(&line.product_id)
            .and_then(Option::as_ref)
            .and_then(|product| live_variant(product, line.variant_id))
    });
    let price_lines: Vec<pricing::PriceLine> = lines.iter().map(PricedLine::price_line).collect();
    let subtotal: i64 = price_lines
        .iter()
        .map(|l| l.unit_price.saturating_mul(l.quantity))
        .fold(0_i64, i64::saturating_add);

    let mut discount = None;
    let mut refused_code = None;
    if let Some(code) = cart.discount_code.clone() {
        let found = ctx
            .storage
            .commerce()
            .discount_by_code(store.id, &code)
            .await?;
        let uses = match (&found, customer_key) {
            (Some(d), Some(key)) => {
                ctx.storage
                    .commerce()
                    .discount_uses(store.id, d.id, key)
                    .await?
            }
            _ => 0,
        };
        let verdict = match &found {
            None => Err(DiscountRefusal::Inactive),
            Some(d) => d.check(domain::now(), subtotal, uses).and_then(|()| {
                if price_lines.iter().any(|l| d.scope.covers(l)) {
                    Ok(())
                } else {
                    Err(DiscountRefusal::NothingEligible)
                }
            }),
        };
        if let Err(refusal) = verdict {
            refused_code = Some(match found {
                None => CodeRefusal::Unknown,
                Some(_) => CodeRefusal::Refused(refusal),
            });
        }
        match verdict {
            Ok(()) => discount = found,
            // An empty cart keeps its code for when items come back.
            Err(_) if lines.is_empty() => {}
            Err(refusal) => {
                warnings.push(CartWarning {
                    code: CartWarningCode::DiscountRemoved,
                    line_id: None,
                    sku: None,
                    message: format!("the code {code} was removed: {refusal}"),
                    previous_price: None,
                    available: None,
                });
                cart.discount_code = None;
            }
        }
    }

    let settings = settings(ctx, store).await?;
    let zone = destination
        .and_then(|d| settings.zone_for(d.country, d.region.as_deref()))
        .cloned();
    let shipping = match (destination.and_then(|d| d.method), &zone) {
        (None, _) => None,
        (Some(method), Some(zone)) => Some((
            zone.clone(),
            zone.methods
                .iter()
                .find(|m| m.id == method)
                .cloned()
                .ok_or(CommerceError::ShippingUnavailable)?,
        )),
        (Some(_), None) => return Err(CommerceError::ShippingUnavailable),
    };
    let tax = TaxRule {
        rate_bps: zone.as_ref().map_or(0, |z| z.tax_bps),
        inclusive: settings.prices_include_tax,
    };
    let rule = discount.as_ref().map(Discount::rule);
    let goods = pricing::quote(store.currency, &price_lines, rule.as_ref(), 0, tax)?;
    let shipping_price = shipping
        .as_ref()
        .map_or(0, |(_, method)| method.price_for(goods.merchandise()));
    let quote = pricing::quote(
        store.currency,
        &price_lines,
        rule.as_ref(),
        shipping_price,
        tax,
    )?;
    let cart_changed = cart.lines != before.lines || cart.discount_code != before.discount_code;
    Ok(Priced {
        lines,
        warnings,
        quote,
        discount,
        shipping,
        settings,
        refused_code,
        cart_changed,
    })
}

/// The shipping methods (with this cart's price) for an address.
pub fn methods_for(
    priced: &Priced,
    country: CountryCode,
    region: Option<&str>,
) -> Vec<techverse_shared::ShippingMethodView> {
    let currency = priced.quote.currency;
    priced
        .settings
        .zone_for(country, region)
        .map(|zone| {
            zone.methods
                .iter()
                .map(|method| techverse_shared::ShippingMethodView {
                    id: method.id,
                    name: method.name.clone(),
                    kind: method.kind(),
                    price: Money::new(method.price_for(priced.quote.merchandise()), currency),
                })
                .collect()
        })
        .unwrap_or_default()
}

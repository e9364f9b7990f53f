//! Cart use cases. A guest holds a cart through a secret token (`<cart id>.<secret>`, only its
//! hash stored); a signed-in customer through their account. A guest cart presented together
//! with a customer's credentials is merged into the customer's cart. Every read reprices the
//! cart from the live catalogue.

use jiff::SignedDuration;
use techverse_shared::{CartId, CartLineId, CartLineView, CartView, CustomerId, Money, VariantId};

use super::{
    Context,
    commerce::{self, CodeRefusal, CommerceError, Destination, Priced},
};
use crate::{
    auth::tokens,
    domain::{
        self,
        cart::Cart,
        discount::{self, normalise_code},
        store::Store,
    },
    storage::StorageError,
};

/// Who is asking: the signed-in customer and/or the guest cart token sent.
#[derive(Debug, Clone, Default)]
pub struct CartAccess {
    pub customer: Option<CustomerId>,
    pub token: Option<String>,
}

fn ttl(ctx: &Context) -> SignedDuration {
    SignedDuration::from_hours(i64::from(ctx.settings.cart_ttl_hours))
}

fn token_cart_id(token: &str) -> Option<CartId> {
    token.split_once('.').and_then(|(id, _)| id.parse().ok())
}

/// Whether `access` may use `cart`: its customer, or the holder of its guest token.
fn may_use(cart: &Cart, access: &CartAccess) -> bool {
    match (&cart.customer_id, &cart.token_hash) {
        (Some(owner), _) => access.customer == Some(*owner),
        (None, Some(hash)) => access
            .token
            .as_deref()
            .is_some_and(|token| tokens::same_hash(&tokens::hash(token), hash)),
        (None, None) => false,
    }
}

/// The cart `id`, if it is live and `access` may use it (else `CartNotFound`: a cart of
/// someone else is indistinguishable from none).
pub async fn load(
    ctx: &Context,
    store: &Store,
    access: &CartAccess,
    id: CartId,
) -> Result<Cart, CommerceError> {
    ctx.storage
        .commerce()
        .cart(store.id, id, domain::now())
        .await?
        .filter(|cart| may_use(cart, access))
        .ok_or(CommerceError::CartNotFound)
}

/// The guest cart named by the token sent, if it is live and the token is right.
async fn guest_cart(
    ctx: &Context,
    store: &Store,
    token: &str,
) -> Result<Option<Cart>, CommerceError> {
    let Some(id) = token_cart_id(token) else {
        return Ok(None);
    };
    let access = CartAccess {
        customer: None,
        token: Some(token.to_owned()),
    };
    match load(ctx, store, &access, id).await {
        Ok(cart) if cart.customer_id.is_none() => Ok(Some(cart)),
        Ok(_) | Err(CommerceError::CartNotFound) => Ok(None),
        Err(other) => Err(other),
    }
}

/// `POST /carts`: a guest gets a new cart and its token; a customer gets their cart (created
/// if needed), with the guest cart they send merged into it. `true` when the cart is new.
pub async fn open(
    ctx: &Context,
    store: &Store,
    access: &CartAccess,
) -> Result<(CartView, bool), CommerceError> {
    let now = domain::now();
    let repo = ctx.storage.commerce();
    let Some(customer) = access.customer else {
        let id = CartId::from_uuid(uuid::Uuid::now_v7());
        let secret = tokens::random_token().map_err(StorageError::Unavailable)?;
        let token = format!("{id}.{secret}");
        let cart = Cart::new(
            id,
            store.id,
            Some(tokens::hash(&token)),
            None,
            now,
            ttl(ctx),
        );
        repo.insert_cart(store.id, &cart).await?;
        let mut view = view(ctx, store, cart, None).await?;
        view.token = Some(token);
        return Ok((view, true));
    };
    let guest = match &access.token {
        Some(token) => guest_cart(ctx, store, token).await?,
        None => None,
    };
    for _ in 0..5 {
        let (mut cart, created) = match repo.customer_cart(store.id, customer, now).await? {
            Some(cart) => (cart, false),
            None => {
                let cart = Cart::new(
                    CartId::from_uuid(uuid::Uuid::now_v7()),
                    store.id,
                    None,
                    Some(customer),
                    now,
                    ttl(ctx),
                );
                repo.insert_cart(store.id, &cart).await?;
                (cart, true)
            }
        };
        if let Some(guest) = &guest {
            cart.merge(guest);
            cart.touch(now, ttl(ctx));
            if !repo.save_cart(store.id, &cart).await? {
                continue;
            }
            cart.version += 1;
            repo.delete_cart(store.id, guest.id).await?;
        }
        return Ok((view(ctx, store, cart, None).await?, created));
    }
    Err(CommerceError::Stale)
}

/// Prices the cart and renders it; saves what pricing changed (seen prices, reduced
/// quantities, a dropped code) so each warning is given once.
pub async fn view(
    ctx: &Context,
    store: &Store,
    mut cart: Cart,
    destination: Option<&Destination>,
) -> Result<CartView, CommerceError> {
    let key = discount::customer_key(cart.customer_id, None);
    let priced = commerce::price_cart(ctx, store, &mut cart, destination, key.as_deref()).await?;
    if priced.cart_changed && ctx.storage.commerce().save_cart(store.id, &cart).await? {
        cart.version += 1;
    }
    Ok(render(&cart, &priced))
}

fn render(cart: &Cart, priced: &Priced) -> CartView {
    let currency = priced.quote.currency;
    let lines = priced
        .lines
        .iter()
        .zip(&priced.quote.lines)
        .map(|(line, amounts)| CartLineView {
            id: line.line.id,
            product_id: line.live.product_id,
            variant_id: line.line.variant_id,
            slug: line.live.slug.clone(),
            sku: line.live.sku.clone(),
            title: line.live.title.clone(),
            variant_title: line.live.variant_title.clone(),
            image: line.live.image.clone(),
            unit_price: Money::new(line.live.price, currency),
            quantity: line.line.quantity,
            subtotal: Money::new(amounts.subtotal, currency),
            discount: Money::new(amounts.discount, currency),
            available: line.live.available,
        })
        .collect();
    CartView {
        id: cart.id,
        token: None,
        customer_id: cart.customer_id,
        lines,
        discount_code: cart.discount_code.clone(),
        warnings: priced.warnings.clone(),
        totals: priced.quote.totals(),
        expires_at: cart.expires_at,
    }
}

/// Loads, changes and saves a cart under its version (retrying a concurrent change), then
/// renders it.
async fn change<F>(
    ctx: &Context,
    store: &Store,
    access: &CartAccess,
    id: CartId,
    mut edit: F,
) -> Result<CartView, CommerceError>
where
    F: FnMut(&mut Cart) -> Result<(), CommerceError>,
{
    for _ in 0..5 {
        let mut cart = load(ctx, store, access, id).await?;
        edit(&mut cart)?;
        cart.touch(domain::now(), ttl(ctx));
        if ctx.storage.commerce().save_cart(store.id, &cart).await? {
            cart.version += 1;
            return view(ctx, store, cart, None).await;
        }
    }
    Err(CommerceError::Stale)
}

pub async fn add_line(
    ctx: &Context,
    store: &Store,
    access: &CartAccess,
    id: CartId,
    variant: VariantId,
    quantity: i64,
) -> Result<CartView, CommerceError> {
    let product = ctx
        .storage
        .catalog()
        .product_by_variant(store.id, variant)
        .await?;
    let live = product
        .as_ref()
        .and_then(|p| commerce::live_variant(p, variant))
        .filter(|live| live.sellable);
    let Some(live) = live else {
        let mut errors = domain::validation::ValidationErrors::default();
        errors.add(
            "variant_id",
            "unknown_variant",
            "no such variant for sale in this store",
        );
        return Err(errors.into());
    };
    change(ctx, store, access, id, |cart| {
        let line = CartLineId::from_uuid(uuid::Uuid::now_v7());
        cart.add(line, live.product_id, variant, quantity, live.price)?;
        Ok(())
    })
    .await
}

pub async fn set_quantity(
    ctx: &Context,
    store: &Store,
    access: &CartAccess,
    id: CartId,
    line: CartLineId,
    quantity: i64,
) -> Result<CartView, CommerceError> {
    change(ctx, store, access, id, |cart| {
        cart.set_quantity(line, quantity).map_err(Into::into)
    })
    .await
}

pub async fn remove_line(
    ctx: &Context,
    store: &Store,
    access: &CartAccess,
    id: CartId,
    line: CartLineId,
) -> Result<CartView, CommerceError> {
    change(ctx, store, access, id, |cart| {
        cart.remove(line).map_err(Into::into)
    })
    .await
}

/// Applies a code, refusing (422 with the reason) one that does not apply to this cart now.
pub async fn apply_discount(
    ctx: &Context,
    store: &Store,
    access: &CartAccess,
    id: CartId,
    code: &str,
) -> Result<CartView, CommerceError> {
    let code = normalise_code(code);
    let mut cart = load(ctx, store, access, id).await?;
    cart.discount_code = Some(code.clone());
    let key = discount::customer_key(cart.customer_id, None);
    let priced = commerce::price_cart(ctx, store, &mut cart, None, key.as_deref()).await?;
    match priced.refused_code {
        Some(CodeRefusal::Unknown) => return Err(CommerceError::UnknownDiscount),
        Some(CodeRefusal::Refused(refusal)) => return Err(CommerceError::DiscountRefused(refusal)),
        None => {}
    }
    change(ctx, store, access, id, |cart| {
        cart.discount_code = Some(code.clone());
        Ok(())
    })
    .await
}

pub async fn remove_discount(
    ctx: &Context,
    store: &Store,
    access: &CartAccess,
    id: CartId,
) -> Result<CartView, CommerceError> {
    change(ctx, store, access, id, |cart| {
        cart.discount_code = None;
        Ok(())
    })
    .await
}

/// The methods that ship this cart to `country`/`region`, with this cart's price for each.
pub async fn shipping_methods(
    ctx: &Context,
    store: &Store,
    access: &CartAccess,
    id: CartId,
    destination: &Destination,
) -> Result<Vec<techverse_shared::ShippingMethodView>, CommerceError> {
    let mut cart = load(ctx, store, access, id).await?;
    let key = discount::customer_key(cart.customer_id, None);
    let priced = commerce::price_cart(ctx, store, &mut cart, None, key.as_deref()).await?;
    Ok(commerce::methods_for(
        &priced,
        destination.country,
        destination.region.as_deref(),
    ))
}

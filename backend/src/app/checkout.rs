//! Checkout: the saga of DESIGN §5. The cart is priced on the server (a price or total in the
//! request is never read), storage reserves stock with atomic conditional decrements in
//! variant order and stores the order `pending_payment` with a payment deadline, and the
//! payment provider starts payment. `Idempotency-Key` makes a retried request return the same
//! order instead of placing a second one.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use techverse_shared::{
    CartId, CartWarning, CartWarningCode, CustomerId, OrderAddress, OrderId, OrderLineId,
    OrderStatus, OrderView, PaymentMethod, PaymentStatus, ShippingMethodId, ShortLine,
};

use super::{
    Context,
    carts::{self, CartAccess},
    commerce::{self, CommerceError, Destination, Priced},
};
use crate::{
    auth::tokens,
    domain::{
        self,
        account::Email,
        address::{Address, AddressInput},
        cart::Cart,
        discount,
        events::StoreEvent,
        order::{Order, OrderActor, OrderLine, ShippingChoice},
        store::Store,
        validation::ValidationErrors,
    },
    storage::{
        DiscountUse, IdempotencyKey, IdempotencyRecord, NewOrder, OpenOrderLimit, Placement,
        StorageError,
    },
};

/// The checkout body. Unknown fields (a client's idea of a price or total, say) are accepted
/// and ignored: the server prices everything.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CheckoutInput {
    pub cart_id: CartId,
    pub email: String,
    pub shipping_address: AddressInput,
    pub shipping_method_id: ShippingMethodId,
    pub payment_method: PaymentMethod,
}

/// A usable `Idempotency-Key`: 1 to 255 visible ASCII characters.
pub fn parse_key(raw: Option<&str>) -> Result<String, CommerceError> {
    let key = raw.map(str::trim).unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CommerceError::IdempotencyKeyMissing);
    }
    Ok(key.to_owned())
}

/// SHA-256 of the body as canonical JSON (keys sorted), so a replay with the fields in another
/// order is still the same request.
pub fn request_hash(body: &serde_json::Value) -> String {
    let canonical = serde_json::to_vec(body).unwrap_or_default();
    Sha256::digest(&canonical)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whose key it is: the customer's, else the guest cart token's (so only its holder replays).
fn scope(access: &CartAccess, cart: CartId) -> String {
    match (&access.customer, &access.token) {
        (Some(customer), _) => format!("customer:{customer}"),
        (None, Some(token)) => format!("cart:{}", tokens::hash(token)),
        (None, None) => format!("cart:{cart}"),
    }
}

/// The answer to a request whose key was seen: the same order, or a refusal.
async fn replay(
    ctx: &Context,
    store: &Store,
    record: IdempotencyRecord,
    hash: &str,
    scope: &str,
    key: &str,
) -> Result<OrderView, CommerceError> {
    if record.request_hash != hash {
        return Err(CommerceError::IdempotencyKeyReused);
    }
    let mut record = record;
    // The first request is still running (only possible with MongoDB's step-by-step saga):
    // wait briefly for its outcome.
    for _ in 0..50 {
        if record.order_id.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        match ctx
            .storage
            .commerce()
            .idempotency_record(store.id, scope, key)
            .await?
        {
            Some(next) => record = next,
            // It failed and released the key: this request may try for itself.
            None => return Err(CommerceError::IdempotencyKeyInFlight),
        }
    }
    let id = record
        .order_id
        .ok_or(CommerceError::IdempotencyKeyInFlight)?;
    let order = ctx
        .storage
        .commerce()
        .order(store.id, id)
        .await?
        .ok_or(CommerceError::OrderNotFound)?;
    let mut view = order.view(false);
    view.token = record.order_token;
    Ok(view)
}

/// Lines the catalogue cannot fill now, from the warnings pricing gave.
fn shortfalls(cart: &Cart, warnings: &[CartWarning]) -> Vec<ShortLine> {
    warnings
        .iter()
        .filter(|w| {
            matches!(
                w.code,
                CartWarningCode::OutOfStock | CartWarningCode::QuantityReduced
            )
        })
        .filter_map(|w| {
            let line = cart.lines.iter().find(|l| Some(l.id) == w.line_id)?;
            Some(ShortLine {
                variant_id: line.variant_id,
                sku: w.sku.clone().unwrap_or_default(),
                requested: line.quantity,
                available: w.available.unwrap_or(0),
            })
        })
        .collect()
}

/// A checkout request as the HTTP edge parsed it: the typed body and the hash that tells a
/// replay from a reuse of its `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub input: CheckoutInput,
    pub hash: String,
    /// When the order is placed: now, except for the demo seed's history.
    pub at: Timestamp,
}

impl CheckoutRequest {
    pub fn parse(body: &serde_json::Value) -> Result<Self, CommerceError> {
        let input = serde_json::from_value(body.clone()).map_err(|e| {
            let mut errors = ValidationErrors::default();
            errors.add("body", "invalid", e.to_string());
            CommerceError::Invalid(errors)
        })?;
        Ok(Self {
            input,
            hash: request_hash(body),
            at: domain::now(),
        })
    }
}

/// Who is checking out: their cart access, the `Idempotency-Key` and their address.
pub struct Buyer<'a> {
    pub access: &'a CartAccess,
    pub key: &'a str,
    pub client_ip: Option<&'a str>,
}

/// The key's scope and the request it came with.
struct Attempt<'a> {
    scope: String,
    key: &'a str,
    hash: &'a str,
}

impl Attempt<'_> {
    /// The earlier request with this key, if any, answered as that request was.
    async fn replayed(
        &self,
        ctx: &Context,
        store: &Store,
    ) -> Result<Option<OrderView>, CommerceError> {
        let found = ctx
            .storage
            .commerce()
            .idempotency_record(store.id, &self.scope, self.key)
            .await?;
        match found {
            Some(record) => replay(ctx, store, record, self.hash, &self.scope, self.key)
                .await
                .map(Some),
            None => Ok(None),
        }
    }
}

/// Places an order from a cart (DESIGN §5): validate the buyer, price the cart on the server,
/// build the order, let storage reserve and store it, then (card orders) start its
/// PaymentIntent. Returns the order view (with its token, and `payment` for a card order) and
/// whether this request created it (`false`: a replay).
pub async fn checkout(
    ctx: &Context,
    store: &Store,
    buyer: &Buyer<'_>,
    request: &CheckoutRequest,
) -> Result<(OrderView, bool), CommerceError> {
    let (mut view, created) = place_order(ctx, store, buyer, request).await?;
    // A card order's PaymentIntent, made now or found again on a replay.
    if view.payment_method == PaymentMethod::Card {
        super::payments::start_after_checkout(ctx, store, &mut view).await?;
    }
    Ok((view, created))
}

async fn place_order(
    ctx: &Context,
    store: &Store,
    buyer: &Buyer<'_>,
    request: &CheckoutRequest,
) -> Result<(OrderView, bool), CommerceError> {
    let input = &request.input;
    let attempt = Attempt {
        scope: scope(buyer.access, input.cart_id),
        key: buyer.key,
        hash: &request.hash,
    };
    if let Some(view) = attempt.replayed(ctx, store).await? {
        return Ok((view, false));
    }
    let (email, address) = validate_buyer(input)?;
    let mut cart = match carts::load(ctx, store, buyer.access, input.cart_id).await {
        Ok(cart) => cart,
        // A concurrent request with this key may have placed the order (and removed the
        // cart) since the key was checked above.
        Err(CommerceError::CartNotFound) => {
            return match attempt.replayed(ctx, store).await? {
                Some(view) => Ok((view, false)),
                None => Err(CommerceError::CartNotFound),
            };
        }
        Err(other) => return Err(other),
    };
    let customer_key = discount::customer_key(buyer.access.customer, Some(email.as_str()));
    let priced = price_for_checkout(
        ctx,
        store,
        &mut cart,
        input,
        &address,
        customer_key.as_deref(),
    )
    .await?;
    let token = tokens::random_token().map_err(StorageError::Unavailable)?;
    let mut order = build_order(store, buyer, &priced, email, address, request, &token)?;
    let started = ctx
        .payments
        .start(&order, &priced.settings)
        .await
        .map_err(StorageError::Unavailable)?;
    order.payment_instructions = started.instructions;
    let new = new_order(ctx, order, &priced, &attempt, customer_key, &token, cart.id);
    place(ctx, store, &attempt, new, token).await
}

/// The email and shipping address, every bad field reported.
fn validate_buyer(input: &CheckoutInput) -> Result<(Email, Address), CommerceError> {
    let mut errors = ValidationErrors::default();
    let email = errors.check("email", Email::parse(&input.email), |e| e.code());
    let nil = techverse_shared::AddressId::from_uuid(uuid::Uuid::nil());
    let address = match Address::parse(nil, &input.shipping_address) {
        Ok(address) => Some(address),
        Err(nested) => {
            for mut error in nested.0 {
                error.field = format!("shipping_address.{}", error.field);
                errors.0.push(error);
            }
            None
        }
    };
    Ok(errors.finish(email.zip(address))?)
}

/// The cart priced now for this address and method; refused when a line is short, nothing can
/// be bought, or the payment or shipping method is not available.
async fn price_for_checkout(
    ctx: &Context,
    store: &Store,
    cart: &mut Cart,
    input: &CheckoutInput,
    address: &Address,
    customer_key: Option<&str>,
) -> Result<Priced, CommerceError> {
    let destination = Destination {
        country: address.country,
        region: address.region.clone(),
        method: Some(input.shipping_method_id),
    };
    let asked = cart.clone();
    let priced = commerce::price_cart(ctx, store, cart, Some(&destination), customer_key).await?;
    // Checkout never quietly sells fewer units than the cart asks for.
    let short = shortfalls(&asked, &priced.warnings);
    if !short.is_empty() {
        return Err(CommerceError::OutOfStock(short));
    }
    if priced.lines.is_empty() {
        return Err(CommerceError::CartEmpty);
    }
    let offered = match input.payment_method {
        PaymentMethod::Card => super::payments::card_available(ctx, store.id).await?,
        offline => priced.settings.offers(offline),
    };
    if !offered {
        return Err(CommerceError::PaymentMethodUnavailable);
    }
    if input.payment_method == PaymentMethod::Card {
        super::payments::check_chargeable(priced.quote.total, store.currency)?;
    }
    if priced.shipping.is_none() {
        return Err(CommerceError::ShippingUnavailable);
    }
    Ok(priced)
}

/// The new order, `pending_payment` with its payment deadline, priced exactly as quoted.
fn build_order(
    store: &Store,
    buyer: &Buyer<'_>,
    priced: &Priced,
    email: Email,
    address: Address,
    request: &CheckoutRequest,
    token: &str,
) -> Result<Order, CommerceError> {
    let (_, method) = priced
        .shipping
        .as_ref()
        .ok_or(CommerceError::ShippingUnavailable)?;
    let (now, payment_method) = (request.at, request.input.payment_method);
    let quote = &priced.quote;
    let minutes = i64::from(priced.settings.reservation_minutes);
    let mut order = Order {
        id: OrderId::from_uuid(uuid::Uuid::now_v7()),
        store_id: store.id,
        number: 0,
        token_hash: tokens::hash(token),
        customer_id: buyer.access.customer,
        email: email.as_str().to_owned(),
        client_ip: buyer.client_ip.map(str::to_owned),
        currency: store.currency,
        lines: order_lines(priced),
        subtotal: quote.subtotal,
        discount: quote.discount,
        shipping_total: quote.shipping,
        tax: quote.tax,
        total: quote.total,
        tax_included: quote.tax_included,
        discount_code: priced.discount.as_ref().map(|d| d.code.clone()),
        discount_id: priced.discount.as_ref().map(|d| d.id),
        shipping_address: order_address(address),
        shipping: ShippingChoice {
            method_id: method.id,
            name: method.name.clone(),
            kind: method.kind(),
            price: quote.shipping,
        },
        payment_method,
        payment_instructions: None,
        status: OrderStatus::PendingPayment,
        payment_status: PaymentStatus::Pending,
        pay_by: Some(now + SignedDuration::from_mins(minutes)),
        holds_stock: true,
        fulfilments: Vec::new(),
        refunds: Vec::new(),
        refunded: 0,
        pending_refunds: Vec::new(),
        flags: Vec::new(),
        notes: Vec::new(),
        history: Vec::new(),
        created_at: now,
        updated_at: now,
        version: 0,
    };
    let actor = buyer
        .access
        .customer
        .map_or(OrderActor::Guest, OrderActor::Customer);
    order.open(actor, now);
    Ok(order)
}

/// The order's lines, each priced as quoted.
fn order_lines(priced: &Priced) -> Vec<OrderLine> {
    priced
        .lines
        .iter()
        .zip(&priced.quote.lines)
        .map(|(line, amounts)| OrderLine {
            id: OrderLineId::from_uuid(uuid::Uuid::now_v7()),
            product_id: line.live.product_id,
            variant_id: line.line.variant_id,
            sku: line.live.sku.clone(),
            title: line.live.title.clone(),
            variant_title: line.live.variant_title.clone(),
            unit_price: line.live.price,
            quantity: line.line.quantity,
            subtotal: amounts.subtotal,
            discount: amounts.discount,
            tax: amounts.tax,
            total: amounts.total,
            tracked: line.live.available.is_some(),
            fulfilled: 0,
            restocked: 0,
        })
        .collect()
}

fn order_address(address: Address) -> OrderAddress {
    OrderAddress {
        name: address.name,
        line1: address.line1,
        line2: address.line2,
        city: address.city,
        region: address.region,
        postal_code: address.postal_code,
        country: address.country,
        phone: address.phone,
    }
}

/// Everything storage writes for the order, with the store's open-order limit.
fn new_order(
    ctx: &Context,
    order: Order,
    priced: &Priced,
    attempt: &Attempt<'_>,
    customer_key: Option<String>,
    token: &str,
    cart: CartId,
) -> NewOrder {
    NewOrder {
        open_limit: Some(OpenOrderLimit {
            per_buyer: ctx.settings.max_open_orders_per_buyer,
            per_address: ctx.settings.max_open_orders_per_address,
        }),
        events: vec![StoreEvent::new(
            order.store_id,
            "order.created",
            json!({
                "order_id": order.id,
                "number": 0,
                "total": order.money(order.total),
                "item_count": order.item_count(),
                "email": order.email,
                "payment_method": order.payment_method,
            }),
            order.created_at,
        )],
        idempotency: IdempotencyKey {
            scope: attempt.scope.clone(),
            key: attempt.key.to_owned(),
            request_hash: attempt.hash.to_owned(),
            order_token: token.to_owned(),
        },
        discount: match (&priced.discount, customer_key) {
            (Some(discount), Some(customer_key)) => Some(DiscountUse {
                discount_id: discount.id,
                customer_key,
                usage_limit: discount.usage_limit,
                per_customer_limit: discount.per_customer_limit,
            }),
            _ => None,
        },
        cart_id: Some(cart),
        order,
    }
}

/// Hands the order to storage and answers what it did.
async fn place(
    ctx: &Context,
    store: &Store,
    attempt: &Attempt<'_>,
    new: NewOrder,
    token: String,
) -> Result<(OrderView, bool), CommerceError> {
    match ctx.storage.commerce().place_order(store.id, &new).await? {
        Placement::Placed(order) => {
            ctx.events.committed();
            tracing::info!(order_id = %order.id, number = order.number, total = order.total, "order placed");
            let mut view = order.view(false);
            view.token = Some(token);
            Ok((view, true))
        }
        Placement::Seen(record) => replay(
            ctx,
            store,
            record,
            attempt.hash,
            &attempt.scope,
            attempt.key,
        )
        .await
        .map(|view| (view, false)),
        Placement::DiscountUsedUp => Err(CommerceError::DiscountRefused(
            crate::domain::discount::DiscountRefusal::UsedUp,
        )),
        // The buyer's oldest open order ends (paid or expired) within one payment window.
        Placement::TooManyOpen { scope, limit } => Err(CommerceError::TooManyOpenOrders {
            scope,
            limit,
            retry_after_secs: new.order.pay_by.map_or(60, |by| {
                u64::try_from(by.duration_since(new.order.created_at).as_secs()).unwrap_or(60)
            }),
        }),
        Placement::Short(short) => Err(CommerceError::OutOfStock(
            short
                .into_iter()
                .map(|s| ShortLine {
                    sku: new
                        .order
                        .lines
                        .iter()
                        .find(|l| l.variant_id == s.variant_id)
                        .map(|l| l.sku.clone())
                        .unwrap_or_default(),
                    variant_id: s.variant_id,
                    requested: s.requested,
                    available: s.available,
                })
                .collect(),
        )),
    }
}

/// The order a guest looks up with its token, or a customer with their account.
pub async fn lookup(
    ctx: &Context,
    store: &Store,
    id: OrderId,
    customer: Option<CustomerId>,
    token: Option<&str>,
) -> Result<OrderView, CommerceError> {
    let order = buyer_order(ctx, store, id, customer, token).await?;
    super::payments::order_view(ctx, &order, false).await
}

/// The order, if this customer placed it or the guest holds its token (else not found).
pub async fn buyer_order(
    ctx: &Context,
    store: &Store,
    id: OrderId,
    customer: Option<CustomerId>,
    token: Option<&str>,
) -> Result<Order, CommerceError> {
    let order = ctx
        .storage
        .commerce()
        .order(store.id, id)
        .await?
        .ok_or(CommerceError::OrderNotFound)?;
    let by_customer = customer.is_some() && order.customer_id == customer;
    let by_token = token.is_some_and(|t| tokens::same_hash(&tokens::hash(t), &order.token_hash));
    if by_customer || by_token {
        Ok(order)
    } else {
        Err(CommerceError::OrderNotFound)
    }
}

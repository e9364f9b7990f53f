//! The demo store's past, so a new user's dashboard and product pages are not empty: a few
//! shoppers, orders on each of the last 30 days placed through the real checkout and moved
//! along the order's life at the times they would have happened, and approved reviews. None
//! of it is news: the event consumers start after it (no mail, webhook or socket frame).

use jiff::{SignedDuration, Timestamp};
use techverse_shared::{
    CustomerId, FulfilledLine, FulfilmentId, PaymentMethod, ProductStatus, RefundId, ReviewId,
    ShippingKind, ShippingMethodId, StoreId, VariantId,
};

use super::{
    Context, audit,
    carts::{self, CartAccess},
    checkout::{self, Buyer, CheckoutInput, CheckoutRequest},
    orders, reviews,
};
use crate::domain::{
    account::{Customer, Email, NewPassword, PersonName},
    address::AddressInput,
    catalog::Product,
    order::{Effects, Order, OrderActor, OrderError},
    review::{Author, Moderation, Review, ReviewInput},
    store::Store,
};

/// Days of history, ending today.
pub const DAYS: i64 = 30;

const SHOPPERS: [(&str, &str); 4] = [
    ("Ada Obi", "ada"),
    ("Bola Ahmed", "bola"),
    ("Chidi Okafor", "chidi"),
    ("Dami Adeyemi", "dami"),
];

/// Ratings and words of the seeded reviews, handed out in turn.
const REVIEWS: [(i64, &str, &str); 6] = [
    (
        5,
        "Exactly as described",
        "Arrived quickly and works perfectly.",
    ),
    (
        4,
        "Good value",
        "Does everything I need; the box was a bit battered.",
    ),
    (5, "Love it", "Second one I have bought from this shop."),
    (3, "Decent", "Fine for the price, battery could be better."),
    (4, "Solid", "Well made, setup took five minutes."),
    (5, "Great service", "Picked it up in Lagos the same day."),
];

/// What the history added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    pub orders: usize,
    pub reviews: usize,
}

/// Where an order's life ends, by its place in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Paid and, the older it is, fulfilled, shipped and delivered.
    Completed,
    PaidAndPartlyRefunded,
    Cancelled,
    /// Never paid: expired by the sweeper once past its deadline.
    Unpaid,
}

fn fate(n: usize) -> Fate {
    match n % 10 {
        6 => Fate::PaidAndPartlyRefunded,
        7 => Fate::Cancelled,
        8 => Fate::Unpaid,
        _ => Fate::Completed,
    }
}

pub async fn seed_history(ctx: &Context, store: &Store, now: Timestamp) -> anyhow::Result<History> {
    super::dispatch::hold_for_history(ctx, store.id).await?;
    let shoppers = shoppers(ctx, store, now).await?;
    let products = sellable(ctx, store).await?;
    anyhow::ensure!(!products.is_empty(), "the demo store has nothing to sell");
    let pickup = pickup(ctx, store.id).await?;
    let mut placed = 0;
    for day in 0..DAYS {
        let that_day = now - SignedDuration::from_hours(24 * (DAYS - 1 - day));
        for k in 0..1 + (day * 7 % 3) {
            let at = (that_day - SignedDuration::from_hours(6 * k))
                .min(now - SignedDuration::from_mins(k + 1));
            let (_, variant) = &products[placed * 7 % products.len()];
            let shopper = (placed % 3 != 2).then(|| &shoppers[placed % shoppers.len()]);
            let order = place(ctx, store, shopper, *variant, pickup, placed, at).await?;
            live(ctx, store, order, fate(placed), at, now).await?;
            placed += 1;
        }
    }
    let reviews = review(ctx, store, &shoppers, &products, now).await?;
    super::dispatch::skip_history(ctx, store.id).await?;
    Ok(History {
        orders: placed,
        reviews,
    })
}

/// The demo shoppers (signed up a month ago, emails verified, passwords nobody knows).
async fn shoppers(ctx: &Context, store: &Store, now: Timestamp) -> anyhow::Result<Vec<Customer>> {
    let secret = crate::auth::tokens::random_token()?;
    let password = NewPassword::parse(&secret, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = ctx.passwords.hash(&password).await?;
    let since = now - SignedDuration::from_hours(24 * (DAYS + 1));
    let mut out = Vec::new();
    for (name, local) in SHOPPERS {
        let customer = Customer {
            id: CustomerId::from_uuid(uuid::Uuid::now_v7()),
            store_id: store.id,
            email: Email::parse(&format!("{local}@shoppers.demo.techverse.local"))?,
            name: PersonName::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?,
            phone: None,
            password_hash: hash.clone(),
            email_verified: true,
            addresses: Vec::new(),
            created_at: since,
            updated_at: since,
            version: 0,
        };
        ctx.storage.customers().insert(store.id, &customer).await?;
        out.push(customer);
    }
    Ok(out)
}

/// Active products by title, each with a variant holding a few units.
async fn sellable(ctx: &Context, store: &Store) -> anyhow::Result<Vec<(Product, VariantId)>> {
    let mut products = ctx
        .storage
        .catalog()
        .products(store.id, Some(ProductStatus::Active))
        .await?;
    products.sort_by(|a, b| a.title.cmp(&b.title));
    Ok(products
        .into_iter()
        .filter_map(|p| {
            let variant = p
                .variants
                .iter()
                .find(|v| v.available().is_none_or(|units| units > 3))?
                .id;
            Some((p, variant))
        })
        .collect())
}

async fn pickup(ctx: &Context, store: StoreId) -> anyhow::Result<ShippingMethodId> {
    let settings = ctx
        .storage
        .commerce()
        .checkout_settings(store)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo store has no checkout settings"))?;
    settings
        .zones
        .iter()
        .flat_map(|zone| &zone.methods)
        .find(|method| method.kind() == ShippingKind::Pickup)
        .map(|method| method.id)
        .ok_or_else(|| anyhow::anyhow!("the demo store offers no pickup"))
}

/// One order through the real checkout: a cart, one line, cash on delivery, pickup.
async fn place(
    ctx: &Context,
    store: &Store,
    shopper: Option<&Customer>,
    variant: VariantId,
    pickup: ShippingMethodId,
    n: usize,
    at: Timestamp,
) -> anyhow::Result<Order> {
    let guest = CartAccess {
        customer: shopper.map(|c| c.id),
        token: None,
    };
    let (cart, _) = carts::open(ctx, store, &guest).await?;
    let access = CartAccess {
        customer: guest.customer,
        token: cart.token.clone(),
    };
    carts::add_line(ctx, store, &access, cart.id, variant, 1 + (n % 2) as i64).await?;
    let name = shopper.map_or("Kemi Bello", |c| c.name.as_str());
    let email = shopper.map_or_else(
        || format!("guest{n}@shoppers.demo.techverse.local"),
        |c| c.email.as_str().to_owned(),
    );
    let request = CheckoutRequest {
        input: CheckoutInput {
            cart_id: cart.id,
            email,
            shipping_address: AddressInput {
                name: name.to_owned(),
                line1: format!("{} Admiralty Way", 1 + n % 40),
                line2: None,
                city: "Lagos".into(),
                region: Some("Lagos".into()),
                postal_code: None,
                country: "NG".into(),
                phone: None,
                is_default: false,
            },
            shipping_method_id: pickup,
            payment_method: PaymentMethod::CashOnDelivery,
        },
        hash: format!("demo-history-{n}"),
        at,
    };
    let key = format!("demo-history-{n}");
    let buyer = Buyer {
        access: &access,
        key: &key,
        client_ip: None,
    };
    let (view, _) = checkout::checkout(ctx, store, &buyer, &request).await?;
    Ok(orders::get(ctx, store, view.id).await?)
}

/// A move of the order's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Pay,
    Fulfil,
    Ship,
    Deliver,
    Refund,
    Cancel,
}

/// The moves an order of this fate and age went through, each so many hours after it was placed.
fn steps(fate: Fate, age: SignedDuration) -> Vec<(i64, Step)> {
    let older = |hours: i64| age > SignedDuration::from_hours(hours);
    match fate {
        Fate::Unpaid => Vec::new(),
        Fate::Cancelled => vec![(2, Step::Cancel)],
        Fate::Completed | Fate::PaidAndPartlyRefunded => {
            let mut steps = vec![(1, Step::Pay)];
            if older(30) {
                steps.extend([(24, Step::Fulfil), (26, Step::Ship)]);
            }
            if older(96) {
                steps.push((72, Step::Deliver));
            }
            if fate == Fate::PaidAndPartlyRefunded {
                steps.push((80, Step::Refund));
            }
            steps
        }
    }
}

fn apply(step: Step, order: &mut Order, at: Timestamp) -> Result<Effects, OrderError> {
    let system = OrderActor::System;
    match step {
        Step::Pay => order.mark_paid(system, at, None),
        Step::Fulfil => {
            let lines: Vec<FulfilledLine> = order
                .lines
                .iter()
                .map(|l| FulfilledLine {
                    line_id: l.id,
                    quantity: l.quantity,
                })
                .collect();
            let id = FulfilmentId::from_uuid(uuid::Uuid::now_v7());
            order.fulfil(
                id,
                &lines,
                Some("GIG Logistics"),
                Some("GIG-DEMO"),
                system,
                at,
            )
        }
        Step::Ship => order.ship(system, at),
        Step::Deliver => order.deliver(system, at),
        Step::Refund => {
            let id = RefundId::from_uuid(uuid::Uuid::now_v7());
            let amount = order.total / 10;
            order.refund(id, amount, &[], Some("scratched on arrival"), system, at)
        }
        Step::Cancel => order.cancel(system, at, Some("changed my mind")),
    }
}

/// Moves the order along its life at the times it would have happened (never past now).
async fn live(
    ctx: &Context,
    store: &Store,
    mut order: Order,
    fate: Fate,
    placed: Timestamp,
    now: Timestamp,
) -> anyhow::Result<()> {
    for (hours, step) in steps(fate, now.duration_since(placed)) {
        let at = (placed + SignedDuration::from_hours(hours)).min(now);
        let effects = apply(step, &mut order, at)?;
        anyhow::ensure!(
            orders::save_change(ctx, store.id, &order, &effects, at).await?,
            "demo order {} changed while it was seeded",
            order.number
        );
        order.version += 1;
    }
    Ok(())
}

/// Approved reviews on the first products, each by a different shopper.
async fn review(
    ctx: &Context,
    store: &Store,
    shoppers: &[Customer],
    products: &[(Product, VariantId)],
    now: Timestamp,
) -> anyhow::Result<usize> {
    let mut written = 0;
    for (index, (product, _)) in products.iter().take(8).enumerate() {
        for shopper in shoppers.iter().take(1 + index % 3) {
            let (rating, title, body) = REVIEWS[written % REVIEWS.len()];
            let input = ReviewInput {
                rating,
                title: Some(title.into()),
                body: body.into(),
            };
            let author = Author {
                customer_id: shopper.id,
                name: shopper.name.as_str().to_owned(),
                verified_purchase: true,
            };
            let id = ReviewId::from_uuid(uuid::Uuid::now_v7());
            let at = now - SignedDuration::from_hours(24 * (1 + (written as i64 % 20)));
            let review = Review::parse(&input, id, store.id, product.id, author, at)
                .map_err(|e| anyhow::anyhow!("demo review: {:?}", e.0))?;
            ctx.storage
                .commerce()
                .insert_review(store.id, &review)
                .await?;
            reviews::moderate(
                ctx,
                store,
                audit::Actor::operator(),
                id,
                Moderation::Approve,
            )
            .await?;
            written += 1;
        }
    }
    Ok(written)
}

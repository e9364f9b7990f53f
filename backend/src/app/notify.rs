//! The `mail` consumer: order mail to the shopper at each step, a new-order mail to staff who
//! read orders, a low-stock mail to staff who manage products (each unless they turned it off).
//! Every message is queued under a key made of the event id, the kind of mail and the
//! recipient, so an event handed over twice sends each mail once.

use async_trait::async_trait;
use techverse_shared::{Money, PaymentMethod, Permission, StoreId};

use super::{Context, dispatch::Consumer};
use crate::{
    domain::{events::StoreEvent, order::Order, store::Store},
    mail::{
        orders::{self, OrderSummary, Step},
        outbox::Rendered,
        templates::Branding,
    },
};

pub struct MailConsumer {
    ctx: Context,
}

impl MailConsumer {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }
}

#[async_trait]
impl Consumer for MailConsumer {
    fn name(&self) -> &'static str {
        "mail"
    }

    async fn handle(&self, event: &StoreEvent) -> anyhow::Result<()> {
        if event.kind == "inventory.low_stock" {
            return match self.store_of(event).await? {
                Some(store) => self.low_stock(&store, event).await,
                None => Ok(()),
            };
        }
        let Some(step) = shopper_step(&event.kind, &event.payload) else {
            return Ok(());
        };
        let Some(store) = self.store_of(event).await? else {
            return Ok(());
        };
        let Some(order) = self.order_of(&store, event).await? else {
            return Ok(());
        };
        self.to_shopper(&store, &order, event, &step).await?;
        if event.kind == "order.created" {
            self.new_order(&store, &order, event).await?;
        }
        Ok(())
    }
}

/// The shopper mail an order event calls for, if any.
fn shopper_step(kind: &str, payload: &serde_json::Value) -> Option<Step> {
    let text = |key: &str| payload.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let amount = |key: &str| {
        payload
            .get(key)
            .and_then(|v| serde_json::from_value::<Money>(v.clone()).ok())
    };
    Some(match kind {
        "order.created" => Step::Confirmed,
        "order.paid" => Step::Paid,
        "order.shipped" => Step::Shipped {
            carrier: text("carrier"),
            tracking: text("tracking_number"),
        },
        "order.delivered" => Step::Delivered,
        "order.cancelled" => Step::Cancelled {
            refunded: amount("refunded")
                .filter(|m| m.minor > 0)
                .map(|m| m.format()),
        },
        "order.refunded" => Step::Refunded {
            amount: amount("amount")?.format(),
        },
        _ => return None,
    })
}

impl MailConsumer {
    async fn store_of(&self, event: &StoreEvent) -> anyhow::Result<Option<Store>> {
        Ok(self.ctx.storage.stores().by_id(event.store_id).await?)
    }

    async fn order_of(&self, store: &Store, event: &StoreEvent) -> anyhow::Result<Option<Order>> {
        let Some(id) = crate::domain::events::order_of(event) else {
            return Ok(None);
        };
        Ok(self.ctx.storage.commerce().order(store.id, id).await?)
    }

    async fn to_shopper(
        &self,
        store: &Store,
        order: &Order,
        event: &StoreEvent,
        step: &Step,
    ) -> anyhow::Result<()> {
        let brand = Branding::store(store);
        let link = format!("{}/orders/{}", self.storefront(store), order.id);
        let mail = orders::to_shopper(&brand, &summary(order, &brand, link), step);
        self.queue(event, "shopper", &order.email, mail).await
    }

    async fn new_order(
        &self,
        store: &Store,
        order: &Order,
        event: &StoreEvent,
    ) -> anyhow::Result<()> {
        let brand = Branding::store(store);
        let link = format!("{}/admin/{}/orders/{}", self.base(), store.slug, order.id);
        let mail = orders::new_order(&brand, &summary(order, &brand, link), &order.email);
        for email in self
            .staff(store.id, Permission::OrdersRead, |n| n.new_order)
            .await?
        {
            self.queue(event, "new_order", &email, mail.clone()).await?;
        }
        Ok(())
    }

    async fn low_stock(&self, store: &Store, event: &StoreEvent) -> anyhow::Result<()> {
        let payload = &event.payload;
        let field = |key: &str| {
            payload
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
        };
        let Ok(product_id) = field("product_id").parse() else {
            return Ok(());
        };
        let Some(product) = self
            .ctx
            .storage
            .catalog()
            .product(store.id, product_id)
            .await?
        else {
            return Ok(());
        };
        let available = payload
            .get("available")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        let link = format!(
            "{}/admin/{}/products/{}",
            self.base(),
            store.slug,
            product.id
        );
        let mail = orders::low_stock(
            &Branding::store(store),
            &product.title,
            field("sku"),
            available,
            &link,
        );
        for email in self
            .staff(store.id, Permission::ProductsWrite, |n| n.low_stock)
            .await?
        {
            self.queue(event, "low_stock", &email, mail.clone()).await?;
        }
        Ok(())
    }

    /// Addresses of the store's staff who hold `permission` and want this mail.
    async fn staff(
        &self,
        store: StoreId,
        permission: Permission,
        wants: impl Fn(techverse_shared::StaffNotifications) -> bool,
    ) -> anyhow::Result<Vec<String>> {
        let Some(team) = self.ctx.storage.teams().get(store).await? else {
            return Ok(Vec::new());
        };
        let mut emails = Vec::new();
        for member in &team.members {
            if !team
                .permissions_of(member.user_id)
                .is_some_and(|p| p.contains(&permission))
            {
                continue;
            }
            let Some(user) = self.ctx.storage.users().by_id(member.user_id).await? else {
                continue;
            };
            if wants(user.notifications_in(store)) {
                emails.push(user.email.to_string());
            }
        }
        Ok(emails)
    }

    async fn queue(
        &self,
        event: &StoreEvent,
        kind: &str,
        to: &str,
        mail: Rendered,
    ) -> anyhow::Result<()> {
        let key = format!("event:{}:{kind}:{to}", event.id);
        self.ctx.mail.enqueue_once(&key, to, mail).await.map(drop)
    }

    fn base(&self) -> &str {
        self.ctx.settings.public_url.trim_end_matches('/')
    }

    fn storefront(&self, store: &Store) -> String {
        format!("{}/s/{}", self.base(), store.slug)
    }
}

/// The order as its mail shows it.
fn summary(order: &Order, brand: &Branding, link: String) -> OrderSummary {
    let money = |minor| order.money(minor).format();
    OrderSummary {
        number: order.number,
        placed_at: order
            .created_at
            .to_zoned(brand.timezone.clone())
            .strftime("%-d %b %Y at %H:%M %Z")
            .to_string(),
        lines: order
            .lines
            .iter()
            .map(|line| {
                let title = if line.variant_title.is_empty() {
                    line.title.clone()
                } else {
                    format!("{} ({})", line.title, line.variant_title)
                };
                (title, line.quantity, money(line.total))
            })
            .collect(),
        subtotal: money(order.subtotal),
        discount: (order.discount > 0).then(|| money(order.discount)),
        shipping: money(order.shipping_total),
        tax: money(order.tax),
        total: money(order.total),
        payment: payment_label(order.payment_method).to_owned(),
        instructions: order.payment_instructions.clone(),
        link,
    }
}

const fn payment_label(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::CashOnDelivery => "Cash on delivery",
        PaymentMethod::BankTransfer => "Bank transfer",
        PaymentMethod::Card => "Card",
    }
}

//! Order use cases after checkout: staff actions (each a transition of the order's state
//! machines, saved under the order's version together with its stock moves and events, and
//! audited), staff and customer lists, and the sweeper that expires unpaid orders.

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use techverse_shared::{
    CustomerId, FulfilledLine, FulfilmentId, OrderAction, OrderId, OrderPage, OrderStatus,
    PaymentMethod, PaymentStatus, Permission, RefundId, StoreId, UserId,
};

use super::{Context, audit, commerce::CommerceError};
use crate::{
    domain::{
        self,
        events::StoreEvent,
        order::{Effects, Order, OrderActor, OrderError},
        store::Store,
        validation::ValidationErrors,
    },
    storage::{OrderChange, OrderQuery},
};

/// What staff do to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffAction {
    MarkPaid {
        reason: Option<String>,
    },
    Fulfil {
        lines: Vec<FulfilledLine>,
        carrier: Option<String>,
        tracking_number: Option<String>,
    },
    Ship,
    Deliver,
    Cancel {
        reason: Option<String>,
    },
    Refund {
        amount: i64,
        restock: Vec<FulfilledLine>,
        reason: Option<String>,
        /// The request's `Idempotency-Key` (card refunds: the same key is the same refund).
        key: Option<String>,
    },
    Note {
        text: String,
    },
}

impl StaffAction {
    /// The audit action name.
    fn name(&self) -> &'static str {
        match self {
            Self::MarkPaid { .. } => "order.marked_paid",
            Self::Fulfil { .. } => "order.fulfilled",
            Self::Ship => "order.shipped",
            Self::Deliver => "order.delivered",
            Self::Cancel { .. } => "order.cancelled",
            Self::Refund { .. } => "order.refunded",
            Self::Note { .. } => "order.note_added",
        }
    }

    /// The permission the action needs on an order in this state.
    pub fn permission(&self, order: &Order) -> Permission {
        let action = match self {
            Self::MarkPaid { .. } => OrderAction::MarkPaid,
            Self::Fulfil { .. } => OrderAction::Fulfil,
            Self::Ship => OrderAction::Ship,
            Self::Deliver => OrderAction::Deliver,
            Self::Cancel { .. } => OrderAction::Cancel,
            Self::Refund { .. } => OrderAction::Refund,
            Self::Note { .. } => return Permission::OrdersWrite,
        };
        action.permission(order.status)
    }

    fn apply(
        &self,
        order: &mut Order,
        actor: OrderActor,
        at: Timestamp,
    ) -> Result<Effects, OrderError> {
        let card = order.payment_method == PaymentMethod::Card;
        match self {
            // Card money is confirmed by Stripe, never by hand.
            Self::MarkPaid { .. } if card => Err(OrderError::InvalidTransition {
                from: "card payment pending at Stripe".to_owned(),
                to: "paid by staff".to_owned(),
            }),
            // Cancelling a paid card order would record money Stripe never gave back.
            Self::Cancel { .. }
                if card && order.status == OrderStatus::Paid && order.refundable() > 0 =>
            {
                Err(OrderError::InvalidTransition {
                    from: "paid by card (refund the payment first)".to_owned(),
                    to: "cancelled".to_owned(),
                })
            }
            Self::MarkPaid { reason } => order.mark_paid(actor, at, reason.as_deref()),
            Self::Fulfil {
                lines,
                carrier,
                tracking_number,
            } => order.fulfil(
                FulfilmentId::from_uuid(uuid::Uuid::now_v7()),
                lines,
                carrier.as_deref(),
                tracking_number.as_deref(),
                actor,
                at,
            ),
            Self::Ship => order.ship(actor, at),
            Self::Deliver => order.deliver(actor, at),
            Self::Cancel { reason } => order.cancel(actor, at, reason.as_deref()),
            Self::Refund {
                amount,
                restock,
                reason,
                ..
            } => order.refund(
                RefundId::from_uuid(uuid::Uuid::now_v7()),
                *amount,
                restock,
                reason.as_deref(),
                actor,
                at,
            ),
            Self::Note { text } => order
                .add_note(actor, text, at)
                .map(|()| Effects::default())
                .map_err(OrderError::from),
        }
    }
}

/// What storage saves for an order change.
pub(super) fn change<'a>(
    order: &'a Order,
    effects: &'a Effects,
    events: &'a [StoreEvent],
) -> OrderChange<'a> {
    OrderChange {
        order,
        moves: &effects.moves,
        events,
        returned_discount: effects.returned_discount.as_ref(),
    }
}

/// Saves `order` at its version with what `effects` moves and its events (numbered at `at`);
/// once saved, this instance's event consumers are woken. `false`: the order changed meanwhile.
pub(super) async fn save_change(
    ctx: &Context,
    store: StoreId,
    order: &Order,
    effects: &Effects,
    at: Timestamp,
) -> Result<bool, crate::storage::StorageError> {
    let events = events(store, effects, at);
    let saved = ctx
        .storage
        .commerce()
        .save_order(store, &change(order, effects, &events))
        .await?;
    if saved {
        ctx.events.committed();
    }
    Ok(saved)
}

pub(super) fn events(store: StoreId, effects: &Effects, at: Timestamp) -> Vec<StoreEvent> {
    effects
        .events
        .iter()
        .map(|(kind, payload)| StoreEvent::new(store, kind, payload.clone(), at))
        .collect()
}

/// Runs `action` on the order: checked by the domain, saved with its stock moves and events
/// under the order's version (retried when someone else saved first), then audited.
pub async fn act(
    ctx: &Context,
    store: &Store,
    actor: audit::Actor<'_>,
    user: UserId,
    permissions: &std::collections::BTreeSet<Permission>,
    id: OrderId,
    action: &StaffAction,
) -> Result<Order, CommerceError> {
    let repo = ctx.storage.commerce();
    for _ in 0..5 {
        let mut order = repo
            .order(store.id, id)
            .await?
            .ok_or(CommerceError::OrderNotFound)?;
        let needed = action.permission(&order);
        if let StaffAction::Refund {
            amount,
            restock,
            reason,
            key,
        } = action
            && order.payment_method == PaymentMethod::Card
            && *amount > 0
        {
            if !permissions.contains(&needed) {
                return Err(CommerceError::MissingPermission(needed));
            }
            let asked = super::payments::CardRefund {
                amount: *amount,
                restock,
                reason: reason.as_deref(),
                key: key.as_deref(),
            };
            return super::payments::refund_card(ctx, store, actor, user, id, &asked).await;
        }
        if !permissions.contains(&needed) {
            return Err(CommerceError::MissingPermission(needed));
        }
        let before = (order.status, order.payment_status);
        let now = domain::now();
        let effects = action.apply(&mut order, OrderActor::Staff(user), now)?;
        if !save_change(ctx, store.id, &order, &effects, now).await? {
            continue;
        }
        order.version += 1;
        if order.status == OrderStatus::Cancelled && before.0 == OrderStatus::PendingPayment {
            let (ctx, ended) = (ctx.clone(), order.clone());
            ctx.background.clone().spawn(async move {
                super::payments::cancel_for_ended(&ctx, &ended).await;
            });
        }
        audit::record(
            ctx,
            store.id,
            actor,
            action.name(),
            format!("order:{id}"),
            json!({
                "number": order.number,
                "status": { "from": before.0, "to": order.status },
                "payment_status": { "from": before.1, "to": order.payment_status },
                "stock_moves": effects.moves,
            }),
        )
        .await?;
        return Ok(order);
    }
    Err(CommerceError::Stale)
}

/// Filters of a staff order list, as sent in the query string.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[param(value_type = Option<String>, pattern = "^(pending_payment|paid|partially_fulfilled|fulfilled|shipped|delivered|cancelled|expired)$")]
    pub status: Option<String>,
    #[param(pattern = "^(pending|paid|partially_refunded|refunded|voided)$")]
    pub payment_status: Option<String>,
    #[param(value_type = Option<String>, format = Uuid)]
    pub customer_id: Option<CustomerId>,
    /// An order number (`1001` or `#1001`) or the start of the buyer's email.
    pub q: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 25)]
    pub limit: Option<u32>,
}

fn cursor_of(order: &Order) -> String {
    format!("{}_{}", order.created_at.as_millisecond(), order.id)
}

fn parse_cursor(raw: &str) -> Option<(i64, OrderId)> {
    let (at, id) = raw.split_once('_')?;
    Some((at.parse().ok()?, id.parse().ok()?))
}

fn query(params: &ListParams, customer: Option<CustomerId>) -> Result<OrderQuery, CommerceError> {
    let mut errors = ValidationErrors::default();
    let status = params.status.as_deref().and_then(|raw| {
        let parsed = OrderStatus::parse(raw);
        if parsed.is_none() {
            errors.add("status", "unknown_status", "not an order status");
        }
        parsed
    });
    let payment_status = params.payment_status.as_deref().and_then(|raw| {
        let parsed = PaymentStatus::parse(raw);
        if parsed.is_none() {
            errors.add("payment_status", "unknown_status", "not a payment status");
        }
        parsed
    });
    let before = params.cursor.as_deref().and_then(|raw| {
        let parsed = parse_cursor(raw);
        if parsed.is_none() {
            errors.add("cursor", "invalid_cursor", "not a cursor from this list");
        }
        parsed
    });
    let limit = params.limit.unwrap_or(25);
    if !(1..=100).contains(&limit) {
        errors.add("limit", "out_of_range", "1 to 100");
    }
    let (mut number, mut email_prefix) = (None, None);
    if let Some(q) = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        match q.trim_start_matches('#').parse::<i64>() {
            Ok(n) => number = Some(n),
            Err(_) => email_prefix = Some(q.to_lowercase()),
        }
    }
    errors
        .finish(Some(OrderQuery {
            status,
            payment_status,
            customer: customer.or(params.customer_id),
            number,
            email_prefix,
            before,
            limit: limit + 1,
        }))
        .map_err(Into::into)
}

/// A page of orders, newest first; `customer` restricts it to one buyer's orders.
pub async fn list(
    ctx: &Context,
    store: &Store,
    params: &ListParams,
    customer: Option<CustomerId>,
) -> Result<OrderPage, CommerceError> {
    let query = query(params, customer)?;
    let mut orders = ctx.storage.commerce().orders(store.id, &query).await?;
    let more = orders.len() > (query.limit - 1) as usize;
    orders.truncate((query.limit - 1) as usize);
    Ok(OrderPage {
        next_cursor: more.then(|| orders.last().map(cursor_of)).flatten(),
        items: orders.iter().map(Order::summary).collect(),
    })
}

pub async fn get(ctx: &Context, store: &Store, id: OrderId) -> Result<Order, CommerceError> {
    ctx.storage
        .commerce()
        .order(store.id, id)
        .await?
        .ok_or(CommerceError::OrderNotFound)
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    pub expired_orders: usize,
    /// Order changes whose interrupted follow-up work (stock, events) was finished.
    pub completed_orders: u64,
    /// Checkouts that died before storing their order, given back (MongoDB's saga).
    pub repaired_checkouts: usize,
    pub deleted_carts: u64,
}

/// Processed payment provider events are remembered this long (Stripe redelivers for 3 days).
const PAYMENT_EVENT_DAYS: i64 = 30;

/// Sent mail keeps its id this long, refusing the same message queued again (an event a
/// consumer is handed twice, days apart at most).
const SENT_MAIL_DAYS: i64 = 7;

/// Follow-up work of an order change is left alone this long before the sweeper finishes it,
/// so it never races the request still doing it.
const PENDING_GRACE_SECS: i64 = 60;

/// Expires unpaid orders past their deadline (releasing their stock) and deletes expired
/// carts, day-old idempotency keys, month-old processed payment events, week-old sent mail and expired one-time tokens. Safe with several
/// instances: an order is expired by whoever saves it first at its version; the others find it
/// changed and skip it.
pub async fn sweep(ctx: &Context, now: Timestamp) -> Result<Sweep, CommerceError> {
    let repo = ctx.storage.commerce();
    let mut result = Sweep::default();
    loop {
        let due = repo.overdue_orders(now, 100).await?;
        let batch = due.len();
        let mut expired_here = 0;
        for (store, id) in due {
            let Some(mut order) = repo.order(store, id).await? else {
                continue;
            };
            let Ok(effects) = order.expire(now) else {
                continue;
            };
            if save_change(ctx, store, &order, &effects, now).await? {
                expired_here += 1;
                if order.payment_method == PaymentMethod::Card {
                    let (ctx, ended) = (ctx.clone(), order.clone());
                    ctx.background.clone().spawn(async move {
                        super::payments::cancel_for_ended(&ctx, &ended).await;
                    });
                }
                tracing::info!(store_id = %store, order_id = %id, number = order.number, "unpaid order expired");
            }
        }
        result.expired_orders += expired_here;
        if batch < 100 || expired_here == 0 {
            break;
        }
    }
    result.completed_orders = repo
        .complete_pending(now, SignedDuration::from_secs(PENDING_GRACE_SECS))
        .await?;
    let abandoned = repo
        .repair_checkouts(now, ctx.settings.checkout_repair_age(), true)
        .await?;
    for checkout in &abandoned {
        tracing::warn!(store_id = %checkout.store_id, order_id = %checkout.order_id,
            released = ?checkout.released, discount_returned = checkout.discount_returned,
            "abandoned checkout repaired");
    }
    result.repaired_checkouts = abandoned.len();
    if result.completed_orders > 0 || !abandoned.is_empty() {
        ctx.events.committed();
    }
    result.deleted_carts = repo.delete_expired_carts(now).await?;
    repo.delete_idempotency_keys(now - SignedDuration::from_hours(24))
        .await?;
    ctx.storage
        .payments()
        .delete_processed_events(now - SignedDuration::from_hours(24 * PAYMENT_EVENT_DAYS))
        .await?;
    ctx.storage
        .outbox()
        .purge_sent(now - SignedDuration::from_hours(24 * SENT_MAIL_DAYS))
        .await?;
    ctx.storage.tokens().delete_expired(now).await?;
    ctx.storage
        .webhooks()
        .delete_deliveries(
            now - SignedDuration::from_hours(24 * super::webhooks::DELIVERY_LOG_DAYS),
        )
        .await?;
    Ok(result)
}

/// Runs [`sweep`] every `interval` until `stop` is cancelled.
pub async fn run_sweeper(
    ctx: Context,
    interval: std::time::Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    super::every(interval, stop, "order sweep", || sweep(&ctx, domain::now())).await;
}

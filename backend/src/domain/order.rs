//! Orders and their two state machines: the order's life ([`OrderStatus`]: payment awaited,
//! paid, fulfilment, shipping, delivery, or cancelled/expired) and its money
//! ([`PaymentStatus`]: pending, paid, refunded, voided). Nothing sets a status except the
//! operations here, each of which records every move (from, to, actor, time, reason) and says
//! which stock moves and events it causes; storage applies those atomically with the order.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use techverse_shared::{
    Currency, CustomerId, FulfilledLine, FulfilmentId, FulfilmentView, Money, OrderActorView,
    OrderAddress, OrderFlagView, OrderId, OrderLineId, OrderLineView, OrderNoteView, OrderStatus,
    OrderSummaryView, OrderView, PaymentMethod, PaymentStatus, ProductId, RefundId, RefundView,
    ShippingChoiceView, ShippingKind, ShippingMethodId, StoreId, Totals, TransitionView, UserId,
    VariantId,
};

use super::{
    account::{clean_text, optional_text},
    discount::{ReturnedUse, customer_key},
    validation::ValidationErrors,
};

pub use techverse_shared::commerce::{PAYMENT_TABLE, STATUS_TABLE};

pub fn status_move_allowed(from: OrderStatus, to: OrderStatus) -> bool {
    STATUS_TABLE.contains(&(from, to))
}

pub fn payment_move_allowed(from: PaymentStatus, to: PaymentStatus) -> bool {
    PAYMENT_TABLE.contains(&(from, to))
}

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum OrderActor {
    Staff(UserId),
    Customer(CustomerId),
    Guest,
    /// The server itself (the reservation sweeper, a payment provider callback).
    System,
}

impl OrderActor {
    pub fn view(&self) -> OrderActorView {
        let (kind, id) = match self {
            Self::Staff(id) => ("staff", Some(id.to_string())),
            Self::Customer(id) => ("customer", Some(id.to_string())),
            Self::Guest => ("guest", None),
            Self::System => ("system", None),
        };
        OrderActorView {
            kind: kind.to_owned(),
            id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Machine {
    Status,
    PaymentStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub field: Machine,
    /// `None` for the first state of a new order.
    pub from: Option<String>,
    pub to: String,
    pub actor: OrderActor,
    #[serde(with = "super::millis")]
    pub at: Timestamp,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub id: OrderLineId,
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub sku: String,
    pub title: String,
    pub variant_title: String,
    pub unit_price: i64,
    pub quantity: i64,
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
    /// Whether the variant's inventory is tracked (only tracked lines move stock).
    pub tracked: bool,
    pub fulfilled: i64,
    pub restocked: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingChoice {
    pub method_id: ShippingMethodId,
    pub name: String,
    pub kind: ShippingKind,
    pub price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fulfilment {
    pub id: FulfilmentId,
    pub lines: Vec<FulfilledLine>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    #[serde(with = "super::millis")]
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: RefundId,
    pub amount: i64,
    pub reason: Option<String>,
    pub restocked: Vec<FulfilledLine>,
    /// The provider's refund (`re_…`) for card orders: a refund is applied once per id.
    #[serde(default)]
    pub provider_refund_id: Option<String>,
    pub actor: OrderActor,
    #[serde(with = "super::millis")]
    pub at: Timestamp,
}

/// A card refund asked of the provider and not confirmed yet. It counts against what is left
/// to refund, so two staff refunds at once cannot together exceed the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRefund {
    pub id: RefundId,
    /// The request's `Idempotency-Key`, so a retried request finds this refund.
    pub key: Option<String>,
    pub amount: i64,
    pub restock: Vec<FulfilledLine>,
    pub reason: Option<String>,
    pub actor: OrderActor,
    #[serde(with = "super::millis")]
    pub at: Timestamp,
}

/// Something staff must review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFlag {
    /// `payment_mismatch` or `disputed`.
    pub kind: String,
    pub detail: String,
    #[serde(with = "super::millis")]
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub author: OrderActor,
    pub text: String,
    #[serde(with = "super::millis")]
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub store_id: StoreId,
    /// Per-store human number (1001, 1002, …), assigned by storage when the order is placed.
    pub number: i64,
    /// SHA-256 of the order token a guest uses to look the order up.
    pub token_hash: String,
    pub customer_id: Option<CustomerId>,
    pub email: String,
    /// The address the checkout came from (open unpaid orders are limited per address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    pub currency: Currency,
    pub lines: Vec<OrderLine>,
    pub subtotal: i64,
    pub discount: i64,
    pub shipping_total: i64,
    pub tax: i64,
    pub total: i64,
    pub tax_included: bool,
    pub discount_code: Option<String>,
    pub discount_id: Option<techverse_shared::DiscountId>,
    pub shipping_address: OrderAddress,
    pub shipping: ShippingChoice,
    pub payment_method: PaymentMethod,
    pub payment_instructions: Option<String>,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    #[serde(default, with = "super::millis::option")]
    pub pay_by: Option<Timestamp>,
    /// The order holds reserved stock (until paid, cancelled or expired).
    pub holds_stock: bool,
    pub fulfilments: Vec<Fulfilment>,
    pub refunds: Vec<Refund>,
    pub refunded: i64,
    /// Card refunds asked of the provider, not confirmed yet.
    #[serde(default)]
    pub pending_refunds: Vec<PendingRefund>,
    #[serde(default)]
    pub flags: Vec<OrderFlag>,
    pub notes: Vec<Note>,
    pub history: Vec<Transition>,
    #[serde(with = "super::millis")]
    pub created_at: Timestamp,
    #[serde(with = "super::millis")]
    pub updated_at: Timestamp,
    pub version: i64,
}

/// What happens to a variant's stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockOp {
    /// Hold units for an unpaid order (refused when fewer are available).
    Reserve,
    /// Give held units back.
    Release,
    /// Held units were paid for: they leave stock.
    Commit,
    /// Units come back into stock (a cancelled paid order, a refund with restock).
    Restock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockMove {
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub quantity: i64,
    pub op: StockOp,
}

/// An event the change causes: `(kind, payload)`, appended to the store's log with it.
pub type EventDraft = (&'static str, serde_json::Value);

/// What an operation asks storage to do besides saving the order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    pub moves: Vec<StockMove>,
    pub events: Vec<EventDraft>,
    /// The discount use this order counted, given back because the order did not go ahead.
    pub returned_discount: Option<ReturnedUse>,
}

/// Units per order line.
type Units = Vec<(OrderLineId, i64)>;

/// What a refund request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRequestOutcome {
    /// Held now: ask the provider.
    New(PendingRefund),
    /// Asked before with this key and not confirmed: ask again (the provider's idempotency
    /// key makes it the same refund).
    Pending(PendingRefund),
    /// Asked before with this key and done.
    Done,
}

/// Why an order needs review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// A provider reported a payment that does not match the order (amount, currency, store).
    PaymentMismatch,
    /// The buyer disputed the card payment.
    Disputed,
}

impl FlagKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PaymentMismatch => "payment_mismatch",
            Self::Disputed => "disputed",
        }
    }

    pub const fn event(self) -> &'static str {
        match self {
            Self::PaymentMismatch => "order.payment_mismatch",
            Self::Disputed => "order.disputed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("an order cannot go from {from} to {to}")]
    InvalidTransition { from: String, to: String },
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

fn invalid_status(from: OrderStatus, to: OrderStatus) -> OrderError {
    OrderError::InvalidTransition {
        from: from.as_str().to_owned(),
        to: to.as_str().to_owned(),
    }
}

fn invalid_payment(from: PaymentStatus, to: PaymentStatus) -> OrderError {
    OrderError::InvalidTransition {
        from: format!("payment {}", from.as_str()),
        to: format!("payment {}", to.as_str()),
    }
}

impl Order {
    pub fn money(&self, minor: i64) -> Money {
        Money::new(minor, self.currency)
    }

    /// Records the first states of a new order.
    pub fn open(&mut self, actor: OrderActor, at: Timestamp) {
        self.status = OrderStatus::PendingPayment;
        self.payment_status = PaymentStatus::Pending;
        for (field, to) in [
            (Machine::Status, OrderStatus::PendingPayment.as_str()),
            (Machine::PaymentStatus, PaymentStatus::Pending.as_str()),
        ] {
            self.history.push(Transition {
                field,
                from: None,
                to: to.to_owned(),
                actor,
                at,
                reason: None,
            });
        }
    }

    /// Stock to hold when the order is placed, in a fixed order (by variant id) so concurrent
    /// checkouts never wait on each other in a cycle.
    pub fn reservations(&self) -> Vec<StockMove> {
        let mut moves = self.moves(StockOp::Reserve, |line| line.quantity);
        moves.sort_by_key(|m| m.variant_id);
        moves
    }

    fn moves(&self, op: StockOp, quantity: impl Fn(&OrderLine) -> i64) -> Vec<StockMove> {
        self.lines
            .iter()
            .filter(|line| line.tracked)
            .map(|line| StockMove {
                product_id: line.product_id,
                variant_id: line.variant_id,
                quantity: quantity(line),
                op,
            })
            .filter(|m| m.quantity > 0)
            .collect()
    }

    fn move_status(
        &mut self,
        to: OrderStatus,
        actor: OrderActor,
        at: Timestamp,
        reason: Option<&str>,
        effects: &mut Effects,
    ) -> Result<(), OrderError> {
        let from = self.status;
        if !status_move_allowed(from, to) {
            return Err(invalid_status(from, to));
        }
        self.status = to;
        self.updated_at = at;
        self.history.push(Transition {
            field: Machine::Status,
            from: Some(from.as_str().to_owned()),
            to: to.as_str().to_owned(),
            actor,
            at,
            reason: reason.map(str::to_owned),
        });
        effects.events.push((
            "order.status_changed",
            json!({ "order_id": self.id, "number": self.number, "from": from, "to": to }),
        ));
        Ok(())
    }

    fn move_payment(
        &mut self,
        to: PaymentStatus,
        actor: OrderActor,
        at: Timestamp,
        reason: Option<&str>,
    ) -> Result<(), OrderError> {
        let from = self.payment_status;
        if !payment_move_allowed(from, to) {
            return Err(invalid_payment(from, to));
        }
        self.payment_status = to;
        self.updated_at = at;
        self.history.push(Transition {
            field: Machine::PaymentStatus,
            from: Some(from.as_str().to_owned()),
            to: to.as_str().to_owned(),
            actor,
            at,
            reason: reason.map(str::to_owned),
        });
        Ok(())
    }

    /// Payment confirmed (staff for offline methods, a provider callback later): the held
    /// stock becomes a sale.
    pub fn mark_paid(
        &mut self,
        actor: OrderActor,
        at: Timestamp,
        reason: Option<&str>,
    ) -> Result<Effects, OrderError> {
        if self.status != OrderStatus::PendingPayment {
            return Err(invalid_status(self.status, OrderStatus::Paid));
        }
        let mut effects = Effects::default();
        self.move_payment(PaymentStatus::Paid, actor, at, reason)?;
        self.move_status(OrderStatus::Paid, actor, at, reason, &mut effects)?;
        effects.moves = self.moves(StockOp::Commit, |line| line.quantity);
        self.holds_stock = false;
        self.pay_by = None;
        effects.events.insert(
            0,
            (
                "order.paid",
                json!({ "order_id": self.id, "number": self.number, "total": self.money(self.total) }),
            ),
        );
        Ok(effects)
    }

    /// Whether the sweeper should expire the order at `now`.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.status == OrderStatus::PendingPayment && self.pay_by.is_some_and(|by| by <= now)
    }

    /// An unpaid order past its deadline ends and gives its stock back.
    pub fn expire(&mut self, at: Timestamp) -> Result<Effects, OrderError> {
        if !self.is_overdue(at) {
            return Err(invalid_status(self.status, OrderStatus::Expired));
        }
        let mut effects = Effects::default();
        self.move_status(
            OrderStatus::Expired,
            OrderActor::System,
            at,
            Some("payment deadline passed"),
            &mut effects,
        )?;
        self.move_payment(PaymentStatus::Voided, OrderActor::System, at, None)?;
        effects.moves = self.moves(StockOp::Release, |line| line.quantity);
        effects.returned_discount = self.discount_use();
        self.holds_stock = false;
        effects.events.push((
            "order.expired",
            json!({ "order_id": self.id, "number": self.number, "payment_method": self.payment_method }),
        ));
        Ok(effects)
    }

    /// The discount use checkout counted for this order, if it used a code.
    pub fn discount_use(&self) -> Option<ReturnedUse> {
        Some(ReturnedUse {
            discount_id: self.discount_id?,
            customer_key: customer_key(self.customer_id, Some(&self.email))?,
        })
    }

    /// Cancels an order that has not started fulfilment. Unpaid: the held stock is released.
    /// Paid: every unit is restocked and the remaining amount is recorded as refunded.
    pub fn cancel(
        &mut self,
        actor: OrderActor,
        at: Timestamp,
        reason: Option<&str>,
    ) -> Result<Effects, OrderError> {
        let mut effects = Effects::default();
        match self.status {
            OrderStatus::PendingPayment => {
                self.move_status(OrderStatus::Cancelled, actor, at, reason, &mut effects)?;
                self.move_payment(PaymentStatus::Voided, actor, at, reason)?;
                effects.moves = self.moves(StockOp::Release, |line| line.quantity);
                self.holds_stock = false;
            }
            OrderStatus::Paid => {
                // Worked on a copy so that a refusal half-way changes nothing.
                let mut next = self.clone();
                next.move_status(OrderStatus::Cancelled, actor, at, reason, &mut effects)?;
                let restock: Vec<FulfilledLine> = next
                    .lines
                    .iter()
                    .map(|line| FulfilledLine {
                        line_id: line.id,
                        quantity: line.quantity - line.restocked,
                    })
                    .filter(|l| l.quantity > 0)
                    .collect();
                let remaining = next.total - next.refunded;
                if remaining > 0 || !restock.is_empty() {
                    let refund = next.apply_refund(
                        RefundId::from_uuid(uuid::Uuid::now_v7()),
                        remaining,
                        &restock,
                        reason.or(Some("order cancelled")),
                        actor,
                        at,
                    )?;
                    effects.moves.extend(refund.moves);
                    effects.events.extend(refund.events);
                }
                *self = next;
            }
            other => return Err(invalid_status(other, OrderStatus::Cancelled)),
        }
        // A cancelled order did not use its code: the use counts for someone else again.
        effects.returned_discount = self.discount_use();
        effects.events.push((
            "order.cancelled",
            json!({
                "order_id": self.id,
                "number": self.number,
                "reason": reason,
                "refunded": self.money(self.refunded),
            }),
        ));
        Ok(effects)
    }

    /// Ships some units of some lines, with an optional carrier and tracking number.
    pub fn fulfil(
        &mut self,
        id: FulfilmentId,
        lines: &[FulfilledLine],
        carrier: Option<&str>,
        tracking_number: Option<&str>,
        actor: OrderActor,
        at: Timestamp,
    ) -> Result<Effects, OrderError> {
        if !matches!(
            self.status,
            OrderStatus::Paid | OrderStatus::PartiallyFulfilled
        ) {
            return Err(invalid_status(self.status, OrderStatus::Fulfilled));
        }
        let mut errors = ValidationErrors::default();
        if lines.is_empty() {
            errors.add("lines", "required", "at least one line");
        }
        let mut wanted = self.lines.iter().map(|l| (l.id, 0_i64)).collect::<Vec<_>>();
        for (index, line) in lines.iter().enumerate() {
            let Some(slot) = wanted.iter_mut().find(|(id, _)| *id == line.line_id) else {
                errors.add(
                    &format!("lines[{index}].line_id"),
                    "unknown_line",
                    "no such line",
                );
                continue;
            };
            slot.1 = slot.1.saturating_add(line.quantity);
            let order_line = self.lines.iter().find(|l| l.id == line.line_id);
            let open = order_line.map_or(0, |l| l.quantity - l.fulfilled);
            if line.quantity < 1 || slot.1 > open {
                errors.add(
                    &format!("lines[{index}].quantity"),
                    "out_of_range",
                    format!("1 to {open} units are left to fulfil"),
                );
            }
        }
        let carrier = optional_text(&mut errors, "carrier", carrier, 100);
        let tracking_number = optional_text(&mut errors, "tracking_number", tracking_number, 100);
        errors.finish(Some(()))?;
        for (line_id, quantity) in wanted {
            if let Some(line) = self.lines.iter_mut().find(|l| l.id == line_id) {
                line.fulfilled += quantity;
            }
        }
        self.fulfilments.push(Fulfilment {
            id,
            lines: lines.to_vec(),
            carrier,
            tracking_number,
            at,
        });
        self.updated_at = at;
        let complete = self.lines.iter().all(|l| l.fulfilled >= l.quantity);
        let target = if complete {
            OrderStatus::Fulfilled
        } else {
            OrderStatus::PartiallyFulfilled
        };
        let mut effects = Effects::default();
        if target != self.status {
            self.move_status(target, actor, at, None, &mut effects)?;
        }
        let fulfilment = self.fulfilments.last().map(|f| {
            json!({
                "fulfilment_id": f.id,
                "lines": f.lines,
                "carrier": f.carrier,
                "tracking_number": f.tracking_number,
            })
        });
        effects.events.push((
            "order.fulfilled",
            json!({
                "order_id": self.id,
                "number": self.number,
                "status": self.status,
                "fulfilment": fulfilment,
            }),
        ));
        Ok(effects)
    }

    /// Handed to the carrier (after full fulfilment).
    pub fn ship(&mut self, actor: OrderActor, at: Timestamp) -> Result<Effects, OrderError> {
        let mut effects = Effects::default();
        self.move_status(OrderStatus::Shipped, actor, at, None, &mut effects)?;
        // The tracking the buyer needs: the latest fulfilment that has some.
        let tracked = self
            .fulfilments
            .iter()
            .rev()
            .find(|f| f.tracking_number.is_some() || f.carrier.is_some());
        effects.events.push((
            "order.shipped",
            json!({
                "order_id": self.id,
                "number": self.number,
                "carrier": tracked.and_then(|f| f.carrier.clone()),
                "tracking_number": tracked.and_then(|f| f.tracking_number.clone()),
            }),
        ));
        Ok(effects)
    }

    /// Received by the buyer (or collected at the store).
    pub fn deliver(&mut self, actor: OrderActor, at: Timestamp) -> Result<Effects, OrderError> {
        let mut effects = Effects::default();
        self.move_status(OrderStatus::Delivered, actor, at, None, &mut effects)?;
        effects.events.push((
            "order.delivered",
            json!({ "order_id": self.id, "number": self.number }),
        ));
        Ok(effects)
    }

    /// Records money given back (full or partial), optionally putting units back into stock.
    pub fn refund(
        &mut self,
        id: RefundId,
        amount: i64,
        restock: &[FulfilledLine],
        reason: Option<&str>,
        actor: OrderActor,
        at: Timestamp,
    ) -> Result<Effects, OrderError> {
        self.check_paid()?;
        self.apply_refund(id, amount, restock, reason, actor, at)
    }

    /// Refunds need money taken: paid or partly refunded.
    fn check_paid(&self) -> Result<(), OrderError> {
        if matches!(
            self.payment_status,
            PaymentStatus::Paid | PaymentStatus::PartiallyRefunded
        ) {
            Ok(())
        } else {
            Err(invalid_payment(
                self.payment_status,
                PaymentStatus::Refunded,
            ))
        }
    }

    /// What can still be refunded once the pending card refunds go through.
    pub fn refundable(&self) -> i64 {
        self.total - self.refunded - self.pending_refunds.iter().map(|p| p.amount).sum::<i64>()
    }

    /// Units of a line still to restock, less those pending card refunds will restock.
    fn restockable(&self, line: &OrderLine) -> i64 {
        let pending: i64 = self
            .pending_refunds
            .iter()
            .flat_map(|p| &p.restock)
            .filter(|r| r.line_id == line.id)
            .map(|r| r.quantity)
            .sum();
        line.quantity - line.restocked - pending
    }

    /// Checks a refund against what is left: the units per line and the cleaned reason.
    fn check_refund(
        &self,
        amount: i64,
        restock: &[FulfilledLine],
        reason: Option<&str>,
    ) -> Result<(Units, Option<String>), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let remaining = self.refundable();
        if amount < 0 || amount > remaining || (amount == 0 && restock.is_empty()) {
            errors.add(
                "amount",
                "out_of_range",
                format!("0 to {remaining} minor units can still be refunded"),
            );
        }
        let mut wanted = self.lines.iter().map(|l| (l.id, 0_i64)).collect::<Vec<_>>();
        for (index, line) in restock.iter().enumerate() {
            let Some(slot) = wanted.iter_mut().find(|(id, _)| *id == line.line_id) else {
                errors.add(
                    &format!("restock[{index}].line_id"),
                    "unknown_line",
                    "no such line",
                );
                continue;
            };
            slot.1 = slot.1.saturating_add(line.quantity);
            let open = self
                .lines
                .iter()
                .find(|l| l.id == line.line_id)
                .map_or(0, |l| self.restockable(l));
            if line.quantity < 1 || slot.1 > open {
                errors.add(
                    &format!("restock[{index}].quantity"),
                    "out_of_range",
                    format!("1 to {open} units can still be restocked"),
                );
            }
        }
        let reason = optional_text(&mut errors, "reason", reason, 500);
        wanted.retain(|(_, quantity)| *quantity > 0);
        errors.finish(Some((wanted, reason)))
    }

    fn apply_refund(
        &mut self,
        id: RefundId,
        amount: i64,
        restock: &[FulfilledLine],
        reason: Option<&str>,
        actor: OrderActor,
        at: Timestamp,
    ) -> Result<Effects, OrderError> {
        let (wanted, reason) = self.check_refund(amount, restock, reason)?;
        let refund = Refund {
            id,
            amount,
            reason,
            restocked: restock.to_vec(),
            provider_refund_id: None,
            actor,
            at,
        };
        self.record_refund(refund, &wanted)
    }

    /// Books a checked refund: units back into stock, the amount, the payment status.
    fn record_refund(
        &mut self,
        refund: Refund,
        wanted: &[(OrderLineId, i64)],
    ) -> Result<Effects, OrderError> {
        let mut effects = Effects::default();
        for (line_id, quantity) in wanted {
            if let Some(line) = self.lines.iter_mut().find(|l| l.id == *line_id) {
                line.restocked += quantity;
                if line.tracked {
                    effects.moves.push(StockMove {
                        product_id: line.product_id,
                        variant_id: line.variant_id,
                        quantity: *quantity,
                        op: StockOp::Restock,
                    });
                }
            }
        }
        self.refunded += refund.amount;
        let target = if self.refunded >= self.total {
            PaymentStatus::Refunded
        } else {
            PaymentStatus::PartiallyRefunded
        };
        if target != self.payment_status {
            self.move_payment(target, refund.actor, refund.at, refund.reason.as_deref())?;
        }
        self.updated_at = refund.at;
        effects.events.push((
            "order.refunded",
            json!({
                "order_id": self.id,
                "number": self.number,
                "amount": self.money(refund.amount),
                "refunded": self.money(self.refunded),
                "payment_status": self.payment_status,
            }),
        ));
        self.refunds.push(refund);
        Ok(effects)
    }

    /// A card refund about to be asked of the provider: checked against what is left (pending
    /// refunds included) and held as pending. A request repeating an `Idempotency-Key` gets the
    /// refund it made before, pending or done.
    pub fn request_refund(
        &mut self,
        pending: PendingRefund,
    ) -> Result<RefundRequestOutcome, OrderError> {
        if let Some(key) = pending.key.as_deref() {
            if let Some(found) = self
                .pending_refunds
                .iter()
                .find(|p| p.key.as_deref() == Some(key))
            {
                return Ok(RefundRequestOutcome::Pending(found.clone()));
            }
            if self.refunds.iter().any(|r| r.id == pending.id) {
                return Ok(RefundRequestOutcome::Done);
            }
        }
        self.check_paid()?;
        let (_, reason) =
            self.check_refund(pending.amount, &pending.restock, pending.reason.as_deref())?;
        let pending = PendingRefund { reason, ..pending };
        self.pending_refunds.push(pending.clone());
        self.updated_at = pending.at;
        Ok(RefundRequestOutcome::New(pending))
    }

    /// The provider refused a pending refund: it no longer counts.
    pub fn drop_refund_request(&mut self, id: RefundId) -> bool {
        let before = self.pending_refunds.len();
        self.pending_refunds.retain(|p| p.id != id);
        before != self.pending_refunds.len()
    }

    /// The provider confirmed a refund (its API answer or its webhook, whichever comes first):
    /// applied once per provider refund id. One we asked for settles its pending request; one
    /// made elsewhere (the Stripe dashboard) is booked as it is, without restock. `None`: seen
    /// before, nothing to do.
    pub fn settle_refund(
        &mut self,
        provider_refund_id: &str,
        ours: Option<RefundId>,
        amount: i64,
        at: Timestamp,
    ) -> Result<Option<Effects>, OrderError> {
        if self
            .refunds
            .iter()
            .any(|r| r.provider_refund_id.as_deref() == Some(provider_refund_id))
        {
            return Ok(None);
        }
        let pending = ours.and_then(|id| {
            let index = self.pending_refunds.iter().position(|p| p.id == id)?;
            Some(self.pending_refunds.remove(index))
        });
        let (id, restock, reason, actor) = match pending {
            Some(p) => (p.id, p.restock, p.reason, p.actor),
            None => (
                ours.unwrap_or_else(|| RefundId::from_uuid(uuid::Uuid::now_v7())),
                Vec::new(),
                Some("refunded at the payment provider".to_owned()),
                OrderActor::System,
            ),
        };
        let (wanted, reason) = self.check_refund(amount, &restock, reason.as_deref())?;
        let refund = Refund {
            id,
            amount,
            reason,
            restocked: restock,
            provider_refund_id: Some(provider_refund_id.to_owned()),
            actor,
            at,
        };
        self.record_refund(refund, &wanted).map(Some)
    }

    /// A card payment the provider confirmed. An unpaid order is paid as usual. One that
    /// expired meanwhile is paid only by taking its stock again: storage refuses the
    /// reservation when the units are gone, and the caller then refunds the money.
    pub fn pay_by_card(&mut self, intent: &str, at: Timestamp) -> Result<Effects, OrderError> {
        match self.status {
            OrderStatus::PendingPayment => self.mark_paid(
                OrderActor::System,
                at,
                Some(&format!("card payment {intent}")),
            ),
            OrderStatus::Expired => {
                let reason = format!(
                    "card payment {intent} succeeded after the payment deadline; the stock was still there and is taken again"
                );
                let mut effects = Effects::default();
                self.move_payment(PaymentStatus::Paid, OrderActor::System, at, Some(&reason))?;
                self.move_status(
                    OrderStatus::Paid,
                    OrderActor::System,
                    at,
                    Some(&reason),
                    &mut effects,
                )?;
                effects.moves = self.reservations();
                effects
                    .moves
                    .extend(self.moves(StockOp::Commit, |line| line.quantity));
                self.pay_by = None;
                effects.events.insert(
                    0,
                    (
                        "order.paid",
                        json!({ "order_id": self.id, "number": self.number, "total": self.money(self.total), "late": true }),
                    ),
                );
                Ok(effects)
            }
            other => Err(invalid_status(other, OrderStatus::Paid)),
        }
    }

    /// Card money that arrived after the order ended (expired with its stock gone, or
    /// cancelled) went back in full: the order stays ended, its payment is refunded.
    pub fn refund_unclaimed_payment(
        &mut self,
        provider_refund_id: &str,
        at: Timestamp,
    ) -> Result<Effects, OrderError> {
        if !matches!(self.status, OrderStatus::Expired | OrderStatus::Cancelled) {
            return Err(invalid_payment(
                self.payment_status,
                PaymentStatus::Refunded,
            ));
        }
        let reason = "the card payment arrived after the order had ended and could not be taken: refunded in full";
        self.move_payment(
            PaymentStatus::Refunded,
            OrderActor::System,
            at,
            Some(reason),
        )?;
        let refund = Refund {
            id: RefundId::from_uuid(uuid::Uuid::now_v7()),
            amount: self.total,
            reason: Some(reason.to_owned()),
            restocked: Vec::new(),
            provider_refund_id: Some(provider_refund_id.to_owned()),
            actor: OrderActor::System,
            at,
        };
        self.refunded = self.total;
        self.updated_at = at;
        self.refunds.push(refund);
        Ok(Effects {
            events: vec![(
                "order.refunded",
                json!({
                    "order_id": self.id,
                    "number": self.number,
                    "amount": self.money(self.total),
                    "refunded": self.money(self.refunded),
                    "payment_status": self.payment_status,
                    "late_payment": true,
                }),
            )],
            ..Effects::default()
        })
    }

    /// Flags the order for staff review, with its event; `None` when it carries this flag
    /// (kind and detail) already.
    pub fn flag(&mut self, kind: FlagKind, detail: String, at: Timestamp) -> Option<Effects> {
        if self
            .flags
            .iter()
            .any(|f| f.kind == kind.as_str() && f.detail == detail)
        {
            return None;
        }
        self.flags.push(OrderFlag {
            kind: kind.as_str().to_owned(),
            detail: detail.clone(),
            at,
        });
        self.updated_at = at;
        Some(Effects {
            events: vec![(
                kind.event(),
                json!({ "order_id": self.id, "number": self.number, "detail": detail }),
            )],
            ..Effects::default()
        })
    }

    pub fn add_note(
        &mut self,
        author: OrderActor,
        text: &str,
        at: Timestamp,
    ) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let text = errors.check("text", clean_text(text, 2_000), |e| e.code());
        let text = errors.finish(text)?;
        self.notes.push(Note { author, text, at });
        self.updated_at = at;
        Ok(())
    }

    pub fn totals(&self) -> Totals {
        Totals {
            subtotal: self.money(self.subtotal),
            discount: self.money(self.discount),
            shipping: self.money(self.shipping_total),
            tax: self.money(self.tax),
            total: self.money(self.total),
            tax_included: self.tax_included,
        }
    }

    pub fn item_count(&self) -> i64 {
        self.lines.iter().map(|l| l.quantity).sum()
    }

    /// The order as a shopper sees it, or with history and notes for staff.
    pub fn view(&self, for_staff: bool) -> OrderView {
        let money = |minor| self.money(minor);
        OrderView {
            id: self.id,
            number: self.number,
            status: self.status,
            payment_status: self.payment_status,
            token: None,
            email: self.email.clone(),
            customer_id: self.customer_id,
            lines: self
                .lines
                .iter()
                .map(|l| OrderLineView {
                    id: l.id,
                    product_id: l.product_id,
                    variant_id: l.variant_id,
                    sku: l.sku.clone(),
                    title: l.title.clone(),
                    variant_title: l.variant_title.clone(),
                    unit_price: money(l.unit_price),
                    quantity: l.quantity,
                    subtotal: money(l.subtotal),
                    discount: money(l.discount),
                    tax: money(l.tax),
                    total: money(l.total),
                    fulfilled_quantity: l.fulfilled,
                    restocked_quantity: l.restocked,
                })
                .collect(),
            totals: self.totals(),
            discount_code: self.discount_code.clone(),
            shipping_address: self.shipping_address.clone(),
            shipping: ShippingChoiceView {
                method_id: self.shipping.method_id,
                name: self.shipping.name.clone(),
                kind: self.shipping.kind,
                price: money(self.shipping.price),
            },
            payment_method: self.payment_method,
            payment_instructions: self.payment_instructions.clone(),
            pay_by: self.pay_by,
            fulfilments: self
                .fulfilments
                .iter()
                .map(|f| FulfilmentView {
                    id: f.id,
                    lines: f.lines.clone(),
                    carrier: f.carrier.clone(),
                    tracking_number: f.tracking_number.clone(),
                    at: f.at,
                })
                .collect(),
            refunds: self
                .refunds
                .iter()
                .map(|r| RefundView {
                    id: r.id,
                    amount: money(r.amount),
                    reason: r.reason.clone(),
                    restocked: r.restocked.clone(),
                    provider_refund_id: for_staff.then(|| r.provider_refund_id.clone()).flatten(),
                    at: r.at,
                })
                .collect(),
            refunded: money(self.refunded),
            history: for_staff.then(|| {
                self.history
                    .iter()
                    .map(|t| TransitionView {
                        field: match t.field {
                            Machine::Status => "status",
                            Machine::PaymentStatus => "payment_status",
                        }
                        .to_owned(),
                        from: t.from.clone(),
                        to: t.to.clone(),
                        actor: t.actor.view(),
                        at: t.at,
                        reason: t.reason.clone(),
                    })
                    .collect()
            }),
            notes: for_staff.then(|| {
                self.notes
                    .iter()
                    .map(|n| OrderNoteView {
                        author: n.author.view(),
                        text: n.text.clone(),
                        at: n.at,
                    })
                    .collect()
            }),
            payment: None,
            flags: for_staff.then(|| {
                self.flags
                    .iter()
                    .map(|f| OrderFlagView {
                        kind: f.kind.clone(),
                        detail: f.detail.clone(),
                        at: f.at,
                    })
                    .collect()
            }),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    pub fn summary(&self) -> OrderSummaryView {
        OrderSummaryView {
            id: self.id,
            number: self.number,
            status: self.status,
            payment_status: self.payment_status,
            email: self.email.clone(),
            total: self.money(self.total),
            item_count: self.item_count(),
            created_at: self.created_at,
        }
    }

    /// Whether the order contains the product (for verified-purchase reviews).
    pub fn contains(&self, product: ProductId) -> bool {
        self.lines.iter().any(|l| l.product_id == product)
    }

    /// Paid at some point (whatever happened since).
    pub fn was_paid(&self) -> bool {
        matches!(
            self.payment_status,
            PaymentStatus::Paid | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        )
    }
}

#[cfg(test)]
pub mod tests {
    use proptest::prelude::*;
    use techverse_shared::CountryCode;

    use super::*;

    pub fn sample(lines: &[(i64, i64, bool)]) -> Order {
        let currency = Currency::from_code("NGN").unwrap();
        let lines: Vec<OrderLine> = lines
            .iter()
            .enumerate()
            .map(|(n, (price, quantity, tracked))| OrderLine {
                id: OrderLineId::from_uuid(uuid::Uuid::from_u128(n as u128 + 1)),
                product_id: ProductId::from_uuid(uuid::Uuid::from_u128(100)),
                variant_id: VariantId::from_uuid(uuid::Uuid::from_u128(200 + n as u128)),
                sku: format!("SKU-{n}"),
                title: "Thing".into(),
                variant_title: String::new(),
                unit_price: *price,
                quantity: *quantity,
                subtotal: price * quantity,
                discount: 0,
                tax: 0,
                total: price * quantity,
                tracked: *tracked,
                fulfilled: 0,
                restocked: 0,
            })
            .collect();
        let total = lines.iter().map(|l| l.total).sum();
        let mut order = Order {
            id: OrderId::from_uuid(uuid::Uuid::nil()),
            store_id: StoreId::from_uuid(uuid::Uuid::nil()),
            number: 1001,
            token_hash: String::new(),
            customer_id: None,
            email: "a@example.com".into(),
            client_ip: None,
            currency,
            lines,
            subtotal: total,
            discount: 0,
            shipping_total: 0,
            tax: 0,
            total,
            tax_included: false,
            discount_code: None,
            discount_id: None,
            shipping_address: OrderAddress {
                name: "Ada".into(),
                line1: "1 Way".into(),
                line2: None,
                city: "Lagos".into(),
                region: None,
                postal_code: None,
                country: CountryCode::parse("NG").unwrap(),
                phone: None,
            },
            shipping: ShippingChoice {
                method_id: ShippingMethodId::from_uuid(uuid::Uuid::nil()),
                name: "Pickup".into(),
                kind: ShippingKind::Pickup,
                price: 0,
            },
            payment_method: PaymentMethod::CashOnDelivery,
            payment_instructions: None,
            status: OrderStatus::PendingPayment,
            payment_status: PaymentStatus::Pending,
            pay_by: Some(Timestamp::from_second(1_000).unwrap()),
            holds_stock: true,
            fulfilments: Vec::new(),
            refunds: Vec::new(),
            refunded: 0,
            pending_refunds: Vec::new(),
            flags: Vec::new(),
            notes: Vec::new(),
            history: Vec::new(),
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            version: 1,
        };
        order.open(OrderActor::Guest, Timestamp::UNIX_EPOCH);
        order
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    const STAFF: OrderActor = OrderActor::System;

    #[test]
    fn paying_commits_the_reservation_of_tracked_lines_only() {
        let mut order = sample(&[(100, 2, true), (50, 1, false)]);
        assert_eq!(order.reservations().len(), 1);
        let effects = order.mark_paid(STAFF, at(10), None).unwrap();
        assert_eq!(effects.moves.len(), 1);
        assert_eq!(effects.moves[0].op, StockOp::Commit);
        assert_eq!(effects.events[0].0, "order.paid");
        assert!(!order.holds_stock);
        assert!(matches!(
            order.mark_paid(STAFF, at(11), None),
            Err(OrderError::InvalidTransition { .. })
        ));
    }

    #[test]
    fn an_order_expires_only_when_unpaid_and_overdue() {
        let mut order = sample(&[(100, 2, true)]);
        assert!(order.expire(at(999)).is_err());
        let effects = order.expire(at(1_000)).unwrap();
        assert_eq!(effects.moves[0].op, StockOp::Release);
        assert_eq!(order.status, OrderStatus::Expired);
        assert_eq!(order.payment_status, PaymentStatus::Voided);
        assert!(order.expire(at(2_000)).is_err(), "expires once");
    }

    #[test]
    fn cancelling_a_paid_order_restocks_and_refunds_the_rest() {
        let mut order = sample(&[(100, 2, true)]);
        order.mark_paid(STAFF, at(1), None).unwrap();
        let effects = order.cancel(STAFF, at(2), Some("customer asked")).unwrap();
        assert_eq!(effects.moves[0].op, StockOp::Restock);
        assert_eq!(effects.moves[0].quantity, 2);
        assert_eq!(order.payment_status, PaymentStatus::Refunded);
        assert_eq!(order.refunded, 200);
    }

    #[test]
    fn fulfilment_goes_partial_then_full_and_refuses_too_many_units() {
        let mut order = sample(&[(100, 2, true), (10, 1, true)]);
        order.mark_paid(STAFF, at(1), None).unwrap();
        let line = |n: u128, quantity| FulfilledLine {
            line_id: OrderLineId::from_uuid(uuid::Uuid::from_u128(n)),
            quantity,
        };
        let id = FulfilmentId::from_uuid(uuid::Uuid::nil());
        assert!(matches!(
            order.fulfil(id, &[line(1, 3)], None, None, STAFF, at(2)),
            Err(OrderError::Invalid(_))
        ));
        order
            .fulfil(id, &[line(1, 1)], Some("GIG"), Some("T1"), STAFF, at(2))
            .unwrap();
        assert_eq!(order.status, OrderStatus::PartiallyFulfilled);
        order
            .fulfil(id, &[line(1, 1), line(2, 1)], None, None, STAFF, at(3))
            .unwrap();
        assert_eq!(order.status, OrderStatus::Fulfilled);
        assert!(order.cancel(STAFF, at(4), None).is_err());
    }

    #[test]
    fn huge_quantities_naming_one_line_twice_are_refused_not_an_overflow() {
        let mut order = sample(&[(100, 2, true)]);
        order.mark_paid(STAFF, at(1), None).unwrap();
        let line = FulfilledLine {
            line_id: OrderLineId::from_uuid(uuid::Uuid::from_u128(1)),
            quantity: i64::MAX,
        };
        let twice = [line, line];
        let id = FulfilmentId::from_uuid(uuid::Uuid::nil());
        assert!(matches!(
            order.fulfil(id, &twice, None, None, STAFF, at(2)),
            Err(OrderError::Invalid(_))
        ));
        let refund = RefundId::from_uuid(uuid::Uuid::nil());
        assert!(matches!(
            order.refund(refund, 0, &twice, None, STAFF, at(3)),
            Err(OrderError::Invalid(_))
        ));
        assert_eq!(order.lines[0].fulfilled, 0);
        assert_eq!(order.lines[0].restocked, 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Pay,
        Expire,
        Cancel,
        FulfilOne,
        Ship,
        Deliver,
        Refund(i64, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            Just(Op::Pay),
            Just(Op::Expire),
            Just(Op::Cancel),
            Just(Op::FulfilOne),
            Just(Op::Ship),
            Just(Op::Deliver),
            (0_i64..400, any::<bool>()).prop_map(|(a, r)| Op::Refund(a, r)),
        ]
    }

    fn all_status_pairs() -> Vec<(OrderStatus, OrderStatus)> {
        OrderStatus::ALL
            .iter()
            .flat_map(|a| OrderStatus::ALL.iter().map(move |b| (*a, *b)))
            .collect()
    }

    fn pending_refund(order: &Order, amount: i64, key: &str) -> PendingRefund {
        PendingRefund {
            id: RefundId::from_uuid(uuid::Uuid::now_v7()),
            key: Some(key.to_owned()),
            amount,
            restock: Vec::new(),
            reason: None,
            actor: STAFF,
            at: order.created_at,
        }
    }

    #[test]
    fn a_late_card_payment_takes_the_stock_again_or_is_refunded_in_full() {
        let mut order = sample(&[(1_000, 2, true), (500, 1, false)]);
        order.payment_method = PaymentMethod::Card;
        let due = order.pay_by.unwrap();
        order.expire(due).unwrap();
        let mut late = order.clone();
        let effects = late.pay_by_card("pi_1", due).unwrap();
        assert_eq!(
            (late.status, late.payment_status),
            (OrderStatus::Paid, PaymentStatus::Paid)
        );
        let ops: Vec<StockOp> = effects.moves.iter().map(|m| m.op).collect();
        assert_eq!(
            ops,
            [StockOp::Reserve, StockOp::Commit],
            "tracked lines only"
        );
        assert_eq!(effects.events[0].0, "order.paid");
        let mut refunded = order.clone();
        refunded.refund_unclaimed_payment("re_1", due).unwrap();
        assert_eq!(
            (refunded.status, refunded.payment_status, refunded.refunded),
            (
                OrderStatus::Expired,
                PaymentStatus::Refunded,
                refunded.total
            )
        );
        assert!(
            refunded.refund_unclaimed_payment("re_1", due).is_err(),
            "once"
        );
        assert!(
            sample(&[(1_000, 1, true)])
                .refund_unclaimed_payment("re_2", due)
                .is_err()
        );
    }

    #[test]
    fn card_refunds_are_held_bounded_and_settled_once_per_provider_id() {
        let mut order = sample(&[(1_000, 1, true)]);
        order.mark_paid(STAFF, at(1), None).unwrap();
        let total = order.total;
        let first = pending_refund(&order, total - 100, "k1");
        assert!(matches!(
            order.request_refund(first.clone()),
            Ok(RefundRequestOutcome::New(_))
        ));
        // The pending refund counts: only 100 is left for another.
        assert!(
            order
                .request_refund(pending_refund(&order, 101, "k2"))
                .is_err()
        );
        let same_key = PendingRefund {
            id: RefundId::from_uuid(uuid::Uuid::now_v7()),
            ..first.clone()
        };
        assert!(
            matches!(order.request_refund(same_key), Ok(RefundRequestOutcome::Pending(p)) if p.id == first.id)
        );
        assert!(
            order
                .settle_refund("re_1", Some(first.id), total - 100, at(2))
                .unwrap()
                .is_some()
        );
        assert_eq!(
            order
                .settle_refund("re_1", Some(first.id), total - 100, at(3))
                .unwrap(),
            None
        );
        assert!(order.pending_refunds.is_empty());
        assert_eq!(
            (order.refunded, order.payment_status),
            (total - 100, PaymentStatus::PartiallyRefunded)
        );
        // One made in Stripe's dashboard is booked as it is.
        assert!(
            order
                .settle_refund("re_2", None, 100, at(4))
                .unwrap()
                .is_some()
        );
        assert_eq!(order.payment_status, PaymentStatus::Refunded);
        assert!(
            order.settle_refund("re_3", None, 1, at(5)).is_err(),
            "nothing left"
        );
        // A refused request stops counting.
        let mut other = sample(&[(1_000, 1, true)]);
        other.mark_paid(STAFF, at(1), None).unwrap();
        let held = pending_refund(&other, other.total, "k3");
        other.request_refund(held.clone()).unwrap();
        assert_eq!(other.refundable(), 0);
        assert!(other.drop_refund_request(held.id));
        assert_eq!(other.refundable(), other.total);
    }

    fn kinds(effects: &Effects) -> Vec<&'static str> {
        effects.events.iter().map(|(kind, _)| *kind).collect()
    }

    #[test]
    fn each_step_of_an_orders_life_records_its_own_event() {
        let mut order = sample(&[(1_000, 2, true)]);
        order.token_hash = "the-order-token-hash".to_owned();
        assert_eq!(
            kinds(&order.mark_paid(STAFF, at(1), None).unwrap()),
            ["order.paid", "order.status_changed"]
        );
        let line = FulfilledLine {
            line_id: order.lines[0].id,
            quantity: 2,
        };
        let fulfilled = order
            .fulfil(
                FulfilmentId::from_uuid(uuid::Uuid::now_v7()),
                &[line],
                Some("DHL"),
                Some("JD0001"),
                STAFF,
                at(2),
            )
            .unwrap();
        assert_eq!(
            kinds(&fulfilled),
            ["order.status_changed", "order.fulfilled"]
        );
        let shipped = order.ship(STAFF, at(3)).unwrap();
        assert_eq!(kinds(&shipped), ["order.status_changed", "order.shipped"]);
        assert_eq!(shipped.events[1].1["carrier"], "DHL");
        assert_eq!(shipped.events[1].1["tracking_number"], "JD0001");
        assert_eq!(
            kinds(&order.deliver(STAFF, at(4)).unwrap()),
            ["order.status_changed", "order.delivered"]
        );
        let mut unpaid = sample(&[(1_000, 1, true)]);
        let cancelled = unpaid.clone().cancel(STAFF, at(1), Some("asked")).unwrap();
        assert_eq!(
            kinds(&cancelled),
            ["order.status_changed", "order.cancelled"]
        );
        assert_eq!(cancelled.events[1].1["reason"], "asked");
        let due = unpaid.pay_by.unwrap();
        assert_eq!(
            kinds(&unpaid.expire(due).unwrap()),
            ["order.status_changed", "order.expired"]
        );
        // No event carries the order's secret token hash.
        let all = [fulfilled, shipped, cancelled];
        assert!(
            all.iter()
                .flat_map(|e| &e.events)
                .all(|(_, p)| !p.to_string().contains(&order.token_hash))
        );
    }

    #[test]
    fn a_flag_is_raised_once_per_kind_and_detail() {
        let mut order = sample(&[(1_000, 1, true)]);
        let first = order
            .flag(FlagKind::Disputed, "dp_1".to_owned(), at(1))
            .unwrap();
        assert_eq!(first.events[0].0, "order.disputed");
        assert!(
            order
                .flag(FlagKind::Disputed, "dp_1".to_owned(), at(2))
                .is_none()
        );
        let other = order
            .flag(FlagKind::PaymentMismatch, "x".to_owned(), at(3))
            .unwrap();
        assert_eq!(other.events[0].0, "order.payment_mismatch");
        assert_eq!(order.flags.len(), 2);
    }

    #[test]
    fn the_status_machine_accepts_exactly_its_table() {
        let table = [
            ("pending_payment", "paid"),
            ("pending_payment", "cancelled"),
            ("pending_payment", "expired"),
            ("expired", "paid"),
            ("paid", "partially_fulfilled"),
            ("paid", "fulfilled"),
            ("paid", "cancelled"),
            ("partially_fulfilled", "fulfilled"),
            ("fulfilled", "shipped"),
            ("fulfilled", "delivered"),
            ("shipped", "delivered"),
        ];
        for (from, to) in all_status_pairs() {
            let listed = table.contains(&(from.as_str(), to.as_str()));
            assert_eq!(status_move_allowed(from, to), listed, "{from:?} -> {to:?}");
        }
        for from in PaymentStatus::ALL {
            for to in PaymentStatus::ALL {
                let listed = matches!(
                    (from, to),
                    (
                        PaymentStatus::Pending,
                        PaymentStatus::Paid | PaymentStatus::Voided
                    ) | (
                        PaymentStatus::Voided,
                        PaymentStatus::Paid | PaymentStatus::Refunded
                    ) | (
                        PaymentStatus::Paid,
                        PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
                    ) | (PaymentStatus::PartiallyRefunded, PaymentStatus::Refunded)
                );
                assert_eq!(payment_move_allowed(from, to), listed, "{from:?} -> {to:?}");
            }
        }
    }

    proptest! {
        /// Any sequence of operations moves the order only along its tables, records every
        /// move (the last recorded state is the current one), never refunds more than the
        /// total, never restocks or fulfils more than was bought, and holds stock exactly
        /// while it awaits payment.
        #[test]
        fn any_sequence_of_operations_stays_on_the_tables(ops in proptest::collection::vec(op(), 0..25)) {
            let mut order = sample(&[(100, 2, true), (30, 1, true)]);
            let mut now = 0;
            for op in ops {
                now += 100;
                let before = order.clone();
                let result = match op {
                    Op::Pay => order.mark_paid(STAFF, at(now), None),
                    Op::Expire => order.expire(at(now)),
                    Op::Cancel => order.cancel(STAFF, at(now), None),
                    Op::FulfilOne => {
                        let open = order.lines.iter().find(|l| l.fulfilled < l.quantity).map(|l| l.id);
                        let lines: Vec<FulfilledLine> = open.into_iter().map(|line_id| FulfilledLine { line_id, quantity: 1 }).collect();
                        order.fulfil(FulfilmentId::from_uuid(uuid::Uuid::nil()), &lines, None, None, STAFF, at(now))
                    }
                    Op::Ship => order.ship(STAFF, at(now)),
                    Op::Deliver => order.deliver(STAFF, at(now)),
                    Op::Refund(amount, restock) => {
                        let lines: Vec<FulfilledLine> = if restock {
                            vec![FulfilledLine { line_id: order.lines[0].id, quantity: 1 }]
                        } else { Vec::new() };
                        order.refund(RefundId::from_uuid(uuid::Uuid::nil()), amount, &lines, None, STAFF, at(now))
                    }
                };
                if result.is_err() {
                    prop_assert_eq!(&order, &before, "a refused operation changes nothing");
                }
                if order.status != before.status {
                    prop_assert!(status_move_allowed(before.status, order.status));
                }
                if order.payment_status != before.payment_status {
                    prop_assert!(payment_move_allowed(before.payment_status, order.payment_status));
                }
                let last_status = order.history.iter().rev().find(|t| t.field == Machine::Status).map(|t| t.to.clone());
                prop_assert_eq!(last_status.as_deref(), Some(order.status.as_str()));
                let last_payment = order.history.iter().rev().find(|t| t.field == Machine::PaymentStatus).map(|t| t.to.clone());
                prop_assert_eq!(last_payment.as_deref(), Some(order.payment_status.as_str()));
                prop_assert!(order.refunded >= 0 && order.refunded <= order.total);
                prop_assert_eq!(order.refunds.iter().map(|r| r.amount).sum::<i64>(), order.refunded);
                for line in &order.lines {
                    prop_assert!(line.fulfilled <= line.quantity && line.restocked <= line.quantity);
                }
                prop_assert_eq!(order.holds_stock, order.status == OrderStatus::PendingPayment);
            }
        }
    }
}

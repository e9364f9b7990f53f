//! Shapes of carts, checkout, orders and reviews on the wire. Every amount is [`Money`]
//! (minor units plus currency); the server computes all of them and clients only display them.

use serde::{Deserialize, Serialize};

use crate::{
    CartId, CartLineId, CountryCode, CustomerId, FulfilmentId, Money, OrderId, OrderLineId,
    ProductId, RefundId, ReviewId, ShippingMethodId, VariantId,
};

/// The amounts of a cart or an order. `total = subtotal - discount + shipping + tax` when
/// prices exclude tax; when they include it (`tax_included`), `tax` is the part of the total
/// that is tax and `total = subtotal - discount + shipping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
    pub tax_included: bool,
}

/// Why a cart line (or the cart's discount) changed since the shopper last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CartWarningCode {
    /// The unit price is not what it was when the line was added.
    PriceChanged,
    /// Nothing of this variant can be bought now.
    OutOfStock,
    /// Fewer units are available than the line asks for; checkout would take fewer.
    QuantityReduced,
    /// The product or variant is no longer sold.
    Unavailable,
    /// The discount code no longer applies.
    DiscountRemoved,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartWarning {
    pub code: CartWarningCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_id: Option<CartLineId>,
    /// The variant's SKU, when the catalogue still knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    pub message: String,
    /// The earlier unit price, for `price_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_price: Option<Money>,
    /// Units available now, for `quantity_reduced` and `out_of_stock`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartLineView {
    pub id: CartLineId,
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub slug: String,
    pub sku: String,
    pub title: String,
    /// Option values joined for display (`Black / 256 GB`); empty for single-variant products.
    pub variant_title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub unit_price: Money,
    pub quantity: i64,
    pub subtotal: Money,
    pub discount: Money,
    /// Units available now; absent when inventory is not tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartView {
    pub id: CartId,
    /// The secret guest token: present only in the response that creates a guest cart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<CustomerId>,
    pub lines: Vec<CartLineView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_code: Option<String>,
    pub warnings: Vec<CartWarning>,
    pub totals: Totals,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: crate::Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShippingKind {
    Flat,
    FreeAbove,
    Pickup,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShippingMethodView {
    pub id: ShippingMethodId,
    pub name: String,
    pub kind: ShippingKind,
    /// What this cart would pay for this method.
    pub price: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    CashOnDelivery,
    BankTransfer,
    /// A card (and the other methods Stripe's Payment Element offers), through the store's
    /// connected Stripe account. Offered while that account can take charges; never listed in
    /// a store's own settings.
    Card,
}

impl PaymentMethod {
    pub const ALL: [Self; 3] = [Self::CashOnDelivery, Self::BankTransfer, Self::Card];
    /// The methods a store turns on in its settings (paid outside TechVerse, confirmed by
    /// staff).
    pub const OFFLINE: [Self; 2] = [Self::CashOnDelivery, Self::BankTransfer];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CashOnDelivery => "cash_on_delivery",
            Self::BankTransfer => "bank_transfer",
            Self::Card => "card",
        }
    }

    pub const fn is_offline(self) -> bool {
        !matches!(self, Self::Card)
    }
}

/// Where an order stands in its life: payment awaited, paid, being fulfilled, shipped,
/// delivered; or ended early (cancelled, expired). Money has its own [`PaymentStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    PartiallyFulfilled,
    Fulfilled,
    Shipped,
    Delivered,
    Cancelled,
    Expired,
}

impl OrderStatus {
    pub const ALL: [Self; 8] = [
        Self::PendingPayment,
        Self::Paid,
        Self::PartiallyFulfilled,
        Self::Fulfilled,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
        Self::Expired,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::Paid => "paid",
            Self::PartiallyFulfilled => "partially_fulfilled",
            Self::Fulfilled => "fulfilled",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == input)
    }
}

/// The order's life: every allowed `(from, to)` move. Anything else is refused.
pub const STATUS_TABLE: [(OrderStatus, OrderStatus); 11] = {
    use OrderStatus::*;
    [
        (PendingPayment, Paid),
        (PendingPayment, Cancelled),
        (PendingPayment, Expired),
        // A card payment that succeeded after the deadline, with the stock still there.
        (Expired, Paid),
        (Paid, PartiallyFulfilled),
        (Paid, Fulfilled),
        (Paid, Cancelled),
        (PartiallyFulfilled, Fulfilled),
        (Fulfilled, Shipped),
        (Fulfilled, Delivered),
        (Shipped, Delivered),
    ]
};

/// The money's life.
pub const PAYMENT_TABLE: [(PaymentStatus, PaymentStatus); 7] = {
    use PaymentStatus::*;
    [
        (Pending, Paid),
        (Pending, Voided),
        // Card money that arrived after the order ended: taken (stock still there) or sent back.
        (Voided, Paid),
        (Voided, Refunded),
        (Paid, PartiallyRefunded),
        (Paid, Refunded),
        (PartiallyRefunded, Refunded),
    ]
};

impl OrderStatus {
    /// Whether the order's life allows the move (see [`STATUS_TABLE`]).
    pub fn can_move_to(self, to: Self) -> bool {
        STATUS_TABLE.contains(&(self, to))
    }
}

/// The money side of an order, separate from fulfilment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Not paid yet.
    Pending,
    Paid,
    PartiallyRefunded,
    Refunded,
    /// Never paid and never will be: the order was cancelled or expired first.
    Voided,
}

impl PaymentStatus {
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Paid,
        Self::PartiallyRefunded,
        Self::Refunded,
        Self::Voided,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Refunded => "refunded",
            Self::Voided => "voided",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == input)
    }
}

/// A postal address as written on an order (a snapshot; later profile edits do not move it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderAddress {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    pub country: CountryCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderLineView {
    pub id: OrderLineId,
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub sku: String,
    pub title: String,
    pub variant_title: String,
    pub unit_price: Money,
    pub quantity: i64,
    pub subtotal: Money,
    pub discount: Money,
    pub tax: Money,
    /// `subtotal - discount`, plus tax when prices exclude it.
    pub total: Money,
    pub fulfilled_quantity: i64,
    pub restocked_quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShippingChoiceView {
    pub method_id: ShippingMethodId,
    pub name: String,
    pub kind: ShippingKind,
    pub price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FulfilmentView {
    pub id: FulfilmentId,
    /// `(order line id, quantity)` pairs.
    pub lines: Vec<FulfilledLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: crate::Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FulfilledLine {
    pub line_id: OrderLineId,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefundView {
    pub id: RefundId,
    pub amount: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Units put back into stock by this refund.
    pub restocked: Vec<FulfilledLine>,
    /// The payment provider's refund id (`re_…`), for card orders; staff only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_refund_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: crate::Instant,
}

/// How a card order is being paid: what the buyer's browser needs to load Stripe.js and
/// confirm the payment (while the order is payable), and for staff the PaymentIntent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentView {
    /// `stripe`.
    pub provider: String,
    /// `open`, `succeeded`, `canceled`, `refund_due` or `refunded`.
    pub status: String,
    /// Given to the buyer only while the order awaits payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publishable_key: Option<String>,
    /// The store's connected account (Stripe.js is loaded with it: a direct charge).
    pub account_id: String,
    /// Where Stripe.js is loaded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub js_url: Option<String>,
    /// The PaymentIntent (`pi_…`); staff only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_id: Option<String>,
    /// The last decline or error the provider reported, in its words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Something staff must look at on an order (a payment that did not match, a dispute).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderFlagView {
    /// `payment_mismatch` or `disputed`.
    pub kind: String,
    pub detail: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: crate::Instant,
}

/// Who moved an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderActorView {
    /// `staff`, `customer`, `guest` or `system`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// One recorded move of an order's status or payment status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransitionView {
    /// `status` or `payment_status`.
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub to: String,
    pub actor: OrderActorView,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: crate::Instant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderNoteView {
    pub author: OrderActorView,
    pub text: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: crate::Instant,
}

/// An order as its buyer and the store's staff see it. `history` and `notes` are for staff
/// only (absent in the shopper's view); `token` only in the checkout response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub id: OrderId,
    /// The human number, e.g. 1001 (shown as `#1001`).
    pub number: i64,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    /// The secret a guest uses to look the order up: present only when the order is placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<CustomerId>,
    pub lines: Vec<OrderLineView>,
    pub totals: Totals,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_code: Option<String>,
    pub shipping_address: OrderAddress,
    pub shipping: ShippingChoiceView,
    pub payment_method: PaymentMethod,
    /// What the buyer must do to pay (the store's bank transfer instructions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_instructions: Option<String>,
    /// Unpaid orders expire (and release their stock) at this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub pay_by: Option<crate::Instant>,
    pub fulfilments: Vec<FulfilmentView>,
    pub refunds: Vec<RefundView>,
    pub refunded: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<TransitionView>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<Vec<OrderNoteView>>,
    /// Card payment details (card orders only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentView>,
    /// Staff only: what needs review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<OrderFlagView>>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: crate::Instant,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: crate::Instant,
}

/// One order in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderSummaryView {
    pub id: OrderId,
    pub number: i64,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub email: String,
    pub total: Money,
    pub item_count: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: crate::Instant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderPage {
    pub items: Vec<OrderSummaryView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A short line named in an `out_of_stock` error's `details.lines`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShortLine {
    pub variant_id: VariantId,
    pub sku: String,
    pub requested: i64,
    pub available: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Pending,
    Approved,
    Rejected,
    Hidden,
}

impl ReviewStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Hidden => "hidden",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Rejected, Self::Hidden]
            .into_iter()
            .find(|s| s.as_str() == input)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewView {
    pub id: ReviewId,
    pub product_id: ProductId,
    /// 1 to 5 stars.
    pub rating: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub body: String,
    pub author_name: String,
    pub verified_purchase: bool,
    /// Present in staff and author views; public lists hold approved reviews only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ReviewStatus>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: crate::Instant,
}

/// A product's rating from approved reviews: average stars × 100, count, and how many
/// reviews gave 1, 2, 3, 4 and 5 stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RatingSummary {
    pub average_x100: u32,
    pub count: u32,
    pub histogram: [u32; 5],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewPage {
    pub summary: RatingSummary,
    pub items: Vec<ReviewView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A staff action on an order (`POST …/orders/{id}/{path}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderAction {
    MarkPaid,
    Fulfil,
    Ship,
    Deliver,
    Cancel,
    Refund,
}

impl OrderAction {
    /// The action's path segment.
    pub const fn path(self) -> &'static str {
        match self {
            Self::MarkPaid => "mark-paid",
            Self::Fulfil => "fulfilments",
            Self::Ship => "ship",
            Self::Deliver => "deliver",
            Self::Cancel => "cancel",
            Self::Refund => "refunds",
        }
    }

    /// The permission the action needs on an order in `status` (cancelling a paid order gives
    /// the money back, so it needs `orders.refund`).
    pub fn permission(self, status: OrderStatus) -> crate::Permission {
        match self {
            Self::Refund => crate::Permission::OrdersRefund,
            Self::Cancel if status == OrderStatus::Paid => crate::Permission::OrdersRefund,
            _ => crate::Permission::OrdersWrite,
        }
    }
}

impl OrderView {
    /// The actions the order's life allows now ([`STATUS_TABLE`]), for a member holding
    /// `permissions`: what a console offers, and nothing the server would refuse for its state.
    pub fn actions(&self, permissions: &[crate::Permission]) -> Vec<OrderAction> {
        let status = self.status;
        let unfulfilled = self.lines.iter().any(|l| l.fulfilled_quantity < l.quantity);
        let refundable = matches!(
            self.payment_status,
            PaymentStatus::Paid | PaymentStatus::PartiallyRefunded
        ) && self.refunded.minor < self.totals.total.minor;
        [
            (OrderAction::MarkPaid, status == OrderStatus::PendingPayment),
            (
                OrderAction::Fulfil,
                matches!(status, OrderStatus::Paid | OrderStatus::PartiallyFulfilled)
                    && unfulfilled,
            ),
            (OrderAction::Ship, status.can_move_to(OrderStatus::Shipped)),
            (
                OrderAction::Deliver,
                status.can_move_to(OrderStatus::Delivered),
            ),
            (
                OrderAction::Cancel,
                status.can_move_to(OrderStatus::Cancelled),
            ),
            (OrderAction::Refund, refundable),
        ]
        .into_iter()
        .filter(|(action, allowed)| *allowed && permissions.contains(&action.permission(status)))
        .map(|(action, _)| action)
        .collect()
    }
}

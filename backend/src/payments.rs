//! The payment provider port. Checkout starts payment through it; confirmation comes back as
//! an order transition (staff marking an offline payment as received now, a verified Stripe
//! webhook later). The manual provider covers cash on delivery and bank transfer.

use async_trait::async_trait;
use techverse_shared::PaymentMethod;

use crate::domain::{order::Order, shipping::CheckoutSettings};

/// What the buyer is told once payment has started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentStart {
    /// Shown on the order (bank transfer details, "pay the courier on delivery"…).
    pub instructions: Option<String>,
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> &'static str;
    /// Starts payment for a new order (not yet stored: no side effect may depend on that).
    async fn start(
        &self,
        order: &Order,
        settings: &CheckoutSettings,
    ) -> anyhow::Result<PaymentStart>;
}

/// Offline payments, confirmed later by staff.
#[derive(Debug, Clone, Copy, Default)]
pub struct ManualPayments;

#[async_trait]
impl PaymentProvider for ManualPayments {
    fn name(&self) -> &'static str {
        "manual"
    }

    async fn start(
        &self,
        order: &Order,
        settings: &CheckoutSettings,
    ) -> anyhow::Result<PaymentStart> {
        let instructions = match order.payment_method {
            PaymentMethod::CashOnDelivery => Some(format!(
                "Pay {} in cash when the order is delivered.",
                order.money(order.total).format()
            )),
            PaymentMethod::BankTransfer => {
                settings.bank_transfer_instructions.as_ref().map(|text| {
                    format!(
                        "{text}\nAmount: {}. Use your order number as the payment reference.",
                        order.money(order.total).format()
                    )
                })
            }
        };
        Ok(PaymentStart { instructions })
    }
}

//! The payment provider ports. Offline methods (cash on delivery, bank transfer) go through
//! [`PaymentProvider`]: checkout asks it what to tell the buyer, and staff confirm the money
//! later. Cards go through [`CardGateway`], implemented for Stripe Connect by [`stripe`]:
//! connected accounts per store, PaymentIntents, refunds. Confirmation always comes back as an
//! order transition (staff marking an offline payment received, a verified Stripe webhook or
//! the reconciler for a card).

pub mod signature;
pub mod stripe;

use async_trait::async_trait;
use techverse_shared::{Currency, PaymentMethod};

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
            // Stripe.js collects the card on the order page.
            PaymentMethod::Card => None,
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

/// A connected account as the provider describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    pub id: String,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    pub requirements_due: Vec<String>,
}

/// Where the provider says a PaymentIntent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentStatus {
    /// Waiting for the buyer (payment method, confirmation or an action such as 3-D Secure).
    AwaitingBuyer,
    Processing,
    Succeeded,
    Canceled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub id: String,
    pub status: IntentStatus,
    /// In the provider's units.
    pub amount: i64,
    pub amount_received: i64,
    /// Lower-case ISO code, as the provider reports it.
    pub currency: String,
    pub client_secret: Option<String>,
    pub metadata: std::collections::HashMap<String, String>,
    /// The last decline or error, in the provider's words.
    pub last_error: Option<String>,
}

/// Asks for a PaymentIntent on a connected account (a direct charge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentRequest {
    pub account_id: String,
    /// In the provider's units.
    pub amount: i64,
    pub currency: Currency,
    pub application_fee: i64,
    pub metadata: Vec<(&'static str, String)>,
    pub idempotency_key: String,
}

/// Asks for money back on a connected account's PaymentIntent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub account_id: String,
    pub intent_id: String,
    /// In the provider's units.
    pub amount: i64,
    pub metadata: Vec<(&'static str, String)>,
    pub idempotency_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundState {
    pub id: String,
    pub amount: i64,
    /// `pending`, `succeeded`, `failed`, `canceled` or `requires_action`.
    pub status: String,
    pub metadata: std::collections::HashMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The provider could not be reached, timed out or failed on its side: try again later.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request; its message says why.
    #[error("the payment provider refused: {0}")]
    Refused(String),
    /// What it answered could not be read.
    #[error("unexpected answer from the payment provider: {0}")]
    Protocol(String),
}

/// Card payments through a provider with connected accounts (Stripe Connect).
#[async_trait]
pub trait CardGateway: Send + Sync {
    /// Creates a connected (Express) account for the store; `idempotency_key` makes a retry
    /// return the same account.
    async fn create_account(
        &self,
        email: Option<&str>,
        metadata: Vec<(&'static str, String)>,
        idempotency_key: &str,
    ) -> Result<AccountState, GatewayError>;
    async fn account(&self, id: &str) -> Result<AccountState, GatewayError>;
    /// A single-use onboarding link for the account.
    async fn account_link(
        &self,
        account_id: &str,
        return_url: &str,
        refresh_url: &str,
    ) -> Result<String, GatewayError>;
    async fn create_intent(&self, request: &IntentRequest) -> Result<Intent, GatewayError>;
    async fn intent(&self, account_id: &str, id: &str) -> Result<Intent, GatewayError>;
    async fn cancel_intent(&self, account_id: &str, id: &str) -> Result<Intent, GatewayError>;
    async fn create_refund(&self, request: &RefundRequest) -> Result<RefundState, GatewayError>;
}

//! [`CardGateway`] on Stripe through async-stripe (the modular 1.0 crates): Express connected
//! accounts and Account Links (`stripe_connect`), PaymentIntents and Refunds (`stripe_core`) as
//! direct charges on the store's account (`Stripe-Account` header), each create with an
//! idempotency key so a retry never charges or refunds twice.

use std::{collections::HashMap, str::FromStr, time::Duration};

use async_trait::async_trait;
use stripe::{AccountId, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_connect::{
    Account,
    account::{CreateAccount, CreateAccountType, RetrieveAccount},
    account_link::{CreateAccountLink, CreateAccountLinkType},
};
use stripe_core::{
    PaymentIntent, PaymentIntentStatus, Refund,
    payment_intent::{
        CancelPaymentIntent, CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods,
        RetrievePaymentIntent,
    },
    refund::CreateRefund,
};
use stripe_types::Currency;

use super::{
    AccountState, CardGateway, GatewayError, Intent, IntentRequest, IntentStatus, RefundRequest,
    RefundState,
};

/// How long one call to Stripe may take before we give up (and the caller retries later).
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct StripeGateway {
    client: stripe::Client,
}

impl StripeGateway {
    /// A client for the platform's secret key against `api_base` (Stripe's, or a fake's).
    pub fn new(secret_key: &str, api_base: &str) -> anyhow::Result<Self> {
        let client = stripe::ClientBuilder::new(secret_key)
            .url(api_base.trim_end_matches('/'))
            .timeout(TIMEOUT)
            .build()
            .map_err(|error| anyhow::anyhow!("building the Stripe client: {error}"))?;
        Ok(Self { client })
    }
}

fn key(raw: &str) -> Result<RequestStrategy, GatewayError> {
    IdempotencyKey::new(raw)
        .map(RequestStrategy::Idempotent)
        .map_err(|error| GatewayError::Protocol(format!("idempotency key: {error}")))
}

fn account_id(raw: &str) -> AccountId {
    AccountId::from(raw.to_owned())
}

fn metadata(pairs: &[(&'static str, String)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn error(error: StripeError) -> GatewayError {
    match error {
        StripeError::Stripe(details, status) if status < 500 && status != 429 => {
            GatewayError::Refused(
                details
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("HTTP {status}")),
            )
        }
        StripeError::Stripe(_, status) => GatewayError::Unavailable(format!("HTTP {status}")),
        StripeError::JSONDeserialize(message) => GatewayError::Protocol(message),
        StripeError::ClientError(message) | StripeError::ConfigError(message) => {
            GatewayError::Unavailable(message)
        }
        StripeError::Timeout => GatewayError::Unavailable("timed out".to_owned()),
    }
}

fn account_state(account: &Account) -> AccountState {
    AccountState {
        id: account.id.as_str().to_owned(),
        charges_enabled: account.charges_enabled.unwrap_or(false),
        payouts_enabled: account.payouts_enabled.unwrap_or(false),
        requirements_due: account
            .requirements
            .as_ref()
            .and_then(|r| r.currently_due.clone())
            .unwrap_or_default(),
    }
}

fn intent(intent: PaymentIntent) -> Intent {
    let status = match intent.status {
        PaymentIntentStatus::Succeeded => IntentStatus::Succeeded,
        PaymentIntentStatus::Canceled => IntentStatus::Canceled,
        PaymentIntentStatus::Processing | PaymentIntentStatus::RequiresCapture => {
            IntentStatus::Processing
        }
        _ => IntentStatus::AwaitingBuyer,
    };
    Intent {
        id: intent.id.as_str().to_owned(),
        status,
        amount: intent.amount,
        amount_received: intent.amount_received,
        currency: intent.currency.to_string(),
        client_secret: intent.client_secret,
        metadata: intent.metadata,
        last_error: intent.last_payment_error.and_then(|e| e.message),
    }
}

fn refund(refund: Refund) -> RefundState {
    RefundState {
        id: refund.id.as_str().to_owned(),
        amount: refund.amount,
        status: refund.status.unwrap_or_else(|| "pending".to_owned()),
        metadata: refund.metadata.unwrap_or_default(),
    }
}

#[async_trait]
impl CardGateway for StripeGateway {
    async fn create_account(
        &self,
        email: Option<&str>,
        pairs: Vec<(&'static str, String)>,
        idempotency_key: &str,
    ) -> Result<AccountState, GatewayError> {
        let mut request = CreateAccount::new()
            .type_(CreateAccountType::Express)
            .metadata(metadata(&pairs));
        if let Some(email) = email {
            request = request.email(email);
        }
        let account = request
            .customize()
            .request_strategy(key(idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(error)?;
        Ok(account_state(&account))
    }

    async fn account(&self, id: &str) -> Result<AccountState, GatewayError> {
        let account = RetrieveAccount::new(account_id(id))
            .send(&self.client)
            .await
            .map_err(error)?;
        Ok(account_state(&account))
    }

    async fn account_link(
        &self,
        account: &str,
        return_url: &str,
        refresh_url: &str,
    ) -> Result<String, GatewayError> {
        let link = CreateAccountLink::new(account, CreateAccountLinkType::AccountOnboarding)
            .return_url(return_url)
            .refresh_url(refresh_url)
            .send(&self.client)
            .await
            .map_err(error)?;
        Ok(link.url)
    }

    async fn create_intent(&self, request: &IntentRequest) -> Result<Intent, GatewayError> {
        let currency =
            Currency::from_str(&request.currency.code().to_lowercase()).map_err(|_| {
                GatewayError::Refused(format!(
                    "{} is not a Stripe currency",
                    request.currency.code()
                ))
            })?;
        let mut create = CreatePaymentIntent::new(request.amount, currency)
            .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods::new(true))
            .metadata(metadata(&request.metadata));
        if request.application_fee > 0 {
            create = create.application_fee_amount(request.application_fee);
        }
        create
            .customize()
            .account_id(account_id(&request.account_id))
            .request_strategy(key(&request.idempotency_key)?)
            .send(&self.client)
            .await
            .map(intent)
            .map_err(error)
    }

    async fn intent(&self, account: &str, id: &str) -> Result<Intent, GatewayError> {
        RetrievePaymentIntent::new(id)
            .customize()
            .account_id(account_id(account))
            .send(&self.client)
            .await
            .map(intent)
            .map_err(error)
    }

    async fn cancel_intent(&self, account: &str, id: &str) -> Result<Intent, GatewayError> {
        CancelPaymentIntent::new(id)
            .customize()
            .account_id(account_id(account))
            .send(&self.client)
            .await
            .map(intent)
            .map_err(error)
    }

    async fn create_refund(&self, request: &RefundRequest) -> Result<RefundState, GatewayError> {
        CreateRefund::new()
            .payment_intent(request.intent_id.as_str())
            .amount(request.amount)
            .metadata(metadata(&request.metadata))
            .customize()
            .account_id(account_id(&request.account_id))
            .request_strategy(key(&request.idempotency_key)?)
            .send(&self.client)
            .await
            .map(refund)
            .map_err(error)
    }
}

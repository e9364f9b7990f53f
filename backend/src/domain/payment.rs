//! Card payments in the domain's terms: the amount a payment provider charges for an order
//! (Stripe counts some currencies differently from ISO 4217), a store's connected account, one
//! payment attempt per order, and the provider events we have seen. Pure: no I/O.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use techverse_shared::{Currency, OrderId, StoreId};

/// Why an amount cannot be charged by card in its currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("{currency} card amounts must be a whole multiple of {step} minor units")]
    NotChargeable { currency: &'static str, step: i64 },
    #[error("the amount is out of range")]
    OutOfRange,
}

/// Stripe's exponent for a currency where it differs from ISO 4217, and the step an amount in
/// ISO minor units must be a multiple of. From Stripe's currency table: ISK is two-decimal
/// there (zero in ISO), MGA zero-decimal (two in ISO); the three-decimal currencies are charged
/// in ISO units but the last digit must be 0.
fn stripe_rule(currency: Currency) -> (u8, i64) {
    match currency.code() {
        "ISK" => (2, 1),
        "MGA" => (0, 100),
        "BHD" | "JOD" | "KWD" | "OMR" | "TND" => (3, 10),
        _ => (currency.exponent(), 1),
    }
}

/// The amount to send to Stripe for `minor` ISO minor units of `currency`.
pub fn to_stripe_amount(minor: i64, currency: Currency) -> Result<i64, AmountError> {
    let (exponent, step) = stripe_rule(currency);
    if minor < 0 {
        return Err(AmountError::OutOfRange);
    }
    if minor % step != 0 {
        return Err(AmountError::NotChargeable {
            currency: currency.code(),
            step,
        });
    }
    rescale(minor, currency.exponent(), exponent).ok_or(AmountError::OutOfRange)
}

/// ISO minor units of an amount Stripe reports, or `None` when it has no exact value there.
pub fn from_stripe_amount(amount: i64, currency: Currency) -> Option<i64> {
    let (exponent, _) = stripe_rule(currency);
    rescale(amount, exponent, currency.exponent())
}

fn rescale(amount: i64, from: u8, to: u8) -> Option<i64> {
    let factor = 10_i64.checked_pow(u32::from(from.abs_diff(to)))?;
    if to >= from {
        amount.checked_mul(factor)
    } else {
        (amount % factor == 0).then_some(amount / factor)
    }
}

/// The platform's fee on a charge, in the charge's own units, rounded down.
pub fn application_fee(amount: i64, fee_bps: u32) -> i64 {
    i64::try_from(i128::from(amount) * i128::from(fee_bps) / 10_000).unwrap_or(0)
}

/// A store's connected Stripe account, as Stripe last described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectedAccount {
    pub store_id: StoreId,
    pub account_id: String,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    pub requirements_due: Vec<String>,
    #[serde(with = "super::millis")]
    pub updated_at: Timestamp,
}

/// Where a payment attempt stands, as far as we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptState {
    /// Waiting for the buyer (or for Stripe's answer).
    Open,
    /// The order was paid with it.
    Succeeded,
    /// Cancelled (the order expired or was cancelled unpaid).
    Canceled,
    /// It succeeded after its order ended and the stock was gone: the money must go back.
    RefundDue,
    /// That money went back.
    Refunded,
}

impl AttemptState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Succeeded => "succeeded",
            Self::Canceled => "canceled",
            Self::RefundDue => "refund_due",
            Self::Refunded => "refunded",
        }
    }

    /// Whether the reconciler still has something to find out or do.
    pub const fn unsettled(self) -> bool {
        matches!(self, Self::Open | Self::RefundDue)
    }
}

/// The one PaymentIntent of an order (its idempotency key comes from the order id, so every
/// start or retry of the order's payment finds the same one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAttempt {
    pub store_id: StoreId,
    pub order_id: OrderId,
    pub intent_id: String,
    pub account_id: String,
    /// Handed to the buyer's browser (Stripe.js) to confirm the payment.
    pub client_secret: String,
    /// In Stripe's units for the currency.
    pub amount: i64,
    pub currency: Currency,
    pub state: AttemptState,
    /// The last failure the provider reported (a declined card), for the order page.
    pub last_error: Option<String>,
    #[serde(with = "super::millis")]
    pub created_at: Timestamp,
    #[serde(with = "super::millis")]
    pub updated_at: Timestamp,
    /// A reconciler holds the attempt until then.
    #[serde(with = "super::millis")]
    pub lease_until: Timestamp,
    pub version: i64,
}

/// A verified provider event, recorded by id before it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    pub id: String,
    pub kind: String,
    pub account: Option<String>,
    pub received_at: Timestamp,
}

/// What recording an event found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventRecord {
    /// First seen now.
    New,
    /// Seen before but not applied yet (the earlier delivery failed half-way): apply it.
    Unprocessed,
    /// Applied before: nothing to do.
    Processed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::from_code(code).unwrap_or_else(|_| unreachable!("known currency {code}"))
    }

    #[test]
    fn stripe_amounts_follow_its_currency_table() {
        // Two-decimal: as ISO.
        assert_eq!(to_stripe_amount(12_345, cur("USD")), Ok(12_345));
        assert_eq!(to_stripe_amount(150_000, cur("NGN")), Ok(150_000));
        // Zero-decimal in both.
        assert_eq!(to_stripe_amount(1_500, cur("JPY")), Ok(1_500));
        assert_eq!(to_stripe_amount(5_000, cur("XOF")), Ok(5_000));
        assert_eq!(to_stripe_amount(700, cur("UGX")), Ok(700));
        // ISK: ISO has no decimals, Stripe two.
        assert_eq!(to_stripe_amount(990, cur("ISK")), Ok(99_000));
        assert_eq!(from_stripe_amount(99_000, cur("ISK")), Some(990));
        // MGA: ISO two decimals, Stripe none, so whole ariary only.
        assert_eq!(to_stripe_amount(123_400, cur("MGA")), Ok(1_234));
        assert!(matches!(
            to_stripe_amount(123_450, cur("MGA")),
            Err(AmountError::NotChargeable { step: 100, .. })
        ));
        assert_eq!(from_stripe_amount(1_234, cur("MGA")), Some(123_400));
        // Three-decimal: the last digit must be zero.
        assert_eq!(to_stripe_amount(5_120, cur("KWD")), Ok(5_120));
        assert!(matches!(
            to_stripe_amount(5_125, cur("KWD")),
            Err(AmountError::NotChargeable { step: 10, .. })
        ));
        assert_eq!(
            to_stripe_amount(-1, cur("USD")),
            Err(AmountError::OutOfRange)
        );
        assert_eq!(from_stripe_amount(12_345, cur("USD")), Some(12_345));
    }

    #[test]
    fn every_chargeable_amount_comes_back_unchanged() {
        for code in ["USD", "JPY", "ISK", "MGA", "KWD", "BHD", "XAF", "EUR"] {
            for minor in [0, 100, 1_000, 123_400, 9_999_900] {
                if let Ok(sent) = to_stripe_amount(minor, cur(code)) {
                    assert_eq!(from_stripe_amount(sent, cur(code)), Some(minor), "{code}");
                }
            }
        }
    }

    #[test]
    fn the_platform_fee_rounds_down() {
        assert_eq!(application_fee(10_000, 250), 250);
        assert_eq!(application_fee(999, 100), 9);
        assert_eq!(application_fee(10_000, 0), 0);
    }
}

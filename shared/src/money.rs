//! Money: an integer count of minor units with its currency. Arithmetic is checked (overflow
//! and mixed currencies are errors, never wraps) and splitting uses largest-remainder
//! allocation, so no minor unit is ever lost or created.

use serde::{Deserialize, Serialize};

use crate::Currency;

/// An amount of money: an integer count of minor units of a currency. Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("the amounts are in different currencies ({0} and {1})")]
    CurrencyMismatch(Currency, Currency),
    #[error("the amount is out of range")]
    Overflow,
    #[error("cannot split an amount by weights that are all zero")]
    NoWeights,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    fn same_currency(self, other: Self) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }

    pub fn checked_add(self, other: Self) -> Result<Self, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Self::new(minor, self.currency))
    }

    pub fn checked_sub(self, other: Self) -> Result<Self, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Self::new(minor, self.currency))
    }

    /// The amount times a quantity.
    pub fn checked_mul(self, quantity: i64) -> Result<Self, MoneyError> {
        let minor = self
            .minor
            .checked_mul(quantity)
            .ok_or(MoneyError::Overflow)?;
        Ok(Self::new(minor, self.currency))
    }

    /// `basis_points / 10000` of the amount, rounded half away from zero to the minor unit.
    pub fn checked_bps(self, basis_points: u32) -> Result<Self, MoneyError> {
        let product = i128::from(self.minor) * i128::from(basis_points);
        let half = if product >= 0 { 5_000 } else { -5_000 };
        let minor = i64::try_from((product + half) / 10_000).map_err(|_| MoneyError::Overflow)?;
        Ok(Self::new(minor, self.currency))
    }

    /// Splits the amount in proportion to `weights` (largest-remainder method): the shares add
    /// up to the amount exactly, each within one minor unit of its exact proportion, and ties in
    /// the leftover go to the earliest weights.
    pub fn allocate(self, weights: &[u64]) -> Result<Vec<Self>, MoneyError> {
        let total_weight: u128 = weights.iter().map(|w| u128::from(*w)).sum();
        if total_weight == 0 {
            return Err(MoneyError::NoWeights);
        }
        let negative = self.minor < 0;
        let amount = u128::from(self.minor.unsigned_abs());
        let mut shares: Vec<u128> = Vec::with_capacity(weights.len());
        let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
        for (index, weight) in weights.iter().enumerate() {
            let exact = amount * u128::from(*weight);
            shares.push(exact / total_weight);
            remainders.push((exact % total_weight, index));
        }
        let given: u128 = shares.iter().sum();
        let mut leftover = amount - given;
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, index) in remainders {
            if leftover == 0 {
                break;
            }
            if weights[index] > 0 {
                shares[index] += 1;
                leftover -= 1;
            }
        }
        shares
            .into_iter()
            .map(|share| {
                let share = i64::try_from(share).map_err(|_| MoneyError::Overflow)?;
                Ok(Self::new(
                    if negative { -share } else { share },
                    self.currency,
                ))
            })
            .collect()
    }

    /// The amount as people read it: the currency's sign, grouped major units and the
    /// currency's decimals (`₦1,450,000.00`, `$12.50`, `¥1,200`, `-€3.05`, `KWD 1.250`).
    pub fn format(&self) -> String {
        let exponent = u32::from(self.currency.exponent());
        let scale = 10_u64.pow(exponent);
        let sign = if self.minor < 0 { "-" } else { "" };
        let magnitude = self.minor.unsigned_abs();
        let major = (magnitude / scale).to_string();
        let mut grouped = String::with_capacity(major.len() + major.len() / 3);
        for (index, digit) in major.chars().enumerate() {
            if index > 0 && (major.len() - index).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        let symbol = self.currency.symbol();
        let gap = if self.currency.symbol_is_code() {
            " "
        } else {
            ""
        };
        if exponent == 0 {
            format!("{sign}{symbol}{gap}{grouped}")
        } else {
            let minor = magnitude % scale;
            format!(
                "{sign}{symbol}{gap}{grouped}.{minor:0width$}",
                width = exponent as usize
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ngn(minor: i64) -> Money {
        Money::new(
            minor,
            Currency::from_code("NGN").unwrap_or_else(|_| unreachable!()),
        )
    }

    #[test]
    fn money_formats_from_minor_units_with_the_currency_exponent() {
        let of = |minor, code| {
            Money::new(
                minor,
                Currency::from_code(code).unwrap_or_else(|_| unreachable!()),
            )
            .format()
        };
        assert_eq!(of(145_000_000, "NGN"), "₦1,450,000.00");
        assert_eq!(of(1250, "USD"), "$12.50");
        assert_eq!(of(5, "USD"), "$0.05");
        assert_eq!(of(-123_456, "USD"), "-$1,234.56");
        assert_eq!(of(1200, "JPY"), "¥1,200");
        assert_eq!(of(999, "CAD"), "CA$9.99");
        assert_eq!(of(1_234_567, "KWD"), "KWD 1,234.567");
        assert_eq!(of(i64::MIN, "USD"), "-$92,233,720,368,547,758.08");
    }

    #[test]
    fn mixing_currencies_and_overflow_are_errors() {
        let usd = Money::new(
            1,
            Currency::from_code("USD").unwrap_or_else(|_| unreachable!()),
        );
        assert!(matches!(
            ngn(1).checked_add(usd),
            Err(MoneyError::CurrencyMismatch(..))
        ));
        assert_eq!(ngn(i64::MAX).checked_add(ngn(1)), Err(MoneyError::Overflow));
        assert_eq!(ngn(i64::MAX).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(ngn(1000).allocate(&[0, 0]), Err(MoneyError::NoWeights));
    }

    #[test]
    fn allocation_gives_leftovers_to_the_largest_remainders() {
        let shares: Vec<i64> = ngn(100)
            .allocate(&[1, 1, 1])
            .unwrap_or_default()
            .iter()
            .map(|m| m.minor)
            .collect();
        assert_eq!(shares, [34, 33, 33]);
        let shares: Vec<i64> = ngn(-100)
            .allocate(&[1, 1, 1])
            .unwrap_or_default()
            .iter()
            .map(|m| m.minor)
            .collect();
        assert_eq!(shares, [-34, -33, -33]);
        let shares: Vec<i64> = ngn(10)
            .allocate(&[0, 3, 7])
            .unwrap_or_default()
            .iter()
            .map(|m| m.minor)
            .collect();
        assert_eq!(shares, [0, 3, 7]);
        assert_eq!(ngn(1999).checked_bps(750).map(|m| m.minor), Ok(150));
        assert_eq!(ngn(-1999).checked_bps(750).map(|m| m.minor), Ok(-150));
    }

    proptest! {
        #[test]
        fn allocation_neither_loses_nor_creates_a_minor_unit(
            amount in -1_000_000_000_000_i64..1_000_000_000_000,
            weights in proptest::collection::vec(0_u64..1_000_000, 1..20),
        ) {
            prop_assume!(weights.iter().any(|w| *w > 0));
            let shares = ngn(amount).allocate(&weights).unwrap_or_default();
            prop_assert_eq!(shares.len(), weights.len());
            prop_assert_eq!(shares.iter().map(|m| m.minor).sum::<i64>(), amount);
            let total: i128 = weights.iter().map(|w| i128::from(*w)).sum();
            for (share, weight) in shares.iter().zip(&weights) {
                let exact = i128::from(amount) * i128::from(*weight);
                let scaled = i128::from(share.minor) * total;
                prop_assert!((scaled - exact).abs() < total, "share {} of weight {}", share.minor, weight);
                if *weight == 0 {
                    prop_assert_eq!(share.minor, 0);
                }
            }
        }

        #[test]
        fn adding_then_subtracting_gives_back_the_amount(a in any::<i64>(), b in any::<i64>()) {
            match ngn(a).checked_add(ngn(b)) {
                Ok(sum) => prop_assert_eq!(sum.checked_sub(ngn(b)), Ok(ngn(a))),
                Err(error) => {
                    prop_assert_eq!(error, MoneyError::Overflow);
                    prop_assert!(i128::from(a) + i128::from(b) > i128::from(i64::MAX) || i128::from(a) + i128::from(b) < i128::from(i64::MIN));
                }
            }
        }
    }
}

//! Pricing: line subtotals, a discount allocated across the lines it applies to, tax per line,
//! shipping, and the totals. Pure integer arithmetic on minor units; every step is checked.
//!
//! The invariant (DESIGN §4): `total = Σ line subtotals − Σ line discounts + shipping + tax`
//! when prices exclude tax, and `total = Σ subtotals − Σ discounts + shipping` when they include
//! it (the tax is then the part of that total which is tax). Shipping is not taxed.

use techverse_shared::{CategoryId, Currency, Money, MoneyError, ProductId, Totals};

use super::discount::{DiscountKind, DiscountScope};

/// One line to price: what the server's catalogue says now, never what a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceLine {
    pub product_id: ProductId,
    pub category_ids: Vec<CategoryId>,
    /// Minor units per unit.
    pub unit_price: i64,
    pub quantity: i64,
}

/// A discount reduced to what pricing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountRule {
    pub kind: DiscountKind,
    pub scope: DiscountScope,
}

/// How tax works for a priced cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxRule {
    /// Basis points: 750 = 7.5 %.
    pub rate_bps: u32,
    /// Prices already include the tax.
    pub inclusive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    /// `subtotal − discount`, plus tax when prices exclude it.
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub currency: Currency,
    pub lines: Vec<LineAmounts>,
    pub subtotal: i64,
    pub discount: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
    pub tax_included: bool,
}

impl Quote {
    pub fn totals(&self) -> Totals {
        let money = |minor| Money::new(minor, self.currency);
        Totals {
            subtotal: money(self.subtotal),
            discount: money(self.discount),
            shipping: money(self.shipping),
            tax: money(self.tax),
            total: money(self.total),
            tax_included: self.tax_included,
        }
    }

    /// Subtotal after discount: what "free shipping above" thresholds compare against.
    pub fn merchandise(&self) -> i64 {
        self.subtotal - self.discount
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("an amount is out of range")]
    Overflow,
    #[error("a quantity must be at least 1")]
    BadQuantity,
}

impl From<MoneyError> for PricingError {
    fn from(_: MoneyError) -> Self {
        Self::Overflow
    }
}

fn add(a: i64, b: i64) -> Result<i64, PricingError> {
    a.checked_add(b).ok_or(PricingError::Overflow)
}

impl DiscountScope {
    /// Whether a line's product falls under the scope.
    pub fn covers(&self, line: &PriceLine) -> bool {
        match self {
            Self::Order => true,
            Self::Products(ids) => ids.contains(&line.product_id),
            Self::Categories(ids) => line.category_ids.iter().any(|c| ids.contains(c)),
        }
    }
}

/// The discount each line gets: the rule's amount over the eligible lines' subtotal, split in
/// proportion to their subtotals (largest remainder), never more than a line's subtotal.
pub fn allocate_discount(
    currency: Currency,
    lines: &[PriceLine],
    subtotals: &[i64],
    rule: &DiscountRule,
) -> Result<Vec<i64>, PricingError> {
    let weights: Vec<u64> = lines
        .iter()
        .zip(subtotals)
        .map(|(line, subtotal)| {
            if rule.scope.covers(line) {
                u64::try_from(*subtotal).unwrap_or(0)
            } else {
                0
            }
        })
        .collect();
    let eligible: u64 = weights.iter().sum();
    if eligible == 0 {
        return Ok(vec![0; lines.len()]);
    }
    let eligible = Money::new(
        i64::try_from(eligible).map_err(|_| PricingError::Overflow)?,
        currency,
    );
    let amount = match rule.kind {
        DiscountKind::Percentage { bps } => eligible.checked_bps(bps.min(10_000))?,
        DiscountKind::FixedAmount { minor } => Money::new(minor.clamp(0, eligible.minor), currency),
    };
    Ok(amount
        .allocate(&weights)?
        .into_iter()
        .map(|m| m.minor)
        .collect())
}

/// The tax in `amount` (inclusive) or on `amount` (exclusive), rounded half away from zero.
pub fn line_tax(amount: i64, rule: TaxRule) -> Result<i64, PricingError> {
    if rule.rate_bps == 0 || amount == 0 {
        return Ok(0);
    }
    let amount = i128::from(amount);
    let bps = i128::from(rule.rate_bps);
    let tax = if rule.inclusive {
        // net = amount × 10000 / (10000 + bps), rounded; the tax is the rest.
        let denominator = 10_000 + bps;
        let net = (amount * 10_000 + denominator / 2) / denominator;
        amount - net
    } else {
        (amount * bps + 5_000) / 10_000
    };
    i64::try_from(tax).map_err(|_| PricingError::Overflow)
}

/// Prices lines with an optional discount, a shipping charge and a tax rule.
pub fn quote(
    currency: Currency,
    lines: &[PriceLine],
    discount: Option<&DiscountRule>,
    shipping: i64,
    tax: TaxRule,
) -> Result<Quote, PricingError> {
    let mut subtotals = Vec::with_capacity(lines.len());
    for line in lines {
        if line.quantity < 1 {
            return Err(PricingError::BadQuantity);
        }
        subtotals.push(
            line.unit_price
                .checked_mul(line.quantity)
                .ok_or(PricingError::Overflow)?,
        );
    }
    let discounts = match discount {
        Some(rule) => allocate_discount(currency, lines, &subtotals, rule)?,
        None => vec![0; lines.len()],
    };
    let mut amounts = Vec::with_capacity(lines.len());
    let (mut subtotal, mut discount_total, mut tax_total, mut lines_total) = (0, 0, 0, 0);
    for (line_subtotal, line_discount) in subtotals.iter().zip(&discounts) {
        let taxable = line_subtotal - line_discount;
        let line_tax = line_tax(taxable, tax)?;
        let total = if tax.inclusive {
            taxable
        } else {
            add(taxable, line_tax)?
        };
        subtotal = add(subtotal, *line_subtotal)?;
        discount_total = add(discount_total, *line_discount)?;
        tax_total = add(tax_total, line_tax)?;
        lines_total = add(lines_total, total)?;
        amounts.push(LineAmounts {
            subtotal: *line_subtotal,
            discount: *line_discount,
            tax: line_tax,
            total,
        });
    }
    let shipping = shipping.max(0);
    Ok(Quote {
        currency,
        lines: amounts,
        subtotal,
        discount: discount_total,
        shipping,
        tax: tax_total,
        total: add(lines_total, shipping)?,
        tax_included: tax.inclusive,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ngn() -> Currency {
        Currency::from_code("NGN").unwrap()
    }

    fn product(n: u128) -> ProductId {
        ProductId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn line(n: u128, unit_price: i64, quantity: i64) -> PriceLine {
        PriceLine {
            product_id: product(n),
            category_ids: Vec::new(),
            unit_price,
            quantity,
        }
    }

    const NO_TAX: TaxRule = TaxRule {
        rate_bps: 0,
        inclusive: false,
    };

    #[test]
    fn a_percentage_discount_is_split_across_lines_to_the_minor_unit() {
        let lines = [line(1, 333, 1), line(2, 333, 1), line(3, 334, 1)];
        let rule = DiscountRule {
            kind: DiscountKind::Percentage { bps: 1_000 },
            scope: DiscountScope::Order,
        };
        let quote = quote(ngn(), &lines, Some(&rule), 0, NO_TAX).unwrap();
        assert_eq!(quote.discount, 100);
        assert_eq!(
            quote.lines.iter().map(|l| l.discount).sum::<i64>(),
            quote.discount
        );
        assert_eq!(quote.total, 900);
    }

    #[test]
    fn a_fixed_discount_never_exceeds_what_it_applies_to() {
        let lines = [line(1, 500, 1), line(2, 10_000, 1)];
        let rule = DiscountRule {
            kind: DiscountKind::FixedAmount { minor: 5_000 },
            scope: DiscountScope::Products(vec![product(1)]),
        };
        let quote = quote(ngn(), &lines, Some(&rule), 0, NO_TAX).unwrap();
        assert_eq!(quote.lines[0].discount, 500);
        assert_eq!(quote.lines[1].discount, 0);
        assert_eq!(quote.total, 10_000);
    }

    #[test]
    fn exclusive_tax_is_added_per_line_and_inclusive_tax_is_inside_the_price() {
        let exclusive = TaxRule {
            rate_bps: 750,
            inclusive: false,
        };
        let q = quote(ngn(), &[line(1, 10_000, 1)], None, 1_500, exclusive).unwrap();
        assert_eq!((q.tax, q.total), (750, 12_250));
        let inclusive = TaxRule {
            rate_bps: 750,
            inclusive: true,
        };
        let q = quote(ngn(), &[line(1, 10_750, 1)], None, 1_500, inclusive).unwrap();
        assert_eq!((q.tax, q.total), (750, 12_250));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(
            quote(ngn(), &[line(1, i64::MAX, 2)], None, 0, NO_TAX),
            Err(PricingError::Overflow)
        );
        assert_eq!(
            quote(ngn(), &[line(1, 5, 0)], None, 0, NO_TAX),
            Err(PricingError::BadQuantity)
        );
    }

    fn scope() -> impl Strategy<Value = DiscountScope> {
        prop_oneof![
            Just(DiscountScope::Order),
            proptest::collection::vec(0_u128..6, 0..3)
                .prop_map(|ids| DiscountScope::Products(ids.into_iter().map(product).collect())),
        ]
    }

    fn kind() -> impl Strategy<Value = DiscountKind> {
        prop_oneof![
            (0_u32..=10_000).prop_map(|bps| DiscountKind::Percentage { bps }),
            (0_i64..5_000_000).prop_map(|minor| DiscountKind::FixedAmount { minor }),
        ]
    }

    proptest! {
        #[test]
        fn the_order_total_invariant_holds(
            raw in proptest::collection::vec((0_u128..6, 0_i64..10_000_000, 1_i64..50), 1..8),
            discount in proptest::option::of((kind(), scope())),
            shipping in 0_i64..1_000_000,
            rate_bps in 0_u32..3_000,
            inclusive in any::<bool>(),
        ) {
            let lines: Vec<PriceLine> = raw.iter().map(|(p, price, qty)| line(*p, *price, *qty)).collect();
            let rule = discount.map(|(kind, scope)| DiscountRule { kind, scope });
            let tax = TaxRule { rate_bps, inclusive };
            let q = quote(ngn(), &lines, rule.as_ref(), shipping, tax).unwrap();
            let line_subtotals: i64 = q.lines.iter().map(|l| l.subtotal).sum();
            let line_discounts: i64 = q.lines.iter().map(|l| l.discount).sum();
            let line_taxes: i64 = q.lines.iter().map(|l| l.tax).sum();
            prop_assert_eq!(line_subtotals, q.subtotal);
            prop_assert_eq!(line_discounts, q.discount);
            prop_assert_eq!(line_taxes, q.tax);
            let added_tax = if inclusive { 0 } else { q.tax };
            prop_assert_eq!(q.total, q.subtotal - q.discount + q.shipping + added_tax);
            prop_assert_eq!(q.lines.iter().map(|l| l.total).sum::<i64>() + q.shipping, q.total);
            for (amounts, line) in q.lines.iter().zip(&lines) {
                prop_assert!(amounts.discount >= 0 && amounts.discount <= amounts.subtotal);
                prop_assert!(amounts.tax >= 0);
                if let Some(rule) = &rule && !rule.scope.covers(line) {
                    prop_assert_eq!(amounts.discount, 0);
                }
            }
        }

        #[test]
        fn a_discount_allocation_loses_or_creates_no_minor_unit(
            raw in proptest::collection::vec((0_u128..6, 1_i64..1_000_000, 1_i64..20), 1..10),
            kind in kind(),
        ) {
            let lines: Vec<PriceLine> = raw.iter().map(|(p, price, qty)| line(*p, *price, *qty)).collect();
            let subtotals: Vec<i64> = lines.iter().map(|l| l.unit_price * l.quantity).collect();
            let rule = DiscountRule { kind, scope: DiscountScope::Order };
            let shares = allocate_discount(ngn(), &lines, &subtotals, &rule).unwrap();
            let eligible: i64 = subtotals.iter().sum();
            let expected = match kind {
                DiscountKind::Percentage { bps } => Money::new(eligible, ngn()).checked_bps(bps).unwrap().minor,
                DiscountKind::FixedAmount { minor } => minor.min(eligible),
            };
            prop_assert_eq!(shares.iter().sum::<i64>(), expected);
        }
    }
}

//! Discount codes: percentage or fixed amount, a minimum subtotal, a validity window, total and
//! per-customer usage limits and a scope (the whole order, some categories, some products).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use techverse_shared::{CategoryId, CustomerId, DiscountId, ProductId, StoreId};

use super::validation::ValidationErrors;

/// Whose use of a discount it is: `customer:<id>` for a signed-in customer, else
/// `email:<address>` (lower-case), so per-customer limits hold for guests too.
pub fn customer_key(customer: Option<CustomerId>, email: Option<&str>) -> Option<String> {
    match (customer, email) {
        (Some(id), _) => Some(format!("customer:{id}")),
        (None, Some(email)) => Some(format!("email:{}", email.trim().to_lowercase())),
        (None, None) => None,
    }
}

/// One counted use of a discount that an order gives back (it expired or was cancelled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnedUse {
    pub discount_id: DiscountId,
    /// As [`customer_key`] made it at checkout.
    pub customer_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DiscountKind {
    /// Basis points off: 1500 = 15 %.
    Percentage { bps: u32 },
    /// Minor units off (capped at what the discount applies to).
    FixedAmount { minor: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "ids", rename_all = "snake_case")]
pub enum DiscountScope {
    Order,
    Categories(Vec<CategoryId>),
    Products(Vec<ProductId>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Discount {
    pub id: DiscountId,
    pub store_id: StoreId,
    /// Upper-case; matched case-insensitively.
    pub code: String,
    pub kind: DiscountKind,
    pub scope: DiscountScope,
    /// Minor units the (pre-discount) subtotal must reach.
    pub min_subtotal: Option<i64>,
    #[schema(value_type = Option<i64>)]
    #[serde(default, with = "super::millis::option")]
    pub starts_at: Option<Timestamp>,
    #[schema(value_type = Option<i64>)]
    #[serde(default, with = "super::millis::option")]
    pub ends_at: Option<Timestamp>,
    pub usage_limit: Option<i64>,
    pub per_customer_limit: Option<i64>,
    /// Orders placed with the code so far (maintained by storage at checkout).
    pub used: i64,
    pub active: bool,
    #[schema(value_type = i64)]
    #[serde(with = "super::millis")]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountInput {
    pub code: String,
    pub kind: Option<DiscountKind>,
    #[serde(default)]
    pub scope: Option<DiscountScope>,
    #[serde(default)]
    pub min_subtotal: Option<i64>,
    #[serde(default)]
    pub starts_at: Option<Timestamp>,
    #[serde(default)]
    pub ends_at: Option<Timestamp>,
    #[serde(default)]
    pub usage_limit: Option<i64>,
    #[serde(default)]
    pub per_customer_limit: Option<i64>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// Why a code does not apply right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DiscountRefusal {
    #[error("the code is not active")]
    Inactive,
    #[error("the code is not valid yet")]
    NotStarted,
    #[error("the code has expired")]
    Expired,
    #[error("the code has been used up")]
    UsedUp,
    #[error("you have already used this code")]
    UsedByCustomer,
    #[error("the order does not reach the code's minimum subtotal")]
    BelowMinimum,
    #[error("the code applies to nothing in the cart")]
    NothingEligible,
}

impl DiscountRefusal {
    pub const fn code(self) -> &'static str {
        match self {
            Self::Inactive => "inactive",
            Self::NotStarted => "not_started",
            Self::Expired => "expired",
            Self::UsedUp => "used_up",
            Self::UsedByCustomer => "used_by_customer",
            Self::BelowMinimum => "below_minimum",
            Self::NothingEligible => "nothing_eligible",
        }
    }
}

/// A code as typed by a shopper, normalised: trimmed, upper-case.
pub fn normalise_code(code: &str) -> String {
    code.trim().to_uppercase()
}

impl Discount {
    pub fn parse(
        input: &DiscountInput,
        id: DiscountId,
        store_id: StoreId,
        existing: Option<&Self>,
        now: Timestamp,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let code = normalise_code(&input.code);
        if code.len() < 3
            || code.len() > 40
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            errors.add(
                "code",
                "invalid_code",
                "3 to 40 letters, digits, '-' or '_'",
            );
        }
        match input.kind {
            None => errors.add("kind", "required", "percentage or fixed_amount"),
            Some(DiscountKind::Percentage { bps }) if bps == 0 || bps > 10_000 => {
                errors.add("kind.bps", "out_of_range", "1 to 10000 basis points")
            }
            Some(DiscountKind::FixedAmount { minor }) if minor <= 0 => {
                errors.add("kind.minor", "out_of_range", "a positive amount")
            }
            Some(_) => {}
        }
        let scope = input.scope.clone().unwrap_or(DiscountScope::Order);
        match &scope {
            DiscountScope::Categories(ids) if ids.is_empty() => {
                errors.add("scope.ids", "required", "at least one category")
            }
            DiscountScope::Products(ids) if ids.is_empty() => {
                errors.add("scope.ids", "required", "at least one product")
            }
            _ => {}
        }
        if input.min_subtotal.is_some_and(|m| m < 0) {
            errors.add("min_subtotal", "out_of_range", "zero or more");
        }
        for (field, limit) in [
            ("usage_limit", input.usage_limit),
            ("per_customer_limit", input.per_customer_limit),
        ] {
            if limit.is_some_and(|l| l < 1) {
                errors.add(field, "out_of_range", "at least 1");
            }
        }
        if let (Some(start), Some(end)) = (input.starts_at, input.ends_at)
            && end <= start
        {
            errors.add("ends_at", "before_start", "must be after starts_at");
        }
        let kind = input.kind;
        errors.finish(kind.map(|kind| Self {
            id,
            store_id,
            code,
            kind,
            scope,
            min_subtotal: input.min_subtotal,
            starts_at: input.starts_at.map(super::truncate_to_millis),
            ends_at: input.ends_at.map(super::truncate_to_millis),
            usage_limit: input.usage_limit,
            per_customer_limit: input.per_customer_limit,
            used: existing.map_or(0, |d| d.used),
            active: input.active.unwrap_or(true),
            created_at: existing.map_or(now, |d| d.created_at),
        }))
    }

    /// Whether the code may be used now on a cart with this subtotal, by someone who has used
    /// it `customer_uses` times already.
    pub fn check(
        &self,
        now: Timestamp,
        subtotal: i64,
        customer_uses: i64,
    ) -> Result<(), DiscountRefusal> {
        if !self.active {
            return Err(DiscountRefusal::Inactive);
        }
        if self.starts_at.is_some_and(|start| now < start) {
            return Err(DiscountRefusal::NotStarted);
        }
        if self.ends_at.is_some_and(|end| now >= end) {
            return Err(DiscountRefusal::Expired);
        }
        if self.usage_limit.is_some_and(|limit| self.used >= limit) {
            return Err(DiscountRefusal::UsedUp);
        }
        if self
            .per_customer_limit
            .is_some_and(|limit| customer_uses >= limit)
        {
            return Err(DiscountRefusal::UsedByCustomer);
        }
        if self.min_subtotal.is_some_and(|min| subtotal < min) {
            return Err(DiscountRefusal::BelowMinimum);
        }
        Ok(())
    }

    pub fn rule(&self) -> super::pricing::DiscountRule {
        super::pricing::DiscountRule {
            kind: self.kind,
            scope: self.scope.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> DiscountInput {
        DiscountInput {
            code: " welcome10 ".into(),
            kind: Some(DiscountKind::Percentage { bps: 1_000 }),
            ..DiscountInput::default()
        }
    }

    fn parse(input: &DiscountInput) -> Result<Discount, ValidationErrors> {
        Discount::parse(
            input,
            DiscountId::from_uuid(uuid::Uuid::nil()),
            StoreId::from_uuid(uuid::Uuid::nil()),
            None,
            Timestamp::UNIX_EPOCH,
        )
    }

    #[test]
    fn codes_are_normalised_and_every_bad_field_is_reported() {
        assert_eq!(parse(&input()).unwrap().code, "WELCOME10");
        let bad = DiscountInput {
            code: "x".into(),
            kind: Some(DiscountKind::Percentage { bps: 20_000 }),
            usage_limit: Some(0),
            scope: Some(DiscountScope::Products(Vec::new())),
            ..DiscountInput::default()
        };
        let fields: Vec<String> = parse(&bad)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["code", "kind.bps", "scope.ids", "usage_limit"]);
    }

    #[test]
    fn window_limits_and_minimum_are_enforced() {
        let start = Timestamp::from_second(1_000).unwrap();
        let end = Timestamp::from_second(2_000).unwrap();
        let discount = parse(&DiscountInput {
            starts_at: Some(start),
            ends_at: Some(end),
            usage_limit: Some(2),
            per_customer_limit: Some(1),
            min_subtotal: Some(5_000),
            ..input()
        })
        .unwrap();
        let inside = Timestamp::from_second(1_500).unwrap();
        assert_eq!(discount.check(inside, 5_000, 0), Ok(()));
        assert_eq!(
            discount.check(Timestamp::from_second(999).unwrap(), 5_000, 0),
            Err(DiscountRefusal::NotStarted)
        );
        assert_eq!(discount.check(end, 5_000, 0), Err(DiscountRefusal::Expired));
        assert_eq!(
            discount.check(inside, 4_999, 0),
            Err(DiscountRefusal::BelowMinimum)
        );
        assert_eq!(
            discount.check(inside, 5_000, 1),
            Err(DiscountRefusal::UsedByCustomer)
        );
        let used_up = Discount {
            used: 2,
            ..discount
        };
        assert_eq!(
            used_up.check(inside, 5_000, 0),
            Err(DiscountRefusal::UsedUp)
        );
    }
}

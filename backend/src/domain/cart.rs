//! Carts: lines by variant and quantity, owned by a guest (through a secret token) or a
//! customer, expiring after inactivity. Prices are never stored as truth: each read reprices
//! the lines from the live catalogue ([`reconcile`]) and warns about what changed.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use techverse_shared::{
    CartId, CartLineId, CartWarning, CartWarningCode, CategoryId, Currency, CustomerId, Money,
    ProductId, StoreId, VariantId,
};

use super::pricing::PriceLine;

/// Most units of one variant in one cart.
pub const MAX_LINE_QUANTITY: i64 = 999;
/// Most lines in one cart.
pub const MAX_LINES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub id: CartLineId,
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub quantity: i64,
    /// The unit price the shopper last saw, to warn when it changes.
    pub seen_price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub id: CartId,
    pub store_id: StoreId,
    /// SHA-256 of the guest token (guest carts only).
    pub token_hash: Option<String>,
    pub customer_id: Option<CustomerId>,
    pub lines: Vec<CartLine>,
    pub discount_code: Option<String>,
    #[serde(with = "super::millis")]
    pub created_at: Timestamp,
    #[serde(with = "super::millis")]
    pub updated_at: Timestamp,
    #[serde(with = "super::millis")]
    pub expires_at: Timestamp,
    pub version: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    #[error("a quantity must be between 1 and {MAX_LINE_QUANTITY}")]
    BadQuantity,
    #[error("a cart holds at most {MAX_LINES} lines")]
    TooManyLines,
    #[error("no such line in this cart")]
    NoSuchLine,
}

impl Cart {
    pub fn new(
        id: CartId,
        store_id: StoreId,
        token_hash: Option<String>,
        customer_id: Option<CustomerId>,
        now: Timestamp,
        ttl: SignedDuration,
    ) -> Self {
        Self {
            id,
            store_id,
            token_hash,
            customer_id,
            lines: Vec::new(),
            discount_code: None,
            created_at: now,
            updated_at: now,
            expires_at: now + ttl,
            version: 0,
        }
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// Any use keeps the cart alive for another `ttl`.
    pub fn touch(&mut self, now: Timestamp, ttl: SignedDuration) {
        self.updated_at = now;
        self.expires_at = now + ttl;
    }

    /// Adds units of a variant; a variant already in the cart grows its line.
    pub fn add(
        &mut self,
        line_id: CartLineId,
        product_id: ProductId,
        variant_id: VariantId,
        quantity: i64,
        price: i64,
    ) -> Result<CartLineId, CartError> {
        if !(1..=MAX_LINE_QUANTITY).contains(&quantity) {
            return Err(CartError::BadQuantity);
        }
        if let Some(line) = self.lines.iter_mut().find(|l| l.variant_id == variant_id) {
            line.quantity = (line.quantity + quantity).min(MAX_LINE_QUANTITY);
            line.seen_price = price;
            return Ok(line.id);
        }
        if self.lines.len() >= MAX_LINES {
            return Err(CartError::TooManyLines);
        }
        self.lines.push(CartLine {
            id: line_id,
            product_id,
            variant_id,
            quantity,
            seen_price: price,
        });
        Ok(line_id)
    }

    pub fn set_quantity(&mut self, line: CartLineId, quantity: i64) -> Result<(), CartError> {
        if !(1..=MAX_LINE_QUANTITY).contains(&quantity) {
            return Err(CartError::BadQuantity);
        }
        let line = self
            .lines
            .iter_mut()
            .find(|l| l.id == line)
            .ok_or(CartError::NoSuchLine)?;
        line.quantity = quantity;
        Ok(())
    }

    pub fn remove(&mut self, line: CartLineId) -> Result<(), CartError> {
        let before = self.lines.len();
        self.lines.retain(|l| l.id != line);
        if self.lines.len() == before {
            return Err(CartError::NoSuchLine);
        }
        Ok(())
    }

    /// Moves a guest cart's lines into this (the customer's) cart: quantities of a variant in
    /// both add up (capped), the guest's discount code is kept if this cart has none.
    pub fn merge(&mut self, guest: &Self) {
        for line in &guest.lines {
            if let Some(mine) = self
                .lines
                .iter_mut()
                .find(|l| l.variant_id == line.variant_id)
            {
                mine.quantity = (mine.quantity + line.quantity).min(MAX_LINE_QUANTITY);
            } else if self.lines.len() < MAX_LINES {
                self.lines.push(line.clone());
            }
        }
        if self.discount_code.is_none() {
            self.discount_code.clone_from(&guest.discount_code);
        }
    }
}

/// A variant as the live catalogue has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveVariant {
    pub product_id: ProductId,
    pub slug: String,
    pub title: String,
    pub variant_title: String,
    pub sku: String,
    pub image: Option<String>,
    pub category_ids: Vec<CategoryId>,
    pub price: i64,
    /// `None`: inventory not tracked.
    pub available: Option<i64>,
    /// The product is active and the variant exists.
    pub sellable: bool,
}

/// A cart line that can be bought now, at the live price and a quantity that is available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub line: CartLine,
    pub live: LiveVariant,
}

impl PricedLine {
    pub fn price_line(&self) -> PriceLine {
        PriceLine {
            product_id: self.live.product_id,
            category_ids: self.live.category_ids.clone(),
            unit_price: self.live.price,
            quantity: self.line.quantity,
        }
    }
}

/// Reprices a cart from the live catalogue. Lines that cannot be bought are left out of the
/// result with a warning; a line asking for more than is available is cut down to what is.
/// The cart's lines are updated in place (seen prices and reduced quantities), so the same
/// warning is not repeated on the next read; lines that vanished stay for the shopper to remove.
pub fn reconcile(
    cart: &mut Cart,
    currency: Currency,
    mut lookup: impl FnMut(&CartLine) -> Option<LiveVariant>,
) -> (Vec<PricedLine>, Vec<CartWarning>) {
    let mut priced = Vec::new();
    let mut warnings = Vec::new();
    for line in &mut cart.lines {
        let found = lookup(line);
        let sku = found.as_ref().map(|live| live.sku.clone());
        let warn = |code, message: &str, previous_price, available| CartWarning {
            code,
            line_id: Some(line.id),
            sku: sku.clone(),
            message: message.to_owned(),
            previous_price,
            available,
        };
        let Some(live) = found.filter(|live| live.sellable) else {
            warnings.push(warn(
                CartWarningCode::Unavailable,
                "this item is no longer sold",
                None,
                None,
            ));
            continue;
        };
        if live.price != line.seen_price {
            warnings.push(warn(
                CartWarningCode::PriceChanged,
                "the price has changed",
                Some(Money::new(line.seen_price, currency)),
                None,
            ));
            line.seen_price = live.price;
        }
        match live.available {
            Some(0) => {
                warnings.push(warn(
                    CartWarningCode::OutOfStock,
                    "this item is out of stock",
                    None,
                    Some(0),
                ));
                continue;
            }
            Some(units) if units < line.quantity => {
                warnings.push(warn(
                    CartWarningCode::QuantityReduced,
                    "fewer units are available than you asked for",
                    None,
                    Some(units),
                ));
                line.quantity = units;
            }
            _ => {}
        }
        priced.push(PricedLine {
            line: line.clone(),
            live,
        });
    }
    (priced, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cart() -> Cart {
        Cart::new(
            CartId::from_uuid(uuid::Uuid::nil()),
            StoreId::from_uuid(uuid::Uuid::nil()),
            None,
            None,
            Timestamp::UNIX_EPOCH,
            SignedDuration::from_hours(1),
        )
    }

    fn live(price: i64, available: Option<i64>) -> LiveVariant {
        LiveVariant {
            product_id: ProductId::from_uuid(uuid::Uuid::from_u128(1)),
            slug: "phone".into(),
            title: "Phone".into(),
            variant_title: String::new(),
            sku: "P-1".into(),
            image: None,
            category_ids: Vec::new(),
            price,
            available,
            sellable: true,
        }
    }

    fn add(cart: &mut Cart, variant: u128, quantity: i64, price: i64) -> CartLineId {
        cart.add(
            CartLineId::from_uuid(uuid::Uuid::now_v7()),
            ProductId::from_uuid(uuid::Uuid::from_u128(1)),
            VariantId::from_uuid(uuid::Uuid::from_u128(variant)),
            quantity,
            price,
        )
        .unwrap()
    }

    #[test]
    fn the_same_variant_grows_one_line_and_quantities_are_bounded() {
        let mut cart = cart();
        let first = add(&mut cart, 7, 2, 100);
        let again = add(&mut cart, 7, 3, 100);
        assert_eq!(first, again);
        assert_eq!(cart.lines[0].quantity, 5);
        assert_eq!(cart.set_quantity(first, 0), Err(CartError::BadQuantity));
        assert_eq!(
            cart.set_quantity(CartLineId::from_uuid(uuid::Uuid::nil()), 1),
            Err(CartError::NoSuchLine)
        );
        cart.remove(first).unwrap();
        assert!(cart.lines.is_empty());
    }

    #[test]
    fn reconciling_warns_once_about_price_stock_and_vanished_items() {
        let ngn = Currency::from_code("NGN").unwrap();
        let mut cart = cart();
        add(&mut cart, 1, 2, 100);
        add(&mut cart, 2, 5, 100);
        add(&mut cart, 3, 1, 100);
        add(&mut cart, 4, 1, 100);
        let lookup = |line: &CartLine| match line.variant_id {
            v if v == VariantId::from_uuid(uuid::Uuid::from_u128(1)) => Some(live(120, None)),
            v if v == VariantId::from_uuid(uuid::Uuid::from_u128(2)) => Some(live(100, Some(3))),
            v if v == VariantId::from_uuid(uuid::Uuid::from_u128(3)) => Some(live(100, Some(0))),
            _ => None,
        };
        let (priced, warnings) = reconcile(&mut cart, ngn, lookup);
        let codes: Vec<CartWarningCode> = warnings.iter().map(|w| w.code).collect();
        assert_eq!(
            codes,
            [
                CartWarningCode::PriceChanged,
                CartWarningCode::QuantityReduced,
                CartWarningCode::OutOfStock,
                CartWarningCode::Unavailable
            ]
        );
        assert_eq!(priced.len(), 2);
        assert_eq!(priced[1].line.quantity, 3);
        let (_, again) = reconcile(&mut cart, ngn, lookup);
        let codes: Vec<CartWarningCode> = again.iter().map(|w| w.code).collect();
        assert_eq!(
            codes,
            [CartWarningCode::OutOfStock, CartWarningCode::Unavailable]
        );
    }

    #[test]
    fn a_guest_cart_merges_into_the_customers() {
        let mut mine = cart();
        add(&mut mine, 1, 2, 100);
        let mut guest = cart();
        add(&mut guest, 1, 3, 100);
        add(&mut guest, 2, 1, 100);
        guest.discount_code = Some("WELCOME".into());
        mine.merge(&guest);
        assert_eq!(mine.lines.len(), 2);
        assert_eq!(mine.lines[0].quantity, 5);
        assert_eq!(mine.discount_code.as_deref(), Some("WELCOME"));
    }
}

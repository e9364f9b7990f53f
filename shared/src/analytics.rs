//! The merchant dashboard's figures (`GET /api/v1/admin/stores/{store}/analytics`).
//!
//! Every figure covers the orders *placed* in the window, counted in the store's time zone:
//! a sale is an order whose payment was taken (paid, partly or wholly refunded since), and
//! refunds are what was given back on those sales.

use serde::{Deserialize, Serialize};

use crate::{Money, OrderStatus, ProductId, VariantId};

/// How finely the sales series is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AnalyticsInterval {
    Day,
    Hour,
}

impl AnalyticsInterval {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Hour => "hour",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        [Self::Day, Self::Hour]
            .into_iter()
            .find(|i| i.as_str() == input)
    }
}

/// Totals over the whole window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalesTotals {
    /// Orders placed, except those that ended unpaid (cancelled before payment or expired).
    pub orders: i64,
    /// Orders whose payment was taken.
    pub paid_orders: i64,
    pub gross_sales: Money,
    pub refunds: Money,
    /// Gross sales less refunds.
    pub net_sales: Money,
    /// Gross sales per paid order, rounded down to the minor unit (zero without sales).
    pub average_order_value: Money,
}

/// One step of the sales series: the orders placed from `start` (inclusive) to the next
/// point's start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalesPoint {
    /// The step's start, an RFC 3339 instant with the store's offset (`2026-11-30T00:00:00+01:00`).
    pub start: String,
    pub orders: i64,
    pub paid_orders: i64,
    pub gross_sales: Money,
    pub refunds: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusCount {
    pub status: OrderStatus,
    pub orders: i64,
}

/// A best seller of the window, by revenue (line totals of its sales).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopProduct {
    pub product_id: ProductId,
    /// The title the product had on its latest sale.
    pub title: String,
    pub quantity: i64,
    pub revenue: Money,
}

/// A tracked variant of an active product at or below its low-stock threshold (now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LowStockVariant {
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub product_title: String,
    pub variant_title: String,
    pub sku: String,
    pub available: i64,
    pub threshold: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Analytics {
    /// First local day of the window (`YYYY-MM-DD`, the store's time zone).
    pub from: String,
    /// Last local day of the window, inclusive.
    pub to: String,
    pub interval: AnalyticsInterval,
    pub timezone: String,
    pub totals: SalesTotals,
    /// One point per day or hour of the window, empty ones included, oldest first.
    pub series: Vec<SalesPoint>,
    /// Orders placed in the window by their status now (every status, zeros included).
    pub by_status: Vec<StatusCount>,
    /// At most five products, best revenue first.
    pub top_products: Vec<TopProduct>,
    /// At most ten variants, least available first.
    pub low_stock: Vec<LowStockVariant>,
}

//! The permission catalogue and role names of per-store access control. Checks are always by
//! permission; a role is only a named set of permissions.

use serde::{Deserialize, Serialize};

/// One thing a staff member may do in a store. The wire form is `area.verb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Permission {
    #[serde(rename = "products.read")]
    ProductsRead,
    #[serde(rename = "products.write")]
    ProductsWrite,
    #[serde(rename = "orders.read")]
    OrdersRead,
    #[serde(rename = "orders.write")]
    OrdersWrite,
    #[serde(rename = "orders.refund")]
    OrdersRefund,
    #[serde(rename = "customers.read")]
    CustomersRead,
    #[serde(rename = "discounts.write")]
    DiscountsWrite,
    #[serde(rename = "settings.write")]
    SettingsWrite,
    #[serde(rename = "staff.manage")]
    StaffManage,
    #[serde(rename = "webhooks.manage")]
    WebhooksManage,
    #[serde(rename = "audit.read")]
    AuditRead,
}

impl Permission {
    /// The whole catalogue, in display order.
    pub const ALL: [Self; 11] = [
        Self::ProductsRead,
        Self::ProductsWrite,
        Self::OrdersRead,
        Self::OrdersWrite,
        Self::OrdersRefund,
        Self::CustomersRead,
        Self::DiscountsWrite,
        Self::SettingsWrite,
        Self::StaffManage,
        Self::WebhooksManage,
        Self::AuditRead,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ProductsRead => "products.read",
            Self::ProductsWrite => "products.write",
            Self::OrdersRead => "orders.read",
            Self::OrdersWrite => "orders.write",
            Self::OrdersRefund => "orders.refund",
            Self::CustomersRead => "customers.read",
            Self::DiscountsWrite => "discounts.write",
            Self::SettingsWrite => "settings.write",
            Self::StaffManage => "staff.manage",
            Self::WebhooksManage => "webhooks.manage",
            Self::AuditRead => "audit.read",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == input)
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_round_trips_through_its_wire_form() {
        for permission in Permission::ALL {
            let json = serde_json::to_value(permission).unwrap_or_default();
            assert_eq!(json, permission.as_str());
            assert_eq!(Permission::parse(permission.as_str()), Some(permission));
        }
        assert_eq!(Permission::parse("superadmin"), None);
    }
}

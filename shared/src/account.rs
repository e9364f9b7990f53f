//! Request and response shapes of sign-up, sessions, accounts, staff and the audit log.

use serde::{Deserialize, Serialize};

use crate::{
    AddressId, AuditEntryId, CountryCode, CustomerId, Permission, RoleId, StoreProfile,
    StoreStatus, UserId,
};

/// The answer of every login and refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Present for API clients; browsers that asked for the cookie get it there instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// A staff account as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffUserView {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub email_verified: bool,
    pub platform_admin: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: crate::Instant,
}

/// One store a staff user belongs to, with what they may do there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyStore {
    pub store: StoreProfile,
    pub status: StoreStatus,
    pub role: String,
    pub permissions: Vec<Permission>,
    /// Which staff mail this member receives from the store.
    #[serde(default)]
    pub notifications: StaffNotifications,
}

/// A staff member's mail from one store (both on unless turned off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffNotifications {
    /// A mail for each new order (needs `orders.read`).
    pub new_order: bool,
    /// A mail when a variant runs low (needs `products.write`).
    pub low_stock: bool,
}

impl Default for StaffNotifications {
    fn default() -> Self {
        Self {
            new_order: true,
            low_stock: true,
        }
    }
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeResponse {
    pub user: StaffUserView,
    pub stores: Vec<MyStore>,
}

/// A customer account as its owner (or the store's staff) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerView {
    pub id: CustomerId,
    pub email: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub email_verified: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: crate::Instant,
}

/// A page of a store's customers for its staff, by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerPage {
    pub items: Vec<CustomerView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One customer as the store's staff see them: profile, saved addresses, latest orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerDetail {
    pub customer: CustomerView,
    pub addresses: Vec<AddressView>,
    /// The newest orders (a page; the orders list filtered by `customer_id` has the rest).
    pub orders: crate::OrderPage,
}

/// A postal address. Any country; the postal code is free-form and optional, since many
/// countries (Nigeria among them) do not use one everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddressView {
    pub id: AddressId,
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    pub country: CountryCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub is_default: bool,
}

/// A member of a store's staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    /// `owner`, `admin`, `staff`, or a custom role's id.
    pub role: String,
    pub role_name: String,
    pub permissions: Vec<Permission>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub joined_at: crate::Instant,
}

/// An invitation to a store's staff that has not been accepted yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationView {
    pub id: crate::InvitationId,
    pub email: String,
    /// `owner`, `admin`, `staff`, or a custom role's id.
    pub role: String,
    pub role_name: String,
    pub invited_by: UserId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: crate::Instant,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: crate::Instant,
}

/// A role: one of the three built in, or a store's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleView {
    /// `owner`, `admin`, `staff`, or the custom role's id.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RoleId>,
    pub name: String,
    pub built_in: bool,
    pub permissions: Vec<Permission>,
}

/// Who did something recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditActor {
    pub user_id: UserId,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntryView {
    pub id: AuditEntryId,
    pub actor: AuditActor,
    /// Stable dotted name, e.g. `staff.role_changed`.
    pub action: String,
    /// What was acted on, e.g. `user:<id>` or `store`.
    pub target: String,
    /// The change, field by field.
    pub summary: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: crate::Instant,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub items: Vec<AuditEntryView>,
    /// Pass as `cursor` to get the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

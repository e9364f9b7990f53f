//! One id type per entity, so a `StoreId` can never be passed where a `UserId` is expected.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

id_type!(
    /// Identifies a store (the tenant). Stable for the store's lifetime, unlike its slug.
    StoreId,
    /// A staff (merchant) account: a platform-level user with memberships in stores.
    UserId,
    /// A shopper account, which belongs to exactly one store.
    CustomerId,
    /// One saved address of a customer.
    AddressId,
    /// A custom role defined by one store.
    RoleId,
    /// One entry of a store's audit log.
    AuditEntryId,
    /// A product of one store's catalogue.
    ProductId,
    /// One purchasable combination of a product's options (its own SKU, price and stock).
    VariantId,
    /// A category in a store's category tree.
    CategoryId,
    /// A shopping cart (a guest's or a customer's).
    CartId,
    /// One line of a cart.
    CartLineId,
    /// An order.
    OrderId,
    /// One line of an order.
    OrderLineId,
    /// A discount code of one store.
    DiscountId,
    /// A shipping zone of one store (countries, optional regions, tax rate, methods).
    ShippingZoneId,
    /// One shipping method of a zone.
    ShippingMethodId,
    /// A fulfilment (shipment) of some order lines.
    FulfilmentId,
    /// A refund recorded on an order.
    RefundId,
    /// A customer's review of a product.
    ReviewId,
    /// One event of a store's event log (consumers de-duplicate by it).
    EventId,
    /// A pending staff invitation (the token itself is never shown again).
    InvitationId,
    /// A merchant webhook endpoint of one store.
    WebhookId,
    /// One event's delivery to one webhook endpoint (retries are attempts of it).
    WebhookDeliveryId,
);

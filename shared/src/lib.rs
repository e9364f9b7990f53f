//! Types shared by the TechVerse backend and the Leptos frontend.
//!
//! Everything here compiles for `wasm32-unknown-unknown`: serde, thiserror and pure code only.

pub mod access;
pub mod account;
pub mod analytics;
pub mod catalog;
pub mod commerce;
pub mod country;
pub mod currency;
pub mod error;
pub mod ids;
pub mod money;
pub mod store;
pub mod time;

pub use access::Permission;
pub use account::{
    AddressView, AuditActor, AuditEntryView, AuditPage, CustomerDetail, CustomerPage, CustomerView,
    InvitationView, MeResponse, MemberView, MyStore, RoleView, StaffNotifications, StaffUserView,
    TokenResponse,
};
pub use analytics::{
    Analytics, AnalyticsInterval, LowStockVariant, SalesPoint, SalesTotals, StatusCount, TopProduct,
};
pub use catalog::{
    CategoryNode, FacetValue, Facets, ImageView, OptionView, ProductDetail, ProductPage,
    ProductStatus, ProductSummary, RatingView, SpecFacet, SpecGroupView, SpecView, VariantView,
};
pub use commerce::{
    CartLineView, CartView, CartWarning, CartWarningCode, FulfilledLine, FulfilmentView,
    OrderAction, OrderActorView, OrderAddress, OrderFlagView, OrderLineView, OrderNoteView,
    OrderPage, OrderStatus, OrderSummaryView, OrderView, PaymentMethod, PaymentStatus, PaymentView,
    RatingSummary, RefundView, ReviewPage, ReviewStatus, ReviewView, ShippingChoiceView,
    ShippingKind, ShippingMethodView, ShortLine, Totals, TransitionView,
};
pub use country::{CountryCode, UnknownCountry};
pub use currency::{Currency, UnknownCurrency};
pub use error::{ApiError, ApiErrorBody, ErrorCode, FieldError};
pub use ids::{
    AddressId, AuditEntryId, CartId, CartLineId, CategoryId, CustomerId, DiscountId, EventId,
    FulfilmentId, InvitationId, OrderId, OrderLineId, ProductId, RefundId, ReviewId, RoleId,
    ShippingMethodId, ShippingZoneId, StoreId, UserId, VariantId, WebhookDeliveryId, WebhookId,
};
pub use money::{Money, MoneyError};
pub use store::{PlatformStore, StorePage, StoreProfile, StoreSlug, StoreSlugError, StoreStatus};
pub use time::Instant;

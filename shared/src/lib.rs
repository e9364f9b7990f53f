//! Types shared by the TechVerse backend and the Leptos frontend.
//!
//! Everything here compiles for `wasm32-unknown-unknown`: serde, thiserror and pure code only.

pub mod country;
pub mod currency;
pub mod error;
pub mod ids;
pub mod store;

pub use country::{CountryCode, UnknownCountry};
pub use currency::{Currency, UnknownCurrency};
pub use error::{ApiError, ApiErrorBody, ErrorCode, FieldError};
pub use ids::StoreId;
pub use store::{PlatformStore, StorePage, StoreProfile, StoreSlug, StoreSlugError, StoreStatus};

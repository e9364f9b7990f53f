//! Instants on the wire are RFC 3339 text. The server works with them as `jiff::Timestamp`
//! (feature `jiff`, which the backend turns on); the storefront only shows what it receives, so
//! without the feature an instant stays its text and the wasm carries no date parser.

#[cfg(feature = "jiff")]
pub type Instant = jiff::Timestamp;

/// An instant as the server sent it (RFC 3339, UTC).
#[cfg(not(feature = "jiff"))]
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
#[serde(transparent)]
pub struct Instant(pub String);

//! Stores (tenants): the slug that names one in URLs, its status and its public profile.

use serde::{Deserialize, Deserializer, Serialize};

use crate::{Currency, StoreId, country::CountryCode};

/// Words that can never be a store slug: they name platform routes, hosts or would mislead.
pub const RESERVED_SLUGS: &[&str] = &[
    "about",
    "account",
    "accounts",
    "admin",
    "administrator",
    "api",
    "app",
    "apps",
    "assets",
    "auth",
    "billing",
    "blog",
    "cdn",
    "checkout",
    "dashboard",
    "dev",
    "docs",
    "help",
    "health",
    "login",
    "logout",
    "mail",
    "media",
    "metrics",
    "new",
    "null",
    "platform",
    "ready",
    "root",
    "security",
    "settings",
    "shop",
    "signin",
    "signup",
    "static",
    "staging",
    "status",
    "store",
    "stores",
    "support",
    "system",
    "techverse",
    "test",
    "undefined",
    "www",
    "ws",
];

/// A validated store slug: 3–40 characters of `a-z`, `0-9` and single hyphens, starting and
/// ending with a letter or digit, and not a reserved word.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 3, max_length = 40, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", example = "demo"))]
#[serde(transparent)]
pub struct StoreSlug(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoreSlugError {
    #[error("a store slug has at least 3 characters")]
    TooShort,
    #[error("a store slug has at most 40 characters")]
    TooLong,
    #[error("a store slug uses only lowercase letters, digits and hyphens")]
    InvalidCharacter,
    #[error("a store slug starts and ends with a letter or digit and has no double hyphen")]
    MisplacedHyphen,
    #[error("this word is reserved and cannot be a store slug")]
    Reserved,
}

impl StoreSlugError {
    /// Stable reason code for `validation_failed` details.
    pub const fn code(self) -> &'static str {
        match self {
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::InvalidCharacter => "invalid_character",
            Self::MisplacedHyphen => "misplaced_hyphen",
            Self::Reserved => "reserved",
        }
    }
}

impl StoreSlug {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 40;

    pub fn parse(input: &str) -> Result<Self, StoreSlugError> {
        if input.len() < Self::MIN_LEN {
            return Err(StoreSlugError::TooShort);
        }
        if input.len() > Self::MAX_LEN {
            return Err(StoreSlugError::TooLong);
        }
        if !input
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(StoreSlugError::InvalidCharacter);
        }
        if input.starts_with('-') || input.ends_with('-') || input.contains("--") {
            return Err(StoreSlugError::MisplacedHyphen);
        }
        if RESERVED_SLUGS.contains(&input) {
            return Err(StoreSlugError::Reserved);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for StoreSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for StoreSlug {
    type Err = StoreSlugError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for StoreSlug {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Whether a store is open. A suspended store's storefront is a 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StoreStatus {
    Active,
    Suspended,
}

impl StoreStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

/// What anyone may see of a store: `GET /api/v1/stores/{store}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoreProfile {
    pub id: StoreId,
    pub slug: StoreSlug,
    pub name: String,
    pub currency: Currency,
    /// Minor-unit exponent of `currency`, so a client can format prices without a table.
    pub currency_exponent: u8,
    pub country: CountryCode,
    pub timezone: String,
    /// Plain text the store tells shoppers about itself (empty when unset).
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
}

/// A store as the platform operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlatformStore {
    #[serde(flatten)]
    pub profile: StoreProfile,
    pub status: StoreStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: crate::Instant,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: crate::Instant,
}

/// A page of stores, in slug order. Pass `next_after` as `after` to get the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StorePage {
    pub items: Vec<PlatformStore>,
    pub next_after: Option<StoreSlug>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_slugs_are_accepted() {
        for ok in [
            "demo",
            "abc",
            "tech-hub-lagos",
            "shop2",
            "a1b",
            &"x".repeat(40),
        ] {
            assert!(StoreSlug::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn bad_slugs_are_refused_with_a_reason() {
        let cases = [
            ("ab", StoreSlugError::TooShort),
            (&*"x".repeat(41), StoreSlugError::TooLong),
            ("Demo", StoreSlugError::InvalidCharacter),
            ("my_store", StoreSlugError::InvalidCharacter),
            ("café", StoreSlugError::InvalidCharacter),
            ("-demo", StoreSlugError::MisplacedHyphen),
            ("demo-", StoreSlugError::MisplacedHyphen),
            ("de--mo", StoreSlugError::MisplacedHyphen),
            ("admin", StoreSlugError::Reserved),
            ("api", StoreSlugError::Reserved),
        ];
        for (input, expected) in cases {
            assert_eq!(StoreSlug::parse(input), Err(expected), "{input}");
        }
    }

    #[test]
    fn the_reserved_list_has_no_duplicates() {
        let mut words = RESERVED_SLUGS.to_vec();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), RESERVED_SLUGS.len());
    }

    proptest! {
        #[test]
        fn any_accepted_slug_satisfies_every_rule(input in "[a-z0-9-]{0,45}|.{0,45}") {
            if let Ok(slug) = StoreSlug::parse(&input) {
                let s = slug.as_str();
                prop_assert!((3..=40).contains(&s.len()));
                prop_assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
                prop_assert!(!s.starts_with('-') && !s.ends_with('-') && !s.contains("--"));
                prop_assert!(!RESERVED_SLUGS.contains(&s));
            }
        }

        #[test]
        fn a_slug_round_trips_through_json(input in "[a-z0-9]{3,40}") {
            if let Ok(slug) = StoreSlug::parse(&input) {
                let json = serde_json::to_string(&slug).unwrap();
                prop_assert_eq!(serde_json::from_str::<StoreSlug>(&json).unwrap(), slug);
            }
        }
    }
}

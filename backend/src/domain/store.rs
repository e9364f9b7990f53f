//! The store (tenant) aggregate and the rules for opening one.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use techverse_shared::{CountryCode, Currency, StoreId, StoreProfile, StoreSlug, StoreStatus};

use super::validation::ValidationErrors;

/// A store's display name: 1–100 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoreNameError {
    #[error("a store name cannot be empty")]
    Empty,
    #[error("a store name has at most 100 characters")]
    TooLong,
    #[error("a store name cannot contain control characters")]
    ControlCharacter,
}

impl StoreNameError {
    pub const fn code(self) -> &'static str {
        match self {
            Self::Empty => "required",
            Self::TooLong => "too_long",
            Self::ControlCharacter => "invalid_character",
        }
    }
}

impl StoreName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(input: &str) -> Result<Self, StoreNameError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(StoreNameError::Empty);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(StoreNameError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(StoreNameError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name known to the bundled tz database (`Africa/Lagos`, `UTC`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IANA time zone name")]
pub struct UnknownTimeZone(pub String);

impl TimeZoneName {
    pub fn parse(input: &str) -> Result<Self, UnknownTimeZone> {
        jiff::tz::db()
            .get(input)
            .ok()
            .and_then(|tz| tz.iana_name().map(str::to_owned))
            .map(Self)
            .ok_or_else(|| UnknownTimeZone(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A store as persisted.
#[derive(Debug, Clone, PartialEq)]
pub struct Store {
    pub id: StoreId,
    pub slug: StoreSlug,
    pub name: StoreName,
    pub currency: Currency,
    pub country: CountryCode,
    pub timezone: TimeZoneName,
    pub status: StoreStatus,
    pub details: StoreDetails,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Store {
    /// Opens a new, active store.
    pub fn open(id: StoreId, new: NewStore, now: Timestamp) -> Self {
        Self {
            id,
            slug: new.slug,
            name: new.name,
            currency: new.currency,
            country: new.country,
            timezone: new.timezone,
            status: StoreStatus::Active,
            details: StoreDetails::default(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether shoppers can see the store at all.
    pub fn is_public(&self) -> bool {
        self.status == StoreStatus::Active
    }

    pub fn profile(&self) -> StoreProfile {
        StoreProfile {
            id: self.id,
            slug: self.slug.clone(),
            name: self.name.as_str().to_owned(),
            currency: self.currency,
            currency_exponent: self.currency.exponent(),
            country: self.country,
            timezone: self.timezone.as_str().to_owned(),
            description: self.details.description.clone(),
            logo_url: self.details.logo_url.clone(),
            contact_email: self.details.contact_email.clone(),
        }
    }
}

/// What a store tells shoppers about itself beside its name: stored as one document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreDetails {
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
}

impl StoreDetails {
    pub const MAX_DESCRIPTION: usize = 2000;
    pub const MAX_URL: usize = 500;
}

/// `PATCH /api/v1/admin/stores/{store}`: each field given replaces the stored one; an empty
/// `logo_url` or `contact_email` clears it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StorePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub logo_url: Option<String>,
    pub contact_email: Option<String>,
    pub timezone: Option<String>,
    pub currency: Option<String>,
}

impl StorePatch {
    /// The store with the patch applied, every bad field reported. `has_orders`: the currency
    /// can no longer change (every order and price is in it).
    pub fn apply(
        &self,
        store: &Store,
        has_orders: bool,
        now: Timestamp,
    ) -> Result<Store, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let mut next = store.clone();
        if let Some(name) = &self.name
            && let Some(parsed) = errors.check("name", StoreName::parse(name), |e| e.code())
        {
            next.name = parsed;
        }
        if let Some(description) = &self.description {
            let description = description.trim();
            if description.chars().count() > StoreDetails::MAX_DESCRIPTION {
                errors.add(
                    "description",
                    "too_long",
                    format!("at most {} characters", StoreDetails::MAX_DESCRIPTION),
                );
            }
            next.details.description = description.to_owned();
        }
        if let Some(url) = &self.logo_url {
            next.details.logo_url = logo_url(&mut errors, store, url.trim());
        }
        if let Some(email) = &self.contact_email {
            let email = email.trim();
            next.details.contact_email = if email.is_empty() {
                None
            } else {
                errors
                    .check("contact_email", super::account::Email::parse(email), |e| {
                        e.code()
                    })
                    .map(|e| e.as_str().to_owned())
            };
        }
        if let Some(zone) = &self.timezone
            && let Some(parsed) = errors.check(
                "timezone",
                TimeZoneName::parse(zone),
                |_| "unknown_timezone",
            )
        {
            next.timezone = parsed;
        }
        if let Some(code) = &self.currency
            && let Some(currency) = errors.check(
                "currency",
                Currency::from_code(code),
                |_| "unknown_currency",
            )
        {
            if currency != store.currency && has_orders {
                errors.add(
                    "currency",
                    "currency_locked",
                    "the currency cannot change once the store has orders",
                );
            }
            next.currency = currency;
        }
        next.updated_at = now;
        errors.finish(Some(next))
    }
}

/// A logo is an image uploaded to this store's media (`/media/{store id}/…`) or an `https` URL.
fn logo_url(errors: &mut ValidationErrors, store: &Store, url: &str) -> Option<String> {
    if url.is_empty() {
        return None;
    }
    let own = url.starts_with(&format!("/media/{}/", store.id));
    let remote = url.starts_with("https://") && !url.contains(char::is_whitespace);
    if url.len() > StoreDetails::MAX_URL || !(own || remote) {
        errors.add(
            "logo_url",
            "invalid_url",
            "an image uploaded to this store, or an https URL of at most 500 characters",
        );
        return None;
    }
    Some(url.to_owned())
}

/// Raw input for opening a store, from the CLI or the API.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStoreInput {
    pub slug: String,
    pub name: String,
    pub currency: String,
    /// ISO 3166-1 alpha-2. Defaults to the country a national currency belongs to.
    #[serde(default)]
    pub country: Option<String>,
    /// IANA time zone. Defaults to `UTC`.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// Validated input for opening a store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStore {
    pub slug: StoreSlug,
    pub name: StoreName,
    pub currency: Currency,
    pub country: CountryCode,
    pub timezone: TimeZoneName,
}

impl NewStore {
    /// Validates every field, reporting all failures together.
    pub fn parse(input: &NewStoreInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let slug = errors.check("slug", StoreSlug::parse(&input.slug), |e| e.code());
        let name = errors.check("name", StoreName::parse(&input.name), |e| e.code());
        let currency = errors.check(
            "currency",
            Currency::from_code(&input.currency),
            |_| "unknown_currency",
        );
        let country = match (&input.country, currency) {
            (Some(code), _) => {
                errors.check("country", CountryCode::parse(code), |_| "unknown_country")
            }
            (None, Some(currency)) => {
                let home = home_country(currency);
                if home.is_none() {
                    errors.add(
                        "country",
                        "required",
                        format!("{currency} is not a national currency: give the store's country"),
                    );
                }
                home
            }
            (None, None) => None,
        };
        let timezone = errors.check(
            "timezone",
            TimeZoneName::parse(input.timezone.as_deref().unwrap_or("UTC")),
            |_| "unknown_timezone",
        );
        let parsed = match (slug, name, currency, country, timezone) {
            (Some(slug), Some(name), Some(currency), Some(country), Some(timezone)) => Some(Self {
                slug,
                name,
                currency,
                country,
                timezone,
            }),
            _ => None,
        };
        errors.finish(parsed)
    }
}

/// ISO 4217 codes of national currencies start with the ISO 3166 code of their country
/// (NGN: NG, USD: US, JPY: JP). Supranational ones (EUR, XAF, XOF…) have no home country.
pub fn home_country(currency: Currency) -> Option<CountryCode> {
    let code = currency.code().get(..2)?;
    if code.starts_with('X') || code == "EU" {
        return None;
    }
    CountryCode::parse(code).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(slug: &str, name: &str, currency: &str) -> NewStoreInput {
        NewStoreInput {
            slug: slug.into(),
            name: name.into(),
            currency: currency.into(),
            ..NewStoreInput::default()
        }
    }

    #[test]
    fn a_naira_store_defaults_to_nigeria_and_utc() {
        let store = NewStore::parse(&input("demo", "  Demo Tech ", "NGN")).unwrap();
        assert_eq!(store.country.as_str(), "NG");
        assert_eq!(store.timezone.as_str(), "UTC");
        assert_eq!(store.name.as_str(), "Demo Tech");
    }

    #[test]
    fn a_euro_store_must_name_its_country() {
        let errors = NewStore::parse(&input("demo", "Demo", "EUR")).unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].field, "country");
        assert_eq!(errors.0[0].code, "required");
        let mut with_country = input("demo", "Demo", "EUR");
        with_country.country = Some("DE".into());
        with_country.timezone = Some("Europe/Berlin".into());
        assert!(NewStore::parse(&with_country).is_ok());
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = NewStoreInput {
            slug: "Admin!".into(),
            name: " ".into(),
            currency: "XYZ".into(),
            country: Some("Nigeria".into()),
            timezone: Some("Mars/Olympus".into()),
        };
        let errors = NewStore::parse(&bad).unwrap_err();
        let fields: Vec<_> = errors
            .0
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("slug", "invalid_character"),
                ("name", "required"),
                ("currency", "unknown_currency"),
                ("country", "unknown_country"),
                ("timezone", "unknown_timezone"),
            ]
        );
    }

    #[test]
    fn home_countries_follow_iso_4217() {
        let home = |code| home_country(Currency::from_code(code).unwrap()).map(CountryCode::as_str);
        assert_eq!(home("NGN"), Some("NG"));
        assert_eq!(home("JPY"), Some("JP"));
        assert_eq!(home("GBP"), Some("GB"));
        assert_eq!(home("EUR"), None);
        assert_eq!(home("XOF"), None);
    }

    #[test]
    fn a_new_store_is_open_to_the_public() {
        let new = NewStore::parse(&input("demo", "Demo", "USD")).unwrap();
        let now = crate::domain::now();
        let store = Store::open(StoreId::from_uuid(uuid::Uuid::nil()), new, now);
        assert!(store.is_public());
        assert_eq!(store.profile().currency_exponent, 2);
        assert_eq!(store.created_at, store.updated_at);
    }
}

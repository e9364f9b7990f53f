//! Postal addresses: any country, free-form postal codes (optional), no country-specific rule
//! that would lock out shoppers outside one country.

use serde::{Deserialize, Serialize};
use techverse_shared::{AddressId, AddressView, CountryCode};

use super::{
    account::{clean_text, optional_text, parse_phone},
    validation::ValidationErrors,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub id: AddressId,
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: CountryCode,
    pub phone: Option<String>,
    pub is_default: bool,
}

/// Raw address fields, as sent to create or replace an address.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    pub country: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub is_default: bool,
}

impl Address {
    /// Validates every field (reporting all failures at once) into an address with this id.
    pub fn parse(id: AddressId, input: &AddressInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name = errors.check("name", clean_text(&input.name, 100), |e| e.code());
        let line1 = errors.check("line1", clean_text(&input.line1, 200), |e| e.code());
        let line2 = optional_text(&mut errors, "line2", input.line2.as_deref(), 200);
        let city = errors.check("city", clean_text(&input.city, 100), |e| e.code());
        let region = optional_text(&mut errors, "region", input.region.as_deref(), 100);
        let postal_code =
            optional_text(&mut errors, "postal_code", input.postal_code.as_deref(), 20);
        let country = errors.check(
            "country",
            CountryCode::parse(&input.country),
            |_| "unknown_country",
        );
        let phone = match input.phone.as_deref().map(str::trim) {
            Some(phone) if !phone.is_empty() => {
                errors.check("phone", parse_phone(phone), |_| "invalid_phone")
            }
            _ => None,
        };
        let parsed = match (name, line1, city, country) {
            (Some(name), Some(line1), Some(city), Some(country)) => Some(Self {
                id,
                name,
                line1,
                line2,
                city,
                region,
                postal_code,
                country,
                phone,
                is_default: input.is_default,
            }),
            _ => None,
        };
        errors.finish(parsed)
    }

    pub fn view(&self) -> AddressView {
        AddressView {
            id: self.id,
            name: self.name.clone(),
            line1: self.line1.clone(),
            line2: self.line2.clone(),
            city: self.city.clone(),
            region: self.region.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country,
            phone: self.phone.clone(),
            is_default: self.is_default,
        }
    }
}

/// Keeps exactly one default address when there is any: `preferred` if given, else the first.
pub fn settle_default(addresses: &mut [Address], preferred: Option<AddressId>) {
    let chosen = preferred
        .filter(|id| addresses.iter().any(|a| a.id == *id))
        .or_else(|| addresses.iter().find(|a| a.is_default).map(|a| a.id))
        .or_else(|| addresses.first().map(|a| a.id));
    for address in addresses.iter_mut() {
        address.is_default = Some(address.id) == chosen;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(country: &str, postal_code: Option<&str>) -> AddressInput {
        AddressInput {
            name: "Ada Obi".into(),
            line1: "12 Admiralty Way".into(),
            city: "Lagos".into(),
            country: country.into(),
            postal_code: postal_code.map(Into::into),
            ..AddressInput::default()
        }
    }

    fn id(n: u128) -> AddressId {
        AddressId::from_uuid(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn any_country_and_any_postal_code_format_is_accepted() {
        assert!(Address::parse(id(1), &input("NG", None)).is_ok());
        assert!(Address::parse(id(1), &input("JP", Some("100-0001"))).is_ok());
        assert!(Address::parse(id(1), &input("US", Some("94103"))).is_ok());
        assert!(Address::parse(id(1), &input("GB", Some("SW1A 1AA"))).is_ok());
    }

    #[test]
    fn missing_fields_and_unknown_countries_are_all_reported() {
        let bad = AddressInput {
            country: "Narnia".into(),
            ..AddressInput::default()
        };
        let errors = Address::parse(id(1), &bad).unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "line1", "city", "country"]);
    }

    #[test]
    fn exactly_one_address_is_the_default() {
        let mut list: Vec<Address> = (1..=3)
            .map(|n| Address::parse(id(n), &input("NG", None)).unwrap())
            .collect();
        settle_default(&mut list, None);
        assert_eq!(list.iter().filter(|a| a.is_default).count(), 1);
        assert!(list[0].is_default);
        settle_default(&mut list, Some(id(3)));
        assert!(list[2].is_default && !list[0].is_default);
        list.remove(2);
        settle_default(&mut list, None);
        assert!(list[0].is_default);
    }
}

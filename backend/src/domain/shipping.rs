//! A store's checkout settings: shipping zones (countries, optional regions) with their methods
//! and tax rate, whether prices include tax, which offline payment methods are offered and the
//! bank transfer instructions shown on orders.

use serde::{Deserialize, Serialize};
use techverse_shared::{
    CountryCode, PaymentMethod, ShippingKind, ShippingMethodId, ShippingZoneId, StoreId,
};

use super::{account::clean_text, validation::ValidationErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MethodRate {
    /// The same price for every order.
    Flat { price: i64 },
    /// `price`, or nothing when the discounted subtotal reaches `threshold`.
    FreeAbove { price: i64, threshold: i64 },
    /// Collected at the store: free.
    Pickup,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShippingMethod {
    pub id: ShippingMethodId,
    pub name: String,
    pub rate: MethodRate,
}

impl ShippingMethod {
    pub fn kind(&self) -> ShippingKind {
        match self.rate {
            MethodRate::Flat { .. } => ShippingKind::Flat,
            MethodRate::FreeAbove { .. } => ShippingKind::FreeAbove,
            MethodRate::Pickup => ShippingKind::Pickup,
        }
    }

    /// What an order with this merchandise value (after discounts) pays.
    pub fn price_for(&self, merchandise: i64) -> i64 {
        match self.rate {
            MethodRate::Flat { price } => price,
            MethodRate::FreeAbove { price, threshold } if merchandise < threshold => price,
            MethodRate::FreeAbove { .. } | MethodRate::Pickup => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShippingZone {
    pub id: ShippingZoneId,
    pub name: String,
    pub countries: Vec<CountryCode>,
    /// When not empty, the zone covers only these regions (states) of its countries.
    pub regions: Vec<String>,
    /// Tax for orders shipped into the zone, in basis points.
    pub tax_bps: u32,
    pub methods: Vec<ShippingMethod>,
}

impl ShippingZone {
    fn covers(&self, country: CountryCode, region: Option<&str>) -> bool {
        self.countries.contains(&country)
            && (self.regions.is_empty()
                || region.is_some_and(|r| self.regions.iter().any(|z| z.eq_ignore_ascii_case(r))))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckoutSettings {
    pub store_id: StoreId,
    pub prices_include_tax: bool,
    pub zones: Vec<ShippingZone>,
    pub payment_methods: Vec<PaymentMethod>,
    pub bank_transfer_instructions: Option<String>,
    /// Minutes an unpaid order holds its stock before it expires.
    pub reservation_minutes: u32,
    pub version: i64,
}

impl CheckoutSettings {
    /// What a store starts with: no zones (so nothing ships until the merchant sets one up),
    /// cash on delivery, tax-exclusive prices, 15-minute reservations.
    pub fn initial(store_id: StoreId) -> Self {
        Self {
            store_id,
            prices_include_tax: false,
            zones: Vec::new(),
            payment_methods: vec![PaymentMethod::CashOnDelivery],
            bank_transfer_instructions: None,
            reservation_minutes: 15,
            version: 0,
        }
    }

    /// The zone for an address: one naming the region beats one covering the whole country.
    pub fn zone_for(&self, country: CountryCode, region: Option<&str>) -> Option<&ShippingZone> {
        self.zones
            .iter()
            .filter(|z| z.covers(country, region))
            .max_by_key(|z| !z.regions.is_empty())
    }

    pub fn method(
        &self,
        country: CountryCode,
        region: Option<&str>,
        id: ShippingMethodId,
    ) -> Option<(&ShippingZone, &ShippingMethod)> {
        let zone = self.zone_for(country, region)?;
        zone.methods.iter().find(|m| m.id == id).map(|m| (zone, m))
    }

    pub fn offers(&self, method: PaymentMethod) -> bool {
        self.payment_methods.contains(&method)
    }
}

// ---- input ----------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodInput {
    #[serde(default)]
    pub id: Option<ShippingMethodId>,
    pub name: String,
    pub rate: MethodRate,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneInput {
    #[serde(default)]
    pub id: Option<ShippingZoneId>,
    pub name: String,
    pub countries: Vec<String>,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub tax_bps: u32,
    pub methods: Vec<MethodInput>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    #[serde(default)]
    pub prices_include_tax: bool,
    #[serde(default)]
    pub zones: Vec<ZoneInput>,
    pub payment_methods: Vec<PaymentMethod>,
    #[serde(default)]
    pub bank_transfer_instructions: Option<String>,
    #[serde(default)]
    pub reservation_minutes: Option<u32>,
}

impl CheckoutSettings {
    /// Validates a whole settings document, reporting every bad field. New zones and methods
    /// get ids from `new_id`; given ids are kept so checkout clients' choices stay valid.
    pub fn parse(
        input: &SettingsInput,
        store_id: StoreId,
        version: i64,
        new_id: &mut dyn FnMut() -> uuid::Uuid,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let mut zones = Vec::new();
        for (z, zone) in input.zones.iter().enumerate() {
            let at = |field: &str| format!("zones[{z}].{field}");
            let name = errors.check(&at("name"), clean_text(&zone.name, 100), |e| e.code());
            let mut countries = Vec::new();
            if zone.countries.is_empty() {
                errors.add(&at("countries"), "required", "at least one country");
            }
            for (c, code) in zone.countries.iter().enumerate() {
                if let Some(country) = errors.check(
                    &format!("zones[{z}].countries[{c}]"),
                    CountryCode::parse(code),
                    |_| "unknown_country",
                ) {
                    countries.push(country);
                }
            }
            let regions: Vec<String> = zone
                .regions
                .iter()
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect();
            if zone.tax_bps > 10_000 {
                errors.add(&at("tax_bps"), "out_of_range", "0 to 10000 basis points");
            }
            let mut methods = Vec::new();
            for (m, method) in zone.methods.iter().enumerate() {
                let field = format!("zones[{z}].methods[{m}]");
                let name = errors.check(
                    &format!("{field}.name"),
                    clean_text(&method.name, 100),
                    |e| e.code(),
                );
                let bad_rate = match method.rate {
                    MethodRate::Flat { price } => price < 0,
                    MethodRate::FreeAbove { price, threshold } => price < 0 || threshold < 0,
                    MethodRate::Pickup => false,
                };
                if bad_rate {
                    errors.add(
                        &format!("{field}.rate"),
                        "out_of_range",
                        "amounts of zero or more",
                    );
                }
                if let Some(name) = name {
                    methods.push(ShippingMethod {
                        id: method
                            .id
                            .unwrap_or_else(|| ShippingMethodId::from_uuid(new_id())),
                        name,
                        rate: method.rate,
                    });
                }
            }
            if let Some(name) = name {
                zones.push(ShippingZone {
                    id: zone
                        .id
                        .unwrap_or_else(|| ShippingZoneId::from_uuid(new_id())),
                    name,
                    countries,
                    regions,
                    tax_bps: zone.tax_bps,
                    methods,
                });
            }
        }
        if input.payment_methods.is_empty() {
            errors.add("payment_methods", "required", "at least one payment method");
        }
        if !input.payment_methods.iter().all(|m| m.is_offline()) {
            errors.add(
                "payment_methods",
                "not_offline",
                "card is offered through the store's connected Stripe account, not listed here",
            );
        }
        let instructions = input
            .bank_transfer_instructions
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if instructions
            .as_ref()
            .is_some_and(|t| t.chars().count() > 2_000)
        {
            errors.add(
                "bank_transfer_instructions",
                "too_long",
                "at most 2000 characters",
            );
        }
        if input.payment_methods.contains(&PaymentMethod::BankTransfer) && instructions.is_none() {
            errors.add(
                "bank_transfer_instructions",
                "required",
                "bank transfer needs instructions for the buyer",
            );
        }
        let minutes = input.reservation_minutes.unwrap_or(15);
        if !(1..=7 * 24 * 60).contains(&minutes) {
            errors.add("reservation_minutes", "out_of_range", "1 minute to 7 days");
        }
        let mut payment_methods = input.payment_methods.clone();
        payment_methods.dedup();
        errors.finish(Some(Self {
            store_id,
            prices_include_tax: input.prices_include_tax,
            zones,
            payment_methods,
            bank_transfer_instructions: instructions,
            reservation_minutes: minutes,
            version,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(code: &str) -> CountryCode {
        CountryCode::parse(code).unwrap()
    }

    fn zone(n: u128, regions: &[&str], rate: MethodRate) -> ShippingZone {
        ShippingZone {
            id: ShippingZoneId::from_uuid(uuid::Uuid::from_u128(n)),
            name: format!("zone {n}"),
            countries: vec![country("NG")],
            regions: regions.iter().map(|r| (*r).to_owned()).collect(),
            tax_bps: 750,
            methods: vec![ShippingMethod {
                id: ShippingMethodId::from_uuid(uuid::Uuid::from_u128(100 + n)),
                name: "Standard".into(),
                rate,
            }],
        }
    }

    #[test]
    fn free_above_a_threshold_is_free_from_the_threshold_on() {
        let method = ShippingMethod {
            id: ShippingMethodId::from_uuid(uuid::Uuid::nil()),
            name: "Nigeria".into(),
            rate: MethodRate::FreeAbove {
                price: 250_000,
                threshold: 5_000_000,
            },
        };
        assert_eq!(method.price_for(4_999_999), 250_000);
        assert_eq!(method.price_for(5_000_000), 0);
    }

    #[test]
    fn a_region_zone_wins_over_a_country_zone_and_other_countries_have_none() {
        let mut settings = CheckoutSettings::initial(StoreId::from_uuid(uuid::Uuid::nil()));
        settings.zones = vec![
            zone(1, &[], MethodRate::Flat { price: 3_000 }),
            zone(2, &["Lagos"], MethodRate::Flat { price: 1_000 }),
        ];
        let lagos = settings.zone_for(country("NG"), Some("lagos")).unwrap();
        assert_eq!(lagos.name, "zone 2");
        let kano = settings.zone_for(country("NG"), Some("Kano")).unwrap();
        assert_eq!(kano.name, "zone 1");
        assert!(settings.zone_for(country("GH"), None).is_none());
    }

    #[test]
    fn bank_transfer_needs_instructions_and_bad_fields_are_all_reported() {
        let input: SettingsInput = serde_json::from_value(serde_json::json!({
            "payment_methods": ["bank_transfer"],
            "zones": [{ "name": "", "countries": ["XX"], "tax_bps": 20000,
                        "methods": [{ "name": "x", "rate": { "type": "flat", "price": -1 } }] }]
        }))
        .unwrap();
        let errors = CheckoutSettings::parse(
            &input,
            StoreId::from_uuid(uuid::Uuid::nil()),
            0,
            &mut uuid::Uuid::now_v7,
        )
        .unwrap_err();
        let fields: Vec<String> = errors.0.into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "zones[0].name",
                "zones[0].countries[0]",
                "zones[0].tax_bps",
                "zones[0].methods[0].rate",
                "bank_transfer_instructions"
            ]
        );
    }
}

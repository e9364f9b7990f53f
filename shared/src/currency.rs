//! ISO 4217 currencies with their minor-unit exponents, from a fixed table.
//!
//! Money is always an integer count of minor units; the exponent says how many of those make a
//! major unit (NGN and USD: 2, JPY: 0, KWD: 3).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An active ISO 4217 currency. Only codes in [`TABLE`] can be constructed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(&'static CurrencyInfo);

/// One row of the currency table.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CurrencyInfo {
    pub code: &'static str,
    pub exponent: u8,
    pub name: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a supported ISO 4217 currency code")]
pub struct UnknownCurrency(pub String);

impl Currency {
    /// Looks a code up in the table. Codes are upper case, exactly as ISO 4217 writes them.
    pub fn from_code(code: &str) -> Result<Self, UnknownCurrency> {
        TABLE
            .binary_search_by(|row| row.code.cmp(code))
            .map(|index| Self(&TABLE[index]))
            .map_err(|_| UnknownCurrency(code.to_owned()))
    }

    pub fn code(self) -> &'static str {
        self.0.code
    }

    /// Number of decimal places of the minor unit.
    pub fn exponent(self) -> u8 {
        self.0.exponent
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The sign people read before an amount (`₦`, `$`, `¥`), as English-language listings
    /// write it; dollars other than the US one carry their country (`CA$`). A currency without
    /// a well-known sign is written by its code and a space (`KWD `).
    pub fn symbol(self) -> &'static str {
        SYMBOLS
            .iter()
            .find(|(code, _)| *code == self.0.code)
            .map_or(self.0.code, |(_, symbol)| symbol)
    }

    /// Whether [`Self::symbol`] is the code itself (then a space separates it from the figure).
    pub fn symbol_is_code(self) -> bool {
        self.symbol() == self.0.code
    }

    /// Every supported currency, sorted by code.
    pub fn all() -> impl Iterator<Item = Currency> {
        TABLE.iter().map(Currency)
    }
}

impl std::fmt::Debug for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Currency({})", self.0.code)
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.code)
    }
}

impl std::str::FromStr for Currency {
    type Err = UnknownCurrency;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_code(&code).map_err(serde::de::Error::custom)
    }
}

/// Signs of the currencies people meet most; every other one is written by its code.
const SYMBOLS: &[(&str, &str)] = &[
    ("AUD", "A$"),
    ("BRL", "R$"),
    ("CAD", "CA$"),
    ("CNY", "CN¥"),
    ("EGP", "E£"),
    ("EUR", "€"),
    ("GBP", "£"),
    ("GHS", "GH₵"),
    ("HKD", "HK$"),
    ("ILS", "₪"),
    ("INR", "₹"),
    ("JPY", "¥"),
    ("KES", "KSh"),
    ("KRW", "₩"),
    ("MXN", "MX$"),
    ("NGN", "₦"),
    ("NZD", "NZ$"),
    ("PHP", "₱"),
    ("THB", "฿"),
    ("TRY", "₺"),
    ("TWD", "NT$"),
    ("UAH", "₴"),
    ("USD", "$"),
    ("VND", "₫"),
    ("XAF", "FCFA"),
    ("XOF", "CFA"),
    ("ZAR", "R"),
];

macro_rules! table {
    ($($code:literal $exp:literal $name:literal;)*) => {
        /// Active ISO 4217 currencies (funds and precious metals excluded), sorted by code.
        pub static TABLE: &[CurrencyInfo] = &[$(CurrencyInfo { code: $code, exponent: $exp, name: $name }),*];
    };
}

table! {
    "AED" 2 "UAE Dirham"; "AFN" 2 "Afghani"; "ALL" 2 "Lek"; "AMD" 2 "Armenian Dram";
    "AOA" 2 "Kwanza"; "ARS" 2 "Argentine Peso"; "AUD" 2 "Australian Dollar"; "AWG" 2 "Aruban Florin";
    "AZN" 2 "Azerbaijan Manat"; "BAM" 2 "Convertible Mark"; "BBD" 2 "Barbados Dollar"; "BDT" 2 "Taka";
    "BGN" 2 "Bulgarian Lev"; "BHD" 3 "Bahraini Dinar"; "BIF" 0 "Burundi Franc"; "BMD" 2 "Bermudian Dollar";
    "BND" 2 "Brunei Dollar"; "BOB" 2 "Boliviano"; "BRL" 2 "Brazilian Real"; "BSD" 2 "Bahamian Dollar";
    "BTN" 2 "Ngultrum"; "BWP" 2 "Pula"; "BYN" 2 "Belarusian Ruble"; "BZD" 2 "Belize Dollar";
    "CAD" 2 "Canadian Dollar"; "CDF" 2 "Congolese Franc"; "CHF" 2 "Swiss Franc"; "CLP" 0 "Chilean Peso";
    "CNY" 2 "Yuan Renminbi"; "COP" 2 "Colombian Peso"; "CRC" 2 "Costa Rican Colon"; "CUP" 2 "Cuban Peso";
    "CVE" 2 "Cabo Verde Escudo"; "CZK" 2 "Czech Koruna"; "DJF" 0 "Djibouti Franc"; "DKK" 2 "Danish Krone";
    "DOP" 2 "Dominican Peso"; "DZD" 2 "Algerian Dinar"; "EGP" 2 "Egyptian Pound"; "ERN" 2 "Nakfa";
    "ETB" 2 "Ethiopian Birr"; "EUR" 2 "Euro"; "FJD" 2 "Fiji Dollar"; "FKP" 2 "Falkland Islands Pound";
    "GBP" 2 "Pound Sterling"; "GEL" 2 "Lari"; "GHS" 2 "Ghana Cedi"; "GIP" 2 "Gibraltar Pound";
    "GMD" 2 "Dalasi"; "GNF" 0 "Guinean Franc"; "GTQ" 2 "Quetzal"; "GYD" 2 "Guyana Dollar";
    "HKD" 2 "Hong Kong Dollar"; "HNL" 2 "Lempira"; "HTG" 2 "Gourde"; "HUF" 2 "Forint";
    "IDR" 2 "Rupiah"; "ILS" 2 "New Israeli Sheqel"; "INR" 2 "Indian Rupee"; "IQD" 3 "Iraqi Dinar";
    "IRR" 2 "Iranian Rial"; "ISK" 0 "Iceland Krona"; "JMD" 2 "Jamaican Dollar"; "JOD" 3 "Jordanian Dinar";
    "JPY" 0 "Yen"; "KES" 2 "Kenyan Shilling"; "KGS" 2 "Som"; "KHR" 2 "Riel";
    "KMF" 0 "Comorian Franc"; "KPW" 2 "North Korean Won"; "KRW" 0 "Won"; "KWD" 3 "Kuwaiti Dinar";
    "KYD" 2 "Cayman Islands Dollar"; "KZT" 2 "Tenge"; "LAK" 2 "Lao Kip"; "LBP" 2 "Lebanese Pound";
    "LKR" 2 "Sri Lanka Rupee"; "LRD" 2 "Liberian Dollar"; "LSL" 2 "Loti"; "LYD" 3 "Libyan Dinar";
    "MAD" 2 "Moroccan Dirham"; "MDL" 2 "Moldovan Leu"; "MGA" 2 "Malagasy Ariary"; "MKD" 2 "Denar";
    "MMK" 2 "Kyat"; "MNT" 2 "Tugrik"; "MOP" 2 "Pataca"; "MRU" 2 "Ouguiya";
    "MUR" 2 "Mauritius Rupee"; "MVR" 2 "Rufiyaa"; "MWK" 2 "Malawi Kwacha"; "MXN" 2 "Mexican Peso";
    "MYR" 2 "Malaysian Ringgit"; "MZN" 2 "Mozambique Metical"; "NAD" 2 "Namibia Dollar"; "NGN" 2 "Naira";
    "NIO" 2 "Cordoba Oro"; "NOK" 2 "Norwegian Krone"; "NPR" 2 "Nepalese Rupee"; "NZD" 2 "New Zealand Dollar";
    "OMR" 3 "Rial Omani"; "PAB" 2 "Balboa"; "PEN" 2 "Sol"; "PGK" 2 "Kina";
    "PHP" 2 "Philippine Peso"; "PKR" 2 "Pakistan Rupee"; "PLN" 2 "Zloty"; "PYG" 0 "Guarani";
    "QAR" 2 "Qatari Rial"; "RON" 2 "Romanian Leu"; "RSD" 2 "Serbian Dinar"; "RUB" 2 "Russian Ruble";
    "RWF" 0 "Rwanda Franc"; "SAR" 2 "Saudi Riyal"; "SBD" 2 "Solomon Islands Dollar"; "SCR" 2 "Seychelles Rupee";
    "SDG" 2 "Sudanese Pound"; "SEK" 2 "Swedish Krona"; "SGD" 2 "Singapore Dollar"; "SHP" 2 "Saint Helena Pound";
    "SLE" 2 "Leone"; "SOS" 2 "Somali Shilling"; "SRD" 2 "Surinam Dollar"; "SSP" 2 "South Sudanese Pound";
    "STN" 2 "Dobra"; "SVC" 2 "El Salvador Colon"; "SYP" 2 "Syrian Pound"; "SZL" 2 "Lilangeni";
    "THB" 2 "Baht"; "TJS" 2 "Somoni"; "TMT" 2 "Turkmenistan New Manat"; "TND" 3 "Tunisian Dinar";
    "TOP" 2 "Pa'anga"; "TRY" 2 "Turkish Lira"; "TTD" 2 "Trinidad and Tobago Dollar"; "TWD" 2 "New Taiwan Dollar";
    "TZS" 2 "Tanzanian Shilling"; "UAH" 2 "Hryvnia"; "UGX" 0 "Uganda Shilling"; "USD" 2 "US Dollar";
    "UYU" 2 "Peso Uruguayo"; "UZS" 2 "Uzbekistan Sum"; "VES" 2 "Bolivar Soberano"; "VND" 0 "Dong";
    "VUV" 0 "Vatu"; "WST" 2 "Tala"; "XAF" 0 "CFA Franc BEAC"; "XCD" 2 "East Caribbean Dollar";
    "XOF" 0 "CFA Franc BCEAO"; "XPF" 0 "CFP Franc"; "YER" 2 "Yemeni Rial"; "ZAR" 2 "Rand";
    "ZMW" 2 "Zambian Kwacha"; "ZWG" 2 "Zimbabwe Gold";
}

/// On the wire a currency is its ISO 4217 code, one of the table's.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("An ISO 4217 currency code."))
            .enum_values(Some(TABLE.iter().map(|info| info.code)))
            .examples(["NGN"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Currency {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_unique_so_lookup_finds_every_row() {
        for pair in TABLE.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
        for row in TABLE {
            assert_eq!(
                Currency::from_code(row.code).map(Currency::code),
                Ok(row.code)
            );
        }
    }

    #[test]
    fn every_sign_belongs_to_a_listed_currency_and_the_rest_fall_back_to_their_code() {
        for (code, symbol) in SYMBOLS {
            let currency = Currency::from_code(code);
            assert_eq!(currency.map(Currency::symbol), Ok(*symbol), "{code}");
        }
        assert_eq!(Currency::from_code("KWD").map(Currency::symbol), Ok("KWD"));
        assert_eq!(
            Currency::from_code("KWD").map(Currency::symbol_is_code),
            Ok(true)
        );
    }

    #[test]
    fn exponents_match_iso_4217_for_well_known_currencies() {
        let exp = |code| Currency::from_code(code).map(Currency::exponent);
        assert_eq!(exp("NGN"), Ok(2));
        assert_eq!(exp("USD"), Ok(2));
        assert_eq!(exp("JPY"), Ok(0));
        assert_eq!(exp("KWD"), Ok(3));
    }

    #[test]
    fn unknown_or_lower_case_codes_are_refused() {
        assert!(Currency::from_code("XXX").is_err());
        assert!(Currency::from_code("ngn").is_err());
        assert!(Currency::from_code("").is_err());
    }

    #[test]
    fn a_currency_round_trips_through_json_as_its_code() {
        let ngn = Currency::from_code("NGN").unwrap();
        assert_eq!(serde_json::to_string(&ngn).unwrap(), "\"NGN\"");
        assert_eq!(serde_json::from_str::<Currency>("\"NGN\"").unwrap(), ngn);
        assert!(serde_json::from_str::<Currency>("\"NOPE\"").is_err());
    }
}

//! Pure business rules. No actix, no database, no I/O: plain types and functions, tested
//! directly.

pub mod access;
pub mod account;
pub mod address;
pub mod analytics;
pub mod audit;
pub mod cart;
pub mod catalog;
pub mod discount;
pub mod events;
pub mod listing;
pub mod mail;
pub mod order;
pub mod payment;
pub mod pricing;
pub mod review;
pub mod search;
pub mod session;
pub mod shipping;
pub mod store;
pub mod token;
pub mod validation;
pub mod webhook;

use jiff::Timestamp;

/// The current time, truncated to whole milliseconds so every storage adapter keeps it exactly.
pub fn now() -> Timestamp {
    truncate_to_millis(Timestamp::now())
}

pub fn truncate_to_millis(at: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(at.as_millisecond()).unwrap_or(at)
}

/// Serde for timestamps as integer milliseconds since the epoch: exact, ordered and
/// range-queryable in both storage adapters.
pub mod millis {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(at.as_millisecond())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let millis = i64::deserialize(deserializer)?;
        Timestamp::from_millisecond(millis).map_err(D::Error::custom)
    }

    /// The same for optional timestamps (`null` when absent).
    pub mod option {
        use jiff::Timestamp;
        use serde::{Deserialize, Deserializer, Serializer, de::Error};

        pub fn serialize<S: Serializer>(
            at: &Option<Timestamp>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => serializer.serialize_some(&at.as_millisecond()),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Timestamp>, D::Error> {
            Option::<i64>::deserialize(deserializer)?
                .map(|millis| Timestamp::from_millisecond(millis).map_err(D::Error::custom))
                .transpose()
        }
    }
}

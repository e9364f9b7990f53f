//! Pure business rules. No actix, no database, no I/O: plain types and functions, tested
//! directly.

pub mod store;
pub mod validation;

use jiff::Timestamp;

/// The current time, truncated to whole milliseconds so every storage adapter keeps it exactly.
pub fn now() -> Timestamp {
    truncate_to_millis(Timestamp::now())
}

pub fn truncate_to_millis(at: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(at.as_millisecond()).unwrap_or(at)
}

//! Outgoing mail as stored in the outbox, and the retry policy.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMail {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Attempts made so far.
    pub attempts: i64,
    #[serde(with = "super::millis")]
    pub next_attempt_at: Timestamp,
    /// A worker holding the message until then owns it; others leave it alone.
    #[serde(with = "super::millis")]
    pub lease_until: Timestamp,
    pub last_error: Option<String>,
    #[serde(with = "super::millis")]
    pub created_at: Timestamp,
}

/// Delay before attempt `attempts + 1`: 1 s, 2 s, 4 s … capped at 10 minutes. Mail is never
/// dropped; it waits until the transport accepts it.
pub fn retry_delay(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    Duration::from_secs(2u64.saturating_pow(exponent).min(600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_ten_minutes() {
        assert_eq!(retry_delay(1), Duration::from_secs(1));
        assert_eq!(retry_delay(2), Duration::from_secs(2));
        assert_eq!(retry_delay(5), Duration::from_secs(16));
        assert_eq!(retry_delay(40), Duration::from_secs(600));
        assert_eq!(retry_delay(0), Duration::from_secs(1));
    }
}

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
    /// Set when the outbox gave up on the message (it is kept, never sent, and counted).
    #[serde(
        default,
        with = "super::millis::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub dead_at: Option<Timestamp>,
}

/// How long a message keeps being retried before the outbox gives up on it.
pub const GIVE_UP_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_hours(72);
/// … and after at least this many attempts (a message queued during a long outage still gets
/// several tries once the transport is back).
pub const GIVE_UP_ATTEMPTS: i64 = 5;

/// Whether a message that just failed its `attempts`-th attempt is undeliverable: it has
/// failed for three days and at least five times. Until then it waits and is retried.
pub fn gives_up(attempts: i64, created_at: Timestamp, now: Timestamp) -> bool {
    attempts >= GIVE_UP_ATTEMPTS && now.duration_since(created_at) >= GIVE_UP_AFTER
}

/// How many messages a worker claims at once.
pub const BATCH: u32 = 8;
/// The longest a worker waits for the transport to take one message.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a claimed batch is reserved for its worker: long enough to try every message of
/// it at the longest wait, so another worker never takes (and sends again) mail still being
/// sent.
pub fn lease(batch: u32, send_timeout: Duration) -> Duration {
    send_timeout * batch + Duration::from_secs(60)
}

/// Delay before attempt `attempts + 1`: 1 s, 2 s, 4 s … capped at 10 minutes. Mail waits until
/// the transport accepts it, or until it is undeliverable ([`gives_up`]).
pub fn retry_delay(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    Duration::from_secs(2u64.saturating_pow(exponent).min(600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_lease_outlasts_sending_the_whole_batch_at_the_longest_wait() {
        assert!(lease(BATCH, SEND_TIMEOUT) > SEND_TIMEOUT * BATCH);
        assert_eq!(lease(8, Duration::from_secs(30)), Duration::from_secs(300));
    }

    #[test]
    fn only_mail_failing_for_three_days_and_five_tries_is_given_up() {
        let sent = Timestamp::from_second(1_800_000_000).unwrap();
        let later = |hours| sent + jiff::SignedDuration::from_hours(hours);
        assert!(!gives_up(50, sent, later(71)), "not three days yet");
        assert!(!gives_up(4, sent, later(100)), "too few tries");
        assert!(gives_up(5, sent, later(72)));
    }

    #[test]
    fn retries_back_off_exponentially_up_to_ten_minutes() {
        assert_eq!(retry_delay(1), Duration::from_secs(1));
        assert_eq!(retry_delay(2), Duration::from_secs(2));
        assert_eq!(retry_delay(5), Duration::from_secs(16));
        assert_eq!(retry_delay(40), Duration::from_secs(600));
        assert_eq!(retry_delay(0), Duration::from_secs(1));
    }
}

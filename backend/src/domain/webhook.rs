//! Merchant webhooks: endpoints a store registers, deliveries of its events to them (signed
//! as the Standard Webhooks spec says, retried with backoff), and which network addresses a
//! delivery may ever reach.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use techverse_shared::{EventId, StoreId, WebhookDeliveryId, WebhookId};

/// Event kinds an endpoint may subscribe to (`*`: every kind).
pub const EVENT_KINDS: [&str; 14] = [
    "*",
    "order.created",
    "order.paid",
    "order.fulfilled",
    "order.shipped",
    "order.delivered",
    "order.cancelled",
    "order.expired",
    "order.refunded",
    "order.status_changed",
    "order.disputed",
    "inventory.low_stock",
    "inventory.reservation_released",
    "review.created",
];
/// Endpoints one store may register.
pub const MAX_ENDPOINTS: usize = 20;
/// How long a replaced secret keeps signing beside the new one.
pub const OLD_SECRET_GRACE: SignedDuration = SignedDuration::from_hours(24);
/// Failing this long disables the endpoint (and its owners are told).
pub const DISABLE_AFTER: SignedDuration = SignedDuration::from_hours(24 * 5);
/// How much of a receiver's answer the delivery log keeps.
pub const RESPONSE_EXCERPT: usize = 1024;
/// The longest a receiver is waited for.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningSecret {
    /// `whsec_` + base64 of 32 random bytes.
    pub secret: String,
    /// A replaced secret signs until then; the current one has none.
    #[serde(default, with = "super::millis::option")]
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: WebhookId,
    pub store_id: StoreId,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// The current secret first.
    pub secrets: Vec<SigningSecret>,
    /// When the current run of failed attempts began.
    #[serde(default, with = "super::millis::option")]
    pub failing_since: Option<Timestamp>,
    /// Why it was turned off, when the platform turned it off.
    pub disabled_reason: Option<String>,
    #[serde(with = "super::millis")]
    pub created_at: Timestamp,
    #[serde(with = "super::millis")]
    pub updated_at: Timestamp,
    #[serde(default)]
    pub version: i64,
}

/// A new secret from 32 random bytes.
pub fn secret_from(bytes: &[u8; 32]) -> String {
    format!("whsec_{}", STANDARD.encode(bytes))
}

impl WebhookEndpoint {
    /// Whether events of `kind` go to this endpoint now.
    pub fn wants(&self, kind: &str) -> bool {
        self.active && self.events.iter().any(|e| e == "*" || e == kind)
    }

    /// Secrets that sign at `now`, the current one first.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&str> {
        self.secrets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|until| until > now))
            .map(|s| s.secret.as_str())
            .collect()
    }

    /// Makes `secret` the current one; the previous keeps signing for [`OLD_SECRET_GRACE`].
    pub fn rotate(&mut self, secret: String, now: Timestamp) {
        self.secrets
            .retain(|s| s.expires_at.is_none_or(|until| until > now));
        for old in &mut self.secrets {
            if old.expires_at.is_none() {
                old.expires_at = Some(now + OLD_SECRET_GRACE);
            }
        }
        self.secrets.insert(
            0,
            SigningSecret {
                secret,
                expires_at: None,
            },
        );
        self.updated_at = now;
    }

    /// Records how an attempt went. Returns `true` when this failure disables the endpoint.
    pub fn record_outcome(&mut self, succeeded: bool, now: Timestamp) -> bool {
        if succeeded {
            self.failing_since = None;
            return false;
        }
        let since = *self.failing_since.get_or_insert(now);
        if self.active && now.duration_since(since) >= DISABLE_AFTER {
            self.active = false;
            self.disabled_reason = Some("deliveries failed for 5 days".to_owned());
            self.updated_at = now;
            return true;
        }
        false
    }
}

/// The `webhook-signature` header: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for each
/// secret, space separated. A secret is used as the spec says: the base64 after `whsec_`,
/// decoded.
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|secret| {
            let key = STANDARD
                .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
                .ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body.as_bytes());
            Some(format!(
                "v1,{}",
                STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    Succeeded,
    /// Every attempt of the schedule failed (a manual retry may still send it).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    #[serde(with = "super::millis")]
    pub at: Timestamp,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why there was no usable answer (timeout, refused, forbidden address).
    pub error: Option<String>,
    pub latency_ms: u64,
    /// The first KiB of the answer.
    pub response: String,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: WebhookDeliveryId,
    pub store_id: StoreId,
    pub endpoint_id: WebhookId,
    /// Sent as `webhook-id`: the same on every attempt and replay.
    pub event_id: EventId,
    pub kind: String,
    /// The exact body every attempt sends.
    pub body: String,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    /// Attempts since the schedule last (re)started: a manual retry starts it again.
    #[serde(default)]
    pub scheduled_attempts: u32,
    #[serde(with = "super::millis::option", default)]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(with = "super::millis")]
    pub lease_until: Timestamp,
    #[serde(with = "super::millis")]
    pub created_at: Timestamp,
}

/// The Standard Webhooks body of an event: `{"type", "timestamp", "data"}`.
pub fn body(kind: &str, at: Timestamp, data: &serde_json::Value) -> String {
    serde_json::json!({ "type": kind, "timestamp": at.to_string(), "data": data }).to_string()
}

impl Delivery {
    /// Records an attempt and what comes next: done, the next retry of `schedule` (with
    /// `jitter` in [-1, 1] spreading it by up to a fifth), or failed once the schedule is spent.
    pub fn record(&mut self, attempt: Attempt, schedule: &[std::time::Duration], jitter: f64) {
        let now = attempt.at;
        let succeeded = attempt.succeeded();
        self.attempts.push(attempt);
        self.scheduled_attempts += 1;
        self.lease_until = now;
        if succeeded {
            self.state = DeliveryState::Succeeded;
            self.next_attempt_at = None;
            return;
        }
        match retry_delay(schedule, self.scheduled_attempts, jitter) {
            Some(delay) => {
                self.state = DeliveryState::Pending;
                self.next_attempt_at = Some(now + delay);
            }
            None => {
                self.state = DeliveryState::Failed;
                self.next_attempt_at = None;
            }
        }
    }

    /// Sends it again now with the same `webhook-id`, with a fresh schedule.
    pub fn retry_now(&mut self, now: Timestamp) {
        self.state = DeliveryState::Pending;
        self.scheduled_attempts = 0;
        self.next_attempt_at = Some(now);
    }
}

/// The wait before attempt `failed + 1`, or `None` after the last.
pub fn retry_delay(
    schedule: &[std::time::Duration],
    failed: u32,
    jitter: f64,
) -> Option<SignedDuration> {
    let base = schedule.get(usize::try_from(failed).ok()?.checked_sub(1)?)?;
    let spread = base.as_secs_f64() * 0.2 * jitter.clamp(-1.0, 1.0);
    let millis = (base.as_secs_f64() + spread).max(0.0) * 1000.0;
    Some(SignedDuration::from_millis(millis as i64))
}

/// The default retry schedule: 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — nine
/// attempts over about 27.6 hours.
pub const DEFAULT_SCHEDULE: &str = "5s,1m,5m,30m,2h,5h,10h,10h";

/// Parses a schedule such as `5s,1m,2h` (units `ms`, `s`, `m`, `h`).
pub fn parse_schedule(text: &str) -> Result<Vec<std::time::Duration>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let split = part
                .find(|c: char| !c.is_ascii_digit())
                .ok_or_else(|| format!("{part}: missing unit (ms, s, m, h)"))?;
            let (number, unit) = part.split_at(split);
            let number: u64 = number
                .parse()
                .map_err(|_| format!("{part}: not a number"))?;
            let millis = match unit {
                "ms" => number,
                "s" => number * 1000,
                "m" => number * 60_000,
                "h" => number * 3_600_000,
                _ => return Err(format!("{part}: unknown unit {unit}")),
            };
            Ok(std::time::Duration::from_millis(millis))
        })
        .collect()
}

/// Whether a delivery may connect to `address`: only public unicast addresses. Refused:
/// loopback, private, link-local (cloud metadata at 169.254.169.254 included), CGNAT,
/// multicast, broadcast, unspecified, reserved and documentation ranges, IPv6 unique-local,
/// and IPv4-mapped, -compatible or NAT64 IPv6 forms (which would reach IPv4 behind the check).
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b)))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let first = segments[0];
    let embeds_v4 =
        segments[..5].iter().all(|s| *s == 0) && (segments[5] == 0 || segments[5] == 0xffff);
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || embeds_v4
        || (first == 0x64 && segments[1] == 0xff9b)
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || (first == 0x2001 && segments[1] == 0x0db8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_standard_webhooks_test_vector() {
        // From the Standard Webhooks specification's reference implementations.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"; // pragma: allowlist secret (a test vector, not a key)
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"; // pragma: allowlist secret (a test vector, not a key)
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&[secret], id, 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_rotated_secret_signs_beside_the_new_one_for_a_day() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut endpoint = WebhookEndpoint {
            id: WebhookId::from_uuid(uuid::Uuid::now_v7()),
            store_id: StoreId::from_uuid(uuid::Uuid::now_v7()),
            url: "https://example.com/hook".into(),
            events: vec!["order.created".into()],
            description: None,
            active: true,
            secrets: vec![SigningSecret {
                secret: "whsec_old".into(),
                expires_at: None,
            }],
            failing_since: None,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        endpoint.rotate("whsec_new".into(), now);
        assert_eq!(endpoint.signing_secrets(now), ["whsec_new", "whsec_old"]);
        let later = now + OLD_SECRET_GRACE;
        assert_eq!(endpoint.signing_secrets(later), ["whsec_new"]);
        assert!(endpoint.wants("order.created"));
        assert!(!endpoint.wants("order.paid"));
        assert!(!endpoint.record_outcome(false, now));
        assert!(!endpoint.record_outcome(false, now + SignedDuration::from_hours(100)));
        assert!(endpoint.record_outcome(false, now + DISABLE_AFTER));
        assert!(!endpoint.active);
    }

    #[test]
    fn retries_follow_the_schedule_with_bounded_jitter_then_fail() {
        let schedule = parse_schedule(DEFAULT_SCHEDULE).unwrap();
        let total: u64 = schedule.iter().map(std::time::Duration::as_secs).sum();
        assert!(total >= 24 * 3600, "retried for at least a day: {total} s");
        assert_eq!(
            retry_delay(&schedule, 1, 0.0),
            Some(SignedDuration::from_secs(5))
        );
        assert_eq!(
            retry_delay(&schedule, 2, 1.0),
            Some(SignedDuration::from_secs(72))
        );
        assert_eq!(
            retry_delay(&schedule, 2, -1.0),
            Some(SignedDuration::from_secs(48))
        );
        assert_eq!(retry_delay(&schedule, 9, 0.0), None);
        assert!(parse_schedule("5x").is_err());
        assert_eq!(
            parse_schedule("200ms, 1s").unwrap(),
            [
                std::time::Duration::from_millis(200),
                std::time::Duration::from_secs(1)
            ]
        );
    }

    #[test]
    fn only_public_unicast_addresses_may_be_reached() {
        for forbidden in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "64:ff9b::7f00:1",
            "2001:db8::1",
            "::127.0.0.1",
        ] {
            let address: IpAddr = forbidden.parse().unwrap();
            assert!(!is_public(address), "{forbidden} must be refused");
        }
        for allowed in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "100.128.0.1"] {
            assert!(is_public(allowed.parse().unwrap()), "{allowed} is public");
        }
    }
}

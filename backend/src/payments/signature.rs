//! Stripe's webhook signature (`Stripe-Signature: t=<unix secs>,v1=<hex HMAC-SHA256>`): the HMAC
//! of `"{t}.{raw body}"` keyed by the endpoint's `whsec_…` secret. Checked on the raw bytes,
//! before anything is parsed, against every configured secret (so a secret can be rotated),
//! with a tolerance on the timestamp against replays. Pure: the caller gives the time.

use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// How far the signed time may be from ours (Stripe's libraries default to 300 s).
pub const TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    #[error("no v1 signature matches any webhook secret")]
    NoMatch,
}

/// The header's timestamp and v1 signatures (other schemes ignored).
fn parse(header: &str) -> Result<(i64, Vec<Vec<u8>>), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                )
            }
            "v1" => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    Ok((timestamp, signatures))
}

fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// Checks `header` over `payload` at `now` (unix seconds) against each secret; returns the
/// signed timestamp.
pub fn verify(
    header: Option<&str>,
    payload: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<i64, SignatureError> {
    let (timestamp, signatures) = parse(header.ok_or(SignatureError::Missing)?)?;
    if now.abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let matches = secrets.iter().any(|secret| {
        signatures.iter().any(|signature| {
            mac(secret, timestamp, payload)
                .verify_slice(signature)
                .is_ok()
        })
    });
    if matches {
        Ok(timestamp)
    } else {
        Err(SignatureError::NoMatch)
    }
}

/// The header Stripe would send for `payload` signed with `secret` at `timestamp` (for tests,
/// fakes and fuzzing).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let signature = mac(secret, timestamp, payload).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    fn secrets() -> Vec<String> {
        vec!["whsec_old".to_owned(), SECRET.to_owned()]
    }

    #[test]
    fn a_signed_body_verifies_with_any_configured_secret() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, SECRET, 1_000);
        assert_eq!(verify(Some(&header), body, &secrets(), 1_100), Ok(1_000));
        let old = sign(body, "whsec_old", 1_000);
        assert_eq!(verify(Some(&old), body, &secrets(), 1_000), Ok(1_000));
    }

    #[test]
    fn everything_else_is_refused() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, SECRET, 1_000);
        assert_eq!(
            verify(None, body, &secrets(), 1_000),
            Err(SignatureError::Missing)
        );
        for bad in ["", "t=1000", "v1=00", "t=x,v1=00", "garbage"] {
            assert_eq!(
                verify(Some(bad), body, &secrets(), 1_000),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            verify(Some(&header), body, &secrets(), 1_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&header), body, &secrets(), 699),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&header), br#"{"id":"evt_2"}"#, &secrets(), 1_000),
            Err(SignatureError::NoMatch)
        );
        let foreign = sign(body, "whsec_someone_else", 1_000);
        assert_eq!(
            verify(Some(&foreign), body, &secrets(), 1_000),
            Err(SignatureError::NoMatch)
        );
        // A signature for another timestamp does not verify with this one.
        let moved = header.replace("t=1000", "t=1001");
        assert_eq!(
            verify(Some(&moved), body, &secrets(), 1_000),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn extreme_timestamps_are_stale_not_an_overflow() {
        let body = br#"{"id":"evt_1"}"#;
        for t in [i64::MIN, i64::MAX] {
            let header = sign(body, SECRET, t);
            assert_eq!(
                verify(Some(&header), body, &secrets(), 1_700_000_000),
                Err(SignatureError::Stale),
                "{t}"
            );
        }
    }
}

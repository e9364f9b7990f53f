//! Random secrets (refresh tokens, single-use tokens) and their stored form: SHA-256, hex.
//! A secret itself is never stored or logged.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 32 random bytes from the OS, URL-safe base64 (43 characters).
pub fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of a token, lower-case hex. Tokens carry 256 random bits, so a fast hash is enough.
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Compares two hashes (or any secrets) in constant time.
pub fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The secret a refresh rotates to: HMAC-SHA256 of the presented secret under the session's
/// rotation key, URL-safe base64 (43 characters). Deterministic, so a refresh repeated within
/// the grace window hands out the same secret; unpredictable without the key, which never
/// leaves the server, so a stolen old secret cannot be turned into the current one.
pub fn derive_secret(key: &str, presented: &str) -> anyhow::Result<String> {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .map_err(|e| anyhow::anyhow!("rotation key: {e}"))?;
    mac.update(presented.as_bytes());
    Ok(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// A refresh token is `<session id>.<secret>`; the id finds the session, the secret proves it.
pub fn split_refresh_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.split_once('.')?;
    let plausible = |part: &str| {
        (20..=64).contains(&part.len())
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (plausible(id) && plausible(secret)).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_deterministically() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash(&a), hash(&a));
        assert_eq!(hash(&a).len(), 64);
        assert!(same_hash(&hash(&a), &hash(&a)));
        assert!(!same_hash(&hash(&a), &hash(&b)));
    }

    #[test]
    fn derived_secrets_repeat_for_one_key_and_differ_across_keys() {
        let secret = random_token().unwrap();
        let a = derive_secret("key-a", &secret).unwrap();
        assert_eq!(a, derive_secret("key-a", &secret).unwrap());
        assert_ne!(a, derive_secret("key-b", &secret).unwrap());
        assert_ne!(a, derive_secret("key-a", &random_token().unwrap()).unwrap());
        assert_eq!(a.len(), 43);
        assert!(split_refresh_token(&format!("{secret}.{a}")).is_some());
    }

    #[test]
    fn refresh_tokens_split_into_id_and_secret() {
        let id = random_token().unwrap();
        let secret = random_token().unwrap();
        let token = format!("{id}.{secret}");
        assert_eq!(
            split_refresh_token(&token),
            Some((id.as_str(), secret.as_str()))
        );
        assert_eq!(split_refresh_token("nodot"), None);
        assert_eq!(split_refresh_token("a.b"), None);
        assert_eq!(split_refresh_token(&format!("{id}.{secret}$")), None);
    }
}

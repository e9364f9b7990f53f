//! JWT access tokens: HS256 only (the algorithm is pinned when verifying), a `kid` header that
//! picks the key, and an audience per kind of account (`staff`, or `customer:<store id>` so a
//! token of store A means nothing to store B). Keys rotate by configuration.

use std::{collections::HashMap, path::Path, time::Duration};

use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use techverse_shared::StoreId;

use crate::config::Settings;

const ISSUER: &str = "techverse";
const MIN_SECRET_BYTES: usize = 32;
const LOCAL_KEY_FILE: &str = "jwt-signing.key";

/// Who a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Staff,
    Customer(StoreId),
}

impl Audience {
    pub fn as_claim(&self) -> String {
        match self {
            Self::Staff => "staff".to_owned(),
            Self::Customer(store) => format!("customer:{store}"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The account id (user or customer).
    pub sub: String,
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    /// The refresh session this token was issued under; revoking it ends the token too.
    pub sid: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid here")]
    Invalid,
}

pub struct JwtKeys {
    signing_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    ttl: Duration,
}

impl JwtKeys {
    /// Keys from `jwt_keys` (`kid:secret,…`), else a key generated once and kept in the data
    /// directory (single-machine mode: sessions survive restarts).
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let ttl = Duration::from_secs(settings.access_token_ttl_secs);
        let pairs = match &settings.jwt_keys {
            Some(keys) => parse_keys(keys.expose_secret())?,
            None => vec![("local".to_owned(), local_key(&settings.data_dir)?)],
        };
        Self::new(pairs, ttl)
    }

    pub fn new(pairs: Vec<(String, Vec<u8>)>, ttl: Duration) -> anyhow::Result<Self> {
        let (signing_kid, signing_secret) = pairs.first().context("no JWT key configured")?;
        let decoding = pairs
            .iter()
            .map(|(kid, secret)| (kid.clone(), DecodingKey::from_secret(secret)))
            .collect();
        Ok(Self {
            signing_kid: signing_kid.clone(),
            encoding: EncodingKey::from_secret(signing_secret),
            decoding,
            ttl,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(
        &self,
        subject: &str,
        audience: Audience,
        session_id: &str,
        now: Timestamp,
    ) -> anyhow::Result<String> {
        let iat = now.as_second();
        let claims = Claims {
            sub: subject.to_owned(),
            aud: audience.as_claim(),
            iss: ISSUER.to_owned(),
            iat,
            exp: iat.saturating_add(i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX)),
            sid: session_id.to_owned(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).context("signing a JWT")
    }

    pub fn verify(&self, token: &str, audience: Audience) -> Result<Claims, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Invalid)?;
        if header.alg != Algorithm::HS256 {
            return Err(JwtError::Invalid);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or(JwtError::Invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_audience(&[audience.as_claim()]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => JwtError::Expired,
                _ => JwtError::Invalid,
            })
    }
}

fn parse_keys(spec: &str) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let pairs: Vec<(String, Vec<u8>)> = spec
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (kid, secret) = pair
                .split_once(':')
                .context("each JWT key is `kid:secret`")?;
            anyhow::ensure!(!kid.trim().is_empty(), "a JWT key id is empty");
            anyhow::ensure!(
                secret.len() >= MIN_SECRET_BYTES,
                "JWT key `{kid}` is shorter than {MIN_SECRET_BYTES} bytes"
            );
            Ok((kid.trim().to_owned(), secret.as_bytes().to_vec()))
        })
        .collect::<anyhow::Result<_>>()?;
    anyhow::ensure!(!pairs.is_empty(), "jwt_keys is set but holds no key");
    Ok(pairs)
}

/// Reads the generated key, creating it (readable by the owner only) the first time.
fn local_key(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join(LOCAL_KEY_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return URL_SAFE_NO_PAD
            .decode(text.trim())
            .with_context(|| format!("{} is not a key this program wrote", path.display()));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let mut secret = [0u8; 48];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
    let encoded = URL_SAFE_NO_PAD.encode(secret);
    let temporary = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&temporary)
            .with_context(|| format!("writing {}", temporary.display()))?;
        file.write_all(encoded.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(pairs: &[(&str, &str)]) -> JwtKeys {
        JwtKeys::new(
            pairs
                .iter()
                .map(|(k, s)| ((*k).to_owned(), s.as_bytes().to_vec()))
                .collect(),
            Duration::from_secs(900),
        )
        .unwrap()
    }

    const A: &str = "a-secret-of-at-least-thirty-two-bytes!!";
    const B: &str = "another-secret-of-at-least-32-bytes-ok!";

    #[test]
    fn a_token_verifies_for_its_audience_only() {
        let keys = keys(&[("k1", A)]);
        let store = StoreId::from_uuid(uuid::Uuid::from_u128(1));
        let other = StoreId::from_uuid(uuid::Uuid::from_u128(2));
        let token = keys
            .issue("user-1", Audience::Customer(store), "sid", Timestamp::now())
            .unwrap();
        assert_eq!(
            keys.verify(&token, Audience::Customer(store)).unwrap().sub,
            "user-1"
        );
        assert_eq!(
            keys.verify(&token, Audience::Customer(other)).unwrap_err(),
            JwtError::Invalid
        );
        assert_eq!(
            keys.verify(&token, Audience::Staff).unwrap_err(),
            JwtError::Invalid
        );
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_until_the_old_key_is_dropped() {
        let old = keys(&[("k1", A)]);
        let token = old
            .issue("u", Audience::Staff, "s", Timestamp::now())
            .unwrap();
        let rotated = keys(&[("k2", B), ("k1", A)]);
        assert!(rotated.verify(&token, Audience::Staff).is_ok());
        let fresh = rotated
            .issue("u", Audience::Staff, "s", Timestamp::now())
            .unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&fresh).unwrap().kid.as_deref(),
            Some("k2")
        );
        let dropped = keys(&[("k2", B)]);
        assert_eq!(
            dropped.verify(&token, Audience::Staff).unwrap_err(),
            JwtError::Invalid
        );
    }

    #[test]
    fn expired_and_tampered_tokens_are_refused() {
        let keys = keys(&[("k1", A)]);
        let past = Timestamp::now() - jiff::SignedDuration::from_hours(1);
        let token = keys.issue("u", Audience::Staff, "s", past).unwrap();
        assert_eq!(
            keys.verify(&token, Audience::Staff).unwrap_err(),
            JwtError::Expired
        );
        let good = keys
            .issue("u", Audience::Staff, "s", Timestamp::now())
            .unwrap();
        let mut parts: Vec<&str> = good.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#);
        parts[0] = &none_header;
        assert_eq!(
            keys.verify(&parts.join("."), Audience::Staff).unwrap_err(),
            JwtError::Invalid
        );
    }

    #[test]
    fn short_or_malformed_key_lists_are_refused() {
        assert!(parse_keys("k1:short").is_err());
        assert!(parse_keys("nocolon").is_err());
        assert!(parse_keys(" , ").is_err());
        assert_eq!(parse_keys(&format!("k1:{A},k2:{B}")).unwrap().len(), 2);
    }

    #[test]
    fn the_local_key_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = local_key(dir.path()).unwrap();
        let second = local_key(dir.path()).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 48);
    }
}

//! Password hashing with argon2id (PHC string format), always on the blocking thread pool so a
//! hash never stalls the async runtime. Parameters come from configuration; the defaults are
//! OWASP's: 19 MiB of memory, 2 iterations, 1 lane.

use std::sync::Arc;

use anyhow::Context;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};

use crate::domain::account::NewPassword;

#[derive(Clone)]
pub struct Passwords {
    argon2: Arc<Argon2<'static>>,
    /// A hash of a random password, verified when an email is unknown so a login takes as
    /// long for a missing account as for a wrong password.
    dummy_hash: Arc<str>,
}

impl Passwords {
    pub fn new(memory_kib: u32, iterations: u32) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = super::tokens::random_token()?;
        let dummy_hash = argon2
            .hash_password(dummy.as_bytes())
            .map_err(|e| anyhow::anyhow!("hashing: {e}"))?
            .to_string();
        Ok(Self {
            argon2: Arc::new(argon2),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// The PHC string of a new password's hash.
    pub async fn hash(&self, password: &NewPassword) -> anyhow::Result<String> {
        let argon2 = Arc::clone(&self.argon2);
        let password = password.expose().to_owned();
        tokio::task::spawn_blocking(move || {
            argon2
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| anyhow::anyhow!("hashing: {e}"))
        })
        .await
        .context("hashing task")?
    }

    /// Whether `password` matches `hash`; with no hash (unknown account) a dummy is checked
    /// and the answer is always `false`.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let argon2 = Arc::clone(&self.argon2);
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            argon2
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await
        .context("verifying task")?;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let passwords = Passwords::new(1024, 1).unwrap();
        let password = NewPassword::parse("correct horse battery", None).unwrap();
        let hash = passwords.hash(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(
            passwords
                .verify("correct horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("wrong horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("correct horse battery", None)
                .await
                .unwrap()
        );
    }
}

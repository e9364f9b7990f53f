//! Sessions for both kinds of account: issuing an access token with a refresh session,
//! rotating it (reuse revokes the family), signing out one or every session, checking a
//! bearer token, and the login throttle.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::Context;
use crate::{
    auth::{
        jwt::{Audience, Claims, JwtError},
        tokens,
    },
    domain::{
        self,
        session::{AccountRef, Rotation, RotationRequest, Session},
        validation::ValidationErrors,
    },
    ratelimit::{Rule, login_delay},
    storage::StorageError,
};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("email or password is wrong")]
    InvalidCredentials,
    #[error("too many attempts; retry in {0:?}")]
    Throttled(Duration),
    #[error("the token is invalid, used or expired")]
    InvalidToken,
    #[error("the access token has expired")]
    TokenExpired,
    #[error("missing or invalid credentials")]
    Unauthenticated,
    #[error("the refresh token was reused; the session is revoked")]
    SessionRevoked,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("verify your email address first")]
    EmailNotVerified,
    /// Too many password hashes are running: retry after this long.
    #[error("too many sign-ins at once; retry in {0:?}")]
    Busy(Duration),
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::auth::password::PasswordError> for AuthError {
    fn from(error: crate::auth::password::PasswordError) -> Self {
        use crate::auth::password::PasswordError;
        match error {
            PasswordError::Busy(retry) => Self::Busy(retry),
            PasswordError::Failed(source) => Self::Internal(source),
        }
    }
}

/// What a successful login or refresh hands back.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
}

fn audience_of(account: &AccountRef) -> Audience {
    match account {
        AccountRef::Staff { .. } => Audience::Staff,
        AccountRef::Customer { store_id, .. } => Audience::Customer(*store_id),
    }
}

fn subject_of(account: &AccountRef) -> String {
    match account {
        AccountRef::Staff { user_id } => user_id.to_string(),
        AccountRef::Customer { customer_id, .. } => customer_id.to_string(),
    }
}

impl Context {
    fn refresh_expiry(&self, now: Timestamp) -> Timestamp {
        let ttl = i64::try_from(self.settings.refresh_ttl_secs).unwrap_or(i64::MAX);
        now.saturating_add(SignedDuration::from_secs(ttl))
            .unwrap_or(Timestamp::MAX)
    }

    fn access_token(
        &self,
        account: &AccountRef,
        session_id: &str,
        now: Timestamp,
    ) -> Result<String, AuthError> {
        Ok(self
            .jwt
            .issue(&subject_of(account), audience_of(account), session_id, now)?)
    }

    /// How long the secret a refresh replaced still repeats that refresh.
    pub fn refresh_grace(&self) -> SignedDuration {
        SignedDuration::from_secs(i64::try_from(self.settings.refresh_grace_secs).unwrap_or(0))
    }

    /// Starts a new session (a new refresh family) for a signed-in account.
    pub async fn start_session(&self, account: AccountRef) -> Result<IssuedTokens, AuthError> {
        let now = domain::now();
        let id = tokens::random_token()?;
        let secret = tokens::random_token()?;
        let session = Session {
            id: id.clone(),
            account,
            refresh_hash: tokens::hash(&secret),
            generation: 0,
            created_at: now,
            expires_at: self.refresh_expiry(now),
            previous_hash: None,
            rotated_at: None,
            rotation_key: tokens::random_token()?,
        };
        self.sessions.insert(&session).await?;
        Ok(IssuedTokens {
            access_token: self.access_token(&account, &id, now)?,
            expires_in: self.jwt.ttl().as_secs(),
            refresh_token: format!("{id}.{secret}"),
        })
    }

    /// Rotates a refresh token of an account `audience` accepts. The secret just rotated away
    /// repeats its rotation (the same pair again) for a short grace window, so concurrent
    /// refreshes of one client agree; after that, or for any other old secret, the whole
    /// session family is revoked.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        audience: Audience,
    ) -> Result<(IssuedTokens, AccountRef), AuthError> {
        let (id, secret) =
            tokens::split_refresh_token(refresh_token).ok_or(AuthError::InvalidToken)?;
        let now = domain::now();
        let session = self
            .sessions
            .get(id, now)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if audience_of(&session.account) != audience {
            return Err(AuthError::InvalidToken);
        }
        let new_secret = if session.rotation_key.is_empty() {
            tokens::random_token()?
        } else {
            tokens::derive_secret(&session.rotation_key, secret)?
        };
        let (presented_hash, new_hash) = (tokens::hash(secret), tokens::hash(&new_secret));
        let request = RotationRequest {
            presented_hash: &presented_hash,
            new_hash: &new_hash,
            expires_at: self.refresh_expiry(now),
            now,
            grace: self.refresh_grace(),
        };
        let (rotated, issued_at) = match self.sessions.rotate(id, &request).await? {
            Rotation::Rotated(session) => (session, now),
            Rotation::Repeated(session) => {
                let at = session.rotated_at.unwrap_or(now);
                (session, at)
            }
            Rotation::Reused => {
                tracing::warn!(account = %session.account.key(), "refresh token reused; session family revoked");
                return Err(AuthError::SessionRevoked);
            }
            Rotation::Unknown => return Err(AuthError::InvalidToken),
        };
        // A repeat hands out the access token of the first rotation (same claims, same
        // signature), with the lifetime it has left.
        let elapsed = u64::try_from(now.duration_since(issued_at).as_secs()).unwrap_or(0);
        Ok((
            IssuedTokens {
                access_token: self.access_token(&rotated.account, id, issued_at)?,
                expires_in: self.jwt.ttl().as_secs().saturating_sub(elapsed),
                refresh_token: format!("{id}.{new_secret}"),
            },
            rotated.account,
        ))
    }

    /// Ends one session by id.
    pub async fn end_session(&self, session_id: &str) -> Result<(), AuthError> {
        self.sessions.revoke(session_id).await?;
        Ok(())
    }

    /// Ends every session of an account (logout-all, password reset).
    pub async fn end_all_sessions(&self, account: &AccountRef) -> Result<u64, AuthError> {
        Ok(self.sessions.revoke_account(account).await?)
    }

    /// Checks a bearer token for `audience` and that its session is still live, so a logout
    /// ends the access token as well.
    pub async fn authenticate(
        &self,
        bearer: &str,
        audience: Audience,
    ) -> Result<(Claims, Session), AuthError> {
        let claims = self
            .jwt
            .verify(bearer, audience)
            .map_err(|error| match error {
                JwtError::Expired => AuthError::TokenExpired,
                JwtError::Invalid => AuthError::Unauthenticated,
            })?;
        let session = self
            .sessions
            .get(&claims.sid, domain::now())
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        if audience_of(&session.account) != audience || subject_of(&session.account) != claims.sub {
            return Err(AuthError::Unauthenticated);
        }
        Ok((claims, session))
    }

    /// Before a login attempt: per-IP limit, then growing delays per (account, IP) and, more
    /// gently, per account. The delays always end, so nobody can lock a real user out.
    pub async fn check_login_allowed(&self, ip: &str, account_key: &str) -> Result<(), AuthError> {
        let decision = self.limiter.hit(Rule::LoginIp, ip).await;
        if !decision.allowed {
            return Err(AuthError::Throttled(Duration::from_secs(
                decision.reset_secs,
            )));
        }
        let now = Timestamp::now().as_millisecond();
        let checks = [
            (
                format!("{account_key}|{ip}"),
                5,
                Duration::from_secs(15 * 60),
            ),
            (account_key.to_owned(), 20, Duration::from_secs(60)),
        ];
        for (key, free, cap) in checks {
            let (count, last) = self.limiter.failures(&key).await;
            let delay = login_delay(count, free, cap);
            let until = last.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
            if until > now {
                let wait = Duration::from_millis(u64::try_from(until - now).unwrap_or(0));
                return Err(AuthError::Throttled(wait.max(Duration::from_secs(1))));
            }
        }
        Ok(())
    }

    pub async fn login_failed(&self, ip: &str, account_key: &str) {
        self.limiter
            .record_failure(&format!("{account_key}|{ip}"))
            .await;
        self.limiter.record_failure(account_key).await;
    }

    pub async fn login_succeeded(&self, ip: &str, account_key: &str) {
        self.limiter
            .clear_failures(&format!("{account_key}|{ip}"))
            .await;
    }
}

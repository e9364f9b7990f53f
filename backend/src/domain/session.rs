//! Refresh sessions. A session is one sign-in (a "family"): each refresh rotates its token, and
//! presenting a token that was already rotated away revokes the whole family — except within a
//! short grace window right after a rotation, when the secret just rotated away repeats that
//! same rotation (two tabs, or two requests of one page, refreshing at once must not sign the
//! shopper out). The new secret is derived from the presented one with a per-session key, so a
//! repeat hands out the very same pair without the server ever storing a secret.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use techverse_shared::{CustomerId, StoreId, UserId};

/// The account a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountRef {
    Staff {
        user_id: UserId,
    },
    Customer {
        store_id: StoreId,
        customer_id: CustomerId,
    },
}

impl AccountRef {
    /// A stable string key, used to find all sessions of an account.
    pub fn key(&self) -> String {
        match self {
            Self::Staff { user_id } => format!("staff:{user_id}"),
            Self::Customer {
                store_id,
                customer_id,
            } => format!("customer:{store_id}:{customer_id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Random, unguessable id (also the first half of the refresh token).
    pub id: String,
    pub account: AccountRef,
    /// SHA-256 (hex) of the current refresh secret.
    pub refresh_hash: String,
    /// How many times the token was rotated.
    pub generation: i64,
    #[serde(with = "super::millis")]
    pub created_at: Timestamp,
    #[serde(with = "super::millis")]
    pub expires_at: Timestamp,
    /// SHA-256 of the secret the last rotation replaced (it may repeat that rotation during
    /// the grace window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_hash: Option<String>,
    /// When the last rotation happened.
    #[serde(default, with = "super::millis::option")]
    pub rotated_at: Option<Timestamp>,
    /// Random per-session key deriving each new secret from the one presented (never sent to
    /// a client). Empty for sessions stored before keys existed: they rotate to random secrets
    /// and get no grace.
    #[serde(default)]
    pub rotation_key: String,
}

/// What a refresh asks storage to do, atomically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationRequest<'a> {
    /// SHA-256 of the secret the client presented.
    pub presented_hash: &'a str,
    /// SHA-256 of the secret the session moves to (derived from the presented one).
    pub new_hash: &'a str,
    /// The session lives until then after a rotation.
    pub expires_at: Timestamp,
    pub now: Timestamp,
    /// How long after a rotation the secret it replaced repeats it.
    pub grace: SignedDuration,
}

/// What a refresh attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The secret was current: the session now holds the new hash.
    Rotated(Session),
    /// The secret was the one rotated away moments ago and leads to the current one: the same
    /// rotation again, nothing changed.
    Repeated(Session),
    /// The secret was not usable (rotated away earlier, or forged): the session is gone.
    Reused,
    /// No live session with this id.
    Unknown,
}

/// How a live session answers a presented secret (the decision every adapter applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Rotate,
    Repeat,
    Revoke,
}

impl Session {
    /// Whether `request` rotates the session, repeats the last rotation, or is a reuse.
    pub fn answer(&self, request: &RotationRequest<'_>) -> Answer {
        use crate::auth::tokens::same_hash;
        if same_hash(&self.refresh_hash, request.presented_hash) {
            return Answer::Rotate;
        }
        let within_grace = self
            .rotated_at
            .is_some_and(|at| request.now.duration_since(at) <= request.grace);
        let was_previous = self
            .previous_hash
            .as_deref()
            .is_some_and(|previous| same_hash(previous, request.presented_hash));
        if within_grace && was_previous && same_hash(&self.refresh_hash, request.new_hash) {
            Answer::Repeat
        } else {
            Answer::Revoke
        }
    }

    /// The session after `request` rotated it.
    pub fn rotated(mut self, request: &RotationRequest<'_>) -> Self {
        self.previous_hash = Some(request.presented_hash.to_owned());
        request.new_hash.clone_into(&mut self.refresh_hash);
        self.rotated_at = Some(request.now);
        self.generation += 1;
        self.expires_at = request.expires_at;
        self
    }

    /// Whether `hash` (of a presented secret) is this session's: the current secret, or the one
    /// rotated away within the grace window (a sign-out racing a refresh still signs out).
    pub fn recognises(&self, hash: &str, now: Timestamp, grace: SignedDuration) -> bool {
        use crate::auth::tokens::same_hash;
        same_hash(&self.refresh_hash, hash)
            || (self
                .previous_hash
                .as_deref()
                .is_some_and(|p| same_hash(p, hash))
                && self
                    .rotated_at
                    .is_some_and(|at| now.duration_since(at) <= grace))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).unwrap()
    }

    fn session() -> Session {
        Session {
            id: "s".into(),
            account: AccountRef::Staff {
                user_id: UserId::from_uuid(uuid::Uuid::nil()),
            },
            refresh_hash: "h0".into(),
            generation: 0,
            created_at: at(0),
            expires_at: at(1_000_000),
            previous_hash: None,
            rotated_at: None,
            rotation_key: "k".into(),
        }
    }

    fn request<'a>(presented: &'a str, new: &'a str, now: i64) -> RotationRequest<'a> {
        RotationRequest {
            presented_hash: presented,
            new_hash: new,
            expires_at: at(now + 1_000_000),
            now: at(now),
            grace: SignedDuration::from_secs(10),
        }
    }

    #[test]
    fn the_current_secret_rotates_and_the_replaced_one_repeats_only_within_the_grace() {
        let first = request("h0", "h1", 1_000);
        assert_eq!(session().answer(&first), Answer::Rotate);
        let rotated = session().rotated(&first);
        assert_eq!(rotated.refresh_hash, "h1");
        assert_eq!(rotated.previous_hash.as_deref(), Some("h0"));
        assert_eq!(rotated.generation, 1);
        assert_eq!(rotated.answer(&request("h0", "h1", 5_000)), Answer::Repeat);
        assert_eq!(rotated.answer(&request("h0", "h1", 11_000)), Answer::Repeat);
        assert_eq!(rotated.answer(&request("h0", "h1", 11_001)), Answer::Revoke);
        assert_eq!(rotated.answer(&request("h1", "h2", 20_000)), Answer::Rotate);
    }

    #[test]
    fn a_replaced_secret_leading_elsewhere_or_a_forged_one_revokes() {
        let rotated = session().rotated(&request("h0", "h1", 1_000));
        assert_eq!(rotated.answer(&request("h0", "hx", 2_000)), Answer::Revoke);
        assert_eq!(rotated.answer(&request("zz", "h1", 2_000)), Answer::Revoke);
        let twice = rotated.rotated(&request("h1", "h2", 3_000));
        assert_eq!(twice.answer(&request("h0", "h1", 3_500)), Answer::Revoke);
    }

    #[test]
    fn a_session_recognises_its_current_and_just_replaced_secrets() {
        let grace = SignedDuration::from_secs(10);
        let rotated = session().rotated(&request("h0", "h1", 1_000));
        assert!(rotated.recognises("h1", at(100_000), grace));
        assert!(rotated.recognises("h0", at(2_000), grace));
        assert!(!rotated.recognises("h0", at(20_000), grace));
        assert!(!rotated.recognises("zz", at(2_000), grace));
    }
}

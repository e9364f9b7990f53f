//! Refresh sessions. A session is one sign-in (a "family"): each refresh rotates its token, and
//! presenting a token that was already rotated away revokes the whole family.

use jiff::Timestamp;
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
}

/// What a refresh attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The secret was current: the session now holds the new hash.
    Rotated(Session),
    /// The secret was not the current one (already used, or forged): the session is gone.
    Reused,
    /// No live session with this id.
    Unknown,
}

//! Single-use tokens (email verification, password reset, staff invitation). Only a hash of the
//! token is stored; consuming one deletes it, so it works once.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use techverse_shared::{CustomerId, StoreId, UserId};

use super::{access::Role, account::Email};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPurpose {
    VerifyEmail,
    PasswordReset,
    Invitation,
}

impl TokenPurpose {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
            Self::Invitation => "invitation",
        }
    }
}

/// Whose token it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TokenSubject {
    Staff {
        user_id: UserId,
    },
    Customer {
        store_id: StoreId,
        customer_id: CustomerId,
    },
    /// An invitation to join a store's staff with a role.
    Invite {
        store_id: StoreId,
        email: Email,
        role: Role,
        invited_by: UserId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimeToken {
    /// SHA-256 of the token, hex.
    pub hash: String,
    pub purpose: TokenPurpose,
    pub subject: TokenSubject,
    #[serde(with = "super::millis")]
    pub created_at: Timestamp,
    #[serde(with = "super::millis")]
    pub expires_at: Timestamp,
}

impl OneTimeToken {
    /// Key used to find every token of one purpose for one subject (to replace older ones).
    pub fn subject_key(&self) -> String {
        match &self.subject {
            TokenSubject::Staff { user_id } => format!("staff:{user_id}"),
            TokenSubject::Customer {
                store_id,
                customer_id,
            } => format!("customer:{store_id}:{customer_id}"),
            TokenSubject::Invite {
                store_id, email, ..
            } => format!("invite:{store_id}:{email}"),
        }
    }
}

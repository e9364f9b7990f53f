//! Single-use tokens (email verification, password reset, staff invitation). Only a hash of the
//! token is stored; consuming one deletes it, so it works once.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use techverse_shared::{CustomerId, InvitationId, OrderId, StoreId, UserId};

use super::{access::Role, account::Email};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPurpose {
    VerifyEmail,
    PasswordReset,
    Invitation,
    /// A single-use, 30-second ticket that opens a WebSocket.
    SocketTicket,
}

impl TokenPurpose {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
            Self::Invitation => "invitation",
            Self::SocketTicket => "socket_ticket",
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
    /// A guest following one order (a socket ticket bought with the order token).
    Order {
        store_id: StoreId,
        order_id: OrderId,
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
    /// A public name for the token, safe to show and to revoke by: the first 128 bits of its
    /// stored hash (which cannot be turned back into the token).
    pub fn public_id(&self) -> InvitationId {
        let mut bytes = [0u8; 16];
        for (slot, pair) in bytes.iter_mut().zip(self.hash.as_bytes().chunks(2)) {
            *slot = std::str::from_utf8(pair)
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .unwrap_or(0);
        }
        InvitationId::from_uuid(uuid::Uuid::from_bytes(bytes))
    }

    /// The prefix of [`Self::subject_key`] shared by every invitation into `store`.
    pub fn invitation_prefix(store: StoreId) -> String {
        format!("invite:{store}:")
    }

    /// Key used to find every token of one purpose for one subject (to replace older ones).
    pub fn subject_key(&self) -> String {
        if self.purpose == TokenPurpose::SocketTicket {
            // Several tabs may each hold a ticket: none replaces another.
            return format!("ticket:{}", self.hash);
        }
        match &self.subject {
            TokenSubject::Staff { user_id } => format!("staff:{user_id}"),
            TokenSubject::Customer {
                store_id,
                customer_id,
            } => format!("customer:{store_id}:{customer_id}"),
            TokenSubject::Invite {
                store_id, email, ..
            } => format!("invite:{store_id}:{email}"),
            TokenSubject::Order { store_id, order_id } => format!("order:{store_id}:{order_id}"),
        }
    }
}

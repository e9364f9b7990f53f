//! Audit log entries: append-only records of staff mutations in a store.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use techverse_shared::{AuditActor, AuditEntryId, AuditEntryView, StoreId, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// A UUIDv7, so ids sort by time and serve as the pagination cursor.
    pub id: AuditEntryId,
    pub store_id: StoreId,
    pub actor_id: UserId,
    pub actor_email: String,
    pub action: String,
    pub target: String,
    pub summary: serde_json::Value,
    pub request_id: Option<String>,
    #[serde(with = "super::millis")]
    pub at: Timestamp,
}

impl AuditEntry {
    pub fn view(&self) -> AuditEntryView {
        AuditEntryView {
            id: self.id,
            actor: AuditActor {
                user_id: self.actor_id,
                email: self.actor_email.clone(),
            },
            action: self.action.clone(),
            target: self.target.clone(),
            summary: self.summary.clone(),
            request_id: self.request_id.clone(),
            at: self.at,
        }
    }
}

/// Filters of an audit log page; entries come newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    pub actor: Option<UserId>,
    pub action: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Only entries older than this one (the cursor).
    pub before: Option<AuditEntryId>,
    pub limit: u32,
}

//! Recording staff mutations in a store's audit log, and reading it back a page at a time.

use techverse_shared::{AuditEntryId, AuditPage, StoreId, UserId};

use super::Context;
use crate::{
    domain::{
        self,
        account::StaffUser,
        audit::{AuditEntry, AuditQuery},
    },
    storage::StorageError,
};

/// The largest page one call returns.
pub const MAX_PAGE: u32 = 200;

/// Who did it, and in which request.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub user_id: UserId,
    pub email: &'a str,
    pub request_id: Option<&'a str>,
}

impl<'a> Actor<'a> {
    pub fn staff(user: &'a StaffUser, request_id: Option<&'a str>) -> Self {
        Self {
            user_id: user.id,
            email: user.email.as_str(),
            request_id,
        }
    }

    /// The operator at the command line (no staff account; the nil user id).
    pub fn operator() -> Self {
        Self {
            user_id: UserId::from_uuid(uuid::Uuid::nil()),
            email: "operator (techverse CLI)",
            request_id: None,
        }
    }
}

/// Appends one entry. `action` is a stable dotted name (`staff.role_changed`), `target` names
/// what was acted on (`user:<id>`, `role:<id>`), `summary` holds the change.
pub async fn record(
    ctx: &Context,
    store: StoreId,
    actor: Actor<'_>,
    action: &str,
    target: String,
    summary: serde_json::Value,
) -> Result<(), StorageError> {
    let entry = AuditEntry {
        id: AuditEntryId::from_uuid(uuid::Uuid::now_v7()),
        store_id: store,
        actor_id: actor.user_id,
        actor_email: actor.email.to_owned(),
        action: action.to_owned(),
        target,
        summary,
        request_id: actor.request_id.map(str::to_owned),
        at: domain::now(),
    };
    ctx.storage.audit().append(&entry).await
}

/// A page of entries, newest first, and the cursor of the next page.
pub async fn page(
    ctx: &Context,
    store: StoreId,
    mut query: AuditQuery,
) -> Result<AuditPage, StorageError> {
    let limit = query.limit.clamp(1, MAX_PAGE);
    query.limit = limit + 1;
    let mut entries = ctx.storage.audit().list(store, &query).await?;
    let next_cursor = if entries.len() > limit as usize {
        entries.truncate(limit as usize);
        entries.last().map(|entry| entry.id.to_string())
    } else {
        None
    };
    Ok(AuditPage {
        items: entries.iter().map(AuditEntry::view).collect(),
        next_cursor,
    })
}

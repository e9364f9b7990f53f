//! A store's event log as staff read it: only the events their permissions cover.

use serde::Serialize;
use techverse_shared::Permission;

use super::Context;
use crate::{
    domain::{
        access::Permissions,
        events::{StoreEvent, required_permission},
        store::Store,
    },
    storage::StorageError,
};

/// How many batches one request reads at most while skipping events the caller may not see.
const MAX_BATCHES: u32 = 10;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub items: Vec<StoreEvent>,
    /// Pass as `after` for the next page: the last event read, shown or not.
    pub next_after: i64,
}

/// Appends `event` to its store's log and wakes this instance's event consumers.
pub async fn append(ctx: &Context, event: &StoreEvent) -> Result<i64, StorageError> {
    let seq = ctx
        .storage
        .catalog()
        .append_event(event.store_id, event)
        .await?;
    ctx.events.committed();
    Ok(seq)
}

/// Whether these permissions let a member read any part of the log.
pub fn may_read_any(permissions: &Permissions) -> bool {
    [Permission::ProductsRead, Permission::OrdersRead]
        .iter()
        .any(|p| permissions.contains(p))
}

/// Up to `limit` events after `after` that `permissions` cover, oldest first.
pub async fn visible(
    ctx: &Context,
    store: &Store,
    permissions: &Permissions,
    after: i64,
    limit: u32,
) -> Result<EventPage, StorageError> {
    let catalog = ctx.storage.catalog();
    let mut page = EventPage {
        items: Vec::new(),
        next_after: after,
    };
    for _ in 0..MAX_BATCHES {
        let batch = catalog.events(store.id, page.next_after, limit).await?;
        let full = batch.len() == limit as usize;
        for event in batch {
            if page.items.len() == limit as usize {
                return Ok(page);
            }
            page.next_after = event.seq;
            if permissions.contains(&required_permission(&event.kind)) {
                page.items.push(event);
            }
        }
        if !full || page.items.len() == limit as usize {
            break;
        }
    }
    Ok(page)
}

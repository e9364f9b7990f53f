//! A store's event log: facts other parts of the system consume later (notifications,
//! webhooks, the live feed). Each store numbers its events 1, 2, 3… in order.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use techverse_shared::{EventId, StoreId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreEvent {
    /// Unique, assigned when the event is made: publishing an event twice stores it once.
    #[serde(default = "nil_event")]
    pub id: EventId,
    pub store_id: StoreId,
    /// Per-store sequence number, assigned by storage on append (0 before).
    pub seq: i64,
    /// Stable dotted name, e.g. `inventory.low_stock`.
    pub kind: String,
    pub payload: serde_json::Value,
    #[serde(with = "super::millis")]
    pub at: Timestamp,
}

impl StoreEvent {
    /// A new event; storage numbers it when appending.
    pub fn new(store_id: StoreId, kind: &str, payload: serde_json::Value, at: Timestamp) -> Self {
        Self {
            id: EventId::from_uuid(uuid::Uuid::now_v7()),
            store_id,
            seq: 0,
            kind: kind.to_owned(),
            payload,
            at,
        }
    }
}

/// Events stored before events had ids.
fn nil_event() -> EventId {
    EventId::from_uuid(uuid::Uuid::nil())
}

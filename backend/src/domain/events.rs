//! A store's event log: facts other parts of the system consume later (notifications,
//! webhooks, the live feed). Each store numbers its events 1, 2, 3… in order.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use techverse_shared::{EventId, Permission, StoreId};

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

/// What a staff member needs to see an event of this kind: its payload is as sensitive as the
/// records it comes from (an `order.*` event carries the buyer's email and the total). Kinds
/// not listed need `orders.read`, the stricter of the two.
pub fn required_permission(kind: &str) -> Permission {
    match kind.split_once('.').map_or(kind, |(family, _)| family) {
        "inventory" | "product" | "review" | "category" => Permission::ProductsRead,
        _ => Permission::OrdersRead,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_events_need_orders_read_and_catalogue_events_products_read() {
        assert_eq!(required_permission("order.created"), Permission::OrdersRead);
        assert_eq!(
            required_permission("order.refunded"),
            Permission::OrdersRead
        );
        assert_eq!(
            required_permission("inventory.low_stock"),
            Permission::ProductsRead
        );
        assert_eq!(
            required_permission("review.created"),
            Permission::ProductsRead
        );
        assert_eq!(required_permission("something.new"), Permission::OrdersRead);
        assert_eq!(required_permission("odd"), Permission::OrdersRead);
    }
}

//! A store's event log: facts other parts of the system consume later (notifications,
//! webhooks, the live feed). Each store numbers its events 1, 2, 3… in order.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use techverse_shared::{EventId, OrderId, Permission, StoreId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    #[schema(value_type = i64)]
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

/// Order events a shopper follows on their own order: status, payment and tracking.
const SHOPPER_KINDS: [&str; 8] = [
    "order.paid",
    "order.fulfilled",
    "order.shipped",
    "order.delivered",
    "order.cancelled",
    "order.expired",
    "order.refunded",
    "order.status_changed",
];
/// The payload fields a shopper may see (never the buyer's email, staff notes or reasons).
const SHOPPER_FIELDS: [&str; 10] = [
    "order_id",
    "number",
    "status",
    "from",
    "to",
    "carrier",
    "tracking_number",
    "amount",
    "refunded",
    "payment_status",
];

/// What the buyer of `order` may see of `event`: `None` when it is not about their order's
/// status, payment or tracking; else the shopper-safe fields of its payload.
pub fn for_shopper(event: &StoreEvent, order: OrderId) -> Option<serde_json::Value> {
    if !SHOPPER_KINDS.contains(&event.kind.as_str()) {
        return None;
    }
    let payload = event.payload.as_object()?;
    let about = payload.get("order_id")?.as_str()?.parse::<OrderId>().ok()?;
    if about != order {
        return None;
    }
    let mut data: serde_json::Map<String, serde_json::Value> = SHOPPER_FIELDS
        .iter()
        .filter_map(|field| Some(((*field).to_owned(), payload.get(*field)?.clone())))
        .collect();
    if let Some(fulfilment) = payload.get("fulfilment").and_then(|f| f.as_object()) {
        for field in ["carrier", "tracking_number"] {
            if let Some(value) = fulfilment.get(field) {
                data.insert(field.to_owned(), value.clone());
            }
        }
    }
    Some(serde_json::Value::Object(data))
}

/// The order an event is about, if any.
pub fn order_of(event: &StoreEvent) -> Option<OrderId> {
    event.payload.get("order_id")?.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, payload: serde_json::Value) -> StoreEvent {
        StoreEvent::new(
            StoreId::from_uuid(uuid::Uuid::now_v7()),
            kind,
            payload,
            Timestamp::UNIX_EPOCH,
        )
    }

    #[test]
    fn a_shopper_sees_only_safe_fields_of_their_own_orders_status_events() {
        let (mine, theirs) = (
            OrderId::from_uuid(uuid::Uuid::now_v7()),
            OrderId::from_uuid(uuid::Uuid::now_v7()),
        );
        let shipped = event(
            "order.shipped",
            serde_json::json!({"order_id": mine, "number": 7, "carrier": "DHL",
                "tracking_number": "T1", "email": "a@b.c", "reason": "internal"}),
        );
        assert_eq!(
            for_shopper(&shipped, mine),
            Some(
                serde_json::json!({"order_id": mine, "number": 7, "carrier": "DHL",
                "tracking_number": "T1"})
            )
        );
        assert_eq!(for_shopper(&shipped, theirs), None, "another order");
        let created = event(
            "order.created",
            serde_json::json!({"order_id": mine, "email": "a@b.c"}),
        );
        assert_eq!(for_shopper(&created, mine), None, "not a status event");
        let fulfilled = event(
            "order.fulfilled",
            serde_json::json!({"order_id": mine, "status": "fulfilled",
                "fulfilment": {"carrier": "UPS", "tracking_number": "Z9", "lines": []}}),
        );
        assert_eq!(
            for_shopper(&fulfilled, mine),
            Some(serde_json::json!({"order_id": mine, "status": "fulfilled",
                "carrier": "UPS", "tracking_number": "Z9"}))
        );
    }

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

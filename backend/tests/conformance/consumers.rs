//! Event consumers' positions: which stores a consumer lags in, and the lease that lets one
//! instance at a time hand a store's events on.

use jiff::{SignedDuration, Timestamp};
use techverse::domain::events::StoreEvent;
use techverse_shared::StoreId;

use crate::harness::Harness;

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millisecond(millis).unwrap()
}

fn store() -> StoreId {
    StoreId::from_uuid(uuid::Uuid::now_v7())
}

async fn append(h: &Harness, store: StoreId, count: usize) {
    for _ in 0..count {
        let event = StoreEvent::new(store, "order.created", serde_json::json!({}), at(1));
        h.storage()
            .catalog()
            .append_event(store, &event)
            .await
            .unwrap();
    }
}

pub async fn a_consumer_lags_in_stores_with_new_events_until_it_advances(h: &Harness) {
    let consumers = h.storage().consumers();
    let (a, b) = (store(), store());
    append(h, a, 3).await;
    append(h, b, 1).await;
    let mut behind = consumers.behind("mail", 100).await.unwrap();
    behind.sort_by_key(|lag| lag.head);
    let seen: Vec<(StoreId, i64, i64)> = behind
        .iter()
        .map(|lag| (lag.store, lag.head, lag.position))
        .collect();
    assert_eq!(seen, [(b, 1, 0), (a, 3, 0)], "a new store starts at 0");
    let now = at(1_800_000_000_000);
    let lease = now + SignedDuration::from_secs(30);
    assert_eq!(
        consumers.claim("mail", a, "one", now, lease).await.unwrap(),
        Some(0)
    );
    assert!(consumers.advance("mail", a, "one", 3).await.unwrap());
    let behind = consumers.behind("mail", 100).await.unwrap();
    assert_eq!(behind.len(), 1);
    assert_eq!(behind[0].store, b);
    assert_eq!(
        consumers.behind("realtime", 100).await.unwrap().len(),
        2,
        "each consumer has its own position"
    );
    append(h, a, 2).await;
    let behind = consumers.behind("mail", 100).await.unwrap();
    let lag_a = behind.iter().find(|lag| lag.store == a).unwrap();
    assert_eq!((lag_a.head, lag_a.position), (5, 3));
    assert_eq!(
        consumers.claim("mail", a, "two", now, lease).await.unwrap(),
        Some(3),
        "the lease was given back on advance"
    );
}

pub async fn a_leased_store_is_handed_on_by_its_holder_alone_until_the_lease_ends(h: &Harness) {
    let consumers = h.storage().consumers();
    let s = store();
    append(h, s, 2).await;
    let now = at(1_800_000_000_000);
    let lease = now + SignedDuration::from_secs(30);
    assert_eq!(
        consumers
            .claim("webhooks", s, "one", now, lease)
            .await
            .unwrap(),
        Some(0)
    );
    assert_eq!(
        consumers
            .claim("webhooks", s, "two", now, lease)
            .await
            .unwrap(),
        None,
        "held by another instance"
    );
    assert_eq!(
        consumers
            .claim("webhooks", s, "one", now, lease)
            .await
            .unwrap(),
        Some(0),
        "its holder may renew it"
    );
    // "one" crashes; once its lease ends, "two" takes over from the same position.
    let later = lease + SignedDuration::from_secs(1);
    assert_eq!(
        consumers
            .claim(
                "webhooks",
                s,
                "two",
                later,
                later + SignedDuration::from_secs(30)
            )
            .await
            .unwrap(),
        Some(0)
    );
    assert!(
        !consumers.advance("webhooks", s, "one", 2).await.unwrap(),
        "the old holder cannot advance after losing the lease"
    );
    assert!(consumers.advance("webhooks", s, "two", 2).await.unwrap());
    assert!(
        !consumers.advance("webhooks", s, "two", 1).await.unwrap(),
        "advancing gave the lease back"
    );
    assert!(consumers.behind("webhooks", 100).await.unwrap().is_empty());
}

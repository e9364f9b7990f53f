//! Merchant webhooks in storage: endpoints per store saved by version, one delivery per
//! endpoint and event, due deliveries leased to one worker, the log newest first.

use jiff::{SignedDuration, Timestamp};
use techverse::domain::webhook::{Delivery, DeliveryState, SigningSecret, WebhookEndpoint};
use techverse_shared::{EventId, StoreId, WebhookDeliveryId, WebhookId};

use crate::harness::Harness;

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millisecond(millis).unwrap()
}

fn endpoint(store: StoreId) -> WebhookEndpoint {
    WebhookEndpoint {
        id: WebhookId::from_uuid(uuid::Uuid::now_v7()),
        store_id: store,
        url: "https://example.com/hook".into(),
        events: vec!["order.created".into()],
        description: Some("ERP".into()),
        active: true,
        secrets: vec![SigningSecret {
            secret: "whsec_abc".into(),
            expires_at: None,
        }],
        failing_since: None,
        disabled_reason: None,
        created_at: at(1_000),
        updated_at: at(1_000),
        version: 0,
    }
}

fn delivery(endpoint: &WebhookEndpoint, event: EventId, due: i64) -> Delivery {
    Delivery {
        id: WebhookDeliveryId::from_uuid(uuid::Uuid::now_v7()),
        store_id: endpoint.store_id,
        endpoint_id: endpoint.id,
        event_id: event,
        kind: "order.created".into(),
        body: "{}".into(),
        state: DeliveryState::Pending,
        attempts: Vec::new(),
        scheduled_attempts: 0,
        next_attempt_at: Some(at(due)),
        lease_until: at(0),
        created_at: at(due),
    }
}

pub async fn webhooks_are_per_store_and_saved_by_version(h: &Harness) {
    let repo = h.storage().webhooks();
    let (s, other) = (
        StoreId::from_uuid(uuid::Uuid::now_v7()),
        StoreId::from_uuid(uuid::Uuid::now_v7()),
    );
    let mut first = endpoint(s);
    repo.insert_webhook(&first).await.unwrap();
    repo.insert_webhook(&endpoint(s)).await.unwrap();
    assert_eq!(repo.webhooks(s).await.unwrap().len(), 2);
    assert!(repo.webhooks(other).await.unwrap().is_empty());
    assert!(
        repo.webhook(other, first.id).await.unwrap().is_none(),
        "not another store's"
    );
    first.active = false;
    assert!(repo.save_webhook(&first).await.unwrap());
    assert!(
        !repo.save_webhook(&first).await.unwrap(),
        "an old version is refused"
    );
    let stored = repo.webhook(s, first.id).await.unwrap().unwrap();
    assert!(!stored.active);
    assert_eq!(stored.version, 1);
    assert_eq!(stored.secrets, first.secrets);
    assert!(!repo.delete_webhook(other, first.id).await.unwrap());
    assert!(repo.delete_webhook(s, first.id).await.unwrap());
    assert_eq!(repo.webhooks(s).await.unwrap().len(), 1);
}

pub async fn one_delivery_per_endpoint_and_event_leased_to_one_worker(h: &Harness) {
    let repo = h.storage().webhooks();
    let s = StoreId::from_uuid(uuid::Uuid::now_v7());
    let hook = endpoint(s);
    repo.insert_webhook(&hook).await.unwrap();
    let event = EventId::from_uuid(uuid::Uuid::now_v7());
    let first = delivery(&hook, event, 5_000);
    assert!(repo.insert_delivery(&first).await.unwrap());
    assert!(
        !repo
            .insert_delivery(&delivery(&hook, event, 5_000))
            .await
            .unwrap(),
        "the same event for the same endpoint is queued once"
    );
    let later = delivery(&hook, EventId::from_uuid(uuid::Uuid::now_v7()), 9_000);
    assert!(repo.insert_delivery(&later).await.unwrap());
    let now = at(6_000);
    let lease = now + SignedDuration::from_secs(30);
    let claimed = repo.claim_deliveries(now, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1, "only the due one");
    assert_eq!(claimed[0].id, first.id);
    assert!(
        repo.claim_deliveries(now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let mut done = claimed[0].clone();
    done.state = DeliveryState::Succeeded;
    done.next_attempt_at = None;
    repo.save_delivery(&done).await.unwrap();
    let far = at(1_000_000);
    let due = repo
        .claim_deliveries(far, far + SignedDuration::from_secs(30), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1, "the succeeded one is never due again");
    assert_eq!(due[0].id, later.id);
    let log = repo.deliveries(s, hook.id, None, 10).await.unwrap();
    assert_eq!(
        log.iter().map(|d| d.id).collect::<Vec<_>>(),
        [later.id, first.id],
        "newest first"
    );
    let older = repo
        .deliveries(s, hook.id, Some(later.id), 10)
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].state, DeliveryState::Succeeded);
    assert!(
        repo.delivery(StoreId::from_uuid(uuid::Uuid::now_v7()), first.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        repo.delete_deliveries(at(1_000_000)).await.unwrap(),
        1,
        "only finished ones"
    );
    assert!(repo.delivery(s, later.id).await.unwrap().is_some());
}

//! Payment repository behaviour every adapter must show: one connected account per store
//! (unique account id), provider events recorded once, one payment attempt per order with
//! versioned saves and leases for the reconciler.

use jiff::Timestamp;
use techverse::{
    domain::payment::{AttemptState, ConnectedAccount, EventRecord, PaymentAttempt, ProviderEvent},
    storage::StorageError,
};
use techverse_shared::{Currency, OrderId, StoreId};

use crate::harness::Harness;

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millisecond(1_700_000_000_000 + millis).unwrap()
}

fn account(store: StoreId, id: &str) -> ConnectedAccount {
    ConnectedAccount {
        store_id: store,
        account_id: id.to_owned(),
        charges_enabled: false,
        payouts_enabled: false,
        requirements_due: vec!["external_account".to_owned()],
        updated_at: at(0),
    }
}

fn attempt(store: StoreId, intent: &str, created: i64) -> PaymentAttempt {
    PaymentAttempt {
        store_id: store,
        order_id: OrderId::from_uuid(uuid::Uuid::now_v7()),
        intent_id: intent.to_owned(),
        account_id: "acct_1".to_owned(),
        client_secret: format!("{intent}_secret_x"),
        amount: 150_000,
        currency: Currency::from_code("NGN").unwrap(),
        state: AttemptState::Open,
        last_error: None,
        created_at: at(created),
        updated_at: at(created),
        lease_until: at(created),
        version: 0,
    }
}

fn new_store() -> StoreId {
    StoreId::from_uuid(uuid::Uuid::now_v7())
}

pub async fn a_store_has_one_connected_account_and_an_account_one_store(h: &Harness) {
    let repo = h.storage().payments();
    let (a, b) = (new_store(), new_store());
    repo.save_connected_account(&account(a, "acct_a"))
        .await
        .unwrap();
    let mut enabled = account(a, "acct_a");
    enabled.charges_enabled = true;
    enabled.requirements_due.clear();
    repo.save_connected_account(&enabled).await.unwrap();
    assert_eq!(
        repo.connected_account(a).await.unwrap(),
        Some(enabled.clone())
    );
    assert_eq!(
        repo.connected_account_by_id("acct_a").await.unwrap(),
        Some(enabled.clone())
    );
    let error = repo
        .save_connected_account(&account(b, "acct_a"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StorageError::Conflict("stripe_accounts.account_id")),
        "{error:?}"
    );
    assert_eq!(repo.connected_account(b).await.unwrap(), None);
    assert_eq!(
        repo.connected_account_by_id("acct_none").await.unwrap(),
        None
    );
}

pub async fn an_event_is_recorded_once_and_processed_once(h: &Harness) {
    let repo = h.storage().payments();
    let event = ProviderEvent {
        id: "evt_1".to_owned(),
        kind: "payment_intent.succeeded".to_owned(),
        account: Some("acct_1".to_owned()),
        received_at: at(0),
    };
    assert_eq!(repo.record_event(&event).await.unwrap(), EventRecord::New);
    assert_eq!(
        repo.record_event(&event).await.unwrap(),
        EventRecord::Unprocessed,
        "seen, not applied yet"
    );
    repo.mark_event_processed("evt_1", at(5)).await.unwrap();
    assert_eq!(
        repo.record_event(&event).await.unwrap(),
        EventRecord::Processed
    );
    let other = ProviderEvent {
        id: "evt_2".to_owned(),
        account: None,
        ..event
    };
    assert_eq!(repo.record_event(&other).await.unwrap(), EventRecord::New);
    // Retention forgets processed events only, and only the old ones.
    assert_eq!(repo.delete_processed_events(at(5)).await.unwrap(), 0);
    assert_eq!(repo.delete_processed_events(at(6)).await.unwrap(), 1);
    assert_eq!(
        repo.record_event(&other).await.unwrap(),
        EventRecord::Unprocessed
    );
    let first_again = ProviderEvent {
        id: "evt_1".to_owned(),
        kind: "payment_intent.succeeded".to_owned(),
        account: None,
        received_at: at(10),
    };
    assert_eq!(
        repo.record_event(&first_again).await.unwrap(),
        EventRecord::New
    );
}

pub async fn an_order_has_one_payment_attempt_saved_by_version(h: &Harness) {
    let repo = h.storage().payments();
    let store = new_store();
    let first = attempt(store, "pi_1", 0);
    repo.insert_attempt(&first).await.unwrap();
    let mut twin = attempt(store, "pi_2", 0);
    twin.order_id = first.order_id;
    let error = repo.insert_attempt(&twin).await.unwrap_err();
    assert!(
        matches!(error, StorageError::Conflict("payment_attempts.order")),
        "{error:?}"
    );
    let error = repo
        .insert_attempt(&attempt(store, "pi_1", 0))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StorageError::Conflict("payment_attempts.intent")),
        "{error:?}"
    );
    assert_eq!(
        repo.attempt(store, first.order_id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        repo.attempt(new_store(), first.order_id).await.unwrap(),
        None,
        "per store"
    );
    assert_eq!(
        repo.attempt_by_intent("pi_1").await.unwrap(),
        Some(first.clone())
    );
    let mut paid = first.clone();
    paid.state = AttemptState::Succeeded;
    assert!(repo.save_attempt(&paid).await.unwrap());
    assert!(
        !repo.save_attempt(&paid).await.unwrap(),
        "an old version is refused"
    );
    let stored = repo.attempt_by_intent("pi_1").await.unwrap().unwrap();
    assert_eq!((stored.state, stored.version), (AttemptState::Succeeded, 1));
}

pub async fn unsettled_attempts_are_listed_oldest_first_once_old_and_unleased(h: &Harness) {
    let repo = h.storage().payments();
    let (store, other) = (new_store(), new_store());
    let old = attempt(store, "pi_old", 0);
    let newer = attempt(store, "pi_newer", 1_000);
    let young = attempt(store, "pi_young", 100_000);
    let mut settled = attempt(store, "pi_settled", 10);
    settled.state = AttemptState::Succeeded;
    let mut refund_due = attempt(other, "pi_refund_due", 20);
    refund_due.state = AttemptState::RefundDue;
    for a in [&newer, &old, &young, &settled, &refund_due] {
        repo.insert_attempt(a).await.unwrap();
    }
    let intents = |list: Vec<PaymentAttempt>| -> Vec<String> {
        list.into_iter().map(|a| a.intent_id).collect()
    };
    let due = repo
        .unsettled_attempts(None, at(50_000), at(60_000), 10)
        .await
        .unwrap();
    assert_eq!(intents(due), ["pi_old", "pi_refund_due", "pi_newer"]);
    let mine = repo
        .unsettled_attempts(Some(store), at(50_000), at(60_000), 1)
        .await
        .unwrap();
    assert_eq!(intents(mine), ["pi_old"]);
    // Leased to a reconciler: not listed until the lease ends.
    let mut leased = old.clone();
    leased.lease_until = at(120_000);
    assert!(repo.save_attempt(&leased).await.unwrap());
    let due = repo
        .unsettled_attempts(Some(store), at(50_000), at(60_000), 10)
        .await
        .unwrap();
    assert_eq!(intents(due), ["pi_newer"]);
    let later = repo
        .unsettled_attempts(Some(store), at(50_000), at(120_000), 10)
        .await
        .unwrap();
    assert_eq!(intents(later), ["pi_old", "pi_newer"]);
}

//! Refresh sessions every session store must show — the embedded and MongoDB adapters and
//! the Redis store: rotation, the grace window, reuse detection, revocation by account.

use jiff::{SignedDuration, Timestamp};
use techverse::{
    domain::session::{AccountRef, Rotation, RotationRequest, Session},
    storage::SessionRepository,
};
use techverse_shared::{CustomerId, StoreId, UserId};

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millisecond(millis).unwrap()
}

fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

fn session(id: &str, account: AccountRef, expires: i64) -> Session {
    Session {
        id: id.into(),
        account,
        refresh_hash: "hash-0".into(),
        generation: 0,
        created_at: at(1_700_000_000_000),
        expires_at: at(expires),
        previous_hash: None,
        rotated_at: None,
        rotation_key: "key".into(),
    }
}

/// A refresh presenting `presented` and moving to `new` at `now`, with a 30 s grace.
fn rotation<'a>(presented: &'a str, new: &'a str, now: Timestamp) -> RotationRequest<'a> {
    RotationRequest {
        presented_hash: presented,
        new_hash: new,
        expires_at: at(1_900_000_000_000),
        now,
        grace: SignedDuration::from_secs(30),
    }
}

pub async fn a_session_rotates_once_and_a_reused_hash_revokes_it(sessions: &dyn SessionRepository) {
    let ada = AccountRef::Staff {
        user_id: UserId::from_uuid(new_id()),
    };
    let now = at(1_800_000_000_000);
    let later = at(1_900_000_000_000);
    sessions
        .insert(&session("s1", ada, 1_850_000_000_000))
        .await
        .unwrap();
    let Rotation::Rotated(rotated) = sessions
        .rotate("s1", &rotation("hash-0", "hash-1", now))
        .await
        .unwrap()
    else {
        panic!("the current hash rotates");
    };
    assert_eq!(rotated.refresh_hash, "hash-1");
    assert_eq!(rotated.previous_hash.as_deref(), Some("hash-0"));
    assert_eq!(rotated.rotated_at, Some(now));
    assert_eq!(rotated.generation, 1);
    assert_eq!(rotated.expires_at, later);
    assert_eq!(sessions.get("s1", now).await.unwrap(), Some(rotated));
    // Past the grace window the replaced hash is a reuse: the family ends.
    let after_grace = now + SignedDuration::from_secs(31);
    assert_eq!(
        sessions
            .rotate("s1", &rotation("hash-0", "hash-1", after_grace))
            .await
            .unwrap(),
        Rotation::Reused
    );
    assert_eq!(sessions.get("s1", now).await.unwrap(), None);
    assert_eq!(
        sessions
            .rotate("s1", &rotation("hash-1", "hash-3", now))
            .await
            .unwrap(),
        Rotation::Unknown
    );
    sessions
        .insert(&session("s2", ada, 1_750_000_000_000))
        .await
        .unwrap();
    assert_eq!(sessions.get("s2", now).await.unwrap(), None, "expired");
}

pub async fn a_just_replaced_hash_repeats_its_rotation_within_the_grace_only(
    sessions: &dyn SessionRepository,
) {
    let ada = AccountRef::Staff {
        user_id: UserId::from_uuid(new_id()),
    };
    let now = at(1_800_000_000_000);
    sessions
        .insert(&session("g1", ada, 1_850_000_000_000))
        .await
        .unwrap();
    let Rotation::Rotated(rotated) = sessions
        .rotate("g1", &rotation("hash-0", "hash-1", now))
        .await
        .unwrap()
    else {
        panic!("the current hash rotates");
    };
    // A second refresh with the same old secret, moments later, gets the same rotation back.
    let soon = now + SignedDuration::from_secs(2);
    assert_eq!(
        sessions
            .rotate("g1", &rotation("hash-0", "hash-1", soon))
            .await
            .unwrap(),
        Rotation::Repeated(rotated.clone())
    );
    assert_eq!(sessions.get("g1", soon).await.unwrap(), Some(rotated));
    // The old secret leading anywhere else is not a repeat.
    assert_eq!(
        sessions
            .rotate("g1", &rotation("hash-0", "hash-x", soon))
            .await
            .unwrap(),
        Rotation::Reused
    );
    assert_eq!(sessions.get("g1", soon).await.unwrap(), None);
    // Two rotations from one current hash at once: exactly one rotates.
    sessions
        .insert(&session("g2", ada, 1_850_000_000_000))
        .await
        .unwrap();
    let request = rotation("hash-0", "hash-1", now);
    let (a, b) = tokio::join!(
        sessions.rotate("g2", &request),
        sessions.rotate("g2", &request),
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Rotated(_)))
        .count();
    let repeated = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Repeated(_)))
        .count();
    assert_eq!((rotated, repeated), (1, 1), "{outcomes:?}");
}

pub async fn revoking_an_account_ends_only_its_sessions(sessions: &dyn SessionRepository) {
    let store = store_id();
    let ada = AccountRef::Customer {
        store_id: store,
        customer_id: CustomerId::from_uuid(new_id()),
    };
    let bob = AccountRef::Customer {
        store_id: store,
        customer_id: CustomerId::from_uuid(new_id()),
    };
    let now = at(1_800_000_000_000);
    for (id, account) in [("a1", ada), ("a2", ada), ("b1", bob)] {
        sessions
            .insert(&session(id, account, 1_900_000_000_000))
            .await
            .unwrap();
    }
    assert_eq!(sessions.revoke_account(&ada).await.unwrap(), 2);
    assert_eq!(sessions.get("a1", now).await.unwrap(), None);
    assert!(sessions.get("b1", now).await.unwrap().is_some());
    assert!(sessions.revoke("b1").await.unwrap());
    assert!(!sessions.revoke("b1").await.unwrap());
}

fn store_id() -> StoreId {
    StoreId::from_uuid(new_id())
}

/// Redis only: the per-account index of session ids must outlive every session it lists,
/// however often a session is refreshed, or signing out everywhere (and a password reset)
/// misses the sessions the index forgot.
pub async fn the_account_index_outlives_every_refreshed_session(redis: &crate::harness::Redis) {
    let sessions = redis.sessions();
    let ada = AccountRef::Staff {
        user_id: UserId::from_uuid(new_id()),
    };
    let now = techverse::domain::now();
    let mut first = session("r1", ada, 0);
    first.created_at = now;
    // A session that starts short and is then refreshed for much longer than it first had.
    first.expires_at = now + SignedDuration::from_secs(60);
    sessions.insert(&first).await.unwrap();
    let mut request = rotation("hash-0", "hash-1", now);
    request.expires_at = now + SignedDuration::from_hours(3);
    assert!(matches!(
        sessions.rotate("r1", &request).await.unwrap(),
        Rotation::Rotated(_)
    ));
    let index_ttl = redis.pttl(&format!("account-sessions:{}", ada.key())).await;
    let session_ttl = redis.pttl("session:r1").await;
    assert!(
        session_ttl > 60_000,
        "rotation extended the session: {session_ttl}"
    );
    assert!(
        index_ttl >= session_ttl,
        "the index ({index_ttl} ms) must outlive the session ({session_ttl} ms)"
    );
    // A second, shorter session does not shorten the index either.
    let mut short = session("r2", ada, 0);
    short.expires_at = now + SignedDuration::from_secs(30);
    sessions.insert(&short).await.unwrap();
    assert!(redis.pttl(&format!("account-sessions:{}", ada.key())).await >= session_ttl - 1_000);
    assert_eq!(sessions.revoke_account(&ada).await.unwrap(), 2);
    assert_eq!(sessions.get("r1", now).await.unwrap(), None);
}

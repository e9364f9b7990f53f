//! Identity repositories every adapter must show: unique rules, store scoping, optimistic
//! team saves, single-use tokens, session rotation, the outbox lease and the audit log.

use jiff::{SignedDuration, Timestamp};
use techverse::{
    domain::{
        access::{Role, Team},
        account::{Customer, Email, PersonName, StaffUser},
        audit::{AuditEntry, AuditQuery},
        mail::OutgoingMail,
        token::{OneTimeToken, TokenPurpose, TokenSubject},
    },
    storage::StorageError,
};
use techverse_shared::{AuditEntryId, CustomerId, StoreId, UserId};

use crate::harness::Harness;

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millisecond(millis).unwrap()
}

fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

fn user(email: &str) -> StaffUser {
    StaffUser {
        id: UserId::from_uuid(new_id()),
        email: Email::parse(email).unwrap(),
        name: PersonName::parse("Ada").unwrap(),
        password_hash: "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA".into(),
        email_verified: false,
        platform_admin: false,
        created_at: at(1_700_000_000_001),
        updated_at: at(1_700_000_000_001),
        version: 0,
        notifications: Vec::new(),
    }
}

fn customer(store: StoreId, email: &str) -> Customer {
    Customer {
        id: CustomerId::from_uuid(new_id()),
        store_id: store,
        email: Email::parse(email).unwrap(),
        name: PersonName::parse("Ada").unwrap(),
        phone: None,
        password_hash: "hash".into(),
        email_verified: false,
        addresses: Vec::new(),
        created_at: at(1_700_000_000_002),
        updated_at: at(1_700_000_000_002),
        version: 0,
    }
}

fn store_id() -> StoreId {
    StoreId::from_uuid(new_id())
}

pub async fn users_are_unique_by_email_and_found_by_id_and_email(h: &Harness) {
    let users = h.storage().users();
    let ada = user("ada@example.com");
    users.insert(&ada).await.unwrap();
    assert_eq!(users.by_id(ada.id).await.unwrap(), Some(ada.clone()));
    assert_eq!(users.by_email(&ada.email).await.unwrap(), Some(ada.clone()));
    let twin = user("ada@example.com");
    assert!(matches!(
        users.insert(&twin).await,
        Err(StorageError::Conflict(_))
    ));
    let mut verified = ada.clone();
    verified.email_verified = true;
    verified.platform_admin = true;
    assert!(users.update(&verified).await.unwrap());
    verified.version = 1;
    assert_eq!(users.by_id(ada.id).await.unwrap(), Some(verified.clone()));
    assert_eq!(users.by_id(twin.id).await.unwrap(), None);
    // A save based on the copy read before that one is refused and changes nothing.
    let mut stale = ada.clone();
    stale.password_hash = "stale".into();
    assert!(!users.update(&stale).await.unwrap());
    assert_eq!(users.by_id(ada.id).await.unwrap(), Some(verified));
}

pub async fn customers_are_unique_per_store_and_invisible_to_other_stores(h: &Harness) {
    let customers = h.storage().customers();
    let (a, b) = (store_id(), store_id());
    let in_a = customer(a, "ada@example.com");
    let in_b = customer(b, "ada@example.com");
    customers.insert(a, &in_a).await.unwrap();
    customers.insert(b, &in_b).await.unwrap();
    assert!(matches!(
        customers.insert(a, &customer(a, "ada@example.com")).await,
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(
        customers.by_id(a, in_a.id).await.unwrap(),
        Some(in_a.clone())
    );
    assert_eq!(
        customers.by_id(b, in_a.id).await.unwrap(),
        None,
        "store scope"
    );
    assert_eq!(
        customers.by_email(b, &in_a.email).await.unwrap(),
        Some(in_b.clone())
    );
    let mut renamed = in_a.clone();
    renamed.name = PersonName::parse("Ada Obi").unwrap();
    // An update through the wrong store changes nothing.
    assert!(!customers.update(b, &renamed).await.unwrap());
    assert_eq!(
        customers.by_id(a, in_a.id).await.unwrap(),
        Some(in_a.clone())
    );
    assert!(customers.update(a, &renamed).await.unwrap());
    renamed.version = 1;
    assert_eq!(
        customers.by_id(a, in_a.id).await.unwrap(),
        Some(renamed.clone())
    );
    // A password change saved from a copy read before the rename is refused: it would write
    // the old name back (and a rename from an old copy would write an old password hash back).
    let mut stale = in_a.clone();
    stale.password_hash = "new-hash".into();
    assert!(!customers.update(a, &stale).await.unwrap());
    assert_eq!(customers.by_id(a, in_a.id).await.unwrap(), Some(renamed));
}

pub async fn a_team_save_based_on_an_old_version_is_refused(h: &Harness) {
    let teams = h.storage().teams();
    let store = store_id();
    let owner = UserId::from_uuid(new_id());
    let clerk = UserId::from_uuid(new_id());
    teams
        .create(&Team::founded(store, owner, at(1_700_000_000_000)))
        .await
        .unwrap();
    assert!(matches!(
        teams.create(&Team::founded(store, owner, at(1))).await,
        Err(StorageError::Conflict(_))
    ));
    let read = teams.get(store).await.unwrap().unwrap();
    assert_eq!(read.version, 1);
    let mut first = read.clone();
    first
        .admit(clerk, Role::Staff, at(1_700_000_000_500))
        .unwrap();
    let mut second = read.clone();
    second
        .admit(
            UserId::from_uuid(new_id()),
            Role::Admin,
            at(1_700_000_000_600),
        )
        .unwrap();
    assert!(teams.save(&first).await.unwrap());
    assert!(
        !teams.save(&second).await.unwrap(),
        "based on version 1, now 2"
    );
    let stored = teams.get(store).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.members, first.members);
    assert_eq!(teams.stores_of(clerk).await.unwrap(), vec![store]);
    assert_eq!(teams.stores_of(owner).await.unwrap(), vec![store]);
    let mut without = stored.clone();
    without.members.retain(|m| m.user_id != clerk);
    assert!(teams.save(&without).await.unwrap());
    assert!(teams.stores_of(clerk).await.unwrap().is_empty());
}

fn token(hash: &str, purpose: TokenPurpose, user: UserId, expires: i64) -> OneTimeToken {
    OneTimeToken {
        hash: hash.into(),
        purpose,
        subject: TokenSubject::Staff { user_id: user },
        created_at: at(1_700_000_000_000),
        expires_at: at(expires),
    }
}

pub async fn a_one_time_token_is_consumed_once_and_never_after_expiry(h: &Harness) {
    let tokens = h.storage().tokens();
    let ada = UserId::from_uuid(new_id());
    let now = at(1_800_000_000_000);
    tokens
        .insert(&token(
            "h1",
            TokenPurpose::VerifyEmail,
            ada,
            1_900_000_000_000,
        ))
        .await
        .unwrap();
    assert_eq!(
        tokens
            .consume(TokenPurpose::PasswordReset, "h1", now)
            .await
            .unwrap(),
        None,
        "purpose"
    );
    let consumed = tokens
        .consume(TokenPurpose::VerifyEmail, "h1", now)
        .await
        .unwrap();
    assert_eq!(consumed.map(|t| t.hash), Some("h1".to_owned()));
    assert_eq!(
        tokens
            .consume(TokenPurpose::VerifyEmail, "h1", now)
            .await
            .unwrap(),
        None,
        "once"
    );

    tokens
        .insert(&token(
            "h2",
            TokenPurpose::PasswordReset,
            ada,
            1_800_000_000_000,
        ))
        .await
        .unwrap();
    assert_eq!(
        tokens
            .consume(TokenPurpose::PasswordReset, "h2", now)
            .await
            .unwrap(),
        None,
        "expired"
    );

    // A newer token of the same purpose replaces the older one.
    tokens
        .insert(&token(
            "h3",
            TokenPurpose::PasswordReset,
            ada,
            1_900_000_000_000,
        ))
        .await
        .unwrap();
    tokens
        .insert(&token(
            "h4",
            TokenPurpose::PasswordReset,
            ada,
            1_900_000_000_000,
        ))
        .await
        .unwrap();
    assert_eq!(
        tokens
            .consume(TokenPurpose::PasswordReset, "h3", now)
            .await
            .unwrap(),
        None
    );
    assert!(
        tokens
            .consume(TokenPurpose::PasswordReset, "h4", now)
            .await
            .unwrap()
            .is_some()
    );
}

fn mail(id: &str, due: i64) -> OutgoingMail {
    OutgoingMail {
        id: id.into(),
        to: "ada@example.com".into(),
        subject: format!("mail {id}"),
        text: "text".into(),
        html: "<p>html</p>".into(),
        attempts: 0,
        next_attempt_at: at(due),
        lease_until: at(due),
        last_error: None,
        created_at: at(due),
        dead_at: None,
    }
}

pub async fn the_outbox_leases_due_mail_and_keeps_it_until_sent(h: &Harness) {
    let outbox = h.storage().outbox();
    let now = at(1_800_000_000_000);
    outbox
        .enqueue(&mail("m1", 1_799_999_999_000))
        .await
        .unwrap();
    outbox
        .enqueue(&mail("m2", 1_799_999_999_500))
        .await
        .unwrap();
    outbox
        .enqueue(&mail("later", 1_900_000_000_000))
        .await
        .unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 3);
    let lease = now + SignedDuration::from_secs(60);
    let claimed = outbox.claim_due(now, lease, 10).await.unwrap();
    let ids: Vec<&str> = claimed.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["m1", "m2"], "due mail, oldest first");
    assert!(
        outbox.claim_due(now, lease, 10).await.unwrap().is_empty(),
        "leased"
    );
    outbox.mark_sent("m1", now).await.unwrap();
    let retry_at = now + SignedDuration::from_secs(5);
    outbox
        .retry_later("m2", 1, retry_at, "connection refused")
        .await
        .unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 2, "nothing lost");
    assert!(
        outbox.claim_due(now, lease, 10).await.unwrap().is_empty(),
        "not due yet"
    );
    let again = outbox
        .claim_due(retry_at, retry_at + SignedDuration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("connection refused"));
}

fn entry(store: StoreId, actor: UserId, action: &str, millis: i64) -> AuditEntry {
    AuditEntry {
        id: AuditEntryId::from_uuid(new_id()),
        store_id: store,
        actor_id: actor,
        actor_email: "ada@example.com".into(),
        action: action.into(),
        target: "store".into(),
        summary: serde_json::json!({ "n": millis }),
        request_id: Some("req-1".into()),
        at: at(millis),
    }
}

pub async fn audit_entries_list_newest_first_by_store_with_filters(h: &Harness) {
    let audit = h.storage().audit();
    let (store, other) = (store_id(), store_id());
    let (ada, bob) = (UserId::from_uuid(new_id()), UserId::from_uuid(new_id()));
    let mut written = Vec::new();
    for (n, (actor, action)) in [
        (ada, "role.created"),
        (bob, "staff.invited"),
        (ada, "role.created"),
        (ada, "role.deleted"),
    ]
    .into_iter()
    .enumerate()
    {
        let e = entry(
            store,
            actor,
            action,
            1_700_000_000_000 + i64::try_from(n).unwrap() * 1000,
        );
        audit.append(&e).await.unwrap();
        written.push(e);
    }
    audit
        .append(&entry(other, ada, "role.created", 1_700_000_000_000))
        .await
        .unwrap();
    let all = audit
        .list(
            store,
            &AuditQuery {
                limit: 10,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    let expected: Vec<_> = written.iter().rev().cloned().collect();
    assert_eq!(all, expected);
    let by_ada = audit
        .list(
            store,
            &AuditQuery {
                actor: Some(ada),
                action: Some("role.created".into()),
                limit: 10,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_ada.len(), 2);
    let window = audit
        .list(
            store,
            &AuditQuery {
                from: Some(at(1_700_000_001_000)),
                to: Some(at(1_700_000_002_000)),
                limit: 10,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(window.len(), 2);
    let page = audit
        .list(
            store,
            &AuditQuery {
                before: Some(written[2].id),
                limit: 1,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page, vec![written[1].clone()]);
}

fn invitation(hash: &str, store: StoreId, email: &str, expires: i64) -> OneTimeToken {
    OneTimeToken {
        hash: hash.into(),
        purpose: TokenPurpose::Invitation,
        subject: TokenSubject::Invite {
            store_id: store,
            email: Email::parse(email).unwrap(),
            role: Role::Staff,
            invited_by: UserId::from_uuid(new_id()),
        },
        created_at: at(1_700_000_000_000),
        expires_at: at(expires),
    }
}

pub async fn invitations_list_per_store_are_found_without_spending_and_deleted(h: &Harness) {
    let tokens = h.storage().tokens();
    let (shop, other) = (store_id(), store_id());
    let now = at(1_800_000_000_000);
    for token in [
        invitation("i1", shop, "a@example.com", 1_900_000_000_000),
        invitation("i2", shop, "b@example.com", 1_950_000_000_000),
        invitation("i3", shop, "c@example.com", 1_750_000_000_000),
        invitation("i4", other, "a@example.com", 1_900_000_000_000),
    ] {
        tokens.insert(&token).await.unwrap();
    }
    let listed: Vec<String> = tokens
        .invitations(shop, now, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.hash)
        .collect();
    assert_eq!(
        listed,
        ["i2", "i1"],
        "this store's unexpired ones, newest expiry first"
    );
    assert_eq!(tokens.invitations(shop, now, 1).await.unwrap().len(), 1);
    let found = tokens
        .find(TokenPurpose::Invitation, "i1", now)
        .await
        .unwrap();
    assert_eq!(found.map(|t| t.hash).as_deref(), Some("i1"));
    assert!(
        tokens
            .find(TokenPurpose::Invitation, "i1", now)
            .await
            .unwrap()
            .is_some(),
        "finding does not spend it"
    );
    assert!(
        tokens
            .find(TokenPurpose::PasswordReset, "i1", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        tokens
            .find(TokenPurpose::Invitation, "i3", now)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(tokens.delete("i1").await.unwrap());
    assert!(!tokens.delete("i1").await.unwrap());
    assert_eq!(tokens.invitations(shop, now, 10).await.unwrap().len(), 1);
    assert_eq!(tokens.invitations(other, now, 10).await.unwrap().len(), 1);
}

pub async fn undeliverable_mail_is_kept_counted_and_never_claimed_again(h: &Harness) {
    let outbox = h.storage().outbox();
    let now = at(1_800_000_000_000);
    outbox
        .enqueue(&mail("d1", 1_799_999_999_000))
        .await
        .unwrap();
    outbox
        .enqueue(&mail("d2", 1_799_999_999_000))
        .await
        .unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 2);
    outbox
        .give_up("d1", 7, now, "550 no such mailbox")
        .await
        .unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 1);
    assert_eq!(outbox.dead().await.unwrap(), 1);
    let far = at(1_900_000_000_000);
    let claimed = outbox
        .claim_due(far, far + SignedDuration::from_secs(60), 10)
        .await
        .unwrap();
    let ids: Vec<&str> = claimed.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["d2"], "the dead message is never due again");
}

pub async fn mail_queued_twice_under_one_id_is_sent_once_even_after_it_was_sent(h: &Harness) {
    let outbox = h.storage().outbox();
    let now = at(1_800_000_000_000);
    assert!(
        outbox
            .enqueue(&mail("once", 1_799_999_999_000))
            .await
            .unwrap()
    );
    assert!(
        !outbox
            .enqueue(&mail("once", 1_799_999_999_000))
            .await
            .unwrap(),
        "queued before"
    );
    assert_eq!(outbox.pending().await.unwrap(), 1);
    let claimed = outbox
        .claim_due(now, now + SignedDuration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    outbox.mark_sent("once", now).await.unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 0);
    assert!(
        !outbox
            .enqueue(&mail("once", 1_799_999_999_000))
            .await
            .unwrap(),
        "sent before: still refused"
    );
    let much_later = now + SignedDuration::from_hours(24 * 8);
    assert!(
        outbox
            .claim_due(much_later, much_later + SignedDuration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "a sent message is never due again"
    );
    assert_eq!(
        outbox.purge_sent(now).await.unwrap(),
        0,
        "not older than now"
    );
    assert_eq!(outbox.purge_sent(much_later).await.unwrap(), 1);
    assert!(
        outbox
            .enqueue(&mail("once", 1_799_999_999_000))
            .await
            .unwrap()
    );
}

pub async fn expired_one_time_tokens_are_deleted(h: &Harness) {
    let tokens = h.storage().tokens();
    let token = |hash: &str, expires: i64| OneTimeToken {
        hash: hash.into(),
        purpose: TokenPurpose::SocketTicket,
        subject: TokenSubject::Staff {
            user_id: UserId::from_uuid(new_id()),
        },
        created_at: at(1_000),
        expires_at: at(expires),
    };
    tokens.insert(&token("old", 2_000)).await.unwrap();
    tokens.insert(&token("fresh", 9_000)).await.unwrap();
    assert_eq!(tokens.delete_expired(at(5_000)).await.unwrap(), 1);
    assert!(
        tokens
            .find(TokenPurpose::SocketTicket, "fresh", at(5_000))
            .await
            .unwrap()
            .is_some()
    );
    assert!(!tokens.delete("old").await.unwrap(), "already deleted");
}

pub async fn customers_list_by_email_prefix_and_cursor_within_their_store(h: &Harness) {
    let customers = h.storage().customers();
    let (a, b) = (store_id(), store_id());
    for email in [
        "cy@example.com",
        "ada@example.com",
        "bo@example.com",
        "adebayo@example.com",
    ] {
        customers.insert(a, &customer(a, email)).await.unwrap();
    }
    customers
        .insert(b, &customer(b, "abe@example.com"))
        .await
        .unwrap();
    let emails = |list: Vec<Customer>| -> Vec<String> {
        list.into_iter()
            .map(|c| c.email.as_str().to_owned())
            .collect()
    };
    assert_eq!(
        emails(customers.list(a, None, None, 10).await.unwrap()),
        [
            "ada@example.com",
            "adebayo@example.com",
            "bo@example.com",
            "cy@example.com"
        ]
    );
    assert_eq!(
        emails(
            customers
                .list(a, None, Some("adebayo@example.com"), 10)
                .await
                .unwrap()
        ),
        ["bo@example.com", "cy@example.com"]
    );
    assert_eq!(
        emails(customers.list(a, Some("ad"), None, 1).await.unwrap()),
        ["ada@example.com"]
    );
    assert_eq!(
        emails(
            customers
                .list(a, Some("ad"), Some("ada@example.com"), 10)
                .await
                .unwrap()
        ),
        ["adebayo@example.com"]
    );
    assert_eq!(
        emails(
            customers
                .list(a, Some("ad"), Some("aaa"), 10)
                .await
                .unwrap()
        ),
        ["ada@example.com", "adebayo@example.com"]
    );
    assert!(
        customers
            .list(a, Some("zz"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        emails(customers.list(b, None, None, 10).await.unwrap()),
        ["abe@example.com"],
        "store scope"
    );
}

//! Store repository behaviour every adapter must show.

use jiff::Timestamp;
use techverse::{
    domain::store::{NewStore, NewStoreInput, Store},
    storage::StorageError,
};
use techverse_shared::{StoreId, StoreSlug, StoreStatus};

use crate::harness::Harness;

fn store(slug: &str, millis: i64) -> Store {
    let new = NewStore::parse(&NewStoreInput {
        slug: slug.into(),
        name: format!("Store {slug}"),
        currency: "NGN".into(),
        timezone: Some("Africa/Lagos".into()),
        ..NewStoreInput::default()
    })
    .expect("valid store");
    Store::open(
        StoreId::from_uuid(uuid::Uuid::now_v7()),
        new,
        Timestamp::from_millisecond(millis).expect("time"),
    )
}

fn slug(s: &str) -> StoreSlug {
    StoreSlug::parse(s).expect("slug")
}

pub async fn a_created_store_is_found_by_id_and_by_slug(h: &Harness) {
    let demo = store("demo", 1_700_000_000_123);
    h.storage().stores().insert(&demo).await.unwrap();
    assert_eq!(
        h.storage().stores().by_id(demo.id).await.unwrap(),
        Some(demo.clone())
    );
    assert_eq!(
        h.storage().stores().by_slug(&slug("demo")).await.unwrap(),
        Some(demo)
    );
}

pub async fn a_taken_slug_is_a_conflict_and_the_first_store_is_unchanged(h: &Harness) {
    let first = store("taken", 1_700_000_000_000);
    h.storage().stores().insert(&first).await.unwrap();
    let second = store("taken", 1_700_000_500_000);
    let error = h.storage().stores().insert(&second).await.unwrap_err();
    assert!(
        matches!(error, StorageError::Conflict("stores.slug")),
        "{error:?}"
    );
    assert_eq!(
        h.storage().stores().by_slug(&slug("taken")).await.unwrap(),
        Some(first)
    );
    assert_eq!(h.storage().stores().by_id(second.id).await.unwrap(), None);
}

pub async fn unknown_ids_and_slugs_find_nothing(h: &Harness) {
    h.storage()
        .stores()
        .insert(&store("known", 1_700_000_000_000))
        .await
        .unwrap();
    let unknown = StoreId::from_uuid(uuid::Uuid::now_v7());
    assert_eq!(h.storage().stores().by_id(unknown).await.unwrap(), None);
    assert_eq!(
        h.storage()
            .stores()
            .by_slug(&slug("unknown"))
            .await
            .unwrap(),
        None
    );
}

pub async fn stores_list_in_slug_order_and_page_after_a_cursor(h: &Harness) {
    for (i, name) in ["cherry", "apple", "banana", "date"]
        .into_iter()
        .enumerate()
    {
        h.storage()
            .stores()
            .insert(&store(name, 1_700_000_000_000 + i as i64))
            .await
            .unwrap();
    }
    let slugs = |stores: Vec<Store>| {
        stores
            .into_iter()
            .map(|s| s.slug.to_string())
            .collect::<Vec<_>>()
    };
    let first = h.storage().stores().list(None, 2).await.unwrap();
    assert_eq!(slugs(first), ["apple", "banana"]);
    let rest = h
        .storage()
        .stores()
        .list(Some(&slug("banana")), 10)
        .await
        .unwrap();
    assert_eq!(slugs(rest), ["cherry", "date"]);
    let none = h
        .storage()
        .stores()
        .list(Some(&slug("date")), 10)
        .await
        .unwrap();
    assert!(none.is_empty());
}

pub async fn a_status_change_is_stored_and_returned(h: &Harness) {
    let demo = store("demo", 1_700_000_000_000);
    h.storage().stores().insert(&demo).await.unwrap();
    let at = Timestamp::from_millisecond(1_700_000_999_000).unwrap();
    let updated = h
        .storage()
        .stores()
        .set_status(demo.id, StoreStatus::Suspended, at)
        .await
        .unwrap()
        .expect("store exists");
    assert_eq!(updated.status, StoreStatus::Suspended);
    assert_eq!(updated.updated_at, at);
    assert_eq!(updated.created_at, demo.created_at);
    let read = h.storage().stores().by_id(demo.id).await.unwrap().unwrap();
    assert_eq!(read, updated);
}

pub async fn a_status_change_of_an_unknown_store_finds_nothing(h: &Harness) {
    let unknown = StoreId::from_uuid(uuid::Uuid::now_v7());
    let result = h
        .storage()
        .stores()
        .set_status(
            unknown,
            StoreStatus::Suspended,
            Timestamp::from_millisecond(0).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(result, None);
}

pub async fn committed_stores_survive_reopening_the_storage(h: &Harness) {
    let demo = store("durable", 1_700_000_000_000);
    h.storage().stores().insert(&demo).await.unwrap();
    let reopened = h.reopen().await;
    assert_eq!(
        reopened.stores().by_slug(&slug("durable")).await.unwrap(),
        Some(demo)
    );
}

pub async fn migrating_twice_keeps_data_and_rules(h: &Harness) {
    let demo = store("kept", 1_700_000_000_000);
    h.storage().stores().insert(&demo).await.unwrap();
    h.storage().migrate().await.unwrap();
    h.storage().migrate().await.unwrap();
    assert_eq!(
        h.storage().stores().by_id(demo.id).await.unwrap(),
        Some(demo)
    );
    let again = h
        .storage()
        .stores()
        .insert(&store("kept", 1_700_000_000_001))
        .await;
    assert!(matches!(again, Err(StorageError::Conflict(_))));
}

pub async fn the_database_answers_a_ping(h: &Harness) {
    h.storage().ping().await.unwrap();
}

pub async fn a_profile_update_saves_the_details_and_never_the_status(h: &Harness) {
    let demo = store("profiled", 1_700_000_000_000);
    let stores = h.storage().stores();
    stores.insert(&demo).await.unwrap();
    // Suspended meanwhile: the profile saved from the older copy keeps the suspension.
    stores
        .set_status(
            demo.id,
            StoreStatus::Suspended,
            Timestamp::from_millisecond(1_700_000_500_000).unwrap(),
        )
        .await
        .unwrap();
    let mut next = demo.clone();
    next.name = techverse::domain::store::StoreName::parse("Renamed").unwrap();
    next.details.description = "Phones and laptops, delivered across Nigeria.".into();
    next.details.logo_url = Some(format!("/media/{}/logo.png", demo.id));
    next.details.contact_email = Some("hello@profiled.example".into());
    next.timezone = techverse::domain::store::TimeZoneName::parse("Europe/London").unwrap();
    next.updated_at = Timestamp::from_millisecond(1_700_000_999_000).unwrap();
    let saved = stores
        .update_profile(&next)
        .await
        .unwrap()
        .expect("store exists");
    assert_eq!(saved.status, StoreStatus::Suspended);
    assert_eq!(saved.details, next.details);
    assert_eq!(saved.name.as_str(), "Renamed");
    let read = stores.by_id(demo.id).await.unwrap().unwrap();
    assert_eq!(read, saved);
    // Cleared details read back as absent, not as empty strings.
    let mut cleared = read.clone();
    cleared.details = techverse::domain::store::StoreDetails::default();
    stores.update_profile(&cleared).await.unwrap();
    let read = stores.by_id(demo.id).await.unwrap().unwrap();
    assert_eq!(
        read.details,
        techverse::domain::store::StoreDetails::default()
    );
    let mut unknown = demo.clone();
    unknown.id = StoreId::from_uuid(uuid::Uuid::now_v7());
    assert_eq!(stores.update_profile(&unknown).await.unwrap(), None);
}

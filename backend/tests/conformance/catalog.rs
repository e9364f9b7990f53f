//! Catalogue storage every adapter must show: unique slugs and SKUs per store, versioned
//! saves, search and suggestions over active products only, atomic stock changes, categories,
//! wishlists, the catalogue version and the numbered event log.

use jiff::Timestamp;
use techverse::{
    domain::{
        catalog::{Category, Product, ProductInput, VariantInput},
        events::StoreEvent,
    },
    storage::{StockChange, StorageError},
};
use techverse_shared::{CategoryId, CustomerId, ProductId, ProductStatus, StoreId, VariantId};

use crate::harness::Harness;

fn store() -> StoreId {
    StoreId::from_uuid(uuid::Uuid::now_v7())
}

fn product(store: StoreId, title: &str, sku: &str, status: ProductStatus, millis: i64) -> Product {
    let input = ProductInput {
        title: title.into(),
        description: Some(format!("All about the {title}")),
        brand: Some("Acme".into()),
        tags: vec!["gadgets".into()],
        status: Some(status),
        variants: vec![VariantInput {
            sku: sku.into(),
            price: 1000,
            stock: Some(5),
            ..VariantInput::default()
        }],
        ..ProductInput::default()
    };
    let mut ids = || VariantId::from_uuid(uuid::Uuid::now_v7());
    Product::parse(
        &input,
        ProductId::from_uuid(uuid::Uuid::now_v7()),
        store,
        None,
        &mut ids,
        Timestamp::from_millisecond(millis).unwrap(),
    )
    .unwrap()
}

pub async fn product_slugs_and_skus_are_unique_per_store(h: &Harness) {
    let catalog = h.storage().catalog();
    let (a, b) = (store(), store());
    let one = product(
        a,
        "Acme Phone",
        "SKU-1",
        ProductStatus::Active,
        1_700_000_000_000,
    );
    catalog.insert_product(a, &one).await.unwrap();
    let mut stored = catalog.product(a, one.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    stored.version = one.version;
    assert_eq!(stored, one);
    assert_eq!(
        catalog
            .product_by_slug(a, "acme-phone")
            .await
            .unwrap()
            .map(|p| p.id),
        Some(one.id)
    );
    assert_eq!(
        catalog.product(b, one.id).await.unwrap(),
        None,
        "store scope"
    );
    let same_slug = product(
        a,
        "Acme Phone",
        "SKU-2",
        ProductStatus::Active,
        1_700_000_000_001,
    );
    assert!(matches!(
        catalog.insert_product(a, &same_slug).await,
        Err(StorageError::Conflict("products.slug"))
    ));
    let same_sku = product(
        a,
        "Other Phone",
        "sku-1",
        ProductStatus::Active,
        1_700_000_000_002,
    );
    assert!(matches!(
        catalog.insert_product(a, &same_sku).await,
        Err(StorageError::Conflict("products.sku"))
    ));
    catalog
        .insert_product(
            b,
            &product(b, "Acme Phone", "SKU-1", ProductStatus::Active, 1),
        )
        .await
        .unwrap();
}

pub async fn a_product_save_based_on_an_old_version_is_refused(h: &Harness) {
    let catalog = h.storage().catalog();
    let s = store();
    let first = product(
        s,
        "Acme Phone",
        "SKU-1",
        ProductStatus::Draft,
        1_700_000_000_000,
    );
    catalog.insert_product(s, &first).await.unwrap();
    let read = catalog.product(s, first.id).await.unwrap().unwrap();
    let mut a = read.clone();
    a.status = ProductStatus::Active;
    let mut b = read.clone();
    b.title = "Renamed".into();
    assert!(catalog.save_product(s, &a).await.unwrap());
    assert!(!catalog.save_product(s, &b).await.unwrap());
    let now = catalog.product(s, first.id).await.unwrap().unwrap();
    assert_eq!(now.version, 2);
    assert_eq!(now.status, ProductStatus::Active);
    assert_eq!(
        catalog
            .products(s, Some(ProductStatus::Active))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        catalog
            .products(s, Some(ProductStatus::Draft))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn search_and_suggest_find_active_products_by_word_prefixes(h: &Harness) {
    let catalog = h.storage().catalog();
    let (s, other) = (store(), store());
    let galaxy = product(
        s,
        "Galaxy Phone",
        "G-1",
        ProductStatus::Active,
        1_700_000_000_000,
    );
    let mut case = product(
        s,
        "Leather Case",
        "C-1",
        ProductStatus::Active,
        1_700_000_000_001,
    );
    case.description = "Fits the galaxy phone".into();
    let draft = product(
        s,
        "Galaxy Draft",
        "D-1",
        ProductStatus::Draft,
        1_700_000_000_002,
    );
    for p in [&galaxy, &case, &draft] {
        catalog.insert_product(s, p).await.unwrap();
    }
    catalog
        .insert_product(
            other,
            &product(other, "Galaxy Elsewhere", "E-1", ProductStatus::Active, 1),
        )
        .await
        .unwrap();
    let words = |list: &[&str]| list.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        catalog.search(s, &words(&["galaxy"]), 10).await.unwrap(),
        vec![galaxy.id, case.id]
    );
    assert_eq!(
        catalog
            .search(s, &words(&["gal", "pho"]), 10)
            .await
            .unwrap()[0],
        galaxy.id
    );
    assert_eq!(
        catalog
            .search(s, &words(&["leather", "galaxy"]), 10)
            .await
            .unwrap(),
        vec![case.id]
    );
    assert!(
        catalog
            .search(s, &words(&["nothing"]), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        catalog.suggest(s, "gal", 8).await.unwrap(),
        vec!["Galaxy Phone".to_owned()]
    );
    // Archiving removes it from search.
    let mut archived = catalog.product(s, galaxy.id).await.unwrap().unwrap();
    archived.status = ProductStatus::Archived;
    assert!(catalog.save_product(s, &archived).await.unwrap());
    assert_eq!(
        catalog.search(s, &words(&["galaxy"]), 10).await.unwrap(),
        vec![case.id]
    );
}

pub async fn stock_moves_atomically_and_never_below_reserved(h: &Harness) {
    let catalog = h.storage().catalog();
    let s = store();
    let p = product(
        s,
        "Acme Phone",
        "SKU-1",
        ProductStatus::Active,
        1_700_000_000_000,
    );
    let variant = p.variants[0].id;
    catalog.insert_product(s, &p).await.unwrap();
    let StockChange::Adjusted(updated) = catalog.adjust_stock(s, p.id, variant, 3).await.unwrap()
    else {
        panic!("adjusted");
    };
    assert_eq!(updated.variants[0].stock_on_hand, 8);
    assert_eq!(
        catalog.adjust_stock(s, p.id, variant, -9).await.unwrap(),
        StockChange::Insufficient {
            on_hand: 8,
            reserved: 0
        }
    );
    assert_eq!(
        catalog
            .adjust_stock(s, p.id, VariantId::from_uuid(uuid::Uuid::nil()), 1)
            .await
            .unwrap(),
        StockChange::NotFound
    );
    assert_eq!(
        catalog
            .adjust_stock(store(), p.id, variant, 1)
            .await
            .unwrap(),
        StockChange::NotFound
    );
    let stored = catalog.product(s, p.id).await.unwrap().unwrap();
    assert_eq!(stored.variants[0].stock_on_hand, 8);
    assert_eq!(stored.version, 2, "a stock change is a new version");
}

pub async fn categories_wishlists_versions_and_events_are_per_store(h: &Harness) {
    let catalog = h.storage().catalog();
    let (s, other) = (store(), store());
    let category = Category {
        id: CategoryId::from_uuid(uuid::Uuid::now_v7()),
        store_id: s,
        parent_id: None,
        name: "Phones".into(),
        slug: "phones".into(),
        position: 0,
    };
    catalog.insert_category(s, &category).await.unwrap();
    let twin = Category {
        id: CategoryId::from_uuid(uuid::Uuid::now_v7()),
        ..category.clone()
    };
    assert!(matches!(
        catalog.insert_category(s, &twin).await,
        Err(StorageError::Conflict(_))
    ));
    catalog
        .insert_category(
            other,
            &Category {
                store_id: other,
                ..twin.clone()
            },
        )
        .await
        .unwrap();
    let renamed = Category {
        name: "Mobiles".into(),
        ..category.clone()
    };
    assert!(catalog.update_category(s, &renamed).await.unwrap());
    assert_eq!(catalog.categories(s).await.unwrap(), vec![renamed]);
    assert!(catalog.delete_category(s, category.id).await.unwrap());
    assert!(!catalog.delete_category(s, category.id).await.unwrap());
    assert_eq!(catalog.categories(other).await.unwrap().len(), 1);

    let customer = CustomerId::from_uuid(uuid::Uuid::now_v7());
    let product = ProductId::from_uuid(uuid::Uuid::now_v7());
    catalog.wishlist_add(s, customer, product).await.unwrap();
    catalog.wishlist_add(s, customer, product).await.unwrap();
    assert_eq!(catalog.wishlist(s, customer).await.unwrap(), vec![product]);
    assert!(catalog.wishlist(other, customer).await.unwrap().is_empty());
    assert!(catalog.wishlist_remove(s, customer, product).await.unwrap());
    assert!(!catalog.wishlist_remove(s, customer, product).await.unwrap());

    assert_eq!(catalog.catalog_versions(s).await.unwrap().content, 0);
    assert_eq!(catalog.bump_catalog_version(s).await.unwrap(), 1);
    assert_eq!(catalog.bump_catalog_version(s).await.unwrap(), 2);
    assert_eq!(
        catalog.catalog_versions(s).await.unwrap().content,
        2,
        "the version reads back as bumped"
    );
    assert_eq!(catalog.catalog_versions(other).await.unwrap().content, 0);

    let event = |store: StoreId, kind: &str| {
        StoreEvent::new(
            store,
            kind,
            serde_json::json!({ "kind": kind }),
            Timestamp::from_millisecond(1_700_000_000_000).unwrap(),
        )
    };
    assert_eq!(catalog.append_event(s, &event(s, "a")).await.unwrap(), 1);
    let b = event(s, "b");
    assert_eq!(catalog.append_event(s, &b).await.unwrap(), 2);
    assert_eq!(
        catalog.append_event(s, &b).await.unwrap(),
        2,
        "an event appended again keeps its number and is stored once"
    );
    assert_eq!(
        catalog
            .append_event(other, &event(other, "c"))
            .await
            .unwrap(),
        1
    );
    let after_one = catalog.events(s, 1, 10).await.unwrap();
    assert_eq!(after_one.len(), 1);
    assert_eq!(after_one[0].kind, "b");
    assert_eq!(after_one[0].seq, 2);
    assert_eq!(after_one[0].id, b.id);
}

pub async fn search_finds_words_longer_than_twenty_characters_whole_or_by_prefix(h: &Harness) {
    let catalog = h.storage().catalog();
    let s = store();
    let mut long = product(
        s,
        "Supercalifragilistic Speaker",
        "LONG-1",
        ProductStatus::Active,
        1_700_000_000_000,
    );
    long.description = "Electroencephalographically tuned".into();
    let mut near = product(
        s,
        "Supercalifragilisticz Lamp",
        "LONG-2",
        ProductStatus::Active,
        1_700_000_000_001,
    );
    near.description = "Electroencephalographer's desk lamp".into();
    for p in [&long, &near] {
        catalog.insert_product(s, p).await.unwrap();
    }
    let search = |words: &[&str]| {
        let words: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
        async move { catalog.search(s, &words, 10).await.unwrap() }
    };
    // 33 characters: whole, and as a 25-character prefix.
    assert_eq!(
        search(&["electroencephalographically"]).await,
        vec![long.id]
    );
    assert_eq!(search(&["electroencephalographic"]).await, vec![long.id]);
    // The first 20 characters alone match both; a longer prefix tells them apart.
    let both = search(&["electroencephalograp"]).await;
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(search(&["electroencephalographer"]).await, vec![near.id]);
    assert_eq!(search(&["supercalifragilisticz"]).await, vec![near.id]);
    assert_eq!(
        catalog
            .suggest(s, "supercalifragilisticz", 8)
            .await
            .unwrap(),
        vec!["Supercalifragilisticz Lamp".to_owned()]
    );
}

pub async fn products_are_read_by_ids_within_their_store_only(h: &Harness) {
    let catalog = h.storage().catalog();
    let (s, other) = (store(), store());
    let a = product(s, "Alpha", "ID-A", ProductStatus::Active, 1_700_000_000_000);
    let b = product(s, "Beta", "ID-B", ProductStatus::Draft, 1_700_000_000_001);
    let elsewhere = product(
        other,
        "Gamma",
        "ID-C",
        ProductStatus::Active,
        1_700_000_000_002,
    );
    for (store, p) in [(s, &a), (s, &b), (other, &elsewhere)] {
        catalog.insert_product(store, p).await.unwrap();
    }
    let mut found: Vec<String> = catalog
        .products_by_ids(
            s,
            &[
                a.id,
                b.id,
                elsewhere.id,
                ProductId::from_uuid(uuid::Uuid::nil()),
            ],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.title)
        .collect();
    found.sort();
    assert_eq!(found, ["Alpha", "Beta"], "another store's id finds nothing");
    assert!(catalog.products_by_ids(s, &[]).await.unwrap().is_empty());
}

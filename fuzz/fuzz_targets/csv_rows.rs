//! A product CSV upload (Shopify's export layout): parsing any bytes gives products and
//! row notes, never a panic; every product it accepts then goes through the catalogue's rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use techverse::app::product_csv;
use techverse::domain::catalog::Product;
use techverse_shared::{Currency, ProductId, StoreId, VariantId};

fuzz_target!(|data: &[u8]| {
    let code = if data.first().is_some_and(|b| b % 2 == 0) {
        "NGN"
    } else {
        "JPY"
    };
    let currency = Currency::from_code(code).expect("a known currency");
    let parsed = product_csv::parse(data, currency);
    for note in &parsed.notes.errors {
        assert!(note.row >= 1, "a note names a row of the file");
    }
    let now = techverse::domain::now();
    for item in &parsed.products {
        let mut ids = || VariantId::from_uuid(uuid::Uuid::new_v4());
        let _ = Product::parse(
            &item.input,
            ProductId::from_uuid(uuid::Uuid::new_v4()),
            StoreId::from_uuid(uuid::Uuid::nil()),
            None,
            &mut ids,
            now,
        );
    }
});

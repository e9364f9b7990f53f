//! The JSON body extractor's parser on the API's largest inputs: any bytes are a typed input or
//! a 400/422 with the error envelope, never a panic; an accepted input goes through its
//! domain rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use techverse::domain::catalog::{Product, ProductInput};
use techverse::domain::discount::{Discount, DiscountInput};
use techverse::domain::shipping::{CheckoutSettings, SettingsInput};
use techverse::http::json::parse;
use techverse_shared::{DiscountId, ErrorCode, ProductId, StoreId, VariantId};

fn refused(error: techverse::http::error::ApiError) {
    let code = error.code();
    assert!(
        matches!(code, ErrorCode::InvalidJson | ErrorCode::ValidationFailed),
        "{code:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let store = StoreId::from_uuid(uuid::Uuid::nil());
    let now = techverse::domain::now();
    let Some((which, body)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => match parse::<ProductInput>(body) {
            Ok(input) => {
                let mut ids = || VariantId::from_uuid(uuid::Uuid::new_v4());
                let _ = Product::parse(
                    &input,
                    ProductId::from_uuid(uuid::Uuid::new_v4()),
                    store,
                    None,
                    &mut ids,
                    now,
                );
            }
            Err(error) => refused(error),
        },
        1 => match parse::<DiscountInput>(body) {
            Ok(input) => {
                let _ = Discount::parse(
                    &input,
                    DiscountId::from_uuid(uuid::Uuid::new_v4()),
                    store,
                    None,
                    now,
                );
            }
            Err(error) => refused(error),
        },
        2 => match parse::<SettingsInput>(body) {
            Ok(input) => {
                let _ = CheckoutSettings::parse(&input, store, 1, &mut uuid::Uuid::new_v4);
            }
            Err(error) => refused(error),
        },
        _ => {
            if let Err(error) = parse::<serde_json::Value>(body) {
                refused(error);
            }
        }
    }
});

//! What the storefront (`src/main.rs`) and the merchant console (`src/bin/admin`) share: the
//! HTTP client. Each app is its own wasm bundle, so shoppers never download console code.

pub mod api;
pub mod socket;

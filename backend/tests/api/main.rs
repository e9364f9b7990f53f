//! Black-box API tests: the real application on port 0, a fresh data directory and store per
//! test, real HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed step fails the test"
)]

mod analytics;
mod browser;
mod catalog;
mod checkout;
mod contract;
mod customers;
mod errors;
mod helpers;
mod identity;
mod import;
mod isolation;
mod limits;
mod live;
mod mail;
mod media;
mod ops;
mod orders;
mod payments;
mod platform;
mod staff;
mod stores;
mod stripe;
mod webhooks;

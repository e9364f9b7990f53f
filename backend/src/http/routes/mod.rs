//! One module per resource; each registers its own routes.

pub mod auth;
pub mod catalog;
pub mod catalog_admin;
pub mod customers;
pub mod live;
pub mod media;
pub mod ops;
pub mod orders_admin;
pub mod payments;
pub mod platform;
pub mod shop;
pub mod staff;
pub mod storefront;
pub mod stores;
pub mod table;
pub mod webhooks;

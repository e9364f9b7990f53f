//! One module per resource; each registers its own routes.

pub mod ops;
pub mod platform;
pub mod stores;

//! Application services: the use cases shared by the HTTP API and the CLI. Each validates with
//! the domain, calls the storage port and returns a typed error.

pub mod stores;

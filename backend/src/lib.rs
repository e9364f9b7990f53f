//! TechVerse: a multi-tenant commerce server.
//!
//! `domain` holds the pure rules, `storage` the ports and their adapters, `app` the use cases,
//! `http` the thin web layer; `startup` wires them together and `cli` is the operator's entry.

pub mod app;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod mail;
pub mod media;
pub mod payments;
pub mod ratelimit;
pub mod realtime;
pub mod redis;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod webhooks;

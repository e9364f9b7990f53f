//! Credentials: random tokens and their hashes, argon2id password hashing, JWT access tokens,
//! refresh-session stores and the login throttle policy.

pub mod jwt;
pub mod password;
pub mod sessions;
pub mod tokens;

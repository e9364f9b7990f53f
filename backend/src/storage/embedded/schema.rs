//! Schema migrations, applied in order and tracked with `PRAGMA user_version`.

use rusqlite::Connection;

/// Each entry upgrades the schema by one version. Never edit a released entry: append.
const MIGRATIONS: &[&str] = &[
    // 1: stores (tenants)
    "CREATE TABLE stores (
        id          TEXT PRIMARY KEY,
        slug        TEXT NOT NULL UNIQUE,
        name        TEXT NOT NULL,
        currency    TEXT NOT NULL,
        country     TEXT NOT NULL,
        timezone    TEXT NOT NULL,
        status      TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    ) STRICT;",
    // 2: identity and access. Aggregates are JSON documents; the columns beside them are what
    // queries and unique rules need. Store-scoped tables lead with store_id.
    "CREATE TABLE users (
        id          TEXT PRIMARY KEY,
        email       TEXT NOT NULL UNIQUE,
        doc         TEXT NOT NULL
    ) STRICT;
    CREATE TABLE customers (
        store_id    TEXT NOT NULL,
        id          TEXT NOT NULL,
        email       TEXT NOT NULL,
        doc         TEXT NOT NULL,
        PRIMARY KEY (store_id, id),
        UNIQUE (store_id, email)
    ) STRICT;
    CREATE TABLE teams (
        store_id    TEXT PRIMARY KEY,
        version     INTEGER NOT NULL,
        doc         TEXT NOT NULL
    ) STRICT;
    CREATE TABLE team_members (
        user_id     TEXT NOT NULL,
        store_id    TEXT NOT NULL,
        PRIMARY KEY (user_id, store_id)
    ) STRICT;
    CREATE TABLE one_time_tokens (
        hash        TEXT PRIMARY KEY,
        purpose     TEXT NOT NULL,
        subject     TEXT NOT NULL,
        expires_at  INTEGER NOT NULL,
        doc         TEXT NOT NULL
    ) STRICT;
    CREATE INDEX one_time_tokens_subject ON one_time_tokens (subject, purpose);
    CREATE TABLE sessions (
        id          TEXT PRIMARY KEY,
        account     TEXT NOT NULL,
        expires_at  INTEGER NOT NULL,
        doc         TEXT NOT NULL
    ) STRICT;
    CREATE INDEX sessions_account ON sessions (account);
    CREATE TABLE outbox (
        id              TEXT PRIMARY KEY,
        next_attempt_at INTEGER NOT NULL,
        lease_until     INTEGER NOT NULL,
        doc             TEXT NOT NULL
    ) STRICT;
    CREATE INDEX outbox_due ON outbox (next_attempt_at);
    CREATE TABLE audit_log (
        store_id    TEXT NOT NULL,
        id          TEXT NOT NULL,
        actor_id    TEXT NOT NULL,
        action      TEXT NOT NULL,
        at          INTEGER NOT NULL,
        doc         TEXT NOT NULL,
        PRIMARY KEY (store_id, id)
    ) STRICT;
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    // 3: catalogue. Products are JSON documents; SKUs get their own table for the per-store
    // unique rule; active products are indexed for full-text search (FTS5).
    "CREATE TABLE products (
        store_id    TEXT NOT NULL,
        id          TEXT NOT NULL,
        slug        TEXT NOT NULL,
        status      TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        version     INTEGER NOT NULL,
        doc         TEXT NOT NULL,
        PRIMARY KEY (store_id, id),
        UNIQUE (store_id, slug)
    ) STRICT;
    CREATE INDEX products_status ON products (store_id, status, created_at);
    CREATE TABLE product_skus (
        store_id    TEXT NOT NULL,
        sku         TEXT NOT NULL COLLATE NOCASE,
        product_id  TEXT NOT NULL,
        PRIMARY KEY (store_id, sku)
    ) STRICT;
    CREATE INDEX product_skus_product ON product_skus (store_id, product_id);
    CREATE VIRTUAL TABLE products_fts USING fts5(
        product_id UNINDEXED, store_id UNINDEXED, title, brand, tags, body,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TABLE categories (
        store_id    TEXT NOT NULL,
        id          TEXT NOT NULL,
        slug        TEXT NOT NULL,
        doc         TEXT NOT NULL,
        PRIMARY KEY (store_id, id),
        UNIQUE (store_id, slug)
    ) STRICT;
    CREATE TABLE wishlists (
        store_id    TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        product_id  TEXT NOT NULL,
        added_at    INTEGER NOT NULL,
        PRIMARY KEY (store_id, customer_id, product_id)
    ) STRICT;
    CREATE TABLE catalog_versions (
        store_id    TEXT PRIMARY KEY,
        version     INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE store_events (
        store_id    TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        doc         TEXT NOT NULL,
        PRIMARY KEY (store_id, seq)
    ) STRICT;",
];

/// Applies the migrations the database has not seen yet, each in its own transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let current = usize::try_from(current).unwrap_or(0);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the write lock.
        let seen: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
        if seen < version {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
        }
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
    }
}

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
    // 4: checkout and orders. Discount usage counts live in columns so checkout can bump
    // them with a conditional UPDATE inside its transaction.
    "CREATE TABLE carts (
        store_id    TEXT NOT NULL,
        id          TEXT NOT NULL,
        customer_id TEXT,
        expires_at  INTEGER NOT NULL,
        version     INTEGER NOT NULL,
        doc         TEXT NOT NULL,
        PRIMARY KEY (store_id, id)
    ) STRICT;
    CREATE INDEX carts_customer ON carts (store_id, customer_id, expires_at);
    CREATE INDEX carts_expiry ON carts (expires_at);
    CREATE TABLE discounts (
        store_id    TEXT NOT NULL,
        id          TEXT NOT NULL,
        code        TEXT NOT NULL,
        used        INTEGER NOT NULL DEFAULT 0,
        doc         TEXT NOT NULL,
        PRIMARY KEY (store_id, id),
        UNIQUE (store_id, code)
    ) STRICT;
    CREATE TABLE discount_uses (
        store_id     TEXT NOT NULL,
        discount_id  TEXT NOT NULL,
        customer_key TEXT NOT NULL,
        uses         INTEGER NOT NULL,
        PRIMARY KEY (store_id, discount_id, customer_key)
    ) STRICT;
    CREATE TABLE checkout_settings (
        store_id    TEXT PRIMARY KEY,
        version     INTEGER NOT NULL,
        doc         TEXT NOT NULL
    ) STRICT;
    CREATE TABLE orders (
        store_id       TEXT NOT NULL,
        id             TEXT NOT NULL,
        number         INTEGER NOT NULL,
        customer_id    TEXT,
        email          TEXT NOT NULL,
        status         TEXT NOT NULL,
        payment_status TEXT NOT NULL,
        pay_by         INTEGER,
        created_at     INTEGER NOT NULL,
        version        INTEGER NOT NULL,
        doc            TEXT NOT NULL,
        PRIMARY KEY (store_id, id),
        UNIQUE (store_id, number)
    ) STRICT;
    CREATE INDEX orders_created ON orders (store_id, created_at DESC, id DESC);
    CREATE INDEX orders_customer ON orders (store_id, customer_id, created_at DESC);
    CREATE INDEX orders_email ON orders (store_id, email);
    CREATE INDEX orders_due ON orders (pay_by) WHERE status = 'pending_payment';
    CREATE TABLE order_numbers (
        store_id    TEXT PRIMARY KEY,
        last        INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE idempotency_keys (
        store_id     TEXT NOT NULL,
        scope        TEXT NOT NULL,
        key          TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        order_id     TEXT NOT NULL,
        order_token  TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        PRIMARY KEY (store_id, scope, key)
    ) STRICT;
    CREATE INDEX idempotency_created ON idempotency_keys (created_at);
    CREATE TABLE reviews (
        store_id    TEXT NOT NULL,
        id          TEXT NOT NULL,
        product_id  TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        status      TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        doc         TEXT NOT NULL,
        PRIMARY KEY (store_id, id),
        UNIQUE (store_id, product_id, customer_id)
    ) STRICT;
    CREATE INDEX reviews_product ON reviews (store_id, product_id, status, created_at DESC);
    CREATE TABLE product_variants (
        store_id    TEXT NOT NULL,
        variant_id  TEXT NOT NULL,
        product_id  TEXT NOT NULL,
        PRIMARY KEY (store_id, variant_id)
    ) STRICT;
    INSERT INTO product_variants (store_id, variant_id, product_id)
        SELECT p.store_id, json_extract(v.value, '$.id'), p.id
        FROM products p, json_each(p.doc, '$.variants') v;",
    // 5: events carry their own id, so appending one twice stores it once.
    "ALTER TABLE store_events ADD COLUMN id TEXT;
    UPDATE store_events SET id = json_extract(doc, '$.id') WHERE json_extract(doc, '$.id') IS NOT NULL
        AND json_extract(doc, '$.id') != '00000000-0000-0000-0000-000000000000';
    CREATE UNIQUE INDEX store_events_id ON store_events (id);",
    // 6: open (unpaid) orders are counted per buyer and per client address.
    "ALTER TABLE orders ADD COLUMN client_ip TEXT;
    CREATE INDEX orders_open_email ON orders (store_id, email) WHERE status = 'pending_payment';
    CREATE INDEX orders_open_customer ON orders (store_id, customer_id)
        WHERE status = 'pending_payment';
    CREATE INDEX orders_open_ip ON orders (store_id, client_ip) WHERE status = 'pending_payment';",
    // 7: stock moves count on their own version, so a sale does not make every page stale.
    "ALTER TABLE catalog_versions ADD COLUMN stock INTEGER NOT NULL DEFAULT 0;",
    // 8: undeliverable mail stays in the outbox, given up on (never due again).
    "ALTER TABLE outbox ADD COLUMN dead_at INTEGER;",
    // 9: card payments: connected accounts, provider events, one payment attempt per order.
    "CREATE TABLE stripe_accounts (
        store_id    TEXT PRIMARY KEY,
        account_id  TEXT NOT NULL UNIQUE,
        doc         TEXT NOT NULL
    ) STRICT;
    CREATE TABLE payment_events (
        id            TEXT PRIMARY KEY,
        kind          TEXT NOT NULL,
        account       TEXT,
        received_at   INTEGER NOT NULL,
        processed_at  INTEGER
    ) STRICT;
    CREATE TABLE payment_attempts (
        store_id     TEXT NOT NULL,
        order_id     TEXT NOT NULL,
        intent_id    TEXT NOT NULL UNIQUE,
        unsettled    INTEGER NOT NULL,
        created_at   INTEGER NOT NULL,
        lease_until  INTEGER NOT NULL,
        version      INTEGER NOT NULL,
        doc          TEXT NOT NULL,
        PRIMARY KEY (store_id, order_id)
    ) STRICT;
    CREATE INDEX payment_attempts_unsettled ON payment_attempts (created_at)
        WHERE unsettled = 1;",
    // 10: event consumers. Each store's newest seq is kept beside its log; each consumer's
    // position per store carries a lease. Stores that existed before consumers start at their
    // head (their past events were never meant to send mail or webhooks now). Sent mail keeps
    // its id for a while, so the same message queued twice is sent once.
    "CREATE TABLE event_heads (
        store_id    TEXT PRIMARY KEY,
        seq         INTEGER NOT NULL
    ) STRICT;
    INSERT INTO event_heads (store_id, seq)
        SELECT store_id, MAX(seq) FROM store_events GROUP BY store_id;
    CREATE TABLE consumer_positions (
        consumer     TEXT NOT NULL,
        store_id     TEXT NOT NULL,
        position     INTEGER NOT NULL,
        owner        TEXT,
        lease_until  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (consumer, store_id)
    ) STRICT;
    INSERT INTO consumer_positions (consumer, store_id, position)
        SELECT c.name, h.store_id, h.seq FROM event_heads h,
            (SELECT 'realtime' AS name UNION ALL SELECT 'mail' UNION ALL SELECT 'webhooks') c;
    ALTER TABLE outbox ADD COLUMN sent_at INTEGER;
    CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
    CREATE TABLE webhooks (
        store_id    TEXT NOT NULL,
        id          TEXT NOT NULL,
        version     INTEGER NOT NULL,
        doc         TEXT NOT NULL,
        PRIMARY KEY (store_id, id)
    ) STRICT;
    CREATE TABLE webhook_deliveries (
        id              TEXT PRIMARY KEY,
        store_id        TEXT NOT NULL,
        endpoint_id     TEXT NOT NULL,
        event_id        TEXT NOT NULL,
        due_at          INTEGER,
        lease_until     INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        doc             TEXT NOT NULL,
        UNIQUE (endpoint_id, event_id)
    ) STRICT;
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at) WHERE due_at IS NOT NULL;
    CREATE INDEX webhook_deliveries_log ON webhook_deliveries (store_id, endpoint_id, id DESC);",
    // 11: what a store tells shoppers about itself (description, logo, contact email).
    "ALTER TABLE stores ADD COLUMN details TEXT NOT NULL DEFAULT '{}';",
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

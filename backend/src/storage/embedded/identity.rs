//! Identity and access repositories on SQLite: users, customers, teams, one-time tokens,
//! sessions, the mail outbox and the audit log. Aggregates are stored as JSON documents next to
//! the columns their queries and unique rules need.

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior};
use serde::{Serialize, de::DeserializeOwned};
use techverse_shared::{CustomerId, StoreId, UserId};

use super::{EmbeddedStorage, sql_error, unavailable};
use crate::{
    domain::{
        access::Team,
        account::{Customer, Email, StaffUser},
        audit::{AuditEntry, AuditQuery},
        mail::OutgoingMail,
        session::{AccountRef, Answer, Rotation, RotationRequest, Session},
        token::{OneTimeToken, TokenPurpose},
    },
    storage::{
        AuditRepository, CustomerRepository, OutboxRepository, SessionRepository, StorageError,
        StorageResult, TeamRepository, TokenRepository, UserRepository,
    },
};

pub(super) fn to_json<T: Serialize>(value: &T) -> StorageResult<String> {
    serde_json::to_string(value).map_err(|e| StorageError::Corrupt(format!("encoding: {e}")))
}

pub(super) fn from_json<T: DeserializeOwned>(text: &str) -> StorageResult<T> {
    serde_json::from_str(text).map_err(|e| StorageError::Corrupt(format!("decoding: {e}")))
}

pub(super) fn immediate(conn: &mut rusqlite::Connection) -> StorageResult<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)
}

/// A claim: what is due at `now`, at most `limit`, held until `until`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lease {
    pub now: Timestamp,
    pub until: Timestamp,
    pub limit: u32,
}

impl EmbeddedStorage {
    /// Reads one JSON document with `sql` and its parameters.
    pub(super) async fn doc<T, P>(&self, sql: &'static str, params: P) -> StorageResult<Option<T>>
    where
        T: DeserializeOwned + Send + 'static,
        P: rusqlite::Params + Send + 'static,
    {
        let text: Option<String> = self
            .read(move |conn| {
                conn.query_row(sql, params, |row| row.get(0))
                    .optional()
                    .map_err(unavailable)
            })
            .await?;
        text.as_deref().map(from_json).transpose()
    }

    /// Reads every JSON document `sql` selects with its parameters.
    pub(super) async fn docs<T, P>(&self, sql: &'static str, params: P) -> StorageResult<Vec<T>>
    where
        T: DeserializeOwned + Send + 'static,
        P: rusqlite::Params + Send + 'static,
    {
        let texts: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn.prepare_cached(sql).map_err(unavailable)?;
                let rows = statement
                    .query_map(params, |row| row.get(0))
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<_>>().map_err(unavailable)
            })
            .await?;
        texts.iter().map(|text| from_json(text)).collect()
    }

    /// Claims what `select` finds due (parameters: now, limit) in one transaction: `lease`
    /// sets each document's lease and returns its id, and `update` (parameters: id, lease
    /// until, document) writes it back. What one worker claimed no other claims until then.
    pub(super) async fn claim_docs<T>(
        &self,
        select: &'static str,
        update: &'static str,
        lease: Lease,
        set_lease: fn(&mut T, Timestamp) -> String,
    ) -> StorageResult<Vec<T>>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        self.call(move |conn| {
            let tx = immediate(conn)?;
            let docs: Vec<String> = {
                let mut statement = tx.prepare_cached(select).map_err(unavailable)?;
                let rows = statement
                    .query_map((lease.now.as_millisecond(), lease.limit), |row| row.get(0))
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<_>>().map_err(unavailable)?
            };
            let mut claimed = Vec::with_capacity(docs.len());
            for doc in docs {
                let mut value: T = from_json(&doc)?;
                let id = set_lease(&mut value, lease.until);
                tx.execute(update, (id, lease.until.as_millisecond(), to_json(&value)?))
                    .map_err(unavailable)?;
                claimed.push(value);
            }
            tx.commit().map_err(unavailable)?;
            Ok(claimed)
        })
        .await
    }

    /// Runs one write statement, mapping a unique violation to `Conflict(constraint)`.
    pub(super) async fn write<P>(
        &self,
        sql: &'static str,
        params: P,
        constraint: &'static str,
    ) -> StorageResult<usize>
    where
        P: rusqlite::Params + Send + 'static,
    {
        self.call(move |conn| conn.execute(sql, params).map_err(sql_error(constraint)))
            .await
    }
}

#[async_trait]
impl UserRepository for EmbeddedStorage {
    async fn insert(&self, user: &StaffUser) -> StorageResult<()> {
        let doc = to_json(user)?;
        self.write(
            "INSERT INTO users (id, email, doc) VALUES (?1, ?2, ?3)",
            (user.id.to_string(), user.email.as_str().to_owned(), doc),
            "users.email",
        )
        .await
        .map(drop)
    }

    async fn by_id(&self, id: UserId) -> StorageResult<Option<StaffUser>> {
        self.doc("SELECT doc FROM users WHERE id = ?1", [id.to_string()])
            .await
    }

    async fn by_email(&self, email: &Email) -> StorageResult<Option<StaffUser>> {
        self.doc(
            "SELECT doc FROM users WHERE email = ?1",
            [email.as_str().to_owned()],
        )
        .await
    }

    async fn update(&self, user: &StaffUser) -> StorageResult<bool> {
        let mut next = user.clone();
        next.version += 1;
        let changed = self
            .write(
                "UPDATE users SET doc = ?2
                 WHERE id = ?1 AND COALESCE(json_extract(doc, '$.version'), 0) = ?3",
                (user.id.to_string(), to_json(&next)?, user.version),
                "users.email",
            )
            .await?;
        Ok(changed == 1)
    }
}

#[async_trait]
impl CustomerRepository for EmbeddedStorage {
    async fn insert(&self, store: StoreId, customer: &Customer) -> StorageResult<()> {
        let doc = to_json(customer)?;
        self.write(
            "INSERT INTO customers (store_id, id, email, doc) VALUES (?1, ?2, ?3, ?4)",
            (
                store.to_string(),
                customer.id.to_string(),
                customer.email.as_str().to_owned(),
                doc,
            ),
            "customers.email",
        )
        .await
        .map(drop)
    }

    async fn by_id(&self, store: StoreId, id: CustomerId) -> StorageResult<Option<Customer>> {
        self.doc(
            "SELECT doc FROM customers WHERE store_id = ?1 AND id = ?2",
            [store.to_string(), id.to_string()],
        )
        .await
    }

    async fn by_email(&self, store: StoreId, email: &Email) -> StorageResult<Option<Customer>> {
        self.doc(
            "SELECT doc FROM customers WHERE store_id = ?1 AND email = ?2",
            [store.to_string(), email.as_str().to_owned()],
        )
        .await
    }

    async fn update(&self, store: StoreId, customer: &Customer) -> StorageResult<bool> {
        let mut next = customer.clone();
        next.version += 1;
        let changed = self
            .write(
                "UPDATE customers SET doc = ?3 WHERE store_id = ?1 AND id = ?2
                   AND COALESCE(json_extract(doc, '$.version'), 0) = ?4",
                (
                    store.to_string(),
                    customer.id.to_string(),
                    to_json(&next)?,
                    customer.version,
                ),
                "customers.email",
            )
            .await?;
        Ok(changed == 1)
    }

    async fn list(
        &self,
        store: StoreId,
        email_prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> StorageResult<Vec<Customer>> {
        self.docs(
            "SELECT doc FROM customers WHERE store_id = ?1
               AND (?2 IS NULL OR (email >= ?2 AND email < ?2 || char(1114111)))
               AND (?3 IS NULL OR email > ?3)
             ORDER BY email LIMIT ?4",
            (
                store.to_string(),
                email_prefix.map(str::to_owned),
                after.map(str::to_owned),
                limit,
            ),
        )
        .await
    }
}

fn write_members(tx: &Transaction<'_>, team: &Team) -> StorageResult<()> {
    let store = team.store_id.to_string();
    tx.execute("DELETE FROM team_members WHERE store_id = ?1", [&store])
        .map_err(unavailable)?;
    for member in &team.members {
        tx.execute(
            "INSERT INTO team_members (user_id, store_id) VALUES (?1, ?2)",
            [member.user_id.to_string(), store.clone()],
        )
        .map_err(unavailable)?;
    }
    Ok(())
}

#[async_trait]
impl TeamRepository for EmbeddedStorage {
    async fn create(&self, team: &Team) -> StorageResult<()> {
        let mut team = team.clone();
        team.version = 1;
        let doc = to_json(&team)?;
        self.call(move |conn| {
            let tx = immediate(conn)?;
            tx.execute(
                "INSERT INTO teams (store_id, version, doc) VALUES (?1, 1, ?2)",
                (team.store_id.to_string(), doc),
            )
            .map_err(sql_error("teams.store"))?;
            write_members(&tx, &team)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn get(&self, store: StoreId) -> StorageResult<Option<Team>> {
        self.doc(
            "SELECT doc FROM teams WHERE store_id = ?1",
            [store.to_string()],
        )
        .await
    }

    async fn save(&self, team: &Team) -> StorageResult<bool> {
        let expected = team.version;
        let mut next = team.clone();
        next.version = expected + 1;
        let doc = to_json(&next)?;
        self.call(move |conn| {
            let tx = immediate(conn)?;
            let changed = tx
                .execute(
                    "UPDATE teams SET version = ?2, doc = ?3 WHERE store_id = ?1 AND version = ?4",
                    (next.store_id.to_string(), next.version, doc, expected),
                )
                .map_err(unavailable)?;
            if changed == 0 {
                return Ok(false);
            }
            write_members(&tx, &next)?;
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn stores_of(&self, user: UserId) -> StorageResult<Vec<StoreId>> {
        let ids: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT store_id FROM team_members WHERE user_id = ?1 ORDER BY store_id",
                    )
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map([user.to_string()], |row| row.get(0))
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<Vec<String>>>()
                    .map_err(unavailable)
            })
            .await?;
        ids.iter()
            .map(|id| {
                id.parse()
                    .map_err(|_| StorageError::Corrupt(format!("team_members: bad store id {id}")))
            })
            .collect()
    }
}

#[async_trait]
impl TokenRepository for EmbeddedStorage {
    async fn insert(&self, token: &OneTimeToken) -> StorageResult<()> {
        let doc = to_json(token)?;
        let token = token.clone();
        self.call(move |conn| {
            let tx = immediate(conn)?;
            tx.execute(
                "DELETE FROM one_time_tokens WHERE subject = ?1 AND purpose = ?2",
                [token.subject_key(), token.purpose.as_str().to_owned()],
            )
            .map_err(unavailable)?;
            tx.execute(
                "INSERT INTO one_time_tokens (hash, purpose, subject, expires_at, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                (
                    token.hash.clone(),
                    token.purpose.as_str(),
                    token.subject_key(),
                    token.expires_at.as_millisecond(),
                    doc,
                ),
            )
            .map_err(sql_error("one_time_tokens.hash"))?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn consume(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: Timestamp,
    ) -> StorageResult<Option<OneTimeToken>> {
        let hash = hash.to_owned();
        let text: Option<String> = self
            .call(move |conn| {
                conn.query_row(
                    "DELETE FROM one_time_tokens WHERE hash = ?1 AND purpose = ?2 AND expires_at > ?3
                     RETURNING doc",
                    (hash, purpose.as_str(), now.as_millisecond()),
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)
            })
            .await?;
        text.as_deref().map(from_json).transpose()
    }

    async fn find(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: Timestamp,
    ) -> StorageResult<Option<OneTimeToken>> {
        self.doc(
            "SELECT doc FROM one_time_tokens WHERE hash = ?1 AND purpose = ?2 AND expires_at > ?3",
            (hash.to_owned(), purpose.as_str(), now.as_millisecond()),
        )
        .await
    }

    async fn invitations(
        &self,
        store: StoreId,
        now: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<OneTimeToken>> {
        let prefix = OneTimeToken::invitation_prefix(store);
        let docs: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT doc FROM one_time_tokens
                         WHERE purpose = 'invitation' AND substr(subject, 1, length(?1)) = ?1
                           AND expires_at > ?2
                         ORDER BY expires_at DESC LIMIT ?3",
                    )
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map((prefix, now.as_millisecond(), limit), |row| row.get(0))
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<_>>().map_err(unavailable)
            })
            .await?;
        docs.iter().map(|doc| from_json(doc)).collect()
    }

    async fn delete(&self, hash: &str) -> StorageResult<bool> {
        let deleted = self
            .write(
                "DELETE FROM one_time_tokens WHERE hash = ?1",
                [hash.to_owned()],
                "one_time_tokens.hash",
            )
            .await?;
        Ok(deleted > 0)
    }

    async fn delete_expired(&self, now: Timestamp) -> StorageResult<u64> {
        self.write(
            "DELETE FROM one_time_tokens WHERE expires_at < ?1",
            [now.as_millisecond()],
            "one_time_tokens.hash",
        )
        .await
        .map(|n| n as u64)
    }
}

#[async_trait]
impl SessionRepository for EmbeddedStorage {
    async fn insert(&self, session: &Session) -> StorageResult<()> {
        let doc = to_json(session)?;
        self.write(
            "INSERT INTO sessions (id, account, expires_at, doc) VALUES (?1, ?2, ?3, ?4)",
            (
                session.id.clone(),
                session.account.key(),
                session.expires_at.as_millisecond(),
                doc,
            ),
            "sessions.id",
        )
        .await
        .map(drop)
    }

    async fn get(&self, id: &str, now: Timestamp) -> StorageResult<Option<Session>> {
        self.doc(
            "SELECT doc FROM sessions WHERE id = ?1 AND expires_at > ?2",
            (id.to_owned(), now.as_millisecond()),
        )
        .await
    }

    async fn rotate(&self, id: &str, request: &RotationRequest<'_>) -> StorageResult<Rotation> {
        let id = id.to_owned();
        let (presented, new_hash) = (
            request.presented_hash.to_owned(),
            request.new_hash.to_owned(),
        );
        let (expires_at, now, grace) = (request.expires_at, request.now, request.grace);
        self.call(move |conn| {
            let request = RotationRequest {
                presented_hash: &presented,
                new_hash: &new_hash,
                expires_at,
                now,
                grace,
            };
            let tx = immediate(conn)?;
            let text: Option<String> = tx
                .query_row(
                    "SELECT doc FROM sessions WHERE id = ?1 AND expires_at > ?2",
                    (&id, now.as_millisecond()),
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            let Some(session) = text.as_deref().map(from_json::<Session>).transpose()? else {
                return Ok(Rotation::Unknown);
            };
            match session.answer(&request) {
                Answer::Repeat => Ok(Rotation::Repeated(session)),
                Answer::Revoke => {
                    tx.execute("DELETE FROM sessions WHERE id = ?1", [&id])
                        .map_err(unavailable)?;
                    tx.commit().map_err(unavailable)?;
                    Ok(Rotation::Reused)
                }
                Answer::Rotate => {
                    let session = session.rotated(&request);
                    tx.execute(
                        "UPDATE sessions SET doc = ?2, expires_at = ?3 WHERE id = ?1",
                        (&id, to_json(&session)?, expires_at.as_millisecond()),
                    )
                    .map_err(unavailable)?;
                    tx.commit().map_err(unavailable)?;
                    Ok(Rotation::Rotated(session))
                }
            }
        })
        .await
    }

    async fn revoke(&self, id: &str) -> StorageResult<bool> {
        let deleted = self
            .write(
                "DELETE FROM sessions WHERE id = ?1",
                [id.to_owned()],
                "sessions.id",
            )
            .await?;
        Ok(deleted > 0)
    }

    async fn revoke_account(&self, account: &AccountRef) -> StorageResult<u64> {
        let deleted = self
            .write(
                "DELETE FROM sessions WHERE account = ?1",
                [account.key()],
                "sessions.id",
            )
            .await?;
        Ok(deleted as u64)
    }
}

#[async_trait]
impl OutboxRepository for EmbeddedStorage {
    async fn enqueue(&self, mail: &OutgoingMail) -> StorageResult<bool> {
        let doc = to_json(mail)?;
        self.write(
            "INSERT INTO outbox (id, next_attempt_at, lease_until, doc) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO NOTHING",
            (
                mail.id.clone(),
                mail.next_attempt_at.as_millisecond(),
                mail.lease_until.as_millisecond(),
                doc,
            ),
            "outbox.id",
        )
        .await
        .map(|inserted| inserted > 0)
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<OutgoingMail>> {
        self.claim_docs(
            "SELECT doc FROM outbox WHERE next_attempt_at <= ?1 AND lease_until <= ?1
             ORDER BY next_attempt_at LIMIT ?2",
            "UPDATE outbox SET lease_until = ?2, doc = ?3 WHERE id = ?1",
            Lease {
                now,
                until: lease_until,
                limit,
            },
            |mail: &mut OutgoingMail, until| {
                mail.lease_until = until;
                mail.id.clone()
            },
        )
        .await
    }

    async fn mark_sent(&self, id: &str, at: Timestamp) -> StorageResult<()> {
        self.write(
            "UPDATE outbox SET next_attempt_at = ?3, lease_until = ?3, sent_at = ?2,
                 doc = '{}' WHERE id = ?1",
            (id.to_owned(), at.as_millisecond(), i64::MAX),
            "outbox.id",
        )
        .await
        .map(drop)
    }

    async fn purge_sent(&self, before: Timestamp) -> StorageResult<u64> {
        self.write(
            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?1",
            [before.as_millisecond()],
            "outbox.id",
        )
        .await
        .map(|n| n as u64)
    }

    async fn retry_later(
        &self,
        id: &str,
        attempts: i64,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> StorageResult<()> {
        let error = error.to_owned();
        self.rewrite_mail(id, move |mail| {
            mail.attempts = attempts;
            mail.next_attempt_at = next_attempt_at;
            mail.lease_until = next_attempt_at;
            mail.last_error = Some(error);
        })
        .await
    }

    async fn give_up(
        &self,
        id: &str,
        attempts: i64,
        at: Timestamp,
        error: &str,
    ) -> StorageResult<()> {
        let error = error.to_owned();
        self.rewrite_mail(id, move |mail| {
            mail.attempts = attempts;
            mail.last_error = Some(error);
            mail.dead_at = Some(at);
        })
        .await
    }

    async fn pending(&self) -> StorageResult<u64> {
        self.count("SELECT COUNT(*) FROM outbox WHERE dead_at IS NULL AND sent_at IS NULL")
            .await
    }

    async fn dead(&self) -> StorageResult<u64> {
        self.count("SELECT COUNT(*) FROM outbox WHERE dead_at IS NOT NULL")
            .await
    }
}

impl EmbeddedStorage {
    async fn count(&self, sql: &'static str) -> StorageResult<u64> {
        self.read(move |conn| {
            conn.query_row(sql, [], |row| row.get::<_, i64>(0))
                .map(|n| n.unsigned_abs())
                .map_err(unavailable)
        })
        .await
    }

    /// Reads one outbox message, changes it and writes it back in one transaction, with its
    /// indexed columns following the document (a given-up message is never due again).
    async fn rewrite_mail(
        &self,
        id: &str,
        edit: impl FnOnce(&mut OutgoingMail) + Send + 'static,
    ) -> StorageResult<()> {
        let id = id.to_owned();
        self.call(move |conn| {
            let tx = immediate(conn)?;
            let text: Option<String> = tx
                .query_row("SELECT doc FROM outbox WHERE id = ?1", [&id], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(unavailable)?;
            let Some(mut mail) = text.as_deref().map(from_json::<OutgoingMail>).transpose()? else {
                return Ok(());
            };
            edit(&mut mail);
            let due = if mail.dead_at.is_some() {
                i64::MAX
            } else {
                mail.next_attempt_at.as_millisecond()
            };
            tx.execute(
                "UPDATE outbox SET next_attempt_at = ?2, lease_until = ?2, dead_at = ?3, doc = ?4
                 WHERE id = ?1",
                (
                    &id,
                    due,
                    mail.dead_at.map(Timestamp::as_millisecond),
                    to_json(&mail)?,
                ),
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }
}

#[async_trait]
impl AuditRepository for EmbeddedStorage {
    async fn append(&self, entry: &AuditEntry) -> StorageResult<()> {
        let doc = to_json(entry)?;
        self.write(
            "INSERT INTO audit_log (store_id, id, actor_id, action, at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (
                entry.store_id.to_string(),
                entry.id.to_string(),
                entry.actor_id.to_string(),
                entry.action.clone(),
                entry.at.as_millisecond(),
                doc
            ),
            "audit_log.id",
        )
        .await
        .map(drop)
    }

    async fn list(&self, store: StoreId, query: &AuditQuery) -> StorageResult<Vec<AuditEntry>> {
        let query = query.clone();
        let docs: Vec<String> = self
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT doc FROM audit_log
                         WHERE store_id = ?1
                           AND (?2 IS NULL OR actor_id = ?2)
                           AND (?3 IS NULL OR action = ?3)
                           AND (?4 IS NULL OR at >= ?4)
                           AND (?5 IS NULL OR at <= ?5)
                           AND (?6 IS NULL OR id < ?6)
                         ORDER BY id DESC LIMIT ?7",
                    )
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map(
                        (
                            store.to_string(),
                            query.actor.map(|a| a.to_string()),
                            query.action,
                            query.from.map(Timestamp::as_millisecond),
                            query.to.map(Timestamp::as_millisecond),
                            query.before.map(|b| b.to_string()),
                            query.limit,
                        ),
                        |row| row.get(0),
                    )
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<_>>().map_err(unavailable)
            })
            .await?;
        docs.iter().map(|doc| from_json(doc)).collect()
    }
}

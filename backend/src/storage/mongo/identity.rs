//! Identity and access repositories on MongoDB. Each aggregate is one document: its JSON form
//! (the same as the embedded adapter stores) with `_id` and the store id as the leading key of
//! every store-scoped index. Conditional writes (`find_one_and_update` with a filter on the
//! expected state) give the same atomicity as the embedded adapter's transactions.

use async_trait::async_trait;
use jiff::Timestamp;
use mongodb::{
    Collection,
    bson::{Bson, Document, doc},
    options::ReturnDocument,
};
use serde::{Serialize, de::DeserializeOwned};
use techverse_shared::{CustomerId, StoreId, UserId};

use super::{MongoStorage, mongo_error, unavailable};
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

/// The document of `value`: its JSON form as BSON, with `_id` and any `extra` fields.
pub fn to_document<T: Serialize>(id: &str, value: &T, extra: Document) -> StorageResult<Document> {
    let json = serde_json::to_value(value).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    let Bson::Document(mut document) =
        mongodb::bson::to_bson(&json).map_err(|e| StorageError::Corrupt(e.to_string()))?
    else {
        return Err(StorageError::Corrupt("not a document".to_owned()));
    };
    document.insert("_id", id);
    document.extend(extra);
    Ok(document)
}

/// Parses a stored document back (extra fields are ignored).
pub fn from_document<T: DeserializeOwned>(mut document: Document) -> StorageResult<T> {
    document.remove("_id");
    let json = Bson::Document(document).into_relaxed_extjson();
    serde_json::from_value(json).map_err(|e| StorageError::Corrupt(format!("decoding: {e}")))
}

/// Claims up to `limit` documents whose `due` field and `lease_until` are at most `now`, the
/// earliest due first, one conditional update each (a document is claimed by one worker only),
/// leasing them until `lease_until`.
pub(super) async fn claim_each<T: DeserializeOwned>(
    collection: &Collection<Document>,
    due: &str,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> StorageResult<Vec<T>> {
    let mut claimed = Vec::new();
    for _ in 0..limit {
        let next = collection
            .find_one_and_update(
                doc! {
                    due: { "$lte": now.as_millisecond() },
                    "lease_until": { "$lte": now.as_millisecond() },
                },
                doc! { "$set": { "lease_until": lease_until.as_millisecond() } },
            )
            .sort(doc! { due: 1 })
            .return_document(ReturnDocument::After)
            .await
            .map_err(unavailable)?;
        match next {
            Some(document) => claimed.push(from_document(document)?),
            None => break,
        }
    }
    Ok(claimed)
}

fn parse_all<T: DeserializeOwned>(documents: Vec<Document>) -> StorageResult<Vec<T>> {
    documents.into_iter().map(from_document).collect()
}

pub(super) async fn find_one<T: DeserializeOwned>(
    collection: &Collection<Document>,
    filter: Document,
) -> StorageResult<Option<T>> {
    collection
        .find_one(filter)
        .await
        .map_err(unavailable)?
        .map(from_document)
        .transpose()
}

async fn replace(
    collection: &Collection<Document>,
    filter: Document,
    document: Document,
    constraint: &'static str,
) -> StorageResult<u64> {
    collection
        .replace_one(filter, document)
        .await
        .map(|result| result.matched_count)
        .map_err(mongo_error(constraint))
}

fn team_extra(team: &Team) -> Document {
    let members: Vec<String> = team.members.iter().map(|m| m.user_id.to_string()).collect();
    doc! { "member_ids": members }
}

#[async_trait]
impl UserRepository for MongoStorage {
    async fn insert(&self, user: &StaffUser) -> StorageResult<()> {
        let document = to_document(&user.id.to_string(), user, doc! {})?;
        self.collection(super::query::USERS)
            .insert_one(document)
            .await
            .map(drop)
            .map_err(mongo_error("users.email"))
    }

    async fn by_id(&self, id: UserId) -> StorageResult<Option<StaffUser>> {
        find_one(
            &self.collection(super::query::USERS),
            doc! { "_id": id.to_string() },
        )
        .await
    }

    async fn by_email(&self, email: &Email) -> StorageResult<Option<StaffUser>> {
        find_one(
            &self.collection(super::query::USERS),
            doc! { "email": email.as_str() },
        )
        .await
    }

    async fn update(&self, user: &StaffUser) -> StorageResult<bool> {
        let mut next = user.clone();
        next.version += 1;
        let id = next.id.to_string();
        let document = to_document(&id, &next, doc! {})?;
        let mut filter = doc! { "_id": id };
        filter.insert("version", super::query::version_filter(user.version));
        let matched = replace(
            &self.collection(super::query::USERS),
            filter,
            document,
            "users.email",
        )
        .await?;
        Ok(matched == 1)
    }
}

#[async_trait]
impl CustomerRepository for MongoStorage {
    async fn insert(&self, store: StoreId, customer: &Customer) -> StorageResult<()> {
        let mut customer = customer.clone();
        customer.store_id = store;
        let document = to_document(&customer.id.to_string(), &customer, doc! {})?;
        self.collection(super::query::CUSTOMERS)
            .insert_one(document)
            .await
            .map(drop)
            .map_err(mongo_error("customers.email"))
    }

    async fn by_id(&self, store: StoreId, id: CustomerId) -> StorageResult<Option<Customer>> {
        find_one(
            &self.collection(super::query::CUSTOMERS),
            doc! { "store_id": store.to_string(), "_id": id.to_string() },
        )
        .await
    }

    async fn by_email(&self, store: StoreId, email: &Email) -> StorageResult<Option<Customer>> {
        find_one(
            &self.collection(super::query::CUSTOMERS),
            doc! { "store_id": store.to_string(), "email": email.as_str() },
        )
        .await
    }

    async fn update(&self, store: StoreId, customer: &Customer) -> StorageResult<bool> {
        let mut next = customer.clone();
        next.store_id = store;
        next.version += 1;
        let id = next.id.to_string();
        let document = to_document(&id, &next, doc! {})?;
        let mut filter = doc! { "store_id": store.to_string(), "_id": id };
        filter.insert("version", super::query::version_filter(customer.version));
        let matched = replace(
            &self.collection(super::query::CUSTOMERS),
            filter,
            document,
            "customers.email",
        )
        .await?;
        Ok(matched == 1)
    }

    async fn list(
        &self,
        store: StoreId,
        email_prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> StorageResult<Vec<Customer>> {
        let mut email = Document::new();
        if let Some(prefix) = email_prefix {
            email.insert("$gte", prefix);
            email.insert("$lt", format!("{prefix}{}", char::MAX));
        }
        if let Some(after) = after {
            // Both bounds are lower ones: the larger wins.
            let lower = email
                .get_str("$gte")
                .map_or(after, |p| p.max(after))
                .to_owned();
            email.remove("$gte");
            email.insert(if lower == after { "$gt" } else { "$gte" }, lower);
        }
        let mut filter = doc! { "store_id": store.to_string() };
        if !email.is_empty() {
            filter.insert("email", email);
        }
        let documents = super::collect(
            self.collection(super::query::CUSTOMERS)
                .find(filter)
                .sort(doc! { "email": 1 })
                .limit(i64::from(limit)),
        )
        .await?;
        documents.into_iter().map(from_document).collect()
    }
}

#[async_trait]
impl TeamRepository for MongoStorage {
    async fn create(&self, team: &Team) -> StorageResult<()> {
        let mut team = team.clone();
        team.version = 1;
        let document = to_document(&team.store_id.to_string(), &team, team_extra(&team))?;
        self.collection(super::query::TEAMS)
            .insert_one(document)
            .await
            .map(drop)
            .map_err(mongo_error("teams.store"))
    }

    async fn get(&self, store: StoreId) -> StorageResult<Option<Team>> {
        find_one(
            &self.collection(super::query::TEAMS),
            doc! { "_id": store.to_string() },
        )
        .await
    }

    async fn save(&self, team: &Team) -> StorageResult<bool> {
        let expected = team.version;
        let mut next = team.clone();
        next.version = expected + 1;
        let id = next.store_id.to_string();
        let document = to_document(&id, &next, team_extra(&next))?;
        let matched = replace(
            &self.collection(super::query::TEAMS),
            doc! { "_id": id, "version": expected },
            document,
            "teams.store",
        )
        .await?;
        Ok(matched == 1)
    }

    async fn stores_of(&self, user: UserId) -> StorageResult<Vec<StoreId>> {
        let documents = super::collect(
            self.collection(super::query::TEAMS)
                // `$in` rather than plain equality: the same match on MongoDB, and nx-27017 misses
                // array elements through an index with plain equality.
                .find(doc! { "member_ids": { "$in": [user.to_string()] } })
                .projection(doc! { "_id": 1 })
                .sort(doc! { "_id": 1 }),
        )
        .await?;
        documents
            .iter()
            .map(|d| {
                d.get_str("_id")
                    .ok()
                    .and_then(|id| id.parse().ok())
                    .ok_or_else(|| StorageError::Corrupt("team document: bad _id".to_owned()))
            })
            .collect()
    }
}

#[async_trait]
impl TokenRepository for MongoStorage {
    async fn insert(&self, token: &OneTimeToken) -> StorageResult<()> {
        let collection = self.collection(super::query::TOKENS);
        let subject = token.subject_key();
        collection
            .delete_many(doc! { "subject_key": &subject, "purpose": token.purpose.as_str() })
            .await
            .map_err(unavailable)?;
        let document = to_document(&token.hash, token, doc! { "subject_key": subject })?;
        collection
            .insert_one(document)
            .await
            .map(drop)
            .map_err(mongo_error("one_time_tokens.hash"))
    }

    async fn consume(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: Timestamp,
    ) -> StorageResult<Option<OneTimeToken>> {
        self.collection(super::query::TOKENS)
            .find_one_and_delete(doc! {
                "_id": hash,
                "purpose": purpose.as_str(),
                "expires_at": { "$gt": now.as_millisecond() },
            })
            .await
            .map_err(unavailable)?
            .map(from_document)
            .transpose()
    }

    async fn find(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: Timestamp,
    ) -> StorageResult<Option<OneTimeToken>> {
        find_one(
            &self.collection(super::query::TOKENS),
            doc! {
                "_id": hash,
                "purpose": purpose.as_str(),
                "expires_at": { "$gt": now.as_millisecond() },
            },
        )
        .await
    }

    async fn invitations(
        &self,
        store: StoreId,
        now: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<OneTimeToken>> {
        let documents = super::collect(
            self.collection(super::query::TOKENS)
                .find(super::query::invitations_filter(store, now))
                .sort(doc! { "expires_at": -1 })
                .limit(i64::from(limit)),
        )
        .await?;
        parse_all(documents)
    }

    async fn delete(&self, hash: &str) -> StorageResult<bool> {
        let deleted = self
            .collection(super::query::TOKENS)
            .delete_one(doc! { "_id": hash })
            .await
            .map_err(unavailable)?;
        Ok(deleted.deleted_count > 0)
    }

    async fn delete_expired(&self, now: Timestamp) -> StorageResult<u64> {
        self.collection(super::query::TOKENS)
            .delete_many(doc! { "expires_at": { "$lt": now.as_millisecond() } })
            .await
            .map(|deleted| deleted.deleted_count)
            .map_err(unavailable)
    }
}

#[async_trait]
impl SessionRepository for MongoStorage {
    async fn insert(&self, session: &Session) -> StorageResult<()> {
        let document = to_document(
            &session.id,
            session,
            doc! { "account_key": session.account.key() },
        )?;
        self.collection(super::query::SESSIONS)
            .insert_one(document)
            .await
            .map(drop)
            .map_err(mongo_error("sessions.id"))
    }

    async fn get(&self, id: &str, now: Timestamp) -> StorageResult<Option<Session>> {
        find_one(
            &self.collection(super::query::SESSIONS),
            doc! { "_id": id, "expires_at": { "$gt": now.as_millisecond() } },
        )
        .await
    }

    async fn rotate(&self, id: &str, request: &RotationRequest<'_>) -> StorageResult<Rotation> {
        let collection = self.collection(super::query::SESSIONS);
        let now = request.now.as_millisecond();
        let (filter, update) = super::query::session_rotation(id, request);
        let rotated = collection
            .find_one_and_update(filter, update)
            .return_document(ReturnDocument::After)
            .await
            .map_err(unavailable)?;
        if let Some(document) = rotated {
            return from_document(document).map(Rotation::Rotated);
        }
        let live: Option<Session> = find_one(
            &collection,
            doc! { "_id": id, "expires_at": { "$gt": now } },
        )
        .await?;
        let Some(session) = live else {
            return Ok(Rotation::Unknown);
        };
        if session.answer(request) == Answer::Repeat {
            return Ok(Rotation::Repeated(session));
        }
        collection
            .delete_one(doc! { "_id": id })
            .await
            .map_err(unavailable)?;
        Ok(Rotation::Reused)
    }

    async fn revoke(&self, id: &str) -> StorageResult<bool> {
        let deleted = self
            .collection(super::query::SESSIONS)
            .delete_one(doc! { "_id": id })
            .await
            .map_err(unavailable)?;
        Ok(deleted.deleted_count > 0)
    }

    async fn revoke_account(&self, account: &AccountRef) -> StorageResult<u64> {
        let deleted = self
            .collection(super::query::SESSIONS)
            .delete_many(doc! { "account_key": account.key() })
            .await
            .map_err(unavailable)?;
        Ok(deleted.deleted_count)
    }
}

#[async_trait]
impl OutboxRepository for MongoStorage {
    async fn enqueue(&self, mail: &OutgoingMail) -> StorageResult<bool> {
        let document = to_document(&mail.id, mail, doc! {})?;
        match self
            .collection(super::query::OUTBOX)
            .insert_one(document)
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if super::is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StorageResult<Vec<OutgoingMail>> {
        claim_each(
            &self.collection(super::query::OUTBOX),
            "next_attempt_at",
            now,
            lease_until,
            limit,
        )
        .await
    }

    async fn mark_sent(&self, id: &str, at: Timestamp) -> StorageResult<()> {
        // Only the id stays, as a tombstone that refuses the same message queued again.
        self.collection(super::query::OUTBOX)
            .replace_one(
                doc! { "_id": id },
                doc! {
                    "_id": id,
                    "sent_at": at.as_millisecond(),
                    "next_attempt_at": i64::MAX,
                    "lease_until": i64::MAX,
                },
            )
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn purge_sent(&self, before: Timestamp) -> StorageResult<u64> {
        self.collection(super::query::OUTBOX)
            .delete_many(doc! { "sent_at": { "$lt": before.as_millisecond() } })
            .await
            .map(|deleted| deleted.deleted_count)
            .map_err(unavailable)
    }

    async fn retry_later(
        &self,
        id: &str,
        attempts: i64,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> StorageResult<()> {
        let at = next_attempt_at.as_millisecond();
        self.collection(super::query::OUTBOX)
            .update_one(
                doc! { "_id": id },
                doc! { "$set": {
                    "attempts": attempts,
                    "next_attempt_at": at,
                    "lease_until": at,
                    "last_error": error,
                } },
            )
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn give_up(
        &self,
        id: &str,
        attempts: i64,
        at: Timestamp,
        error: &str,
    ) -> StorageResult<()> {
        self.collection(super::query::OUTBOX)
            .update_one(
                doc! { "_id": id },
                doc! { "$set": {
                    "attempts": attempts,
                    "next_attempt_at": i64::MAX,
                    "lease_until": i64::MAX,
                    "last_error": error,
                    "dead_at": at.as_millisecond(),
                } },
            )
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn pending(&self) -> StorageResult<u64> {
        self.collection(super::query::OUTBOX)
            .count_documents(doc! {
                "dead_at": { "$exists": false },
                "sent_at": { "$exists": false },
            })
            .await
            .map_err(unavailable)
    }

    async fn dead(&self) -> StorageResult<u64> {
        self.collection(super::query::OUTBOX)
            .count_documents(doc! { "dead_at": { "$exists": true } })
            .await
            .map_err(unavailable)
    }
}

/// The filter of an audit page (pure, unit-tested).
pub fn audit_filter(store: StoreId, query: &AuditQuery) -> Document {
    let mut filter = doc! { "store_id": store.to_string() };
    if let Some(actor) = query.actor {
        filter.insert("actor_id", actor.to_string());
    }
    if let Some(action) = &query.action {
        filter.insert("action", action.as_str());
    }
    let mut at = Document::new();
    if let Some(from) = query.from {
        at.insert("$gte", from.as_millisecond());
    }
    if let Some(to) = query.to {
        at.insert("$lte", to.as_millisecond());
    }
    if !at.is_empty() {
        filter.insert("at", at);
    }
    if let Some(before) = query.before {
        filter.insert("id", doc! { "$lt": before.to_string() });
    }
    filter
}

#[async_trait]
impl AuditRepository for MongoStorage {
    async fn append(&self, entry: &AuditEntry) -> StorageResult<()> {
        let document = to_document(&entry.id.to_string(), entry, doc! {})?;
        self.collection(super::query::AUDIT_LOG)
            .insert_one(document)
            .await
            .map(drop)
            .map_err(mongo_error("audit_log.id"))
    }

    async fn list(&self, store: StoreId, query: &AuditQuery) -> StorageResult<Vec<AuditEntry>> {
        let documents = super::collect(
            self.collection(super::query::AUDIT_LOG)
                .find(audit_filter(store, query))
                .sort(doc! { "id": -1 })
                .limit(i64::from(query.limit)),
        )
        .await?;
        parse_all(documents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_round_trip_with_ids_and_millis() {
        let session = Session {
            id: "abc".into(),
            account: AccountRef::Staff {
                user_id: UserId::from_uuid(uuid::Uuid::from_u128(3)),
            },
            refresh_hash: "h".into(),
            generation: 2,
            created_at: Timestamp::from_millisecond(1_700_000_000_123).unwrap(),
            expires_at: Timestamp::from_millisecond(1_800_000_000_456).unwrap(),
            previous_hash: Some("g".into()),
            rotated_at: Some(Timestamp::from_millisecond(1_750_000_000_000).unwrap()),
            rotation_key: "key".into(),
        };
        let document = to_document(&session.id, &session, doc! { "account_key": "k" }).unwrap();
        assert_eq!(document.get_str("_id").unwrap(), "abc");
        assert_eq!(document.get_i64("expires_at").unwrap(), 1_800_000_000_456);
        assert_eq!(document.get_str("account_key").unwrap(), "k");
        let back: Session = from_document(document).unwrap();
        assert_eq!(back, session);
    }

    #[test]
    fn audit_filters_include_only_what_is_asked() {
        let store = StoreId::from_uuid(uuid::Uuid::from_u128(1));
        assert_eq!(
            audit_filter(
                store,
                &AuditQuery {
                    limit: 10,
                    ..AuditQuery::default()
                }
            ),
            doc! { "store_id": store.to_string() }
        );
        let query = AuditQuery {
            action: Some("$where".into()),
            from: Some(Timestamp::from_millisecond(5).unwrap()),
            limit: 10,
            ..AuditQuery::default()
        };
        let filter = audit_filter(store, &query);
        assert_eq!(filter.get_str("action").unwrap(), "$where");
        assert_eq!(filter.get_document("at").unwrap(), &doc! { "$gte": 5_i64 });
    }
}

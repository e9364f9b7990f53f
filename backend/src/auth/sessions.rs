//! The Redis adapter of the session store (used when `TECHVERSE_REDIS_URL` is set): one hash
//! per session, expiring with it, and one set per account listing its session ids. The set
//! always outlives every session it lists (each insert and rotation extends it, never
//! shortens it), so signing out everywhere finds a session however often it was refreshed.
//! Rotation is one Lua script, so two refreshes with one token cannot both rotate.

use async_trait::async_trait;
use deadpool_redis::redis::{self, AsyncCommands, Script};
use jiff::Timestamp;

use crate::{
    domain::session::{AccountRef, Rotation, RotationRequest, Session},
    redis::RedisHandle,
    storage::{SessionRepository, StorageError, StorageResult},
};

pub struct RedisSessions {
    redis: RedisHandle,
}

/// Grows a key's expiry to at least a minute past `ttl` ms (a key without expiry gets one):
/// the index always outlives the sessions it lists.
const EXTEND: &str = r"
local function extend(key, ttl)
  local wanted = tonumber(ttl) + 60000
  if redis.call('PTTL', key) < wanted then redis.call('PEXPIRE', key, wanted) end
end
";

/// KEYS: session, account index. ARGV: hash, doc, ttl ms, session id.
const INSERT: &str = r"
redis.call('HSET', KEYS[1], 'hash', ARGV[1], 'doc', ARGV[2], 'index', KEYS[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
extend(KEYS[2], ARGV[3])
return 1
";

/// KEYS: session, account index. ARGV: presented hash, new hash, rotated doc, ttl ms, now ms,
/// grace ms, session id. Returns {1} rotated, {2, doc} repeated, {-1} reused (deleted), {0}.
const ROTATE: &str = r"
local current = redis.call('HGET', KEYS[1], 'hash')
if not current then return {0, false} end
if current == ARGV[1] then
  redis.call('HSET', KEYS[1], 'hash', ARGV[2], 'doc', ARGV[3], 'prev', ARGV[1],
    'rotated', ARGV[5], 'index', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('SADD', KEYS[2], ARGV[7])
  extend(KEYS[2], ARGV[4])
  return {1, false}
end
local prev = redis.call('HGET', KEYS[1], 'prev')
local rotated = tonumber(redis.call('HGET', KEYS[1], 'rotated') or '0')
if prev == ARGV[1] and current == ARGV[2] and tonumber(ARGV[5]) - rotated <= tonumber(ARGV[6]) then
  return {2, redis.call('HGET', KEYS[1], 'doc')}
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[7])
return {-1, false}
";

/// KEYS: session. ARGV: session id. Deletes it and takes it out of its account's index.
const REVOKE: &str = r"
local index = redis.call('HGET', KEYS[1], 'index')
local deleted = redis.call('DEL', KEYS[1])
if index then redis.call('SREM', index, ARGV[1]) end
return deleted
";

fn failed(error: impl Into<anyhow::Error>) -> StorageError {
    StorageError::SessionsUnavailable(error.into())
}

fn ttl_millis(expires_at: Timestamp, now: Timestamp) -> i64 {
    (expires_at.as_millisecond() - now.as_millisecond()).max(1)
}

fn script(body: &str) -> Script {
    Script::new(&format!("{EXTEND}{body}"))
}

impl RedisSessions {
    pub fn new(redis: RedisHandle) -> Self {
        Self { redis }
    }

    fn session_key(&self, id: &str) -> String {
        self.redis.key(&format!("session:{id}"))
    }

    fn account_key(&self, account: &AccountRef) -> String {
        self.redis
            .key(&format!("account-sessions:{}", account.key()))
    }

    async fn conn(&self) -> StorageResult<deadpool_redis::Connection> {
        self.redis.connection().await.map_err(failed)
    }
}

fn encode(session: &Session) -> StorageResult<String> {
    serde_json::to_string(session).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn decode(doc: &str) -> StorageResult<Session> {
    serde_json::from_str(doc).map_err(|e| StorageError::Corrupt(e.to_string()))
}

#[async_trait]
impl SessionRepository for RedisSessions {
    async fn insert(&self, session: &Session) -> StorageResult<()> {
        let mut conn = self.conn().await?;
        let ttl = ttl_millis(session.expires_at, crate::domain::now());
        script(INSERT)
            .key(self.session_key(&session.id))
            .key(self.account_key(&session.account))
            .arg(&session.refresh_hash)
            .arg(encode(session)?)
            .arg(ttl)
            .arg(&session.id)
            .invoke_async::<i64>(&mut conn)
            .await
            .map(drop)
            .map_err(failed)
    }

    async fn get(&self, id: &str, now: Timestamp) -> StorageResult<Option<Session>> {
        let mut conn = self.conn().await?;
        let doc: Option<String> = conn
            .hget(self.session_key(id), "doc")
            .await
            .map_err(failed)?;
        let session = doc.as_deref().map(decode).transpose()?;
        Ok(session.filter(|s| s.expires_at > now))
    }

    async fn rotate(&self, id: &str, request: &RotationRequest<'_>) -> StorageResult<Rotation> {
        let Some(session) = self.get(id, request.now).await? else {
            return Ok(Rotation::Unknown);
        };
        let account = self.account_key(&session.account);
        let rotated = session.rotated(request);
        let mut conn = self.conn().await?;
        let outcome: (i64, Option<String>) = script(ROTATE)
            .key(self.session_key(id))
            .key(account)
            .arg(request.presented_hash)
            .arg(request.new_hash)
            .arg(encode(&rotated)?)
            .arg(ttl_millis(request.expires_at, request.now))
            .arg(request.now.as_millisecond())
            .arg(request.grace.as_millis())
            .arg(id)
            .invoke_async(&mut conn)
            .await
            .map_err(failed)?;
        Ok(match outcome {
            (1, _) => Rotation::Rotated(rotated),
            (2, Some(doc)) => Rotation::Repeated(decode(&doc)?),
            (-1, _) => Rotation::Reused,
            _ => Rotation::Unknown,
        })
    }

    async fn revoke(&self, id: &str) -> StorageResult<bool> {
        let mut conn = self.conn().await?;
        let deleted: i64 = Script::new(REVOKE)
            .key(self.session_key(id))
            .arg(id)
            .invoke_async(&mut conn)
            .await
            .map_err(failed)?;
        Ok(deleted > 0)
    }

    async fn revoke_account(&self, account: &AccountRef) -> StorageResult<u64> {
        let mut conn = self.conn().await?;
        let set = self.account_key(account);
        let ids: Vec<String> = conn.smembers(&set).await.map_err(failed)?;
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.del(self.session_key(id));
        }
        pipe.del(&set);
        let deleted: Vec<i64> = pipe.query_async(&mut conn).await.map_err(failed)?;
        let sessions = deleted.len().saturating_sub(1);
        Ok(deleted
            .iter()
            .take(sessions)
            .map(|d| d.unsigned_abs())
            .sum())
    }
}

/// The default session store: the storage adapter's sessions (the embedded file in
/// single-machine mode, so sessions survive restarts).
pub struct StorageSessions(pub std::sync::Arc<dyn crate::storage::Storage>);

#[async_trait]
impl SessionRepository for StorageSessions {
    async fn insert(&self, session: &Session) -> StorageResult<()> {
        self.0.sessions().insert(session).await
    }

    async fn get(&self, id: &str, now: Timestamp) -> StorageResult<Option<Session>> {
        self.0.sessions().get(id, now).await
    }

    async fn rotate(&self, id: &str, request: &RotationRequest<'_>) -> StorageResult<Rotation> {
        self.0.sessions().rotate(id, request).await
    }

    async fn revoke(&self, id: &str) -> StorageResult<bool> {
        self.0.sessions().revoke(id).await
    }

    async fn revoke_account(&self, account: &AccountRef) -> StorageResult<u64> {
        self.0.sessions().revoke_account(account).await
    }
}

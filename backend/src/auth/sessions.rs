//! The Redis adapter of the session store (used when `TECHVERSE_REDIS_URL` is set): one hash
//! per session, expiring with it, and one set per account listing its session ids. Rotation is
//! a compare-and-set in a Lua script, so two refreshes with one token cannot both succeed.

use async_trait::async_trait;
use deadpool_redis::redis::{self, AsyncCommands, Script};
use jiff::Timestamp;

use crate::{
    domain::session::{AccountRef, Rotation, Session},
    redis::RedisHandle,
    storage::{SessionRepository, StorageError, StorageResult},
};

pub struct RedisSessions {
    redis: RedisHandle,
}

const ROTATE: &str = r"
local current = redis.call('HGET', KEYS[1], 'hash')
if not current then return 0 end
if current ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  return -1
end
redis.call('HSET', KEYS[1], 'hash', ARGV[2], 'doc', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
";

fn failed(error: impl Into<anyhow::Error>) -> StorageError {
    StorageError::Unavailable(error.into())
}

fn ttl_millis(expires_at: Timestamp, now: Timestamp) -> i64 {
    (expires_at.as_millisecond() - now.as_millisecond()).max(1)
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

#[async_trait]
impl SessionRepository for RedisSessions {
    async fn insert(&self, session: &Session) -> StorageResult<()> {
        let mut conn = self.conn().await?;
        let now = crate::domain::now();
        let ttl = ttl_millis(session.expires_at, now);
        let key = self.session_key(&session.id);
        let account = self.account_key(&session.account);
        redis::pipe()
            .atomic()
            .hset_multiple(
                &key,
                &[
                    ("hash", session.refresh_hash.clone()),
                    ("doc", encode(session)?),
                ],
            )
            .pexpire(&key, ttl)
            .sadd(&account, &session.id)
            .pexpire(&account, ttl.max(3_600_000))
            .query_async::<()>(&mut conn)
            .await
            .map_err(failed)
    }

    async fn get(&self, id: &str, now: Timestamp) -> StorageResult<Option<Session>> {
        let mut conn = self.conn().await?;
        let doc: Option<String> = conn
            .hget(self.session_key(id), "doc")
            .await
            .map_err(failed)?;
        let session = doc
            .as_deref()
            .map(serde_json::from_str::<Session>)
            .transpose()
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        Ok(session.filter(|s| s.expires_at > now))
    }

    async fn rotate(
        &self,
        id: &str,
        presented_hash: &str,
        new_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StorageResult<Rotation> {
        let Some(mut session) = self.get(id, now).await? else {
            return Ok(Rotation::Unknown);
        };
        session.refresh_hash = new_hash.to_owned();
        session.generation += 1;
        session.expires_at = expires_at;
        let mut conn = self.conn().await?;
        let outcome: i64 = Script::new(ROTATE)
            .key(self.session_key(id))
            .arg(presented_hash)
            .arg(new_hash)
            .arg(encode(&session)?)
            .arg(ttl_millis(expires_at, now))
            .invoke_async(&mut conn)
            .await
            .map_err(failed)?;
        Ok(match outcome {
            1 => Rotation::Rotated(session),
            -1 => Rotation::Reused,
            _ => Rotation::Unknown,
        })
    }

    async fn revoke(&self, id: &str) -> StorageResult<bool> {
        let mut conn = self.conn().await?;
        let deleted: i64 = conn.del(self.session_key(id)).await.map_err(failed)?;
        Ok(deleted > 0)
    }

    async fn revoke_account(&self, account: &AccountRef) -> StorageResult<u64> {
        let mut conn = self.conn().await?;
        let set = self.account_key(account);
        let ids: Vec<String> = conn.smembers(&set).await.map_err(failed)?;
        let mut deleted = 0u64;
        for id in &ids {
            let removed: i64 = conn.del(self.session_key(id)).await.map_err(failed)?;
            deleted += removed.unsigned_abs();
        }
        let _: i64 = conn.del(&set).await.map_err(failed)?;
        Ok(deleted)
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

    async fn rotate(
        &self,
        id: &str,
        presented_hash: &str,
        new_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StorageResult<Rotation> {
        self.0
            .sessions()
            .rotate(id, presented_hash, new_hash, expires_at, now)
            .await
    }

    async fn revoke(&self, id: &str) -> StorageResult<bool> {
        self.0.sessions().revoke(id).await
    }

    async fn revoke_account(&self, account: &AccountRef) -> StorageResult<u64> {
        self.0.sessions().revoke_account(account).await
    }
}

//! Rate limits: a Redis fixed-window counter shared by every instance when Redis is configured,
//! and `governor` in-process otherwise, or whenever Redis fails (limits then hold per instance,
//! and Redis is tried again after a short pause). Nothing here ever fails a request.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use deadpool_redis::redis::{self, Script};
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter as Governor, clock::Clock,
    middleware::StateInformationMiddleware,
};
use moka::sync::Cache;

use crate::{
    config::Settings,
    redis::{Breaker, RedisHandle},
};

/// One kind of limit. Windows are one minute, except where [`Rule::window`] says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    Ip,
    User,
    /// A store's storefront traffic, all shoppers together (one busy store cannot starve the
    /// platform).
    Store,
    /// One client address in one store's storefront: an abuser runs out of this long before
    /// the store's budget, and what it is refused does not count against the store.
    StoreIp,
    /// A store's admin traffic: never spent by shoppers, so staff keep working whatever the
    /// storefront receives.
    StoreStaff,
    LoginIp,
    /// Emailed links (reset, verification) one account may ask for in an hour.
    AccountMail,
}

impl Rule {
    const ALL: [Self; 7] = [
        Self::Ip,
        Self::User,
        Self::Store,
        Self::StoreIp,
        Self::StoreStaff,
        Self::LoginIp,
        Self::AccountMail,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::User => "user",
            Self::Store => "store",
            Self::StoreIp => "store-ip",
            Self::StoreStaff => "store-staff",
            Self::LoginIp => "login-ip",
            Self::AccountMail => "account-mail",
        }
    }

    /// The window the limit counts over.
    fn window(self) -> Duration {
        match self {
            Self::AccountMail => Duration::from_secs(3600),
            _ => WINDOW,
        }
    }

    fn limit(self, settings: &Settings) -> u32 {
        match self {
            Self::Ip => settings.rate_limit_ip_per_minute,
            Self::User => settings.rate_limit_user_per_minute,
            Self::Store => settings.rate_limit_store_per_minute,
            Self::StoreIp => settings.rate_limit_store_ip_per_minute,
            Self::StoreStaff => settings.rate_limit_store_staff_per_minute,
            Self::LoginIp => settings.rate_limit_login_per_minute,
            Self::AccountMail => settings.rate_limit_account_mail_per_hour,
        }
        .max(1)
    }
}

const WINDOW: Duration = Duration::from_secs(60);

/// The generic cell rate algorithm (the one governor uses in-process), on Redis with Redis's
/// own clock so every instance agrees: each request pushes the key's "theoretical arrival
/// time" (TAT) one interval further; a request is refused while the TAT is more than a whole
/// window ahead. No fixed windows, so no double burst at a window edge.
/// Returns {allowed, remaining, ms until the quota is full again (or until retry)}.
const GCRA: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local interval = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * limit
if allow_at > now then
  return {0, 0, allow_at - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return {1, math.floor((now - allow_at) / interval), new_tat - now}
";
/// After a Redis failure, stay in-process this long before trying Redis again.
const REDIS_PAUSE: Duration = Duration::from_secs(2);
const REDIS_TIMEOUT: Duration = Duration::from_millis(300);

/// The outcome of one counted request, with what the `RateLimit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the quota is fully available again.
    pub reset_secs: u64,
}

impl Decision {
    /// The tighter of two decisions: denied beats allowed, then fewer remaining.
    pub fn tighter(self, other: Self) -> Self {
        match (self.allowed, other.allowed) {
            (true, false) => other,
            (false, true) => self,
            _ if other.remaining < self.remaining => other,
            _ => self,
        }
    }
}

type Local = DefaultKeyedRateLimiter<String, StateInformationMiddleware>;

pub struct RateLimiter {
    limits: HashMap<Rule, u32>,
    local: HashMap<Rule, Local>,
    redis: Option<RedisHandle>,
    breaker: Breaker,
    /// Login failures per key: (count, last failure in ms since the epoch).
    failures: Cache<String, (u32, i64)>,
    local_hits: AtomicU64,
}

impl RateLimiter {
    pub fn new(settings: &Settings, redis: Option<RedisHandle>) -> Arc<Self> {
        let mut limits = HashMap::new();
        let mut local = HashMap::new();
        for rule in Rule::ALL {
            let limit = rule.limit(settings);
            let burst = NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN);
            let period = (rule.window() / limit).max(Duration::from_nanos(1));
            let quota = Quota::with_period(period)
                .unwrap_or_else(|| Quota::per_minute(burst))
                .allow_burst(burst);
            limits.insert(rule, limit);
            local.insert(rule, Governor::keyed(quota).with_middleware());
        }
        Arc::new(Self {
            limits,
            local,
            redis,
            breaker: Breaker::new("Redis rate limiting", REDIS_TIMEOUT, REDIS_PAUSE),
            failures: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(3600))
                .build(),
            local_hits: AtomicU64::new(0),
        })
    }

    fn limit(&self, rule: Rule) -> u32 {
        self.limits.get(&rule).copied().unwrap_or(1)
    }

    /// Counts one request against `rule` for `key`.
    pub async fn hit(&self, rule: Rule, key: &str) -> Decision {
        if let Some(redis) = &self.redis
            && let Some(decision) = self.breaker.call(self.hit_redis(redis, rule, key)).await
        {
            return decision;
        }
        self.hit_local(rule, key)
    }

    async fn hit_redis(
        &self,
        redis: &RedisHandle,
        rule: Rule,
        key: &str,
    ) -> anyhow::Result<Decision> {
        let limit = self.limit(rule);
        let interval_ms =
            u64::try_from(rule.window().as_millis()).unwrap_or(60_000) / u64::from(limit);
        let mut conn = redis.connection().await?;
        let (allowed, remaining, reset_ms): (i64, i64, i64) = Script::new(GCRA)
            .key(redis.key(&format!("rl:{}:{key}", rule.name())))
            .arg(interval_ms.max(1))
            .arg(limit)
            .invoke_async(&mut conn)
            .await?;
        Ok(Decision {
            allowed: allowed == 1,
            limit,
            remaining: u32::try_from(remaining.max(0)).unwrap_or(0),
            reset_secs: u64::try_from(reset_ms.max(0)).unwrap_or(0).div_ceil(1000),
        })
    }

    fn hit_local(&self, rule: Rule, key: &str) -> Decision {
        let limit = self.limit(rule);
        let Some(limiter) = self.local.get(&rule) else {
            return Decision {
                allowed: true,
                limit,
                remaining: limit,
                reset_secs: 0,
            };
        };
        // Forget idle keys now and then (counting keys walks every shard, so not each time).
        if self
            .local_hits
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(4096)
            && limiter.len() > 50_000
        {
            limiter.retain_recent();
        }
        let per_cell = rule.window().as_secs_f64() / f64::from(limit);
        match limiter.check_key(&key.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = f64::from(limit.saturating_sub(remaining));
                Decision {
                    allowed: true,
                    limit,
                    remaining,
                    reset_secs: (used * per_cell).ceil() as u64,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
                Decision {
                    allowed: false,
                    limit,
                    remaining: 0,
                    reset_secs: wait.as_secs().max(1),
                }
            }
        }
    }

    /// Login failures recorded for `key` and when the last one happened (ms since the epoch).
    pub async fn failures(&self, key: &str) -> (u32, i64) {
        if let Some(redis) = &self.redis {
            let work = async {
                let mut conn = redis.connection().await?;
                let (count, last): (Option<u32>, Option<i64>) = redis::cmd("HMGET")
                    .arg(redis.key(&format!("login-failures:{key}")))
                    .arg("count")
                    .arg("last")
                    .query_async(&mut conn)
                    .await?;
                anyhow::Ok((count.unwrap_or(0), last.unwrap_or(0)))
            };
            if let Some(found) = self.breaker.call(work).await {
                return found;
            }
        }
        self.failures.get(key).unwrap_or((0, 0))
    }

    pub async fn record_failure(&self, key: &str) {
        let now = jiff::Timestamp::now().as_millisecond();
        if let Some(redis) = &self.redis {
            let work = async {
                let mut conn = redis.connection().await?;
                let redis_key = redis.key(&format!("login-failures:{key}"));
                redis::pipe()
                    .atomic()
                    .hincr(&redis_key, "count", 1)
                    .hset(&redis_key, "last", now)
                    .expire(&redis_key, 3600)
                    .query_async::<()>(&mut conn)
                    .await?;
                anyhow::Ok(())
            };
            if self.breaker.call(work).await.is_some() {
                return;
            }
        }
        let (count, _) = self.failures.get(key).unwrap_or((0, 0));
        self.failures
            .insert(key.to_owned(), (count.saturating_add(1), now));
    }

    pub async fn clear_failures(&self, key: &str) {
        self.failures.invalidate(key);
        if let Some(redis) = &self.redis {
            let work = async {
                let mut conn = redis.connection().await?;
                redis::cmd("DEL")
                    .arg(redis.key(&format!("login-failures:{key}")))
                    .query_async::<()>(&mut conn)
                    .await?;
                anyhow::Ok(())
            };
            self.breaker.call(work).await;
        }
    }
}

/// How long to wait after `failures` failed logins: nothing for the first few, then doubling,
/// capped. Never a lockout: the wait always ends, and only the throttled key waits.
pub fn login_delay(failures: u32, free: u32, cap: Duration) -> Duration {
    if failures < free {
        return Duration::ZERO;
    }
    let exponent = (failures - free).min(20);
    Duration::from_secs(1u64 << exponent).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_delays_grow_and_stay_capped() {
        let cap = Duration::from_secs(900);
        assert_eq!(login_delay(0, 5, cap), Duration::ZERO);
        assert_eq!(login_delay(4, 5, cap), Duration::ZERO);
        assert_eq!(login_delay(5, 5, cap), Duration::from_secs(1));
        assert_eq!(login_delay(8, 5, cap), Duration::from_secs(8));
        assert_eq!(login_delay(1000, 5, cap), cap);
    }

    #[test]
    fn the_tighter_decision_wins() {
        let open = Decision {
            allowed: true,
            limit: 10,
            remaining: 9,
            reset_secs: 6,
        };
        let low = Decision {
            allowed: true,
            limit: 100,
            remaining: 2,
            reset_secs: 1,
        };
        let denied = Decision {
            allowed: false,
            limit: 100,
            remaining: 0,
            reset_secs: 30,
        };
        assert_eq!(open.tighter(low), low);
        assert_eq!(low.tighter(open), low);
        assert_eq!(open.tighter(denied), denied);
        assert_eq!(denied.tighter(open), denied);
    }

    #[tokio::test]
    async fn in_process_limits_count_per_key() {
        let settings = Settings::load(
            None,
            vec![(
                "TECHVERSE_RATE_LIMIT_IP_PER_MINUTE".to_owned(),
                "3".to_owned(),
            )],
        )
        .unwrap();
        let limiter = RateLimiter::new(&settings, None);
        for expected in [2, 1, 0] {
            let decision = limiter.hit(Rule::Ip, "a").await;
            assert!(decision.allowed);
            assert_eq!(decision.remaining, expected);
        }
        assert!(!limiter.hit(Rule::Ip, "a").await.allowed);
        assert!(limiter.hit(Rule::Ip, "b").await.allowed);
    }
}

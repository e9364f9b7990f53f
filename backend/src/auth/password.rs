//! Password hashing with argon2id (PHC string format), always on the blocking thread pool so a
//! hash never stalls the async runtime. Parameters come from configuration; the defaults are
//! OWASP's: 19 MiB of memory, 2 iterations, 1 lane.
//!
//! Each hash (and each check) holds its argon2 memory while it runs, so how many run at once is
//! bounded: by a memory budget divided by the per-hash cost, and by the CPU (more hashes than
//! cores only queue). A few callers wait briefly in line; past that, or after waiting too long,
//! the answer is [`PasswordError::Busy`] (the API's 503 with `Retry-After`), never more memory.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::Semaphore;

use crate::domain::account::NewPassword;

/// How the hashing is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLimits {
    /// Hashes that may run at once.
    pub concurrent: usize,
    /// Callers that may wait for a slot; more are refused at once.
    pub queue: usize,
    /// The longest a caller waits for a slot.
    pub wait: Duration,
}

impl HashLimits {
    /// From a memory budget (MiB) for hashing and the per-hash cost (KiB): as many hashes as
    /// fit in the budget, at most two per core, at least one; a line of four per slot, waiting
    /// at most `wait`.
    pub fn from_budget(budget_mib: u32, memory_kib: u32, cores: usize, wait: Duration) -> Self {
        let per_hash = u64::from(memory_kib.max(8));
        let fit = usize::try_from(u64::from(budget_mib) * 1024 / per_hash).unwrap_or(usize::MAX);
        let concurrent = fit.min(cores.max(1) * 2).max(1);
        Self {
            concurrent,
            queue: concurrent * 4,
            wait,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Too many hashes are running or waiting: retry after the given time.
    #[error("too many sign-ins at once; retry shortly")]
    Busy(Duration),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

#[derive(Clone)]
pub struct Passwords {
    argon2: Arc<Argon2<'static>>,
    /// A hash of a random password, verified when an email is unknown so a login takes as
    /// long for a missing account as for a wrong password.
    dummy_hash: Arc<str>,
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    limits: HashLimits,
}

/// Counts one waiting caller for as long as it waits.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Passwords {
    pub fn new(memory_kib: u32, iterations: u32, limits: HashLimits) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = super::tokens::random_token()?;
        let dummy_hash = argon2
            .hash_password(dummy.as_bytes())
            .map_err(|e| anyhow::anyhow!("hashing: {e}"))?
            .to_string();
        Ok(Self {
            argon2: Arc::new(argon2),
            dummy_hash: dummy_hash.into(),
            slots: Arc::new(Semaphore::new(limits.concurrent.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            limits,
        })
    }

    pub fn limits(&self) -> HashLimits {
        self.limits
    }

    /// Runs `work` on the blocking pool once a slot is free.
    async fn bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let busy = || PasswordError::Busy(self.limits.wait.max(Duration::from_secs(1)));
        let permit = match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.limits.queue {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(busy());
                }
                let _in_line = InLine(&self.waiting);
                tokio::time::timeout(self.limits.wait, Arc::clone(&self.slots).acquire_owned())
                    .await
                    .map_err(|_| busy())?
                    .map_err(|_| busy())?
            }
        };
        let argon2 = Arc::clone(&self.argon2);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&argon2)
        })
        .await
        .map_err(|e| PasswordError::Failed(anyhow::Error::new(e).context("hashing task")))
    }

    /// The PHC string of a new password's hash.
    pub async fn hash(&self, password: &NewPassword) -> Result<String, PasswordError> {
        let password = password.expose().to_owned();
        self.bounded(move |argon2| {
            argon2
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| anyhow::anyhow!("hashing: {e}"))
        })
        .await?
        .map_err(PasswordError::Failed)
    }

    /// Whether `password` matches `hash`; with no hash (unknown account) a dummy is checked
    /// and the answer is always `false`.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, PasswordError> {
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let password = password.to_owned();
        let matches = self
            .bounded(move |argon2| {
                argon2
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok()
            })
            .await?;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(concurrent: usize, queue: usize, wait_ms: u64) -> HashLimits {
        HashLimits {
            concurrent,
            queue,
            wait: Duration::from_millis(wait_ms),
        }
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let passwords = Passwords::new(1024, 1, limits(2, 8, 1000)).unwrap();
        let password = NewPassword::parse("correct horse battery", None).unwrap();
        let hash = passwords.hash(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(
            passwords
                .verify("correct horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("wrong horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("correct horse battery", None)
                .await
                .unwrap()
        );
    }

    #[test]
    fn the_budget_sets_how_many_hashes_run_at_once() {
        let wait = Duration::from_secs(2);
        // 256 MiB of 19 MiB hashes is 13, but 2 cores only run 4 usefully.
        assert_eq!(
            HashLimits::from_budget(256, 19 * 1024, 2, wait).concurrent,
            4
        );
        assert_eq!(
            HashLimits::from_budget(64, 19 * 1024, 16, wait).concurrent,
            3
        );
        assert_eq!(
            HashLimits::from_budget(1, 19 * 1024, 16, wait).concurrent,
            1
        );
        assert_eq!(HashLimits::from_budget(256, 19 * 1024, 2, wait).queue, 16);
    }

    #[tokio::test]
    async fn past_the_slots_and_the_line_callers_are_told_to_come_back() {
        let passwords = Passwords::new(1024, 1, limits(1, 1, 50)).unwrap();
        let password = NewPassword::parse("correct horse battery", None).unwrap();
        // Every slot is taken (as by a long hash).
        let held = Arc::clone(&passwords.slots).acquire_owned().await.unwrap();
        let waiting = {
            let passwords = passwords.clone();
            tokio::spawn(async move {
                let password = NewPassword::parse("correct horse battery", None).unwrap();
                passwords.hash(&password).await
            })
        };
        while passwords.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        // The line is full: refused at once.
        assert!(matches!(
            passwords.hash(&password).await,
            Err(PasswordError::Busy(_))
        ));
        // The one in line gives up after the wait.
        assert!(matches!(
            waiting.await.unwrap(),
            Err(PasswordError::Busy(_))
        ));
        assert_eq!(passwords.waiting.load(Ordering::Acquire), 0);
        drop(held);
        assert!(passwords.hash(&password).await.is_ok());
        assert_eq!(passwords.slots.available_permits(), 1, "the slot came back");
    }
}

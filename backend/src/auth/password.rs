//! Password hashing with argon2id (PHC string format), on threads of its own so a hash never
//! stalls the async runtime. Parameters come from configuration; the defaults are OWASP's:
//! 19 MiB of memory, 2 iterations, 1 lane.
//!
//! Each hash (and each check) holds its argon2 memory while it runs, so how many run at once is
//! bounded: by a memory budget divided by the per-hash cost, and by the CPU (more hashes than
//! cores only queue). A few callers wait briefly in line; past that, or after waiting too long,
//! the answer is [`PasswordError::Busy`] (the API's 503 with `Retry-After`), never more memory.
//!
//! Hashes run on a fixed set of threads, one per slot, each owning one argon2 memory buffer for
//! its whole life: nothing is allocated per hash, so the memory hashing takes is exactly
//! slots × cost, however many hashes a burst brings (allocating per hash, the allocator kept
//! freed buffers around and a burst grew the process by gigabytes).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
        mpsc::SyncSender,
    },
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHasher as _, PasswordVerifier as _, Version,
};
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

type Job = Box<dyn FnOnce(&Argon2<'static>, &mut [Block]) + Send>;

/// The hashing threads: each allocates its memory buffer once and takes jobs until every
/// sender is gone.
fn start_threads(argon2: &Arc<Argon2<'static>>, count: usize) -> anyhow::Result<SyncSender<Job>> {
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Job>(count);
    let receiver = Arc::new(std::sync::Mutex::new(receiver));
    let blocks = argon2.params().block_count();
    for index in 0..count {
        let (argon2, receiver) = (Arc::clone(argon2), Arc::clone(&receiver));
        std::thread::Builder::new()
            .name(format!("argon2-{index}"))
            .spawn(move || {
                // Allocated with the first job and kept: an idle server holds none.
                let mut memory: Vec<Block> = Vec::new();
                loop {
                    let next = match receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = next else { return };
                    if memory.is_empty() {
                        memory = vec![Block::default(); blocks];
                    }
                    // A job that panics loses its answer (the caller sees a failure), not
                    // the thread.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        job(&argon2, &mut memory);
                    }));
                }
            })?;
    }
    Ok(sender)
}

const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

/// A new PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), computed in `memory`.
fn hash_into(argon2: &Argon2<'_>, password: &[u8], memory: &mut [Block]) -> anyhow::Result<String> {
    use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
    let mut out = [0u8; OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(password, &salt, &mut out, memory)
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    let hash = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(argon2::Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params())
            .map_err(|e| anyhow::anyhow!("hash parameters: {e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `stored`. A hash made with today's parameters is
/// checked in `memory`; one made with others (before a change of configuration) by the
/// library, which allocates for it.
fn verify_in(argon2: &Argon2<'_>, password: &[u8], stored: &str, memory: &mut [Block]) -> bool {
    use argon2::password_hash::phc::PasswordHash;
    use subtle::ConstantTimeEq;
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let same_terms = parsed.algorithm == argon2::ARGON2ID_IDENT
        && parsed.version == Some(argon2::Version::V0x13.into())
        && Params::try_from(&parsed).is_ok_and(|p| p == *argon2.params());
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    if !same_terms || expected.len() != OUTPUT_LEN {
        return argon2.verify_password(password, stored).is_ok();
    }
    let mut out = [0u8; OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(password, salt, &mut out, memory)
        .is_ok()
        && bool::from(out.ct_eq(expected.as_bytes()))
}

#[derive(Clone)]
pub struct Passwords {
    jobs: SyncSender<Job>,
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
        let argon2 = Arc::new(argon2);
        let slots = limits.concurrent.max(1);
        Ok(Self {
            jobs: start_threads(&argon2, slots)?,
            dummy_hash: dummy_hash.into(),
            slots: Arc::new(Semaphore::new(slots)),
            waiting: Arc::new(AtomicUsize::new(0)),
            limits,
        })
    }

    pub fn limits(&self) -> HashLimits {
        self.limits
    }

    /// Runs `work` on a hashing thread once a slot is free.
    async fn bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>, &mut [Block]) -> T + Send + 'static,
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
        let (done, outcome) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |argon2, memory| {
            let result = work(argon2, memory);
            // The slot is free before the caller hears back.
            drop(permit);
            let _ = done.send(result);
        });
        // One slot per thread: a permit holder always finds room in the channel.
        self.jobs
            .try_send(job)
            .map_err(|_| PasswordError::Failed(anyhow::anyhow!("hashing threads are gone")))?;
        outcome
            .await
            .map_err(|_| PasswordError::Failed(anyhow::anyhow!("a hashing thread failed")))
    }

    /// The PHC string of a new password's hash.
    pub async fn hash(&self, password: &NewPassword) -> Result<String, PasswordError> {
        let password = password.expose().to_owned();
        self.bounded(move |argon2, memory| hash_into(argon2, password.as_bytes(), memory))
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
            .bounded(move |argon2, memory| verify_in(argon2, password.as_bytes(), &hash, memory))
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

    #[tokio::test]
    async fn hashes_made_by_the_library_or_with_other_parameters_still_verify() {
        let passwords = Passwords::new(1024, 1, limits(1, 4, 1000)).unwrap();
        let library = |m, t| {
            let params = Params::new(m, t, 1, None).unwrap();
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(b"correct horse battery")
                .unwrap()
                .to_string()
        };
        for stored in [library(1024, 1), library(2048, 2)] {
            assert!(
                passwords
                    .verify("correct horse battery", Some(&stored))
                    .await
                    .unwrap()
            );
            assert!(
                !passwords
                    .verify("wrong horse battery", Some(&stored))
                    .await
                    .unwrap()
            );
        }
        assert!(
            !passwords
                .verify("anything", Some("not a phc string"))
                .await
                .unwrap()
        );
        // And the library verifies ours.
        let password = NewPassword::parse("correct horse battery", None).unwrap();
        let ours = passwords.hash(&password).await.unwrap();
        let params = Params::new(1024, 1, 1, None).unwrap();
        assert!(
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .verify_password(b"correct horse battery", ours.as_str())
                .is_ok()
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

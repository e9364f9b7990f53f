//! Injected storage failures, for tests: a test names a step of the checkout saga or of an
//! order save, and the adapter answers that step with an error once, exactly as if the database
//! had refused it, so each step's compensation can be checked. A *crash* at a step stops the
//! saga there without any compensation (what a process killed between two writes leaves
//! behind, for the repair pass to find); an *abort* really ends the process there.
//!
//! Production storage is built without a plan (`Faults::default()`) and every check is a
//! no-op. The binary accepts a plan only from `TECHVERSE_FAULT_PLAN` with
//! `TECHVERSE_ENVIRONMENT=test` (see `config`); it refuses to start otherwise.

use std::{
    str::FromStr,
    sync::{Arc, Mutex},
};

use super::{StorageError, StorageResult};

/// A step where an adapter may be told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SagaStep {
    /// Recording the idempotency key of a checkout.
    ClaimKey,
    /// Reserving the n-th line (0-based, in variant order).
    Reserve(usize),
    /// Counting the use against the discount's total limit.
    CountDiscount,
    /// Counting the use against this customer's limit.
    CountCustomerUse,
    /// Taking the store's next order number.
    NumberOrder,
    /// Storing the new order.
    InsertOrder,
    /// Appending an order's events to the store's log (after the order is stored).
    PublishEvents,
    /// Pointing the idempotency key at the stored order.
    RecordKey,
    /// Saving an order change under its version.
    SaveOrder,
    /// Applying the n-th stock move of an order change (after the change is saved).
    ApplyMove(usize),
}

impl FromStr for SagaStep {
    type Err = String;

    /// `claim_key`, `reserve.0`, `count_discount`, … (the variant names in snake case, an
    /// index after a dot).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, index) = match text.split_once('.') {
            Some((name, index)) => {
                let index = index
                    .parse::<usize>()
                    .map_err(|_| format!("`{text}`: the index after the dot is not a number"))?;
                (name, Some(index))
            }
            None => (text, None),
        };
        let step = match (name, index) {
            ("claim_key", None) => Self::ClaimKey,
            ("reserve", Some(n)) => Self::Reserve(n),
            ("count_discount", None) => Self::CountDiscount,
            ("count_customer_use", None) => Self::CountCustomerUse,
            ("number_order", None) => Self::NumberOrder,
            ("insert_order", None) => Self::InsertOrder,
            ("publish_events", None) => Self::PublishEvents,
            ("record_key", None) => Self::RecordKey,
            ("save_order", None) => Self::SaveOrder,
            ("apply_move", Some(n)) => Self::ApplyMove(n),
            _ => return Err(format!("`{text}` is not a saga step")),
        };
        Ok(step)
    }
}

/// What happens when the adapter reaches a planned step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The step answers an error; the saga compensates what it did before.
    Fail,
    /// The step answers an error and the saga stops without compensating, as if the process
    /// had died between the previous write and this one.
    Crash,
    /// The process aborts at the step (the fault suite's real crash).
    Abort,
    /// The step stalls for [`SLOW`] and then goes ahead (a database that has stopped
    /// answering in time). The embedded adapter checks from its blocking database work, so
    /// the stall holds that work; on MongoDB it holds the calling thread (tests only).
    Slow,
}

/// How long a [`FaultKind::Slow`] step stalls.
pub const SLOW: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Default)]
struct Plan {
    steps: Vec<(SagaStep, FaultKind)>,
    /// A crash fired and its saga has not yet asked whether to compensate.
    crashed: bool,
}

/// The failures still to inject; each fires once.
#[derive(Clone, Default)]
pub struct Faults(Option<Arc<Mutex<Plan>>>);

impl Faults {
    /// A plan tests fill with [`Self::fail_once`] and [`Self::crash_once`].
    pub fn plan() -> Self {
        Self(Some(Arc::default()))
    }

    /// Whether any fault may ever fire (a production storage has no plan).
    pub fn is_planned(&self) -> bool {
        self.0.is_some()
    }

    /// The next time the adapter reaches `step`, it fails there.
    pub fn fail_once(&self, step: SagaStep) {
        self.add(step, FaultKind::Fail);
    }

    /// The next time the adapter reaches `step`, the saga stops there uncompensated.
    pub fn crash_once(&self, step: SagaStep) {
        self.add(step, FaultKind::Crash);
    }

    fn add(&self, step: SagaStep, kind: FaultKind) {
        if let Some(plan) = &self.0
            && let Ok(mut plan) = plan.lock()
        {
            plan.steps.push((step, kind));
        }
    }

    /// Called by adapters before each step: an error when a failure is planned there.
    pub fn check(&self, step: SagaStep) -> StorageResult<()> {
        let Some(plan) = &self.0 else {
            return Ok(());
        };
        let mut plan = plan
            .lock()
            .map_err(|_| StorageError::Unavailable(anyhow::anyhow!("fault plan poisoned")))?;
        let Some(index) = plan.steps.iter().position(|(s, _)| *s == step) else {
            return Ok(());
        };
        let (_, kind) = plan.steps.remove(index);
        match kind {
            FaultKind::Fail => {}
            FaultKind::Crash => plan.crashed = true,
            FaultKind::Abort => {
                tracing::error!(?step, "fault plan: aborting the process");
                std::process::abort();
            }
            FaultKind::Slow => {
                drop(plan);
                std::thread::sleep(SLOW);
                return Ok(());
            }
        }
        Err(StorageError::Unavailable(anyhow::anyhow!(
            "injected {kind:?} at {step:?}"
        )))
    }

    /// Whether the saga that just failed was crashed (and must leave its writes behind);
    /// asking clears it.
    pub fn take_crash(&self) -> bool {
        self.0
            .as_ref()
            .and_then(|plan| plan.lock().ok())
            .is_some_and(|mut plan| std::mem::take(&mut plan.crashed))
    }
}

impl FromStr for Faults {
    type Err = String;

    /// A plan such as `crash@reserve.1,abort@insert_order`: comma-separated
    /// `fail|crash|abort|slow@<step>` entries, each firing once.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let faults = Self::plan();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (kind, step) = entry
                .split_once('@')
                .ok_or_else(|| format!("`{entry}`: expected <fail|crash|abort|slow>@<step>"))?;
            let kind = match kind {
                "fail" => FaultKind::Fail,
                "crash" => FaultKind::Crash,
                "abort" => FaultKind::Abort,
                "slow" => FaultKind::Slow,
                other => return Err(format!("`{other}` is not fail, crash, abort or slow")),
            };
            faults.add(step.parse()?, kind);
        }
        Ok(faults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planned_failure_fires_once_and_an_unplanned_storage_never_fails() {
        let plan = Faults::plan();
        plan.fail_once(SagaStep::Reserve(1));
        assert!(plan.check(SagaStep::Reserve(0)).is_ok());
        assert!(plan.check(SagaStep::Reserve(1)).is_err());
        assert!(plan.check(SagaStep::Reserve(1)).is_ok());
        assert!(!plan.take_crash(), "a failure is compensated");
        assert!(Faults::default().check(SagaStep::InsertOrder).is_ok());
        assert!(!Faults::default().is_planned());
    }

    #[test]
    fn a_crash_is_reported_once_to_the_saga_that_hit_it() {
        let plan = Faults::plan();
        plan.crash_once(SagaStep::NumberOrder);
        assert!(plan.check(SagaStep::NumberOrder).is_err());
        assert!(plan.take_crash());
        assert!(!plan.take_crash());
    }

    #[test]
    fn plans_parse_from_configuration_and_bad_ones_say_why() {
        let plan: Faults = "crash@reserve.1, fail@insert_order".parse().unwrap();
        assert!(plan.check(SagaStep::Reserve(1)).is_err());
        assert!(plan.take_crash());
        assert!(plan.check(SagaStep::InsertOrder).is_err());
        assert!(!plan.take_crash());
        assert_eq!(
            "apply_move.2".parse::<SagaStep>(),
            Ok(SagaStep::ApplyMove(2))
        );
        for bad in [
            "reserve",
            "crash@reserve.x",
            "explode@claim_key",
            "claim_key",
        ] {
            assert!(bad.parse::<Faults>().is_err(), "{bad}");
        }
        assert!("".parse::<Faults>().unwrap().is_planned());
    }
}

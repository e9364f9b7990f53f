//! Injected storage failures, for tests: a test names a step of the checkout saga or of an
//! order save, and the adapter answers that step with an error once, exactly as if the database
//! had refused it, so each step's compensation can be checked. Production storage is built
//! without a plan (`Faults::default()`) and every check is a no-op.

use std::sync::{Arc, Mutex};

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

/// The failures still to inject; each fires once.
#[derive(Clone, Default)]
pub struct Faults(Option<Arc<Mutex<Vec<SagaStep>>>>);

impl Faults {
    /// A plan tests fill with [`Self::fail_once`].
    pub fn plan() -> Self {
        Self(Some(Arc::default()))
    }

    /// The next time the adapter reaches `step`, it fails there.
    pub fn fail_once(&self, step: SagaStep) {
        if let Some(plan) = &self.0
            && let Ok(mut steps) = plan.lock()
        {
            steps.push(step);
        }
    }

    /// Called by adapters before each step: an error when a failure is planned there.
    pub fn check(&self, step: SagaStep) -> StorageResult<()> {
        let Some(plan) = &self.0 else {
            return Ok(());
        };
        let mut steps = plan
            .lock()
            .map_err(|_| StorageError::Unavailable(anyhow::anyhow!("fault plan poisoned")))?;
        match steps.iter().position(|s| *s == step) {
            Some(index) => {
                steps.remove(index);
                Err(StorageError::Unavailable(anyhow::anyhow!(
                    "injected failure at {step:?}"
                )))
            }
            None => Ok(()),
        }
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
        assert!(Faults::default().check(SagaStep::InsertOrder).is_ok());
    }
}

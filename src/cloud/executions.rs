//! Step Functions executions that run a rollout server-side (`rollout export`, `run --on
//! step-functions`): creating the state machine, starting and following an execution, finding
//! the one that holds an alias (its ARN is in an SSM parameter beside the alias's lease),
//! releasing its `approve` gate, stopping it and deleting the alarms it created.

use super::limit::Limited;
use super::retry::Retrying;
use super::{Clock, CloudError};

/// One event of an execution's history, as `rollout` follows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Happened {
    /// The event's id, increasing.
    pub id: i64,
    /// `TaskStateEntered`, `TaskSucceeded`, `ExecutionFailed`, …
    pub kind: String,
    /// The state entered, for a state's events.
    pub state: Option<String>,
    /// The output (JSON) of a task, or of the execution, that succeeded.
    pub output: Option<String>,
    /// The error and cause, for a failure.
    pub error: Option<(String, String)>,
}

/// How an execution stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    /// The error it failed with.
    pub error: Option<String>,
}

/// A state machine as `run --on step-functions` leaves it: created or updated, its definition
/// published as a version, which the execution runs (an execution started right after an update
/// of the state machine itself may still run the old definition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The state machine's ARN.
    pub arn: String,
    /// The version just published (the state machine's ARN where Step Functions gave none).
    pub version: String,
    /// Why the versions beyond the newest [`VERSIONS_KEPT`] could not all be deleted, if so.
    pub unpruned: Option<String>,
}

/// The versions of a state machine kept when `run --on step-functions` publishes another (Step
/// Functions allows 1,000): the older are deleted, their running executions going on.
pub const VERSIONS_KEPT: usize = 10;

/// Step Functions and SSM as rollout uses them for server-side rollouts: behind the same pacing
/// ([`Limited`]) and retries ([`Retrying`]) as Lambda and CloudWatch.
// Used on one task, as the other cloud traits: `async fn` without `Send` bounds.
#[allow(async_fn_in_trait)]
pub trait ExecutionsApi {
    /// The SSM parameter `name` (where an execution records its ARN, and where its `approve`
    /// gate leaves its task token); `None` when there is none.
    async fn parameter(&self, name: &str) -> Result<Option<String>, CloudError>;
    /// Releases the execution waiting on `token` (`SendTaskSuccess`) with `output`, then
    /// removes the SSM parameter `name` that held the token.
    async fn release_gate(&self, token: &str, output: &str, name: &str) -> Result<(), CloudError>;
    /// How the execution `arn` stands.
    async fn execution(&self, arn: &str) -> Result<Execution, CloudError>;
    /// Stops the execution `arn`, saying why.
    async fn stop_execution(&self, arn: &str, cause: &str) -> Result<(), CloudError>;
    /// Deletes the metric alarms whose names begin with `prefix`; returns how many.
    async fn delete_alarms_named(&self, prefix: &str) -> Result<usize, CloudError>;
    /// Creates the state machine `name` with `definition`, run as `role`, or updates it when
    /// it exists, publishing the definition as a version.
    async fn put_state_machine(
        &self,
        name: &str,
        definition: &str,
        role: &str,
    ) -> Result<Machine, CloudError>;
    /// Starts an execution `name` of the state machine (or version) `machine`, its input naming
    /// `machine` (what a continuation starts); returns its ARN.
    async fn start_execution(&self, machine: &str, name: &str) -> Result<String, CloudError>;
    /// The events of execution `arn` after event `after`, in order.
    async fn history(&self, arn: &str, after: i64) -> Result<Vec<Happened>, CloudError>;
}

impl<T: ExecutionsApi, C: Clock> ExecutionsApi for Limited<'_, T, C> {
    async fn parameter(&self, name: &str) -> Result<Option<String>, CloudError> {
        self.turn().await;
        self.inner().parameter(name).await
    }

    async fn release_gate(&self, token: &str, output: &str, name: &str) -> Result<(), CloudError> {
        self.turn().await;
        self.inner().release_gate(token, output, name).await
    }

    async fn execution(&self, arn: &str) -> Result<Execution, CloudError> {
        self.turn().await;
        self.inner().execution(arn).await
    }

    async fn stop_execution(&self, arn: &str, cause: &str) -> Result<(), CloudError> {
        self.turn().await;
        self.inner().stop_execution(arn, cause).await
    }

    async fn delete_alarms_named(&self, prefix: &str) -> Result<usize, CloudError> {
        self.turn().await;
        self.inner().delete_alarms_named(prefix).await
    }

    async fn put_state_machine(
        &self,
        name: &str,
        definition: &str,
        role: &str,
    ) -> Result<Machine, CloudError> {
        self.turn().await;
        self.inner().put_state_machine(name, definition, role).await
    }

    async fn start_execution(&self, machine: &str, name: &str) -> Result<String, CloudError> {
        self.turn().await;
        self.inner().start_execution(machine, name).await
    }

    async fn history(&self, arn: &str, after: i64) -> Result<Vec<Happened>, CloudError> {
        self.turn().await;
        self.inner().history(arn, after).await
    }
}

/// Every call is retried as Lambda's are (throttling, 5xx, lost connections), except
/// `SendTaskSuccess`, retried only when it certainly did not reach the execution, and the
/// history, which the follower reads again on its own schedule (and gives up on after two
/// minutes).
impl<T: ExecutionsApi, C: Clock> ExecutionsApi for Retrying<'_, T, C> {
    async fn parameter(&self, name: &str) -> Result<Option<String>, CloudError> {
        let what = || format!("SSM GetParameter {name}");
        self.retry(&what, || self.inner().parameter(name)).await
    }

    async fn release_gate(&self, token: &str, output: &str, name: &str) -> Result<(), CloudError> {
        let what = || "Step Functions SendTaskSuccess".to_string();
        self.retry_if(super::retry::not_run, &what, || {
            self.inner().release_gate(token, output, name)
        })
        .await
    }

    async fn execution(&self, arn: &str) -> Result<Execution, CloudError> {
        let what = || format!("Step Functions DescribeExecution {arn}");
        self.retry(&what, || self.inner().execution(arn)).await
    }

    async fn stop_execution(&self, arn: &str, cause: &str) -> Result<(), CloudError> {
        let what = || format!("Step Functions StopExecution {arn}");
        self.retry(&what, || self.inner().stop_execution(arn, cause))
            .await
    }

    async fn delete_alarms_named(&self, prefix: &str) -> Result<usize, CloudError> {
        let what = || format!("CloudWatch DeleteAlarms {prefix}*");
        self.retry(&what, || self.inner().delete_alarms_named(prefix))
            .await
    }

    async fn put_state_machine(
        &self,
        name: &str,
        definition: &str,
        role: &str,
    ) -> Result<Machine, CloudError> {
        let what = || format!("Step Functions CreateStateMachine {name}");
        self.retry(&what, || {
            self.inner().put_state_machine(name, definition, role)
        })
        .await
    }

    // An execution started again with the same name and input is the same execution.
    async fn start_execution(&self, machine: &str, name: &str) -> Result<String, CloudError> {
        let what = || format!("Step Functions StartExecution {name}");
        self.retry(&what, || self.inner().start_execution(machine, name))
            .await
    }

    async fn history(&self, arn: &str, after: i64) -> Result<Vec<Happened>, CloudError> {
        self.inner().history(arn, after).await
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::*;
    use crate::cloud::sim::clock::VirtualClock;

    /// Step Functions that fails each call with the errors queued for it, then answers.
    #[derive(Default)]
    struct Failing {
        errors: RefCell<Vec<CloudError>>,
        calls: Cell<usize>,
    }

    impl Failing {
        fn answer<T>(&self, value: T) -> Result<T, CloudError> {
            self.calls.set(self.calls.get() + 1);
            match self.errors.borrow_mut().pop() {
                Some(error) => Err(error),
                None => Ok(value),
            }
        }

        fn with(errors: Vec<CloudError>) -> Failing {
            Failing {
                errors: RefCell::new(errors),
                calls: Cell::new(0),
            }
        }
    }

    impl ExecutionsApi for Failing {
        async fn parameter(&self, _: &str) -> Result<Option<String>, CloudError> {
            self.answer(Some("arn".into()))
        }
        async fn release_gate(&self, _: &str, _: &str, _: &str) -> Result<(), CloudError> {
            self.answer(())
        }
        async fn execution(&self, _: &str) -> Result<Execution, CloudError> {
            self.answer(Execution {
                status: "RUNNING".into(),
                error: None,
            })
        }
        async fn stop_execution(&self, _: &str, _: &str) -> Result<(), CloudError> {
            self.answer(())
        }
        async fn delete_alarms_named(&self, _: &str) -> Result<usize, CloudError> {
            self.answer(2)
        }
        async fn put_state_machine(
            &self,
            _: &str,
            _: &str,
            _: &str,
        ) -> Result<Machine, CloudError> {
            self.answer(Machine {
                arn: "machine".into(),
                version: "machine:1".into(),
                unpruned: None,
            })
        }
        async fn start_execution(&self, _: &str, _: &str) -> Result<String, CloudError> {
            self.answer("execution".into())
        }
        async fn history(&self, _: &str, _: i64) -> Result<Vec<Happened>, CloudError> {
            self.answer(Vec::new())
        }
    }

    fn throttled() -> CloudError {
        CloudError::Throttled {
            message: "Rate exceeded".into(),
            retry_after: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_call_but_the_history_is_retried_through_throttles_and_faults() {
        let clock = VirtualClock::new();
        for call in 0..6 {
            let inner = Failing::with(vec![throttled(), CloudError::Transient("503".into())]);
            let cloud = Retrying::new(&inner, &clock);
            let ok = match call {
                0 => cloud.parameter("p").await.is_ok(),
                1 => cloud.execution("e").await.is_ok(),
                2 => cloud.stop_execution("e", "why").await.is_ok(),
                3 => cloud.delete_alarms_named("rollout-").await.is_ok(),
                4 => cloud.put_state_machine("m", "{}", "role").await.is_ok(),
                _ => cloud.start_execution("m", "r1").await.is_ok(),
            };
            assert!(ok, "call {call}");
            assert_eq!(
                inner.calls.get(),
                3,
                "call {call}: two failures, then the answer"
            );
        }
        // The history is not retried here: the follower reads it again, backing off.
        let inner = Failing::with(vec![throttled()]);
        let cloud = Retrying::new(&inner, &clock);
        assert!(cloud.history("e", 0).await.is_err());
        assert_eq!(inner.calls.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_gate_is_released_again_only_when_it_certainly_was_not() {
        let clock = VirtualClock::new();
        // A throttle never reached the execution: asked again, and released.
        let inner = Failing::with(vec![throttled()]);
        let cloud = Retrying::new(&inner, &clock);
        assert!(cloud.release_gate("t", "{}", "p").await.is_ok());
        assert_eq!(inner.calls.get(), 2);
        // A lost answer may have released it: not asked again.
        let inner = Failing::with(vec![CloudError::Transient("connection reset".into())]);
        let cloud = Retrying::new(&inner, &clock);
        assert!(cloud.release_gate("t", "{}", "p").await.is_err());
        assert_eq!(inner.calls.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn calls_are_paced() {
        let clock = VirtualClock::new();
        let inner = Failing::default();
        let paced = Limited::new(&inner, &clock, 2.0);
        for _ in 0..5 {
            paced.execution("e").await.unwrap();
        }
        assert!(
            clock.now().0 >= 2_000,
            "five calls at two a second: {}",
            clock.now()
        );
    }
}

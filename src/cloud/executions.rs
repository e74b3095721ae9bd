//! Step Functions executions that run a rollout server-side (`rollout export`, `run --on
//! step-functions`): creating the state machine, starting and following an execution, finding
//! the one that holds an alias (its ARN is in an SSM parameter beside the alias's lease),
//! releasing its `approve` gate, stopping it and deleting the alarms it created.

use super::CloudError;

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

/// Step Functions and SSM as rollout uses them for server-side rollouts: behind the same layers
/// ([`super::layer`]: pacing, retries) as Lambda and CloudWatch, each method one [`super::call::Call`].
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::cloud::call::{Call, Named};
    use crate::cloud::faults::{Decision, Faults, Injected};
    use crate::cloud::layer::Layered;
    use crate::cloud::limit::Limited;
    use crate::cloud::retry::{Retry, Retrying};
    use crate::cloud::sim::clock::VirtualClock;
    use crate::cloud::Clock;

    /// Step Functions and SSM that answer every call.
    struct Answering;

    impl ExecutionsApi for Answering {
        async fn parameter(&self, _: &str) -> Result<Option<String>, CloudError> {
            Ok(Some("arn".into()))
        }
        async fn release_gate(&self, _: &str, _: &str, _: &str) -> Result<(), CloudError> {
            Ok(())
        }
        async fn execution(&self, _: &str) -> Result<Execution, CloudError> {
            Ok(Execution {
                status: "RUNNING".into(),
                error: None,
            })
        }
        async fn stop_execution(&self, _: &str, _: &str) -> Result<(), CloudError> {
            Ok(())
        }
        async fn delete_alarms_named(&self, _: &str) -> Result<usize, CloudError> {
            Ok(2)
        }
        async fn put_state_machine(
            &self,
            _: &str,
            _: &str,
            _: &str,
        ) -> Result<Machine, CloudError> {
            Ok(Machine {
                arn: "machine".into(),
                version: "machine:1".into(),
                unpruned: None,
            })
        }
        async fn start_execution(&self, _: &str, _: &str) -> Result<String, CloudError> {
            Ok("execution".into())
        }
        async fn history(&self, _: &str, _: i64) -> Result<Vec<Happened>, CloudError> {
            Ok(Vec::new())
        }
    }

    /// The first calls fail with `faults`, one each; the rest go through.
    fn first(faults: &[Injected]) -> impl Fn(usize, &Call) -> Decision + '_ {
        |n, _| faults.get(n).map_or(Decision::Pass, |f| Decision::Fail(*f))
    }

    #[tokio::test(start_paused = true)]
    async fn every_call_but_the_history_is_retried_through_throttles_and_faults() {
        let clock = VirtualClock::new();
        let names = [
            "SSM GetParameter p",
            "Step Functions DescribeExecution e",
            "Step Functions StopExecution e",
            "CloudWatch DeleteAlarms rollout-*",
            "Step Functions CreateStateMachine m",
            "Step Functions StartExecution r1",
        ];
        for (call, name) in names.into_iter().enumerate() {
            let faults = Faults::new(&clock, first(&[Injected::Throttle, Injected::ServerError]));
            let faulty = Layered::over(&Answering, faults);
            let told = RefCell::new(Vec::new());
            let notify = |retry: &Retry| {
                told.borrow_mut()
                    .push(Named(retry.call.clone()).to_string())
            };
            let cloud = Retrying::new(&faulty, &clock).notifying(&notify);
            let ok = match call {
                0 => cloud.parameter("p").await.is_ok(),
                1 => cloud.execution("e").await.is_ok(),
                2 => cloud.stop_execution("e", "why").await.is_ok(),
                3 => cloud.delete_alarms_named("rollout-").await.is_ok(),
                4 => cloud.put_state_machine("m", "{}", "role").await.is_ok(),
                _ => cloud.start_execution("m", "r1").await.is_ok(),
            };
            assert!(ok, "{name}");
            assert_eq!(
                faulty.layer.calls(),
                3,
                "{name}: two failures, then the answer"
            );
            assert_eq!(told.into_inner(), [name, name], "each retry told");
        }
        // The history is not retried here: the follower reads it again, backing off.
        let faulty = Layered::over(
            &Answering,
            Faults::new(&clock, first(&[Injected::Throttle])),
        );
        let cloud = Retrying::new(&faulty, &clock);
        assert!(cloud.history("e", 0).await.is_err());
        assert_eq!(faulty.layer.calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_gate_is_released_again_only_when_it_certainly_was_not() {
        let clock = VirtualClock::new();
        // A throttle never reached the execution: asked again, and released.
        let faulty = Layered::over(
            &Answering,
            Faults::new(&clock, first(&[Injected::Throttle])),
        );
        let cloud = Retrying::new(&faulty, &clock);
        assert!(cloud.release_gate("t", "{}", "p").await.is_ok());
        assert_eq!(faulty.layer.calls(), 2);
        // A lost answer may have released it: not asked again.
        let lost = Faults::new(&clock, first(&[Injected::LostResponse]));
        let faulty = Layered::over(&Answering, lost);
        let cloud = Retrying::new(&faulty, &clock);
        assert!(cloud.release_gate("t", "{}", "p").await.is_err());
        assert_eq!(faulty.layer.calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn calls_are_paced() {
        let clock = VirtualClock::new();
        let paced = Limited::new(&Answering, &clock, 2.0);
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

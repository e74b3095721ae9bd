//! Step Functions executions that run a rollout server-side (`rollout export`, `run --on
//! step-functions`): creating the state machine, starting and following an execution, finding
//! the one that holds an alias (its ARN is in an SSM parameter beside the alias's lease),
//! releasing its `approve` gate, stopping it and deleting the alarms it created.

use aws_sdk_sfn::types::HistoryEvent;

use super::aws::{domain, Aws};
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

impl ExecutionsApi for Aws {
    /// The SSM parameter `name` (where an execution records its ARN, and where its `approve`
    /// gate leaves its task token); `None` when there is none.
    async fn parameter(&self, name: &str) -> Result<Option<String>, CloudError> {
        self.call().await;
        match self.ssm.get_parameter().name(name).send().await {
            Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_string)),
            Err(e) => match domain(e) {
                CloudError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Releases the execution waiting on `token` (`SendTaskSuccess`) with `output`, then
    /// removes the SSM parameter `name` that held the token.
    async fn release_gate(&self, token: &str, output: &str, name: &str) -> Result<(), CloudError> {
        self.call().await;
        self.sfn
            .send_task_success()
            .task_token(token)
            .output(output)
            .send()
            .await
            .map_err(domain)?;
        self.call().await;
        // The gate is released: a parameter left behind only misleads the next `approve`.
        let _ = self.ssm.delete_parameter().name(name).send().await;
        Ok(())
    }

    /// How the execution `arn` stands.
    async fn execution(&self, arn: &str) -> Result<Execution, CloudError> {
        self.call().await;
        let out = self
            .sfn
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map_err(domain)?;
        Ok(Execution {
            status: out.status().as_str().to_string(),
            error: out.error().map(str::to_string),
        })
    }

    /// Stops the execution `arn`, saying why.
    async fn stop_execution(&self, arn: &str, cause: &str) -> Result<(), CloudError> {
        self.call().await;
        self.sfn
            .stop_execution()
            .execution_arn(arn)
            .cause(cause)
            .send()
            .await
            .map_err(domain)?;
        Ok(())
    }

    /// Deletes the metric alarms whose names begin with `prefix`; returns how many.
    async fn delete_alarms_named(&self, prefix: &str) -> Result<usize, CloudError> {
        self.call().await;
        let out = self
            .cloudwatch
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .send()
            .await
            .map_err(domain)?;
        let names: Vec<String> = out
            .metric_alarms()
            .iter()
            .filter_map(|a| a.alarm_name().map(str::to_string))
            .collect();
        if names.is_empty() {
            return Ok(0);
        }
        self.call().await;
        self.cloudwatch
            .delete_alarms()
            .set_alarm_names(Some(names.clone()))
            .send()
            .await
            .map_err(domain)?;
        Ok(names.len())
    }

    /// Creates the state machine `name` with `definition`, run as `role`, or updates it when
    /// it exists, publishing the definition as a version; deletes the versions beyond the
    /// newest [`VERSIONS_KEPT`].
    async fn put_state_machine(
        &self,
        name: &str,
        definition: &str,
        role: &str,
    ) -> Result<Machine, CloudError> {
        self.call().await;
        let created = self
            .sfn
            .create_state_machine()
            .name(name)
            .definition(definition)
            .role_arn(role)
            .publish(true)
            .send()
            .await;
        let (arn, version) = match created {
            Ok(out) => (
                out.state_machine_arn().to_string(),
                out.state_machine_version_arn().map(str::to_string),
            ),
            Err(e) => {
                let exists = e
                    .as_service_error()
                    .is_some_and(|e| e.is_state_machine_already_exists());
                if !exists {
                    return Err(domain(e));
                }
                let arn = self.state_machine_named(name).await?;
                self.call().await;
                let updated = self
                    .sfn
                    .update_state_machine()
                    .state_machine_arn(&arn)
                    .definition(definition)
                    .role_arn(role)
                    .publish(true)
                    .send()
                    .await
                    .map_err(domain)?;
                (arn, updated.state_machine_version_arn().map(str::to_string))
            }
        };
        let unpruned = self.prune_versions(&arn).await.err().map(|e| e.to_string());
        Ok(Machine {
            version: version.unwrap_or_else(|| arn.clone()),
            arn,
            unpruned,
        })
    }

    /// Starts an execution `name` of the state machine `machine`; returns its ARN.
    async fn start_execution(&self, machine: &str, name: &str) -> Result<String, CloudError> {
        self.call().await;
        let out = self
            .sfn
            .start_execution()
            .state_machine_arn(machine)
            .name(name)
            .input(serde_json::json!({"version": machine}).to_string())
            .send()
            .await
            .map_err(domain)?;
        Ok(out.execution_arn().to_string())
    }

    /// The events of execution `arn` after event `after`, in order. Read newest first, a page
    /// at a time, until a page reaches an event already seen: a follower reads only what is new
    /// (one call, as a rule), not the whole history again.
    async fn history(&self, arn: &str, after: i64) -> Result<Vec<Happened>, CloudError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.call().await;
            let page = self
                .sfn
                .get_execution_history()
                .execution_arn(arn)
                .reverse_order(true)
                .max_results(HISTORY_PAGE)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(domain)?;
            let seen = page.events().iter().any(|e| e.id() <= after);
            out.extend(
                page.events()
                    .iter()
                    .filter(|e| e.id() > after)
                    .map(happened),
            );
            match page.next_token() {
                Some(next) if !seen => token = Some(next.to_string()),
                _ => break,
            }
        }
        out.sort_by_key(|e| e.id);
        out.dedup_by_key(|e| e.id);
        Ok(out)
    }
}

impl Aws {
    /// Deletes the versions of the state machine `arn` beyond the newest [`VERSIONS_KEPT`]
    /// (Step Functions lists them newest first).
    async fn prune_versions(&self, arn: &str) -> Result<(), CloudError> {
        let mut versions = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.call().await;
            let page = self
                .sfn
                .list_state_machine_versions()
                .state_machine_arn(arn)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(domain)?;
            versions.extend(
                page.state_machine_versions()
                    .iter()
                    .map(|v| v.state_machine_version_arn().to_string()),
            );
            match page.next_token() {
                Some(next) => token = Some(next.to_string()),
                None => break,
            }
        }
        for old in versions.iter().skip(VERSIONS_KEPT) {
            self.call().await;
            self.sfn
                .delete_state_machine_version()
                .state_machine_version_arn(old)
                .send()
                .await
                .map_err(domain)?;
        }
        Ok(())
    }

    /// The ARN of the state machine `name`, looked for on every page of the account's.
    async fn state_machine_named(&self, name: &str) -> Result<String, CloudError> {
        let mut token: Option<String> = None;
        loop {
            self.call().await;
            let page = self
                .sfn
                .list_state_machines()
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(domain)?;
            if let Some(machine) = page.state_machines().iter().find(|m| m.name() == name) {
                return Ok(machine.state_machine_arn().to_string());
            }
            match page.next_token() {
                Some(next) => token = Some(next.to_string()),
                None => return Err(CloudError::NotFound(format!("state machine {name}"))),
            }
        }
    }
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

/// Events per page of an execution's history (the most `GetExecutionHistory` returns).
const HISTORY_PAGE: i32 = 1000;

fn happened(event: &HistoryEvent) -> Happened {
    let state = event
        .state_entered_event_details()
        .map(|d| d.name().to_string());
    let output = event
        .task_succeeded_event_details()
        .and_then(|d| d.output().map(str::to_string))
        .or_else(|| {
            event
                .execution_succeeded_event_details()
                .and_then(|d| d.output().map(str::to_string))
        });
    let error = event
        .execution_failed_event_details()
        .map(|d| {
            (
                d.error().unwrap_or_default().to_string(),
                d.cause().unwrap_or_default().to_string(),
            )
        })
        .or_else(|| {
            event.task_failed_event_details().map(|d| {
                (
                    d.error().unwrap_or_default().to_string(),
                    d.cause().unwrap_or_default().to_string(),
                )
            })
        });
    Happened {
        id: event.id(),
        kind: event.r#type().as_str().to_string(),
        state,
        output,
        error,
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

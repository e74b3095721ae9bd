//! Step Functions executions that run a rollout server-side (`rollout export`, `run --on
//! step-functions`): creating the state machine, starting and following an execution, finding
//! the one that holds an alias (its ARN is in an SSM parameter beside the alias's lease),
//! releasing its `approve` gate, stopping it and deleting the alarms it created.

use aws_sdk_sfn::types::HistoryEvent;

use super::aws::{domain, Aws};
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
    /// The task's output (JSON), for a task that succeeded.
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

impl Aws {
    /// The SSM parameter `name` (where an execution records its ARN, and where its `approve`
    /// gate leaves its task token); `None` when there is none.
    pub async fn parameter(&self, name: &str) -> Result<Option<String>, CloudError> {
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
    pub async fn release_gate(
        &self,
        token: &str,
        output: &str,
        name: &str,
    ) -> Result<(), CloudError> {
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
    pub async fn execution(&self, arn: &str) -> Result<Execution, CloudError> {
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
    pub async fn stop_execution(&self, arn: &str, cause: &str) -> Result<(), CloudError> {
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
    pub async fn delete_alarms_named(&self, prefix: &str) -> Result<usize, CloudError> {
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
    /// it exists; returns its ARN.
    pub async fn put_state_machine(
        &self,
        name: &str,
        definition: &str,
        role: &str,
    ) -> Result<String, CloudError> {
        self.call().await;
        let created = self
            .sfn
            .create_state_machine()
            .name(name)
            .definition(definition)
            .role_arn(role)
            .send()
            .await;
        match created {
            Ok(out) => Ok(out.state_machine_arn().to_string()),
            Err(e) => {
                let exists = e
                    .as_service_error()
                    .is_some_and(|e| e.is_state_machine_already_exists());
                if !exists {
                    return Err(domain(e));
                }
                let arn = self.state_machine_named(name).await?;
                self.call().await;
                self.sfn
                    .update_state_machine()
                    .state_machine_arn(&arn)
                    .definition(definition)
                    .role_arn(role)
                    .send()
                    .await
                    .map_err(domain)?;
                Ok(arn)
            }
        }
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

    /// Starts an execution `name` of the state machine `machine`; returns its ARN.
    pub async fn start_execution(&self, machine: &str, name: &str) -> Result<String, CloudError> {
        self.call().await;
        let out = self
            .sfn
            .start_execution()
            .state_machine_arn(machine)
            .name(name)
            .input("{}")
            .send()
            .await
            .map_err(domain)?;
        Ok(out.execution_arn().to_string())
    }

    /// The events of execution `arn` after event `after`, in order. Read newest first, a page
    /// at a time, until a page reaches an event already seen: a follower reads only what is new
    /// (one call, as a rule), not the whole history again.
    pub async fn history(&self, arn: &str, after: i64) -> Result<Vec<Happened>, CloudError> {
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

/// Events per page of an execution's history (the most `GetExecutionHistory` returns).
const HISTORY_PAGE: i32 = 1000;

fn happened(event: &HistoryEvent) -> Happened {
    let state = event
        .state_entered_event_details()
        .map(|d| d.name().to_string());
    let output = event
        .task_succeeded_event_details()
        .and_then(|d| d.output().map(str::to_string));
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

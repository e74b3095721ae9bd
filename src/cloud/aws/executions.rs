//! Step Functions and SSM through the SDK, for rollouts that run server-side: the state
//! machine, its executions and their histories, the parameters beside an alias's lease, and the
//! alarms an execution created.

use aws_sdk_sfn::types::HistoryEvent;

use super::errors::domain;
use super::Aws;
use crate::cloud::executions::{Execution, ExecutionsApi, Happened, Machine, VERSIONS_KEPT};
use crate::cloud::CloudError;

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

//! The states of each part of the rollout after admission (`admission.rs`): each step kind (a
//! bake's states are in `bake.rs`), the end, and the waits for Lambda.

use serde_json::{json, Value};

use super::{
    approval_parameter, states, Builder, APPROVAL_TIMEOUT_SECONDS, POLL_SECONDS, REFUSED, RESTORE,
};
use crate::engine::UPDATE_DEADLINE;
use crate::plan::{calls, Millis, Percent, StepKind};

/// Where an unchanged `new` leads.
const NOTHING: &str = "Nothing to roll out";

/// Where a wait for AWS that took too long leads (on to the restore).
const TOO_LONG: &str = "Waited too long";

/// How many times a wait for AWS (an update of `$LATEST`, a `Pending` version) polls before
/// the rollout fails: five minutes, as `run` waits.
pub(super) const POLLS: u64 = UPDATE_DEADLINE.0 / 1000 / POLL_SECONDS;

impl Builder<'_> {
    /// Builds every state: admission, the steps, the end, the restore chain.
    pub(super) fn build(&mut self) {
        self.admission();
        let steps: Vec<StepKind> = self.plan.steps.iter().map(|s| s.kind.clone()).collect();
        for (i, kind) in steps.iter().enumerate() {
            self.step(i + 1, kind);
        }
        if !matches!(steps.last(), Some(StepKind::Promote | StepKind::Rollback)) {
            // The plan ends with traffic as it is: the lease is given back.
            self.clear_lease(&|t| format!("Release f{t}"), "old", self.weight);
            self.delete_alarms("Delete alarms", "Done");
            self.then("Done", json!({"Type": "Succeed"}), true);
        }
        if self.chosen {
            self.nothing_chain();
        }
        if let Some(after) = self.continue_after {
            self.continuation(after);
        }
        self.restore_chain();
        self.states.insert(
            REFUSED.into(),
            json!({"Type": "Fail", "Error": "Refused", "Cause": "an alias is held by another rollout, split, or serves $LATEST, or it or an alarm of the playbook could not be read: nothing was written"}),
        );
    }

    /// The lease marker of step `n` on every alias, traffic as it is.
    fn mark(&mut self, n: usize, gate: bool) {
        let what = if gate { "gate" } else { "mark" };
        self.write_aliases(
            &|t| format!("S{n} {what} f{t}"),
            "old",
            self.weight,
            &|b, t| b.marker(t, n, gate),
        );
    }

    /// Builds `body` (given the state after it) for target `t` of a fleet so that it is passed
    /// over once `t` is dropped: its `new` is the version its alias serves, so, as `run` does,
    /// it was given back and the others go on without it.
    pub(super) fn unless_dropped(
        &mut self,
        t: usize,
        name: &str,
        body: impl FnOnce(&mut Self, &str),
    ) {
        if self.functions.len() < 2 || !self.chosen {
            let next = self.open.clone().unwrap_or_default();
            body(self, &next);
            return;
        }
        let after = format!("{name} (kept)");
        self.then(
            &format!("{name} (dropped?)"),
            json!({
                "Type": "Choice",
                "Choices": [{"Variable": format!("$.f{t}.dropped"), "BooleanEquals": true, "Next": after}],
            }),
            false,
        );
        body(self, &after);
        self.then(&after, json!({"Type": "Pass"}), false);
    }

    /// The states of step `n`: its mark when its calls start with one, then what it does.
    fn step(&mut self, n: usize, kind: &StepKind) {
        if calls::of(kind).marks() {
            self.mark(n, matches!(kind, StepKind::Approve { .. }));
        }
        match kind {
            // Refused before any state is built (`compile_within`).
            StepKind::UpdateCode { .. } | StepKind::Run { .. } => {}
            StepKind::Publish { description } => {
                for t in 0..self.functions.len() {
                    self.publish(n, t, description.as_deref());
                }
                self.any_changed(n);
                self.chosen = true;
                self.create_alarms(n);
            }
            StepKind::UseVersion { version } => {
                for t in 0..self.functions.len() {
                    self.then(
                        &format!("S{n} use f{t}"),
                        json!({"Type": "Pass", "Result": version.to_string(), "ResultPath": format!("$.f{t}.new")}),
                        false,
                    );
                    self.unchanged(n, t);
                    self.active(n, t);
                }
                self.any_changed(n);
                self.chosen = true;
                self.create_alarms(n);
            }
            StepKind::Shift { weight } => self.shift(n, *weight, ""),
            StepKind::Ramp {
                increments, every, ..
            } => {
                for (k, weight) in increments.iter().enumerate() {
                    let part = format!(" {}", k + 1);
                    self.shift(n, *weight, &part);
                    self.bake(n, *every, None, &part);
                }
            }
            StepKind::Wait { duration } => {
                self.then(
                    &format!("S{n} wait"),
                    json!({"Type": "Wait", "Seconds": seconds(*duration)}),
                    false,
                );
            }
            StepKind::Bake { duration, shortest } => {
                self.bake(n, *duration, *shortest, "");
            }
            StepKind::Approve { .. } => {
                self.approval = true;
                let parameter = approval_parameter(&self.functions[0], &self.alias);
                self.then(
                    &format!("S{n} approval"),
                    json!({
                        "Type": "Task",
                        "Resource": self.resource("ssm:putParameter.waitForTaskToken"),
                        "Comment": "waits until `rollout approve` sends this task token",
                        "Parameters": {"Name": parameter, "Type": "String", "Overwrite": true, "Value.$": "$$.Task.Token"},
                        "TimeoutSeconds": APPROVAL_TIMEOUT_SECONDS,
                        "ResultPath": "$.approved",
                        "Retry": super::retry("ssm:putParameter"),
                        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": RESTORE}],
                    }),
                    false,
                );
                self.mark(n, false);
            }
            StepKind::Promote => {
                self.clear_lease(&|t| format!("S{n} promote f{t}"), "new", None);
                self.delete_alarms("Delete alarms", states::PROMOTED);
                self.then(states::PROMOTED, json!({"Type": "Succeed"}), true);
            }
            StepKind::Watch { .. } => unreachable!("`compile` refuses a watch"),
            StepKind::Rollback => {
                self.clear_lease(&|t| format!("S{n} rollback f{t}"), "old", None);
                self.delete_alarms("Delete alarms after the rollback", "Rolled back as planned");
                self.then(
                    "Rolled back as planned",
                    json!({"Type": "Fail", "Error": "RolledBack", "Cause": "the playbook's rollback step restored old"}),
                    true,
                );
            }
        }
    }

    /// `shift P% to new` on every alias.
    fn shift(&mut self, n: usize, weight: Percent, part: &str) {
        self.weight = Some(weight);
        self.write_aliases(
            &|t| format!("S{n}{part} shift f{t}"),
            "old",
            Some(weight),
            &|b, t| b.marker(t, n, false),
        );
        self.weighed(&format!("S{n}{part} weighed"));
    }

    /// `publish` on target `t`: waits for updates to end, publishes the `$LATEST` read (with
    /// its RevisionId when Lambda reports one), then waits until the version is `Active`.
    fn publish(&mut self, n: usize, t: usize, description: Option<&str>) {
        let function = self.functions[t].clone();
        let (latest, updating, publish, bare, chosen) = (
            format!("S{n} latest f{t}"),
            format!("S{n} updating f{t}"),
            states::publish(n, t, false),
            states::publish(n, t, true),
            format!("S{n} new f{t}"),
        );
        self.poll_deadline(&format!("S{n} update deadline f{t}"));
        self.task(
            &latest,
            "lambda:getFunctionConfiguration",
            json!({"FunctionName": function}),
            Some(&format!("$.f{t}.latest")),
            RESTORE,
        );
        let status = format!("$.f{t}.latest.LastUpdateStatus");
        self.then(
            &format!("S{n} ready f{t}"),
            json!({
                "Type": "Choice",
                "Choices": [
                    present_and(&status, json!({"StringEquals": "InProgress"}), &updating),
                    present_and(&status, json!({"StringEquals": "Failed"}), RESTORE),
                    {"Variable": format!("$.f{t}.latest.RevisionId"), "IsPresent": true, "Next": publish},
                ],
                "Default": bare,
            }),
            true,
        );
        self.poll_again(&updating, &latest);
        let mut params =
            json!({"FunctionName": function, "CodeSha256.$": format!("$.f{t}.latest.CodeSha256")});
        if let Some(d) = description {
            params["Description"] = json!(d);
        }
        let catch =
            json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": RESTORE}]);
        let mut with_revision = params.clone();
        with_revision["RevisionId.$"] = json!(format!("$.f{t}.latest.RevisionId"));
        for (name, params) in [(publish, with_revision), (bare, params)] {
            self.states.insert(
                name,
                json!({
                    "Type": "Task",
                    "Resource": self.resource("lambda:publishVersion"),
                    "Parameters": params,
                    "ResultSelector": {"version.$": "$.Version"},
                    "ResultPath": format!("$.f{t}.published"),
                    "Retry": super::retry("lambda:publishVersion"),
                    "Catch": catch,
                    "Next": chosen,
                }),
            );
        }
        self.then(
            &chosen,
            json!({"Type": "Pass", "InputPath": format!("$.f{t}.published.version"), "ResultPath": format!("$.f{t}.new")}),
            false,
        );
        self.unchanged(n, t);
        self.active(n, t);
    }

    /// When `new` of target `t` is the version its alias serves, there is nothing to roll out:
    /// every lease is given back and the execution succeeds.
    fn unchanged(&mut self, n: usize, t: usize) {
        let next = format!("S{n} changed f{t}");
        if self.functions.len() < 2 {
            self.then(
                &format!("S{n} unchanged f{t}"),
                json!({
                    "Type": "Choice",
                    "Choices": [{"Variable": format!("$.f{t}.new"), "StringEqualsPath": format!("$.f{t}.old"), "Next": NOTHING}],
                    "Default": next,
                }),
                true,
            );
            self.join(&next);
            return;
        }
        // In a fleet only this target is dropped: its lease given back, the others go on.
        let drop = format!("S{n} drop f{t}");
        self.then(
            &format!("S{n} unchanged f{t}"),
            json!({
                "Type": "Choice",
                "Choices": [{"Variable": format!("$.f{t}.new"), "StringEqualsPath": format!("$.f{t}.old"), "Next": drop}],
                "Default": next,
            }),
            true,
        );
        let params = self.update_alias(
            t,
            &format!("$.f{t}.old"),
            None,
            json!(format!("$.f{t}.user")),
        );
        self.task(
            &drop,
            "lambda:updateAlias",
            params,
            Some(&format!("$.f{t}.alias")),
            RESTORE,
        );
        self.then(
            &format!("S{n} dropped f{t}"),
            json!({"Type": "Pass", "Result": true, "ResultPath": format!("$.f{t}.dropped")}),
            false,
        );
        self.then(&next, json!({"Type": "Pass"}), false);
    }

    /// After every target of a fleet chose its `new`: when each was dropped, there is nothing
    /// to roll out.
    fn any_changed(&mut self, n: usize) {
        if self.functions.len() < 2 {
            return;
        }
        let all: Vec<Value> = (0..self.functions.len())
            .map(|t| json!({"Variable": format!("$.f{t}.dropped"), "BooleanEquals": true}))
            .collect();
        let next = format!("S{n} something new");
        self.then(
            &format!("S{n} anything new"),
            json!({"Type": "Choice", "Choices": [{"And": all, "Next": NOTHING}], "Default": next}),
            true,
        );
        self.join(&next);
    }

    /// Where an unchanged `new` leads: every lease given back, and success.
    fn nothing_chain(&mut self) {
        self.join(NOTHING);
        self.clear_lease(&|t| format!("Unchanged f{t}"), "old", None);
        self.then(
            states::NOTHING_NEW,
            json!({"Type": "Succeed", "Comment": "publish found nothing new: every lease given back"}),
            true,
        );
    }

    /// A `Pass` state where branches meet, open for what follows.
    pub(super) fn join(&mut self, name: &str) {
        self.states
            .insert(name.to_string(), json!({"Type": "Pass"}));
        self.open = Some(name.to_string());
    }

    /// Every alias written to `version` (`old` or `new`) with `weight` on `new`, and the user's
    /// description: the lease cleared.
    fn clear_lease(
        &mut self,
        name: &dyn Fn(usize) -> String,
        version: &str,
        weight: Option<Percent>,
    ) {
        self.write_aliases(name, version, weight, &|_, t| json!(format!("$.f{t}.user")));
    }

    /// An `UpdateAlias` of every target not dropped, each named `name(t)`: to `version` (`old`
    /// or `new`) with `weight` on `new` and the description `description(t)`.
    fn write_aliases(
        &mut self,
        name: &dyn Fn(usize) -> String,
        version: &str,
        weight: Option<Percent>,
        description: &dyn Fn(&Self, usize) -> Value,
    ) {
        for t in 0..self.functions.len() {
            let params = self.update_alias(
                t,
                &format!("$.f{t}.{version}"),
                weight,
                description(self, t),
            );
            let name = name(t);
            self.unless_dropped(t, &name, |b, _| {
                b.task(
                    &name,
                    "lambda:updateAlias",
                    params,
                    Some(&format!("$.f{t}.alias")),
                    RESTORE,
                );
            });
        }
    }

    /// Waits until `new` of target `t` is `Active`.
    fn active(&mut self, n: usize, t: usize) {
        let (read, pending) = (format!("S{n} version f{t}"), format!("S{n} pending f{t}"));
        self.poll_deadline(&format!("S{n} pending deadline f{t}"));
        self.task(
            &read,
            "lambda:getFunctionConfiguration",
            json!({"FunctionName": self.functions[t], "Qualifier.$": format!("$.f{t}.new")}),
            Some(&format!("$.f{t}.version")),
            RESTORE,
        );

        let next = format!("S{n} active f{t}");
        self.then(
            &format!("S{n} state f{t}"),
            json!({
                "Type": "Choice",
                "Choices": [
                    present_and(&format!("$.f{t}.version.State"), json!({"StringEquals": "Pending"}), &pending),
                    present_and(&format!("$.f{t}.version.State"), json!({"StringEquals": "Failed"}), RESTORE),
                ],
                "Default": next,
            }),
            true,
        );
        self.poll_again(&pending, &read);
        self.join(&next);
    }

    /// Starts the count of polls a wait for AWS may make ([`POLLS`]) before it gives up.
    fn poll_deadline(&mut self, name: &str) {
        self.then(
            name,
            json!({"Type": "Pass", "Result": {"left": POLLS}, "ResultPath": "$.polls"}),
            false,
        );
    }

    /// The poll `name` of a wait for AWS: one poll fewer left, then `POLL_SECONDS` and `read`
    /// again; with none left the rollout fails (and restores `old`).
    fn poll_again(&mut self, name: &str, read: &str) {
        self.waits += 1;
        let (count, wait) = (format!("{name} count"), format!("{name} wait"));
        self.states.insert(
            name.to_string(),
            json!({"Type": "Pass", "Parameters": {"left.$": "States.MathAdd($.polls.left, -1)"}, "ResultPath": "$.polls", "Next": count}),
        );
        self.states.insert(
            count,
            json!({
                "Type": "Choice",
                "Choices": [{"Variable": "$.polls.left", "NumericGreaterThan": 0, "Next": wait}],
                "Default": TOO_LONG,
            }),
        );
        self.states.insert(
            wait,
            json!({"Type": "Wait", "Seconds": POLL_SECONDS, "Next": read}),
        );
        let cause = format!(
            "AWS did not finish an update of $LATEST, or make a version Active, within {}",
            Millis(POLLS * POLL_SECONDS * 1000)
        );
        self.states.insert(
            TOO_LONG.into(),
            json!({"Type": "Pass", "Result": {"Error": "TimedOut", "Cause": cause}, "ResultPath": "$.error", "Next": RESTORE}),
        );
    }
}

/// A Choice rule: `variable` is present and `test` (a comparison without its `Variable`) holds
/// of it; a rule on a field AWS may leave out fails the execution without the guard.
fn present_and(variable: &str, mut test: Value, next: &str) -> Value {
    test["Variable"] = json!(variable);
    json!({"And": [{"Variable": variable, "IsPresent": true}, test], "Next": next})
}

/// Whole seconds, at least one.
pub(super) fn seconds(duration: Millis) -> u64 {
    duration.0.div_ceil(1000).max(1)
}

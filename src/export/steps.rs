//! The states of each part of the rollout: admission and the lease, each step kind, the bake's
//! looks at the alarms, the end, and the chain that restores `old` on any failure.

use serde_json::{json, Value};

use super::{
    approval_parameter, execution_parameter, health, Builder, APPROVAL_TIMEOUT_SECONDS,
    POLL_SECONDS, REFUSED, RESTORE,
};
use crate::plan::{Inconclusive, Millis, Percent, StepKind};

/// Where an unchanged `new` leads.
const NOTHING: &str = "Nothing to roll out";

/// The last state of the restore chain: the execution fails, `old` serving all traffic.
const ROLLED_BACK: &str = "Rolled back";

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
        self.restore_chain();
        self.states.insert(
            REFUSED.into(),
            json!({"Type": "Fail", "Error": "Refused", "Cause": "an alias is held by another rollout, split, or serves $LATEST, or it or an alarm of the playbook could not be read: nothing was written"}),
        );
    }

    /// Reads every alias, refuses what `run` refuses, checks the alarms exist, takes the lease.
    fn admission(&mut self) {
        for t in 0..self.functions.len() {
            let read = format!("Read f{t}");
            let params = json!({"FunctionName": self.functions[t], "Name": self.alias});
            self.task(
                &read,
                "lambda:getAlias",
                params,
                Some(&format!("$.f{t}.alias")),
                REFUSED,
            );
            let (plain, described, split, routing, done) = (
                format!("Undescribed f{t}"),
                format!("Described f{t}"),
                format!("Split f{t}"),
                format!("Routing f{t}"),
                format!("Admitted f{t}"),
            );
            let description = format!("$.f{t}.alias.Description");
            self.then(
                &format!("Held f{t}"),
                json!({
                    "Type": "Choice",
                    "Choices": [
                        {"Not": {"Variable": description, "IsPresent": true}, "Next": plain},
                        {"Variable": description, "StringMatches": "*[rollout *", "Next": REFUSED},
                        {"Variable": description, "StringEquals": "", "Next": plain},
                    ],
                    "Default": described,
                }),
                true,
            );
            let versions = |user: Value, prefix: Value| {
                json!({
                    "Type": "Pass",
                    "Parameters": {
                        "alias.$": format!("$.f{t}.alias"),
                        "old.$": format!("$.f{t}.alias.FunctionVersion"),
                        "user": user,
                        "prefix": prefix,
                    },
                    "ResultPath": format!("$.f{t}"),
                    "Next": split,
                })
            };
            self.states.insert(plain, versions(json!(""), json!("")));
            let mut state = versions(json!(null), json!(null));
            state["Parameters"] = json!({
                "alias.$": format!("$.f{t}.alias"),
                "old.$": format!("$.f{t}.alias.FunctionVersion"),
                "user.$": description,
                "prefix.$": format!("States.Format('{{}} ', {description})"),
            });
            self.states.insert(described, state);
            self.states.insert(
                split.clone(),
                json!({
                    "Type": "Choice",
                    "Choices": [
                        // Versions are numbers: `*LATEST` is `$LATEST` (a comparison with a
                        // string that begins with `$` reads as a variable in some interpreters).
                        {"Variable": format!("$.f{t}.old"), "StringMatches": "*LATEST", "Next": REFUSED},
                        {"Variable": format!("$.f{t}.alias.RoutingConfig"), "IsPresent": true, "Next": routing},
                    ],
                    "Default": done,
                }),
            );
            self.states.insert(
                routing,
                json!({
                    "Type": "Pass",
                    "Parameters": {"text.$": format!("States.JsonToString($.f{t}.alias.RoutingConfig)")},
                    "ResultPath": format!("$.f{t}.routing"),
                    "Next": format!("Weighted f{t}"),
                }),
            );
            // A map with a version in it: `{"AdditionalVersionWeights":{"2":0.05}}`.
            self.states.insert(
                format!("Weighted f{t}"),
                json!({
                    "Type": "Choice",
                    "Choices": [{"Variable": format!("$.f{t}.routing.text"), "StringMatches": "*{\"*{\"*", "Next": REFUSED}],
                    "Default": done,
                }),
            );
            self.join(&done);
        }
        if !self.user_alarms.is_empty() {
            let names = self.user_alarms.clone();
            let count = names.len();
            self.task(
                "Alarms exist",
                "cloudwatch:describeAlarms",
                json!({"AlarmNames": names, "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}),
                Some("$.found"),
                REFUSED,
            );
            if let Some(state) = self.states.get_mut("Alarms exist") {
                state["ResultSelector"] = json!({"metric.$": "States.ArrayLength($.MetricAlarms)", "composite.$": "States.ArrayLength($.CompositeAlarms)"});
            }
            self.then(
                "Count alarms",
                json!({"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.found.metric, $.found.composite)"}, "ResultPath": "$.found"}),
                false,
            );
            self.then(
                "All alarms exist",
                json!({"Type": "Choice", "Choices": [{"Variable": "$.found.n", "NumericEquals": count, "Next": "Lease f0"}], "Default": REFUSED}),
                true,
            );
        }
        for t in 0..self.functions.len() {
            let params =
                self.update_alias(t, &format!("$.f{t}.old"), None, self.marker(t, 0, false));
            let name = format!("Lease f{t}");
            self.task(
                &name,
                "lambda:updateAlias",
                params,
                Some(&format!("$.f{t}.alias")),
                RESTORE,
            );
            // Where `rollout status`, `approve` and `rollback` find this execution.
            self.task(
                &format!("Record f{t}"),
                "ssm:putParameter",
                json!({
                    "Name": execution_parameter(&self.functions[t], &self.alias),
                    "Type": "String",
                    "Overwrite": true,
                    "Value.$": "$$.Execution.Id",
                }),
                None,
                RESTORE,
            );
        }
    }

    /// The lease marker of step `n` on every alias, traffic as it is.
    fn mark(&mut self, n: usize, gate: bool) {
        for t in 0..self.functions.len() {
            let description = self.marker(t, n, gate);
            let params = self.update_alias(t, &format!("$.f{t}.old"), self.weight, description);
            let what = if gate { "gate" } else { "mark" };
            self.task(
                &format!("S{n} {what} f{t}"),
                "lambda:updateAlias",
                params,
                Some(&format!("$.f{t}.alias")),
                RESTORE,
            );
        }
    }

    fn step(&mut self, n: usize, kind: &StepKind) {
        match kind {
            // Refused at compile time.
            StepKind::UpdateCode { .. } | StepKind::Run { .. } => {}
            StepKind::Publish { description } => {
                self.mark(n, false);
                for t in 0..self.functions.len() {
                    self.publish(n, t, description.as_deref());
                }
                self.chosen = true;
                self.create_alarms(n);
            }
            StepKind::UseVersion { version } => {
                self.mark(n, false);
                for t in 0..self.functions.len() {
                    self.then(
                        &format!("S{n} use f{t}"),
                        json!({"Type": "Pass", "Result": version.to_string(), "ResultPath": format!("$.f{t}.new")}),
                        false,
                    );
                    self.unchanged(n, t);
                    self.active(n, t);
                }
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
                    self.bake(n, *every, &part);
                }
            }
            StepKind::Wait { duration } => {
                self.mark(n, false);
                self.then(
                    &format!("S{n} wait"),
                    json!({"Type": "Wait", "Seconds": seconds(*duration)}),
                    false,
                );
            }
            StepKind::Bake { duration, .. } => {
                self.mark(n, false);
                self.bake(n, *duration, "");
            }
            StepKind::Approve { .. } => {
                self.approval = true;
                self.mark(n, true);
                let parameter = approval_parameter(&self.functions[0], &self.alias);
                self.then(
                    &format!("S{n} approval"),
                    json!({
                        "Type": "Task",
                        "Resource": "arn:aws:states:::aws-sdk:ssm:putParameter.waitForTaskToken",
                        "Comment": "waits until `rollout approve` sends this task token",
                        "Parameters": {"Name": parameter, "Type": "String", "Overwrite": true, "Value.$": "$$.Task.Token"},
                        "TimeoutSeconds": APPROVAL_TIMEOUT_SECONDS,
                        "ResultPath": "$.approved",
                        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": RESTORE}],
                    }),
                    false,
                );
                self.mark(n, false);
            }
            StepKind::Promote => {
                self.clear_lease(&|t| format!("S{n} promote f{t}"), "new", None);
                self.delete_alarms("Delete alarms", "Promoted");
                self.then("Promoted", json!({"Type": "Succeed"}), true);
            }
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
        for t in 0..self.functions.len() {
            let description = self.marker(t, n, false);
            let params = self.update_alias(t, &format!("$.f{t}.old"), Some(weight), description);
            self.task(
                &format!("S{n}{part} shift f{t}"),
                "lambda:updateAlias",
                params,
                Some(&format!("$.f{t}.alias")),
                RESTORE,
            );
        }
    }

    /// `publish` on target `t`: waits for updates to end, publishes the `$LATEST` read (with
    /// its RevisionId when Lambda reports one), then waits until the version is `Active`.
    fn publish(&mut self, n: usize, t: usize, description: Option<&str>) {
        let function = self.functions[t].clone();
        let (latest, updating, publish, bare, chosen) = (
            format!("S{n} latest f{t}"),
            format!("S{n} updating f{t}"),
            format!("S{n} publish f{t}"),
            format!("S{n} publish code f{t}"),
            format!("S{n} new f{t}"),
        );
        self.task(
            &latest,
            "lambda:getFunctionConfiguration",
            json!({"FunctionName": function}),
            Some(&format!("$.f{t}.latest")),
            RESTORE,
        );
        self.then(
            &format!("S{n} ready f{t}"),
            json!({
                "Type": "Choice",
                "Choices": [
                    {"Variable": format!("$.f{t}.latest.LastUpdateStatus"), "StringEquals": "InProgress", "Next": updating},
                    {"Variable": format!("$.f{t}.latest.LastUpdateStatus"), "StringEquals": "Failed", "Next": RESTORE},
                    {"Variable": format!("$.f{t}.latest.RevisionId"), "IsPresent": true, "Next": publish},
                ],
                "Default": bare,
            }),
            true,
        );
        self.states.insert(
            updating,
            json!({"Type": "Wait", "Seconds": POLL_SECONDS, "Next": latest}),
        );
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
                    "Resource": "arn:aws:states:::aws-sdk:lambda:publishVersion",
                    "Parameters": params,
                    "ResultSelector": {"version.$": "$.Version"},
                    "ResultPath": format!("$.f{t}.published"),
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
    }

    /// Where an unchanged `new` leads: every lease given back, and success.
    fn nothing_chain(&mut self) {
        self.join(NOTHING);
        self.clear_lease(&|t| format!("Unchanged f{t}"), "old", None);
        self.then(
            "Nothing new",
            json!({"Type": "Succeed", "Comment": "publish found nothing new: every lease given back"}),
            true,
        );
    }

    /// A `Pass` state where branches meet, open for what follows.
    fn join(&mut self, name: &str) {
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
        for t in 0..self.functions.len() {
            let params = self.update_alias(
                t,
                &format!("$.f{t}.{version}"),
                weight,
                json!(format!("$.f{t}.user")),
            );
            self.task(
                &name(t),
                "lambda:updateAlias",
                params,
                Some(&format!("$.f{t}.alias")),
                RESTORE,
            );
        }
    }

    /// Waits until `new` of target `t` is `Active`.
    fn active(&mut self, n: usize, t: usize) {
        let (read, pending) = (format!("S{n} version f{t}"), format!("S{n} pending f{t}"));
        self.task(
            &read,
            "lambda:getFunctionConfiguration",
            json!({"FunctionName": self.functions[t], "Qualifier.$": format!("$.f{t}.new")}),
            Some(&format!("$.f{t}.version")),
            RESTORE,
        );
        if let Some(state) = self.states.get_mut(&read) {
            state["ResultSelector"] = json!({"state.$": "$.State"});
        }
        let next = format!("S{n} active f{t}");
        self.then(
            &format!("S{n} state f{t}"),
            json!({
                "Type": "Choice",
                "Choices": [
                    {"Variable": format!("$.f{t}.version.state"), "StringEquals": "Pending", "Next": pending},
                    {"Variable": format!("$.f{t}.version.state"), "StringEquals": "Failed", "Next": RESTORE},
                ],
                "Default": next,
            }),
            true,
        );
        self.states.insert(
            pending,
            json!({"Type": "Wait", "Seconds": POLL_SECONDS, "Next": read}),
        );
        self.join(&next);
    }

    /// One alarm per metric check and target, on the versions now chosen.
    fn create_alarms(&mut self, n: usize) {
        let names = self.created();
        let checks = self.metric_checks.clone();
        for t in 0..self.functions.len() {
            for (c, (text, lhs, op, rhs)) in checks.iter().enumerate() {
                let name = &names[t * checks.len() + c];
                let description = format!(
                    "rollout: `{text}` for {}:{}, created by the execution whose name is in the alarm's; deleted when it ends",
                    self.functions[t], self.alias
                );
                let params = health::alarm(
                    name,
                    description,
                    t,
                    &self.functions[t],
                    &self.alias,
                    self.plan.health.every,
                    lhs,
                    *op,
                    rhs,
                );
                self.task(
                    &format!("S{n} alarm f{t} c{c}"),
                    "cloudwatch:putMetricAlarm",
                    params,
                    None,
                    RESTORE,
                );
            }
        }
    }

    /// `wait D until healthy`: looks at every alarm each health interval until the traffic of
    /// `duration` has settled; `ALARM` fails it, and at the end missing data fails it under
    /// `inconclusive fail`.
    fn bake(&mut self, n: usize, duration: Millis, part: &str) {
        let total = Millis(duration.0 + self.settlement.delay.0);
        let names = self.look_names();
        let prefix = format!("S{n}{part}");
        if names.is_empty() {
            self.then(
                &format!("{prefix} bake"),
                json!({"Type": "Wait", "Seconds": seconds(total)}),
                false,
            );
            return;
        }
        let every = self.plan.health.every.max(Millis(1_000));
        let looks = total.0.div_ceil(every.0).max(1);
        let (wait, look) = (format!("{prefix} wait"), format!("{prefix} look"));
        self.then(
            &format!("{prefix} bake"),
            json!({"Type": "Pass", "Result": {"left": looks}, "ResultPath": "$.bake"}),
            false,
        );
        self.then(
            &wait,
            json!({"Type": "Wait", "Seconds": seconds(every)}),
            false,
        );
        self.task(
            &look,
            "cloudwatch:describeAlarms",
            json!({"AlarmNames.$": format!("States.Array({})", names.join(", ")), "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}),
            Some("$.look"),
            RESTORE,
        );
        if let Some(state) = self.states.get_mut(&look) {
            state["ResultSelector"] = json!({"metric.$": "$.MetricAlarms[*].StateValue", "composite.$": "$.CompositeAlarms[*].StateValue"});
        }
        self.then(
            &format!("{prefix} judge"),
            json!({
                "Type": "Pass",
                "Parameters": {
                    "alarm.$": "States.ArrayContains($.look.metric, 'ALARM')",
                    "composite.$": "States.ArrayContains($.look.composite, 'ALARM')",
                    "missing.$": "States.ArrayContains($.look.metric, 'INSUFFICIENT_DATA')",
                    "left.$": "States.MathAdd($.bake.left, -1)",
                },
                "ResultPath": "$.bake",
            }),
            false,
        );
        let done = format!("{prefix} baked");
        let mut choices = vec![
            json!({"Variable": "$.bake.alarm", "BooleanEquals": true, "Next": "Unhealthy"}),
            json!({"Variable": "$.bake.composite", "BooleanEquals": true, "Next": "Unhealthy"}),
            json!({"Variable": "$.bake.left", "NumericGreaterThan": 0, "Next": wait}),
        ];
        if self.plan.health.inconclusive == Inconclusive::Fail {
            choices.push(json!({"Variable": "$.bake.missing", "BooleanEquals": true, "Next": "Inconclusive"}));
        }
        self.then(
            &format!("{prefix} verdict"),
            json!({"Type": "Choice", "Choices": choices, "Default": done}),
            true,
        );
        self.join(&done);
        for (name, why) in [
            ("Unhealthy", "an alarm of the health block is in ALARM"),
            (
                "Inconclusive",
                "the bake ended without data for a check (inconclusive fail)",
            ),
        ] {
            self.states.insert(
                name.into(),
                json!({"Type": "Pass", "Result": {"Error": name, "Cause": why}, "ResultPath": "$.error", "Next": RESTORE}),
            );
        }
    }

    /// Deletes the alarms the execution created, then goes on to `next` whatever happens.
    fn delete_alarms(&mut self, name: &str, next: &str) {
        let created = self.created();
        if created.is_empty() {
            return;
        }
        let names: Vec<String> = created
            .iter()
            .map(|n| format!("States.Format('{n}', $$.Execution.Name)"))
            .collect();
        self.task(
            name,
            "cloudwatch:deleteAlarms",
            json!({"AlarmNames.$": format!("States.Array({})", names.join(", "))}),
            None,
            next,
        );
    }

    /// On any failure: `old` with all the traffic on every alias and the lease cleared (each
    /// write with the RevisionId of this execution's last write, so nobody else's change is
    /// overwritten), the alarms deleted, the execution failed.
    fn restore_chain(&mut self) {
        self.join(RESTORE);
        let count = self.functions.len();
        for t in 0..count {
            let next = if t + 1 < count {
                format!("Restore f{}", t + 1)
            } else if self.created().is_empty() {
                ROLLED_BACK.to_string()
            } else {
                "Delete alarms after a failure".to_string()
            };
            let params = self.update_alias(
                t,
                &format!("$.f{t}.old"),
                None,
                json!(format!("$.f{t}.user")),
            );
            self.task(
                &format!("Restore f{t}"),
                "lambda:updateAlias",
                params,
                Some(&format!("$.f{t}.restored")),
                &next,
            );
        }
        self.delete_alarms("Delete alarms after a failure", ROLLED_BACK);
        self.then(
            ROLLED_BACK,
            json!({"Type": "Fail", "Error": "RolledBack", "Cause": "a step failed: old serves all traffic again (the execution's history says which step, and why)"}),
            true,
        );
    }
}

/// Whole seconds, at least one.
fn seconds(duration: Millis) -> u64 {
    duration.0.div_ceil(1000).max(1)
}

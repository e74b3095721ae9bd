//! Admission: every alias read, what `run` refuses refused (another rollout's lease, a split
//! alias, `$LATEST`, a description with no room for the marker, a missing alarm), the lease
//! taken and the execution recorded.

use serde_json::{json, Value};

use super::{execution_parameter, Builder, BEGIN, REFUSED, RESTORE};
use crate::cloud::lease::{Marker, DESCRIPTION_LIMIT};

/// Where an alias whose description leaves no room for the lease marker is refused.
const LONG_DESCRIPTION: &str = "Description too long";

impl Builder<'_> {
    /// Reads every alias, refuses what `run` refuses, checks the alarms exist, takes the lease.
    pub(super) fn admission(&mut self) {
        // `$rid`, the rollout's id: the name of its first execution, which names its lease and
        // its alarms in every execution that continues it.
        let mut begin = json!({"Type": "Pass", "Result": {"open": "{", "close": "}"}, "ResultPath": "$.braces", "Assign": {"rid.$": "$$.Execution.Name"}});
        if !self.counted.is_empty() {
            // Where the judge's counts begin until a shift says otherwise.
            begin["Assign"]["first"] = Value::Null;
            begin["Assign"]["since.$"] = json!("$$.Execution.StartTime");
            for t in 0..self.functions.len() {
                begin["Assign"][format!("r{t}")] = Value::Null;
            }
        }
        self.then(BEGIN, begin, false);
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
                        "dropped": false,
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
                "dropped": false,
            });
            // Lambda keeps 256 characters of description: refused up front, as `run` does,
            // when the user's text and the longest marker this execution writes would not fit.
            let fits = format!("Fits f{t}");
            state["Next"] = json!(fits);
            self.states.insert(described, state);
            let longest = (0..=self.plan.steps.len())
                .map(|step| {
                    Marker::server_template(
                        &self.plan_name,
                        step,
                        self.plan.steps.len(),
                        true,
                        true,
                    )
                    .chars()
                    .count()
                        - 6
                })
                .max()
                .unwrap_or(0);
            self.states.insert(
                fits,
                json!({
                    "Type": "Choice",
                    "QueryLanguage": "JSONata",
                    "Choices": [{
                        // `old` and `new` take at most one digit more than `old` has.
                        "Condition": format!(
                            "{{% $length($states.input.f{t}.user) + 1 + {longest} + $length($rid) + 2 * $length($states.input.f{t}.old) + 1 > {DESCRIPTION_LIMIT} %}}"
                        ),
                        "Next": LONG_DESCRIPTION,
                    }],
                    "Default": split,
                }),
            );
            self.states.insert(
                LONG_DESCRIPTION.into(),
                json!({"Type": "Fail", "Error": "Refused", "Cause": format!(
                    "an alias's description is too long to carry the lease marker after it: Lambda keeps {DESCRIPTION_LIMIT} characters; nothing was written. Shorten the description (aws lambda update-alias --description)"
                )}),
            );
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
}

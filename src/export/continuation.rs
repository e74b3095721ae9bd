//! A long rollout in several executions. Step Functions fails an execution whose history passes
//! 25,000 events, in a way no `Catch` handles; a bake that looks more often than one history
//! holds therefore continues, at a verdict that would wait, in a fresh execution of the same
//! state machine: it carries the execution's data and variables and goes on waiting in the same
//! bake. The rollout keeps its id (`$rid`, its first execution's name), which names its lease and
//! its alarms; the SSM parameter `rollout status`, `approve` and `rollback` read names the newest
//! execution, and the follower goes on with it.

use serde_json::{json, Value};

use super::{retry, Builder, BEGIN, RESTORE};
use crate::export::execution_parameter;
use crate::plan::Millis;

/// The first state of a definition that may continue: a continued execution's variables, or a
/// fresh one's id.
pub(super) const START: &str = "Start";
const RESUMED: &str = "Resumed?";
const RESUME: &str = "Resume";
const RESUME_AT: &str = "Resume at";
const CONTINUE: &str = "Continue";
const CONTINUE_START: &str = "Continue start";
/// The end of an execution that a fresh one continues; its output names that execution.
pub const CONTINUED: &str = "Continued";
const MISMATCH: &str = "Not this definition";
/// Stands for the digest of the definition until it is built: a continued execution goes on
/// only in the definition that started it.
pub(super) const DIGEST: &str = "@digest@";
/// How much of the rollout's id a continuation's name keeps: names have at most 80 characters.
const ID_KEPT: usize = 70;

/// Whether the execution `arn` runs the rollout whose id (its first execution's name) is `id`:
/// that execution, or one that continues it (`ID-c2`, the id cut to [`ID_KEPT`] characters).
pub fn runs_rollout(arn: &str, id: &str) -> bool {
    let name = arn.rsplit(':').next().unwrap_or_default();
    if name == id {
        return true;
    }
    let kept: String = id.chars().take(ID_KEPT).collect();
    name.strip_prefix(kept.as_str())
        .and_then(|rest| rest.strip_prefix("-c"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The variables the states carry between them; the continuation's own are recomputed.
fn carried(states: &serde_json::Map<String, Value>) -> Vec<String> {
    let own = ["rid", "gen", "cut", "dg", "ver", "nn", "na"];
    let mut names: Vec<String> = states
        .values()
        .filter_map(|s| s["Assign"].as_object())
        .flat_map(|a| a.keys().map(|k| k.trim_end_matches(".$").to_string()))
        .filter(|k| !own.contains(&k.as_str()))
        .collect();
    names.sort();
    names.dedup();
    names
}

impl Builder<'_> {
    /// The verdict rule of the bake `prefix` that continues in a fresh execution once this one
    /// has run `continue_after`, as JSONata (the judged bake) or JSONPath (a bake on alarms);
    /// `None` when the rollout fits in one execution.
    pub(super) fn continue_rule(&mut self, prefix: &str, jsonata: bool) -> Option<Value> {
        self.continue_after?;
        let entry = format!("{prefix} continue");
        self.states.insert(
            entry.clone(),
            json!({"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"at": prefix}, "Next": CONTINUE}),
        );
        self.resumable.push(prefix.to_string());
        Some(if jsonata {
            json!({"Condition": "{% $bk.now >= $toMillis($cut) %}", "Next": entry})
        } else {
            json!({"And": [
                {"Variable": "$.bake.left", "NumericGreaterThan": 0},
                {"Variable": "$$.State.EnteredTime", "TimestampGreaterThanEqualsPath": "$cut"},
            ], "Next": entry})
        })
    }

    /// The states that start or continue an execution, and that continue it in a fresh one.
    pub(super) fn continuation(&mut self, after: Millis) {
        let continued = "$exists($states.input.continued)";
        let name = format!("$substring($rid, 0, {ID_KEPT}) & '-c' & $string($gen + 1)");
        self.states.insert(
            START.into(),
            json!({
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Assign": {
                    "cut": format!("{{% $fromMillis($toMillis($states.context.Execution.StartTime) + {}) %}}", after.0),
                    "rid": format!("{{% {continued} ? $states.input.continued.rid : $states.context.Execution.Name %}}"),
                    "gen": format!("{{% {continued} ? $states.input.continued.gen : 0 %}}"),
                    "dg": format!("{{% {continued} ? $states.input.continued.digest : '' %}}"),
                    // What a continuation starts: the version of the state machine `run --on
                    // step-functions` started (its input names it), or the state machine.
                    "ver": format!("{{% {continued} ? $states.input.continued.ver : $exists($states.input.version) ? $states.input.version : $states.context.StateMachine.Id %}}"),
                },
                "Next": RESUMED,
            }),
        );
        self.states.insert(
            RESUMED.into(),
            json!({
                "Type": "Choice",
                "QueryLanguage": "JSONata",
                "Choices": [
                    {"Condition": format!("{{% $gen > 0 and $dg != '{DIGEST}' %}}"), "Next": MISMATCH},
                    {"Condition": "{% $gen > 0 %}", "Next": RESUME},
                ],
                "Default": BEGIN,
            }),
        );
        let vars = carried(&self.states);
        let assign: serde_json::Map<String, Value> = vars
            .iter()
            .map(|v| {
                (
                    v.clone(),
                    json!(format!("{{% $states.input.continued.vars.{v} %}}")),
                )
            })
            .collect();
        self.states.insert(
            RESUME.into(),
            json!({
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Assign": assign,
                "Output": "{% $states.input.continued.doc %}",
                "Next": RESUME_AT,
            }),
        );
        let choices: Vec<Value> = self
            .resumable
            .iter()
            .map(|p| json!({"Condition": format!("{{% $at = '{p}' %}}"), "Next": format!("{p} wait")}))
            .collect();
        self.states.insert(
            RESUME_AT.into(),
            json!({"Type": "Choice", "QueryLanguage": "JSONata", "Choices": choices, "Default": MISMATCH}),
        );
        self.states.insert(
            MISMATCH.into(),
            json!({"Type": "Fail", "Error": "RestoreFailed", "Cause": format!(
                "this execution continues a rollout that an execution of another definition of the state machine started (it was updated meanwhile): it cannot go on, and old was not restored. Finish it with: {}",
                self.rollback_command()
            )}),
        );
        self.states.insert(
            CONTINUE.into(),
            json!({
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Assign": {
                    "nn": format!("{{% {name} %}}"),
                    // This execution's ARN with the next one's name.
                    "na": format!("{{% $join($append([$split($states.context.Execution.Id, ':')[[0..6]]], [{name}]), ':') %}}"),
                },
            }),
        );
        self.open = Some(CONTINUE.into());
        // Where `rollout status`, `approve` and `rollback` find the execution that goes on.
        for t in 0..self.functions.len() {
            self.task(
                &format!("Continue record f{t}"),
                "ssm:putParameter",
                json!({
                    "Name": execution_parameter(&self.functions[t], &self.alias),
                    "Type": "String",
                    "Overwrite": true,
                    "Value.$": "$na",
                }),
                None,
                RESTORE,
            );
        }
        let carried: Vec<String> = vars.iter().map(|v| format!("'{v}': ${v}")).collect();
        let input = format!(
            "{{% {{'continued': {{'doc': $states.input, 'rid': $rid, 'gen': $gen + 1, 'digest': '{DIGEST}', 'ver': $ver, 'vars': {{{}}}}}}} %}}",
            carried.join(", ")
        );
        self.then(
            CONTINUE_START,
            json!({
                "Type": "Task",
                "QueryLanguage": "JSONata",
                // The optimized integration: moto runs it (its `aws-sdk:sfn` passes AWS's
                // PascalCase parameters to boto3 as they are, and fails).
                "Resource": format!("arn:{}:states:::states:startExecution", self.partition),
                "Arguments": {
                    "StateMachineArn": "{% $ver %}",
                    "Name": "{% $nn %}",
                    "Input": input,
                },
                "Output": "{% {'continued': $na} %}",
                "Retry": retry("states:startExecution"),
                "Catch": [{
                    "ErrorEquals": ["States.ALL"],
                    "Output": "{% $merge([$states.input, {'error': $states.errorOutput}]) %}",
                    "Next": RESTORE,
                }],
            }),
            false,
        );
        self.then(CONTINUED, json!({"Type": "Succeed"}), true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execution_runs_the_rollout_it_started_or_continues() {
        let arn = |name: &str| format!("arn:aws:states:us-east-1:1:execution:m:{name}");
        assert!(runs_rollout(&arn("r1-2"), "r1-2"));
        assert!(runs_rollout(&arn("r1-2-c1"), "r1-2"));
        assert!(runs_rollout(&arn("r1-2-c12"), "r1-2"));
        assert!(!runs_rollout(&arn("r1-2-c"), "r1-2"));
        assert!(!runs_rollout(&arn("r1-2-cx"), "r1-2"));
        assert!(!runs_rollout(&arn("r1-3"), "r1-2"));
        assert!(!runs_rollout(&arn("r1-2-c1"), "r1"));
        let long = "x".repeat(80);
        assert!(runs_rollout(&arn(&format!("{}-c3", "x".repeat(70))), &long));
    }
}

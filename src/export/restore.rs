//! The chain that runs on any failure: each alias read again and decided as `rollout rollback`
//! decides, the alarms deleted, and the end that says what it left.

use serde_json::json;

use super::{Builder, RESTORE};
use crate::cloud::lease::SERVER_HOLDER;

/// The last state of the restore chain: the execution fails, `old` serving all traffic.
const ROLLED_BACK: &str = "Rolled back";

/// The last state of a restore that left an alias as it was, not serving old alone: promoted by
/// this execution before the failure, or changed by someone else.
const LEFT_ALONE: &str = "Partly restored";

/// Where a restore that cannot read or write an alias ends.
const RESTORE_FAILED: &str = "Restore failed";

impl Builder<'_> {
    /// On any failure, each alias read again and decided as `rollout rollback` decides
    /// ([`Builder::restore_target`]), the alarms deleted, and the execution failed: `RolledBack`
    /// when `old` serves all traffic everywhere, `PartlyRestored` when an alias was left not
    /// serving `old` alone, `RestoreFailed` (with the command that finishes it) when an alias
    /// could not be read or written.
    pub(super) fn restore_chain(&mut self) {
        self.join(RESTORE);
        self.then(
            "Restore begins",
            json!({"Type": "Pass", "Result": {"left": false, "failed": false}, "ResultPath": "$.restore"}),
            false,
        );
        for t in 0..self.functions.len() {
            // A function a fleet dropped was given back, serving old alone, when it was.
            self.unless_dropped(t, &format!("Restore of f{t}"), |b, _| b.restore_target(t));
        }
        self.delete_alarms("Delete alarms after a failure", "Restore ends");
        self.then(
            "Restore ends",
            json!({
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.restore.failed", "BooleanEquals": true, "Next": RESTORE_FAILED},
                    {"Variable": "$.restore.left", "BooleanEquals": true, "Next": LEFT_ALONE},
                ],
                "Default": ROLLED_BACK,
            }),
            true,
        );
        self.states.insert(
            ROLLED_BACK.into(),
            json!({"Type": "Fail", "Error": "RolledBack", "Cause": "a step failed: old serves all traffic again (the execution's history says which step, and why)"}),
        );
        self.states.insert(
            LEFT_ALONE.into(),
            json!({"Type": "Fail", "Error": "PartlyRestored", "Cause": "a step failed: old serves all traffic again on every alias this execution still held as it left it; an alias it no longer held, or that was changed by hand, was left as it is and does not serve old alone (the execution's history says which; `rollout status` shows each alias)"}),
        );
        let command = self.rollback_command();
        self.states.insert(
            RESTORE_FAILED.into(),
            json!({"Type": "Fail", "Error": "RestoreFailed", "Cause": format!(
                "a step failed, and old could not be restored on every alias (AWS refused or did not answer, even when asked again; every other alias was restored): an alias may still send traffic to new and hold the lease. Finish it with: {command}"
            )}),
        );
    }

    /// The `rollout rollback` that finishes what an execution could not.
    pub(super) fn rollback_command(&self) -> String {
        let region = self
            .plan
            .targets
            .region
            .as_ref()
            .map(|r| format!(" --region {r}"))
            .unwrap_or_default();
        format!(
            "rollout rollback {} --alias {}{region}",
            self.functions
                .iter()
                .map(|f| format!("--function {f}"))
                .collect::<Vec<_>>()
                .join(" "),
            self.alias
        )
    }

    /// Target `t`'s part of the restore: read its alias again; where this execution's marker is
    /// on it and it serves what the execution left, write `old` with all the traffic and the
    /// lease cleared, with the RevisionId just read; fine where it serves `old` alone; otherwise
    /// left, and said at the end.
    fn restore_target(&mut self, t: usize) {
        let f = |what: &str| format!("Restore {what} f{t}");
        let (done, left, failed) = (format!("Restored f{t}"), f("leaves"), f("failed"));
        let (old, new, now) = (
            format!("$.f{t}.old"),
            format!("$.f{t}.new"),
            format!("$.f{t}.now"),
        );
        self.task(
            &f("read"),
            "lambda:getAlias",
            json!({"FunctionName": self.functions[t], "Name": self.alias}),
            Some(&now),
            &failed,
        );
        // What the alias routes: nothing besides its version, only `new`, or something else
        // (`{"AdditionalVersionWeights":{"7":0.05}}` split on quotes is 5 pieces, the 4th the
        // version; unsplit, 3).
        self.then(
            &f("routing"),
            json!({
                "Type": "Choice",
                "Choices": [{"Variable": format!("{now}.RoutingConfig"), "IsPresent": true, "Next": f("weights")}],
                "Default": f("unsplit"),
            }),
            true,
        );
        self.states.insert(
            f("weights"),
            json!({
                "Type": "Pass",
                "Parameters": {"pieces.$": format!("States.StringSplit(States.JsonToString({now}.RoutingConfig), '\"')")},
                "ResultPath": format!("$.f{t}.routes"),
                "Next": f("count"),
            }),
        );
        self.states.insert(
            f("count"),
            json!({
                "Type": "Pass",
                "Parameters": {
                    "pieces.$": format!("$.f{t}.routes.pieces"),
                    "n.$": format!("States.ArrayLength($.f{t}.routes.pieces)"),
                },
                "ResultPath": format!("$.f{t}.routes"),
                "Next": f("split"),
            }),
        );
        self.states.insert(
            f("split"),
            json!({
                "Type": "Choice",
                "Choices": [
                    {"Variable": format!("$.f{t}.routes.n"), "NumericEquals": 3, "Next": f("unsplit")},
                    {"And": [
                        {"Variable": format!("$.f{t}.routes.n"), "NumericEquals": 5},
                        {"Variable": new, "IsPresent": true},
                    ], "Next": f("weighted")},
                ],
                "Default": f("foreign"),
            }),
        );
        self.states.insert(
            f("weighted"),
            json!({
                "Type": "Pass",
                "Parameters": {"version.$": format!("States.ArrayGetItem($.f{t}.routes.pieces, 3)")},
                "ResultPath": format!("$.f{t}.routes"),
                "Next": f("to new"),
            }),
        );
        self.states.insert(
            f("to new"),
            json!({
                "Type": "Choice",
                "Choices": [{"Variable": format!("$.f{t}.routes.version"), "StringEqualsPath": new, "Next": f("split to new")}],
                "Default": f("foreign"),
            }),
        );
        for (shape, value) in [
            ("unsplit", "old alone"),
            ("split to new", "old and new"),
            ("foreign", "foreign"),
        ] {
            self.states.insert(
                f(shape),
                json!({"Type": "Pass", "Result": value, "ResultPath": format!("$.f{t}.shape"), "Next": f("held")}),
            );
        }
        // Whose it is: this execution's lease marker names it.
        let description = format!("{now}.Description");
        self.states.insert(
            f("held"),
            json!({
                "Type": "Choice",
                "Choices": [{"Variable": description, "IsPresent": true, "Next": f("mine")}],
                "Default": f("not ours"),
            }),
        );
        self.states.insert(
            f("mine"),
            json!({
                "Type": "Pass",
                "Parameters": {"ours.$": format!(
                    "States.ArrayContains(States.StringSplit({description}, ' '), States.Format('h={SERVER_HOLDER}{{}}', $rid))"
                )},
                "ResultPath": format!("$.f{t}.held"),
                "Next": f("ours"),
            }),
        );
        // Ours, and as this execution leaves it (old, or old and new): old is written back.
        // Ours but changed by hand (another version, other weights): left as it is, as
        // `rollout rollback` would.
        self.states.insert(
            f("ours"),
            json!({
                "Type": "Choice",
                "Choices": [{"And": [
                    {"Variable": format!("$.f{t}.held.ours"), "BooleanEquals": true},
                    {"Not": {"Variable": format!("$.f{t}.shape"), "StringEquals": "foreign"}},
                    {"Or": [
                        {"Variable": format!("{now}.FunctionVersion"), "StringEqualsPath": old},
                        {"And": [
                            {"Variable": new, "IsPresent": true},
                            {"Variable": format!("{now}.FunctionVersion"), "StringEqualsPath": new},
                        ]},
                    ]},
                ], "Next": f("write")}],
                "Default": f("not ours"),
            }),
        );
        // Not held (any more): fine when it serves old alone (never leased, or already
        // restored); anything else (promoted by this execution before the failure, or
        // changed by someone else) is left, and said.
        self.states.insert(
            f("not ours"),
            json!({
                "Type": "Choice",
                "Choices": [{"And": [
                    {"Variable": format!("$.f{t}.held.ours"), "IsPresent": false},
                    {"Variable": format!("$.f{t}.shape"), "StringEquals": "old alone"},
                    {"Variable": format!("{now}.FunctionVersion"), "StringEqualsPath": old},
                ], "Next": done}, {"And": [
                    {"Variable": format!("$.f{t}.held.ours"), "BooleanEquals": false},
                    {"Variable": format!("$.f{t}.shape"), "StringEquals": "old alone"},
                    {"Variable": format!("{now}.FunctionVersion"), "StringEqualsPath": old},
                ], "Next": done}],
                "Default": left.clone(),
            }),
        );
        let mut params = self.update_alias(t, &old, None, json!(format!("$.f{t}.user")));
        params["RevisionId.$"] = json!(format!("{now}.RevisionId"));
        self.open = None;
        self.task(
            &f("write"),
            "lambda:updateAlias",
            params,
            Some(&format!("$.f{t}.restored")),
            &failed,
        );
        if let Some(state) = self.states.get_mut(&f("write")) {
            state["Next"] = json!(done);
        }
        self.open = None;
        self.states.insert(
            left,
            json!({"Type": "Pass", "Result": true, "ResultPath": "$.restore.left", "Next": done}),
        );
        self.states.insert(
            failed,
            json!({"Type": "Pass", "Result": true, "ResultPath": "$.restore.failed", "Next": done}),
        );
        self.join(&done);
    }
}

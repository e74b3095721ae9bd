//! What judges each step of a preview: the CloudWatch reads of its metrics, its alarms, its hook
//! or the person who approves.

use super::commands::shell;
use crate::judge::settle::Settlement;
use crate::plan::{Check, Plan, SharedFailure, StepKind};

/// What judges a step of this kind: its metrics, alarms, hook or approver, as lines.
pub(super) fn judged_by(
    kind: &StepKind,
    plan: &Plan,
    functions: &[String],
    others: usize,
    alias: &str,
    settlement: &Settlement,
) -> Vec<String> {
    let (traffic, then) = match kind {
        StepKind::Bake {
            duration,
            shortest: None,
        } => (format!("{duration} of traffic on new"), String::new()),
        StepKind::Bake {
            duration,
            shortest: Some(shortest),
        } => (
            format!("{shortest}..{duration} of traffic on new"),
            format!("; after {shortest} it passes as soon as every check is confidently met"),
        ),
        StepKind::Ramp {
            increments,
            every: e,
            ..
        } => (
            format!(
                "{e} of traffic on new after each of the {} increments",
                increments.len()
            ),
            String::new(),
        ),
        StepKind::Run { script } => return vec![format!("hook {} must return true", script.name)],
        StepKind::Approve { .. } => {
            return vec![
                "a person: `rollout approve`, a terminal prompt, or --auto-approve".to_string(),
            ]
        }
        _ => return Vec::new(),
    };
    let held = match plan.health.shared_failure {
        SharedFailure::Hold { at_most } => format!(
            "; a period in which old fails as much as a check allows stops the clock (at most {at_most})"
        ),
        SharedFailure::Rollback => "; a period in which old fails as much rolls back".to_string(),
    };
    let mut out = vec![format!(
        "the metrics of {traffic}, each {} period read once settled, {} after it ends{then}{held}; from CloudWatch for {}{}, old's last hour once before the first look, then each period as it settles: aws cloudwatch get-metric-data --period {} with dimensions FunctionName, Resource={}, ExecutedVersion=<new>|<old>",
        settlement.period,
        settlement.delay,
        functions.join(", "),
        if others > 0 {
            format!(" and {others} more, all in as few calls as the API allows")
        } else {
            String::new()
        },
        settlement.period.0 / 1000,
        functions
            .iter()
            .map(|f| format!("{f}:{alias}"))
            .collect::<Vec<_>>()
            .join("|")
    )];
    for check in &plan.health.checks {
        if let Check::Alarm { name } = check {
            out.push(format!(
                "aws cloudwatch describe-alarms --alarm-names {}",
                shell(name)
            ));
        }
        if let Check::Signatures(s) = check {
            let group = match functions {
                [one] => s.group_of(one),
                _ => s.log_group.clone(),
            };
            out.push(format!(
                "`{check}`: new's and old's error lines of the same settled time, each look reading what settled since the last (Logs Insights bills per GB scanned): aws logs start-query --log-group-name {} --query-string {} --start-time <from> --end-time <until>, then aws logs get-query-results until Complete, and the same with <old>",
                shell(&group),
                shell(&s.query_of("<new>"))
            ));
        }
    }
    out
}

//! What judges each step of a preview: the CloudWatch reads of its metrics, its alarms, its hook
//! or the person who approves.

use super::commands::shell;
use crate::cloud::{MetricQuery, Stat};
use crate::engine::measure::stats_of;
use crate::judge::form::{judged, Judged};
use crate::judge::settle::Settlement;
use crate::plan::{Check, Metric, Millis, Plan, SharedFailure, StepKind};

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
        StepKind::Watch { duration } => {
            let mut out = vec![format!(
                "the metrics of {duration} of traffic on new, serving everything after `promote`, each {} period read once settled, {} after it ends, as a bake judges them; each `… of old` term is old's value before the rollout, read once at the start over the hour before the rollout began and the same time of day on each of the {} days before (the windows old was invoked in): aws cloudwatch get-metric-data with dimensions FunctionName, Resource={}, ExecutedVersion=<old>; a violation puts old back (the restore below, with the RevisionId last read); an inconclusive end passes",
                settlement.period,
                settlement.delay,
                crate::engine::WATCH_DAYS,
                functions
                    .iter()
                    .map(|f| format!("{f}:{alias}"))
                    .collect::<Vec<_>>()
                    .join("|")
            )];
            out.extend(alarms(plan));
            return out;
        }
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
    out.extend(beyond_lambda(plan, functions, settlement));
    out.extend(alarms(plan));
    out.extend(signatures(plan, functions));
    out
}

/// The Logs Insights queries of the playbook's `no new error signatures` checks at each look.
fn signatures(plan: &Plan, functions: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for check in &plan.health.checks {
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

/// The reads of the playbook's alarms at each look.
fn alarms(plan: &Plan) -> Vec<String> {
    plan.health
        .checks
        .iter()
        .filter_map(|check| match check {
            Check::Alarm { name } => Some(format!(
                "aws cloudwatch describe-alarms --alarm-names {}",
                shell(name)
            )),
            _ => None,
        })
        .collect()
}

/// The reads of metrics beyond Lambda's own that the checks name (a `metric` header's, Lambda
/// Insights' cold starts and init durations): each once, as the `GetMetricData` query the judge
/// sends for `new` (and `old`, the same with its version).
fn beyond_lambda(plan: &Plan, functions: &[String], settlement: &Settlement) -> Vec<String> {
    // Each metric with the period it is read in: a count check's settled periods one by one, a
    // per-window check's whole window as one period.
    let mut metrics: Vec<(&Metric, u64)> = Vec::new();
    for check in &plan.health.checks {
        if let Check::Compare { lhs, rhs, .. } = check {
            let sequential = matches!(judged(check), Judged::Sequential(_));
            for (metric, over) in lhs.metrics().into_iter().chain(rhs.metrics()) {
                let period = if sequential {
                    settlement.period.0
                } else {
                    over.0.div_ceil(settlement.period.0.max(1)) * settlement.period.0
                };
                if metric.beyond_lambda() && !metrics.contains(&(metric, period)) {
                    metrics.push((metric, period));
                }
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    for (metric, period) in metrics {
        let period = period / 1000;
        for stat in stats_of(metric) {
            if stat == Stat::Invocations {
                continue;
            }
            let function = match functions {
                [one] => one.as_str(),
                _ => "<function>",
            };
            let range = (Millis(0), Millis(0));
            let mut query = MetricQuery::lambda(function, "<alias>", "<new>", stat, range);
            if let Stat::Custom(i) = stat {
                query.custom = plan
                    .health
                    .metrics
                    .get(usize::from(i))
                    .map(|m| std::sync::Arc::new(m.clone()));
            }
            let source = query.source();
            let dimensions: Vec<serde_json::Value> = source
                .dimensions
                .iter()
                .map(|(name, value)| serde_json::json!({ "Name": name, "Value": value }))
                .collect();
            let queries = serde_json::json!([{
                "Id": "m0",
                "MetricStat": {
                    "Metric": {
                        "Namespace": source.namespace,
                        "MetricName": source.metric,
                        "Dimensions": dimensions,
                    },
                    "Period": period,
                    "Stat": source.statistic,
                },
            }]);
            let line = format!(
                "{metric}: aws cloudwatch get-metric-data --metric-data-queries {} (and <old>)",
                shell(&queries.to_string())
            );
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out
}

//! One evaluation of one target: reads the settled metrics, asks the judge about each count
//! check, compares the per-window checks, reads the alarms, and concludes with the values seen.
//! Script checks are left to the engine, which runs hooks.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cloud::{AlarmState, CloudError, MetricQuery, MetricsApi, Stat};
use crate::judge::evidence::{describe, thousands};
use crate::judge::form::{judged_under, Family, Form, Judged};
use crate::judge::sequential::{assess, Assessment, Counts, Look, State};
use crate::judge::settle::Settlement;
use crate::plan::{quantity, BinOp, Check, CompareOp, Expr, HealthSpec, Metric, Millis, Which};

/// Pass, fail, or not enough evidence to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Healthy: every check is met (count checks confidently).
    Pass,
    /// Unhealthy.
    Fail,
    /// Not enough evidence either way: never healthy by itself.
    Inconclusive,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// The check, as a playbook line with every window spelled out.
    pub check: String,
    /// Its verdict.
    pub verdict: Verdict,
    /// The measured values, such as `2.31% < 1%`, or why there are none.
    pub detail: String,
    /// For a count check, the sequential test's evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Assessment>,
}

/// One evaluation of one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The function.
    pub function: String,
    /// The version judged (`new`).
    pub version: String,
    /// The verdict of the whole evaluation.
    pub verdict: Verdict,
    /// Invocations of `new` since it reached its weight, in settled periods.
    pub invocations: Option<f64>,
    /// Where the counts begin: the start of the period in which `new` reached its weight
    /// (epoch milliseconds).
    pub from_ms: Millis,
    /// The end of the newest settled period read (epoch milliseconds).
    pub until_ms: Millis,
    /// The minimum for a conclusive evaluation.
    pub min_invocations: u64,
    /// Each check.
    pub checks: Vec<CheckResult>,
    /// In words.
    pub reason: String,
}

/// The versions of one target.
#[derive(Debug, Clone)]
pub struct Versions<'a> {
    /// The function.
    pub function: &'a str,
    /// The alias.
    pub alias: &'a str,
    /// Its `old`.
    pub old: &'a str,
    /// Its `new`.
    pub new: &'a str,
}

impl Versions<'_> {
    fn of(&self, which: Which) -> &str {
        match which {
            Which::New => self.new,
            Which::Old => self.old,
        }
    }
}

/// The settled time an evaluation reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settled {
    /// Where the counts of count checks begin: the period in which `new` reached its weight.
    pub since: Millis,
    /// The end of the newest settled period.
    pub until: Millis,
    /// The periods and the delay.
    pub settlement: Settlement,
}

/// The statistics a metric needs; error rate is computed here from sums, as Lambda publishes no rate.
fn stats_of(metric: &Metric) -> Vec<Stat> {
    match metric {
        Metric::Invocations => vec![Stat::Invocations],
        Metric::Errors => vec![Stat::Errors],
        Metric::ErrorRate => vec![Stat::Errors, Stat::Invocations],
        Metric::Throttles => vec![Stat::Throttles],
        Metric::Percentile(p) => vec![Stat::DurationPercentile(p.parse().unwrap_or(99.0))],
        Metric::AvgDuration => vec![Stat::DurationAvg],
        Metric::MaxDuration => vec![Stat::DurationMax],
        Metric::Concurrency => vec![Stat::ConcurrencyMax],
    }
}

/// One statistic of one version over one range.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    version: String,
    stat: String,
    start: u64,
    end: u64,
}

/// The queries of one evaluation, each once, and their answers.
#[derive(Debug, Default)]
struct Reads {
    wanted: Vec<(Key, MetricQuery)>,
    values: BTreeMap<Key, Option<f64>>,
}

impl Reads {
    fn key(version: &str, stat: Stat, range: (Millis, Millis)) -> Key {
        Key {
            version: version.to_string(),
            stat: format!("{stat:?}"),
            start: range.0 .0,
            end: range.1 .0,
        }
    }

    fn want(&mut self, versions: &Versions<'_>, which: Which, stat: Stat, range: (Millis, Millis)) {
        let version = versions.of(which);
        let key = Reads::key(version, stat, range);
        if !self.wanted.iter().any(|(k, _)| *k == key) {
            self.wanted.push((
                key,
                MetricQuery {
                    function: versions.function.to_string(),
                    alias: versions.alias.to_string(),
                    version: version.to_string(),
                    stat,
                    start: range.0,
                    end: range.1,
                },
            ));
        }
    }

    fn get(&self, version: &str, stat: Stat, range: (Millis, Millis)) -> Option<f64> {
        self.values
            .get(&Reads::key(version, stat, range))
            .copied()
            .flatten()
    }
}

/// The window a per-window metric reads: whole settled periods covering `over`.
fn window(settled: &Settled, over: Millis) -> (Millis, Millis) {
    settled.settlement.window(over, settled.until)
}

fn collect(expr: &Expr, versions: &Versions<'_>, settled: &Settled, reads: &mut Reads) {
    match expr {
        Expr::Metric { metric, of, over } => {
            for stat in stats_of(metric) {
                reads.want(versions, *of, stat, window(settled, *over));
            }
        }
        Expr::Const { .. } => {}
        Expr::Binary { lhs, rhs, .. } => {
            collect(lhs, versions, settled, reads);
            collect(rhs, versions, settled, reads);
        }
    }
}

fn value(expr: &Expr, versions: &Versions<'_>, settled: &Settled, reads: &Reads) -> Option<f64> {
    match expr {
        Expr::Metric { metric, of, over } => {
            let range = window(settled, *over);
            let get = |stat| reads.get(versions.of(*of), stat, range);
            match metric {
                Metric::ErrorRate => {
                    let invocations = get(Stat::Invocations).filter(|n| *n > 0.0)?;
                    Some(get(Stat::Errors)? / invocations * 100.0)
                }
                other => get(stats_of(other)[0]),
            }
        }
        Expr::Const { value, .. } => Some(*value),
        Expr::Binary { op, lhs, rhs } => {
            let a = value(lhs, versions, settled, reads)?;
            let b = value(rhs, versions, settled, reads)?;
            match op {
                BinOp::Add => Some(a + b),
                BinOp::Sub => Some(a - b),
                BinOp::Mul => Some(a * b),
                BinOp::Div => (b != 0.0).then(|| a / b),
            }
        }
    }
}

fn compare(op: CompareOp, a: f64, b: f64) -> bool {
    match op {
        CompareOp::Lt => a < b,
        CompareOp::Le => a <= b,
        CompareOp::Gt => a > b,
        CompareOp::Ge => a >= b,
        CompareOp::Eq => (a - b).abs() < 1e-9,
        CompareOp::Ne => (a - b).abs() >= 1e-9,
    }
}

/// The statistics a count check's counts come from.
fn count_stats(family: Family) -> [Stat; 2] {
    match family {
        Family::ErrorRate => [Stat::Invocations, Stat::Errors],
        Family::SlowerThan(limit) => [Stat::Invocations, Stat::PercentileRank(limit)],
        Family::Events { throttles, .. } => [
            Stat::Invocations,
            if throttles {
                Stat::Throttles
            } else {
                Stat::Errors
            },
        ],
    }
}

/// One version's counts for a count check since the evidence began; `None` without invocations.
fn counts(family: Family, version: &str, settled: &Settled, reads: &Reads) -> Option<Counts> {
    let range = (settled.since, settled.until);
    let [calls, events] = count_stats(family);
    let invocations = reads.get(version, calls, range).filter(|n| *n > 0.0)?;
    // Lambda sends `Errors` (0 or 1) and the duration with every invocation, so either missing
    // while invocations are there is missing data, never healthy; `Throttles` is only sent for a
    // throttled request, so its absence means none.
    let events = match reads.get(version, events, range) {
        None if events == Stat::Throttles => 0.0,
        read => read?,
    };
    Some(match family {
        Family::ErrorRate => Counts {
            trials: invocations,
            events,
        },
        // PR(:D) is the percentage of invocations that took at most D.
        Family::SlowerThan(_) => Counts {
            trials: invocations,
            events: invocations * (100.0 - events) / 100.0,
        },
        Family::Events { .. } => Counts {
            trials: (settled.until.0 - settled.since.0) as f64,
            events,
        },
    })
}

/// What the metric and alarm checks of one evaluation found.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Invocations of `new` since the evidence began.
    pub invocations: Option<f64>,
    /// One entry per check of the spec; `None` for script checks, which the engine runs.
    pub checks: Vec<Option<CheckResult>>,
}

/// The alarms `spec` checks, each once.
pub fn alarm_names(spec: &HealthSpec) -> Vec<String> {
    let mut names: Vec<String> = spec
        .checks
        .iter()
        .filter_map(|check| match check {
            Check::Alarm { name } => Some(name.clone()),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Measures every metric and alarm check of `spec` for each target on its settled periods,
/// reading the metrics of all of them in as few `GetMetricData` calls as the API allows and the
/// alarms once.
pub async fn measure_all<M: MetricsApi>(
    metrics: &M,
    spec: &HealthSpec,
    targets: &[(Versions<'_>, Settled)],
    look: Look,
) -> Result<Vec<Measured>, CloudError> {
    let mut all: Vec<Reads> = targets
        .iter()
        .map(|(versions, settled)| wanted(spec, versions, settled))
        .collect();
    let queries: Vec<MetricQuery> = all
        .iter()
        .flat_map(|reads| reads.wanted.iter().map(|(_, q)| q.clone()))
        .collect();
    let mut answers = metrics.stats(&queries).await?.into_iter();
    for reads in &mut all {
        reads.values = reads
            .wanted
            .iter()
            .map(|(k, _)| (k.clone(), answers.next().flatten()))
            .collect();
    }
    let alarms = metrics.alarm_states(&alarm_names(spec)).await?;
    Ok(targets
        .iter()
        .zip(&all)
        .map(|((versions, settled), reads)| {
            judge_reads(spec, versions, settled, reads, &alarms, look)
        })
        .collect())
}

/// What one target's evaluation reads.
fn wanted(spec: &HealthSpec, versions: &Versions<'_>, settled: &Settled) -> Reads {
    let since = (settled.since, settled.until);
    let mut reads = Reads::default();
    reads.want(versions, Which::New, Stat::Invocations, since);
    for check in &spec.checks {
        let Check::Compare { lhs, rhs, .. } = check else {
            continue;
        };
        match judged_under(spec, check) {
            Judged::Sequential(form) => {
                let whose = std::iter::once(form.subject).chain(form.other.map(|(w, _)| w));
                for which in whose {
                    for stat in count_stats(form.family) {
                        reads.want(versions, which, stat, since);
                    }
                }
            }
            Judged::PerWindow => {
                collect(lhs, versions, settled, &mut reads);
                collect(rhs, versions, settled, &mut reads);
            }
        }
    }
    reads
}

/// Every metric and alarm check of one target, from what was read.
fn judge_reads(
    spec: &HealthSpec,
    versions: &Versions<'_>,
    settled: &Settled,
    reads: &Reads,
    alarms: &BTreeMap<String, AlarmState>,
    look: Look,
) -> Measured {
    let since = (settled.since, settled.until);
    let invocations = reads.get(versions.new, Stat::Invocations, since);
    let mut checks = Vec::new();
    for check in &spec.checks {
        let result = match check {
            Check::Compare { lhs, op, rhs } => match judged_under(spec, check) {
                Judged::Sequential(form) => {
                    count_check(check, &form, versions, settled, reads, look)
                }
                Judged::PerWindow => window_check(check, lhs, *op, rhs, versions, settled, reads),
            },
            Check::Alarm { name } => match alarms.get(name) {
                Some(AlarmState::Ok) => {
                    plain(check, Verdict::Pass, format!("alarm {name:?} is OK"))
                }
                Some(AlarmState::Alarm) => {
                    plain(check, Verdict::Fail, format!("alarm {name:?} is in ALARM"))
                }
                Some(AlarmState::InsufficientData) => plain(
                    check,
                    Verdict::Inconclusive,
                    format!("alarm {name:?} has insufficient data"),
                ),
                None => plain(
                    check,
                    Verdict::Fail,
                    format!("alarm {name:?} does not exist"),
                ),
            },
            Check::Script { .. } => {
                checks.push(None);
                continue;
            }
        };
        checks.push(Some(result));
    }
    Measured {
        invocations,
        checks,
    }
}

fn plain(check: &Check, verdict: Verdict, detail: String) -> CheckResult {
    CheckResult {
        check: check.to_string(),
        verdict,
        detail,
        evidence: None,
    }
}

/// A count check, by the judge's sequential test on the counts since the evidence began.
fn count_check(
    check: &Check,
    form: &Form,
    versions: &Versions<'_>,
    settled: &Settled,
    reads: &Reads,
    look: Look,
) -> CheckResult {
    let subject = counts(form.family, versions.of(form.subject), settled, reads);
    let other = form
        .other
        .and_then(|(which, _)| counts(form.family, versions.of(which), settled, reads));
    let Some(subject) = subject else {
        return plain(
            check,
            Verdict::Inconclusive,
            format!(
                "{check}: no settled invocations of {} yet",
                form.subject.as_str()
            ),
        );
    };
    let assessment = assess(form, subject, other, look);
    CheckResult {
        check: check.to_string(),
        verdict: match assessment.state {
            State::Violated => Verdict::Fail,
            State::Satisfied => Verdict::Pass,
            State::Undecided => Verdict::Inconclusive,
        },
        detail: describe(form, &assessment),
        evidence: Some(assessment),
    }
}

/// A per-window check: a plain comparison on the newest settled window.
fn window_check(
    check: &Check,
    lhs: &Expr,
    op: CompareOp,
    rhs: &Expr,
    versions: &Versions<'_>,
    settled: &Settled,
    reads: &Reads,
) -> CheckResult {
    let (a, b) = (
        value(lhs, versions, settled, reads),
        value(rhs, versions, settled, reads),
    );
    match (a, b) {
        (Some(a), Some(b)) => CheckResult {
            check: check.to_string(),
            verdict: if compare(op, a, b) {
                Verdict::Pass
            } else {
                Verdict::Fail
            },
            detail: match rhs {
                Expr::Const { .. } => format!(
                    "{lhs} = {}, needs {} {}",
                    quantity(a, lhs.unit()),
                    op.as_str(),
                    quantity(b, rhs.unit())
                ),
                _ => format!(
                    "{lhs} = {}, needs {} {rhs} = {}",
                    quantity(a, lhs.unit()),
                    op.as_str(),
                    quantity(b, rhs.unit())
                ),
            },
            evidence: None,
        },
        _ => plain(
            check,
            Verdict::Inconclusive,
            format!("{check}: no data in the window"),
        ),
    }
}

/// The verdict of one evaluation from its checks' results: it fails on any failing check, and
/// passes only when every check passes and `min invocations` of `new` have been seen since it
/// reached its weight.
pub fn conclude(
    spec: &HealthSpec,
    versions: &Versions<'_>,
    settled: &Settled,
    invocations: Option<f64>,
    checks: Vec<CheckResult>,
) -> Evaluation {
    let enough = invocations.is_some_and(|n| n >= spec.min_invocations as f64);
    let (verdict, reason) = if let Some(failed) = checks.iter().find(|c| c.verdict == Verdict::Fail)
    {
        (Verdict::Fail, failed.detail.clone())
    } else if !enough {
        (
            Verdict::Inconclusive,
            match invocations {
                None => "no settled invocations of new yet".to_string(),
                Some(n) => format!(
                    "{} settled invocations of new, fewer than the {} needed",
                    thousands(n),
                    spec.min_invocations
                ),
            },
        )
    } else if let Some(unsure) = checks.iter().find(|c| c.verdict == Verdict::Inconclusive) {
        (Verdict::Inconclusive, unsure.detail.clone())
    } else {
        let details: Vec<&str> = checks.iter().map(|c| c.detail.as_str()).collect();
        // Count checks say what they counted; otherwise say how much traffic was judged.
        let counted = checks.iter().any(|c| c.evidence.is_some());
        let reason = if counted {
            details.join("; ")
        } else {
            let count = invocations.map_or("no".to_string(), thousands);
            format!("{count} invocations of new; {}", details.join("; "))
        };
        (Verdict::Pass, reason)
    };
    Evaluation {
        function: versions.function.to_string(),
        version: versions.new.to_string(),
        verdict,
        invocations,
        from_ms: settled.since,
        until_ms: settled.until,
        min_invocations: spec.min_invocations,
        checks,
        reason,
    }
}

/// An evaluation whose metrics could not be read (AWS failing, or no answer in time): every
/// check inconclusive, never healthy.
pub fn unread(
    spec: &HealthSpec,
    versions: &Versions<'_>,
    settled: &Settled,
    why: &str,
) -> Evaluation {
    let checks = spec
        .checks
        .iter()
        .map(|check| CheckResult {
            check: check.to_string(),
            verdict: Verdict::Inconclusive,
            detail: "not read".to_string(),
            evidence: None,
        })
        .collect();
    Evaluation {
        function: versions.function.to_string(),
        version: versions.new.to_string(),
        verdict: Verdict::Inconclusive,
        invocations: None,
        from_ms: settled.since,
        until_ms: settled.until,
        min_invocations: spec.min_invocations,
        checks,
        reason: why.to_string(),
    }
}

/// Whether every check that is not a count check passed in these results.
pub fn rest_all_passed(health: &HealthSpec, results: &[CheckResult]) -> bool {
    health
        .checks
        .iter()
        .zip(results)
        .filter(|(check, _)| !matches!(judged_under(health, check), Judged::Sequential(_)))
        .all(|(_, result)| result.verdict == Verdict::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settled() -> Settled {
        Settled {
            since: Millis(0),
            until: Millis(60_000),
            settlement: Settlement::new(Millis(60_000), Millis(0)),
        }
    }

    fn reads(values: &[(Stat, f64)]) -> Reads {
        let mut reads = Reads::default();
        for (stat, value) in values {
            let key = Reads::key("2", *stat, (Millis(0), Millis(60_000)));
            reads.values.insert(key, Some(*value));
        }
        reads
    }

    #[test]
    fn a_missing_error_count_is_missing_data_but_missing_throttles_are_none() {
        let window = Millis(60_000);
        let errors = Family::Events {
            throttles: false,
            window,
        };
        let throttles = Family::Events {
            throttles: true,
            window,
        };
        let only_calls = reads(&[(Stat::Invocations, 100.0)]);
        assert!(counts(Family::ErrorRate, "2", &settled(), &only_calls).is_none());
        assert!(counts(errors, "2", &settled(), &only_calls).is_none());
        let none = counts(throttles, "2", &settled(), &only_calls).expect("throttles counted");
        assert_eq!(none.events, 0.0);

        let with_errors = reads(&[(Stat::Invocations, 100.0), (Stat::Errors, 3.0)]);
        let rate = counts(Family::ErrorRate, "2", &settled(), &with_errors).expect("counted");
        assert_eq!((rate.trials, rate.events), (100.0, 3.0));
        let no_calls = reads(&[(Stat::Invocations, 0.0), (Stat::Errors, 0.0)]);
        assert!(counts(Family::ErrorRate, "2", &settled(), &no_calls).is_none());
    }
}

//! The health judge: one evaluation of one target, with the values it saw.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cloud::{AlarmState, CloudError, MetricQuery, MetricsApi, Stat};
use crate::plan::{
    quantity, BinOp, Check, CompareOp, Expr, HealthSpec, Metric, Millis, Unit, Which,
};

/// Pass, fail, or not enough data to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Healthy.
    Pass,
    /// Unhealthy.
    Fail,
    /// Not enough data: never healthy by itself.
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
    /// Invocations of `new` in the health interval.
    pub invocations: Option<f64>,
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

type Key = (String, String, u64);

fn key(version: &str, stat: Stat, window: Millis) -> Key {
    (version.to_string(), format!("{stat:?}"), window.0)
}

fn collect(expr: &Expr, versions: &Versions<'_>, out: &mut Vec<(Key, MetricQuery)>) {
    match expr {
        Expr::Metric { metric, of, over } => {
            for stat in stats_of(metric) {
                let version = versions.of(*of);
                let k = key(version, stat, *over);
                if !out.iter().any(|(existing, _)| *existing == k) {
                    out.push((
                        k,
                        MetricQuery {
                            function: versions.function.to_string(),
                            alias: versions.alias.to_string(),
                            version: version.to_string(),
                            stat,
                            window: *over,
                        },
                    ));
                }
            }
        }
        Expr::Const { .. } => {}
        Expr::Binary { lhs, rhs, .. } => {
            collect(lhs, versions, out);
            collect(rhs, versions, out);
        }
    }
}

fn value(expr: &Expr, versions: &Versions<'_>, values: &BTreeMap<Key, Option<f64>>) -> Option<f64> {
    match expr {
        Expr::Metric { metric, of, over } => {
            let get = |stat| {
                values
                    .get(&key(versions.of(*of), stat, *over))
                    .copied()
                    .flatten()
            };
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
            let (a, b) = (value(lhs, versions, values)?, value(rhs, versions, values)?);
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

/// What the metric and alarm checks of one evaluation found.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Invocations of `new` in the health interval.
    pub invocations: Option<f64>,
    /// One entry per check of the spec; `None` for script checks, which the engine runs.
    pub checks: Vec<Option<CheckResult>>,
}

/// Measures every metric and alarm check of `spec` for one target, reading all metrics in one call.
pub async fn measure<M: MetricsApi>(
    metrics: &M,
    spec: &HealthSpec,
    versions: &Versions<'_>,
) -> Result<Measured, CloudError> {
    let count = Expr::Metric {
        metric: Metric::Invocations,
        of: Which::New,
        over: spec.every,
    };
    let mut wanted = Vec::new();
    collect(&count, versions, &mut wanted);
    for check in &spec.checks {
        if let Check::Compare { lhs, rhs, .. } = check {
            collect(lhs, versions, &mut wanted);
            collect(rhs, versions, &mut wanted);
        }
    }
    let queries: Vec<MetricQuery> = wanted.iter().map(|(_, q)| q.clone()).collect();
    let answers = metrics.stats(&queries).await?;
    let values: BTreeMap<Key, Option<f64>> =
        wanted.into_iter().map(|(k, _)| k).zip(answers).collect();
    let invocations = value(&count, versions, &values);

    let mut checks = Vec::new();
    for check in &spec.checks {
        let result = match check {
            Check::Compare { lhs, op, rhs } => {
                let (a, b) = (value(lhs, versions, &values), value(rhs, versions, &values));
                match (a, b) {
                    (Some(a), Some(b)) => CheckResult {
                        check: check.to_string(),
                        verdict: if compare(*op, a, b) {
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
                    },
                    _ => CheckResult {
                        check: check.to_string(),
                        verdict: Verdict::Inconclusive,
                        detail: format!("{check}: no data in the window"),
                    },
                }
            }
            Check::Alarm { name } => match metrics.alarm_state(name).await {
                Ok(AlarmState::Ok) => CheckResult {
                    check: check.to_string(),
                    verdict: Verdict::Pass,
                    detail: format!("alarm {name:?} is OK"),
                },
                Ok(AlarmState::Alarm) => CheckResult {
                    check: check.to_string(),
                    verdict: Verdict::Fail,
                    detail: format!("alarm {name:?} is in ALARM"),
                },
                Ok(AlarmState::InsufficientData) => CheckResult {
                    check: check.to_string(),
                    verdict: Verdict::Inconclusive,
                    detail: format!("alarm {name:?} has insufficient data"),
                },
                Err(CloudError::NotFound(_)) => CheckResult {
                    check: check.to_string(),
                    verdict: Verdict::Fail,
                    detail: format!("alarm {name:?} does not exist"),
                },
                Err(other) => return Err(other),
            },
            Check::Script { .. } => {
                checks.push(None);
                continue;
            }
        };
        checks.push(Some(result));
    }
    Ok(Measured {
        invocations,
        checks,
    })
}

/// The verdict of one evaluation from its checks' results.
pub fn conclude(
    spec: &HealthSpec,
    versions: &Versions<'_>,
    invocations: Option<f64>,
    checks: Vec<CheckResult>,
) -> Evaluation {
    let enough = invocations.is_some_and(|n| n >= spec.min_invocations as f64);
    let failed: Vec<&CheckResult> = checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .collect();
    let (verdict, reason) = if let Some(first) = failed.first() {
        (Verdict::Fail, first.detail.clone())
    } else if !enough {
        (
            Verdict::Inconclusive,
            match invocations {
                None => format!("no invocation data for new in the last {}", spec.every),
                Some(n) => format!(
                    "{} invocations of new in the last {}, fewer than the {} needed",
                    quantity(n, Unit::Count),
                    spec.every,
                    spec.min_invocations
                ),
            },
        )
    } else if let Some(unsure) = checks.iter().find(|c| c.verdict == Verdict::Inconclusive) {
        (Verdict::Inconclusive, unsure.detail.clone())
    } else {
        let details: Vec<&str> = checks.iter().map(|c| c.detail.as_str()).collect();
        let count = invocations.map_or("no".to_string(), |n| quantity(n, Unit::Count));
        (
            Verdict::Pass,
            format!("{count} invocations of new; {}", details.join("; ")),
        )
    };
    Evaluation {
        function: versions.function.to_string(),
        version: versions.new.to_string(),
        verdict,
        invocations,
        min_invocations: spec.min_invocations,
        checks,
        reason,
    }
}

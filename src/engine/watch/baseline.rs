//! `old`'s rates before the rollout, for the watch after `promote`: which windows of its past
//! are read, what each metric of `old` the checks use comes to over them, and the checks with
//! those values in place of `old`'s terms. Pure: the reads are made by the caller.

use std::collections::BTreeMap;

use crate::cloud::Stat;
use crate::engine::measure::stats_of;
use crate::plan::{
    quantity, BinOp, Check, CompareOp, Expr, HealthSpec, Metric, Millis, Unit, Which,
};

/// How many days before the watch `old`'s past is read, at the same time of day.
pub const DAYS: u64 = 7;

const MINUTE: u64 = 60_000;
const HOUR: u64 = 3_600_000;
const DAY: u64 = 86_400_000;

/// One window of `old`'s past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// Where it starts, epoch ms (inclusive).
    pub(crate) start: Millis,
    /// Where it ends, epoch ms (exclusive).
    pub(crate) end: Millis,
    /// 0: the hour before the rollout; k: the same time of day, k days before the watch.
    pub(crate) days: u64,
}

impl Window {
    /// The window in words; `resumed`: the first is the hour before the watch began.
    pub(crate) fn words(&self, resumed: bool) -> String {
        match self.days {
            0 if resumed => "the hour before the watch".to_string(),
            0 => "the hour before the rollout".to_string(),
            1 => "1 day before".to_string(),
            k => format!("{k} days before"),
        }
    }
}

/// The windows of `old`'s past a watch of `length` starting at `start` reads, for a rollout
/// that began at `began` (all epoch ms, aligned to whole minutes): the hour before the rollout,
/// and the watch's own time of day (at most a day of it) on each of the [`DAYS`] days before,
/// each ending before the rollout began.
pub(crate) fn windows(began: Millis, start: Millis, length: Millis) -> Vec<Window> {
    let began = began.0 / MINUTE * MINUTE;
    let start = start.0 / MINUTE * MINUTE;
    let length = length.0.div_ceil(MINUTE).max(1) * MINUTE;
    let mut out = vec![Window {
        start: Millis(began.saturating_sub(HOUR)),
        end: Millis(began),
        days: 0,
    }];
    for k in 1..=DAYS {
        let from = start.saturating_sub(k * DAY);
        let to = (from + length.min(DAY)).min(began);
        if from < to {
            out.push(Window {
                start: Millis(from),
                end: Millis(to),
                days: k,
            });
        }
    }
    out.retain(|w| w.start < w.end);
    out
}

/// A metric of `old` that a check uses, over its window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Term {
    pub(crate) metric: Metric,
    pub(crate) over: Millis,
}

impl Term {
    /// The statistics its value comes from, besides `Invocations`.
    pub(crate) fn stats(&self) -> Vec<Stat> {
        stats_of(&self.metric)
            .into_iter()
            .filter(|s| *s != Stat::Invocations)
            .collect()
    }

    /// The term as a playbook writes it.
    fn text(&self) -> String {
        Expr::Metric {
            metric: self.metric.clone(),
            of: Which::Old,
            over: self.over,
        }
        .to_string()
    }
}

/// Every metric of `old` the checks of `health` use, each once.
pub(crate) fn terms(health: &HealthSpec) -> Vec<Term> {
    fn walk(expr: &Expr, out: &mut Vec<Term>) {
        match expr {
            Expr::Metric {
                metric,
                of: Which::Old,
                over,
            } => {
                let term = Term {
                    metric: metric.clone(),
                    over: *over,
                };
                if !out.contains(&term) {
                    out.push(term);
                }
            }
            Expr::Metric { .. } | Expr::Const { .. } => {}
            Expr::Binary { lhs, rhs, .. } => {
                walk(lhs, out);
                walk(rhs, out);
            }
        }
    }
    let mut out = Vec::new();
    for check in &health.checks {
        if let Check::Compare { lhs, rhs, .. } = check {
            walk(lhs, &mut out);
            walk(rhs, &mut out);
        }
    }
    out
}

/// What one window of `old`'s past holds: its invocations, and each statistic read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Past {
    pub(crate) window: Window,
    pub(crate) invocations: Option<f64>,
    pub(crate) values: Vec<(Stat, Option<f64>)>,
}

impl Past {
    fn get(&self, stat: Stat) -> Option<f64> {
        self.values
            .iter()
            .find(|(s, _)| *s == stat)
            .and_then(|(_, v)| *v)
    }
}

/// What `term` of `old` comes to over the windows of `pasts` in which `old` was invoked, in the
/// unit of the metric (percent, milliseconds, counts per the term's window); `None` when none
/// was. Sums are pooled: a rate is the errors of every window over their invocations, a count
/// is scaled from their length to the term's window. Other statistics (durations, concurrency)
/// are the mean of the windows' values, weighted by their invocations.
pub(crate) fn value(term: &Term, pasts: &[Past]) -> Option<f64> {
    let invoked: Vec<(&Past, f64)> = pasts
        .iter()
        .filter_map(|p| Some((p, p.invocations.filter(|n| *n > 0.0)?)))
        .collect();
    let length = |p: &Past| (p.window.end.0 - p.window.start.0) as f64;
    let pooled = |stat: Option<Stat>| -> Option<(f64, f64, f64)> {
        let mut sum = (0.0, 0.0, 0.0);
        for (p, n) in &invoked {
            let v = match stat {
                None => *n,
                // Lambda sends `Throttles` only for throttled requests: none read is none.
                Some(Stat::Throttles) => p.get(Stat::Throttles).unwrap_or(0.0),
                Some(stat) => match p.get(stat) {
                    Some(v) => v,
                    None => continue,
                },
            };
            sum = (sum.0 + v, sum.1 + n, sum.2 + length(p));
        }
        (sum.1 > 0.0).then_some(sum)
    };
    let over = term.over.0 as f64;
    match &term.metric {
        Metric::ErrorRate => pooled(Some(Stat::Errors)).map(|(e, n, _)| e / n * 100.0),
        Metric::Invocations => pooled(None).map(|(v, _, t)| v / t * over),
        Metric::Errors => pooled(Some(Stat::Errors)).map(|(v, _, t)| v / t * over),
        Metric::Throttles => pooled(Some(Stat::Throttles)).map(|(v, _, t)| v / t * over),
        Metric::ColdStarts => pooled(Some(Stat::ColdStarts)).map(|(e, n, _)| e / n * 100.0),
        Metric::Custom(c) if c.counts && c.per_invocation => {
            pooled(Some(term.stats()[0])).map(|(e, n, _)| e / n)
        }
        Metric::Custom(c) if c.counts => {
            pooled(Some(term.stats()[0])).map(|(v, _, t)| v / t * over)
        }
        _ => {
            let stat = term.stats()[0];
            let (mut weighted, mut total) = (0.0, 0.0);
            for (p, n) in &invoked {
                if let Some(v) = p.get(stat) {
                    weighted += n * v;
                    total += n;
                }
            }
            (total > 0.0).then(|| weighted / total)
        }
    }
}

/// A metric of `old` before the rollout: its value, and for a rate the exact bounds on it that
/// its invocations allow, at the level one count check spends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    /// The value, in the metric's unit.
    pub(crate) value: f64,
    /// The lowest and highest the rate may be, in percent; `None` for other metrics.
    pub(crate) range: Option<(f64, f64)>,
}

/// [`value`], with for `error rate` its exact bounds at level 1 - `alpha` from the pooled
/// counts: `old`'s rate before the rollout is itself measured, and the watch takes it at the
/// cautious end, so that a version as good as `old` was is not rolled back for `old`'s luck.
pub(crate) fn estimate(term: &Term, pasts: &[Past], alpha: f64) -> Option<Estimate> {
    let value = value(term, pasts)?;
    let range = (term.metric == Metric::ErrorRate).then(|| {
        let (mut errors, mut calls) = (0.0, 0.0);
        for p in pasts {
            if let (Some(n), Some(e)) = (p.invocations.filter(|n| *n > 0.0), p.get(Stat::Errors)) {
                errors += e;
                calls += n;
            }
        }
        (
            crate::judge::bounds::exact_lower(errors, calls, alpha) * 100.0,
            crate::judge::bounds::exact_upper(errors, calls, alpha) * 100.0,
        )
    });
    Some(Estimate { value, range })
}

/// One function's checks for the watch: each metric of `old` replaced by its value before the
/// rollout (constants folded; a rate at the end of its range that makes the check harder to
/// violate), or `None` for the checks that cannot be judged so, with why.
pub(crate) fn checks(
    health: &HealthSpec,
    values: &[(Term, Option<Estimate>)],
) -> Vec<Result<Check, String>> {
    health
        .checks
        .iter()
        .map(|check| {
            let Check::Compare { lhs, op, rhs } = check else {
                return Ok(check.clone());
            };
            // How `lhs - rhs` moves towards a violation.
            let side = match op {
                CompareOp::Lt | CompareOp::Le => 1.0,
                CompareOp::Gt | CompareOp::Ge => -1.0,
                CompareOp::Eq | CompareOp::Ne => 0.0,
            };
            let (lhs, rhs) = (replaced(lhs, values, side)?, replaced(rhs, values, -side)?);
            if !reads_new(&lhs) && !reads_new(&rhs) {
                return Err(format!("{check}: reads only old, which serves nothing now"));
            }
            Ok(Check::Compare { lhs, op: *op, rhs })
        })
        .collect()
}

/// Whether `expr` reads a metric of `new`.
fn reads_new(expr: &Expr) -> bool {
    match expr {
        Expr::Metric { .. } => true,
        Expr::Const { .. } => false,
        Expr::Binary { lhs, rhs, .. } => reads_new(lhs) || reads_new(rhs),
    }
}

/// `expr` with `old`'s metrics replaced by their values, constants folded. `towards` is the sign
/// of the change of the check's violation as `expr` grows (0: unknown): a rate whose growth
/// makes a violation less likely is taken at its highest, one whose growth makes it likelier at
/// its lowest.
fn replaced(
    expr: &Expr,
    values: &[(Term, Option<Estimate>)],
    towards: f64,
) -> Result<Expr, String> {
    match expr {
        Expr::Metric {
            metric,
            of: Which::Old,
            over,
        } => {
            let term = Term {
                metric: metric.clone(),
                over: *over,
            };
            match values.iter().find(|(t, _)| *t == term) {
                Some((_, Some(estimate))) => Ok(Expr::Const {
                    value: match estimate.range {
                        Some((_, highest)) if towards < 0.0 => highest,
                        Some((lowest, _)) if towards > 0.0 => lowest,
                        _ => estimate.value,
                    },
                    unit: Unit::of_metric(metric),
                }),
                _ => Err(format!(
                    "{}: old was not invoked in any window read",
                    term.text()
                )),
            }
        }
        Expr::Metric { .. } | Expr::Const { .. } => Ok(expr.clone()),
        Expr::Binary { op, lhs, rhs } => {
            let factor = |e: &Expr| match e {
                Expr::Const { value, .. } => value.signum(),
                _ => 0.0,
            };
            let (to_lhs, to_rhs) = match op {
                BinOp::Add => (towards, towards),
                BinOp::Sub => (towards, -towards),
                BinOp::Mul => (towards * factor(rhs), towards * factor(lhs)),
                BinOp::Div => (towards * factor(rhs), 0.0),
            };
            let (lhs, rhs) = (
                replaced(lhs, values, to_lhs)?,
                replaced(rhs, values, to_rhs)?,
            );
            match (&lhs, &rhs) {
                (Expr::Const { value: a, unit: u }, Expr::Const { value: b, unit: v }) => {
                    let value = match op {
                        BinOp::Add => a + b,
                        BinOp::Sub => a - b,
                        BinOp::Mul => a * b,
                        BinOp::Div if *b != 0.0 => a / b,
                        BinOp::Div => return Err(format!("{expr}: old's value is 0")),
                    };
                    let unit = Unit::combine(*op, *u, *v).unwrap_or(Unit::Number);
                    Ok(Expr::Const { value, unit })
                }
                _ => Ok(Expr::Binary {
                    op: *op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                }),
            }
        }
    }
}

/// `old`'s values, as `error rate of old over 1m = 0.31%`, by term.
pub(crate) fn described(values: &[(Term, Option<Estimate>)]) -> BTreeMap<String, String> {
    values
        .iter()
        .filter_map(|(term, estimate)| {
            let e = (*estimate)?;
            let unit = Unit::of_metric(&term.metric);
            let text = match e.range {
                Some((lowest, highest)) => format!(
                    "{} ({} to {})",
                    quantity(e.value, unit),
                    quantity(lowest, unit),
                    quantity(highest, unit)
                ),
                None => quantity(e.value, unit),
            };
            Some((term.text(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests;

//! Measuring one evaluation of each target: the per-window checks read their windows, count
//! checks their newly settled periods (and, once, `old`'s past), all targets' metrics in as few
//! `GetMetricData` calls as the API allows and the alarms once; then each check is judged.
//! Script checks are left to the engine, which runs hooks, and so are log checks.

use std::collections::{BTreeMap, BTreeSet};

use super::health::{CheckResult, Hold, Settled, Verdict, Versions};
use super::series::{count_stats, forms, query, Series, HISTORY_PERIOD};
use crate::cloud::{AlarmState, CloudError, MetricQuery, MetricsApi, Stat};
use crate::judge::evidence::describe;
use crate::judge::form::{judged, Counted, Family, Form, Judged};
use crate::judge::sequential::{assess, Look, Period, State};
use crate::plan::{
    quantity, BinOp, Check, CompareOp, Expr, HealthSpec, Metric, Millis, Statistic, Which,
};

/// The statistics a metric needs; error rate is computed here from sums, as Lambda publishes no
/// rate, and so is a count per invocation.
pub fn stats_of(metric: &Metric) -> Vec<Stat> {
    match metric {
        Metric::Invocations => vec![Stat::Invocations],
        Metric::Errors => vec![Stat::Errors],
        Metric::ErrorRate => vec![Stat::Errors, Stat::Invocations],
        Metric::Throttles => vec![Stat::Throttles],
        Metric::Percentile(p) => vec![Stat::DurationPercentile(p.parse().unwrap_or(99.0))],
        Metric::AvgDuration => vec![Stat::DurationAvg],
        Metric::MaxDuration => vec![Stat::DurationMax],
        Metric::Concurrency => vec![Stat::ConcurrencyMax],
        Metric::ColdStarts => vec![Stat::ColdStarts, Stat::Invocations],
        Metric::InitPercentile(p) => vec![Stat::InitDuration(Statistic::Percentile(
            p.parse().unwrap_or(99.0),
        ))],
        Metric::AvgInitDuration => vec![Stat::InitDuration(Statistic::Average)],
        Metric::MaxInitDuration => vec![Stat::InitDuration(Statistic::Maximum)],
        Metric::Custom(c) => {
            let stat = Stat::Custom(u8::try_from(c.index).unwrap_or(u8::MAX));
            if c.per_invocation {
                vec![stat, Stat::Invocations]
            } else {
                vec![stat]
            }
        }
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

    fn want(
        &mut self,
        spec: &HealthSpec,
        versions: &Versions<'_>,
        which: Which,
        stat: Stat,
        range: (Millis, Millis),
    ) {
        let version = versions.of(which);
        let key = Reads::key(version, stat, range);
        if !self.wanted.iter().any(|(k, _)| *k == key) {
            let query = query(spec, versions, version, stat, range);
            self.wanted.push((key, query));
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

fn collect(
    spec: &HealthSpec,
    expr: &Expr,
    versions: &Versions<'_>,
    settled: &Settled,
    reads: &mut Reads,
) {
    match expr {
        Expr::Metric { metric, of, over } => {
            for stat in stats_of(metric) {
                reads.want(spec, versions, *of, stat, window(settled, *over));
            }
        }
        Expr::Const { .. } => {}
        Expr::Binary { lhs, rhs, .. } => {
            collect(spec, lhs, versions, settled, reads);
            collect(spec, rhs, versions, settled, reads);
        }
    }
}

fn value(expr: &Expr, versions: &Versions<'_>, settled: &Settled, reads: &Reads) -> Option<f64> {
    match expr {
        Expr::Metric { metric, of, over } => {
            let range = window(settled, *over);
            let get = |stat| reads.get(versions.of(*of), stat, range);
            let stats = stats_of(metric);
            match metric {
                Metric::ErrorRate | Metric::ColdStarts => {
                    let invocations = get(Stat::Invocations).filter(|n| *n > 0.0)?;
                    Some(get(stats[0])? / invocations * 100.0)
                }
                Metric::Custom(c) if c.per_invocation => {
                    let invocations = get(Stat::Invocations).filter(|n| *n > 0.0)?;
                    Some(get(stats[0])? / invocations)
                }
                _ => get(stats[0]),
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

/// What the metric and alarm checks of one evaluation found.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Invocations of `new` since the evidence began.
    pub invocations: Option<f64>,
    /// One entry per check of the spec; `None` for script checks, which the engine runs.
    pub checks: Vec<Option<CheckResult>>,
    /// Periods of the phase held because `old` failed as much as a check allows.
    pub held_periods: usize,
    /// The newest period's hold, when it is held.
    pub holding: Option<Hold>,
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

/// One target as an evaluation sees it.
pub struct Judging<'a> {
    /// Its versions.
    pub versions: Versions<'a>,
    /// The settled time to judge.
    pub settled: Settled,
    /// Its count checks' periods so far, kept between looks.
    pub series: &'a mut Series,
    /// `new`'s warm-up, left out of latency (and perhaps error) checks.
    pub warm: super::series::Warm,
}

/// What one look read of every target: each one's per-window reads (its periods are kept in
/// its series) and the alarms.
#[derive(Debug)]
pub struct Readings {
    reads: Vec<Reads>,
    alarms: BTreeMap<String, AlarmState>,
}

/// Reads what every metric and alarm check of `spec` needs for each target: per-window checks
/// their windows, count checks their newly settled periods (kept in each target's series), in as
/// few `GetMetricData` calls as the API allows, and the alarms once.
pub async fn read_all<M: MetricsApi>(
    metrics: &M,
    spec: &HealthSpec,
    targets: &mut [Judging<'_>],
) -> Result<Readings, CloudError> {
    let mut all: Vec<Reads> = targets
        .iter()
        .map(|t| wanted(spec, &t.versions, &t.settled))
        .collect();
    let windows: Vec<MetricQuery> = all
        .iter()
        .flat_map(|reads| reads.wanted.iter().map(|(_, q)| q.clone()))
        .collect();
    let mut answers = metrics.stats(&windows).await?.into_iter();
    for reads in &mut all {
        reads.values = reads
            .wanted
            .iter()
            .map(|(k, _)| (k.clone(), answers.next().flatten()))
            .collect();
    }
    let periods: Vec<_> = targets
        .iter()
        .map(|t| t.series.wanted(spec, &t.versions, &t.settled))
        .collect();
    let period = targets
        .first()
        .map_or(Millis(60_000), |t| t.settled.settlement.period);
    let news = aligned(
        periods
            .iter()
            .flat_map(|w| w.periods.iter().map(|(_, q)| q.clone()))
            .collect(),
    );
    let pasts: Vec<MetricQuery> = periods
        .iter()
        .flat_map(|w| w.history.iter().map(|(_, q)| q.clone()))
        .collect();
    let mut news = metrics.series(&news, period).await?.into_iter();
    let mut pasts = metrics.series(&pasts, HISTORY_PERIOD).await?.into_iter();
    for (t, wanted) in targets.iter_mut().zip(&periods) {
        let new = news.by_ref().take(wanted.periods.len()).collect();
        let past = pasts.by_ref().take(wanted.history.len()).collect();
        t.series.keep(wanted, new, past, t.settled.until);
    }
    let alarms = metrics.alarm_states(&alarm_names(spec)).await?;
    Ok(Readings { reads: all, alarms })
}

/// Series queries that end together, widened to start together: one request per
/// [`crate::cloud::metrics::QUERIES_PER_CALL`] queries reads them all, however the targets'
/// phases began (the periods a target reads before its own range are never judged).
fn aligned(mut queries: Vec<MetricQuery>) -> Vec<MetricQuery> {
    let mut first: BTreeMap<Millis, Millis> = BTreeMap::new();
    for q in &queries {
        let start = first.entry(q.end).or_insert(q.start);
        *start = (*start).min(q.start);
    }
    for q in &mut queries {
        q.start = first[&q.end];
    }
    queries
}

/// The periods of `target`'s phase that were held (`old` failed in them as much as a count
/// check allows), by their start.
pub fn held_periods(spec: &HealthSpec, target: &Judging<'_>) -> BTreeSet<Millis> {
    let periods = target
        .series
        .periods(spec, &target.versions, &target.settled, target.warm);
    periods
        .iter()
        .zip(sequential(spec))
        .filter(|(_, (i, _))| !spec.observed.contains(i))
        .flat_map(|(periods, _)| periods)
        .filter(|p| p.held)
        .map(|p| p.start)
        .collect()
}

/// The count checks (judged by the sequential tests), with their places in the health block.
fn sequential(spec: &HealthSpec) -> impl Iterator<Item = (usize, &Check)> {
    spec.checks
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(judged(c), Judged::Sequential(_)))
}

/// Judges every metric and alarm check of target `i` from what was read; failed events come
/// back `cluster` times in all.
pub fn judge(
    spec: &HealthSpec,
    target: &Judging<'_>,
    readings: &Readings,
    i: usize,
    look: Look,
    cluster: f64,
) -> Measured {
    judge_reads(
        spec,
        target,
        &readings.reads[i],
        &readings.alarms,
        look,
        cluster,
    )
}

/// What one target's per-window checks read.
fn wanted(spec: &HealthSpec, versions: &Versions<'_>, settled: &Settled) -> Reads {
    let mut reads = Reads::default();
    for check in &spec.checks {
        let Check::Compare { lhs, rhs, .. } = check else {
            continue;
        };
        if judged(check) == Judged::PerWindow {
            collect(spec, lhs, versions, settled, &mut reads);
            collect(spec, rhs, versions, settled, &mut reads);
        }
    }
    reads
}

/// Every metric and alarm check of one target, from what was read.
fn judge_reads(
    spec: &HealthSpec,
    target: &Judging<'_>,
    reads: &Reads,
    alarms: &BTreeMap<String, AlarmState>,
    look: Look,
    cluster: f64,
) -> Measured {
    let (versions, settled) = (&target.versions, &target.settled);
    let periods = target.series.periods(spec, versions, settled, target.warm);
    let mut counted = forms(spec).into_iter().zip(periods);
    let mut count_periods: Vec<(Form, Vec<Period>)> = Vec::new();
    let mut checks = Vec::new();
    for check in &spec.checks {
        let result = match check {
            Check::Compare { lhs, op, rhs } => match judged(check) {
                Judged::Sequential(_) => {
                    let (form, periods) = counted.next().expect("a series per count check");
                    let background = target.series.background(&form, cluster);
                    // Still in new's warm-up: the newest settled period is left out.
                    let newest =
                        Millis(settled.until.0.saturating_sub(settled.settlement.period.0));
                    let warming = target
                        .warm
                        .skips(form.family, newest, settled.settlement.period);
                    let result = count_check(
                        spec,
                        check,
                        &form,
                        &periods,
                        &background,
                        versions,
                        look,
                        warming,
                    );
                    count_periods.push((form, periods));
                    result
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
            Check::Script { .. } | Check::Signatures(_) => {
                checks.push(None);
                continue;
            }
        };
        checks.push(Some(result));
    }
    let (held_periods, holding) = holds(spec, &count_periods, settled);
    Measured {
        invocations: target.series.invocations(versions.new, settled),
        checks,
        held_periods,
        holding,
    }
}

/// How many periods were held, and what holds the newest one.
fn holds(
    spec: &HealthSpec,
    counted: &[(Form, Vec<Period>)],
    settled: &Settled,
) -> (usize, Option<Hold>) {
    // A check on trial (`observe`) never holds a bake.
    let holding_checks = || {
        counted
            .iter()
            .zip(sequential(spec))
            .filter(|(_, (i, _))| !spec.observed.contains(i))
            .map(|((form, periods), (_, check))| (form, periods, check))
    };
    let held: BTreeSet<Millis> = holding_checks()
        .flat_map(|(_, periods, _)| periods.iter().filter(|p| p.held).map(|p| p.start))
        .collect();
    let newest = Millis(settled.until.0.saturating_sub(settled.settlement.period.0));
    let holding = holding_checks().find_map(|(form, periods, check)| {
        let p = periods.iter().find(|p| p.start == newest && p.held)?;
        let old = p.other?.rate()?;
        let new = p.subject.and_then(|s| s.rate());
        Some(Hold {
            check: check.to_string(),
            old_rate: old,
            new_rate: new,
            allowed: form.offset,
        })
    });
    (held.len(), holding)
}

fn plain(check: &Check, verdict: Verdict, detail: String) -> CheckResult {
    CheckResult {
        check: check.to_string(),
        verdict,
        detail,
        evidence: None,
        observed: false,
    }
}

/// A count check, by the judge's sequential tests on its periods so far.
#[allow(clippy::too_many_arguments)]
fn count_check(
    spec: &HealthSpec,
    check: &Check,
    form: &Form,
    periods: &[Period],
    background: &crate::judge::sequential::Background,
    versions: &Versions<'_>,
    look: Look,
    warming: bool,
) -> CheckResult {
    let Some(assessment) = assess(form, periods, background, look) else {
        let version = versions.of(form.subject);
        let detail = if periods.is_empty() && warming {
            format!("{check}: new is still warming up: its first traffic is left out of this check (`warm up`)")
        } else if periods.is_empty() {
            format!(
                "{check}: no settled invocations of {} yet",
                form.subject.as_str()
            )
        } else {
            let [_, stat] = count_stats(form.family);
            let source = query(spec, versions, version, stat, (Millis(0), Millis(0))).source();
            format!(
                "{check}: CloudWatch answered no {} {} {} of version {version} in {} periods with invocations: no data, never healthy",
                source.namespace,
                source.metric,
                source.statistic,
                periods.len()
            )
        };
        return plain(check, Verdict::Inconclusive, detail);
    };
    CheckResult {
        check: check.to_string(),
        verdict: match assessment.state {
            State::Violated => Verdict::Fail,
            State::Satisfied => Verdict::Pass,
            State::Undecided => Verdict::Inconclusive,
        },
        detail: match form.family {
            // What a business metric counts is named only by the check.
            Family::PerInvocation(Counted::Custom(_))
            | Family::Events {
                counted: Counted::Custom(_),
                ..
            } => format!("{check}: {}", describe(form, &assessment)),
            _ => describe(form, &assessment),
        },
        evidence: Some(assessment),
        observed: false,
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
            observed: false,
        },
        _ => plain(
            check,
            Verdict::Inconclusive,
            format!("{check}: no data in the window"),
        ),
    }
}

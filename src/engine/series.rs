//! The settled periods of a target's count checks, kept as they are read: each look reads only
//! the periods that settled since the last one (one datapoint per period and statistic), and
//! the judge sees every period of the phase. Before its first look a target also reads `old`'s
//! last hour, period by period: how much `old` varies from minute to minute, and its usual rate.
//! Which periods were held (`old` failing as much as a check allows) is decided here, once for
//! every check.

use std::collections::BTreeMap;

use super::health::{Settled, Versions};
use crate::cloud::{MetricQuery, Stat};
use crate::judge::dispersion::Dispersion;
use crate::judge::form::{judged, Counted, Family, Form, Judged};
use crate::judge::sequential::{holds, Background, Counts, Period};
use crate::plan::{HealthSpec, Millis, Which};

/// How much of `old`'s past is read before the first look.
pub const HISTORY: Millis = Millis(3_600_000);

/// The period `old`'s past is read in: Lambda's own resolution, whatever the bake's period (a
/// shorter one only multiplies the datapoints, and the minute-to-minute variation is what the
/// judge allows for).
pub const HISTORY_PERIOD: Millis = Millis(60_000);

/// A statistic's name, as a key.
fn key(stat: Stat) -> String {
    format!("{stat:?}")
}

/// The statistic that counts `counted`.
pub(super) fn stat_of(counted: Counted) -> Stat {
    match counted {
        Counted::Errors => Stat::Errors,
        Counted::Throttles => Stat::Throttles,
        Counted::ColdStarts => Stat::ColdStarts,
        Counted::Custom(i) => Stat::Custom(i),
    }
}

/// The statistics a count check's counts come from: invocations, then what is counted.
pub(super) fn count_stats(family: Family) -> [Stat; 2] {
    match family {
        Family::ErrorRate => [Stat::Invocations, Stat::Errors],
        Family::SlowerThan(limit) => [Stat::Invocations, Stat::PercentileRank(limit)],
        Family::Events { counted, .. } | Family::PerInvocation(counted) => {
            [Stat::Invocations, stat_of(counted)]
        }
    }
}

/// A query of `stat` of `version` over `range`; a [`Stat::Custom`] carries its `metric` header.
pub(super) fn query(
    spec: &HealthSpec,
    versions: &Versions<'_>,
    version: &str,
    stat: Stat,
    range: (Millis, Millis),
) -> MetricQuery {
    let mut query = MetricQuery::lambda(versions.function, versions.alias, version, stat, range);
    if let Stat::Custom(i) = stat {
        query.custom = spec
            .metrics
            .get(usize::from(i))
            .map(|m| std::sync::Arc::new(m.clone()));
    }
    query
}

/// The count checks of `spec`.
pub(super) fn forms(spec: &HealthSpec) -> Vec<Form> {
    spec.checks
        .iter()
        .filter_map(|c| match judged(c) {
            Judged::Sequential(form) => Some(form),
            Judged::PerWindow => None,
        })
        .collect()
}

/// The versions a count check reads: its own, and `old` for shares (whose failures hold it).
fn readers(form: &Form) -> Vec<Which> {
    let mut whose = vec![form.subject];
    let shares = form.family.shares();
    if let Some((other, _)) = form.other {
        whose.push(other);
    } else if shares {
        whose.push(form.subject.other());
    }
    whose.dedup();
    whose
}

/// `new`'s warm-up: periods that lie mostly before `until` are left out of latency checks, and
/// of error checks too when `errors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Warm {
    /// Where it ends (epoch ms).
    pub until: Millis,
    /// Whether error checks leave it out too.
    pub errors: bool,
}

impl Warm {
    /// The warm-up of a target whose `new` first got traffic at `first`.
    pub fn of(warm_up: Option<crate::plan::WarmUp>, first: Millis) -> Warm {
        warm_up.map_or_else(Warm::default, |w| Warm {
            until: Millis(first.0 + w.length.0),
            errors: w.errors,
        })
    }

    /// Whether the period starting `at` lies mostly in the warm-up, for a check of `family`.
    pub(super) fn skips(&self, family: Family, at: Millis, length: Millis) -> bool {
        // A new version's first environments all start cold: its warm-up is left out of
        // latency and cold-start checks, and of error checks when asked; business metrics are
        // judged from its first call.
        let failures = matches!(
            family,
            Family::ErrorRate
                | Family::Events {
                    counted: Counted::Errors | Counted::Throttles,
                    ..
                }
        );
        let cold = matches!(
            family,
            Family::SlowerThan(_) | Family::PerInvocation(Counted::ColdStarts)
        );
        let applies = cold || (self.errors && failures);
        applies && at.0 + length.0 / 2 < self.until.0
    }
}

/// One target's periods.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Per version and statistic: the value of each period, by its start.
    values: BTreeMap<(String, String), BTreeMap<Millis, f64>>,
    /// The end of the periods read so far.
    read_until: Millis,
    /// `old`'s past per statistic counted, once read.
    history: Option<BTreeMap<String, Dispersion>>,
}

/// What one look of one target reads.
#[derive(Debug, Default)]
pub(super) struct Wanted {
    /// Queries of the periods newly settled, and the key each answer goes under.
    pub(super) periods: Vec<((String, String), MetricQuery)>,
    /// Queries of `old`'s past.
    pub(super) history: Vec<(String, MetricQuery)>,
}

impl Series {
    /// What to read so that every period of `settled` is known.
    pub(super) fn wanted(
        &self,
        spec: &HealthSpec,
        versions: &Versions<'_>,
        settled: &Settled,
    ) -> Wanted {
        let mut wanted = Wanted::default();
        let from = self.read_until.max(settled.since);
        let query =
            |version: &str, stat, start, end| query(spec, versions, version, stat, (start, end));
        for form in forms(spec) {
            for which in readers(&form) {
                for stat in count_stats(form.family) {
                    let id = (versions.of(which).to_string(), key(stat));
                    let new = !wanted.periods.iter().any(|(k, _)| *k == id);
                    if from < settled.until && new {
                        let q = query(versions.of(which), stat, from, settled.until);
                        wanted.periods.push((id, q));
                    }
                    let id = key(stat);
                    let new = !wanted.history.iter().any(|(k, _)| *k == id);
                    if self.history.is_none() && new && which == Which::Old {
                        let end = Millis(settled.since.0 / HISTORY_PERIOD.0 * HISTORY_PERIOD.0);
                        let start = Millis(end.0.saturating_sub(HISTORY.0));
                        let q = query(versions.old, stat, start, end);
                        wanted.history.push((id, q));
                    }
                }
            }
        }
        wanted
    }

    /// Keeps what was read for `wanted` up to `until`.
    pub(super) fn keep(
        &mut self,
        wanted: &Wanted,
        periods: Vec<Vec<(Millis, f64)>>,
        history: Vec<Vec<(Millis, f64)>>,
        until: Millis,
    ) {
        for ((id, _), points) in wanted.periods.iter().zip(periods) {
            self.values.entry(id.clone()).or_default().extend(points);
        }
        if self.history.is_none() {
            let mut past: BTreeMap<String, BTreeMap<Millis, f64>> = BTreeMap::new();
            for ((id, _), points) in wanted.history.iter().zip(history) {
                past.insert(id.clone(), points.into_iter().collect());
            }
            let calls = past
                .get(&key(Stat::Invocations))
                .cloned()
                .unwrap_or_default();
            let mut dispersions = BTreeMap::new();
            for (id, values) in &past {
                let mut d = Dispersion::default();
                for (at, n) in &calls {
                    if let Some(v) = values.get(at) {
                        d.add(*n, counted(id, *n, *v));
                    }
                }
                dispersions.insert(id.clone(), d);
            }
            self.history = Some(dispersions);
        }
        self.read_until = self.read_until.max(until);
    }

    /// One version's counts in the period starting at `at`, for `family`: `None` without
    /// invocations; events `None` when CloudWatch answered invocations but not what is counted
    /// (`Throttles` is only sent for a throttled request, so its absence means none).
    fn counts(
        &self,
        family: Family,
        version: &str,
        at: Millis,
        length: Millis,
    ) -> Option<Option<Counts>> {
        let [calls, events] = count_stats(family);
        let get = |stat| {
            self.values
                .get(&(version.to_string(), key(stat)))
                .and_then(|v| v.get(&at))
                .copied()
        };
        let invocations = get(calls).filter(|n| *n > 0.0)?;
        // `Throttles` is sent only for a throttled request, and Lambda Insights' `init_duration`
        // only for a cold start: their absence is none, once Insights is known to publish for
        // the version (it has sent one before); a business metric's absence is missing data.
        let published = || {
            self.values
                .get(&(version.to_string(), key(events)))
                .is_some_and(|v| !v.is_empty())
        };
        let value = match get(events) {
            None if events == Stat::Throttles => Some(0.0),
            None if events == Stat::ColdStarts && published() => Some(0.0),
            read => read,
        };
        Some(value.map(|v| Counts {
            trials: match family {
                Family::Events { .. } => length.0 as f64,
                _ => invocations,
            },
            events: counted(&key(events), invocations, v),
        }))
    }

    /// What `old`'s past says for a count check, with events in clusters of `cluster`.
    pub(super) fn background(&self, form: &Form, cluster: f64) -> Background {
        let [_, events] = count_stats(form.family);
        Background {
            history: self
                .history
                .as_ref()
                .and_then(|h| h.get(&key(events)))
                .copied()
                .unwrap_or_default(),
            cluster,
        }
    }

    /// The periods of `settled` for each count check of `spec` (in order), each marked held
    /// when `old` failed in it as much as any count check not on trial allows. Periods of latency checks
    /// in `new`'s warm-up are left out.
    pub(super) fn periods(
        &self,
        spec: &HealthSpec,
        versions: &Versions<'_>,
        settled: &Settled,
        warm: Warm,
    ) -> Vec<Vec<Period>> {
        let length = settled.settlement.period;
        let starts: Vec<Millis> = (settled.since.0..settled.until.0)
            .step_by(length.0.max(1) as usize)
            .map(Millis)
            .collect();
        let forms = forms(spec);
        // Checks on trial (`observe`) never hold a bake.
        let deciding: Vec<&Form> = forms
            .iter()
            .zip(
                spec.checks
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| matches!(judged(c), Judged::Sequential(_))),
            )
            .filter(|(_, (i, _))| !spec.observed.contains(i))
            .map(|(form, _)| form)
            .collect();
        let held: Vec<bool> = starts
            .iter()
            .map(|at| {
                deciding.iter().any(|form| {
                    let other = versions.of(form.subject.other());
                    let usual = self.background(form, 1.0).history.rate();
                    self.counts(form.family, other, *at, length)
                        .flatten()
                        .is_some_and(|old| holds(form, old, usual))
                })
            })
            .collect();
        forms
            .iter()
            .map(|form| {
                starts
                    .iter()
                    .zip(&held)
                    .filter(|(at, _)| !warm.skips(form.family, **at, length))
                    .filter_map(|(at, held)| {
                        let subject =
                            self.counts(form.family, versions.of(form.subject), *at, length)?;
                        let other = readers(form)
                            .get(1)
                            .and_then(|w| self.counts(form.family, versions.of(*w), *at, length))
                            .flatten();
                        Some(Period {
                            start: *at,
                            subject,
                            other,
                            held: *held,
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// Invocations of `version` over `settled`.
    pub(super) fn invocations(&self, version: &str, settled: &Settled) -> Option<f64> {
        let calls = self
            .values
            .get(&(version.to_string(), key(Stat::Invocations)))?;
        let sum: f64 = calls
            .range(settled.since..settled.until)
            .map(|(_, n)| n)
            .sum();
        Some(sum)
    }
}

/// The count of events a statistic's value means: `PR(:D)` is the percentage of invocations
/// that took at most D, so the slow ones are the rest.
fn counted(stat: &str, invocations: f64, value: f64) -> f64 {
    if stat.starts_with("PercentileRank") {
        invocations * (100.0 - value) / 100.0
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[(Stat, f64)]) -> Series {
        let mut series = Series::default();
        for (stat, value) in values {
            series
                .values
                .entry(("2".to_string(), key(*stat)))
                .or_default()
                .insert(Millis(0), *value);
        }
        series
    }

    #[test]
    fn a_missing_error_count_is_missing_data_but_missing_throttles_are_none() {
        let minute = Millis(60_000);
        let errors = Family::Events {
            counted: Counted::Errors,
            window: minute,
        };
        let throttles = Family::Events {
            counted: Counted::Throttles,
            window: minute,
        };
        let counts = |s: &Series, family| s.counts(family, "2", Millis(0), minute);
        let only_calls = series(&[(Stat::Invocations, 100.0)]);
        assert_eq!(counts(&only_calls, Family::ErrorRate), Some(None));
        assert_eq!(counts(&only_calls, errors), Some(None));
        let none = counts(&only_calls, throttles).flatten().expect("counted");
        assert_eq!((none.trials, none.events), (60_000.0, 0.0));
        let with_errors = series(&[(Stat::Invocations, 100.0), (Stat::Errors, 3.0)]);
        let rate = counts(&with_errors, Family::ErrorRate)
            .flatten()
            .expect("counted");
        assert_eq!((rate.trials, rate.events), (100.0, 3.0));
        let no_calls = series(&[(Stat::Invocations, 0.0), (Stat::Errors, 0.0)]);
        assert_eq!(counts(&no_calls, Family::ErrorRate), None);
        let ranks = series(&[
            (Stat::Invocations, 200.0),
            (Stat::PercentileRank(Millis(800)), 99.0),
        ]);
        let slow = counts(&ranks, Family::SlowerThan(Millis(800)))
            .flatten()
            .expect("counted");
        assert!((slow.events - 2.0).abs() < 1e-9);
    }
}

//! The watch after `promote` (`promote; watch 1h`): `new` serves everything and is judged for
//! the watch's length by the health block, as a bake judges, with one difference: `old` serves
//! nothing now, so each metric of `old` a check uses is `old`'s value before the rollout
//! ([`baseline`]): the hour before the rollout began, and the watch's time of day on each of
//! the [`WATCH_DAYS`] days before, where CloudWatch has `old` invoked. A violation puts `old`
//! back (its version is kept until the watch ends: nothing is pruned before); an inconclusive
//! end passes, since the canary before `promote` passed. The lease stays at the watch step
//! meanwhile, so a dead runner's watch is resumed for the time left.

mod baseline;

use std::collections::{BTreeMap, BTreeSet};

use super::events::{Baseline, EventKind};
use super::health::Versions;
use super::measure::{held_periods, judge, read_all, Judging, Measured};
use super::reasons::Cause;
use super::series::query;
use super::stop::{cloud, Stop};
use super::Engine;
use crate::cloud::{Clock, CloudError, LambdaApi, MetricsApi, Stat};
use crate::judge::sequential::Look;
use crate::plan::{Check, HealthSpec, Inconclusive, Millis, Violation};
use baseline::{Estimate, Past, Term};

pub use baseline::DAYS as WATCH_DAYS;

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// `watch D` after `promote`. `began` is when the rollout began (epoch ms), where the
    /// run knows it; a resumed watch does not, and reads the hour before the watch began.
    pub(super) async fn watch_promoted(
        &mut self,
        duration: Millis,
        health: &HealthSpec,
        began: Option<Millis>,
    ) -> Result<(), Stop> {
        let start = self.services.clock.epoch();
        let resumed = began.is_some();
        let began = began.unwrap_or(self.progress.began);
        let windows = baseline::windows(began, start, duration);
        let terms = baseline::terms(health);
        let pasts = self.read_pasts(health, &windows, &terms).await?;
        let mut baselines = Vec::new();
        let mut left_out: Vec<String> = Vec::new();
        let mut judged: BTreeMap<usize, Vec<Result<Check, String>>> = BTreeMap::new();
        for (i, t) in self.progress.targets.iter().enumerate() {
            if !t.active {
                continue;
            }
            let past = &pasts[&i];
            let alpha = self.playbook.alpha;
            let values: Vec<(Term, Option<Estimate>)> = terms
                .iter()
                .map(|term| (term.clone(), baseline::estimate(term, past, alpha)))
                .collect();
            let checks = baseline::checks(health, &values);
            for why in checks.iter().filter_map(|c| c.as_ref().err()) {
                left_out.push(format!("{}: {why}", t.function));
            }
            baselines.push(Baseline {
                function: t.function.clone(),
                version: t.old.clone(),
                values: baseline::described(&values),
                invocations: past.iter().filter_map(|p| p.invocations).sum(),
                windows: past
                    .iter()
                    .filter(|p| p.invocations.is_some_and(|n| n > 0.0))
                    .map(|p| p.window.words(resumed))
                    .collect(),
                checks: Vec::new(),
            });
            judged.insert(i, checks);
        }
        // A check any function cannot judge so is left out for all: every function is judged
        // by checks of one shape.
        let kept: Vec<usize> = (0..health.checks.len())
            .filter(|k| judged.values().all(|checks| checks[*k].is_ok()))
            .collect();
        // The canary passed before `promote`: an inconclusive watch passes, and a violation
        // puts `old` back at once, since `new` serves everyone.
        let watching = |checks: Vec<Check>, observed: BTreeSet<usize>| HealthSpec {
            checks,
            observed,
            inconclusive: Inconclusive::Pass,
            extend: None,
            violation: Violation::Rollback,
            ..health.clone()
        };
        let observed: BTreeSet<usize> = kept
            .iter()
            .enumerate()
            .filter(|(_, k)| health.observed.contains(k))
            .map(|(n, _)| n)
            .collect();
        let mut structure = None;
        for (i, checks) in &judged {
            let kept_checks = kept.iter().filter_map(|k| checks[*k].clone().ok());
            let spec = watching(kept_checks.collect(), observed.clone());
            if let Some(b) = baselines
                .iter_mut()
                .find(|b| b.function == self.progress.targets[*i].function)
            {
                b.checks = spec.checks.iter().map(ToString::to_string).collect();
            }
            structure.get_or_insert_with(|| spec.clone());
            self.progress.targets[*i].watched = Some(spec);
        }
        let structure =
            structure.unwrap_or_else(|| watching(health.checks.clone(), health.observed.clone()));
        self.emit(EventKind::WatchStarted {
            duration_ms: duration,
            baselines,
            left_out,
        });
        let watched = self.bake(duration, None, &structure).await;
        for t in &mut self.progress.targets {
            t.watched = None;
        }
        match watched {
            Ok(()) => {
                self.emit(EventKind::WatchPassed {
                    reason: format!("no check violated in {duration} of new serving everything"),
                });
                Ok(())
            }
            Err(Stop::Fail(cause)) => Err(Stop::fail(Cause::Watch(cause))),
            Err(other) => Err(other),
        }
    }

    /// Every active target's `old` in each window: its invocations and the statistics the
    /// terms need, in as few `GetMetricData` calls as the API allows.
    async fn read_pasts(
        &self,
        health: &HealthSpec,
        windows: &[baseline::Window],
        terms: &[Term],
    ) -> Result<BTreeMap<usize, Vec<Past>>, Stop> {
        let mut stats = vec![Stat::Invocations];
        for stat in terms.iter().flat_map(Term::stats) {
            if !stats.contains(&stat) {
                stats.push(stat);
            }
        }
        let mut queries = Vec::new();
        let active = self
            .progress
            .targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.active);
        for (_, t) in active.clone() {
            for w in windows {
                for stat in &stats {
                    let versions = Versions {
                        function: &t.function,
                        alias: &t.alias,
                        old: &t.old,
                        new: &t.old,
                    };
                    let range = (w.start, w.end);
                    queries.push(query(health, &versions, &t.old, *stat, range));
                }
            }
        }
        // Fail closed: without `old`'s past the watch cannot judge what the playbook says.
        let answers = self.services.metrics.stats(&queries).await.map_err(cloud)?;
        let mut answers = answers.into_iter();
        let mut out = BTreeMap::new();
        for (i, _) in active {
            let mut pasts = Vec::new();
            for w in windows {
                let values: Vec<(Stat, Option<f64>)> = stats
                    .iter()
                    .map(|s| (*s, answers.next().flatten()))
                    .collect();
                pasts.push(Past {
                    window: *w,
                    invocations: values[0].1,
                    values,
                });
            }
            out.insert(i, pasts);
        }
        Ok(out)
    }

    /// The health spec target `i` is judged by: its own during a watch, else `health`.
    pub(super) fn spec_of<'h>(&'h self, i: usize, health: &'h HealthSpec) -> &'h HealthSpec {
        self.progress.targets[i].watched.as_ref().unwrap_or(health)
    }
}

/// Reads and judges the targets of one look, each by its spec in `specs`: all together when
/// they share one (a bake), else one target at a time (a watch, whose constants are each
/// function's own). The look is `look_at` the longest hold of any of them.
pub(super) async fn measure_all<M: MetricsApi>(
    metrics: &M,
    specs: &[HealthSpec],
    judging: &mut [Judging<'_>],
    look_at: impl Fn(Millis) -> Look,
    period: Millis,
    cluster: f64,
) -> Result<Vec<Measured>, CloudError> {
    let together = specs.windows(2).all(|w| w[0] == w[1]);
    let batches: Vec<std::ops::Range<usize>> = if together {
        std::iter::once(0..judging.len()).collect()
    } else {
        (0..judging.len()).map(|k| k..k + 1).collect()
    };
    let mut readings = Vec::new();
    for batch in &batches {
        let spec = &specs[batch.start];
        readings.push(read_all(metrics, spec, &mut judging[batch.clone()]).await?);
    }
    let longest = judging
        .iter()
        .zip(specs)
        .map(|(j, spec)| held_periods(spec, j).len())
        .max()
        .unwrap_or(0);
    let look = look_at(Millis(longest as u64 * period.0));
    let mut out = Vec::new();
    for (batch, read) in batches.iter().zip(&readings) {
        for k in batch.clone() {
            out.push(judge(
                &specs[k],
                &judging[k],
                read,
                k - batch.start,
                look,
                cluster,
            ));
        }
    }
    Ok(out)
}

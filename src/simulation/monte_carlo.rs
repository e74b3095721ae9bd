//! Many simulated rollouts with different seeds: how often a playbook catches a regression, how
//! fast, and how many errors users see first.

use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{simulate, SimOptions, SimResult};
use crate::engine::Outcome;
use crate::plan::Plan;
use crate::report::Discard;

/// Median and 95th percentile of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// The median.
    pub median: f64,
    /// The 95th percentile.
    pub p95: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Some(Spread {
            median: at(0.5),
            p95: at(0.95),
        })
    }
}

/// What many runs did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Runs made.
    pub runs: usize,
    /// Runs that promoted.
    pub promoted: usize,
    /// Runs rolled back by a failing check.
    pub rolled_back: usize,
    /// Runs rolled back for want of a conclusive evaluation.
    pub inconclusive: usize,
    /// Runs that ended any other way (nothing to roll out, left split, refused).
    pub other: usize,
    /// Time to detect of the rolled-back runs, in milliseconds.
    pub time_to_detect_ms: Option<Spread>,
    /// Time from the first traffic on `new` to the end of the promoted runs, in milliseconds.
    pub time_to_promote_ms: Option<Spread>,
    /// Time from the first traffic on `new` to the decision of every run, either way.
    pub time_to_decide_ms: Option<Spread>,
    /// Errors served by `new` per run.
    pub new_errors: Option<Spread>,
    /// Invocations served by `new` per run.
    pub new_invocations: Option<Spread>,
    /// How long each run was held while `old` failed as much as `new`, in milliseconds.
    pub held_ms: Option<Spread>,
    /// Every run's time to decide, in milliseconds (the report's histogram).
    #[serde(skip)]
    pub decide_ms: Vec<u64>,
}

/// Runs the plan `runs` times with seeds `options.seed`, `options.seed + 1`, …, on every core.
pub fn run_many(plan: &Plan, options: &SimOptions, runs: usize) -> Summary {
    run_counting(plan, options, runs, &AtomicUsize::new(0))
}

/// [`run_many`], adding one to `done` as each run ends (for a progress display).
pub fn run_counting(plan: &Plan, options: &SimOptions, runs: usize, done: &AtomicUsize) -> Summary {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(runs.max(1));
    let mut results: Vec<SimResult> = Vec::with_capacity(runs);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                scope.spawn(move || {
                    (worker..runs)
                        .step_by(workers)
                        .map(|i| {
                            let options = SimOptions {
                                seed: options.seed + i as u64,
                                ..options.clone()
                            };
                            let result = simulate(plan, &options, &mut Discard);
                            done.fetch_add(1, Ordering::Relaxed);
                            result
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            results.extend(handle.join().expect("a simulation thread panicked"));
        }
    });
    summarise(&results)
}

/// One point of an operating curve: the runs at one error rate of `new`.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// `new`'s error rate, in percent.
    pub error_rate: f64,
    /// What the runs did.
    #[serde(flatten)]
    pub summary: Summary,
}

/// The operating curve: `runs` runs at each of `points` error rates of `new`, evenly spaced from
/// `from` to `to` percent.
pub fn sweep(
    plan: &Plan,
    options: &SimOptions,
    (from, to): (f64, f64),
    points: usize,
    runs: usize,
    done: &AtomicUsize,
) -> Vec<Point> {
    let points = points.max(2);
    (0..points)
        .map(|i| {
            let error_rate = from + (to - from) * i as f64 / (points - 1) as f64;
            let mut at = options.clone();
            at.new.error_rate = error_rate / 100.0;
            Point {
                error_rate,
                summary: run_counting(plan, &at, runs, done),
            }
        })
        .collect()
}

fn summarise(results: &[SimResult]) -> Summary {
    let mut summary = Summary {
        runs: results.len(),
        promoted: 0,
        rolled_back: 0,
        inconclusive: 0,
        other: 0,
        time_to_detect_ms: None,
        time_to_promote_ms: None,
        time_to_decide_ms: None,
        new_errors: None,
        new_invocations: None,
        held_ms: None,
        decide_ms: Vec::new(),
    };
    let mut detect = Vec::new();
    let mut promote = Vec::new();
    let mut decide = Vec::new();
    for result in results {
        match &result.report.outcome {
            Outcome::Promoted => summary.promoted += 1,
            Outcome::RolledBack { .. } if result.report.inconclusive => summary.inconclusive += 1,
            Outcome::RolledBack { .. } => summary.rolled_back += 1,
            _ => summary.other += 1,
        }
        if let Some(t) = result.report.time_to_detect() {
            detect.push(t.0 as f64);
        }
        if let Some(t) = result.report.time_to_promote() {
            promote.push(t.0 as f64);
        }
        let report = &result.report;
        if let Some(first) = report.first_traffic_ms {
            let decided = report.detected_ms.unwrap_or(report.ended_ms);
            decide.push(decided.saturating_sub(first) as f64);
        }
    }
    summary.time_to_detect_ms = Spread::of(detect);
    summary.time_to_promote_ms = Spread::of(promote);
    summary.decide_ms = decide.iter().map(|&d| d as u64).collect();
    summary.time_to_decide_ms = Spread::of(decide);
    summary.new_errors = Spread::of(results.iter().map(|r| r.new_errors as f64).collect());
    summary.new_invocations =
        Spread::of(results.iter().map(|r| r.new_invocations as f64).collect());
    summary.held_ms = Spread::of(results.iter().map(|r| r.report.held_ms as f64).collect());
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_source, Options};
    use crate::diagnostic::source;

    #[test]
    fn runs_are_counted_as_they_end_for_the_progress_display() {
        let text = "function \"f\"\nalias \"live\"\npublish\nshift 5% to new\nwait 1m\npromote\n";
        let plan = check_source(
            source("p.rollout", text.to_string()),
            std::path::Path::new("."),
            &Options::default(),
        )
        .plan
        .expect("a valid playbook");
        let done = AtomicUsize::new(0);
        let summary = run_counting(&plan, &SimOptions::default(), 12, &done);
        assert_eq!((summary.runs, done.load(Ordering::Relaxed)), (12, 12));
        let points = sweep(&plan, &SimOptions::default(), (0.0, 1.0), 3, 4, &done);
        assert_eq!(points.len(), 3);
        assert_eq!(done.load(Ordering::Relaxed), 12 + 3 * 4);
    }
}

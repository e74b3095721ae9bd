//! `rollout replay`: the judge over a past CloudWatch window. The health block judges `new`
//! against `old` on the metrics they really had, period by period, exactly as a bake of `run`
//! would have (settled periods, `old`'s past hour, the same sequential tests, holds and end),
//! and says when it would have rolled back or promoted, and on what evidence. It reads
//! CloudWatch and nothing else: the count checks' periods of the whole window at once.
//!
//! What the past cannot tell is not judged, and said so: alarms (their states now are not their
//! states then) and hook scripts (they act now).

use crate::cloud::{CloudError, MetricsApi};
use crate::engine::health::{
    conclude, rest_all_passed, CheckResult, Evaluation, Settled, Verdict, Versions,
};
use crate::engine::measure::{held_periods, judge, read_all, Judging};
use crate::engine::series::{Series, Warm};
use crate::judge::sequential::Look;
use crate::judge::settle::Settlement;
use crate::plan::{Check, Inconclusive, Millis, Plan, SharedFailure};

/// How the window would have ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// Rolled back at the end of the period ending `at` (epoch ms), by this evaluation.
    RolledBack {
        /// The end of the period that decided it.
        at: Millis,
        /// The failing evaluation.
        evaluation: Box<Evaluation>,
    },
    /// Rolled back at the window's end for want of conclusive evidence (`inconclusive fail`),
    /// or held longer than the health block allows.
    Inconclusive,
    /// Promoted at the window's end.
    Promoted,
    /// The window ends during a hold: `old` failed as much as a check allows, so the bake
    /// would still have been waiting, and nothing would have been rolled back.
    Held {
        /// How long the window was held, in all.
        held: Millis,
    },
}

impl Ending {
    /// The exit code `run` would have ended with.
    pub fn exit_code(&self) -> i32 {
        match self {
            Ending::Promoted | Ending::Held { .. } => crate::exit::OK,
            Ending::RolledBack { .. } | Ending::Inconclusive => crate::exit::ROLLED_BACK,
        }
    }
}

/// A replayed window: every evaluation in order, how it ended, and the checks not judged.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// One evaluation per settled period, up to the deciding one.
    pub evaluations: Vec<Evaluation>,
    /// How it ended.
    pub ending: Ending,
    /// Checks the past cannot judge, as written.
    pub skipped: Vec<String>,
}

/// Whether the past cannot judge `check`: an alarm's or a hook's past answers are not kept, and
/// `replay` reads CloudWatch metrics only, not the logs `no new error signatures` reads.
fn unreplayed(check: &Check) -> bool {
    matches!(
        check,
        Check::Alarm { .. } | Check::Script { .. } | Check::Signatures(_)
    )
}

/// The health block of `plan` judged on `versions` over `[from, to)` (epoch ms), reading only
/// CloudWatch through `metrics`.
pub async fn replay<M: MetricsApi>(
    metrics: &M,
    plan: &Plan,
    versions: &Versions<'_>,
    from: Millis,
    to: Millis,
) -> Result<Replayed, CloudError> {
    let mut spec = plan.health.clone();
    let skipped: Vec<String> = spec
        .checks
        .iter()
        .filter(|c| unreplayed(c))
        .map(ToString::to_string)
        .collect();
    spec.checks.retain(|c| !unreplayed(c));
    // The past has settled: every whole period of the window is read.
    let settlement = Settlement::new(spec.every, Millis(0));
    let period = settlement.period;
    // As a bake counts from the period in which `new` reached its weight.
    let since = settlement.floor(from);
    let alpha = crate::judge::check_alpha(&plan.health, crate::judge::phases(plan));
    let planned = (to.0.saturating_sub(since.0) / period.0).max(1) as usize;
    let warm = Warm::of(spec.warm_up, from);
    let mut series = Series::default();
    let mut evaluations = Vec::new();
    let mut rest_passed = false;
    let mut until = Millis(since.0 + period.0);
    let mut held = Millis(0);
    // Every period of the window, read at once.
    let whole = Settled {
        since,
        until: settlement.floor(to),
        settlement,
    };
    let mut target = [Judging {
        versions: versions.clone(),
        settled: whole,
        series: &mut series,
        warm,
    }];
    read_all(metrics, &spec, &mut target).await?;
    while until <= to {
        let settled = Settled {
            since,
            until,
            settlement,
        };
        target[0].settled = settled;
        let readings = read_all(metrics, &spec, &mut target).await?;
        let holds = held_periods(&spec, &target[0]);
        held = Millis(holds.len() as u64 * period.0);
        let newest_held = holds.contains(&Millis(until.0 - period.0));
        let look = Look {
            alpha,
            bounded: true,
            last: until.0 + period.0 > to.0 && !newest_held,
            planned,
        };
        let mut measured = judge(&spec, &target[0], &readings, 0, look, 1.0);
        let checks: Vec<CheckResult> = std::mem::take(&mut measured.checks)
            .into_iter()
            .flatten()
            .collect();
        let evaluation = conclude(&spec, versions, &settled, measured, checks);
        rest_passed |= rest_all_passed(&spec, &evaluation.checks);
        let failed = evaluation.verdict == Verdict::Fail
            || (evaluation.holding.is_some() && spec.shared_failure == SharedFailure::Rollback);
        evaluations.push(evaluation);
        if failed {
            let evaluation = Box::new(evaluations.last().cloned().expect("pushed"));
            return Ok(Replayed {
                evaluations,
                ending: Ending::RolledBack {
                    at: until,
                    evaluation,
                },
                skipped,
            });
        }
        if let SharedFailure::Hold { at_most } = spec.shared_failure {
            if held > at_most {
                return Ok(Replayed {
                    evaluations,
                    ending: Ending::Inconclusive,
                    skipped,
                });
            }
        }
        until = Millis(until.0 + period.0);
    }
    let last = evaluations.last();
    if last.is_some_and(|e| e.holding.is_some()) {
        // The window ends during a hold: a bake would still be waiting for it to pass.
        return Ok(Replayed {
            evaluations,
            ending: Ending::Held { held },
            skipped,
        });
    }
    let enough = last
        .and_then(|e| e.invocations)
        .is_some_and(|n| n >= spec.min_invocations as f64);
    let counted = last.is_some_and(|e| {
        e.checks.iter().zip(&spec.checks).all(|(result, check)| {
            !matches!(
                crate::judge::form::judged(check),
                crate::judge::form::Judged::Sequential(_)
            ) || result.evidence.is_some()
        })
    });
    let ending = if (enough && counted && rest_passed) || spec.inconclusive == Inconclusive::Pass {
        Ending::Promoted
    } else {
        Ending::Inconclusive
    };
    Ok(Replayed {
        evaluations,
        ending,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_source, Options};
    use crate::cloud::call::Call;
    use crate::cloud::faults::{Decision, Faulty, Injected};
    use crate::cloud::sim::traffic::Profile;
    use crate::cloud::sim::{SimConfig, SimWorld};
    use crate::cloud::{AliasUpdate, Clock, LambdaApi};

    const PLAYBOOK: &str = "function \"f\"\nalias \"live\"\nhealth every 1m {\n  min invocations 100\n  error rate < 1%\n  alarm \"pager\"\n  no new error signatures\n}\npublish\nshift 10% to new\nwait 30m until healthy\npromote\n";

    /// A world where `f` served version 1 to 90% and version 2, behaving as `new`, to 10% for
    /// the last 40 minutes: the window to replay, and when it began.
    fn history(new: Profile) -> (SimWorld, Millis) {
        let world = SimWorld::new(&SimConfig {
            functions: vec!["f".into()],
            versions: 2,
            rps: 100.0,
            new,
            ..SimConfig::default()
        });
        let runtime = crate::cloud::sim::clock::runtime();
        let from = runtime.block_on(async {
            let alias = world.get_alias("f", "live").await.unwrap();
            let update = AliasUpdate {
                version: "1".into(),
                routing: [("2".to_string(), 0.1)].into(),
                revision_id: alias.revision_id,
                description: None,
            };
            world.update_alias("f", "live", &update).await.unwrap();
            world.epoch()
        });
        world.clock().advance(Millis::from_minutes(40));
        (world, from)
    }

    fn plan() -> Plan {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        check_source(
            crate::diagnostic::source("p.rollout", PLAYBOOK.into()),
            dir,
            &Options::default(),
        )
        .plan
        .unwrap()
    }

    fn replayed<M: MetricsApi>(metrics: &M, from: Millis, minutes: u64) -> Replayed {
        let versions = Versions {
            function: "f",
            alias: "live",
            old: "1",
            new: "2",
        };
        crate::cloud::sim::clock::runtime()
            .block_on(replay(
                metrics,
                &plan(),
                &versions,
                from,
                Millis(from.0 + minutes * 60_000),
            ))
            .unwrap()
    }

    #[test]
    fn a_regression_is_caught_in_the_minutes_run_would_have_and_a_clean_window_promotes() {
        let broken = Profile {
            error_rate: 0.05,
            median_ms: 100.0,
        };
        let (world, from) = history(broken);
        let r = replayed(&world, from, 30);
        let Ending::RolledBack { at, evaluation } = &r.ending else {
            panic!("{:?}", r.ending)
        };
        assert!(
            at.0 - from.0 <= 4 * 60_000,
            "caught within minutes: {}",
            at.0 - from.0
        );
        assert!(
            evaluation.reason.contains("confidently above 1.00%"),
            "{}",
            evaluation.reason
        );
        assert_eq!(
            r.skipped,
            ["alarm \"pager\" not in ALARM", "no new error signatures"]
        );
        assert_eq!(r.ending.exit_code(), 1);

        let healthy = Profile {
            error_rate: 0.001,
            median_ms: 100.0,
        };
        let (world, from) = history(healthy);
        let r = replayed(&world, from, 30);
        assert_eq!(r.ending, Ending::Promoted);
        assert_eq!(r.evaluations.len(), 30, "one evaluation per minute");
        assert_eq!(r.ending.exit_code(), 0);
    }

    #[test]
    fn replay_reads_cloudwatch_and_nothing_else() {
        let broken = Profile {
            error_rate: 0.05,
            median_ms: 100.0,
        };
        let (world, from) = history(broken);
        let expected = replayed(&world, from, 30).ending;
        let (world, from) = history(broken);
        let reads_only = Faulty::new(&world, |_: usize, call: &Call| match call {
            Call::GetMetricData { .. } => Decision::Pass,
            _ => Decision::Fail(Injected::ServerError),
        });
        let calls_before = world.calls().len();
        assert_eq!(replayed(&reads_only, from, 30).ending, expected);
        let made: Vec<Call> = world.calls()[calls_before..].to_vec();
        assert!(
            made.iter().all(|c| matches!(c, Call::GetMetricData { .. })),
            "{made:?}"
        );
    }
}

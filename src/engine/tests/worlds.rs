//! The judge in worlds as messy as real traffic, one seeded run each: what a release engineer
//! would see happen (held, promoted, rolled back, and why), asserted on outcomes and events.

use super::*;
use crate::cloud::sim::world;
use crate::engine::{Cause, Outcome};
use crate::plan::Millis;

/// A world of one function `f` at `rps`, old at `old` and new at `new` (error rates in
/// percent, medians of 200ms unless `slow`), with the conditions of a world file.
fn messy(file: &str, rps: f64, old: f64, new: f64, new_median_ms: f64) -> SimWorld {
    let profile = |error_rate: f64, median_ms| Profile {
        error_rate: error_rate / 100.0,
        median_ms,
    };
    SimWorld::new(&SimConfig {
        functions: vec!["f".into()],
        alias: "live".into(),
        rps,
        old: profile(old, 200.0),
        new: profile(new, new_median_ms),
        seed: 11,
        conditions: world::parse(file).expect("a valid world"),
        ..SimConfig::default()
    })
}

/// A canary of 5% judged by `health` (the lines of a health block) for `bake`.
fn canary(health: &str, bake: &str) -> Plan {
    plan(&format!(
        "function \"f\"\nalias \"live\"\nhealth every 1m {{\n  min invocations 100\n{health}\n}}\npublish\nshift 5% to new\nwait {bake} until healthy\npromote\n"
    ))
}

fn held(r: &Run) -> Vec<String> {
    picked(&r.events, |k| match k {
        EventKind::Held { reason, .. } => Some(reason.clone()),
        _ => None,
    })
}

#[test]
fn a_shared_outage_holds_the_bake_and_a_healthy_release_goes_on_to_promote() {
    let w = messy("outage at 3m for 3m fails 5%", 1_000.0, 0.1, 0.1, 200.0);
    let r = run(&w, &canary("  error rate < 1%", "10m"));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    let holds = held(&r);
    assert_eq!(holds.len(), 1, "one hold: {holds:?}");
    assert!(holds[0].contains("old fails as much"), "{}", holds[0]);
    // The bake's clock stood still for the three held minutes.
    assert_eq!(r.report.held_ms, 3 * 60_000);
    assert!(
        r.report.ended_ms >= (10 + 3) * 60_000,
        "{}",
        r.report.ended_ms
    );
    let ended = picked(&r.events, |k| match k {
        EventKind::HoldEnded { held_ms, .. } => Some(*held_ms),
        _ => None,
    });
    assert_eq!(ended, vec![Millis(3 * 60_000)]);
}

#[test]
fn a_failure_old_does_not_share_still_rolls_back_during_an_outage() {
    // New fails 30% more than old does in the outage: beyond what the threshold allows.
    let w = messy(
        "outage at 0s for 10m fails 5%\nnew fails 30% from 1s",
        1_000.0,
        0.1,
        0.1,
        200.0,
    );
    let r = run(&w, &canary("  error rate < 1%", "10m"));
    assert!(
        matches!(
            r.report.outcome,
            Outcome::RolledBack {
                cause: Cause::Unhealthy(_),
                ..
            }
        ),
        "{:?}",
        r.report.outcome
    );
    assert_eq!(serves(&w, "f"), serving("1", &[]));
}

#[test]
fn holds_follow_the_health_block() {
    let outage = "outage at 3m for 6m fails 5%";
    let w = messy(outage, 1_000.0, 0.1, 0.1, 200.0);
    let r = run(
        &w,
        &canary("  error rate < 1%\n  shared failure rollback", "10m"),
    );
    assert!(
        matches!(
            &r.report.outcome,
            Outcome::RolledBack {
                cause: Cause::SharedFailure(e),
                ..
            } if e.holding.is_some()
        ),
        "{:?}",
        r.report.outcome
    );
    let w = messy(outage, 1_000.0, 0.1, 0.1, 200.0);
    let r = run(
        &w,
        &canary("  error rate < 1%\n  shared failure hold up to 2m", "10m"),
    );
    assert!(
        matches!(
            r.report.outcome,
            Outcome::RolledBack {
                cause: Cause::HeldTooLong { .. },
                ..
            }
        ),
        "{:?}",
        r.report.outcome
    );
    assert!(r.report.inconclusive, "a hold too long is no verdict");
    assert_eq!(serves(&w, "f"), serving("1", &[]));
}

#[test]
fn a_regression_that_starts_late_is_caught_on_its_own_minutes() {
    let w = messy("new fails 5% from 9m", 50.0, 0.1, 0.1, 200.0);
    let r = run(&w, &canary("  error rate < 1%", "15m"));
    assert!(
        matches!(r.report.outcome, Outcome::RolledBack { .. }),
        "{:?}",
        r.report.outcome
    );
    let detected = r.report.time_to_detect().expect("detected");
    assert!(detected > Millis::from_minutes(9), "{detected}");
}

#[test]
fn a_cold_start_is_not_a_regression_unless_the_warm_up_is_turned_off() {
    let file = "cold start 2m slower 3x";
    let w = messy(file, 1_000.0, 0.1, 0.1, 200.0);
    let r = run(&w, &canary("  p99 duration < 800ms", "10m"));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    let w = messy(file, 1_000.0, 0.1, 0.1, 200.0);
    let r = run(&w, &canary("  p99 duration < 800ms\n  warm up 0s", "10m"));
    assert!(
        matches!(
            r.report.outcome,
            Outcome::RolledBack {
                cause: Cause::Unhealthy(_),
                ..
            }
        ),
        "{:?}",
        r.report.outcome
    );
    // A slower new is still caught, once its warm-up is over.
    let w = messy("", 1_000.0, 0.1, 0.1, 500.0);
    let r = run(&w, &canary("  p99 duration < 800ms", "10m"));
    assert!(matches!(r.report.outcome, Outcome::RolledBack { .. }));
}

#[test]
fn missing_data_never_promotes() {
    let w = messy("no percentile ranks", 100.0, 0.1, 0.1, 200.0);
    let r = run(&w, &canary("  p99 duration < 800ms", "5m"));
    let Outcome::RolledBack {
        cause: Cause::Inconclusive { why, .. },
        ..
    } = &r.report.outcome
    else {
        panic!("{:?}", r.report.outcome)
    };
    assert!(
        why.iter().any(|w| w.contains("Duration PR(:800)")),
        "names the statistic: {why:?}"
    );
    assert_eq!(serves(&w, "f"), serving("1", &[]));
}

#[test]
fn errors_that_vary_minute_to_minute_are_measured_on_old_and_allowed_for() {
    let w = messy("errors vary 100%", 1_000.0, 0.5, 0.5, 200.0);
    let r = run(&w, &canary("  error rate < 1%", "10m"));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    let dispersion = picked(&r.events, |k| match k {
        EventKind::HealthEvaluated(e) => e.checks[0].evidence.map(|a| a.dispersion),
        _ => None,
    });
    let last = *dispersion.last().expect("evaluated");
    assert!((0.5..2.0).contains(&last), "measured on old: {last}");
}

#[test]
fn an_async_function_reads_its_retries_and_counts_errors_in_clusters() {
    let w = messy("retries 2", 1_000.0, 0.5, 0.5, 200.0);
    let r = run(&w, &canary("  error rate < 1%\n  async", "10m"));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    assert!(
        w.calls()
            .iter()
            .any(|c| matches!(c, Call::GetEventInvokeConfig { .. })),
        "the event invoke config is read"
    );
    let w = messy("retries 2", 1_000.0, 0.5, 0.5, 200.0);
    run(&w, &canary("  error rate < 1%", "10m"));
    assert!(
        !w.calls()
            .iter()
            .any(|c| matches!(c, Call::GetEventInvokeConfig { .. })),
        "only for an async function"
    );
}

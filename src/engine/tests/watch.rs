//! The watch after `promote`: `new`, serving everything, is judged against `old`'s rates before
//! the rollout; a regression puts `old` back, a healthy watch ends promoted and only then
//! prunes, an interrupt restores `old`, and a dead runner's watch is resumed for the time left.

use super::*;
use crate::cloud::faults::{Decision, Faulty, Injected};
use crate::cloud::sim::clock::StopsAt;
use crate::cloud::Clock;
use crate::engine::{Cause, Outcome};
use crate::plan::Millis;

/// A 5-minute canary judged against `old`, promoted, then watched for 30 minutes; versions
/// beyond the newest unreferenced one are pruned.
const WATCHED: &str = r#"
function "f"
alias "live"
keep 1 versions
health every 1m {
  min invocations 10
  error rate of new <= error rate of old + 1%
}
publish
shift 5% to new
wait 5m until healthy
promote
watch 30m
"#;

/// Sleeps until `minutes` after the world's start.
async fn at_minute(w: &SimWorld, minutes: f64) {
    let at = Millis((minutes * 60_000.0) as u64);
    w.sleep(Millis(at.0.saturating_sub(w.now().0))).await;
}

/// When the watch began (ms since the start), and its duration and baselines.
fn watch_started(r: &Run) -> (u64, Millis, Vec<crate::engine::events::Baseline>) {
    r.events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::WatchStarted {
                duration_ms,
                baselines,
                ..
            } => Some((e.at_ms, *duration_ms, baselines.clone())),
            _ => None,
        })
        .expect("the watch started")
}

#[test]
fn a_regression_that_starts_during_the_watch_puts_old_back() {
    let w = world(&["f"], HEALTHY);
    let r = run_while(&w, &w, &w, &plan(WATCHED), Settings::default(), async |w| {
        at_minute(w, 15.0).await;
        w.set_new_profile("f", BROKEN);
    });
    let Outcome::RolledBack { step, cause } = &r.report.outcome else {
        panic!("{:?}", r.report.outcome)
    };
    assert_eq!(*step, 5, "the watch");
    assert!(matches!(cause, Cause::Watch(inner) if matches!(**inner, Cause::Unhealthy(_))));
    assert_eq!(r.report.outcome.exit_code(), 1);
    assert!(
        r.report
            .outcome
            .to_string()
            .contains("in the watch after promote, f: "),
        "{}",
        r.report.outcome
    );
    // Canary, promote, and back to old alone.
    assert_eq!(
        traffic(&w),
        [
            serving("1", &[("4", 0.05)]),
            serving("4", &[]),
            serving("1", &[])
        ]
    );
    let (began, duration, baselines) = watch_started(&r);
    assert_eq!(duration, Millis::from_minutes(30));
    assert!(r.report.detected_ms.unwrap() > 15 * 60_000);
    assert!(r.report.detected_ms.unwrap() > began);
    // Old's rate before the rollout, from the world's hour of history (0.1% errors).
    let b = &baselines[0];
    assert_eq!((b.function.as_str(), b.version.as_str()), ("f", "1"));
    assert_eq!(b.windows, ["the hour before the rollout"]);
    assert!(b.invocations > 150_000.0, "{}", b.invocations);
    let old_rate = &b.values["error rate of old over 1m"];
    assert!(
        ["0.09% (", "0.1% (", "0.11% ("]
            .iter()
            .any(|r| old_rate.starts_with(r)),
        "{old_rate}"
    );
    assert_eq!(b.checks.len(), 1);
    assert!(
        b.checks[0].starts_with("error rate of new over 1m <= 1.1"),
        "{:?}",
        b.checks
    );
    // Nothing was pruned: old (1) is kept, and so are the others, for the rollout failed.
    assert_eq!(w.versions("f"), ["1", "2", "3", "4"]);
    assert!(!r
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::WatchPassed { .. })));
}

#[test]
fn a_healthy_watch_ends_promoted_and_prunes_only_then_and_the_lease_is_held_meanwhile() {
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(WATCHED));
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    let (began, duration, _) = watch_started(&r);
    assert_eq!(duration, Millis::from_minutes(30));
    // The watch judged 30 minutes of traffic before it ended.
    assert!(r.report.ended_ms >= began + 30 * 60_000);
    // The promote kept the lease, at its step; the watch marked its own; the end released it.
    let writes: Vec<(String, Option<usize>)> = w
        .writes()
        .into_iter()
        .filter_map(|c| match c {
            Call::UpdateAlias { update, .. } => Some((update.version.clone(), lease_step(&update))),
            _ => None,
        })
        .collect();
    let promoted: Vec<&(String, Option<usize>)> = writes.iter().filter(|(v, _)| v == "4").collect();
    assert_eq!(promoted.first().map(|p| p.1), Some(Some(4)));
    assert!(promoted.iter().any(|p| p.1 == Some(5)), "{writes:?}");
    assert_eq!(promoted.last().map(|p| p.1), Some(None));
    assert_eq!(serves(&w, "f"), serving("4", &[]));
    // The prune came after the watch: nothing was deleted while old could still come back.
    let deleted_at: Vec<Millis> = w
        .timed_calls()
        .into_iter()
        .filter(|(_, c)| matches!(c, Call::DeleteVersion { .. }))
        .map(|(at, _)| at)
        .collect();
    assert_eq!(deleted_at.len(), 1, "2 deleted, 3 kept");
    assert!(deleted_at[0].0 >= began + 30 * 60_000);
    assert_eq!(w.versions("f"), ["1", "3", "4"]);
    let passed = picked(&r.events, |e| match e {
        EventKind::WatchPassed { reason } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(passed.len(), 1);
}

#[test]
fn an_interrupt_during_the_watch_restores_old() {
    let w = world(&["f"], HEALTHY);
    let plan = plan(WATCHED);
    let clock = StopsAt {
        world: &w,
        at: Millis::from_minutes(20),
    };
    let mut events = Vec::new();
    let hooks = Hooks::compile(&plan);
    let runtime = crate::cloud::sim::clock::runtime();
    let services = Services {
        lambda: &w,
        metrics: &w,
        clock: &clock,
        hooks: &hooks,
        events: &mut events,
        calendars: Some(&w),
        logs: Some(&w),
    };
    let report = runtime.block_on(Engine::new(services, Settings::default()).run(&plan));
    assert!(
        matches!(report.outcome, Outcome::Interrupted { step: 5, .. }),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.outcome.exit_code(), 3);
    assert_eq!(serves(&w, "f"), serving("1", &[]));
    let alias = w.alias("f", "live").unwrap();
    assert!(
        Marker::parse(&alias.description).1.is_none(),
        "lease given back"
    );
    assert_eq!(w.versions("f").len(), 4, "nothing pruned");
}

#[test]
fn a_dead_runner_s_watch_is_resumed_for_the_time_left() {
    let w = world(&["f"], HEALTHY);
    let started = plan(WATCHED);
    // Every call fails from minute 20: the runner dies in the watch, its lease on the alias.
    let die = |_: usize, _: &Call| {
        if w.now() >= Millis::from_minutes(20) {
            Decision::Fail(Injected::ServerError)
        } else {
            Decision::Pass
        }
    };
    let dead = Faulty::new(&w, die);
    let first = run_with(&dead, &dead, &w, &started, Settings::default());
    assert_ne!(first.report.outcome, Outcome::Promoted);
    let (began, _, _) = watch_started(&first);
    let lease = Marker::parse(&w.alias("f", "live").unwrap().description).1;
    assert_eq!(lease.map(|m| m.step), Some(5), "the lease says: watching");
    assert_eq!(serves(&w, "f"), serving("4", &[]));
    // Resumed at minute 25.
    w.clock()
        .advance(Millis(Millis::from_minutes(25).0.saturating_sub(w.now().0)));
    let settings = Settings {
        resume: true,
        take_over: true,
        ..settings("rescuer@ops:7")
    };
    let r = run_with(&w, &w, &w, &started, settings);
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    let (_, left, baselines) = watch_started(&r);
    // 30 minutes less what had passed since the watch began.
    let spent = Millis::from_minutes(25).0 - began;
    assert!(
        left.0.abs_diff(30 * 60_000 - spent) <= 1_000,
        "{left} left after {spent}ms"
    );
    assert_eq!(baselines[0].windows, ["the hour before the watch"]);
    assert!(r.report.ended_ms >= left.0);
    assert_eq!(serves(&w, "f"), serving("4", &[]));
    assert!(Marker::parse(&w.alias("f", "live").unwrap().description)
        .1
        .is_none());
}

#[test]
fn pause_and_promote_during_the_watch_are_not_asked_and_it_runs_to_its_end() {
    use crate::cloud::lease::{ask, Asked, Request};
    let w = world(&["f"], HEALTHY);
    let steered = Settings {
        control: Some(Millis(5_000)),
        ..Settings::default()
    };
    let r = run_while(&w, &w, &w, &plan(WATCHED), steered, async |w| {
        at_minute(w, 12.0).await;
        for request in [
            Request::Promote { full: false },
            Request::Pause { reason: None },
        ] {
            let asked = ask(w, "f", "live", &request, "carol@desk", w.unix()).await;
            assert!(
                matches!(&asked, Ok(Asked::Already(why)) if why.contains("while it watches after promote")),
                "{asked:?}"
            );
        }
    });
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    let (began, _, _) = watch_started(&r);
    assert!(r.report.ended_ms >= began + 30 * 60_000);
}

//! AWS failing at any call: transient faults change nothing, persistent ones end in a known
//! state that the outcome describes, and a runner that died anywhere can be resumed.

use std::cell::RefCell;

use super::*;
use crate::cloud::faults::{fault_at, pass, Decision, Faulty, Injected};
use crate::cloud::retry::Retrying;
use crate::engine::{Cause, Outcome, Trouble};
use crate::plan::Millis;

#[test]
fn every_fault_at_every_call_ends_in_a_known_state() {
    let plan = plan(&CANARY.edit("wait 5m until healthy", "wait 2m until healthy"));
    let clean_world = world(&["f"], HEALTHY);
    let clean = Faulty::new(&clean_world, pass);
    assert_eq!(
        run_with(&clean, &clean, &clean_world, &plan, Settings::default())
            .report
            .outcome,
        Outcome::Promoted
    );
    let calls = clean.calls();
    let mut tried = 0;
    for at in 0..calls {
        for fault in [
            Injected::Throttle,
            Injected::ServerError,
            Injected::LostResponse,
            Injected::Busy,
            Injected::StaleRevision,
        ] {
            for persistent in [false, true] {
                tried += 1;
                let w = world(&["f"], HEALTHY);
                let faulty = Faulty::new(&w, fault_at(at, fault, persistent));
                let retrying = Retrying::new(&faulty, &w);
                let r = run_with(&retrying, &retrying, &w, &plan, Settings::default());
                let now = serves(&w, "f");
                let case = format!(
                    "{fault:?} at call {at}{}: {:?}",
                    if persistent { " and after" } else { "" },
                    r.report.outcome
                );
                match (&r.report.outcome, persistent) {
                    // Transient faults are retried: the rollout ends as if nothing happened.
                    (Outcome::Promoted, _) => assert_eq!(now, serving("4", &[]), "{case}"),
                    // Someone else's change (a stale RevisionId, or busy beyond the retries):
                    // stop, overwrite nothing.
                    (Outcome::Conflict(_), _) => assert!(
                        fault == Injected::StaleRevision || fault == Injected::Busy && persistent,
                        "{case}"
                    ),
                    (Outcome::Failed(trouble), true) => {
                        assert_eq!(r.report.outcome.exit_code(), 5, "{case}");
                        // Where old could not be restored, the outcome says what the alias
                        // serves (a lost answer leaves the engine not knowing).
                        let restored = now == serving("1", &[]);
                        if let Trouble::Restored { aliases, .. }
                        | Trouble::RollbackFailed { aliases, .. } = trouble
                        {
                            if !restored && fault != Injected::LostResponse {
                                let reported: Vec<Serving> = aliases
                                    .iter()
                                    .map(|a| {
                                        (
                                            a.serves.version.clone(),
                                            a.serves.routing.clone().into_iter().collect(),
                                        )
                                    })
                                    .collect();
                                assert_eq!(reported, vec![now.clone()], "{case}");
                            }
                        } else {
                            assert!(restored, "{case}: nothing was changed");
                        }
                    }
                    _ => panic!("unexpected end: {case}"),
                }
                if !persistent && fault != Injected::StaleRevision {
                    assert_eq!(
                        r.report.outcome,
                        Outcome::Promoted,
                        "a transient fault changes nothing: {case}"
                    );
                }
            }
        }
    }
    println!("tried {tried} faults at {calls} calls");
    assert!(tried >= 100);
}

/// The first attempt of every write takes effect but its answer is lost; the retries pass.
fn lose_every_first_answer() -> impl Fn(usize, &Call) -> Decision {
    let lost = RefCell::new(None::<Call>);
    move |_, call| {
        if !call.is_write() {
            return Decision::Pass;
        }
        let mut lost = lost.borrow_mut();
        if lost.as_ref() == Some(call) {
            *lost = None;
            Decision::Pass
        } else {
            *lost = Some(call.clone());
            Decision::Fail(Injected::LostResponse)
        }
    }
}

#[test]
fn a_lost_answer_at_every_write_ends_as_without_it() {
    let plan = plan(&CANARY.edit("wait 5m until healthy", "wait 2m until healthy"));
    for new in [HEALTHY, BROKEN] {
        let clean = world(&["f"], new);
        let expected = run(&clean, &plan).report.outcome;
        let w = world(&["f"], new);
        let faulty = Faulty::new(&w, lose_every_first_answer());
        let retrying = Retrying::new(&faulty, &w);
        let r = run_with(&retrying, &retrying, &w, &plan, Settings::default());
        // The same ending; the retries take a few seconds, so the traffic counted differs.
        assert_eq!(r.report.outcome.name(), expected.name());
        assert_eq!(r.report.outcome.exit_code(), expected.exit_code());
        assert_eq!(serves(&w, "f"), serves(&clean, "f"));
        assert_eq!(
            w.alias("f", "live").unwrap().description,
            "",
            "lease released"
        );
        let lost = w.writes().len() - clean.writes().len();
        assert!(lost >= 4, "every write was sent again: {lost} more");
    }
}

#[test]
fn a_write_that_never_answered_is_recognised_as_ours_when_rolling_back() {
    let plan = plan(CANARY);
    // The shift goes through, but none of its attempts ever answers.
    let w = world(&["f"], HEALTHY);
    let shift = |_: usize, call: &Call| match call {
        Call::UpdateAlias { update, .. } if !update.routing.is_empty() => {
            Decision::Fail(Injected::LostResponse)
        }
        _ => Decision::Pass,
    };
    let faulty = Faulty::new(&w, shift);
    let retrying = Retrying::new(&faulty, &w);
    let r = run_with(&retrying, &retrying, &w, &plan, Settings::default());
    assert!(
        matches!(r.report.outcome, Outcome::Failed(Trouble::Restored { .. })),
        "{:?}",
        r.report.outcome
    );
    assert_eq!(r.report.outcome.exit_code(), 5);
    assert_eq!(serves(&w, "f"), serving("1", &[]), "old serves everything");
    assert_eq!(w.alias("f", "live").unwrap().description, "");
}

#[test]
fn a_crashed_rollout_resumes_from_any_call_and_ends_unsplit() {
    let text = CANARY.edit("wait 5m until healthy", "wait 3m until healthy\nwait 1m");
    let plan = plan(&text);
    let calls = {
        let w = world(&["f"], HEALTHY);
        let counted = Faulty::new(&w, pass);
        run_with(&counted, &counted, &w, &plan, Settings::default());
        counted.calls()
    };
    let mut resumed = 0;
    for crash_at in 1..calls {
        // Everything fails from this call on: the runner is as good as dead, and its lease stays.
        let w = world(&["f"], HEALTHY);
        let dead = Faulty::new(&w, fault_at(crash_at, Injected::ServerError, true));
        run_with(&dead, &dead, &w, &plan, Settings::default());
        let left = w.alias("f", "live").unwrap();
        if Marker::parse(&left.description).1.is_none() {
            continue;
        }
        let settings = Settings {
            take_over: true,
            resume: true,
            ..settings("rescuer@ops:7")
        };
        let r = run_with(&w, &w, &w, &plan, settings);
        assert_eq!(r.report.outcome, Outcome::Promoted, "crash at {crash_at}");
        assert_eq!(serves(&w, "f"), serving("4", &[]), "crash at {crash_at}");
        assert_eq!(
            w.alias("f", "live").unwrap().description,
            "",
            "crash at {crash_at}: lease released"
        );
        resumed += 1;
    }
    println!("resumed after a crash at {resumed} of {calls} calls");
    assert!(resumed >= 5);
}

#[test]
fn credentials_that_expire_mid_rollout_end_saying_what_serves_and_how_to_restore_it() {
    let plan = plan(CANARY);
    let w = world(&["f"], HEALTHY);
    // Everything after the shift meets expired credentials.
    let shifted = std::cell::Cell::new(false);
    let expire = |_: usize, call: &Call| {
        if shifted.get() {
            return Decision::Fail(Injected::ExpiredCredentials);
        }
        if let Call::UpdateAlias { update, .. } = call {
            shifted.set(!update.routing.is_empty());
        }
        Decision::Pass
    };
    let faulty = Faulty::new(&w, expire);
    let retrying = Retrying::new(&faulty, &w);
    let calls_before = w.calls().len();
    let r = run_with(&retrying, &retrying, &w, &plan, Settings::default());
    assert!(
        matches!(
            r.report.outcome,
            Outcome::Failed(Trouble::RollbackFailed { .. })
        ),
        "{:?}",
        r.report.outcome
    );
    assert_eq!(r.report.outcome.exit_code(), 5);
    let said = r.report.outcome.to_string();
    assert!(
        said.contains("f:live serves version 1 (95.00%) + version 4 (5.00%)"),
        "{said}"
    );
    assert!(
        said.contains(
            "To restore old, once the credentials are fresh: rollout rollback --function f --alias live"
        ),
        "{said}"
    );
    assert!(said.contains("refresh them"), "{said}");
    assert_eq!(serves(&w, "f"), serving("1", &[("4", 0.05)]));
    // Expired credentials are never retried: the next step's lease mark, the bake's read, the
    // rollback's write and the lease's release each failed once.
    assert_eq!(faulty.calls() - (w.calls().len() - calls_before), 4);
}

/// Decides that CloudWatch answers nothing while the virtual clock is in `[from, until)`.
fn cloudwatch_silent(
    w: &SimWorld,
    from: Millis,
    until: Millis,
) -> impl Fn(usize, &Call) -> Decision + '_ {
    move |_, call| {
        let now = crate::cloud::Clock::now(w);
        if matches!(call, Call::GetMetricData { .. }) && from <= now && now < until {
            Decision::Fail(Injected::Stall)
        } else {
            Decision::Pass
        }
    }
}

#[test]
fn a_stall_mid_bake_is_not_read_and_the_bake_still_ends_on_time() {
    let plan = plan(CANARY);
    let clean = world(&["f"], HEALTHY);
    let expected = run(&clean, &plan).report;
    // Silent from 2 to 4 minutes in: the looks then are not read; later ones catch up.
    let w = world(&["f"], HEALTHY);
    let silent = Faulty::new(&w, cloudwatch_silent(&w, Millis(120_000), Millis(240_000)));
    let retrying = Retrying::new(&silent, &w);
    let r = run_with(&retrying, &retrying, &w, &plan, Settings::default());
    assert_eq!(r.report.outcome, Outcome::Promoted);
    assert_eq!(
        r.report.ended_ms, expected.ended_ms,
        "the bake ended on time"
    );
    let unread: Vec<String> = picked(&r.events, |k| match k {
        EventKind::HealthEvaluated(e) if e.reason.starts_with("could not read CloudWatch") => {
            Some(e.reason.clone())
        }
        _ => None,
    });
    assert!(
        !unread.is_empty(),
        "the stalled looks were shown as not read"
    );

    // Silent from 2 minutes in to the end: the last look is cut at the end, nothing is
    // healthy, and `inconclusive fail` rolls back.
    let w = world(&["f"], HEALTHY);
    let silent = Faulty::new(&w, cloudwatch_silent(&w, Millis(120_000), Millis(u64::MAX)));
    let retrying = Retrying::new(&silent, &w);
    let r = run_with(&retrying, &retrying, &w, &plan, Settings::default());
    assert!(
        matches!(
            r.report.outcome,
            Outcome::RolledBack {
                cause: Cause::Inconclusive { .. },
                ..
            }
        ),
        "{:?}",
        r.report.outcome
    );
    assert!(
        r.report.ended_ms <= expected.ended_ms + 30_000,
        "ended {} after the clean run's end",
        r.report.ended_ms - expected.ended_ms
    );
    assert_eq!(serves(&w, "f"), serving("1", &[]), "old serves everything");
}

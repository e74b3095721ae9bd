//! Judging health: a failing check rolls back at the first evaluation that sees it, missing data
//! is never healthy, and a bake without a conclusive evaluation follows the policy.

use super::*;
use crate::cloud::AlarmState;
use crate::engine::health::Verdict;
use crate::engine::{Cause, Outcome};
use crate::plan::Millis;

#[test]
fn a_failing_check_rolls_back_at_the_first_evaluation_that_sees_it() {
    let w = world(&["f"], BROKEN);
    let r = run(&w, &plan(CANARY));
    let Outcome::RolledBack {
        step: 3,
        cause: Cause::Unhealthy(evaluation),
    } = &r.report.outcome
    else {
        panic!("{:?}", r.report.outcome)
    };
    assert_eq!(r.report.outcome.exit_code(), 1);
    assert_eq!(evaluation.verdict, Verdict::Fail);
    assert_eq!(evaluation.checks[0].check, "error rate of new over 1m < 1%");
    assert_eq!(evaluation.checks[0].verdict, Verdict::Fail);
    assert_eq!(
        log(w.writes()),
        vec![
            "UpdateAlias f:live version=1 routing={} revision=rev-1 lease=step0/4",
            "UpdateAlias f:live version=1 routing={} revision=rev-2 lease=step1/4",
            "PublishVersion f description=\"canary\"",
            "UpdateAlias f:live version=1 routing={4: 0.05} revision=rev-3 lease=step2/4",
            "UpdateAlias f:live version=1 routing={4: 0.05} revision=rev-4 lease=step3/4",
            "UpdateAlias f:live version=1 routing={} revision=rev-5 lease=released",
        ]
    );
    assert_eq!(serves(&w, "f"), serving("1", &[]), "old serves everything");
    // The regression shows in the first complete minute; it is caught at the evaluation then.
    assert_eq!(r.report.time_to_detect(), Some(Millis::from_minutes(1)));
    let evaluations = picked(&r.events, |e| match e {
        EventKind::HealthEvaluated(ev) => Some(ev.clone()),
        _ => None,
    });
    assert_eq!(
        &evaluations[0], evaluation,
        "the evaluation that failed is the one reported"
    );
}

#[test]
fn inconclusive_bakes_follow_the_policy() {
    let strict = CANARY.replace("min invocations 10", "min invocations 100000");
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&strict));
    assert_eq!(
        r.report.outcome,
        Outcome::RolledBack {
            step: 3,
            cause: Cause::Inconclusive {
                functions: vec!["f".into()],
                duration: Millis::from_minutes(5)
            }
        }
    );
    assert!(r.report.inconclusive);
    assert_eq!(serves(&w, "f"), serving("1", &[]));

    let lenient = strict.replace("error rate < 1%", "error rate < 1%\n  inconclusive pass");
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&lenient));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    let passed = picked(&r.events, |e| match e {
        EventKind::BakePassed { reason } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(
        passed,
        ["no conclusive evaluation of f and `inconclusive pass`"]
    );
}

#[test]
fn missing_data_is_never_healthy() {
    // A check on `old` when `old` gets no traffic: no data, so no bake can pass.
    let text = CANARY
        .replace("error rate < 1%", "p99 duration of old < 1s")
        .replace("shift 5% to new", "shift 99.99% to new")
        .replace("min invocations 10", "min invocations 0");
    let w = SimWorld::new(&SimConfig {
        functions: vec!["f".into()],
        alias: "live".into(),
        rps: 0.001,
        old: HEALTHY,
        new: HEALTHY,
        versions: 1,
        seed: 1,
    });
    let r = run(&w, &plan(&text));
    assert!(
        matches!(
            r.report.outcome,
            Outcome::RolledBack {
                step: 3,
                cause: Cause::Inconclusive { .. }
            }
        ),
        "{:?}",
        r.report.outcome
    );
}

#[test]
fn an_alarm_in_alarm_rolls_back() {
    let text = CANARY.replace("error rate < 1%", "alarm \"f-5xx\"");
    let w = world(&["f"], HEALTHY);
    w.set_alarm("f-5xx", AlarmState::Alarm);
    let r = run(&w, &plan(&text));
    let Outcome::RolledBack {
        cause: Cause::Unhealthy(evaluation),
        ..
    } = &r.report.outcome
    else {
        panic!("{:?}", r.report.outcome)
    };
    let alarm = &evaluation.checks[0];
    assert_eq!(alarm.check, "alarm \"f-5xx\" not in ALARM");
    assert_eq!(alarm.verdict, Verdict::Fail);
    assert_eq!(alarm.detail, "alarm \"f-5xx\" is in ALARM");
}

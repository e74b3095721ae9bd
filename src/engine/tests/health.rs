//! Judging health: a failing check rolls back as soon as the evidence is in, missing data is never
//! healthy, and a bake without a conclusive evaluation follows the policy.

use super::*;
use crate::cloud::{AlarmKind, AlarmState, MetricsApi};
use crate::engine::health::Verdict;
use crate::engine::{Cause, Outcome, Refusal};
use crate::judge::sequential::State;
use crate::plan::Millis;

/// The evaluation that rolled the run back.
fn failed_evaluation(r: &Run) -> &crate::engine::health::Evaluation {
    match &r.report.outcome {
        Outcome::RolledBack {
            cause: Cause::Unhealthy(evaluation),
            ..
        } => evaluation,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failing_check_rolls_back_as_soon_as_the_evidence_is_in() {
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
    let check = &evaluation.checks[0];
    assert_eq!(check.check, "error rate of new over 1m < 1%");
    assert_eq!(check.verdict, Verdict::Fail);
    let evidence = check.evidence.expect("a count check carries its evidence");
    assert_eq!(evidence.state, State::Violated);
    assert!(evidence.subject.events / evidence.subject.trials > 0.01);
    let writes = log(w.writes());
    assert_eq!(
        writes.last().unwrap(),
        &format!(
            "UpdateAlias f:live version=1 routing={{}} revision=rev-{} lease=released",
            writes.len() - 1
        ),
        "the one write after the failure restores old and releases the lease"
    );
    assert_eq!(serves(&w, "f"), serving("1", &[]), "old serves everything");
    // Each minute is judged once it has settled (at 2m3s, 3m3s, …): 5% errors against 1% are
    // proved within the first two minutes of traffic, long before the 5m bake would end.
    let evaluations = picked(&r.events, |e| match e {
        EventKind::HealthEvaluated(ev) => Some(ev.clone()),
        _ => None,
    });
    assert!(evaluations.len() <= 2, "{} evaluations", evaluations.len());
    assert_eq!(
        evaluations.last().unwrap(),
        evaluation,
        "the failing one is reported"
    );
    let detected = r.report.time_to_detect().unwrap();
    assert!(
        detected <= Millis(3 * 60_000 + 3_000),
        "detected after {detected}"
    );
}

#[test]
fn judging_unsettled_minutes_undercounts_what_a_settled_judge_sees() {
    // The default world makes metrics readable 45s after an invocation ends, as CloudWatch
    // does; the default delay (a minute and the timeout) waits for that, `0s` does not.
    for (playbook, undercounts) in [
        (
            CANARY.edit(
                "min invocations 10",
                "min invocations 10\n  metrics delay 0s",
            ),
            true,
        ),
        (CANARY.to_string(), false),
    ] {
        let w = world(&["f"], HEALTHY);
        let r = run(&w, &plan(&playbook));
        assert_eq!(r.report.outcome, Outcome::Promoted);
        let evaluations = picked(&r.events, |e| match e {
            EventKind::HealthEvaluated(ev) => Some(ev.clone()),
            _ => None,
        });
        // Ask the world later, once everything has arrived, what those ranges really held.
        w.clock().advance(Millis::from_minutes(5));
        for evaluation in &evaluations {
            let truth = crate::cloud::sim::clock::runtime()
                .block_on(w.stats(&[crate::cloud::MetricQuery {
                    function: "f".into(),
                    alias: "live".into(),
                    version: "4".into(),
                    stat: crate::cloud::Stat::Invocations,
                    start: evaluation.from_ms,
                    end: evaluation.until_ms,
                    custom: None,
                }]))
                .unwrap()[0]
                .unwrap();
            let seen = evaluation.invocations.unwrap_or(0.0);
            if undercounts {
                assert!(seen < truth * 0.9, "delay 0s saw {seen} of {truth}");
            } else {
                assert_eq!(seen, truth, "settled periods are complete");
            }
        }
    }
}

#[test]
fn inconclusive_bakes_follow_the_policy() {
    let strict = CANARY.edit("min invocations 10", "min invocations 100000");
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&strict));
    assert_eq!(
        r.report.outcome,
        Outcome::RolledBack {
            step: 3,
            cause: Cause::Inconclusive {
                functions: vec!["f".into()],
                duration: Millis::from_minutes(5),
                why: vec!["f: 713 settled invocations of new, fewer than the 100000 needed".into()]
            }
        }
    );
    assert!(r.report.inconclusive);
    assert_eq!(serves(&w, "f"), serving("1", &[]));

    let lenient = strict.edit("error rate < 1%", "error rate < 1%\n  inconclusive pass");
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
        .edit("error rate < 1%", "p99 duration of old < 1s")
        .edit("shift 5% to new", "shift 99.99% to new")
        .edit("min invocations 10", "min invocations 0");
    let w = SimWorld::new(&SimConfig {
        functions: vec!["f".into()],
        alias: "live".into(),
        rps: 0.001,
        old: HEALTHY,
        new: HEALTHY,
        versions: 1,
        seed: 1,
        ..SimConfig::default()
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
fn a_check_on_trial_is_judged_and_shown_but_never_rolls_back() {
    let text = CANARY.edit(
        "error rate < 1%",
        "error rate < 1%\n  observe p50 duration < 1ms\n  observe alarm \"f-latency\"",
    );
    let w = world(&["f"], HEALTHY);
    w.set_alarm("f-latency", AlarmState::Alarm);
    let r = run(&w, &plan(&text));
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    let evaluations = picked(&r.events, |k| match k {
        EventKind::HealthEvaluated(e) => Some(e.clone()),
        _ => None,
    });
    let last = evaluations.last().expect("judged");
    assert_ne!(last.verdict, Verdict::Fail);
    let observed: Vec<(bool, bool)> = last
        .checks
        .iter()
        .map(|c| (c.observed, c.verdict == Verdict::Fail))
        .collect();
    assert_eq!(
        observed,
        [(false, false), (true, true), (true, true)],
        "the checks on trial failed, and decided nothing: {:?}",
        last.checks
    );
    let json = serde_json::to_value(&last.checks[1]).unwrap();
    assert_eq!(json["observe_only"], true);
    assert!(serde_json::to_value(&last.checks[0])
        .unwrap()
        .get("observe_only")
        .is_none());
}

#[test]
fn a_count_check_on_trial_neither_fails_nor_holds_the_bake() {
    // Both versions fail 5% of calls: the check on trial (< 1%) is violated, and old fails it
    // as much as new (what would hold a deciding check); the deciding check (< 10%) is met.
    let text = CANARY.edit(
        "error rate < 1%",
        "error rate < 10%\n  observe error rate < 1%",
    );
    let w = SimWorld::new(&SimConfig {
        functions: vec!["f".into()],
        alias: "live".into(),
        rps: 200.0,
        old: BROKEN,
        new: BROKEN,
        versions: 3,
        seed: 7,
        ..SimConfig::default()
    });
    let r = run(&w, &plan(&text));
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    let held = picked(&r.events, |k| {
        matches!(k, EventKind::Held { .. }).then_some(())
    });
    assert!(held.is_empty(), "a check on trial never holds");
    let trial: Vec<Verdict> = picked(&r.events, |k| match k {
        EventKind::HealthEvaluated(e) => Some(e.checks[1].verdict),
        _ => None,
    });
    assert!(trial.contains(&Verdict::Fail), "{trial:?}");
}

#[test]
fn inconclusive_extend_judges_longer_then_fails_if_still_unsure() {
    // 5% of 50 calls a second is 750 calls in the 5-minute bake: too few for 5,000.
    let short = CANARY.edit("min invocations 10", "min invocations 5000");
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&short));
    assert!(
        matches!(
            &r.report.outcome,
            Outcome::RolledBack {
                cause: Cause::Inconclusive { .. },
                ..
            }
        ),
        "{:?}",
        r.report.outcome
    );
    let extended = short.edit(
        "min invocations 5000",
        "min invocations 5000\n  inconclusive extend up to 40m",
    );
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&extended));
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    let waits = picked(&r.events, |k| match k {
        EventKind::Waiting { traffic_ms, .. } => *traffic_ms,
        _ => None,
    });
    assert_eq!(waits, [Millis::from_minutes(5), Millis::from_minutes(40)]);
    let end = r.events.last().unwrap().at_ms;
    assert!(
        end < Millis::from_minutes(46).0,
        "it passes once enough is counted: {end}"
    );
    let never = short.edit(
        "min invocations 5000",
        "min invocations 500000\n  inconclusive extend up to 10m",
    );
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&never));
    assert!(
        matches!(
            &r.report.outcome,
            Outcome::RolledBack {
                cause: Cause::Inconclusive { .. },
                ..
            }
        ),
        "{:?}",
        r.report.outcome
    );
    assert!(r.events.last().unwrap().at_ms >= Millis::from_minutes(15).0);
}

#[test]
fn an_alarm_in_alarm_rolls_back() {
    let text = CANARY.edit("error rate < 1%", "alarm \"f-5xx\"");
    let w = world(&["f"], HEALTHY);
    w.set_alarm("f-5xx", AlarmState::Alarm);
    let r = run(&w, &plan(&text));
    let evaluation = failed_evaluation(&r);
    let alarm = &evaluation.checks[0];
    assert_eq!(alarm.check, "alarm \"f-5xx\" not in ALARM");
    assert_eq!(alarm.verdict, Verdict::Fail);
    assert_eq!(alarm.detail, "alarm \"f-5xx\" is in ALARM");
}

#[test]
fn composite_alarms_count_many_alarms_are_read_in_few_calls_and_missing_ones_are_refused() {
    let names: Vec<String> = (0..150).map(|n| format!("f-{n:03}")).collect();
    let checks: String = names.iter().map(|n| format!("  alarm {n:?}\n")).collect();
    let text = CANARY.edit("  error rate < 1%\n", &checks);
    // 149 metric alarms at OK, and a composite one in ALARM.
    let w = world(&["f"], HEALTHY);
    for name in &names[..149] {
        w.set_alarm(name, AlarmState::Ok);
    }
    w.set_alarm_of(AlarmKind::Composite, &names[149], AlarmState::Alarm);
    let r = run(&w, &plan(&text));
    let evaluation = failed_evaluation(&r);
    assert!(evaluation.reason.contains("alarm \"f-149\" is in ALARM"));
    let reads: Vec<usize> = w
        .calls()
        .iter()
        .filter_map(|c| match c {
            Call::DescribeAlarms { names, kinds } => {
                assert_eq!(kinds, &[AlarmKind::Metric, AlarmKind::Composite]);
                Some(names.len())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        reads,
        vec![100, 50, 100, 50],
        "before the first write, then one evaluation: two calls each"
    );

    let w = world(&["f"], HEALTHY);
    for name in &names[..148] {
        w.set_alarm(name, AlarmState::Ok);
    }
    let r = run(&w, &plan(&text));
    assert_eq!(
        r.report.outcome,
        Outcome::Refused(Refusal::NoSuchAlarms {
            names: names[148..].to_vec()
        })
    );
    assert!(w.writes().is_empty(), "nothing written");
}

#[test]
fn partial_metric_data_is_read_to_its_last_page() {
    let whole = world(&["f"], HEALTHY);
    let expected = run(&whole, &plan(CANARY));
    let w = world(&["f"], HEALTHY);
    // Old's hour of history is 120 datapoints: 40 pages of it.
    w.page_datapoints(3);
    let r = run(&w, &plan(CANARY));
    assert_eq!(r.report.outcome, expected.report.outcome);
    let evaluations = |run: &Run| -> Vec<_> {
        picked(&run.events, |k| match k {
            EventKind::HealthEvaluated(e) => Some(e.clone()),
            _ => None,
        })
    };
    assert_eq!(evaluations(&r), evaluations(&expected), "the same numbers");
    let pages = w
        .calls()
        .iter()
        .filter(|c| {
            matches!(
                c,
                Call::GetMetricData {
                    next_token: Some(_),
                    ..
                }
            )
        })
        .count();
    assert!(pages >= 5, "the later pages were read: {pages}");
}

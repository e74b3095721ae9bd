use super::*;
use crate::plan::CompareOp;

const MIN: u64 = 60_000;

fn past(days: u64, minutes: u64, invocations: Option<f64>, values: &[(Stat, f64)]) -> Past {
    Past {
        window: Window {
            start: Millis(0),
            end: Millis(minutes * MIN),
            days,
        },
        invocations,
        values: values.iter().map(|(s, v)| (*s, Some(*v))).collect(),
    }
}

fn old(metric: Metric) -> Expr {
    Expr::Metric {
        metric,
        of: Which::Old,
        over: Millis(MIN),
    }
}

fn new(metric: Metric) -> Expr {
    Expr::Metric {
        metric,
        of: Which::New,
        over: Millis(MIN),
    }
}

fn constant(value: f64, unit: Unit) -> Expr {
    Expr::Const { value, unit }
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

#[test]
fn the_hour_before_the_rollout_and_the_same_time_on_earlier_days() {
    let day = 86_400_000;
    let began = Millis(10 * day + 5 * HOUR + 30_500);
    let start = Millis(began.0 + 40 * MIN);
    let windows = windows(began, start, Millis(30 * MIN));
    assert_eq!(windows.len(), 1 + DAYS as usize);
    let aligned = 10 * day + 5 * HOUR;
    assert_eq!(
        (windows[0].start, windows[0].end),
        (Millis(aligned - HOUR), Millis(aligned))
    );
    assert_eq!(windows[0].words(false), "the hour before the rollout");
    assert_eq!(windows[0].words(true), "the hour before the watch");
    let watch = aligned + 40 * MIN;
    assert_eq!(
        (windows[2].start, windows[2].end, windows[2].days),
        (
            Millis(watch - 2 * day),
            Millis(watch - 2 * day + 30 * MIN),
            2
        )
    );
    // A watch of more than a day reads a day of each earlier day, never the rollout itself.
    let long = super::windows(began, start, Millis(3 * day));
    assert_eq!(long[1].end, Millis(aligned));
    assert!(long.iter().all(|w| w.end.0 <= aligned));
}

#[test]
fn rates_pool_every_window_old_was_invoked_in_and_counts_scale_to_the_window() {
    let pasts = [
        past(0, 60, Some(6_000.0), &[(Stat::Errors, 6.0)]),
        past(1, 30, Some(3_000.0), &[(Stat::Errors, 30.0)]),
        // Not invoked: left out.
        past(2, 30, None, &[]),
        past(3, 30, Some(0.0), &[(Stat::Errors, 0.0)]),
    ];
    let term = |metric| Term {
        metric,
        over: Millis(5 * MIN),
    };
    let rate = value(&term(Metric::ErrorRate), &pasts).expect("invoked");
    assert!((rate - 36.0 / 9_000.0 * 100.0).abs() < 1e-9, "{rate}");
    let errors = value(&term(Metric::Errors), &pasts).expect("invoked");
    assert!((errors - 36.0 / 90.0 * 5.0).abs() < 1e-9, "{errors}");
    // No throttles sent means none.
    assert_eq!(value(&term(Metric::Throttles), &pasts), Some(0.0));
    let p99 = Metric::Percentile("99".into());
    let durations = [
        past(
            0,
            60,
            Some(3_000.0),
            &[(Stat::DurationPercentile(99.0), 100.0)],
        ),
        past(
            1,
            60,
            Some(1_000.0),
            &[(Stat::DurationPercentile(99.0), 200.0)],
        ),
    ];
    let mean = value(&term(p99.clone()), &durations).expect("read");
    assert!((mean - 125.0).abs() < 1e-9, "{mean}");
    assert_eq!(value(&term(p99), &[past(0, 60, None, &[])]), None);
    // A rate's range holds its value, and narrows with more invocations.
    let range = |pasts: &[Past]| {
        let e = estimate(&term(Metric::ErrorRate), pasts, 0.01).expect("invoked");
        let (lo, hi) = e.range.expect("a rate has one");
        assert!(lo < e.value && e.value < hi, "{e:?}");
        hi - lo
    };
    let more = [past(0, 60, Some(60_000.0), &[(Stat::Errors, 60.0)])];
    let fewer = [past(0, 60, Some(6_000.0), &[(Stat::Errors, 6.0)])];
    assert!(range(&more) < range(&fewer) / 2.0);
    let p99 = Metric::Percentile("99".into());
    let e = estimate(&term(p99), &durations, 0.01).expect("read");
    assert_eq!(e.range, None);
}

#[test]
fn old_s_terms_become_its_values_before_the_rollout_and_fold() {
    let relative = Check::Compare {
        lhs: new(Metric::ErrorRate),
        op: CompareOp::Le,
        rhs: binary(
            BinOp::Add,
            old(Metric::ErrorRate),
            constant(0.5, Unit::Percent),
        ),
    };
    let latency = Check::Compare {
        lhs: new(Metric::Percentile("99".into())),
        op: CompareOp::Lt,
        rhs: binary(
            BinOp::Mul,
            constant(1.2, Unit::Number),
            old(Metric::Percentile("99".into())),
        ),
    };
    let only_old = Check::Compare {
        lhs: old(Metric::Errors),
        op: CompareOp::Lt,
        rhs: constant(5.0, Unit::Count),
    };
    let plain = Check::Alarm {
        name: "five-xx".into(),
    };
    let at_least = Check::Compare {
        lhs: new(Metric::ErrorRate),
        op: CompareOp::Ge,
        rhs: binary(
            BinOp::Sub,
            old(Metric::ErrorRate),
            constant(0.1, Unit::Percent),
        ),
    };
    let health = HealthSpec {
        checks: vec![relative, latency, only_old, plain.clone(), at_least],
        ..HealthSpec::default_spec()
    };
    let terms = terms(&health);
    assert_eq!(terms.len(), 3);
    let estimate = |value, range| {
        Some(Estimate {
            value,
            range: Some(range).filter(|_| value < 1.0),
        })
    };
    let values: Vec<(Term, Option<Estimate>)> = terms
        .iter()
        .cloned()
        .zip([
            estimate(0.25, (0.2, 0.3)),
            estimate(200.0, (0.0, 0.0)),
            estimate(1.0, (0.0, 0.0)),
        ])
        .collect();
    let judged = checks(&health, &values);
    let text: Vec<String> = judged
        .iter()
        .map(|c| match c {
            Ok(check) => check.to_string(),
            Err(why) => format!("left out: {why}"),
        })
        .collect();
    assert_eq!(
        text,
        [
            // Old's rate at the end of its range that makes each check harder to violate.
            "error rate of new over 1m <= 0.8%",
            "p99 duration of new over 1m < 240ms",
            "left out: errors of old over 1m < 5: reads only old, which serves nothing now",
            "alarm \"five-xx\" not in ALARM",
            "error rate of new over 1m >= 0.1%",
        ]
    );
    // The percentile against a constant is now a count check, as `p99 duration < 240ms` is.
    let Ok(latency) = &judged[1] else {
        panic!("judged")
    };
    assert!(matches!(
        crate::judge::form::judged(latency),
        crate::judge::form::Judged::Sequential(_)
    ));
    let none: Vec<(Term, Option<Estimate>)> = terms.iter().cloned().map(|t| (t, None)).collect();
    let unjudged = checks(&health, &none);
    assert_eq!(
        unjudged[0].clone().unwrap_err(),
        "error rate of old over 1m: old was not invoked in any window read"
    );
    assert_eq!(unjudged[3], Ok(plain));
    assert_eq!(
        described(&values)["error rate of old over 1m"],
        "0.25% (0.2% to 0.3%)".to_string()
    );
    assert_eq!(described(&values)["p99 duration of old over 1m"], "200ms");
}

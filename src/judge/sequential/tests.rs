//! The sequential tests on minutes as real traffic brings them.
use super::*;
use crate::judge::form::{Counted, Family};
use crate::plan::Which;

fn threshold(offset: f64) -> Form {
    Form {
        family: Family::ErrorRate,
        subject: Which::New,
        other: None,
        offset,
        upper: true,
    }
}

fn relative(margin: f64) -> Form {
    Form {
        other: Some((Which::Old, 1.0)),
        ..threshold(margin)
    }
}

fn counts(events: f64, trials: f64) -> Counts {
    Counts { trials, events }
}

/// A minute of `new`'s and `old`'s counts, `(events, trials)` each.
type Minute = ((f64, f64), (f64, f64));

/// Minutes of counts.
fn minutes(each: &[Minute], usual: f64) -> Vec<Period> {
    each.iter()
        .enumerate()
        .map(|(i, ((x, n), (y, m)))| {
            let old = counts(*y, *m);
            Period {
                start: Millis(i as u64 * 60_000),
                subject: Some(counts(*x, *n)),
                other: Some(old),
                held: holds(&threshold(0.01), old, Some(usual)),
            }
        })
        .collect()
}

fn look(planned: usize, last: bool) -> Look {
    Look {
        alpha: 0.01,
        bounded: true,
        last,
        planned,
    }
}

fn judged(form: &Form, periods: &[Period], look: Look) -> Assessment {
    assess(form, periods, &Background::default(), look).expect("data")
}

#[test]
fn clear_violations_and_clear_health_are_decided() {
    let form = threshold(0.01);
    let bad = minutes(&[((15.0, 500.0), (3.0, 9_500.0)); 3], 0.0003);
    assert_eq!(judged(&form, &bad, look(10, false)).state, State::Violated);
    let good = minutes(&[((0.0, 1_500.0), (3.0, 28_500.0)); 4], 0.0001);
    let healthy = judged(&form, &good, look(10, false));
    assert_eq!(healthy.state, State::Satisfied);
    assert_eq!(healthy.toward_rollback, 0.0);
    let early = minutes(&[((5.0, 150.0), (3.0, 2_850.0))], 0.001);
    let undecided = judged(&form, &early, look(10, false));
    assert_eq!(undecided.state, State::Undecided);
    assert!(undecided.toward_rollback > 0.0 && undecided.toward_rollback < 1.0);
    assert_eq!(undecided.subject, counts(5.0, 150.0));
}

#[test]
fn the_last_look_catches_what_the_anytime_test_has_not_proved_and_says_what_it_could() {
    let form = threshold(0.01);
    // 2.1% over ten minutes of 150 calls.
    let seen = minutes(&[((3.15, 150.0), (3.0, 2_850.0)); 10], 0.001);
    assert_eq!(
        judged(&form, &seen, look(10, false)).state,
        State::Undecided
    );
    assert_eq!(judged(&form, &seen, look(10, true)).state, State::Violated);
    let unsure = minutes(&[((1.5, 150.0), (3.0, 2_850.0)); 10], 0.001);
    let a = judged(&form, &unsure, look(10, true));
    assert_eq!(a.state, State::Undecided);
    let least = a.detectable.expect("a detectable rate");
    assert!(least > 0.01 && least < 0.03, "{least}");
}

#[test]
fn an_outage_old_shares_holds_and_is_no_evidence_against_new() {
    let form = threshold(0.01);
    let normal = ((0.15, 150.0), (3.0, 2_850.0));
    let outage = ((7.8, 150.0), (146.0, 2_850.0));
    let periods = minutes(
        &[normal, normal, outage, outage, outage, normal, normal],
        0.001,
    );
    assert_eq!(periods.iter().filter(|p| p.held).count(), 3);
    let a = judged(&form, &periods, look(7, true));
    assert_ne!(a.state, State::Violated, "{a:?}");
    assert_eq!(a.held, 3);
    // The same minutes as new's own failures, old failing as usual: a violation.
    let own = ((7.8, 150.0), (3.0, 2_850.0));
    let periods = minutes(&[normal, normal, own, own, own, normal, normal], 0.001);
    assert_eq!(
        judged(&form, &periods, look(7, true)).state,
        State::Violated
    );
    // In an outage, new failing far more than old still counts.
    let worse = ((40.0, 150.0), (146.0, 2_850.0));
    let periods = minutes(&[normal, worse, worse, worse], 0.001);
    assert_eq!(
        judged(&form, &periods, look(10, false)).state,
        State::Violated
    );
}

#[test]
fn a_relative_check_compares_new_with_old_minute_by_minute() {
    let form = relative(0.005);
    // Both at 5% then both at 0.1%: never more than the margin apart.
    let shared = [
        ((7.5, 150.0), (142.0, 2_850.0)),
        ((0.15, 150.0), (3.0, 2_850.0)),
    ];
    let periods = minutes(&[shared[0], shared[1], shared[0], shared[1]], 0.001);
    assert_ne!(
        judged(&form, &periods, look(4, true)).state,
        State::Violated
    );
    let worse = minutes(&[((4.5, 150.0), (3.0, 2_850.0)); 8], 0.001);
    assert_eq!(
        judged(&form, &worse, look(10, false)).state,
        State::Violated
    );
}

#[test]
fn a_regression_that_starts_late_is_judged_on_recent_minutes() {
    let form = threshold(0.01);
    let mut each = vec![((0.15, 150.0), (3.0, 2_850.0)); 9];
    each.extend([((4.5, 150.0), (3.0, 2_850.0)); 6]);
    let periods = minutes(&each, 0.001);
    assert_eq!(
        judged(&form, &periods, look(15, true)).state,
        State::Violated
    );
    // Judged on everything since the shift alone, 1.9% over fifteen minutes proves less.
    let everything = Period {
        start: Millis(0),
        subject: Some(counts(28.35, 2_250.0)),
        other: Some(counts(45.0, 42_750.0)),
        held: false,
    };
    let pooled = judged(&form, &[everything], look(1, false));
    assert_eq!(pooled.state, State::Undecided);
}

#[test]
fn missing_data_is_no_assessment_and_clusters_count_once() {
    let missing = Period {
        start: Millis(0),
        subject: None,
        other: Some(counts(3.0, 2_850.0)),
        held: false,
    };
    assert!(assess(
        &threshold(0.01),
        &[missing],
        &Background::default(),
        look(5, true)
    )
    .is_none());
    // Three errors a failed event: the same counts prove a third as much.
    let periods = minutes(&[((4.5, 150.0), (3.0, 2_850.0)); 3], 0.001);
    let single = judged(&threshold(0.01), &periods, look(10, false));
    let clustered = assess(
        &threshold(0.01),
        &periods,
        &Background {
            cluster: 3.0,
            ..Background::default()
        },
        look(10, false),
    )
    .expect("data");
    assert!(clustered.toward_rollback < single.toward_rollback);
    assert_eq!(clustered.subject, single.subject, "shown as counted");
}

#[test]
fn old_holds_a_period_when_it_fails_the_check_itself() {
    assert!(holds(&threshold(0.01), counts(30.0, 2_850.0), Some(0.001)));
    assert!(!holds(&threshold(0.01), counts(3.0, 2_850.0), Some(0.001)));
    // old + 0.5% at old's usual 0.1%: old itself above 0.6%.
    assert!(holds(&relative(0.005), counts(20.0, 2_850.0), Some(0.001)));
    assert!(!holds(&relative(0.005), counts(10.0, 2_850.0), Some(0.001)));
    let events = Form {
        family: Family::Events {
            counted: Counted::Errors,
            window: Millis(60_000),
        },
        ..threshold(0.0001)
    };
    assert!(!holds(&events, counts(300.0, 2_850.0), None));
}

//! Fleets: every step acts on all targets at once at the pace of calls, throttles back off
//! without losing a target, one evaluation reads every target's metrics together, and one
//! failing target rolls the whole fleet back.

use super::*;
use crate::cloud::limit::Limited;
use crate::cloud::retry::Retrying;
use crate::engine::{Cause, Outcome};
use crate::plan::Millis;

/// `count` functions `f00` … named by a pattern.
fn fleet_world(count: usize, config: impl FnOnce(&mut SimConfig)) -> SimWorld {
    let mut c = SimConfig {
        functions: (0..count).map(|n| format!("f{n:02}")).collect(),
        rps: 50.0,
        seed: 7,
        ..SimConfig::default()
    };
    config(&mut c);
    SimWorld::new(&c)
}

fn fleet_plan() -> Plan {
    plan(&CANARY.edit("function \"f\"", "function \"f*\""))
}

#[test]
fn a_step_writes_every_alias_at_once() {
    // 20 aliases whose writes each take a second: one after another the shift would take 20s.
    let w = fleet_world(20, |c| c.call_latency = Millis(1_000));
    let r = run(&w, &fleet_plan());
    assert_eq!(r.report.outcome, Outcome::Promoted);
    let at = |text: &str| {
        r.events
            .iter()
            .find(|e| matches!(&e.kind, EventKind::StepStarted { text: t, .. } if t.starts_with(text)))
            .map(|e| e.at_ms)
            .unwrap()
    };
    let shift = at("wait") - at("shift");
    assert!(shift < 2_000, "the shift took {shift}ms");
    for n in 0..20 {
        assert_eq!(serves(&w, &format!("f{n:02}")).0, "2");
    }
}

#[test]
fn throttles_back_off_and_no_target_is_lost() {
    // The account allows 5 calls a second; the run paces itself at 10.
    let w = fleet_world(30, |c| {
        c.calls_per_second = Some(5.0);
        c.call_latency = Millis(50);
    });
    let paced = Limited::new(&w, &w, 10.0);
    let cloud = Retrying::new(&paced, &w);
    let r = run_in(&cloud, &w, &fleet_plan());
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    assert!(w.throttled() > 0, "the account throttled");
    for n in 0..30 {
        assert_eq!(
            serves(&w, &format!("f{n:02}")),
            serving("2", &[]),
            "f{n:02}"
        );
    }
}

#[test]
fn at_the_accounts_limit_nothing_is_throttled_and_calls_leave_at_its_pace() {
    let w = fleet_world(50, |c| {
        c.calls_per_second = Some(10.0);
        c.call_latency = Millis(60);
    });
    let paced = Limited::new(&w, &w, 10.0);
    let r = run_in(&paced, &w, &fleet_plan());
    assert_eq!(r.report.outcome, Outcome::Promoted);
    assert_eq!(w.throttled(), 0);
    // The shift: 50 writes at 10 a second.
    let calls = w.timed_calls();
    let shifts: Vec<u64> = calls
        .iter()
        .filter(
            |(_, c)| matches!(c, Call::UpdateAlias { update, .. } if !update.routing.is_empty()),
        )
        .map(|(t, _)| t.0)
        .collect();
    let first_shift_write = shifts.len() - 50;
    let spread = shifts[shifts.len() - 1] - shifts[first_shift_write];
    assert!(
        (4_800..=5_000).contains(&spread),
        "{spread}ms for 50 writes"
    );
}

#[test]
fn one_evaluation_reads_every_targets_metrics_in_one_call() {
    let w = fleet_world(40, |_| {});
    let r = run(&w, &fleet_plan());
    assert_eq!(r.report.outcome, Outcome::Promoted);
    let mut rounds: BTreeMap<u64, usize> = BTreeMap::new();
    for (t, call) in w.timed_calls() {
        if let Call::GetMetricData { queries, .. } = call {
            *rounds.entry(t.0).or_default() += 1;
            assert!(queries.len() >= 40, "{} queries in one call", queries.len());
        }
    }
    // Old's past is read once, with the first look: a range of its own, so a call of its own.
    let first = *rounds.keys().next().expect("a round");
    assert!(
        rounds
            .iter()
            .all(|(t, &calls)| calls == 1 + usize::from(*t == first)),
        "{rounds:?}"
    );
    let evaluations = picked(&r.events, |k| match k {
        EventKind::HealthEvaluated(e) => Some(e.function.clone()),
        _ => None,
    });
    assert_eq!(
        evaluations.len(),
        40 * rounds.len(),
        "one evaluation per target per round"
    );
}

#[test]
fn one_failing_target_rolls_the_whole_fleet_back_and_is_named() {
    let w = fleet_world(12, |_| {});
    w.set_new_profile("f07", BROKEN);
    let r = run(&w, &fleet_plan());
    let Outcome::RolledBack {
        cause: Cause::Unhealthy(evaluation),
        ..
    } = &r.report.outcome
    else {
        panic!("{:?}", r.report.outcome)
    };
    assert_eq!(evaluation.function, "f07");
    assert!(r.report.outcome.to_string().contains("f07: new:"));
    for n in 0..12 {
        let f = format!("f{n:02}");
        assert_eq!(serves(&w, &f), serving("1", &[]), "{f}");
        assert_eq!(
            w.alias(&f, "live").unwrap().description,
            "",
            "{f}: lease cleared"
        );
    }
}

#[test]
fn a_pattern_that_matches_nothing_is_refused_before_anything_is_written() {
    let w = fleet_world(3, |_| {});
    let r = run(&w, &plan(&CANARY.edit("function \"f\"", "function \"g*\"")));
    assert!(
        r.report
            .outcome
            .to_string()
            .contains("\"g*\" matches none of the region's 3 functions"),
        "{}",
        r.report.outcome
    );
    assert_eq!(r.report.outcome.exit_code(), 2);
    assert!(w.writes().is_empty());
}

#[test]
fn an_alias_deleted_mid_run_is_reported_gone_and_the_others_restored() {
    use crate::cloud::faults::{Decision, Faulty, Injected};
    let w = fleet_world(3, |_| ());
    // Once traffic has moved, the alias of f01 is deleted: every call on it meets a 404.
    let shifted = std::cell::Cell::new(false);
    let deleted = |_: usize, call: &Call| {
        if let Call::UpdateAlias { update, .. } = call {
            shifted.set(shifted.get() || !update.routing.is_empty());
        }
        let on_f01 = call.to_string().contains("f01");
        if shifted.get()
            && on_f01
            && !matches!(call, Call::UpdateAlias { update, .. } if !update.routing.is_empty())
        {
            return Decision::Fail(Injected::Deleted);
        }
        Decision::Pass
    };
    let faulty = Faulty::new(&w, deleted);
    let r = run_in(&faulty, &w, &fleet_plan());
    assert_eq!(r.report.outcome.exit_code(), 5, "{:?}", r.report.outcome);
    let said = r.report.outcome.to_string();
    assert!(
        said.contains("f01:live no longer exists (deleted while the rollout ran)"),
        "{said}"
    );
    assert!(!said.contains("f01:live serves"), "{said}");
    for f in ["f00", "f02"] {
        assert_eq!(serves(&w, f), serving("1", &[]), "{f} restored: {said}");
        assert!(
            said.contains(&format!("{f}:live serves version 1")),
            "{said}"
        );
    }
}

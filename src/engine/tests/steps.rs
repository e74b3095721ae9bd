//! What each step kind does to the aliases, in which order of calls, and how the plan ends.

use super::*;
use crate::cloud::faults::{Decision, Faulty};
use crate::cloud::retry::Retrying;
use crate::cloud::sim::ALLOCATION_TIME;
use crate::cloud::AlarmState;
use crate::engine::{Cause, Outcome, Refusal};
use crate::judge::settle::Settlement;
use crate::plan::Millis;

#[test]
fn a_healthy_canary_promotes_with_exactly_these_calls() {
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(CANARY));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    assert_eq!(r.report.outcome.exit_code(), 0);
    let (reads, lambda_calls): (Vec<Call>, Vec<Call>) = w
        .calls()
        .into_iter()
        .partition(|c| matches!(c, Call::GetMetricData { .. }));
    assert_eq!(
        log(lambda_calls),
        vec![
            // Before any write: provisioned concurrency, old's and $LATEST's configuration.
            "GetAlias f:live",
            "GetProvisionedConcurrencyConfig f:live",
            "GetFunction f:1",
            "GetFunction f",
            "UpdateAlias f:live version=1 routing={} revision=rev-1 lease=step0/4",
            "UpdateAlias f:live version=1 routing={} revision=rev-2 lease=step1/4",
            // Exactly the $LATEST read, once no update is in progress; new once it is Active.
            "GetFunction f",
            "PublishVersion f code=code-latest revision=latest-1 description=\"canary\"",
            "GetFunction f:4",
            "UpdateAlias f:live version=1 routing={4: 0.05} revision=rev-3 lease=step2/4",
            "UpdateAlias f:live version=1 routing={4: 0.05} revision=rev-4 lease=step3/4",
            "UpdateAlias f:live version=1 routing={4: 0.05} revision=rev-5 lease=step3/4",
            // Heartbeats every two minutes, after the looks; none once the bake has ended.
            "UpdateAlias f:live version=1 routing={4: 0.05} revision=rev-6 lease=step3/4",
            "UpdateAlias f:live version=4 routing={} revision=rev-7 lease=released",
        ]
    );
    assert_eq!(
        w.alias("f", "live").unwrap().description,
        "",
        "the lease is released"
    );
    // Five minutes of traffic, each minute judged once it has settled (a minute of slack plus
    // the 3s timeout after it ends): the bake lasts 6m3s. The first look also reads old's last
    // hour, a range of its own.
    assert_eq!(
        reads.len(),
        5 + 1,
        "one read per settled minute, and old's past once"
    );
    assert_eq!(r.report.ended_ms, 6 * 60_000 + 3_000);
    assert_eq!(serves(&w, "f"), serving("4", &[]));
}

#[test]
fn an_unchanged_publish_ends_with_nothing_to_roll_out() {
    let w = world(&["f"], HEALTHY);
    w.unchange_latest("f");
    // The alias serves the last version.
    write(&w, "f", "3", &[]);
    let writes_before = w.writes().len();
    let r = run(&w, &plan(CANARY));
    assert_eq!(r.report.outcome, Outcome::NothingToRollOut);
    assert_eq!(r.report.outcome.exit_code(), 0);
    assert_eq!(
        log(w.writes())[writes_before..],
        [
            "UpdateAlias f:live version=3 routing={} revision=rev-2 lease=step0/4",
            "UpdateAlias f:live version=3 routing={} revision=rev-3 lease=step1/4",
            "PublishVersion f code=code-3 revision=latest-1 description=\"canary\"",
            "UpdateAlias f:live version=3 routing={} revision=rev-4 lease=released",
        ],
        "the publish, and the lease taken and released"
    );
}

#[test]
fn several_targets_move_together_and_one_failure_rolls_all_back() {
    let text = CANARY.edit("function \"f\"", "function \"a\", \"b\"");
    let w = world(&["a", "b"], HEALTHY);
    let r = run(&w, &plan(&text));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    assert_eq!(serves(&w, "a"), serving("4", &[]));
    assert_eq!(serves(&w, "b"), serving("4", &[]));

    let w = world(&["a", "b"], HEALTHY);
    w.set_new_profile("b", BROKEN);
    let r = run(&w, &plan(&text));
    match &r.report.outcome {
        Outcome::RolledBack {
            step: 3,
            cause: Cause::Unhealthy(evaluation),
        } => assert_eq!(evaluation.function, "b"),
        other => panic!("{other:?}"),
    }
    for f in ["a", "b"] {
        assert_eq!(serves(&w, f), serving("1", &[]), "{f}");
    }
    // Each alias got its 5% in step 2, before any bake.
    let shifts = w
        .writes()
        .into_iter()
        .filter(|c| {
            matches!(c, Call::UpdateAlias { update, .. }
                if update.routing.get("4") == Some(&0.05) && lease_step(update) == Some(2))
        })
        .count();
    assert_eq!(shifts, 2, "both shifted together");
}

#[test]
fn every_step_kind_runs() {
    let text = r#"
function "f"
alias "live"
health every 30s {
  min invocations 1
  error rate < 1%
  alarm "f-5xx"
}
update code from "app.zip"
publish
ramp to 30% by 10% every 1m
wait 2m
approve "ok?"
shift 50% to new
wait 1m until healthy
promote
"#;
    let w = world(&["f"], HEALTHY);
    w.set_alarm("f-5xx", AlarmState::Ok);
    let r = run(&w, &plan(text));
    assert_eq!(
        r.report.outcome,
        Outcome::Promoted,
        "{:#?}",
        r.events.last()
    );
    assert_eq!(
        traffic(&w),
        vec![
            serving("1", &[("4", 0.1)]),
            serving("1", &[("4", 0.2)]),
            serving("1", &[("4", 0.3)]),
            serving("1", &[("4", 0.5)]),
            serving("4", &[]),
        ]
    );
    assert!(w.calls().contains(&Call::UpdateFunctionCode {
        function: "f".into()
    }));
    // The update takes 3s; each bake judges its minute of traffic in 30s periods and lasts until
    // they have settled, a minute and the 3s timeout after they end; the wait takes 2m.
    let settlement = Settlement::new(Millis(30_000), Millis(63_000));
    let bake = |from: u64| settlement.settles(Millis(from + 60_000)).0;
    let mut t = 3_000;
    for _ in 0..3 {
        t = bake(t);
    }
    t += 120_000;
    t = bake(t);
    assert_eq!(r.report.ended_ms, t);
}

#[test]
fn use_version_and_a_planned_rollback() {
    let text =
        "function \"f\"\nalias \"live\"\nuse version 2\nshift 50% to new\nwait 1m\nrollback\n";
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(text));
    assert_eq!(
        r.report.outcome,
        Outcome::RolledBack {
            step: 4,
            cause: Cause::Planned
        }
    );
    assert_eq!(
        traffic(&w),
        vec![serving("1", &[("2", 0.5)]), serving("1", &[])]
    );
    let r = run(
        &world(&["f"], HEALTHY),
        &plan(&text.edit("use version 2", "use version 9")),
    );
    assert_eq!(
        r.report.outcome,
        Outcome::Refused(Refusal::NoSuchVersion {
            function: "f".into(),
            version: "9".into()
        })
    );
}

#[test]
fn a_failed_code_update_fails_the_step_before_any_traffic_moves() {
    let text = "function \"f\"\nalias \"live\"\nupdate code from \"app.zip\"\npublish\nshift 5% to new\npromote\n";
    let w = world(&["f"], HEALTHY);
    w.fail_next_update("f", "InvalidZipFileException");
    let r = run(&w, &plan(text));
    assert_eq!(
        r.report.outcome,
        Outcome::RolledBack {
            step: 1,
            cause: Cause::UpdateFailed {
                function: "f".into(),
                reason: "InvalidZipFileException".into()
            }
        }
    );
    assert_eq!(traffic(&w), vec![], "no traffic moved");
}

#[test]
fn a_plan_without_an_end_leaves_the_split() {
    let w = world(&["f"], HEALTHY);
    let r = run(
        &w,
        &plan("function \"f\"\nalias \"live\"\npublish\nshift 5% to new\n"),
    );
    assert_eq!(r.report.outcome, Outcome::LeftSplit);
    assert_eq!(serves(&w, "f"), serving("1", &[("4", 0.05)]));
}

#[test]
fn code_pushed_by_someone_else_after_the_read_is_never_published() {
    // Someone deploys while the rollout takes its lease, or just before it publishes.
    for pushed_at in [
        "before the publish read",
        "between the read and the publish",
    ] {
        let w = world(&["f"], HEALTHY);
        let latest_reads = std::cell::Cell::new(0);
        let pushed = std::cell::Cell::new(false);
        let push = |_: usize, call: &Call| {
            let now = match call {
                Call::GetFunction {
                    qualifier: None, ..
                } => {
                    latest_reads.set(latest_reads.get() + 1);
                    pushed_at.starts_with("before") && latest_reads.get() == 2
                }
                Call::PublishVersion { .. } => pushed_at.starts_with("between"),
                _ => false,
            };
            if now && !pushed.replace(true) {
                w.push_code_as_someone_else("f", "their-code");
            }
            Decision::Pass
        };
        let faulty = Faulty::new(&w, push);
        let retrying = Retrying::new(&faulty, &w);
        let r = run_with(&retrying, &retrying, &w, &plan(CANARY), Settings::default());
        assert!(
            matches!(
                &r.report.outcome,
                Outcome::RolledBack { step: 1, cause: Cause::LatestChanged { function, .. } } if function == "f"
            ),
            "{pushed_at}: {:?}",
            r.report.outcome
        );
        assert_eq!(r.report.outcome.exit_code(), 1);
        assert!(r
            .report
            .outcome
            .to_string()
            .contains("Nothing was published"));
        assert_eq!(serves(&w, "f"), serving("1", &[]), "{pushed_at}");
        assert_eq!(w.alias("f", "live").unwrap().description, "");
        // Nothing of theirs became a version.
        let runtime = crate::cloud::sim::clock::runtime();
        let four = runtime.block_on(w.get_function("f", Some("4")));
        assert!(four.is_err(), "{pushed_at}: {four:?}");
    }
}

#[test]
fn traffic_waits_until_a_snap_start_version_is_active() {
    let w = world(&["f"], HEALTHY);
    w.snap_start("f", Millis(95_000));
    let r = run(&w, &plan(CANARY));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    let first = r.report.first_traffic_ms.expect("traffic moved");
    assert!(first >= 95_000, "the shift came {first}ms in");
    let versions: Vec<String> = picked(&r.events, |k| match k {
        EventKind::VersionsChosen { new, .. } => Some(new.clone()),
        _ => None,
    });
    assert_eq!(versions, vec!["4".to_string()]);
}

#[test]
fn provisioned_concurrency_is_split_by_weight_and_each_move_waits_for_its_allocation() {
    let w = world(&["f"], HEALTHY);
    w.provision("f", "live", 10);
    let r = run(&w, &plan(CANARY));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    let allocations: Vec<(u32, bool)> = picked(&r.events, |k| match k {
        EventKind::Provisioned {
            allocated, ready, ..
        } => Some((*allocated, *ready)),
        _ => None,
    });
    assert_eq!(
        allocations,
        vec![(10, false), (10, true), (10, true)],
        "noted before the first write, then allocated after the shift and the promote"
    );
    // The shift waits a minute for the allocation before the bake's traffic counts.
    let plain = run(&world(&["f"], HEALTHY), &plan(CANARY));
    assert!(r.report.ended_ms >= plain.report.ended_ms + 2 * ALLOCATION_TIME.0);
}

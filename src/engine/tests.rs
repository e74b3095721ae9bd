//! The engine in the simulated world: every step kind, the order of Lambda calls, and every way
//! a rollout can end.

use std::cell::Cell;
use std::path::Path;

use super::*;
use crate::check::{check_source, Options};
use crate::cloud::call::Call;
use crate::cloud::faults::{fault_at, pass, Decision, Fault, Faulty};
use crate::cloud::sim::traffic::Profile;
use crate::cloud::sim::{SimConfig, SimWorld};
use crate::cloud::AlarmState;
use crate::diagnostic::source;

const HEALTHY: Profile = Profile {
    error_rate: 0.001,
    median_ms: 100.0,
};
const BROKEN: Profile = Profile {
    error_rate: 0.05,
    median_ms: 100.0,
};

fn plan(text: &str) -> Plan {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lib");
    let checked = check_source(
        source("test.rollout", text.to_string()),
        &dir,
        &Options::default(),
    );
    checked.plan.unwrap_or_else(|| {
        let messages: Vec<&str> = checked.diags.iter().map(|d| d.message.as_str()).collect();
        panic!("invalid test playbook: {messages:?}")
    })
}

fn world(functions: &[&str], new: Profile) -> SimWorld {
    SimWorld::new(&SimConfig {
        functions: functions.iter().map(|f| f.to_string()).collect(),
        alias: "live".into(),
        rps: 50.0,
        old: HEALTHY,
        new,
        versions: 3,
        seed: 7,
    })
}

struct Run {
    report: Report,
    events: Vec<Event>,
}

/// What an alias serves: its primary version and the additional one with its weight.
type Serving = (String, Vec<(String, f64)>);

/// `version` with `routing`, as [`traffic`] lists it.
fn serving(version: &str, routing: &[(&str, f64)]) -> Serving {
    (
        version.to_string(),
        routing.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
    )
}

/// What each alias write of the rollout made the alias serve, in order; writes that only took
/// or renewed the lease (the routing stayed as it was) are left out.
fn traffic(w: &SimWorld) -> Vec<Serving> {
    let mut out = Vec::new();
    let mut last: BTreeMap<(String, String), Serving> = BTreeMap::new();
    for call in w.writes() {
        let Call::UpdateAlias {
            function,
            alias,
            update,
        } = call
        else {
            continue;
        };
        let now: Serving = (
            update.version.clone(),
            update.routing.clone().into_iter().collect(),
        );
        // The first write of each alias takes the lease and moves nothing.
        match last.insert((function, alias), now.clone()) {
            Some(before) if before != now => out.push(now),
            _ => {}
        }
    }
    out
}

/// The step an alias write records in the lease.
fn lease_step(update: &AliasUpdate) -> Option<usize> {
    let description = update.description.as_deref()?;
    Marker::parse(description).1.map(|m| m.step)
}

/// The calls made, as a call log shows them.
fn log(calls: Vec<Call>) -> Vec<String> {
    calls.iter().map(Call::to_string).collect()
}

fn run_in<L: LambdaApi>(lambda: &L, world: &SimWorld, plan: &Plan) -> Run {
    run_with(lambda, world, world, plan)
}

fn run(world: &SimWorld, plan: &Plan) -> Run {
    run_in(world, world, plan)
}

const CANARY: &str = r#"
function "f"
alias "live"
health every 1m {
  min invocations 10
  error rate < 1%
}
publish "canary"
shift 5% to new
wait 5m until healthy
promote
"#;

#[test]
fn a_healthy_canary_promotes_with_exactly_these_calls() {
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(CANARY));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    assert_eq!(r.report.outcome.exit_code(), 0);
    let lambda_calls: Vec<Call> = w
        .calls()
        .into_iter()
        .filter(|c| !matches!(c, Call::GetMetricData { .. }))
        .collect();
    assert_eq!(
        log(lambda_calls),
        vec![
            "GetAlias f:live",
            "UpdateAlias f:live version=1 routing={} revision=rev-1 lease=step0/4",
            "UpdateAlias f:live version=1 routing={} revision=rev-2 lease=step1/4",
            "GetFunction f",
            "PublishVersion f description=\"canary\"",
            "GetFunction f:1",
            "GetFunction f:4",
            "UpdateAlias f:live version=1 routing={4: 0.05} revision=rev-3 lease=step2/4",
            "UpdateAlias f:live version=1 routing={4: 0.05} revision=rev-4 lease=step3/4",
            "UpdateAlias f:live version=1 routing={4: 0.05} revision=rev-5 lease=step3/4",
            "UpdateAlias f:live version=1 routing={4: 0.05} revision=rev-6 lease=step3/4",
            "UpdateAlias f:live version=4 routing={} revision=rev-7 lease=released",
        ]
    );
    assert_eq!(
        w.alias("f", "live").unwrap().description,
        "",
        "the lease is released"
    );
    let evaluations = w
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::GetMetricData { .. }))
        .count();
    assert_eq!(evaluations, 5, "one evaluation a minute for 5m");
    assert_eq!(w.alias("f", "live").unwrap().version, "4");
    assert!(w.alias("f", "live").unwrap().routing.is_empty());
}

#[test]
fn a_failing_check_rolls_back_at_the_first_evaluation_that_sees_it() {
    let w = world(&["f"], BROKEN);
    let r = run(&w, &plan(CANARY));
    match &r.report.outcome {
        Outcome::RolledBack { step, reason } => {
            assert_eq!(*step, 3);
            assert!(reason.contains("error rate of new over 1m = "), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.report.outcome.exit_code(), 1);
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
    let alias = w.alias("f", "live").unwrap();
    assert_eq!(
        (alias.version.as_str(), alias.routing.len()),
        ("1", 0),
        "old serves everything"
    );
    // The regression shows in the first complete minute; it is caught at the evaluation then.
    assert_eq!(r.report.time_to_detect(), Some(Millis::from_minutes(1)));
    let evaluation = r
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::HealthEvaluated(ev) => Some(ev.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(evaluation.verdict, Verdict::Fail);
    assert!(
        evaluation.checks[0].detail.ends_with("needs < 1%"),
        "{:?}",
        evaluation.checks[0]
    );
}

#[test]
fn inconclusive_bakes_follow_the_policy() {
    let strict = CANARY.replace("min invocations 10", "min invocations 100000");
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&strict));
    assert!(
        matches!(r.report.outcome, Outcome::RolledBack { step: 3, .. }),
        "{:?}",
        r.report.outcome
    );
    assert!(r.report.inconclusive);
    assert_eq!(w.alias("f", "live").unwrap().version, "1");

    let lenient = strict.replace("error rate < 1%", "error rate < 1%\n  inconclusive pass");
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&lenient));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    assert!(r.events.iter().any(|e| matches!(&e.kind, EventKind::BakePassed { reason } if reason.contains("inconclusive pass"))));
}

#[test]
fn missing_data_is_never_healthy() {
    // A check on `old` when `old` gets no traffic: no data, so no bake can pass.
    let text = CANARY
        .replace("error rate < 1%", "p99 duration of old < 1s")
        .replace("shift 5% to new", "shift 99.99% to new");
    let w = SimWorld::new(&SimConfig {
        functions: vec!["f".into()],
        alias: "live".into(),
        rps: 0.001,
        old: HEALTHY,
        new: HEALTHY,
        versions: 1,
        seed: 1,
    });
    let r = run(
        &w,
        &plan(&text.replace("min invocations 10", "min invocations 0")),
    );
    assert!(
        matches!(r.report.outcome, Outcome::RolledBack { .. }),
        "{:?}",
        r.report.outcome
    );
}

/// Someone else writes the alias just before the `n`-th UpdateAlias (1-based).
fn meddle_before_write(n: usize) -> impl Fn(usize, &Call) -> Decision {
    let writes = Cell::new(0);
    move |_, call| {
        if let Call::UpdateAlias { .. } = call {
            writes.set(writes.get() + 1);
            if writes.get() == n {
                return Decision::WriteFirst;
            }
        }
        Decision::Pass
    }
}

#[test]
fn a_stale_revision_stops_with_a_conflict_and_overwrites_nothing() {
    // Someone else writes the alias just before our first (lease), third (shift) and fourth
    // (step mark, whose conflict surfaces at the next heartbeat) alias writes.
    for (before_write, split_left) in [(1, false), (3, false), (4, true)] {
        let w = world(&["f"], HEALTHY);
        let meddler = Faulty::new(&w, meddle_before_write(before_write));
        let r = run_in(&meddler, &w, &plan(CANARY));
        assert!(
            matches!(r.report.outcome, Outcome::Conflict { .. }),
            "{before_write}: {:?}",
            r.report.outcome
        );
        assert_eq!(r.report.outcome.exit_code(), 4);
        let after = w.alias("f", "live").unwrap();
        let touched = format!("rev-{}", before_write + 1);
        assert_eq!(
            after.revision_id, touched,
            "{before_write}: nothing written after the other writer"
        );
        assert_eq!(
            after.additional().is_some(),
            split_left,
            "{before_write}: the split stays as it was"
        );
    }
}

#[test]
fn an_unchanged_publish_ends_with_nothing_to_roll_out() {
    let w = world(&["f"], HEALTHY);
    w.unchange_latest("f");
    // The alias serves the last version: make that so.
    let rev = w.alias("f", "live").unwrap().revision_id;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime
        .block_on(w.update_alias(
            "f",
            "live",
            &AliasUpdate {
                version: "3".into(),
                routing: BTreeMap::new(),
                revision_id: rev,
                description: None,
            },
        ))
        .unwrap();
    let writes_before = w.writes().len();
    let r = run(&w, &plan(CANARY));
    assert_eq!(r.report.outcome, Outcome::NothingToRollOut);
    assert_eq!(r.report.outcome.exit_code(), 0);
    assert_eq!(
        log(w.writes())[writes_before..],
        [
            "UpdateAlias f:live version=3 routing={} revision=rev-2 lease=step0/4",
            "UpdateAlias f:live version=3 routing={} revision=rev-3 lease=step1/4",
            "PublishVersion f description=\"canary\"",
            "UpdateAlias f:live version=3 routing={} revision=rev-4 lease=released",
        ],
        "the publish, and the lease taken and released"
    );
}

#[test]
fn several_targets_move_together_and_one_failure_rolls_all_back() {
    let text = CANARY.replace("function \"f\"", "function \"a\", \"b\"");
    let w = world(&["a", "b"], HEALTHY);
    let r = run(&w, &plan(&text));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    assert_eq!(w.alias("a", "live").unwrap().version, "4");
    assert_eq!(w.alias("b", "live").unwrap().version, "4");

    let w = world(&["a", "b"], HEALTHY);
    w.set_new_profile("b", BROKEN);
    let r = run(&w, &plan(&text));
    match &r.report.outcome {
        Outcome::RolledBack { reason, .. } => assert!(reason.starts_with("b:"), "{reason}"),
        other => panic!("{other:?}"),
    }
    for f in ["a", "b"] {
        let alias = w.alias(f, "live").unwrap();
        assert_eq!(
            (alias.version.as_str(), alias.routing.len()),
            ("1", 0),
            "{f}"
        );
    }
    // Each alias got its 5% in step 2, before any bake.
    let shifts: Vec<Call> = w
        .writes()
        .into_iter()
        .filter(|c| {
            matches!(c, Call::UpdateAlias { update, .. }
                if update.routing.get("4") == Some(&0.05) && lease_step(update) == Some(2))
        })
        .collect();
    assert_eq!(shifts.len(), 2, "both shifted together: {shifts:?}");
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
    // update (3s), ramp 3×1m, wait 2m, bake 1m.
    assert_eq!(r.report.ended_ms, 3_000 + 6 * 60_000);
}

#[test]
fn an_alarm_in_alarm_rolls_back() {
    let text = CANARY.replace("error rate < 1%", "alarm \"f-5xx\"");
    let w = world(&["f"], HEALTHY);
    w.set_alarm("f-5xx", AlarmState::Alarm);
    let r = run(&w, &plan(&text));
    assert!(
        matches!(&r.report.outcome, Outcome::RolledBack { reason, .. } if reason.contains("in ALARM")),
        "{:?}",
        r.report.outcome
    );
}

#[test]
fn use_version_and_a_planned_rollback() {
    let text =
        "function \"f\"\nalias \"live\"\nuse version 2\nshift 50% to new\nwait 1m\nrollback\n";
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(text));
    assert!(
        matches!(r.report.outcome, Outcome::RolledBack { step: 4, .. }),
        "{:?}",
        r.report.outcome
    );
    assert_eq!(
        traffic(&w),
        vec![serving("1", &[("2", 0.5)]), serving("1", &[]),]
    );
    let r = run(
        &world(&["f"], HEALTHY),
        &plan(&text.replace("use version 2", "use version 9")),
    );
    assert!(
        matches!(r.report.outcome, Outcome::Refused { .. }),
        "{:?}",
        r.report.outcome
    );
}

#[test]
fn a_failed_code_update_fails_the_step_before_any_traffic_moves() {
    let text = "function \"f\"\nalias \"live\"\nupdate code from \"app.zip\"\npublish\nshift 5% to new\npromote\n";
    let w = world(&["f"], HEALTHY);
    w.fail_next_update("f", "InvalidZipFileException");
    let r = run(&w, &plan(text));
    assert!(
        matches!(&r.report.outcome, Outcome::RolledBack { step: 1, reason } if reason.contains("InvalidZipFileException")),
        "{:?}",
        r.report.outcome
    );
    assert_eq!(traffic(&w), vec![], "no traffic moved");
}

#[test]
fn refuses_an_alias_split_by_someone_else_or_missing() {
    let w = world(&["f"], HEALTHY);
    let rev = w.alias("f", "live").unwrap().revision_id;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let split = AliasUpdate {
        version: "3".into(),
        routing: BTreeMap::from([("2".to_string(), 0.2)]),
        revision_id: rev,
        description: None,
    };
    runtime
        .block_on(w.update_alias("f", "live", &split))
        .unwrap();
    let writes = w.writes().len();
    let r = run(&w, &plan(CANARY));
    assert!(
        matches!(&r.report.outcome, Outcome::Refused { reason } if reason.contains("someone changed it by hand")),
        "{:?}",
        r.report.outcome
    );
    assert_eq!(r.report.outcome.exit_code(), 2);
    assert_eq!(w.writes().len(), writes, "nothing written");

    let r = run(&world(&["g"], HEALTHY), &plan(CANARY));
    assert!(
        matches!(&r.report.outcome, Outcome::Refused { reason } if reason.contains("cannot be read")),
        "{:?}",
        r.report.outcome
    );

    let r = run(&world(&["f"], HEALTHY), &plan("publish\npromote\n"));
    assert!(
        matches!(&r.report.outcome, Outcome::Refused { reason } if reason.contains("no alias")),
        "{:?}",
        r.report.outcome
    );
}

/// Runs a canary whose health block has `script "checks/NAME.rhai" [timeout]`.
fn with_health_hook(name: &str, timeout: &str) -> Run {
    let text = CANARY.replace(
        "error rate < 1%",
        &format!("error rate < 1%\n  script \"checks/{name}.rhai\"{timeout}"),
    );
    let w = world(&["f"], HEALTHY);
    run(&w, &plan(&text))
}

fn rollback_reason(r: &Run) -> String {
    match &r.report.outcome {
        Outcome::RolledBack { reason, .. } => reason.clone(),
        other => panic!("expected a rollback, got {other:?}"),
    }
}

#[test]
fn hostile_hooks_are_stopped_and_count_as_unhealthy() {
    for (name, expected) in [
        ("loop", "more than 1000000 operations"),
        ("recursion", "nested deeper than 32"),
        ("big-string", "over the sandbox's limit"),
        ("big-array", "over the sandbox's limit"),
        ("throws", "threw: payments queue is backed up"),
        ("number", "returned i64 `42`"),
        ("import", "hooks cannot import modules"),
        ("files", "calls `open"),
    ] {
        let started = std::time::Instant::now();
        let r = with_health_hook(name, "");
        let reason = rollback_reason(&r);
        assert!(reason.contains(expected), "{name}: {reason}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{name} stalled the rollout"
        );
        let hook = r.events.iter().find_map(|e| match &e.kind {
            EventKind::Hook {
                healthy, reason, ..
            } => Some((*healthy, reason.clone())),
            _ => None,
        });
        assert_eq!(
            hook.map(|h| h.0),
            Some(false),
            "{name}: the hook's verdict is an event"
        );
    }
}

#[test]
fn a_hook_past_its_deadline_is_stopped() {
    let started = std::time::Instant::now();
    let r = with_health_hook("slow", " timeout 5ms");
    let reason = rollback_reason(&r);
    assert!(
        reason.contains("deadline") || reason.contains("operations"),
        "{reason}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn a_hook_that_stopped_compiling_fails_closed_at_run_time() {
    let dir = std::env::temp_dir().join(format!("rollout-hook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("check.rhai"), "true\n").unwrap();
    let text =
        "function \"f\"\nalias \"live\"\npublish\nshift 5% to new\nrun \"check.rhai\"\npromote\n";
    let checked = check_source(
        source("t.rollout", text.to_string()),
        &dir,
        &Options::default(),
    );
    let plan = checked.plan.expect("valid while the hook compiles");
    std::fs::write(dir.join("check.rhai"), "eval(\"true\")\n").unwrap();
    let r = run(&world(&["f"], HEALTHY), &plan);
    assert!(
        rollback_reason(&r).contains("does not compile"),
        "{:?}",
        r.report.outcome
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctx_offers_the_rollout_its_metrics_and_invocations() {
    let text = format!(
        "param canary = 5%\nparam bake = 2m\n{}",
        CANARY
            .replace(
                "error rate < 1%",
                "error rate < 1%\n  script \"checks/tour.rhai\""
            )
            .replace("shift 5% to new", "shift canary to new")
            .replace("wait 5m until healthy", "wait bake until healthy")
    );
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&text));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    let reasons: Vec<&str> = r
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Hook { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 2, "one run per evaluation");
    assert!(
        reasons[1].starts_with("canary 5.0%, bake 120.0s, errors "),
        "{}",
        reasons[1]
    );
    assert!(
        reasons[1].ends_with("old p99 true, status 200, alias answered true"),
        "{}",
        reasons[1]
    );
    let logs: Vec<&str> = r
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::HookLog { message, .. } => Some(message.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(logs[0], "checking f (1 functions) on live: 1 -> 4 at 5.0%");
    assert!(logs[1].starts_with("elapsed 60"), "{}", logs[1]);
    let invoked = |qualifier: &str| {
        w.calls().contains(&Call::Invoke {
            function: "f".into(),
            qualifier: qualifier.into(),
        })
    };
    assert!(invoked("4") && invoked("live"));
}

#[test]
fn on_failure_runs_before_the_rollback_and_its_failure_never_stops_it() {
    let text = format!(
        "on failure run \"checks/throws.rhai\"\non success run \"checks/ok.rhai\"\n{CANARY}"
    );
    let w = world(&["f"], BROKEN);
    let r = run(&w, &plan(&text));
    assert!(matches!(r.report.outcome, Outcome::RolledBack { .. }));
    let order: Vec<&str> = r
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Hook { .. } => Some("hook"),
            EventKind::RollingBack { .. } => Some("rolling back"),
            EventKind::AliasUpdated { .. } => Some("write"),
            _ => None,
        })
        .collect();
    let hook = order.iter().position(|o| *o == "hook").unwrap();
    assert_eq!(
        order[hook..],
        ["hook", "rolling back", "write"],
        "{order:?}"
    );
    assert!(order[..hook].iter().all(|o| *o == "write"));
    assert_eq!(w.alias("f", "live").unwrap().version, "1");

    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&text));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    assert!(r.events.iter().any(|e| matches!(&e.kind, EventKind::Hook { script, healthy: true, .. } if script == "checks/ok.rhai")));
}

#[test]
fn a_run_step_that_says_no_rolls_back() {
    let text = "function \"f\"\nalias \"live\"\npublish\nshift 5% to new\nrun \"checks/number.rhai\"\npromote\n";
    let r = run(&world(&["f"], HEALTHY), &plan(text));
    assert!(
        matches!(r.report.outcome, Outcome::RolledBack { step: 3, .. }),
        "{:?}",
        r.report.outcome
    );
}

#[test]
fn a_plan_without_an_end_leaves_the_split() {
    let w = world(&["f"], HEALTHY);
    let r = run(
        &w,
        &plan("function \"f\"\nalias \"live\"\npublish\nshift 5% to new\n"),
    );
    assert_eq!(r.report.outcome, Outcome::LeftSplit);
    assert_eq!(
        w.alias("f", "live").unwrap().additional(),
        Some(("4", 0.05))
    );
}

fn run_with<L: LambdaApi, M: MetricsApi>(
    lambda: &L,
    metrics: &M,
    world: &SimWorld,
    plan: &Plan,
) -> Run {
    let mut events = Vec::new();
    let hooks = Hooks::compile(plan);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let engine = Engine::new(
        lambda,
        metrics,
        world,
        &hooks,
        &mut events,
        Settings::default(),
    );
    let report = runtime.block_on(engine.run(plan));
    Run { report, events }
}

#[test]
fn every_fault_at_every_call_ends_in_a_known_state() {
    use crate::cloud::retry::Retrying;

    let plan = plan(&CANARY.replace("wait 5m until healthy", "wait 2m until healthy"));
    let clean_world = world(&["f"], HEALTHY);
    let clean = Faulty::new(&clean_world, pass);
    assert_eq!(
        run_with(&clean, &clean, &clean_world, &plan).report.outcome,
        Outcome::Promoted
    );
    let calls = clean.calls();
    let mut tried = 0;
    for at in 0..calls {
        for fault in [
            Fault::Throttle,
            Fault::ServerError,
            Fault::Timeout,
            Fault::Conflict,
            Fault::StaleRevision,
        ] {
            for persistent in [false, true] {
                tried += 1;
                let w = world(&["f"], HEALTHY);
                let faulty = Faulty::new(&w, fault_at(at, fault, persistent));
                let retrying = Retrying::new(&faulty, &w);
                let r = run_with(&retrying, &retrying, &w, &plan);
                let alias = w.alias("f", "live").unwrap();
                let case = format!(
                    "{fault:?} at call {at}{}: {:?}",
                    if persistent { " and after" } else { "" },
                    r.report.outcome
                );
                match (&r.report.outcome, persistent) {
                    // Transient faults are retried: the rollout ends as if nothing happened.
                    (Outcome::Promoted, _) => {
                        assert_eq!(
                            (alias.version.as_str(), alias.routing.len()),
                            ("4", 0),
                            "{case}"
                        );
                    }
                    // A conflict on an alias write: stop, overwrite nothing.
                    (Outcome::Conflict { .. }, _) => {
                        assert!(
                            matches!(fault, Fault::Conflict | Fault::StaleRevision),
                            "{case}"
                        );
                    }
                    (Outcome::Failed { reason }, true) => {
                        assert_eq!(r.report.outcome.exit_code(), 5, "{case}");
                        let restored = alias.version == "1" && alias.routing.is_empty();
                        // Where old could not be restored, the message says what the alias serves.
                        if !restored && fault != Fault::Timeout {
                            assert!(
                                reason.contains(&format!("serves {alias}")),
                                "{case}: alias is {alias}"
                            );
                        }
                    }
                    _ => panic!("unexpected end: {case}"),
                }
                if !persistent && !matches!(fault, Fault::Conflict | Fault::StaleRevision) {
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

fn settings(holder: &str) -> Settings {
    Settings {
        holder: holder.to_string(),
        ..Settings::default()
    }
}

/// Lets the other runner go after every read of an alias, so that two runners both read
/// before either writes.
fn pause_after_reads(_: usize, call: &Call) -> Decision {
    match call {
        Call::GetAlias { .. } => Decision::Pause,
        _ => Decision::Pass,
    }
}

/// Two runners on one alias at once: exactly one proceeds, the other stops with exit 4.
fn race<L: LambdaApi>(lambda: &L, w: &SimWorld) -> (Report, Report) {
    let plan = plan(CANARY);
    let hooks = Hooks::compile(&plan);
    let (mut a_events, mut b_events) = (Vec::new(), Vec::new());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let a = Engine::new(
        lambda,
        w,
        w,
        &hooks,
        &mut a_events,
        settings("alice@laptop:1"),
    );
    let b = Engine::new(lambda, w, w, &hooks, &mut b_events, settings("bob@ci:2"));
    runtime.block_on(async { tokio::join!(a.run(&plan), b.run(&plan)) })
}

#[test]
fn of_two_concurrent_runs_exactly_one_proceeds() {
    // B starts while A holds the lease.
    let w = world(&["f"], HEALTHY);
    let (a, b) = race(&w, &w);
    assert_eq!(a.outcome, Outcome::Promoted);
    match &b.outcome {
        Outcome::Conflict { reason } => assert!(
            reason.contains("held by another rollout: alice@laptop:1"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    // Both read the alias before either writes: the RevisionId decides.
    let w = world(&["f"], HEALTHY);
    let (a, b) = race(&Faulty::new(&w, pause_after_reads), &w);
    let outcomes = [&a.outcome, &b.outcome];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| ***o == Outcome::Promoted)
            .count(),
        1,
        "{outcomes:?}"
    );
    let loser = outcomes.iter().find(|o| ***o != Outcome::Promoted).unwrap();
    assert!(
        matches!(loser, Outcome::Conflict { reason } if reason.contains("another rollout")),
        "{loser:?}"
    );
    assert_eq!(loser.exit_code(), 4);
    let alias = w.alias("f", "live").unwrap();
    assert_eq!(
        (alias.version.as_str(), alias.description.as_str()),
        ("4", ""),
        "one rollout, lease released"
    );
}

#[test]
fn a_stale_lease_is_taken_over_only_when_asked() {
    let stale = "[rollout h=gone@old:9 p=x s=2/4 o=1 n=- t=1795000000 b=1795000000 g=0 a=0]";
    let w = world(&["f"], HEALTHY);
    w.describe_alias("f", "live", &format!("owned by payments {stale}"));
    let r = run(&w, &plan(CANARY));
    assert!(
        matches!(&r.report.outcome, Outcome::Conflict { reason } if reason.contains("pass --take-over")),
        "{:?}",
        r.report.outcome
    );
    let plan = plan(CANARY);
    let hooks = Hooks::compile(&plan);
    let mut events = Vec::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let settings = Settings {
        take_over: true,
        ..settings("carol@desk:3")
    };
    let report =
        runtime.block_on(Engine::new(&w, &w, &w, &hooks, &mut events, settings).run(&plan));
    assert_eq!(report.outcome, Outcome::Promoted);
    assert_eq!(
        w.alias("f", "live").unwrap().description,
        "owned by payments",
        "the user's text is kept"
    );
}

#[test]
fn a_crashed_rollout_resumes_from_any_call_and_ends_unsplit() {
    let text = CANARY.replace("wait 5m until healthy", "wait 3m until healthy\nwait 1m");
    let plan = plan(&text);
    let calls = {
        let w = world(&["f"], HEALTHY);
        let counted = Faulty::new(&w, pass);
        run_with(&counted, &counted, &w, &plan);
        counted.calls()
    };
    let hooks = Hooks::compile(&plan);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut resumed = 0;
    for crash_at in 1..calls {
        // Everything fails from this call on: the runner is as good as dead, and its lease stays.
        let w = world(&["f"], HEALTHY);
        let dead = Faulty::new(&w, fault_at(crash_at, Fault::ServerError, true));
        run_with(&dead, &dead, &w, &plan);
        let left = w.alias("f", "live").unwrap();
        if Marker::parse(&left.description).1.is_none() {
            continue;
        }
        let mut events = Vec::new();
        let settings = Settings {
            take_over: true,
            ..settings("rescuer@ops:7")
        };
        let report = runtime.block_on(
            Engine::new(&w, &w, &w, &hooks, &mut events, settings)
                .resuming()
                .run(&plan),
        );
        let alias = w.alias("f", "live").unwrap();
        assert!(
            alias.routing.is_empty(),
            "crash at {crash_at}: left split: {alias}; {:?}",
            report.outcome
        );
        assert!(
            matches!(report.outcome, Outcome::Promoted),
            "crash at {crash_at}: {:?}",
            report.outcome
        );
        assert_eq!(alias.version, "4", "crash at {crash_at}");
        assert_eq!(alias.description, "", "crash at {crash_at}: lease released");
        resumed += 1;
    }
    println!("resumed after a crash at {resumed} of {calls} calls");
    assert!(resumed >= 5);
}

#[test]
fn an_approval_from_elsewhere_releases_the_gate() {
    let text = CANARY.replace(
        "wait 5m until healthy",
        "wait 1m until healthy\napprove \"go?\"",
    );
    let plan = plan(&text);
    let hooks = Hooks::compile(&plan);
    let w = world(&["f"], HEALTHY);
    let mut events = Vec::new();
    let settings = Settings {
        approval: Approval::Remote,
        ..settings("runner@ci:5")
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let engine = Engine::new(&w, &w, &w, &hooks, &mut events, settings);
    let approver = async {
        // What `rollout approve` does: wait for the gate in the lease, then set a=1.
        loop {
            w.sleep(Millis(1_000)).await;
            let alias = w.get_alias("f", "live").await.unwrap();
            let (user, marker) = Marker::parse(&alias.description);
            let Some(mut marker) = marker.filter(|m| m.gate) else {
                continue;
            };
            marker.approved = true;
            let update = AliasUpdate {
                version: alias.version.clone(),
                routing: alias.routing.clone(),
                revision_id: alias.revision_id.clone(),
                description: marker.describe(&user),
            };
            w.update_alias("f", "live", &update).await.unwrap();
            return;
        }
    };
    let (report, ()) = runtime.block_on(async { tokio::join!(engine.run(&plan), approver) });
    assert_eq!(report.outcome, Outcome::Promoted);
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Approved { by } if by == "`rollout approve`")));
}

#[test]
fn a_person_at_the_prompt_decides_the_gate() {
    fn yes(_: &str) -> bool {
        true
    }
    fn no(_: &str) -> bool {
        false
    }
    let plan = plan(&CANARY.replace("promote", "approve \"ship it?\"\npromote"));
    let hooks = Hooks::compile(&plan);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // While the person thinks, virtual time runs and health is judged: a version without
    // errors keeps every evaluation passing.
    let flawless = Profile {
        error_rate: 0.0,
        median_ms: 100.0,
    };
    for (answer, promoted) in [(yes as Ask, true), (no as Ask, false)] {
        let w = world(&["f"], flawless);
        let mut events = Vec::new();
        let settings = Settings {
            approval: Approval::Prompt(answer),
            ..settings("person@desk:4")
        };
        let report =
            runtime.block_on(Engine::new(&w, &w, &w, &hooks, &mut events, settings).run(&plan));
        if promoted {
            assert_eq!(report.outcome, Outcome::Promoted);
            assert!(events
                .iter()
                .any(|e| matches!(&e.kind, EventKind::Approved { by } if by == "the terminal")));
        } else {
            assert!(
                matches!(report.outcome, Outcome::RolledBack { step: 4, .. }),
                "{:?}",
                report.outcome
            );
            assert_eq!(w.alias("f", "live").unwrap().version, "1");
        }
    }
}

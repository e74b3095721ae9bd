//! The engine in the simulated world: every step kind, the order of Lambda calls, and every way
//! a rollout can end.

use std::cell::Cell;
use std::path::Path;

use super::*;
use crate::check::{check_source, Options};
use crate::cloud::sim::{SimConfig, SimWorld};
use crate::cloud::{AlarmState, FunctionInfo, Invocation};
use crate::diagnostic::source;
use crate::sim::traffic::Profile;

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

/// The alias writes that moved traffic, without RevisionIds and lease notes; writes that only
/// renewed the lease are left out.
fn traffic(w: &SimWorld) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    for call in w.writes() {
        let Some(rest) = call.strip_prefix("UpdateAlias ") else {
            continue;
        };
        let target = rest.split(' ').next().unwrap_or_default().to_string();
        let change = rest
            .split(" revision=")
            .next()
            .unwrap_or_default()
            .to_string();
        // The first write of each alias takes the lease and moves nothing.
        let first = !last.contains_key(&target);
        if last.get(&target) != Some(&change) {
            last.insert(target, change.clone());
            if !first {
                out.push(format!("UpdateAlias {change}"));
            }
        }
    }
    out
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
    let lambda_calls: Vec<String> = w
        .calls()
        .into_iter()
        .filter(|c| !c.starts_with("GetMetricData"))
        .collect();
    assert_eq!(
        lambda_calls,
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
        .filter(|c| c.starts_with("GetMetricData"))
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
        w.writes(),
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

/// Lets `world` answer, but someone else writes the alias just before the `n`-th UpdateAlias.
struct Meddler<'a> {
    world: &'a SimWorld,
    before_write: usize,
    writes: Cell<usize>,
}

impl LambdaApi for Meddler<'_> {
    async fn get_alias(&self, f: &str, a: &str) -> Result<Alias, CloudError> {
        self.world.get_alias(f, a).await
    }
    async fn update_alias(&self, f: &str, a: &str, u: &AliasUpdate) -> Result<Alias, CloudError> {
        self.writes.set(self.writes.get() + 1);
        if self.writes.get() == self.before_write {
            self.world.touch_alias(f, a);
        }
        self.world.update_alias(f, a, u).await
    }
    async fn publish_version(&self, f: &str, d: Option<&str>) -> Result<String, CloudError> {
        self.world.publish_version(f, d).await
    }
    async fn get_function(&self, f: &str, q: Option<&str>) -> Result<FunctionInfo, CloudError> {
        self.world.get_function(f, q).await
    }
    async fn update_code(&self, f: &str, zip: &[u8]) -> Result<(), CloudError> {
        self.world.update_code(f, zip).await
    }
    async fn invoke(&self, f: &str, q: &str, p: &str) -> Result<Invocation, CloudError> {
        self.world.invoke(f, q, p).await
    }
}

#[test]
fn a_stale_revision_stops_with_a_conflict_and_overwrites_nothing() {
    // Someone else writes the alias just before our first (lease), third (shift) and fourth
    // (step mark, whose conflict surfaces at the next heartbeat) alias writes.
    for (before_write, split_left) in [(1, false), (3, false), (4, true)] {
        let w = world(&["f"], HEALTHY);
        let meddler = Meddler {
            world: &w,
            before_write,
            writes: Cell::new(0),
        };
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
        w.writes()[writes_before..],
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
    let shifts: Vec<String> = w
        .writes()
        .into_iter()
        .filter(|c| c.contains("routing={4: 0.05}") && c.contains("lease=step2/4"))
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
            "UpdateAlias f:live version=1 routing={4: 0.1}",
            "UpdateAlias f:live version=1 routing={4: 0.2}",
            "UpdateAlias f:live version=1 routing={4: 0.3}",
            "UpdateAlias f:live version=1 routing={4: 0.5}",
            "UpdateAlias f:live version=4 routing={}",
        ]
    );
    assert!(w.calls().contains(&"UpdateFunctionCode f".to_string()));
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
        vec![
            "UpdateAlias f:live version=1 routing={2: 0.5}",
            "UpdateAlias f:live version=1 routing={}",
        ]
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
    assert!(
        w.writes().iter().all(|c| !c.contains("routing={4")),
        "no traffic moved: {:?}",
        w.writes()
    );
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
    assert!(
        w.calls().contains(&"Invoke f:4".to_string())
            && w.calls().contains(&"Invoke f:live".to_string())
    );
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
    use crate::cloud::faults::{Fault, Faulty};
    use crate::cloud::retry::Retrying;

    let plan = plan(&CANARY.replace("wait 5m until healthy", "wait 2m until healthy"));
    let clean_world = world(&["f"], HEALTHY);
    let clean = Faulty::new(&clean_world, usize::MAX, Fault::Throttle, false);
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
                let faulty = Faulty::new(&w, at, fault, persistent);
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

/// Yields after every read of an alias, so that two runners both read before either writes.
struct Racer<'a>(&'a SimWorld);

impl LambdaApi for Racer<'_> {
    async fn get_alias(&self, f: &str, a: &str) -> Result<Alias, CloudError> {
        let alias = self.0.get_alias(f, a).await;
        tokio::task::yield_now().await;
        alias
    }
    async fn update_alias(&self, f: &str, a: &str, u: &AliasUpdate) -> Result<Alias, CloudError> {
        self.0.update_alias(f, a, u).await
    }
    async fn publish_version(&self, f: &str, d: Option<&str>) -> Result<String, CloudError> {
        self.0.publish_version(f, d).await
    }
    async fn get_function(&self, f: &str, q: Option<&str>) -> Result<FunctionInfo, CloudError> {
        self.0.get_function(f, q).await
    }
    async fn update_code(&self, f: &str, zip: &[u8]) -> Result<(), CloudError> {
        self.0.update_code(f, zip).await
    }
    async fn invoke(&self, f: &str, q: &str, p: &str) -> Result<Invocation, CloudError> {
        self.0.invoke(f, q, p).await
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
    let (a, b) = race(&Racer(&w), &w);
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
    use crate::cloud::faults::{Fault, Faulty};

    let text = CANARY.replace("wait 5m until healthy", "wait 3m until healthy\nwait 1m");
    let plan = plan(&text);
    let calls = {
        let w = world(&["f"], HEALTHY);
        let counted = Faulty::new(&w, usize::MAX, Fault::Throttle, false);
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
        let dead = Faulty::new(&w, crash_at, Fault::ServerError, true);
        run_with(&dead, &dead, &w, &plan);
        let left = w.alias("f", "live").unwrap();
        if crate::cloud::lease::Marker::parse(&left.description)
            .1
            .is_none()
        {
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
            let (user, marker) = crate::cloud::lease::Marker::parse(&alias.description);
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

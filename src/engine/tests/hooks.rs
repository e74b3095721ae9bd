//! Hooks in a rollout: hostile ones are stopped and count as unhealthy, `ctx` answers through the
//! engine's services, `on failure` runs before the rollback, and a `run` step that says no
//! rolls back.

use super::*;
use crate::engine::{Cause, Outcome};

/// Runs a canary whose health block has `script "checks/NAME.rhai" [timeout]`.
fn with_health_hook(name: &str, timeout: &str) -> Run {
    let text = CANARY.replace(
        "error rate < 1%",
        &format!("error rate < 1%\n  script \"checks/{name}.rhai\"{timeout}"),
    );
    let w = world(&["f"], HEALTHY);
    run(&w, &plan(&text))
}

/// The verdicts of every hook run: (healthy, reason).
fn hook_verdicts(r: &Run) -> Vec<(bool, String)> {
    picked(&r.events, |e| match e {
        EventKind::Hook {
            healthy, reason, ..
        } => Some((*healthy, reason.clone())),
        _ => None,
    })
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
        assert!(
            matches!(
                r.report.outcome,
                Outcome::RolledBack {
                    step: 3,
                    cause: Cause::Unhealthy(_)
                }
            ),
            "{name}: {:?}",
            r.report.outcome
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{name} stalled the rollout"
        );
        let verdicts = hook_verdicts(&r);
        assert_eq!(verdicts.len(), 1, "{name}: one run, then the rollback");
        let (healthy, reason) = &verdicts[0];
        assert!(!healthy, "{name}");
        assert!(reason.contains(expected), "{name}: {reason}");
    }
}

#[test]
fn a_hook_past_its_deadline_is_stopped() {
    let started = std::time::Instant::now();
    let r = with_health_hook("slow", " timeout 5ms");
    assert!(
        matches!(
            r.report.outcome,
            Outcome::RolledBack {
                cause: Cause::Unhealthy(_),
                ..
            }
        ),
        "{:?}",
        r.report.outcome
    );
    let (healthy, reason) = hook_verdicts(&r).remove(0);
    assert!(!healthy);
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
    match &r.report.outcome {
        Outcome::RolledBack {
            step: 3,
            cause: Cause::Hook { script, verdict },
        } => {
            assert_eq!(script, "check.rhai");
            assert!(!verdict.healthy);
            assert!(verdict.reason.contains("does not compile"), "{verdict}");
        }
        other => panic!("{other:?}"),
    }
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
    let reasons: Vec<String> = hook_verdicts(&r).into_iter().map(|(_, r)| r).collect();
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
    let logs = picked(&r.events, |e| match e {
        EventKind::HookLog { message, .. } => Some(message.clone()),
        _ => None,
    });
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
    let order = picked(&r.events, |e| match e {
        EventKind::Hook { .. } => Some("hook"),
        EventKind::RollingBack { .. } => Some("rolling back"),
        EventKind::AliasUpdated { .. } => Some("write"),
        _ => None,
    });
    let hook = order.iter().position(|o| *o == "hook").unwrap();
    assert_eq!(
        order[hook..],
        ["hook", "rolling back", "write"],
        "{order:?}"
    );
    assert!(order[..hook].iter().all(|o| *o == "write"));
    assert_eq!(serves(&w, "f"), serving("1", &[]));

    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&text));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    let ran = picked(&r.events, |e| match e {
        EventKind::Hook {
            script, healthy, ..
        } => Some((script.clone(), *healthy)),
        _ => None,
    });
    assert_eq!(ran, [("checks/ok.rhai".to_string(), true)]);
}

#[test]
fn a_run_step_that_says_no_rolls_back() {
    let text = "function \"f\"\nalias \"live\"\npublish\nshift 5% to new\nrun \"checks/number.rhai\"\npromote\n";
    let r = run(&world(&["f"], HEALTHY), &plan(text));
    match &r.report.outcome {
        Outcome::RolledBack {
            step: 3,
            cause: Cause::Hook { script, verdict },
        } => {
            assert_eq!(script, "checks/number.rhai");
            assert!(!verdict.healthy);
        }
        other => panic!("{other:?}"),
    }
}

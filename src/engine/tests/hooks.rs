//! Hooks in a rollout: hostile ones are stopped and count as unhealthy, `ctx` answers through the
//! engine's services, `on failure` runs before the rollback, and a `run` step that says no
//! rolls back.

use super::*;
use crate::engine::{Cause, Outcome};
use crate::hooks::{HookError, HookVerdict};
use crate::plan::Millis;

/// Runs a canary whose health block has `script "checks/NAME.rhai" [timeout]`.
fn with_health_hook(name: &str, timeout: &str) -> Run {
    let text = CANARY.edit(
        "error rate < 1%",
        &format!("error rate < 1%\n  script \"checks/{name}.rhai\"{timeout}"),
    );
    let w = world(&["f"], HEALTHY);
    run(&w, &plan(&text))
}

/// The verdict of every hook run.
fn hook_verdicts(r: &Run) -> Vec<HookVerdict> {
    picked(&r.events, |e| match e {
        EventKind::Hook { verdict, .. } => Some(verdict.clone()),
        _ => None,
    })
}

/// Why a hook gave no verdict, looking inside the functions it was in.
fn innermost(verdict: &HookVerdict) -> Option<&HookError> {
    let HookVerdict::Broken(error) = verdict else {
        return None;
    };
    let mut error = error;
    while let HookError::InFunction(_, inner) = error {
        error = inner;
    }
    Some(error)
}

#[test]
fn hostile_hooks_are_stopped_and_count_as_unhealthy() {
    type Expected = fn(&HookError) -> bool;
    let cases: [(&str, Expected); 7] = [
        ("loop", |e| *e == HookError::TooManyOperations(1_000_000)),
        ("recursion", |e| *e == HookError::TooDeep(32)),
        ("big-string", |e| matches!(e, HookError::TooLarge(_))),
        ("big-array", |e| matches!(e, HookError::TooLarge(_))),
        ("throws", |e| {
            *e == HookError::Threw("payments queue is backed up".into())
        }),
        ("number", |e| {
            *e == HookError::NotAVerdict {
                type_name: "i64".into(),
                value: "42".into(),
            }
        }),
        (
            "files",
            |e| matches!(e, HookError::Unavailable(name) if name.starts_with("open")),
        ),
    ];
    for (name, expected) in cases {
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
        assert!(!verdicts[0].healthy(), "{name}");
        let error = innermost(&verdicts[0]);
        assert!(error.is_some_and(expected), "{name}: {:?}", verdicts[0]);
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
    let verdict = hook_verdicts(&r).remove(0);
    assert!(
        matches!(
            innermost(&verdict),
            Some(HookError::Deadline(Millis(5)) | HookError::TooManyOperations(_))
        ),
        "{verdict:?}"
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
            assert!(
                matches!(verdict, HookVerdict::Broken(HookError::NotCompiled { name, why })
                    if name == "check.rhai" && why.starts_with("does not compile")),
                "{verdict:?}"
            );
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
            .edit(
                "error rate < 1%",
                "error rate < 1%\n  script \"checks/tour.rhai\""
            )
            .edit("shift 5% to new", "shift canary to new")
            .edit("wait 5m until healthy", "wait bake until healthy")
    );
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&text));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    let reasons: Vec<String> = hook_verdicts(&r)
        .iter()
        .map(|v| match v {
            HookVerdict::Answered {
                healthy: true,
                reason,
            } => reason.clone(),
            other => panic!("{other:?}"),
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
    let logs = picked(&r.events, |e| match e {
        EventKind::HookLog { message, .. } => Some(message.clone()),
        _ => None,
    });
    assert_eq!(logs[0], "checking f (1 functions) on live: 1 -> 4 at 5.0%");
    // The first evaluation comes once the first minute has settled, at 2m3s.
    assert!(logs[1].starts_with("elapsed 123"), "{}", logs[1]);
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
            script, verdict, ..
        } => Some((script.clone(), verdict.healthy())),
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
            assert!(
                matches!(verdict, HookVerdict::Broken(HookError::NotAVerdict { .. })),
                "{verdict:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

//! Steering a running rollout from another process: `rollout pause` holds it past its bake's
//! length (`status` says who paused it and why), `rollout resume --function F --alias A` lets it
//! go on, and `rollout promote` ends its wait at once. moto keeps the RevisionId on every write,
//! so the runner meets the requests through its reads of the alias (its `GetAlias` every five
//! seconds) rather than a failed write; the simulated world's tests (src/engine/tests/control.rs)
//! prove the compare-and-swap path.

use std::time::{Duration, Instant};

use crate::harness::*;

/// `rollout ARGS` as `user`, to the end.
fn as_user(dir: &std::path::Path, user: &str, args: &[&str]) -> std::process::Output {
    command(dir, args)
        .env("USER", user)
        .output()
        .expect("run rollout")
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_paused_canary_outlasts_its_bake_then_resumes_and_promote_ends_the_wait_at_once() {
    let aws = Aws::new();
    let f = unique("paused");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let bake = 20;
    let dir = temp(&canary(&[&f], "").edit(
        "wait 2s until healthy",
        &format!("wait {bake}s until healthy"),
    ));
    let child = spawn(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    wait_for("the canary", || !aws.alias(&f).1.is_empty());
    let target = ["--function", f.as_str(), "--alias", "live"];

    let pause = [
        &["pause"][..],
        &target,
        &["--reason", "checking the p99 dashboard"],
    ]
    .concat();
    let out = as_user(&dir, "carol", &pause);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("paused the rollout"), "{}", text(&out));
    let paused_at = Instant::now();

    let status = as_user(&dir, "carol", &[&["status"][..], &target].concat());
    let said = text(&status);
    assert!(
        said.contains("PAUSED by carol@") && said.contains("(checking the p99 dashboard)"),
        "{said}"
    );
    let json = status_json(&dir, &f);
    let lease: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let paused = &lease[0]["lease"]["paused"];
    assert_eq!(paused["reason"], "checking the p99 dashboard", "{lease}");
    assert!(
        paused["by"].as_str().unwrap().starts_with("carol@"),
        "{lease}"
    );

    // Past the bake's length: still on the canary, still running.
    let mut child = child;
    std::thread::sleep(Duration::from_secs(bake + 8).saturating_sub(paused_at.elapsed()));
    assert_eq!(aws.alias(&f), split("1", "2", 0.05), "paused: not promoted");
    assert!(child.try_wait().unwrap().is_none(), "still running");

    let out = as_user(&dir, "dave", &[&["resume"][..], &target].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again = as_user(&dir, "dave", &[&["resume"][..], &target].concat());
    assert_eq!(
        again.status.code(),
        Some(2),
        "not paused any more: {}",
        text(&again)
    );
    std::thread::sleep(Duration::from_secs(1));
    let out = as_user(&dir, "erin", &[&["promote"][..], &target].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let asked = Instant::now();

    let out = child.wait_with_output().unwrap();
    let events = events(&out);
    ended(&out, &events, "promoted", 0);
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "the wait ended at once, not at the bake's end: {:?}",
        asked.elapsed()
    );
    assert_eq!(aws.alias(&f), unsplit("2"));
    let paused = events_of_kind(&events, "paused");
    assert_eq!(paused.len(), 1, "{}", text(&out));
    assert_eq!(paused[0]["reason"], "checking the p99 dashboard");
    let unpaused = events_of_kind(&events, "unpaused");
    assert!(
        unpaused.len() == 1 && unpaused[0]["by"].as_str().unwrap().starts_with("dave@"),
        "{}",
        text(&out)
    );
    assert!(unpaused[0]["paused_ms"].as_u64().unwrap() >= (bake * 1000));
    let promote = events_of_kind(&events, "promote_asked");
    assert!(
        promote.len() == 1 && promote[0]["by"].as_str().unwrap().starts_with("erin@"),
        "{}",
        text(&out)
    );
    assert_eq!(marker(&aws, &f), None, "lease cleared");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn asking_an_alias_no_rollout_holds_writes_nothing_and_exits_2() {
    let aws = Aws::new();
    let f = unique("unheld");
    aws.function(&f, Some(2));
    let dir = temp("");
    let target = ["--function", f.as_str(), "--alias", "live"];
    for verb in [
        &["pause"][..],
        &["resume"],
        &["promote"],
        &["promote", "--full", "--yes"],
    ] {
        let out = rollout(&dir, &[verb, &target].concat());
        assert_eq!(out.status.code(), Some(2), "{verb:?}: {}", text(&out));
        assert!(
            text(&out).contains("no rollout holds"),
            "{verb:?}: {}",
            text(&out)
        );
    }
    let out = rollout(&dir, &[&["promote", "--full"][..], &target].concat());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("pass --yes"), "{}", text(&out));
    assert_eq!(aws.alias(&f), unsplit("1"));
    assert_eq!(marker(&aws, &f), None);
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_playbook_whose_window_is_closed_now_pauses_before_its_first_shift_and_says_until_when() {
    let aws = Aws::new();
    let f = unique("windowed");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    // A one-minute window at midnight UTC the day after tomorrow: closed now, whatever the time.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let opens = (now / 86_400 + 2) * 86_400;
    // 1970-01-01 was a Thursday.
    let day = ["thu", "fri", "sat", "sun", "mon", "tue", "wed"][(opens / 86_400 % 7) as usize];
    let window = format!("window {day} 00:00-00:01 \"UTC\"\n");
    let dir = temp(&format!("{window}{}", canary(&[&f], "")));
    let child = spawn(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(aws.alias(&f), unsplit("1"), "no traffic outside the window");
    let mut child = child;
    assert!(
        child.try_wait().unwrap().is_none(),
        "it holds, still running"
    );
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let events = events(&out);
    ended(&out, &events, "interrupted", 3);
    let paused = events_of_kind(&events, "paused");
    assert_eq!(paused.len(), 1, "{}", text(&out));
    assert_eq!(paused[0]["by"], "the deploy windows");
    assert_eq!(paused[0]["until"], opens, "{}", text(&out));
    assert!(
        paused[0]["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("{day} 00:00-00:01 \"UTC\"")),
        "{}",
        text(&out)
    );
    let shifts = events_of_kind(&events, "step_started")
        .iter()
        .filter(|e| e["text"].as_str().unwrap().starts_with("shift"))
        .count();
    assert_eq!(shifts, 1, "it reached the shift and held there");
    assert_eq!(aws.alias(&f), unsplit("1"));
    assert_eq!(marker(&aws, &f), None, "lease cleared");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn an_observe_only_check_that_fails_never_rolls_back_and_is_in_the_report() {
    use aws_sdk_cloudwatch::types::StateValue;
    let aws = Aws::new();
    let f = unique("trial");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let alarm = format!("{f}-latency");
    aws.alarm(&alarm, StateValue::Alarm);
    let dir = temp(&canary(&[&f], &format!("  observe alarm {alarm:?}\n")));
    let out = rollout(
        &dir,
        &[
            "run",
            "--yes",
            "--format",
            "json",
            "--report",
            "report.html",
            "p.rollout",
        ],
    );
    let events = events(&out);
    ended(&out, &events, "promoted", 0);
    assert_eq!(aws.alias(&f), unsplit("2"));
    let observed: Vec<&serde_json::Value> = events_of_kind(&events, "health_evaluated")
        .into_iter()
        .flat_map(|e| e["checks"].as_array().unwrap())
        .filter(|c| c["observe_only"] == true)
        .collect();
    assert!(!observed.is_empty(), "{}", text(&out));
    assert!(
        observed.iter().all(|c| c["verdict"] == "fail"),
        "{}",
        text(&out)
    );
    let report = std::fs::read_to_string(dir.join("report.html")).expect("a report");
    assert!(
        report.contains(&format!("observe alarm &quot;{alarm}&quot;"))
            || report.contains(&format!("observe alarm \"{alarm}\"")),
        "the check on trial is in the report"
    );
}

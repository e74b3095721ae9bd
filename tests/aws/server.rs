//! Server-side rollouts: the state machine `rollout export` writes, run by moto's Step Functions
//! interpreter against moto's Lambda and CloudWatch. A healthy canary ends on the new version,
//! unsplit, its alarms deleted; an alarm in ALARM mid-bake puts the old version back; an approve
//! gate waits for `rollout approve`; a local run on an alias an execution holds stops with exit 4.

use std::time::Duration;

use aws_sdk_cloudwatch::types::StateValue;

use crate::continued::executions;
use crate::harness::*;

/// A canary on `function` whose health is the alarm `alarm` and the error rate, judged every
/// second for `bake` seconds, with `extra` steps before the promotion.
fn playbook(function: &str, alarm: &str, bake: u32, extra: &str) -> String {
    format!(
        "function \"{function}\"\nalias \"live\"\nhealth every 1s {{\n  metrics delay 0s\n  error rate < 1%\n  alarm \"{alarm}\"\n}}\npublish \"canary\"\nshift 5% to new\nwait {bake}s until healthy\n{extra}promote\n"
    )
}

/// Healthy traffic for the next two minutes on `function`'s versions 1 (`old`) and 2 (`new`):
/// the count checks an execution judges find no errors.
pub(crate) fn healthy(aws: &Aws, function: &str) {
    aws.metrics(function, "1", 950.0, 0.0);
    aws.metrics(function, "2", 50.0, 0.0);
}

/// A function whose `$LATEST` changed, its alarm in OK, and a directory with the canary
/// [`playbook`] on them: the function's name, the alarm's, the directory.
pub(crate) fn canary_with_alarm(
    aws: &Aws,
    prefix: &str,
    bake: u32,
    extra: &str,
) -> (String, String, std::path::PathBuf) {
    let f = unique(prefix);
    aws.function(&f, Some(2));
    healthy(aws, &f);
    let alarm = format!("{f}-errors");
    aws.alarm(&alarm, StateValue::Ok);
    let dir = temp(&playbook(&f, &alarm, bake, extra));
    (f, alarm, dir)
}

/// Exports `dir/p.rollout`, creates its state machine and starts an execution; its ARN.
fn start(aws: &Aws, dir: &std::path::Path, name: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollout"))
        .current_dir(dir)
        .args(["export", "p.rollout", "--to", "step-functions"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let definition = String::from_utf8(out.stdout).unwrap();
    aws.runtime.block_on(async {
        let machine = aws
            .sfn
            .create_state_machine()
            .name(name)
            .definition(definition)
            .role_arn("arn:aws:iam::123456789012:role/rollout-test")
            .send()
            .await
            .expect("create state machine");
        aws.sfn
            .start_execution()
            .state_machine_arn(machine.state_machine_arn())
            .name(format!("{name}-1"))
            .input("{}")
            .send()
            .await
            .expect("start execution")
            .execution_arn()
            .to_string()
    })
}

/// How the execution ended: its status and error.
fn finish(aws: &Aws, execution: &str) -> (String, Option<String>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = aws
            .runtime
            .block_on(aws.sfn.describe_execution().execution_arn(execution).send())
            .expect("describe execution");
        let status = out.status().as_str().to_string();
        if status != "RUNNING" {
            return (status, out.error().map(str::to_string));
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the execution still runs"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The alarms whose names begin with `prefix`.
fn alarms(aws: &Aws, prefix: &str) -> Vec<String> {
    aws.runtime
        .block_on(
            aws.cloudwatch
                .describe_alarms()
                .alarm_name_prefix(prefix)
                .send(),
        )
        .expect("describe alarms")
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name().map(str::to_string))
        .collect()
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_healthy_canary_on_step_functions_ends_on_new_unsplit_with_its_alarms_deleted() {
    let aws = Aws::new();
    let (f, _, dir) = canary_with_alarm(&aws, "sfn-ok", 3, "");
    let name = unique("machine");
    let execution = start(&aws, &dir, &name);
    let (status, error) = finish(&aws, &execution);
    assert_eq!(status, "SUCCEEDED", "{error:?}");
    assert_eq!(aws.alias(&f), ("2".to_string(), vec![]));
    assert_eq!(marker(&aws, &f), None, "lease cleared");
    assert_eq!(
        alarms(&aws, &format!("rollout-{name}")),
        Vec::<String>::new(),
        "alarms deleted"
    );
}

/// The states an execution entered, in order.
fn entered(aws: &Aws, execution: &str) -> Vec<String> {
    let history = aws
        .runtime
        .block_on(
            aws.sfn
                .get_execution_history()
                .execution_arn(execution)
                .max_results(1000)
                .send(),
        )
        .expect("history read");
    history
        .events()
        .iter()
        .filter_map(|e| e.state_entered_event_details())
        .map(|d| d.name().to_string())
        .collect()
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_count_check_the_execution_judges_from_metrics_rolls_back_a_failing_new_and_passes_a_healthy_one(
) {
    let aws = Aws::new();
    let bake = |f: &str| {
        format!(
            "function \"{f}\"\nalias \"live\"\nhealth every 1s {{\n  metrics delay 0s\n  min invocations 100\n  error rate < 1%\n}}\npublish\nshift 5% to new\nwait 20s until healthy\npromote\n"
        )
    };
    // New fails 10% of its calls where old fails none: the sequential test rolls it back long
    // before the bake's end.
    let failing = unique("sfn-count-bad");
    aws.function(&failing, Some(2));
    aws.metrics(&failing, "1", 950.0, 0.0);
    aws.metrics(&failing, "2", 50.0, 5.0);
    let execution = start(&aws, &temp(&bake(&failing)), &unique("machine"));
    let (status, error) = finish(&aws, &execution);
    assert_eq!(
        (status.as_str(), error.as_deref()),
        ("FAILED", Some("RolledBack"))
    );
    let states = entered(&aws, &execution);
    assert!(states.iter().any(|s| s == "Violated"), "{states:?}");
    assert!(states.iter().any(|s| s == "Judge"), "{states:?}");
    assert_eq!(aws.alias(&failing), ("1".to_string(), vec![]), "old alone");
    assert_eq!(marker(&aws, &failing), None, "lease cleared");
    // The same with new as healthy as old: promoted at the bake's end.
    let fine = unique("sfn-count-ok");
    aws.function(&fine, Some(2));
    healthy(&aws, &fine);
    let execution = start(&aws, &temp(&bake(&fine)), &unique("machine"));
    let (status, error) = finish(&aws, &execution);
    assert_eq!(status, "SUCCEEDED", "{error:?}");
    assert!(!entered(&aws, &execution).iter().any(|s| s == "Violated"));
    assert_eq!(aws.alias(&fine), ("2".to_string(), vec![]), "promoted");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn an_alarm_in_alarm_mid_bake_puts_old_back_and_deletes_the_alarms() {
    let aws = Aws::new();
    let (f, alarm, dir) = canary_with_alarm(&aws, "sfn-alarm", 20, "");
    let name = unique("machine");
    let execution = start(&aws, &dir, &name);
    wait_for("the canary", || !aws.alias(&f).1.is_empty());
    assert!(
        marker(&aws, &f).is_some_and(|m| m.contains("h=sfn:")),
        "{:?}",
        marker(&aws, &f)
    );
    aws.alarm(&alarm, StateValue::Alarm);
    let (status, error) = finish(&aws, &execution);
    assert_eq!(
        (status.as_str(), error.as_deref()),
        ("FAILED", Some("RolledBack"))
    );
    assert_eq!(
        aws.alias(&f),
        ("1".to_string(), vec![]),
        "old serves everything"
    );
    assert_eq!(marker(&aws, &f), None, "lease cleared");
    assert_eq!(
        alarms(&aws, &format!("rollout-{name}")),
        Vec::<String>::new(),
        "alarms deleted"
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn an_approve_gate_waits_for_rollout_approve_and_a_local_run_meanwhile_stops_with_exit_4() {
    let aws = Aws::new();
    let (f, _, dir) = canary_with_alarm(&aws, "sfn-gate", 1, "approve \"go?\"\n");
    let execution = start(&aws, &dir, &unique("machine"));
    wait_for("the gate", || {
        marker(&aws, &f).is_some_and(|m| m.contains("g=1"))
    });
    std::thread::sleep(Duration::from_secs(1));
    let (status, _) = finish_now(&aws, &execution);
    assert_eq!(status, "RUNNING", "the execution waits at the gate");

    // A local run on the alias the execution holds changes nothing.
    let local = temp(&canary(&[&f], ""));
    let out = rollout(
        &local,
        &[
            "run",
            "--yes",
            "--take-over",
            "--format",
            "json",
            "p.rollout",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let events = events(&out);
    let outcome = ended(&out, &events, "conflict", 4);
    assert!(
        outcome.message.contains("is held by another rollout: sfn:"),
        "names the execution as the holder: {outcome:?}"
    );
    assert_eq!(
        events_of_kind(&events, "alias_updated").len(),
        0,
        "{}",
        text(&out)
    );
    assert_eq!(
        aws.alias(&f),
        split("1", "2", 0.05),
        "the execution's canary"
    );

    let out = rollout(&dir, &["approve", "--function", &f, "--alias", "live"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (status, error) = finish(&aws, &execution);
    assert_eq!(status, "SUCCEEDED", "{error:?}");
    assert_eq!(aws.alias(&f), ("2".to_string(), vec![]));
}

/// The execution's status now.
fn finish_now(aws: &Aws, execution: &str) -> (String, Option<String>) {
    let out = aws
        .runtime
        .block_on(aws.sfn.describe_execution().execution_arn(execution).send())
        .expect("describe execution");
    (
        out.status().as_str().to_string(),
        out.error().map(str::to_string),
    )
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn run_on_step_functions_follows_the_execution_to_its_end() {
    let aws = Aws::new();
    let (f, _, dir) = canary_with_alarm(&aws, "sfn-run", 2, "");
    let out = rollout(&dir, &on_step_functions(&["--format", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let events = events(&out);
    let steps: Vec<(u64, &str)> = events_of_kind(&events, "step_started")
        .iter()
        .map(|e| (e["step"].as_u64().unwrap(), e["text"].as_str().unwrap()))
        .collect();
    assert!(steps.contains(&(2, "shift 5% to new")), "{steps:?}");
    assert_eq!(
        traffic(&events, &f),
        [split("1", "2", 0.05), unsplit("2")],
        "the execution's writes, as it made them: {}",
        text(&out)
    );
    ended(&out, &events, "promoted", 0);
    assert_eq!(aws.alias(&f), unsplit("2"));
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_detached_execution_shows_in_status_and_rollback_stops_it_and_restores_old() {
    let aws = Aws::new();
    let (f, alarm, _) = canary_with_alarm(&aws, "sfn-stop", 60, "");
    // A check judged per window: the execution creates an alarm for it, which rollback deletes.
    let dir = temp(&playbook(&f, &alarm, 60, "").edit(
        "  error rate < 1%\n",
        "  error rate < 1%\n  avg duration < 5s\n",
    ));
    let out = rollout(&dir, &on_step_functions(&["--detach", "--format", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let started = events(&out);
    assert_eq!(started.len(), 1, "{}", text(&out));
    let execution = started[0]["execution_arn"].as_str().unwrap().to_string();
    assert_eq!(finish_now(&aws, &execution).0, "RUNNING");
    wait_for("the canary", || !aws.alias(&f).1.is_empty());
    let out = status_json(&dir, &f);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status[0]["split"], true, "{status:#}");
    assert!(
        status[0]["lease"]["holder"]
            .as_str()
            .is_some_and(|h| h.starts_with("sfn:")),
        "held by the execution: {status:#}"
    );
    let out = rollout(
        &dir,
        &["rollback", "--yes", "--function", &f, "--alias", "live"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(finish_now(&aws, &execution).0, "ABORTED");
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]));
    assert_eq!(marker(&aws, &f), None);
    let name = execution.rsplit(':').next().unwrap();
    assert_eq!(
        alarms(&aws, &format!("rollout-{name}")),
        Vec::<String>::new()
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_follower_that_loses_the_endpoint_gives_up_after_two_minutes_with_exit_5() {
    let aws = Aws::new();
    let proxy = Proxy::start(&endpoint());
    let (f, _, dir) = canary_with_alarm(&aws, "sfn-lost", 600, "");
    let child = command_at(&dir, &on_step_functions(&[]), &proxy.url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the canary", || !aws.alias(&f).1.is_empty());
    proxy.silence(true);
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        took >= std::time::Duration::from_secs(110) && took < std::time::Duration::from_secs(200),
        "took {took:?}"
    );
    let running = executions(&aws, &format!("rollout-{f}-live"));
    assert_eq!(running.len(), 1, "{running:?}");
    let (name, status) = &running[0];
    assert_eq!(status, "RUNNING", "the execution goes on");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stopped following it. The execution goes on in AWS: arn:aws:states:")
            && stderr.contains(&format!(":{name}\n")),
        "the user is told which execution goes on: {}",
        text(&out)
    );
    assert!(
        stderr
            .matches("warning: reading the execution's history")
            .count()
            <= 1,
        "{}",
        text(&out)
    );
    // It did go on: stop it and restore old.
    let out = rollout(
        &dir,
        &["rollback", "--yes", "--function", &f, "--alias", "live"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]));
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_fleet_on_step_functions_drops_only_its_unchanged_function() {
    let aws = Aws::new();
    let (changed, same) = (unique("sfn-fleet-new"), unique("sfn-fleet-same"));
    aws.function(&changed, Some(2));
    healthy(&aws, &changed);
    aws.function(&same, None);
    let dir = temp(&format!(
        "function \"{changed}\", \"{same}\"\nalias \"live\"\nhealth every 1s {{\n  metrics delay 0s\n  error rate < 1%\n}}\npublish\nshift 5% to new\nwait 2s until healthy\npromote\n"
    ));
    let name = unique("machine");
    let execution = start(&aws, &dir, &name);
    let (status, error) = finish(&aws, &execution);
    assert_eq!(status, "SUCCEEDED", "{error:?}");
    assert_eq!(aws.alias(&changed), ("2".to_string(), vec![]), "promoted");
    assert_eq!(
        aws.alias(&same),
        ("1".to_string(), vec![]),
        "left as it was"
    );
    for f in [&changed, &same] {
        assert_eq!(marker(&aws, f), None, "{f}: lease cleared");
    }
    assert_eq!(
        alarms(&aws, &format!("rollout-{name}")),
        Vec::<String>::new(),
        "alarms deleted"
    );
}

/// `run --on step-functions` publishes its definition as a version and starts that version (an
/// execution started right after an update of the state machine may run the old definition),
/// and keeps the newest ten versions: Step Functions allows a thousand.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn run_on_step_functions_starts_the_version_it_published_and_keeps_ten() {
    let aws = Aws::new();
    let f = unique("sfn-ver");
    aws.function(&f, Some(2));
    let machine = format!("rollout-{f}-live");
    let role = "arn:aws:iam::123456789012:role/rollout-test";
    let versions = |arn: &str| {
        aws.runtime.block_on(async {
            aws.sfn
                .list_state_machine_versions()
                .state_machine_arn(arn)
                .send()
                .await
                .expect("list versions")
                .state_machine_versions()
                .iter()
                .map(|v| v.state_machine_version_arn().to_string())
                .collect::<Vec<_>>()
        })
    };
    // Twelve versions of an earlier definition.
    let arn = aws.runtime.block_on(async {
        let definition = r#"{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}"#;
        let arn = aws
            .sfn
            .create_state_machine()
            .name(&machine)
            .definition(definition)
            .role_arn(role)
            .publish(true)
            .send()
            .await
            .expect("created")
            .state_machine_arn;
        for _ in 0..11 {
            aws.sfn
                .update_state_machine()
                .state_machine_arn(&arn)
                .definition(definition)
                .publish(true)
                .send()
                .await
                .expect("updated");
        }
        arn
    });
    assert_eq!(versions(&arn).len(), 12);
    let dir = temp(&format!(
        "function \"{f}\"\nalias \"live\"\npublish\nshift 5% to new\npromote\n"
    ));
    let out = rollout(&dir, &on_step_functions(&[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        aws.alias(&f),
        ("2".to_string(), vec![]),
        "promoted: {}",
        text(&out)
    );
    let kept = versions(&arn);
    assert_eq!(kept.len(), 10, "{kept:?}");
    assert_eq!(
        kept[0],
        format!("{arn}:13"),
        "the newest is the one published now"
    );
    let started = aws.runtime.block_on(async {
        let listed = aws
            .sfn
            .list_executions()
            .state_machine_arn(&arn)
            .send()
            .await
            .expect("list executions");
        let execution = listed.executions()[0].execution_arn().to_string();
        aws.sfn
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .expect("describe execution")
            .state_machine_version_arn()
            .map(str::to_string)
    });
    assert_eq!(started, Some(format!("{arn}:13")));
}

/// An alias whose description leaves no room for the lease marker (Lambda keeps 256 characters)
/// is refused before anything is written, as a local run refuses it, instead of failing at the
/// first write.
#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn an_alias_whose_description_leaves_no_room_for_the_lease_is_refused() {
    let aws = Aws::new();
    let f = unique("sfn-desc");
    aws.function(&f, Some(2));
    let long = "d".repeat(230);
    aws.runtime.block_on(async {
        aws.lambda
            .update_alias()
            .function_name(&f)
            .name("live")
            .description(&long)
            .send()
            .await
            .expect("description set");
    });
    let before = aws.versions(&f);
    let dir = temp(&format!(
        "function \"{f}\"\nalias \"live\"\npublish\nshift 5% to new\npromote\n"
    ));
    let out = rollout(&dir, &on_step_functions(&[]));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("description is too long"), "{said}");
    assert_eq!(
        aws.alias(&f),
        ("1".to_string(), vec![]),
        "untouched: {said}"
    );
    assert_eq!(marker(&aws, &f), None, "no lease: {said}");
    assert_eq!(aws.versions(&f), before, "nothing published: {said}");
}

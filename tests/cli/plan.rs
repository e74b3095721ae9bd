//! `rollout plan`: the preview, as text and JSON, against stored expectations.

use crate::test::{golden, Test};

#[test]
fn text_plan_of_the_canary() {
    let output = Test::new().args(["plan", "examples/canary.rollout"]).run();
    golden(
        "plan-canary.txt",
        &String::from_utf8(output.stdout).unwrap(),
    );
}

#[test]
fn text_plan_of_a_ramp_with_parameters_and_several_functions() {
    let output = Test::new()
        .args([
            "plan",
            "examples/params.rollout",
            "--set",
            "canary=2%",
            "--function",
            "a",
            "--function",
            "b",
        ])
        .run();
    golden(
        "plan-params.txt",
        &String::from_utf8(output.stdout).unwrap(),
    );
}

#[test]
fn json_plan_carries_steps_calls_and_totals() {
    let output = Test::new()
        .args(["plan", "--format", "json", "examples/linear.rollout"])
        .run();
    let text = String::from_utf8(output.stdout).unwrap();
    golden("plan-linear.json", &text);
    let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[1]["kind"], "ramp");
    assert_eq!(steps[1]["increments"].as_array().unwrap().len(), 9);
    // One write per increment, each carrying the lease, then the heartbeat while it bakes.
    let calls = steps[1]["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 10);
    let first = calls[0].as_str().unwrap();
    assert!(first.starts_with(r#"aws lambda update-alias --function-name orders-api --name live --function-version '<old>' --routing-config '{"AdditionalVersionWeights":{"<new>":0.1}}' --description '<the description> [rollout"#), "{first}");
    assert!(first.contains(" s=2/3 "), "{first}");
    assert!(calls[9].as_str().unwrap().contains("heartbeat"));
    assert_eq!(steps[2]["kind"], "promote");
    // Nine bakes of 10m of traffic, each lasting until it has settled (the metric delay is a
    // minute plus the assumed 3s timeout), and up to a minute more for alignment and 30m more
    // held while old fails as much as new (the default `shared failure hold up to 30m`);
    // publish may wait up to 5m for an update.
    assert_eq!(plan["metric_delay_ms"], 63_000);
    assert_eq!(plan["min_duration_ms"], 9 * (600_000 + 63_000));
    assert_eq!(
        plan["max_duration_ms"],
        9 * (600_000 + 63_000 + 60_000 + 1_800_000) + 300_000
    );
}

#[test]
fn plan_without_targets_uses_placeholders_and_an_invalid_plan_exits_2() {
    Test::new()
        .args(["plan", "examples/quickstart.rollout"])
        .stdout_contains("aws lambda get-alias --function-name '<function>' --name '<alias>'")
        .stdout_contains("(defaults: the playbook has no health block)")
        .run();
    Test::temp()
        .file("bad.rollout", "promote\n")
        .args(["plan", "bad.rollout"])
        .status(2)
        .stderr_contains("rollout::no-new-version")
        .run();
}

#[test]
fn a_run_step_lasts_at_most_its_own_timeout() {
    let output = Test::temp()
        .file("checks/smoke.rhai", "true\n")
        .file(
            "p.rollout",
            "function \"a\", \"b\"\nalias \"live\"\nuse version 2\nshift 5% to new\nrun \"checks/smoke.rhai\" timeout 30s\nrun \"checks/smoke.rhai\"\npromote\n",
        )
        .args(["plan", "--format", "json", "p.rollout"])
        .run();
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(steps[2]["kind"], "run");
    assert_eq!(
        steps[2]["max_ms"],
        2 * 30_000,
        "30s for each of two functions"
    );
    assert_eq!(steps[3]["max_ms"], 2 * 5_000, "the default 5s for each");
    assert_eq!(plan["max_duration_ms"], 2 * 30_000 + 2 * 5_000);
}

#[test]
fn a_pace_below_one_call_in_ten_seconds_is_refused_by_plan_run_and_simulate_alike() {
    for command in ["plan", "run", "simulate"] {
        Test::new()
            .args([
                command,
                "examples/canary.rollout",
                "--calls-per-second",
                "0.0001",
            ])
            .status(2)
            .stderr_contains("expected at least 0.1 calls per second")
            .run();
    }
    // The slowest accepted pace is the one the plan counts with: 10s a call.
    let slow = Test::new()
        .args([
            "plan",
            "examples/canary.rollout",
            "--format",
            "json",
            "--calls-per-second",
            "0.1",
        ])
        .run();
    let fast = Test::new()
        .args(["plan", "examples/canary.rollout", "--format", "json"])
        .run();
    let min = |out: &std::process::Output| {
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["min_duration_ms"]
            .as_u64()
            .unwrap()
    };
    assert!(
        min(&slow) >= min(&fast) + 50_000,
        "{} vs {}",
        min(&slow),
        min(&fast)
    );
}

#[test]
fn waves_are_shown_on_one_timeline_with_the_total() {
    let output = Test::new()
        .args(["plan", "examples/waves.rollout"])
        .stdout_contains(
            "  regions:   us-east-1, eu-west-1, 222222222222/us-west-2 (in waves, below)",
        )
        .stdout_contains(r#"  wave 1 "first region": us-east-1  [0s to 11m3s"#)
        .stdout_contains("  between waves: wait 30m until healthy, the promoted waves kept (31m3s)")
        .stdout_contains(r#"  wave 2 "europe": eu-west-1  [42m6s to 53m9s"#)
        .stdout_contains(r#"  wave 3 "rest": 222222222222/us-west-2  [1h24m12s to 1h35m15s"#)
        .stdout_contains("    as arn:aws:iam::222222222222:role/rollout (aws sts assume-role)")
        .stdout_contains("duration: at least 1h35m15s")
        .run();
    assert!(output.status.success());
    let json = Test::new()
        .args(["plan", "examples/waves.rollout", "--format", "json"])
        .run();
    let plan: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let waves = &plan["waves"];
    assert_eq!(waves["waves"].as_array().unwrap().len(), 3);
    // Three waves of one wave's length and two bakes between them.
    let wave = plan["min_duration_ms"].as_u64().unwrap();
    let between = waves["between_ms"].as_u64().unwrap();
    assert_eq!(
        waves["min_duration_ms"].as_u64().unwrap(),
        3 * wave + 2 * between
    );
    assert_eq!(waves["on_failure"], "this_wave");
}

/// A playbook with office-hours windows in Berlin and a change calendar.
const WINDOWED: &str = "function \"checkout-api\"\nalias \"live\"\nwindow mon-fri 09:00-16:00 \"Europe/Berlin\"\ncalendar \"ChangeFreeze\"\n\nhealth every 1m {\n  error rate < 1%\n}\n\npublish\nshift 10% to new\nwait 15m until healthy\npromote\n";

#[test]
fn plan_of_a_windowed_playbook_says_when_each_step_really_runs() {
    // Saturday 5 December 2026: the first shift waits for Monday 09:00 in Berlin.
    let output = Test::temp()
        .file("w.rollout", WINDOWED)
        .args(["plan", "w.rollout", "--at", "2026-12-05T12:00:00Z"])
        .run();
    golden(
        "plan-windows.txt",
        &String::from_utf8(output.stdout).unwrap(),
    );
    let output = Test::temp()
        .file("w.rollout", WINDOWED)
        .args([
            "plan",
            "w.rollout",
            "--at",
            "2026-12-04T14:50:00Z",
            "--format",
            "json",
        ])
        .run();
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let windows = &plan["windows"];
    assert_eq!(windows["steps"][3]["runs_at"], "2026-12-07T09:06:03+01:00");
    assert_eq!(windows["interrupted"], serde_json::json!([3]));
    assert_eq!(windows["calendars"], serde_json::json!(["ChangeFreeze"]));
}

#[test]
fn plan_without_windows_shows_no_windows() {
    let output = Test::new()
        .args(["plan", "examples/canary.rollout", "--format", "json"])
        .run();
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(plan.get("windows").is_none());
}

#[test]
fn plan_shows_where_notifications_go_and_the_calls_that_send_them() {
    let playbook = "function \"checkout-api\"\nalias \"live\"\nnotify eventbridge \"arn:aws:events:eu-west-1:123456789012:event-bus/rollouts\"\nnotify sns \"arn:aws:sns:eu-west-1:123456789012:releases\"\npublish\nshift 10% to new\npromote\n";
    Test::temp()
        .file("p.rollout", playbook)
        .args(["plan", "p.rollout"])
        .stdout_contains("notifications (started, each step, held, rolled back, promoted, failed;")
        .stdout_contains("  eventbridge \"arn:aws:events:eu-west-1:123456789012:event-bus/rollouts\"\n    aws events put-events --entries '[{\"Detail\":\"<the notification>\",\"DetailType\":\"<Rollout Started, Rollout Step Started, …>\",\"EventBusName\":\"arn:aws:events:eu-west-1:123456789012:event-bus/rollouts\",\"Source\":\"rollout\"}]' --region eu-west-1\n")
        .stdout_contains("    aws sns publish --topic-arn arn:aws:sns:eu-west-1:123456789012:releases --subject")
        .run();
    let out = Test::temp()
        .file("p.rollout", playbook)
        .args(["plan", "p.rollout", "--format", "json"])
        .run();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["notify"][1]["service"], "sns");
    assert_eq!(plan["notify"][1]["region"], "eu-west-1");
    assert_eq!(
        plan["notify"][1]["target"],
        "arn:aws:sns:eu-west-1:123456789012:releases"
    );
    assert!(plan["notify"][0]["call"]
        .as_str()
        .unwrap()
        .starts_with("aws events put-events --entries"));
}

#[test]
fn plan_shows_the_outcome_policies_and_the_longest_they_make_a_bake() {
    let output = Test::new()
        .args([
            "plan",
            "tests/fixtures/ok/policies.rollout",
            "--format",
            "json",
        ])
        .run();
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let bake = &plan["steps"][2];
    let (min, max) = (
        bake["min_ms"].as_u64().unwrap(),
        bake["max_ms"].as_u64().unwrap(),
    );
    // 15m of traffic and its settling, then up to 30m held, 30m extended and 1h paused.
    assert!(
        max >= min + 2 * 3_600_000,
        "the longest bake counts every policy: {min} .. {max}"
    );
    Test::new()
        .args(["plan", "tests/fixtures/ok/policies.rollout"])
        .stdout_contains("inconclusive fails after extending up to 30m, confidence 99%, a violation pauses up to 1h for a person")
        .stdout_contains("- observe p99 duration of new over 1m < 1.1 * p99 duration of old over 1m")
        .run();
}

#[test]
fn plan_shows_the_prune_rule_and_its_calls_only_when_the_playbook_keeps_versions() {
    let playbook = "function \"checkout-api\"\nalias \"live\"\nkeep 3 versions\npublish\nshift 10% to new\npromote\n";
    Test::temp()
        .file("p.rollout", playbook)
        .args(["plan", "p.rollout"])
        .stdout_contains("keep 3 versions: after a successful promote,")
        .stdout_contains("  aws lambda list-versions-by-function --function-name checkout-api")
        .stdout_contains("  aws lambda list-aliases --function-name checkout-api\n")
        .stdout_contains(
            "  aws lambda list-provisioned-concurrency-configs --function-name checkout-api\n",
        )
        .stdout_contains("  aws lambda list-event-source-mappings --function-name checkout-api\n")
        .stdout_contains(
            "  aws lambda delete-function --function-name checkout-api --qualifier '<V>'",
        )
        .run();
    let out = Test::temp()
        .file("p.rollout", playbook)
        .args(["plan", "p.rollout", "--format", "json"])
        .run();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["prune"]["keep"], 3);
    assert_eq!(plan["prune"]["calls"].as_array().unwrap().len(), 5);
    let out = Test::temp()
        .file("p.rollout", &playbook.replace("keep 3 versions\n", ""))
        .args(["plan", "p.rollout", "--format", "json"])
        .run();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(plan.get("prune").is_none(), "{plan}");
}

#[test]
fn text_plan_of_a_watch_after_promote() {
    let output = Test::new()
        .args(["plan", "tests/fixtures/ok/watch.rollout"])
        .run();
    let text = String::from_utf8(output.stdout).unwrap();
    golden("plan-watch.txt", &text);
    // The promote keeps the lease at its step, the watch marks its own and gives it back.
    assert!(text.contains("watch 1h"), "{text}");
    assert!(text.contains(" s=4/5 "), "{text}");
    assert!(text.contains(" s=5/5 "), "{text}");
    assert!(text.contains("old's value before the rollout"), "{text}");
}

#[test]
fn json_plan_counts_the_watch_in_its_duration() {
    let output = Test::new()
        .args([
            "plan",
            "--format",
            "json",
            "tests/fixtures/ok/watch.rollout",
        ])
        .run();
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let steps = plan["steps"].as_array().unwrap();
    let watch = &steps[steps.len() - 1];
    assert_eq!(watch["kind"], "watch");
    assert_eq!(watch["duration"], 3_600_000);
    // An hour of traffic and the metric delay (a minute plus the assumed 3s timeout).
    assert_eq!(watch["min_ms"], 3_600_000 + 63_000);
    let calls = watch["calls"].as_array().unwrap();
    let last = calls.last().unwrap().as_str().unwrap();
    assert!(
        last.contains("--function-version '<new>'") && !last.contains("[rollout"),
        "{last}"
    );
}

#[test]
fn plan_shows_the_logs_insights_query_of_new_error_signatures_and_its_log_group() {
    let playbook = "function \"checkout-api\"\nalias \"live\"\n\nhealth every 1m {\n  error rate < 1%\n  no new error signatures seen more than 2 times matching \"ERROR|a/b\"\n}\n\npublish\nshift 10% to new\nwait 15m until healthy\npromote\n";
    let output = Test::temp()
        .file("s.rollout", playbook)
        .args(["plan", "s.rollout"])
        .run();
    golden(
        "plan-signatures.txt",
        &String::from_utf8(output.stdout).unwrap(),
    );
    let output = Test::temp()
        .file("s.rollout", playbook)
        .args(["plan", "s.rollout", "--format", "json"])
        .run();
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        plan["health"]["checks"][1],
        serde_json::json!({
            "kind": "signatures",
            "more_than": 2,
            "matching": "ERROR|a/b",
            "log_group": "/aws/lambda/{function}",
            "query": "fields @timestamp, @logStream, @message | filter @logStream like /\\[{version}\\]/ | filter @message like /ERROR|a\\/b/ | sort @timestamp asc | limit 10000",
        })
    );
}

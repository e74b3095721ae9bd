//! `rollout simulate`: the engine in the simulated world, driven from the command line.

use crate::test::Test;

#[test]
fn a_healthy_canary_promotes() {
    Test::new()
        .args(["simulate", "examples/canary.rollout"])
        .stdout_contains("step 4/4  promote")
        .stdout_contains("outcome:        promoted: new serves all traffic")
        .run();
}

#[test]
fn an_error_regression_is_rolled_back_once_its_first_minute_has_settled() {
    let output = Test::new()
        .args([
            "simulate",
            "examples/canary.rollout",
            "--error-rate",
            "new=2%",
        ])
        .status(1)
        .stdout_contains("rolling back: old gets all traffic again")
        .run();
    let text = String::from_utf8(output.stdout).unwrap();
    // The calls before the shift (each answered in 60ms, ten a second) put the first traffic at
    // 0.96s. The first minute then holds 59s of traffic and settles a minute and the 3s timeout
    // after it ends, at 2m3s: not yet evidence enough, nor the second at 3m3s; the third is, at
    // 4m3s (half of the evidence's weight is kept for regressions that start later).
    assert!(
        text.contains("[00:02:03]   checkout-api undecided"),
        "{text}"
    );
    assert!(
        text.contains("time to detect: 4m2s40ms after new first got traffic"),
        "{text}"
    );
    // Fifteen minutes of traffic from 0.96s end in the minute ending at 16m, settled at 17m3s.
    assert!(
        text.contains(
            "baking 15m of traffic on new, judged as it settles: 17m1s940ms at most (metric delay 1m3s)"
        ),
        "{text}"
    );
}

#[test]
fn json_events_one_per_line_and_a_summary() {
    let output = Test::new()
        .args([
            "simulate",
            "examples/canary.rollout",
            "--format",
            "json",
            "--error-rate",
            "new=5%",
        ])
        .status(1)
        .run();
    let text = String::from_utf8(output.stdout).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["event"], "started");
    let failing = events
        .iter()
        .find(|e| e["event"] == "health_evaluated" && e["verdict"] == "fail")
        .expect("a failing evaluation");
    assert_eq!(failing["function"], "checkout-api");
    let evidence = &failing["checks"][0]["evidence"];
    assert_eq!(evidence["state"], "violated");
    let (errors, calls) = (
        evidence["subject"]["events"].as_f64().unwrap(),
        evidence["subject"]["trials"].as_f64().unwrap(),
    );
    assert!(errors / calls > 0.01, "{evidence}");
    assert_eq!(evidence["rollback_threshold"], 0.01);
    let write = events
        .iter()
        .find(|e| e["event"] == "alias_updated")
        .unwrap();
    assert!(write["before"]["revision_id"].is_string());
    let last = events.last().unwrap();
    assert_eq!(last["event"], "summary");
    assert_eq!(last["report"]["outcome"]["outcome"], "rolled_back");
    // The calls before the shift (answered in 60ms, ten a second) put the first traffic at
    // 0.96s; the first minute settles at 2m3s, and its errors are evidence enough.
    let report = &last["report"];
    assert_eq!(report["first_traffic_ms"], 960);
    let detected = report["detected_ms"].as_u64().unwrap();
    assert!((123_000..124_000).contains(&detected), "{report}");
    assert_eq!(last["time_to_detect_ms"], detected - 960);
    assert!(
        last["simulated_ms"].as_u64().unwrap() > detected,
        "then the rollback's write"
    );
    let calls = last["aws_calls"].as_u64().unwrap();
    assert!(calls > 5 && calls < 20, "{calls} calls");
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let run = |seed: &str| {
        let output = Test::new()
            .args([
                "simulate",
                "examples/linear.rollout",
                "--seed",
                seed,
                "--format",
                "json",
                "--error-rate",
                "old=0%,new=0%",
            ])
            .run();
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(run("5"), run("5"));
    assert_ne!(run("5"), run("6"));
}

#[test]
fn monte_carlo_runs_report_shares_and_spreads() {
    let output = Test::new()
        .args([
            "simulate",
            "examples/canary.rollout",
            "--error-rate",
            "old=0.1%,new=2%",
            "--rps",
            "50",
            "--runs",
            "200",
            "--format",
            "json",
        ])
        .run();
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["runs"], 200);
    let caught = summary["rolled_back"].as_u64().unwrap();
    assert!(
        caught >= 190,
        "a 2% regression against a 1% threshold is caught: {summary}"
    );
    assert!(summary["time_to_detect_ms"]["median"].as_f64().unwrap() <= 15.0 * 60_000.0);
    assert!(summary["time_to_promote_ms"].is_object() || summary["promoted"] == 0);
    let healthy = Test::new()
        .args([
            "simulate",
            "examples/canary.rollout",
            "--runs",
            "100",
            "--rps",
            "1000",
            "--format",
            "json",
        ])
        .run();
    let healthy: serde_json::Value = serde_json::from_slice(&healthy.stdout).unwrap();
    assert_eq!(healthy["promoted"], 100, "{healthy}");
    // A fixed 15m bake lasts until its traffic has settled: traffic from 0.96s fills the
    // minutes up to 16m, settled at 17m3s; the promotion's write answers 60ms later.
    assert_eq!(
        healthy["time_to_promote_ms"]["median"],
        17.0 * 60_000.0 + 3_000.0 + 60.0 - 960.0
    );
    Test::new()
        .args(["simulate", "examples/canary.rollout", "--runs", "50"])
        .stdout_contains("50 simulated runs at 100 rps")
        .stdout_contains("promoted:")
        .run();
}

#[test]
fn a_sweep_draws_the_operating_curve() {
    let output = Test::new()
        .args([
            "simulate",
            "examples/canary.rollout",
            "--sweep",
            "new=0%..5%",
            "--runs",
            "40",
            "--rps",
            "50",
            "--format",
            "json",
        ])
        .run();
    let curve: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let points = curve["points"].as_array().unwrap();
    assert_eq!(points.len(), 11);
    assert_eq!(points[0]["error_rate"], 0.0);
    assert_eq!(points[10]["error_rate"], 5.0);
    let rolled_back = |p: &serde_json::Value| p["rolled_back"].as_u64().unwrap();
    assert_eq!(
        rolled_back(&points[0]),
        0,
        "a flawless new is never rolled back"
    );
    assert_eq!(rolled_back(&points[10]), 40, "5% against 1% always is");
    assert!(points[10]["time_to_decide_ms"]["median"].as_f64().unwrap() < 5.0 * 60_000.0);
    Test::new()
        .args([
            "simulate",
            "examples/canary.rollout",
            "--sweep",
            "new=0%..2%",
            "--runs",
            "10",
        ])
        .stdout_contains("operating curve: share rolled back against new's error rate")
        .stdout_contains("   2.00%  [")
        .run();
}

#[test]
fn options_are_validated() {
    // Each refused with what is wrong with the value, nothing simulated.
    for (option, value, said) in [
        ("--rps", "0", "between 0 and 100000, not `0`"),
        (
            "--error-rate",
            "new=200%",
            "`200%` is not a percentage between 0% and 100%",
        ),
        (
            "--error-rate",
            "newer=2%",
            "expected `old` or `new`, not `newer`",
        ),
        ("--latency", "old=fast", "`fast` is not a duration"),
        ("--runs", "0", "0 is not in 1..=1000000"),
        ("--approve-after", "soon", "not `soon`"),
        ("--sweep", "new=5%..1%", "the range 5%..1% must go upwards"),
        ("--sweep", "old=0%..1%", "not `old=0%..1%`"),
        ("--ingestion-delay", "later", "not `later`"),
        ("--error-rate", "new=2%,new=3%", "`new` is given twice"),
        (
            "--alarm",
            "nosuch=alarm",
            "the playbook checks no alarm of that name",
        ),
    ] {
        Test::new()
            .args(["simulate", "examples/canary.rollout", option, value])
            .status(2)
            .stdout("")
            .stderr_contains(option)
            .stderr_contains(said)
            .run();
    }
    Test::new()
        .args([
            "simulate",
            "examples/two-stage.rollout",
            "--alarm",
            "search-api-5x=alarm",
        ])
        .status(2)
        .stderr_contains("did you mean `search-api-5xx`?")
        .run();
}

#[test]
fn a_playbook_without_targets_is_simulated_on_placeholders() {
    Test::new()
        .args(["simulate", "examples/quickstart.rollout"])
        .stderr_contains("simulating my-function on alias live")
        .stdout_contains("promoted")
        .run();
}

#[test]
fn a_health_hook_verdict_shows_in_the_events_and_the_summary() {
    let output = Test::temp()
        .file("checks/queue.rhai", "throw \"payments queue is backed up\";\n")
        .file(
            "p.rollout",
            "function \"f\"\nalias \"live\"\nhealth {\n  script \"checks/queue.rhai\"\n}\npublish\nshift 5% to new\nwait 5m until healthy\npromote\n",
        )
        .args(["simulate", "p.rollout"])
        .status(1)
        .stdout_contains("f: hook checks/queue.rhai FAILED: threw: payments queue is backed up")
        .run();
    let text = String::from_utf8(output.stdout).unwrap();
    let summary = text.split("summary").nth(1).unwrap();
    assert!(
        summary.contains("checks/queue.rhai: threw: payments queue is backed up"),
        "{summary}"
    );
}

#[test]
fn alarms_can_be_set_for_the_simulation() {
    Test::new()
        .args([
            "simulate",
            "examples/two-stage.rollout",
            "--alarm",
            "search-api-5xx=alarm",
        ])
        .status(1)
        .stdout_contains("alarm \"search-api-5xx\" is in ALARM")
        .run();
}

#[test]
fn a_fleet_is_selected_counted_and_timed_at_the_accounts_pace() {
    // Two selections of 10 functions each, at 5 calls a second.
    let output = Test::new()
        .args([
            "simulate",
            "examples/fleet.rollout",
            "--fleet",
            "10",
            "--calls-per-second",
            "5",
        ])
        .stdout_contains("\"checkout-*\" selects 10 functions")
        .stdout_contains("tagged \"team=checkout\" selects 10 functions")
        .stdout_contains("rollout \"checkout fleet\": 20 functions (checkout-0001, checkout-0002, checkout-0003, … tagged-1-0010)")
        .stdout_contains("  20 shifted of 20 targets")
        .stdout_contains("  evaluated: 20 healthy")
        .run();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        !text.contains("checkout-0004: version 1"),
        "a fleet's routine writes are counted, not listed: {text}"
    );
    // The shift's 20 writes at 5 a second take 4 seconds.
    let at = |line: &str| {
        let start = text.find(line).unwrap_or_else(|| panic!("{line}: {text}"));
        text[..start]
            .rfind('[')
            .map(|i| text[i + 1..i + 9].to_string())
            .unwrap()
    };
    let (shift, shifted) = (
        at("step 2/4  shift 5% to new"),
        at("20 shifted of 20 targets"),
    );
    let secs = |t: &str| {
        let p: Vec<u64> = t.split(':').map(|x| x.parse().unwrap()).collect();
        p[0] * 3600 + p[1] * 60 + p[2]
    };
    assert!(
        (4..=5).contains(&(secs(&shifted) - secs(&shift))),
        "{shift} to {shifted}"
    );

    // JSON keeps one event per target action, and the summary counts the calls and the time.
    let output = Test::new()
        .args([
            "simulate",
            "examples/fleet.rollout",
            "--fleet",
            "10",
            "--format",
            "json",
        ])
        .run();
    let events: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let published = events.iter().filter(|e| e["event"] == "published").count();
    assert_eq!(published, 20);
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert!(summary["aws_calls"].as_u64().unwrap() > 20 * 6, "{summary}");
    assert!(summary["simulated_ms"].as_u64().unwrap() > 10 * 60_000);
}

#[test]
fn a_bad_fleet_size_or_pace_is_a_usage_error() {
    for (option, value, said) in [
        (
            "--fleet",
            "0",
            "expected a number of functions from 1 to 100000, not `0`",
        ),
        (
            "--calls-per-second",
            "0",
            "expected at least 0.1 calls per second",
        ),
        ("--calls-per-second", "x", "not `x`"),
    ] {
        Test::new()
            .args(["simulate", "examples/fleet.rollout", option, value])
            .status(2)
            .stdout("")
            .stderr_contains(option)
            .stderr_contains(said)
            .run();
    }
}

#[test]
fn reports_of_a_promoted_run_a_rolled_back_run_runs_and_a_sweep_are_self_contained_pages() {
    let dir = std::env::temp_dir().join(format!("rollout-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: [(&str, Vec<&str>, &str); 4] = [
        ("promoted", vec![], "promoted: new serves all traffic"),
        (
            "rolled-back",
            vec!["--error-rate", "new=2%"],
            "rolled back at step 3",
        ),
        (
            "runs",
            vec!["--runs", "20", "--error-rate", "new=2%"],
            "20 runs: promoted",
        ),
        (
            "sweep",
            vec!["--sweep", "new=0%..4%", "--runs", "10"],
            "operating curve over 11 error rates",
        ),
    ];
    for (name, extra, outcome) in cases {
        let path = dir.join(format!("{name}.html"));
        let path_text = path.display().to_string();
        let mut args = vec![
            "simulate",
            "examples/canary.rollout",
            "--report",
            path_text.as_str(),
        ];
        args.extend(extra);
        let _ = Test::new()
            .args(args)
            .status(if name == "rolled-back" { 1 } else { 0 })
            .run();
        let page = std::fs::read_to_string(&path).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"), "{name}");
        assert!(page.contains(outcome), "{name}: {page}");
        assert!(page.matches("<svg class=\"chart\"").count() >= 1, "{name}");
        assert!(
            page.contains("width=\"900\" height=\""),
            "{name}: charts are sized"
        );
        for external in ["http://", "https://", "<link", " src="] {
            assert!(
                !page.contains(external),
                "{name}: nothing from the network ({external})"
            );
        }
        assert!(
            page.contains("prefers-color-scheme: dark") && page.contains("@media print"),
            "{name}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The events of a JSON simulation, one object a line.
fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn waves_with_one_region_bad_stop_at_that_wave_and_never_touch_the_next() {
    let output = Test::new()
        .args([
            "simulate",
            "examples/waves.rollout",
            "--format",
            "json",
            "--error-rate",
            "eu-west-1:new=3%",
        ])
        .status(1)
        .run();
    let events = json_lines(&output.stdout);
    let waves: Vec<String> = events
        .iter()
        .filter_map(|e| match e["event"].as_str()? {
            "wave_started" | "wave_passed" => Some(format!("{} {}", e["event"], e["wave"])),
            "wave_failed" => Some(format!("failed {} skipping {}", e["wave"], e["skipped"])),
            _ => None,
        })
        .collect();
    assert_eq!(
        waves,
        [
            r#""wave_started" "first region""#,
            r#""wave_passed" "first region""#,
            r#""wave_started" "europe""#,
            r#"failed "europe" skipping ["rest"]"#
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e["region"] != "222222222222/us-west-2"),
        "the third wave's region is never touched"
    );
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["report"]["outcome"]["outcome"], "rolled_back");
}

#[test]
fn a_region_of_its_own_must_be_one_of_the_waves() {
    Test::new()
        .args([
            "simulate",
            "examples/waves.rollout",
            "--error-rate",
            "eu-west-9:new=3%",
        ])
        .status(2)
        .stderr_contains("no wave of the playbook names eu-west-9; its regions are us-east-1, eu-west-1, us-west-2")
        .run();
    Test::new()
        .args([
            "simulate",
            "examples/canary.rollout",
            "--error-rate",
            "eu-west-1:new=3%",
        ])
        .status(2)
        .stderr_contains("the playbook has no waves")
        .run();
}

#[test]
fn simulate_refuses_a_calendar_it_cannot_rehearse() {
    Test::new()
        .args([
            "simulate",
            "examples/canary.rollout",
            "--calendar",
            "ChangeFreeze=closed:1h..10m",
        ])
        .status(2)
        .stderr_contains("ends before it starts")
        .run();
    Test::new()
        .args([
            "simulate",
            "examples/canary.rollout",
            "--calendar",
            "change freeze=closed",
        ])
        .status(2)
        .stderr_contains("a calendar's name is letters")
        .run();
}

#[test]
fn simulate_holds_outside_the_windows_on_its_virtual_clock_and_through_a_closed_calendar() {
    // The simulated clock starts on Monday 2026-11-30 at 00:54 UTC.
    let playbook = "function \"f\"\nalias \"live\"\nwindow mon 02:00-06:00 \"UTC\"\ncalendar \"freeze\"\npublish\nshift 10% to new\nwait 5m until healthy\npromote\n";
    let output = Test::temp()
        .file("p.rollout", playbook)
        .args([
            "simulate",
            "p.rollout",
            "--calendar",
            "freeze=closed:0s..2h",
        ])
        .stdout_contains("[00:00:00]   paused by the deploy windows: outside the deploy windows (mon 02:00-06:00 \"UTC\") until 2026-11-30T02:54:00Z")
        .stdout_contains("paused by the change calendars: change calendar closed (freeze) until 2026-11-30T02:54:00Z")
        .stdout_contains("outcome:        promoted")
        .run();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains(
            "[02:00:00]   f: version 1 (100%) -> version 1 (90.00%) + version 2 (10.00%)"
        ),
        "no traffic before the calendar opens, two hours in (02:54 UTC): {text}"
    );
}

#[test]
fn keeping_versions_prunes_after_the_promote_in_the_simulated_world() {
    let canary = std::fs::read_to_string("examples/canary.rollout").unwrap();
    Test::temp()
        .file("p.rollout", &format!("keep 1 versions\n{canary}"))
        .args(["simulate", "p.rollout"])
        .stdout_contains("checkout-api: no version to prune; versions left: 1, 2")
        .run();
}

#[test]
fn simulate_rolls_back_on_a_new_error_signature_of_its_world_and_lists_it() {
    let playbook = "function \"f\"\nalias \"live\"\nhealth {\n  error rate < 5%\n  no new error signatures seen more than 5 times\n}\npublish\nshift 10% to new\nwait 10m until healthy\npromote\n";
    let world = "new error signature \"KeyError: 'cart'\" 0.5%   # new logs it, old never\n";
    Test::temp()
        .file("p.rollout", playbook)
        .file("world.txt", world)
        .args(["simulate", "p.rollout", "--world", "world.txt"])
        .status(1)
        .stdout_contains("f UNHEALTHY: no new error signatures seen more than 5 times: 1 new error signature that old did not log over the same time: ")
        .stdout_contains("`ERROR KeyError: 'cart' (request <n>)` (e.g. \"")
        .run();
    // Without it, the errors both versions log are not new.
    Test::temp()
        .file("p.rollout", playbook)
        .args(["simulate", "p.rollout"])
        .stdout_contains("outcome:        promoted")
        .run();
}

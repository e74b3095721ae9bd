//! `rollout check`: exit codes, summaries, JSON diagnostics, command-line errors.

use crate::test::Test;

#[test]
fn the_one_liner_checks() {
    Test::temp()
        .file(
            "quick.rollout",
            "publish; shift 5% to new; wait 10m until healthy; promote\n",
        )
        .args(["check", "quick.rollout"])
        .stdout("quick.rollout: ok (1 warning)\n  error rate of new over 1m < 1%: count check: errors among invocations, tested minute by minute since new reached its weight, recent minutes too; a minute in which old fails as much holds the bake instead of rolling back\n")
        .stderr_contains("rollout::default-health")
        .run();
}

#[test]
fn all_errors_of_a_file_are_reported() {
    Test::temp()
        .file(
            "bad.rollout",
            "shift 5% to new\npublish\nshift 0.125% to new\nwait 0s\npromote\nwait 1m\n",
        )
        .args(["check", "bad.rollout"])
        .status(2)
        .stdout("bad.rollout: invalid (4 errors)\n")
        .stderr_contains("rollout::no-new-version")
        .stderr_contains("rollout::percent-precision")
        .stderr_contains("rollout::zero-duration")
        .stderr_contains("rollout::after-end")
        .run();
}

#[test]
fn several_files_fail_if_any_fails() {
    Test::temp()
        .file("good.rollout", "publish; promote\n")
        .file("bad.rollout", "promote\n")
        .args(["check", "good.rollout", "bad.rollout"])
        .status(2)
        .stdout("good.rollout: ok (no problems)\nbad.rollout: invalid (1 error)\n")
        .run();
}

#[test]
fn a_missing_file_is_an_io_error() {
    Test::temp()
        .args(["check", "nowhere.rollout"])
        .status(2)
        .stderr_contains("rollout::io")
        .stderr_contains("cannot read nowhere.rollout")
        .run();
}

#[test]
fn json_diagnostics_carry_file_line_column_code_and_severity() {
    let output = Test::temp()
        .file(
            "bad.rollout",
            "publish\nshift 5% to new\nwait 5m until healthy\nshift 5 to new\n",
        )
        .args(["check", "--format", "json", "bad.rollout"])
        .status(2)
        .run();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(report["valid"], false);
    assert_eq!(report["files"][0]["file"], "bad.rollout");
    assert_eq!(report["files"][0]["errors"], 1);
    let diags = report["diagnostics"].as_array().unwrap();
    let error = diags.iter().find(|d| d["severity"] == "error").unwrap();
    assert_eq!(error["code"], "rollout::param-type");
    assert_eq!(error["file"], "bad.rollout");
    assert_eq!(error["line"], 4);
    assert_eq!(error["column"], 7);
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("needs a percentage"));
    assert_eq!(error["help"], "write it as a percentage: `5%`");
    let warning = diags.iter().find(|d| d["severity"] == "warning").unwrap();
    assert_eq!(warning["code"], "rollout::default-health");
    assert_eq!(warning["line"], 3);
}

#[test]
fn set_overrides_are_type_checked() {
    let playbook = "param canary = 5%\npublish; shift canary to new; promote\n";
    Test::temp()
        .file("p.rollout", playbook)
        .args(["check", "--set", "canary=10%", "p.rollout"])
        .stdout_contains("p.rollout: ok (no problems)")
        .run();
    // The value given is the one the plan shifts by.
    let planned = Test::temp()
        .file("p.rollout", playbook)
        .args([
            "plan",
            "--format",
            "json",
            "--set",
            "canary=10%",
            "p.rollout",
        ])
        .run();
    let plan: serde_json::Value = serde_json::from_slice(&planned.stdout).unwrap();
    assert_eq!(plan["steps"][1]["kind"], "shift", "{plan:#}");
    assert_eq!(plan["steps"][1]["weight"], 10.0, "{plan:#}");
    // A value out of range is shown where it was given, through a step definition too.
    let staged =
        "param canary = 5%\nstep stage(w) { shift w to new }\npublish; stage(canary); promote\n";
    for playbook in [playbook, staged] {
        Test::temp()
            .file("p.rollout", playbook)
            .args(["check", "--set", "canary=100%", "p.rollout"])
            .status(2)
            .stderr_contains("rollout::percent-range")
            .stderr_contains("`--set canary=100%`: `shift` needs more than 0%")
            .stderr_contains("[--set:1:8]")
            .run();
    }
    Test::temp()
        .file("p.rollout", playbook)
        .args(["check", "--set", "canary=0.001%", "p.rollout"])
        .status(2)
        .stderr_contains("`--set canary=0.001%`: `0.001%` has more than two decimals")
        .run();
    Test::temp()
        .file("p.rollout", playbook)
        .args(["check", "--set", "canary", "p.rollout"])
        .status(2)
        .stderr_contains("expected NAME=VALUE")
        .run();
}

/// The targets `--function`, `--alias` and `--region` give, as the plan of `playbook` with them
/// shows them, once `check` has found the playbook valid with them.
fn targets_given(playbook: &str) -> serde_json::Value {
    let dir = crate::test::temp_dir();
    std::fs::write(dir.join("p.rollout"), playbook).unwrap();
    let given = [
        "--function",
        "a",
        "--function",
        "b",
        "--alias",
        "live",
        "--region",
        "eu-west-1",
        "p.rollout",
    ];
    let checked = Test::new()
        .dir(&dir)
        .args(["check", "--format", "json"])
        .args(given)
        .run();
    let report: serde_json::Value = serde_json::from_slice(&checked.stdout).unwrap();
    assert_eq!(report["valid"], true, "{report:#}");
    let planned = Test::new()
        .dir(&dir)
        .args(["plan", "--format", "json"])
        .args(given)
        .run();
    let plan: serde_json::Value = serde_json::from_slice(&planned.stdout).unwrap();
    plan["targets"].clone()
}

#[test]
fn targets_from_the_command_line_are_the_ones_used() {
    assert_eq!(
        targets_given("publish; promote\n"),
        serde_json::json!({"functions": ["a", "b"], "alias": "live", "region": "eu-west-1"})
    );
}

#[test]
fn targets_from_the_command_line_replace_the_playbooks() {
    assert_eq!(
        targets_given("function \"x\"\nalias \"prod\"\nregion \"us-east-1\"\npublish; promote\n"),
        serde_json::json!({"functions": ["a", "b"], "alias": "live", "region": "eu-west-1"})
    );
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    Test::new()
        .args(["check"])
        .status(2)
        .stderr_contains("the following required arguments were not provided")
        .stderr_contains("<FILE>...")
        .run();
    Test::new()
        .args(["frobnicate"])
        .status(2)
        .stderr_contains("unrecognized subcommand 'frobnicate'")
        .run();
    // Changing live traffic without a terminal to confirm on needs --yes: a usage error.
    Test::new()
        .args(["rollback", "--function", "f", "--alias", "live"])
        .status(2)
        .stderr_contains("pass --yes")
        .run();
    Test::new()
        .args(["check", "--help"])
        .stdout_contains("Exit status: 0 when every file is valid, 2 otherwise.")
        .run();
    Test::new()
        .args(["--help"])
        .stdout_contains("Exit codes:")
        .run();
}

#[test]
fn the_language_reference_lists_every_diagnostic_code() {
    let docs = std::fs::read_to_string(crate::test::root().join("docs/language.md")).unwrap();
    for code in rollout::diagnostic::Code::ALL {
        let severity = match code.severity() {
            rollout::diagnostic::Severity::Error => "error",
            rollout::diagnostic::Severity::Warning => "warning",
        };
        let entry = format!(
            "| `rollout::{}` | {severity} | {} |",
            code.as_str(),
            code.describe()
        );
        assert!(
            docs.contains(&entry),
            "docs/language.md lacks the row: {entry}"
        );
    }
}

#[test]
fn check_says_how_each_health_check_is_judged() {
    Test::new()
        .args(["check", "examples/two-stage.rollout"])
        .stdout_contains("  error rate of new over 5m <= error rate of old over 5m + 0.5%: count check: errors among invocations, tested minute by minute")
        .stdout_contains("new against old within each minute, so what both share cancels")
        .stdout_contains("  p90 duration of new over 5m < 1.2 * p90 duration of old over 5m: per window")
        .stdout_contains("  alarm \"search-api-5xx\" not in ALARM: the alarm's state at each evaluation")
        .run();
    let output = Test::new()
        .args(["check", "--format", "json", "examples/canary.rollout"])
        .run();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let checks = report["files"][0]["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[1]["check"], "p99 duration of new over 5m < 800ms");
    assert!(checks[1]["judged"]
        .as_str()
        .unwrap()
        .contains("invocations slower than 800ms"));
}

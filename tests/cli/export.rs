//! `rollout export --to step-functions`: every example either exports, to the stored bytes, or is
//! refused with the line and the reason; the output is the same for the same input.

use crate::edit::Edit;
use crate::test::{golden, root, Test};

/// Each example, with the targets the command line gives it when the playbook names none.
fn examples() -> Vec<(String, Vec<&'static str>)> {
    let mut out: Vec<(String, Vec<&'static str>)> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rollout")
                .map(|n| (n.to_string(), Vec::new()))
        })
        .collect();
    out.sort();
    for (name, args) in &mut out {
        if name == "quickstart" {
            *args = vec!["--function", "my-fn", "--alias", "live"];
        }
    }
    out
}

#[test]
fn every_example_exports_to_its_stored_definition_or_says_why_not() {
    let mut exported = 0;
    for (name, extra) in examples() {
        let file = format!("examples/{name}.rollout");
        let mut args = vec!["export", file.as_str(), "--to", "step-functions"];
        args.extend(&extra);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_rollout"))
            .current_dir(root())
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(0) => {
                exported += 1;
                golden(
                    &format!("export/{name}.asl.json"),
                    &String::from_utf8(output.stdout).unwrap(),
                );
            }
            Some(2) => {
                assert!(
                    stderr.contains(&format!("{file}: cannot run on Step Functions"))
                        && stderr.contains("error: ")
                        && stderr.contains("  help: "),
                    "{name}: {stderr}"
                );
                assert!(output.stdout.is_empty(), "{name}: nothing exported");
            }
            other => panic!("{name}: exit {other:?}: {stderr}"),
        }
    }
    assert!(exported >= 4, "most examples export");
}

#[test]
fn the_same_input_gives_the_same_bytes_and_a_template_wraps_them_with_a_narrow_role() {
    let run = |format: &str| {
        Test::new()
            .args([
                "export",
                "examples/canary.rollout",
                "--to",
                "step-functions",
                "--format",
                format,
            ])
            .run()
            .stdout
    };
    assert_eq!(run("asl"), run("asl"));
    let template = run("cloudformation");
    golden(
        "export/canary.template.json",
        &String::from_utf8(template.clone()).unwrap(),
    );
    let template: serde_json::Value = serde_json::from_slice(&template).unwrap();
    let definition: serde_json::Value = serde_json::from_slice(&run("asl")).unwrap();
    // The template's definition is the same, each task in the stack's partition.
    let text = template["Resources"]["StateMachine"]["Properties"]["DefinitionString"]["Fn::Sub"]
        .as_str()
        .expect("the definition, for Fn::Sub");
    assert!(text.contains("\"arn:${AWS::Partition}:states:::aws-sdk:lambda:updateAlias\""));
    let in_aws: serde_json::Value =
        serde_json::from_str(&text.replace("${AWS::Partition}", "aws")).unwrap();
    assert_eq!(in_aws, definition);
    let policy = &template["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"];
    let lambda = &policy["Statement"][0];
    assert_eq!(
        lambda["Resource"][0]["Fn::Sub"],
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:checkout-api"
    );
    assert!(!policy.to_string().contains("\"lambda:*\""), "{policy}");
}

#[test]
fn hooks_and_local_files_are_refused_with_their_lines() {
    Test::new()
        .args(["export", "examples/approval.rollout", "--to", "step-functions"])
        .status(2)
        .stderr_contains("error: examples/approval.rollout:15: the health check `script \"checks/smoke.rhai\"`: rhai hooks cannot run in Step Functions")
        .stderr_contains("error: examples/approval.rollout:18: `on failure run")
        .run();
    Test::new()
        .args([
            "export",
            "examples/multi-function.rollout",
            "--to",
            "step-functions",
        ])
        .status(2)
        .stderr_contains("examples/multi-function.rollout:17: `update code from")
        .run();
    Test::new()
        .args([
            "export",
            "examples/canary.rollout",
            "--to",
            "step-functions",
        ])
        // Its count checks are judged by the execution as `run` judges them.
        .stderr_contains("a healthy new is rolled back in 0% of runs locally, 0% as exported")
        .run();
}

#[test]
fn the_simulated_comparison_is_skipped_where_nothing_is_judged_and_bounded_otherwise() {
    let unjudged = "function \"f\"\nalias \"live\"\npublish\nshift 5% to new\nwait 30d\npromote\n";
    let out = Test::temp()
        .file("p.rollout", unjudged)
        .args(["export", "p.rollout", "--to", "step-functions"])
        .run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("judgment"), "{stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("putMetricAlarm"),
        "no alarm where nothing is judged"
    );
    // Judged every 10 seconds for 12 hours, the bake exports (continued in fresh executions),
    // but is beyond the comparison's budget.
    let long = unjudged
        .edit(
            "publish",
            "health every 10s {\n  error rate < 1%\n}\npublish",
        )
        .edit("wait 30d", "wait 12h until healthy");
    Test::temp()
        .file("p.rollout", &long)
        .args(["export", "p.rollout", "--to", "step-functions"])
        .stderr_contains("judgment not compared in simulate: a rollout of up to 12h")
        .run();
}

#[test]
fn notifications_are_refused_with_their_lines() {
    Test::temp()
        .file(
            "p.rollout",
            "function \"checkout-api\"\nalias \"live\"\nnotify eventbridge \"rollouts\"\nnotify sns \"arn:aws:sns:eu-west-1:123456789012:releases\"\npublish\nshift 10% to new\npromote\n",
        )
        .args(["export", "p.rollout", "--to", "step-functions"])
        .status(2)
        .stderr_contains("error: p.rollout:3: `notify eventbridge \"rollouts\"`: a state machine sends no notifications yet")
        .stderr_contains("error: p.rollout:4: `notify sns \"arn:aws:sns:eu-west-1:123456789012:releases\"`")
        .stderr_contains("  help: run the playbook with `rollout run`")
        .run();
}

#[test]
fn keeping_versions_is_refused_with_a_hint() {
    Test::temp()
        .file(
            "p.rollout",
            "function \"checkout-api\"\nalias \"live\"\nkeep 3 versions\npublish\nshift 10% to new\npromote\n",
        )
        .args(["export", "p.rollout", "--to", "step-functions"])
        .status(2)
        .stderr_contains("`keep 3 versions`: the exported state machine deletes no versions")
        .stderr_contains("  help: run the playbook with `rollout run`, which prunes after promote")
        .run();
}

#[test]
fn a_watch_after_promote_is_refused_with_its_line_and_a_hint() {
    Test::temp()
        .file(
            "p.rollout",
            "function \"checkout-api\"\nalias \"live\"\npublish\nshift 10% to new\nwait 10m until healthy\npromote\nwatch 1h\n",
        )
        .args(["export", "p.rollout", "--to", "step-functions"])
        .status(2)
        .stderr_contains("error: p.rollout:7: `watch 1h`: the exported state machine does not judge `new` after `promote`")
        .stderr_contains("  help: run this playbook with `rollout run`, which watches after promote")
        .run();
}

#[test]
fn new_error_signatures_are_refused_with_their_line_and_a_hint() {
    Test::temp()
        .file(
            "p.rollout",
            "function \"checkout-api\"\nalias \"live\"\nhealth {\n  error rate < 1%\n  no new error signatures seen more than 3 times\n}\npublish\nshift 10% to new\nwait 10m until healthy\npromote\n",
        )
        .args(["export", "p.rollout", "--to", "step-functions"])
        .status(2)
        .stderr_contains("error: p.rollout:5: the health check `no new error signatures seen more than 3 times`: the exported state machine does not read logs")
        .stderr_contains("  help: run this playbook with `rollout run`, or judge the errors with a CloudWatch alarm")
        .run();
}

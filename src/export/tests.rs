//! The state machines `compile` writes: connected, retried, in their partition, within Step
//! Functions' limits, and safe on what AWS may leave out.

use super::*;

fn plan(text: &str) -> Plan {
    let checked = crate::check::check_source(
        crate::diagnostic::source("p.rollout", text.to_string()),
        std::path::Path::new("."),
        &crate::check::Options::default(),
    );
    checked.plan.expect("a valid playbook")
}

fn named(name: &str, alias: &str) -> String {
    machine_name(&plan(&format!(
        "rollout {name:?}\nfunction \"f\"\nalias {alias:?}\npublish\npromote\n"
    )))
}

#[test]
fn state_machine_names_are_distinct_allowed_and_keep_the_alias() {
    assert_eq!(
        named("checkout-canary", "live"),
        "rollout-checkout-canary-live"
    );
    let names = [
        named("checkout-canary", "live"),
        named("checkout canary", "live"),
        named("checkout/canary", "live"),
    ];
    assert_ne!(names[0], names[1]);
    assert_ne!(names[1], names[2]);
    assert_ne!(names[0], names[2]);
    let long = "a".repeat(200);
    let (one, two) = (named(&long, "live"), named(&long, "beta"));
    assert_ne!(one, two);
    for name in names.iter().chain([&one, &two]) {
        assert!(name.len() <= NAME_LIMIT, "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{name}"
        );
    }
    assert!(one.contains("-live-"), "{one}");
}

#[test]
fn a_definition_over_the_step_functions_limit_is_refused() {
    let functions: Vec<String> = (0..20).map(|i| format!("\"f{i}\"")).collect();
    let text = format!(
        "function {}\nalias \"live\"\npublish\nramp to 99% by 0.5% every 1m\npromote\n",
        functions.join(", ")
    );
    let problems = compile(&plan(&text), &|_| 1, &|_| None).unwrap_err();
    assert!(
        problems[0]
            .message
            .contains("more than the 1048576 (1 MiB)"),
        "{:?}",
        problems[0]
    );
    let small = "function \"f\"\nalias \"live\"\npublish\nramp to 50% by 10% every 1m\npromote\n";
    assert!(compile(&plan(small), &|_| 1, &|_| None).is_ok());
}

/// Every state a definition names exists, and every state is reached from `StartAt`.
fn assert_connected(definition: &Value) {
    let states = definition["States"].as_object().unwrap();
    let mut reached = std::collections::BTreeSet::new();
    let mut todo = vec![definition["StartAt"].as_str().unwrap().to_string()];
    while let Some(name) = todo.pop() {
        let state = states
            .get(&name)
            .unwrap_or_else(|| panic!("{name} is named but not defined"));
        if !reached.insert(name) {
            continue;
        }
        let mut next: Vec<&Value> = vec![&state["Next"], &state["Default"]];
        for list in ["Choices", "Catch"] {
            if let Some(items) = state[list].as_array() {
                next.extend(items.iter().map(|c| &c["Next"]));
            }
        }
        todo.extend(next.iter().filter_map(|n| n.as_str().map(str::to_string)));
    }
    let unreached: Vec<&String> = states.keys().filter(|k| !reached.contains(*k)).collect();
    assert!(unreached.is_empty(), "not reachable: {unreached:?}");
}

fn tasks(definition: &Value) -> Vec<(&String, &Value)> {
    definition["States"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, s)| s["Type"] == "Task")
        .collect()
}

#[test]
fn every_state_is_reached_whatever_the_health_block_says() {
    for health in [
        "",
        "health {\n  error rate < 1%\n}\n",
        "health {\n  error rate < 1%\n  inconclusive pass\n}\n",
        "health {\n  alarm \"x\"\n  inconclusive pass\n}\n",
    ] {
        for steps in [
            "publish\nshift 5% to new\nwait 10m until healthy\npromote\n",
            "publish\nramp to 50% by 10% every 1m\napprove\nrollback\n",
            "use version 3\nshift 10% to new\nwait 5m\n",
        ] {
            for functions in ["\"f\"", "\"f\", \"g\""] {
                let text = format!("function {functions}\nalias \"live\"\n{health}{steps}");
                let export = compile(&plan(&text), &|_| 1, &|_| None).unwrap();
                assert_connected(&export.definition);
            }
        }
    }
}

#[test]
fn every_task_retries_throttles_and_faults_and_nothing_else() {
    let text = "function \"f\", \"g\"\nalias \"live\"\nhealth {\n  error rate < 1%\n  alarm \"x\"\n}\npublish\nshift 5% to new\nwait 10m until healthy\napprove\npromote\n";
    let export = compile(&plan(text), &|_| 1, &|_| None).unwrap();
    let tasks = tasks(&export.definition);
    assert!(tasks.len() > 20);
    for (name, task) in tasks {
        let retry = &task["Retry"][0];
        let errors: Vec<&str> = retry["ErrorEquals"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no Retry"))
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        let resource = task["Resource"].as_str().unwrap();
        let throttle = if resource.contains(":lambda:") {
            "Lambda.TooManyRequestsException"
        } else if resource.contains(":cloudwatch:") {
            "CloudWatch.CloudWatchException"
        } else if resource.contains(":states:::states:") {
            "StepFunctions.ThrottlingException"
        } else {
            "Ssm.ThrottlingException"
        };
        assert!(errors.contains(&throttle), "{name}: {errors:?}");
        for never in [
            "States.ALL",
            "States.TaskFailed",
            "States.Runtime",
            "Lambda.PreconditionFailedException",
            "Lambda.ResourceNotFoundException",
            "Lambda.ResourceConflictException",
        ] {
            assert!(!errors.contains(&never), "{name} retries {never}");
        }
        assert_eq!(retry["JitterStrategy"], "FULL", "{name}");
        assert_eq!(retry["BackoffRate"], 2, "{name}");
        assert!(retry["MaxAttempts"].as_u64().unwrap() >= 3, "{name}");
    }
}

#[test]
fn tasks_are_in_the_partition_of_the_region() {
    let text = |region: &str| {
        format!("function \"f\"\nalias \"live\"\nregion \"{region}\"\npublish\nshift 5% to new\npromote\n")
    };
    for (region, prefix) in [
        ("cn-north-1", "arn:aws-cn:states:::aws-sdk:"),
        ("us-gov-west-1", "arn:aws-us-gov:states:::aws-sdk:"),
        ("eu-west-1", "arn:aws:states:::aws-sdk:"),
    ] {
        let export = compile(&plan(&text(region)), &|_| 1, &|_| None).unwrap();
        for (name, task) in tasks(&export.definition) {
            let resource = task["Resource"].as_str().unwrap();
            assert!(resource.starts_with(prefix), "{name}: {resource}");
        }
    }
}

/// The `'…'` literals of every intrinsic function in `value`.
fn literals(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::String(text) if key.ends_with(".$") && text.starts_with("States.") => {
                        let mut chars = text.chars();
                        while let Some(c) = chars.next() {
                            if c != '\'' {
                                continue;
                            }
                            let mut literal = String::new();
                            while let Some(c) = chars.next() {
                                match c {
                                    '\\' => {
                                        literal.push(c);
                                        literal.extend(chars.next());
                                    }
                                    '\'' => break,
                                    _ => literal.push(c),
                                }
                            }
                            out.push(literal);
                        }
                    }
                    other => literals(other, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| literals(v, out)),
        _ => {}
    }
}

#[test]
fn intrinsic_literals_hold_no_reserved_character_but_placeholders() {
    let text = "rollout \"it's {odd}\"\nfunction \"f\", \"g\"\nalias \"live\"\nhealth {\n  error rate < 1%\n  alarm \"a'{b}\"\n}\npublish\nramp to 50% by 10% every 1m\napprove\npromote\n";
    let export = compile(&plan(text), &|_| 1, &|_| None).unwrap();
    let mut found = Vec::new();
    literals(&export.definition, &mut found);
    assert!(found.len() > 10);
    for literal in found {
        // `{}` is a placeholder of States.Format; anything reserved else is escaped.
        let bare = literal.replace("{}", "");
        let mut chars = bare.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '{' | '}' | '\'' => panic!("{c:?} unescaped in '{literal}'"),
                _ => {}
            }
        }
    }
}

#[test]
fn a_field_aws_may_leave_out_is_tested_for_presence_first() {
    let text = "function \"f\"\nalias \"live\"\npublish\nshift 5% to new\npromote\n";
    let export = compile(&plan(text), &|_| 1, &|_| None).unwrap();
    let states = export.definition["States"].as_object().unwrap();
    for (name, state) in states.iter().filter(|(_, s)| s["Type"] == "Choice") {
        for rule in state["Choices"].as_array().unwrap() {
            let variable = rule["Variable"].as_str().unwrap_or_default();
            for field in ["LastUpdateStatus", ".version.State"] {
                assert!(
                    !variable.contains(field),
                    "{name} reads {variable} unguarded"
                );
            }
        }
    }
    let guarded = serde_json::to_string(&export.definition).unwrap();
    assert!(
        guarded.contains("{\"IsPresent\":true,\"Variable\":\"$.f0.latest.LastUpdateStatus\"}"),
        "{guarded}"
    );
}

#[test]
fn a_playbook_that_judges_nothing_creates_no_alarm() {
    let text = "function \"f\"\nalias \"live\"\nhealth {\n  error rate < 1%\n  alarm \"x\"\n}\npublish\nshift 5% to new\nwait 30d\npromote\n";
    let export = compile(&plan(text), &|_| 1, &|_| None).unwrap();
    assert_eq!(export.created_alarms, 0);
    assert!(export.alarms.is_empty());
    let definition = serde_json::to_string(&export.definition).unwrap();
    assert!(!definition.contains("putMetricAlarm"), "{definition}");
}

#[test]
fn a_bake_longer_than_one_history_continues_in_a_fresh_execution_of_the_same_definition() {
    for health in ["  error rate < 1%\n", "  alarm \"x\"\n"] {
        let text = format!("function \"f\", \"g\"\nalias \"live\"\nhealth every 10s {{\n{health}}}\npublish\nshift 5% to new\nwait 12h until healthy\npromote\n");
        let export = compile(&plan(&text), &|_| 1, &|_| None).unwrap();
        let definition = &export.definition;
        assert!(export.continues);
        assert_eq!(definition["StartAt"], "Start");
        assert_connected(definition);
        let start = &definition["States"]["Continue start"];
        assert_eq!(start["Resource"], "arn:aws:states:::states:startExecution");
        // The version the first execution ran (its input names it), carried along.
        assert_eq!(start["Arguments"]["StateMachineArn"], "{% $ver %}");
        assert!(start["Arguments"]["Input"]
            .as_str()
            .is_some_and(|i| i.contains("'ver': $ver")));
        let text = definition.to_string();
        assert!(!text.contains("@digest@"), "the digest is written in");
        // The bake's verdict continues once the execution has run its share; the fresh
        // execution goes on waiting in that bake.
        assert!(text.contains("S3 continue"), "{text}");
        assert_eq!(
            definition["States"]["Resume at"]["Choices"][0]["Next"],
            "S3 wait"
        );
        // The short bake fits in one execution: nothing of this.
        let short = short_bake(health);
        let export = compile(&plan(&short), &|_| 1, &|_| None).unwrap();
        assert!(!export.continues);
        assert_eq!(export.definition["StartAt"], "Begin");
    }
}

fn short_bake(health: &str) -> String {
    format!("function \"f\"\nalias \"live\"\nhealth every 10s {{\n{health}}}\npublish\nshift 5% to new\nwait 10m until healthy\npromote\n")
}

#[test]
fn a_playbook_with_windows_is_not_exported() {
    let text = "function \"f\"\nalias \"live\"\ncalendar \"ChangeFreeze\"\npublish\npromote\n";
    let problems = compile(&plan(text), &|_| 3, &|_| None).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.message.starts_with("windows:") && p.line == Some(3)),
        "{problems:?}"
    );
}

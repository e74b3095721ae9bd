//! A rollout longer than one execution's history: each execution of the exported state machine
//! looks at the health as often as its history budget allows, then continues in a fresh
//! execution that carries its data and goes on in the same bake. `--history-budget` makes that
//! happen within seconds here; at the default (20,000 events) it takes hours.

use crate::harness::*;
use crate::server::healthy;

/// The executions of the state machine `machine`, oldest first: name and status.
pub(crate) fn executions(aws: &Aws, machine: &str) -> Vec<(String, String)> {
    aws.runtime.block_on(async {
        let machines = aws
            .sfn
            .list_state_machines()
            .send()
            .await
            .expect("list state machines");
        let Some(arn) = machines
            .state_machines()
            .iter()
            .find(|m| m.name() == machine)
            .map(|m| m.state_machine_arn().to_string())
        else {
            return Vec::new();
        };
        let listed = aws
            .sfn
            .list_executions()
            .state_machine_arn(arn)
            .send()
            .await
            .expect("list executions");
        let mut found: Vec<(String, String, i64)> = listed
            .executions()
            .iter()
            .map(|e| {
                (
                    e.name().to_string(),
                    e.status().as_str().to_string(),
                    e.start_date().secs(),
                )
            })
            .collect();
        found.sort_by_key(|e| (e.2, e.0.len()));
        found.into_iter().map(|(n, s, _)| (n, s)).collect()
    })
}

/// The version of its state machine the execution `name` of `machine` runs, if one.
fn version_of(aws: &Aws, machine: &str, name: &str) -> Option<String> {
    aws.runtime.block_on(async {
        let arn = format!("arn:aws:states:us-east-1:123456789012:execution:{machine}:{name}");
        let described = aws
            .sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .expect("describe execution");
        described.state_machine_version_arn().map(str::to_string)
    })
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_bake_longer_than_an_execution_continues_in_fresh_ones_and_run_follows_it_to_the_promotion() {
    let aws = Aws::new();
    let f = unique("sfn-long");
    aws.function(&f, Some(2));
    healthy(&aws, &f);
    let dir = temp(&format!(
        "function \"{f}\"\nalias \"live\"\nhealth every 1s {{\n  metrics delay 0s\n  min invocations 100\n  error rate < 1%\n}}\npublish\nshift 5% to new\nwait 30s until healthy\npromote\n"
    ));
    let run = spawn(
        &dir,
        &on_step_functions(&["--history-budget", "2000", "--format", "json"]),
    );
    let machine = format!("rollout-{f}-live");
    wait_for("a continued execution", || {
        executions(&aws, &machine)
            .iter()
            .any(|(n, s)| n.ends_with("-c1") && s == "RUNNING")
    });
    // While a continuation runs, `status` finds it through the lease: running, not ended.
    let status = status_json(&dir, &f);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(
        status[0]["lease"]["holder"]
            .as_str()
            .is_some_and(|h| h.starts_with("sfn:")),
        "held by an execution: {status:#}"
    );
    let note = status[0]["note"].as_str().unwrap();
    assert!(!note.contains("has ended"), "{note}");
    let out = run.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    ended(&out, &events(&out), "promoted", 0);
    // The first execution and its continuations, each ended; the last promoted.
    let all = executions(&aws, &machine);
    assert!(all.len() >= 2, "{all:?}");
    let first = &all[0].0;
    // `run` published the definition as a version and started it; each continuation started
    // that same version.
    let version = version_of(&aws, &machine, first).expect("the first execution runs a version");
    assert!(
        version.starts_with(&format!(
            "arn:aws:states:us-east-1:123456789012:stateMachine:{machine}:"
        )),
        "{version}"
    );
    for (i, (name, status)) in all.iter().enumerate() {
        assert_eq!(status, "SUCCEEDED", "{all:?}");
        if i > 0 {
            assert_eq!(name, &format!("{first}-c{i}"), "{all:?}");
        }
        assert_eq!(
            version_of(&aws, &machine, name).as_ref(),
            Some(&version),
            "{name}"
        );
    }
    assert_eq!(aws.alias(&f), ("2".to_string(), vec![]), "promoted");
    assert_eq!(
        marker(&aws, &f),
        None,
        "the last execution cleared the lease"
    );
}

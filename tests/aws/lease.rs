//! The lease across processes: a second runner stops with exit 4, a killed runner is resumed (on
//! the same machine, without `--take-over`) or rolled back from another process, `approve`
//! releases a gate (also of a runner whose `user@host` is too long for the marker), `rollback`
//! restores old.

use aws_sdk_lambda::primitives::Blob;
use serde_json::Value;

use crate::harness::*;

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_second_run_on_a_held_alias_stops_with_exit_4_and_names_the_holder() {
    let aws = Aws::new();
    let f = unique("held");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let dir = temp(&canary(&[&f], "").edit("wait 2s until healthy", "wait 4s until healthy"));
    let first = spawn(&dir, &["run", "--yes", "p.rollout"]);
    wait_for("the first run to take the lease", || {
        marker(&aws, &f).is_some()
    });
    let holder = holder(&marker(&aws, &f).unwrap());
    let second = rollout(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    assert_eq!(second.status.code(), Some(4), "{}", text(&second));
    let events = events(&second);
    let outcome = ended(&second, &events, "conflict", 4);
    assert!(
        outcome.message.contains(&holder),
        "names {holder}: {outcome:?}"
    );
    assert_eq!(
        events_of_kind(&events, "alias_updated").len(),
        0,
        "the second run wrote nothing: {}",
        text(&second)
    );
    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "the first run is undisturbed: {}",
        text(&first)
    );
    assert_eq!(aws.alias(&f), ("2".to_string(), vec![]));
    assert_eq!(marker(&aws, &f), None, "the lease is released");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn killed_at_every_step_then_resumed_or_rolled_back_never_leaves_a_split() {
    let aws = Aws::new();
    let playbook = |f: &str| {
        format!(
            "function {f:?}\nalias \"live\"\nhealth every 1s {{\n  metrics delay 0s\n  min invocations 10\n  error rate < 1%\n}}\npublish\nwait 2s\nshift 5% to new\nwait 2s until healthy\nshift 50% to new\nwait 2s until healthy\npromote\n"
        )
    };
    let mut kill_points = 0;
    // The runner spends time in steps 2 (after publish), 4 (5% on new) and 6 (50% on new); each
    // is killed once and recovered by resume or rollback in turn.
    for step in [2, 4, 6, 2, 4, 6] {
        let f = unique(&format!("kill{step}"));
        aws.function(&f, Some(2));
        aws.metrics(&f, "2", 1000.0, 0.0);
        let dir = temp(&playbook(&f));
        let mut child = spawn(&dir, &["run", "--yes", "p.rollout"]);
        let needle = format!(" s={step}/7 ");
        wait_for(&format!("step {step}"), || {
            marker(&aws, &f).is_some_and(|m| m.contains(&needle))
        });
        child.kill().unwrap(); // SIGKILL: no chance to clean up
        let _ = child.wait();
        kill_points += 1;
        assert!(marker(&aws, &f).is_some(), "the lease outlives the runner");
        let by_rollback = kill_points % 2 == 1;
        let recover = if by_rollback {
            rollout(
                &dir,
                &["rollback", "--yes", "--function", &f, "--alias", "live"],
            )
        } else {
            // The runner was of this machine and its process is gone: no --take-over needed.
            let resumed = rollout(&dir, &["resume", "--yes", "--format", "json", "p.rollout"]);
            let events = events(&resumed);
            assert_eq!(
                events_of_kind(&events, "taking_over").len(),
                1,
                "step {step}: the lease of the ended runner is taken over: {}",
                text(&resumed)
            );
            let from: Vec<&Value> = events_of_kind(&events, "resumed")
                .iter()
                .map(|e| &e["step"])
                .collect();
            assert_eq!(from, [step], "step {step}: {}", text(&resumed));
            let outcome = outcome(&events);
            assert_eq!(
                (outcome.name.as_str(), outcome.exit_code),
                ("promoted", 0),
                "step {step}: {}",
                text(&resumed)
            );
            resumed
        };
        assert_eq!(
            recover.status.code(),
            Some(0),
            "step {step}: {}",
            text(&recover)
        );
        let (version, routing) = aws.alias(&f);
        assert!(
            routing.is_empty(),
            "step {step}: left split: {routing:?}; {}",
            text(&recover)
        );
        let expected = if by_rollback { "1" } else { "2" };
        assert_eq!(version, expected, "step {step}: {}", text(&recover));
        assert_eq!(marker(&aws, &f), None, "step {step}: lease cleared");
    }
    println!("killed the runner at {kill_points} step boundaries; every alias ended on old or new");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn approve_releases_a_waiting_gate_from_another_process() {
    let aws = Aws::new();
    let f = unique("gate");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let dir = temp(&canary(&[&f], "").edit("promote", "approve \"ship it?\"\npromote"));
    let runner = spawn(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    wait_for("the gate", || {
        marker(&aws, &f).is_some_and(|m| m.contains(" g=1 "))
    });
    let status = rollout(&dir, &["status", "--function", &f, "--alias", "live"]);
    let said = String::from_utf8_lossy(&status.stdout);
    assert!(
        said.contains(&format!(
            "waiting for approval: `rollout approve --function {f} --alias live` releases it"
        )) && said.contains("last heard from")
            && !said.contains("Unix seconds"),
        "{}",
        text(&status)
    );
    let approve = command(&dir, &["approve", "--function", &f, "--alias", "live"])
        .env("USER", "carol")
        .output()
        .unwrap();
    assert_eq!(approve.status.code(), Some(0), "{}", text(&approve));
    let runner = runner.wait_with_output().unwrap();
    assert_eq!(runner.status.code(), Some(0), "{}", text(&runner));
    let events = events(&runner);
    let approved: Vec<&str> = events_of_kind(&events, "approved")
        .iter()
        .map(|e| e["by"].as_str().unwrap())
        .collect();
    assert_eq!(approved.len(), 1, "{}", text(&runner));
    assert!(
        approved[0].starts_with("carol@") && approved[0].ends_with(" (`rollout approve`)"),
        "who approved: {approved:?}"
    );
    assert_eq!(outcome(&events).name, "promoted", "{}", text(&runner));
    assert_eq!(
        traffic(&events, &f),
        [split("1", "2", 0.05), unsplit("2")],
        "{}",
        text(&runner)
    );
    let at = |found: &dyn Fn(&Value) -> bool| events.iter().position(found).unwrap();
    assert!(
        at(&|e| e["event"] == "approved") < at(&|e| e["after"]["version"] == "2"),
        "new serves alone only after the approval: {}",
        text(&runner)
    );
    assert_eq!(aws.alias(&f), unsplit("2"));
    let again = rollout(&dir, &["approve", "--function", &f, "--alias", "live"]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "nothing waits any more: {}",
        text(&again)
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_runner_with_a_long_user_at_host_is_released_by_approve_and_promotes() {
    let aws = Aws::new();
    let f = unique("long");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let dir = temp(&canary(&[&f], "").edit("promote", "approve \"ship it?\"\npromote"));
    let user = "release-bot-of-the-checkout-platform-team";
    let runner = spawn_as(&dir, &["run", "--yes", "p.rollout"], user);
    wait_for("the gate", || {
        marker(&aws, &f).is_some_and(|m| m.contains(" g=1 "))
    });
    let held = marker(&aws, &f).unwrap();
    assert!(held.contains(&format!("h={}", &user[..8])), "{held}");
    let approve = rollout(&dir, &["approve", "--function", &f, "--alias", "live"]);
    assert_eq!(approve.status.code(), Some(0), "{}", text(&approve));
    let runner = runner.wait_with_output().unwrap();
    assert_eq!(runner.status.code(), Some(0), "{}", text(&runner));
    assert_eq!(aws.alias(&f), ("2".to_string(), vec![]));
    assert_eq!(marker(&aws, &f), None, "lease released");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn rollback_restores_the_primary_of_a_hand_made_split_and_refuses_a_changed_alias() {
    let aws = Aws::new();
    let f = unique("handsplit");
    aws.function(&f, Some(2));
    let split = |version: &str, weights: &[(&str, f64)], description: &str| {
        aws.runtime.block_on(async {
            let routing = aws_sdk_lambda::types::AliasRoutingConfiguration::builder()
                .set_additional_version_weights(Some(
                    weights.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
                ))
                .build();
            aws.lambda
                .publish_version()
                .function_name(&f)
                .send()
                .await
                .unwrap();
            aws.lambda
                .update_alias()
                .function_name(&f)
                .name("live")
                .function_version(version)
                .routing_config(routing)
                .description(description)
                .send()
                .await
                .unwrap();
        })
    };
    split("1", &[("2", 0.3)], "by hand");
    let dir = temp("publish; promote\n");
    let out = rollout(
        &dir,
        &["rollback", "--yes", "--function", &f, "--alias", "live"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]));

    // A lease that says old 1 / new 2, on an alias someone has since pointed at version 3.
    aws.runtime.block_on(async {
        aws.lambda
            .update_function_code()
            .function_name(&f)
            .zip_file(Blob::new(zip(3)))
            .send()
            .await
            .unwrap();
    });
    split(
        "3",
        &[],
        "[rollout h=x@y:1 p=z s=2/4 o=1 n=2 t=1 b=1 g=0 a=0]",
    );
    let out = rollout(
        &dir,
        &["rollback", "--yes", "--function", &f, "--alias", "live"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(aws.alias(&f).0, "3", "nothing overwritten");
    let out = rollout(&dir, &["rollback", "--function", &f, "--alias", "live"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no terminal and no --yes is a usage error, as for run: {}",
        text(&out)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --yes"));
    assert_eq!(aws.alias(&f).0, "3", "nothing done");
}

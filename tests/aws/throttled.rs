//! Server-side rollouts under throttling: moto's Step Functions interpreter sends its aws-sdk
//! tasks through `scripts/throttle_proxy.py` (scripts/moto.sh sets it up), which answers the calls
//! a test names with the error AWS gives a throttled caller (Lambda's 429
//! `TooManyRequestsException`, CloudWatch's `Throttling`). The exported tasks retry those with
//! backoff, so a healthy canary still ends promoted and an unhealthy one still puts old back; a
//! restore that cannot write at all ends with exit 5 and the `rollout rollback` that finishes it.
//!
//! Each test's rules match only its own function's calls (its path for Lambda, its alarm's name
//! for CloudWatch), so they run alongside the other tests, and each checks that the proxy really
//! throttled, so none can pass without meeting a throttle.

use std::io::{Read, Write};

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::{json, Value};

use crate::harness::*;
use crate::server::{canary_with_alarm, healthy};

/// The rules of the throttling proxy tagged with one test's function, removed when dropped.
struct Throttle {
    tag: String,
}

impl Throttle {
    /// Throttles, for `function` and its alarm `{function}-errors`, the calls `rules` name:
    /// each `(operation, every)`, `every` 2 answering every other call (the first included), 1
    /// every call.
    fn new(function: &str, rules: &[(&str, u32)]) -> Throttle {
        let throttle = Throttle {
            tag: function.to_string(),
        };
        throttle.add(function, rules);
        throttle
    }

    fn add(&self, function: &str, rules: &[(&str, u32)]) {
        let rules: Vec<Value> = rules
            .iter()
            .map(|&(operation, every)| {
                // Where the function shows in the call: Lambda's path, CloudWatch's alarm names.
                let contains = if operation.starts_with("lambda.") {
                    format!("/functions/{function}/")
                } else {
                    format!("\"{function}-errors\"")
                };
                json!({"match": operation, "every": every, "contains": contains, "tag": self.tag})
            })
            .collect();
        control("POST", "", &json!({ "rules": rules }).to_string());
    }

    /// How many calls each of this test's rules matched and how many it throttled, by operation.
    fn counts(&self) -> Vec<(String, u64, u64)> {
        let listed: Value = serde_json::from_str(&control("GET", "", "")).unwrap();
        listed["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|rule| rule["tag"] == self.tag.as_str())
            .map(|rule| {
                (
                    rule["match"].as_str().unwrap().to_string(),
                    rule["seen"].as_u64().unwrap(),
                    rule["throttled"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    /// How many calls of `operation` the proxy throttled.
    fn throttled(&self, operation: &str) -> u64 {
        self.counts()
            .iter()
            .filter(|(name, _, _)| name == operation)
            .map(|(_, _, throttled)| throttled)
            .sum()
    }
}

impl Drop for Throttle {
    fn drop(&mut self) {
        control("DELETE", &format!("?tag={}", self.tag), "");
    }
}

/// `method` on the proxy's `/__rules` (`ROLLOUT_THROTTLE_CONTROL`) with `body`: its answer's body.
fn control(method: &str, query: &str, body: &str) -> String {
    let url = std::env::var("ROLLOUT_THROTTLE_CONTROL").unwrap_or_else(|_| {
        panic!(
            "the throttling tests need the proxy scripts/moto.sh starts in front of moto's Step \
             Functions interpreter (ROLLOUT_THROTTLE_CONTROL=http://127.0.0.1:PORT/__rules): run \
             `scripts/test`"
        )
    });
    let rest = url.trim_start_matches("http://");
    let (address, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(address).expect("the throttling proxy");
    write!(
        stream,
        "{method} {path}{query} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{answer}");
    body.to_string()
}

/// `rollout run --on step-functions --format json` of `dir/p.rollout`, left running.
fn follow(dir: &std::path::Path) -> std::process::Child {
    spawn(dir, &on_step_functions(&["--format", "json"]))
}

/// Every other alias write and every other alarm read of the execution.
const EVERY_OTHER: &[(&str, u32)] = &[("lambda.UpdateAlias", 2), ("cloudwatch.DescribeAlarms", 2)];

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_healthy_canary_with_every_other_write_and_read_throttled_ends_promoted() {
    let aws = Aws::new();
    let (f, _, dir) = canary_with_alarm(&aws, "thr-ok", 3, "");
    let throttle = Throttle::new(&f, EVERY_OTHER);
    let out = follow(&dir).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    ended(&out, &events(&out), "promoted", 0);
    assert_eq!(aws.alias(&f), unsplit("2"), "new, unsplit");
    assert_eq!(marker(&aws, &f), None, "lease cleared");
    let counts = throttle.counts();
    assert!(
        throttle.throttled("lambda.UpdateAlias") >= 2
            && throttle.throttled("cloudwatch.DescribeAlarms") >= 2,
        "the proxy throttled too little: {counts:?}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn an_unhealthy_canary_with_every_other_write_and_read_throttled_puts_old_back_with_exit_1() {
    let aws = Aws::new();
    let (f, alarm, dir) = canary_with_alarm(&aws, "thr-alarm", 20, "");
    let throttle = Throttle::new(&f, EVERY_OTHER);
    let child = follow(&dir);
    wait_for("the canary", || !aws.alias(&f).1.is_empty());
    aws.alarm(&alarm, StateValue::Alarm);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    ended(&out, &events(&out), "rolled_back", 1);
    assert_eq!(aws.alias(&f), unsplit("1"), "old serves everything");
    assert_eq!(marker(&aws, &f), None, "lease cleared");
    let counts = throttle.counts();
    assert!(
        throttle.throttled("lambda.UpdateAlias") >= 2
            && throttle.throttled("cloudwatch.DescribeAlarms") >= 2,
        "the proxy throttled too little: {counts:?}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_restore_that_cannot_write_exits_5_naming_the_rollback_that_finishes_it() {
    let aws = Aws::new();
    let (f, alarm, dir) = canary_with_alarm(&aws, "thr-stuck", 60, "");
    let child = follow(&dir);
    wait_for("the canary", || !aws.alias(&f).1.is_empty());
    // From the moment the bake fails, every alias write is throttled.
    let throttle = Throttle::new(&f, &[("lambda.UpdateAlias", 1)]);
    aws.alarm(&alarm, StateValue::Alarm);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let outcome = ended(&out, &events(&out), "restore_failed", 5);
    let command = format!("rollout rollback --function {f} --alias live");
    assert!(
        outcome.message.ends_with(&command),
        "names the command that finishes the restore: {outcome:?}"
    );
    let counts = throttle.counts();
    assert!(
        throttle.throttled("lambda.UpdateAlias") >= 6,
        "every attempt of the restore's write is throttled: {counts:?}"
    );
    assert!(
        !aws.alias(&f).1.is_empty(),
        "the restore wrote nothing: the canary still splits"
    );

    // Once the throttling ends, the command it names restores old.
    drop(throttle);
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
fn a_lease_that_cannot_be_written_restores_only_what_was_leased() {
    let aws = Aws::new();
    let (first, second) = (unique("thr-lease-a"), unique("thr-lease-b"));
    aws.function(&first, Some(2));
    healthy(&aws, &first);
    aws.function(&second, Some(2));
    healthy(&aws, &second);
    let dir = temp(&canary(&[&first, &second], ""));
    // The second alias can never be written: its lease fails once the first is taken.
    let throttle = Throttle::new(&second, &[("lambda.UpdateAlias", 1)]);
    let out = follow(&dir).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let outcome = ended(&out, &events(&out), "rolled_back", 1);
    assert!(
        !outcome.message.contains("someone else changed"),
        "an alias this execution never leased is not someone else's change: {outcome:?}"
    );
    for f in [&first, &second] {
        assert_eq!(aws.alias(f), ("1".to_string(), vec![]), "{f} as it was");
        assert_eq!(marker(&aws, f), None, "{f}: no lease");
    }
    assert!(
        throttle.throttled("lambda.UpdateAlias") >= 7,
        "the lease was tried and retried: {:?}",
        throttle.counts()
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_fleet_whose_promotion_fails_halfway_is_partly_restored_not_rolled_back() {
    let aws = Aws::new();
    let (first, second) = (unique("thr-half-a"), unique("thr-half-b"));
    // The first function's new version is 3, the second's 2: only the second's promotion (the
    // one write that puts version 2 in front) is refused.
    aws.function(&first, Some(2));
    aws.metrics(&first, "1", 950.0, 0.0);
    aws.metrics(&first, "3", 50.0, 0.0);
    aws.runtime.block_on(async {
        aws.lambda
            .publish_version()
            .function_name(&first)
            .send()
            .await
            .expect("publish version 2");
        aws.lambda
            .update_function_code()
            .function_name(&first)
            .zip_file(aws_sdk_lambda::primitives::Blob::new(zip(3)))
            .send()
            .await
            .expect("update code");
    });
    aws.function(&second, Some(2));
    healthy(&aws, &second);
    let dir = temp(&canary(&[&first, &second], ""));
    let throttle = Throttle {
        tag: second.clone(),
    };
    let rule = json!({"rules": [{"match": "lambda.UpdateAlias", "all": true, "contains": "\"FunctionVersion\": \"2\"", "tag": second}]});
    control("POST", "", &rule.to_string());
    let out = follow(&dir).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let outcome = outcome(&events(&out));
    assert_eq!(
        (outcome.name.as_str(), outcome.exit_code),
        ("partly_restored", 5),
        "not rolled back: {}",
        text(&out)
    );
    assert!(
        outcome.message.contains("was left as it is"),
        "says an alias was left: {outcome:?}"
    );
    assert_eq!(
        aws.alias(&first),
        ("3".to_string(), vec![]),
        "promoted before the failure"
    );
    assert_eq!(aws.alias(&second), ("1".to_string(), vec![]), "restored");
    assert_eq!(marker(&aws, &second), None, "lease cleared");
    assert!(
        throttle.throttled("lambda.UpdateAlias") >= 7,
        "the promotion was tried and retried: {:?}",
        throttle.counts()
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn an_approve_gate_whose_parameters_are_throttled_still_waits_and_goes_on() {
    let aws = Aws::new();
    let (f, _, dir) = canary_with_alarm(&aws, "thr-gate", 1, "approve \"go?\"\n");
    // Every other SSM write of the execution (where it records itself, where its gate leaves
    // the task token) is throttled.
    let throttle = Throttle { tag: f.clone() };
    let rule = json!({"rules": [{"match": "ssm.PutParameter", "every": 2, "contains": format!("/rollout/{f}/"), "tag": f}]});
    control("POST", "", &rule.to_string());
    let child = follow(&dir);
    wait_for("the gate", || {
        marker(&aws, &f).is_some_and(|m| m.contains("g=1"))
    });
    // The token lands once its write is retried: until then `approve` says to try again.
    let mut approved = None;
    for _ in 0..60 {
        let out = rollout(&dir, &["approve", "--function", &f, "--alias", "live"]);
        if out.status.code() == Some(0) {
            approved = Some(out);
            break;
        }
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("has not reached its gate yet"),
            "{}",
            text(&out)
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(approved.is_some(), "the gate's token never arrived");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    ended(&out, &events(&out), "promoted", 0);
    assert_eq!(aws.alias(&f), unsplit("2"), "promoted");
    assert!(
        throttle.throttled("ssm.PutParameter") >= 2,
        "the proxy throttled too little: {:?}",
        throttle.counts()
    );
}

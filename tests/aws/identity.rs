//! Who holds a lease, told apart by more than `user@host:pid`: a fresh lease of an identical
//! container (same user, host name and pid) is never taken over by `resume` without
//! `--take-over`, and a second `approve` never replaces the approver who released the gate.

use crate::harness::*;

/// Sets the description of `function`:live, which serves version 1.
fn describe(aws: &Aws, function: &str, description: &str) {
    aws.runtime.block_on(async {
        aws.lambda
            .update_alias()
            .function_name(function)
            .name("live")
            .function_version("1")
            .description(description)
            .send()
            .await
            .expect("update alias");
    });
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `user@host` as `rollout` run by these tests sees it.
fn user_at_host() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".to_string());
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_string())
        .find(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{user}@{host}")
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn resume_never_takes_a_fresh_lease_of_an_identical_container() {
    let aws = Aws::new();
    let f = unique("twin");
    aws.function(&f, Some(2));
    // A process id that has ended here, as a twin container's runner would have had.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let beat = now();
    let lease = format!(
        "[rollout h={}:{pid} i=0badc0de.00c0ffee p=canary s=1/4 o=1 n=- t={beat} b={beat} g=0 a=0]",
        user_at_host()
    );
    describe(&aws, &f, &lease);
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(&dir, &["resume", "--yes", "--format", "json", "p.rollout"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let events = events(&out);
    ended(&out, &events, "conflict", 4);
    assert_eq!(
        events_of_kind(&events, "taking_over").len(),
        0,
        "{}",
        text(&out)
    );
    assert_eq!(
        marker(&aws, &f).as_deref(),
        Some(lease.as_str()),
        "untouched"
    );
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]));
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_second_approval_keeps_the_first_approver() {
    let aws = Aws::new();
    let f = unique("approved");
    aws.function(&f, Some(2));
    let beat = now();
    // Alice's approval is written; the runner has not taken it in yet.
    let lease = format!(
        "[rollout h=runner@ci:7 i=1a2b3c4d.5e6f7a8b p=canary s=3/4 o=1 n=- t={beat} b={beat} g=1 a=alice@desk]"
    );
    describe(&aws, &f, &lease);
    let dir = temp(&canary(&[&f], ""));
    let out = command(&dir, &["approve", "--function", &f, "--alias", "live"])
        .env("USER", "bob")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("already approved by alice@desk"),
        "{}",
        text(&out)
    );
    assert_eq!(
        marker(&aws, &f).as_deref(),
        Some(lease.as_str()),
        "alice stays"
    );
}

//! Stopping a run: Ctrl-C, SIGTERM (how CI cancels) and SIGHUP (a closed terminal) during a bake
//! restore old and clear the lease, exit 3; a second signal stops at once and says what was left.

use std::process::{Child, Command};

use crate::harness::*;

/// Sends `signal` (`INT`, `TERM`, `HUP`) to `child` with the shell's own `kill`.
fn send(signal: &str, child: &Child) {
    let status = Command::new("sh")
        .args(["-c", &format!("kill -{signal} {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A canary on a new function whose bake lasts a minute, started with `--format json` and
/// waited for until `new` has traffic.
fn canary_in_its_bake(aws: &Aws, name: &str) -> (String, Child) {
    let f = unique(name);
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let dir = temp(&canary(&[&f], "").edit("wait 2s until healthy", "wait 60s until healthy"));
    let child = spawn(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    wait_for("the canary", || !aws.alias(&f).1.is_empty());
    (f, child)
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn ctrl_c_sigterm_and_sighup_roll_back_clear_the_lease_and_exit_3() {
    let aws = Aws::new();
    for (signal, said) in [
        ("INT", "interrupted (Ctrl-C): rolling back to old"),
        ("TERM", "terminated (SIGTERM): rolling back to old"),
        ("HUP", "hung up (SIGHUP): rolling back to old"),
    ] {
        let (f, child) = canary_in_its_bake(&aws, &format!("signal-{signal}"));
        send(signal, &child);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{signal}: {}", text(&out));
        let events = events(&out);
        let outcome = outcome(&events);
        assert_eq!(
            (outcome.name.as_str(), outcome.exit_code),
            ("interrupted", 3),
            "{signal}: {}",
            text(&out)
        );
        assert_eq!(
            traffic(&events, &f),
            [split("1", "2", 0.05), unsplit("1")],
            "{signal}: the canary, then old alone: {}",
            text(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(said),
            "{signal}: {}",
            text(&out)
        );
        assert_eq!(
            aws.alias(&f),
            unsplit("1"),
            "{signal}: old serves everything again"
        );
        assert_eq!(marker(&aws, &f), None, "{signal}: lease cleared");
    }
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_second_signal_stops_at_once_and_says_what_was_left() {
    let aws = Aws::new();
    // The rollback cannot finish: the endpoint goes silent first.
    let proxy = Proxy::start(&endpoint());
    let f = unique("twice");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let dir = temp(&canary(&[&f], "").edit("wait 2s until healthy", "wait 60s until healthy"));
    let child = command_at(&dir, &["run", "--yes", "p.rollout"], &proxy.url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the canary", || !aws.alias(&f).1.is_empty());
    proxy.silence(true);
    send("TERM", &child);
    std::thread::sleep(std::time::Duration::from_millis(500));
    send("TERM", &child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("again: stopped at once")
            && stderr.contains(&format!(
                "{f}:live serves version 1 (95.00%) + version 2 (5.00%)"
            ))
            && stderr.contains(&format!("rollout rollback --function {f} --alias live")),
        "{}",
        text(&out)
    );
    assert_eq!(
        aws.alias(&f),
        split("1", "2", 0.05),
        "the alias is left as it says"
    );
    assert!(
        marker(&aws, &f).is_some(),
        "the lease stays for the rollback it names"
    );
}

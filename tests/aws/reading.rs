//! Commands that only read: `status` and `plan --live`.

use crate::harness::*;

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn status_and_live_plan_read_without_writing() {
    let aws = Aws::new();
    let f = unique("status");
    aws.function(&f, Some(2));
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(&dir, &["status", "--function", &f, "--alias", "live"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{f}:live serves version 1 (100%)")),
        "{stdout}"
    );
    assert!(stdout.contains("no rollout in progress"), "{stdout}");

    let out = rollout(&dir, &["plan", "--live", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{f}:live serves version 1 (100%): old = 1")),
        "{stdout}"
    );
    assert!(
        stdout.contains("$LATEST differs from version 1: publish creates a new version"),
        "{stdout}"
    );
    // What was read is written into the calls: old is version 1.
    assert!(
        stdout.contains("--function-version 1 --routing-config")
            && !stdout.contains("--function-version '<old>'"),
        "{stdout}"
    );
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]));

    let out = rollout(&dir, &["status", "--function", "nope", "--alias", "live"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

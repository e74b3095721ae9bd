//! Ctrl-C during a bake: old serves everything again, exit 3.

use std::process::Command;

use crate::harness::*;

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn ctrl_c_rolls_back_and_exits_3() {
    let aws = Aws::new();
    let f = unique("interrupt");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let dir = temp(&canary(&[&f], "").replace("wait 2s until healthy", "wait 60s until healthy"));
    let child = spawn(&dir, &["run", "--yes", "p.rollout"]);
    // Wait until the canary is live, then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while aws.alias(&f).1.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the canary never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SIGINT, as Ctrl-C sends it; the shell's own `kill` needs no extra package.
    let status = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted: rolling back to old"),
        "{}",
        text(&out)
    );
    assert_eq!(
        aws.alias(&f),
        ("1".to_string(), vec![]),
        "old serves everything again"
    );
}

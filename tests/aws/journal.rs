//! The audit journal: every event of a run, as JSON lines, without credentials.

use crate::harness::*;

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn every_event_goes_to_the_journal() {
    let aws = Aws::new();
    let f = unique("journal");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(
        &dir,
        &[
            "run",
            "--yes",
            "--journal",
            "audit/rollouts.jsonl",
            "p.rollout",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let journal = std::fs::read_to_string(dir.join("audit/rollouts.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["event"], "started");
    assert_eq!(events.last().unwrap()["event"], "finished");
    assert!(events
        .iter()
        .any(|e| e["event"] == "alias_updated" && e["after"]["routing"]["2"] == 0.05));
    assert!(
        !journal.contains("testing"),
        "no credentials in the journal"
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_journal_that_cannot_be_written_is_said_at_the_end() {
    let aws = Aws::new();
    let f = unique("journal-full");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(
        &dir,
        &["run", "--yes", "--journal", "/dev/full", "p.rollout"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        aws.alias(&f),
        unsplit("2"),
        "the rollout goes on without its journal"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warning: the journal /dev/full lost"),
        "{}",
        text(&out)
    );
}

//! Waves on moto: three regions, the third in another account reached through its role (moto
//! keeps regions apart by the request's signature, and accounts by the credentials AssumeRole
//! gives). A waved rollout promotes everywhere; a bad region is rolled back in its wave and the
//! later waves are never touched; a runner killed in the second wave is resumed from another
//! HOME and finishes.

use std::path::PathBuf;

use serde_json::Value;

use crate::harness::*;

const OTHER: &str = "222222222222";

/// The three places of the waves, with clients for each.
fn places() -> [(&'static str, Aws); 3] {
    [
        ("us-east-1", Aws::in_region("us-east-1")),
        ("eu-west-1", Aws::in_region("eu-west-1")),
        ("us-west-2", Aws::in_account("us-west-2", OTHER)),
    ]
}

/// `f` in every place, its `$LATEST` ahead of `live`, and version 2's metrics as `errors` say.
fn functions(places: &[(&str, Aws)], f: &str, errors: &[f64]) {
    for ((_, aws), errors) in places.iter().zip(errors) {
        aws.function(f, Some(2));
        aws.metrics(f, "2", 1000.0, *errors);
    }
}

fn playbook(f: &str, bake: &str) -> String {
    format!(
        "function {f:?}
alias \"live\"
health every 1s {{
  metrics delay 0s
  min invocations 10
  error rate < 1%
}}
waves {{
  wave \"first\" {{ region \"us-east-1\" }}
  wave \"second\" {{ region \"eu-west-1\" }}
  wave \"third\" {{
    region \"us-west-2\"
    account \"{OTHER}\" role \"arn:aws:iam::{OTHER}:role/rollout\" external id \"rollout-tests\"
  }}
  between waves wait 2s until healthy
}}
publish
shift 10% to new
wait {bake} until healthy
promote
"
    )
}

/// A healthy function `prefix-…` in every place, and a runner of the playbook killed (SIGKILL:
/// no chance to clean up) in the second wave's bake; the function and the playbook's directory.
fn killed_in_the_second_wave(places: &[(&str, Aws)], prefix: &str) -> (String, PathBuf) {
    let f = unique(prefix);
    functions(places, &f, &[0.0, 0.0, 0.0]);
    let dir = temp(&playbook(&f, "6s"));
    let mut child = spawn(&dir, &["run", "--yes", "p.rollout"]);
    wait_for("the second wave's bake", || {
        marker(&places[1].1, &f).is_some_and(|m| m.contains(" s=3/4 "))
    });
    child.kill().unwrap();
    let _ = child.wait();
    (f, dir)
}

/// The waves' own events, in words.
fn waves(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e["event"].as_str()? {
            "wave_started" => Some(format!("started {}", e["wave"].as_str()?)),
            "wave_passed" => Some(format!("passed {}", e["wave"].as_str()?)),
            "wave_failed" => Some(format!(
                "failed {}, skipped {}",
                e["wave"].as_str()?,
                e["skipped"].as_array()?.len()
            )),
            _ => None,
        })
        .collect()
}

/// The summary line: outcome and exit code.
fn summary(events: &[Value]) -> (String, i64) {
    let summary = events_of_kind(events, "summary");
    assert_eq!(summary.len(), 1, "{events:#?}");
    (
        summary[0]["outcome"]["outcome"]
            .as_str()
            .unwrap()
            .to_string(),
        summary[0]["exit_code"].as_i64().unwrap(),
    )
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn three_waves_over_three_regions_and_two_accounts_promote_everywhere() {
    let places = places();
    let f = unique("waves");
    functions(&places, &f, &[0.0, 0.0, 0.0]);
    let dir = temp(&playbook(&f, "2s"));
    let out = rollout(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    let events = events(&out);
    assert_eq!(
        summary(&events),
        ("promoted".to_string(), 0),
        "{}",
        text(&out)
    );
    assert_eq!(
        waves(&events),
        [
            "started first",
            "passed first",
            "started second",
            "passed second",
            "started third",
            "passed third"
        ],
        "{}",
        text(&out)
    );
    for (region, aws) in &places {
        assert_eq!(aws.alias(&f), ("2".to_string(), vec![]), "{region}");
        assert_eq!(marker(aws, &f), None, "{region}: the lease is released");
    }
    // Each region's events name it; the other account's by its id.
    let published: Vec<&str> = events_of_kind(&events, "published")
        .iter()
        .filter_map(|e| e["region"].as_str())
        .collect();
    assert_eq!(
        published,
        ["us-east-1", "eu-west-1", "222222222222/us-west-2"]
    );
    // `plan --live` reads every region and account, read-only.
    let live = rollout(&dir, &["plan", "--live", "p.rollout"]);
    let text_live = String::from_utf8_lossy(&live.stdout);
    for region in ["us-east-1", "eu-west-1", "222222222222/us-west-2"] {
        assert!(
            text_live.contains(&format!(":live in {region} serves version 2 (100%)")),
            "{}",
            text(&live)
        );
    }
    // `status` with the playbook reads every region and account.
    let status = rollout(&dir, &["status", "p.rollout", "--format", "json"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let statuses: Vec<Value> = serde_json::from_slice(&status.stdout).unwrap();
    let regions: Vec<(&str, &str)> = statuses
        .iter()
        .map(|s| {
            (
                s["region"].as_str().unwrap(),
                s["serves"]["version"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        regions,
        [
            ("us-east-1", "2"),
            ("eu-west-1", "2"),
            ("222222222222/us-west-2", "2")
        ]
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn an_unhealthy_second_region_is_rolled_back_and_the_third_never_starts() {
    let places = places();
    let f = unique("wavebad");
    functions(&places, &f, &[0.0, 100.0, 0.0]);
    let dir = temp(&playbook(&f, "2s"));
    let out = rollout(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    let events = events(&out);
    assert_eq!(
        summary(&events),
        ("rolled_back".to_string(), 1),
        "{}",
        text(&out)
    );
    assert_eq!(
        waves(&events),
        [
            "started first",
            "passed first",
            "started second",
            "failed second, skipped 1"
        ],
        "{}",
        text(&out)
    );
    let [(_, first), (_, second), (_, third)] = &places;
    assert_eq!(
        first.alias(&f),
        ("2".to_string(), vec![]),
        "the first wave keeps new"
    );
    assert_eq!(second.alias(&f), ("1".to_string(), vec![]), "old again");
    assert_eq!(third.alias(&f), ("1".to_string(), vec![]));
    assert_eq!(
        third.versions(&f),
        2,
        "nothing published in the third wave: $LATEST and 1"
    );
    for (region, aws) in &places {
        assert_eq!(marker(aws, &f), None, "{region}: no lease left");
    }
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn killed_in_the_second_wave_and_resumed_from_another_home_it_finishes() {
    let places = places();
    let (f, dir) = killed_in_the_second_wave(&places, "waveresume");
    let [(_, first), _, (_, third)] = &places;
    assert!(
        marker(first, &f).is_some_and(|m| m.contains(" s=4/4 ")),
        "the first wave keeps its lease at its last step: {:?}",
        marker(first, &f)
    );
    assert_eq!(first.alias(&f), ("2".to_string(), vec![]));
    let home = std::env::temp_dir().join(unique("home"));
    std::fs::create_dir_all(&home).unwrap();
    let resumed = command(&dir, &["resume", "--yes", "--format", "json", "p.rollout"])
        .env("HOME", &home)
        .output()
        .unwrap();
    let events = events(&resumed);
    assert_eq!(
        summary(&events),
        ("promoted".to_string(), 0),
        "{}",
        text(&resumed)
    );
    assert_eq!(
        waves(&events),
        [
            "started second",
            "passed second",
            "started third",
            "passed third"
        ],
        "the first wave is not run again: {}",
        text(&resumed)
    );
    for (region, aws) in &places {
        assert_eq!(aws.alias(&f), ("2".to_string(), vec![]), "{region}");
        assert_eq!(marker(aws, &f), None, "{region}: the lease is released");
    }
    assert_eq!(third.versions(&f), 3, "published once in the third wave");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn killed_in_the_second_wave_and_rolled_back_from_the_playbook_old_serves_everywhere() {
    let places = places();
    let (f, dir) = killed_in_the_second_wave(&places, "waverollback");
    let [(_, first), (_, second), (_, third)] = &places;
    let out = rollout(&dir, &["rollback", "p.rollout", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for (region, aws) in [("us-east-1", first), ("eu-west-1", second)] {
        assert_eq!(
            aws.alias(&f),
            ("1".to_string(), vec![]),
            "{region}: {}",
            text(&out)
        );
        assert_eq!(marker(aws, &f), None, "{region}: lease cleared");
    }
    assert_eq!(third.alias(&f), ("1".to_string(), vec![]));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("in 222222222222/us-west-2 serves version 1 (100%): nothing to roll back"),
        "{}",
        text(&out)
    );
}

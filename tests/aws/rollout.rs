//! Rolling out against moto: promoted on good metrics, rolled back on bad ones or an alarm,
//! nothing to do for unchanged code, a zip uploaded first, two functions moving together.

use aws_sdk_cloudwatch::types::StateValue;

use crate::harness::*;

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_healthy_canary_promotes() {
    let aws = Aws::new();
    let f = unique("promote");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 2.0);
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(
        &dir,
        &["run", "--yes", "--report", "report.html", "p.rollout"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(aws.alias(&f), ("2".to_string(), vec![]), "{}", text(&out));
    let report = std::fs::read_to_string(dir.join("report.html")).expect("a report");
    assert!(
        report.contains("promoted: new serves all traffic")
            && report.contains("<svg class=\"chart\"")
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "{f}: version 1 (100%) -> version 1 (95.00%) + version 2 (5.00%)"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("AWS calls: "), "{stdout}");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_failing_metric_rolls_back() {
    let aws = Aws::new();
    let f = unique("metric");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 50.0);
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        aws.alias(&f),
        ("1".to_string(), vec![]),
        "old serves everything: {}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("= 5.00%; confidently above 1.00%"),
        "{}",
        text(&out)
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn an_alarm_in_alarm_rolls_back() {
    let aws = Aws::new();
    let f = unique("alarm");
    let alarm = format!("{f}-errors");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    aws.alarm(&alarm, StateValue::Alarm);
    let dir = temp(&canary(&[&f], &format!("  alarm {alarm:?}\n")));
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("is in ALARM"),
        "{}",
        text(&out)
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn an_unchanged_function_has_nothing_to_roll_out() {
    let aws = Aws::new();
    let f = unique("same");
    aws.function(&f, None);
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(
        last["outcome"]["outcome"],
        "nothing_to_roll_out",
        "{}",
        text(&out)
    );
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]));
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn update_code_from_a_zip_then_roll_out() {
    let aws = Aws::new();
    let f = unique("zip");
    aws.function(&f, None);
    aws.metrics(&f, "2", 500.0, 0.0);
    let dir = temp(&canary(&[&f], "").edit(
        "publish \"canary\"",
        "update code from \"build/app.zip\"\npublish \"canary\"",
    ));
    std::fs::create_dir_all(dir.join("build")).unwrap();
    std::fs::write(dir.join("build/app.zip"), zip(3)).unwrap();
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(aws.alias(&f).0, "2");
    assert_eq!(
        aws.code_sha(&f, "2"),
        aws.code_sha(&f, "$LATEST"),
        "version 2 holds the uploaded zip"
    );
    assert_ne!(aws.code_sha(&f, "2"), aws.code_sha(&f, "1"));
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn two_functions_move_together() {
    let aws = Aws::new();
    let (a, b) = (unique("pair-a"), unique("pair-b"));
    for f in [&a, &b] {
        aws.function(f, Some(2));
        aws.metrics(f, "2", 1000.0, 0.0);
    }
    let dir = temp(&canary(&[&a, &b], ""));
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(aws.alias(&a).0, "2");
    assert_eq!(aws.alias(&b).0, "2");

    // One unhealthy function rolls both back.
    let (c, d) = (unique("pair-c"), unique("pair-d"));
    for f in [&c, &d] {
        aws.function(f, Some(2));
    }
    aws.metrics(&c, "2", 1000.0, 0.0);
    aws.metrics(&d, "2", 1000.0, 90.0);
    let dir = temp(&canary(&[&c, &d], ""));
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(aws.alias(&c), ("1".to_string(), vec![]));
    assert_eq!(aws.alias(&d), ("1".to_string(), vec![]));
}

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
        &[
            "run",
            "--yes",
            "--format",
            "json",
            "--report",
            "report.html",
            "p.rollout",
        ],
    );
    let events = events(&out);
    ended(&out, &events, "promoted", 0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        traffic(&events, &f),
        [split("1", "2", 0.05), unsplit("2")],
        "5% on new, then all of it: {}",
        text(&out)
    );
    assert_eq!(aws.alias(&f), unsplit("2"), "{}", text(&out));
    assert_eq!(marker(&aws, &f), None, "lease released");
    let summary = events.last().unwrap();
    assert!(summary["aws_calls"].as_u64() > Some(0), "{summary}");
    let report = std::fs::read_to_string(dir.join("report.html")).expect("a report");
    assert!(
        report.contains("promoted: new serves all traffic")
            && report.contains("<svg class=\"chart\"")
    );
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
    let out = rollout(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    let events = events(&out);
    ended(&out, &events, "rolled_back", 1);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        traffic(&events, &f),
        [split("1", "2", 0.05), unsplit("1")],
        "old back after the canary: {}",
        text(&out)
    );
    assert_eq!(aws.alias(&f), unsplit("1"), "old serves everything");
    assert_eq!(marker(&aws, &f), None, "lease released");
    let failed = failed_evaluations(&events, &f);
    let evidence = &failed.last().expect("a failed evaluation")["checks"][0]["evidence"];
    assert_eq!(evidence["state"], "violated", "{evidence}");
    let (errors, calls) = (
        evidence["subject"]["events"].as_f64().unwrap(),
        evidence["subject"]["trials"].as_f64().unwrap(),
    );
    assert_eq!(
        errors / calls,
        0.05,
        "new's measured error rate: {evidence}"
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
    let out = rollout(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    let events = events(&out);
    ended(&out, &events, "rolled_back", 1);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(aws.alias(&f), unsplit("1"), "old serves everything");
    let failed = failed_evaluations(&events, &f);
    let checks = failed.last().expect("a failed evaluation")["checks"]
        .as_array()
        .unwrap();
    let failing: Vec<&str> = checks
        .iter()
        .filter(|c| c["verdict"] == "fail")
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(failing.len(), 1, "only the alarm fails: {checks:?}");
    assert!(failing[0].contains(&alarm), "{failing:?}");
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
    let events = events(&out);
    ended(&out, &events, "nothing_to_roll_out", 0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(traffic(&events, &f), [], "no traffic moved");
    assert_eq!(aws.alias(&f), unsplit("1"));
    assert_eq!(aws.versions(&f), 2, "nothing published: $LATEST and 1 only");
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

//! `rollout replay` against moto: two hours of backdated per-version metrics, a regression
//! planted in the second hour; replay finds the minute it would have been caught, and promotes a
//! clean window.

use serde_json::{json, Value};

use crate::harness::*;

/// Per-minute `Invocations` and `Errors` of `function`:live for versions 1 and 2 over the two
/// hours after `start` (epoch seconds, a whole minute): 600 calls a minute each, 0.1% errors,
/// and from minute `regression` on, 5% errors on version 2.
fn history(aws: &Aws, function: &str, start: i64, regression: i64) {
    aws.runtime.block_on(async {
        let mut request = aws.cloudwatch.put_metric_data().namespace("AWS/Lambda");
        for minute in 0..120 {
            let at = start + minute * 60 + 30;
            for version in ["1", "2"] {
                let errors = if version == "2" && minute >= regression {
                    30.0
                } else {
                    0.6
                };
                request = request
                    .metric_data(datum(function, version, "Invocations", at, 600.0))
                    .metric_data(datum(function, version, "Errors", at, errors));
            }
        }
        request.send().await.expect("put metric data");
    });
}

fn rfc3339(secs: i64) -> String {
    aws_sdk_cloudwatch::primitives::DateTime::from_secs(secs)
        .fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime)
        .unwrap()
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn replay_finds_the_minute_a_planted_regression_is_caught_and_promotes_a_clean_window() {
    let aws = Aws::new();
    let f = unique("replay");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let start = (now - 3 * 3600) / 60 * 60;
    history(&aws, &f, start, 60);
    let dir = temp(&format!(
        "function \"{f}\"\nalias \"live\"\nhealth every 1m {{\n  min invocations 100\n  error rate < 1%\n}}\npublish\nshift 10% to new\nwait 30m until healthy\npromote\n"
    ));
    let args = |from: i64, to: i64| {
        vec![
            "replay".to_string(),
            "p.rollout".into(),
            "--old".into(),
            "1".into(),
            "--new".into(),
            "2".into(),
            "--from".into(),
            rfc3339(from),
            "--to".into(),
            rfc3339(to),
            "--format".into(),
            "json".into(),
        ]
    };
    // The window whose second hour regressed: caught within minutes of minute 60.
    let window: Vec<String> = args(start + 3600, start + 7200);
    let window: Vec<&str> = window.iter().map(String::as_str).collect();
    let out = rollout(&dir, &window);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let replayed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&replayed["ending"], &replayed["exit_code"]),
        (&json!("rolled_back"), &json!(1)),
        "{replayed:#}"
    );
    let (caught, soon) = (rfc3339(start + 3600 + 60), rfc3339(start + 3600 + 4 * 60));
    let at = replayed["decided_at"].as_str().unwrap();
    assert!(
        at >= caught.as_str() && at <= soon.as_str(),
        "caught at {at}, not within minutes of {caught}"
    );
    let decisive = replayed["evaluations"].as_array().unwrap().last().unwrap();
    assert_eq!(decisive["verdict"], "fail", "{decisive:#}");
    assert_eq!(
        decisive["checks"][0]["evidence"]["state"], "violated",
        "{decisive:#}"
    );

    let mut reported = window.clone();
    reported.extend(["--report", "replay.html"]);
    let out = rollout(&dir, &reported);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let page = std::fs::read_to_string(dir.join("replay.html")).expect("a report");
    assert!(
        page.contains("would have rolled back once the period ending")
            && page.contains("<svg class=\"chart\"")
    );

    // A clean hour promotes.
    let clean: Vec<String> = args(start, start + 55 * 60);
    let clean: Vec<&str> = clean.iter().map(String::as_str).collect();
    let out = rollout(&dir, &clean);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let replayed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(replayed["ending"], "promoted", "{replayed:#}");
    assert_eq!(replayed["decided_at"], Value::Null, "{replayed:#}");

    // Thresholds from 1% to 10%: the low ones fire, the high ones do not.
    let mut sweep = args(start + 3600, start + 7200);
    sweep.extend(["--sweep-threshold".to_string(), "1%..10%".to_string()]);
    let sweep: Vec<&str> = sweep.iter().map(String::as_str).collect();
    let out = rollout(&dir, &sweep);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let points: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fires = |check: &str| {
        points
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["check"] == check)
            .unwrap_or_else(|| panic!("no {check:?}: {points:#}"))["would_roll_back"]
            .clone()
    };
    assert_eq!(fires("error rate of new over 1m < 1%"), true, "{points:#}");
    assert_eq!(
        fires("error rate of new over 1m < 10%"),
        false,
        "{points:#}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_window_without_data_is_invalid_input_not_a_verdict() {
    let aws = Aws::new();
    let f = unique("replay-empty");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let start = (now - 3 * 3600) / 60 * 60;
    history(&aws, &f, start, 200);
    // Versions without data, and a function that does not exist; and an old version without
    // data, which new cannot be judged against.
    let old_one = "version 7, the old version new is judged against,";
    for (function, old, new, missing) in [
        (f.as_str(), "7", "8", "version 8"),
        ("no-such-function", "1", "2", "version 2"),
        (f.as_str(), "7", "2", old_one),
    ] {
        let dir = temp(&format!(
            "function \"{function}\"\nalias \"live\"\nhealth every 1m {{\n  error rate < 1%\n}}\npublish\nshift 10% to new\nwait 30m until healthy\npromote\n"
        ));
        let (from, to) = (rfc3339(start), rfc3339(start + 3600));
        let out = rollout(
            &dir,
            &[
                "replay",
                "p.rollout",
                "--old",
                old,
                "--new",
                new,
                "--from",
                &from,
                "--to",
                &to,
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "CloudWatch has no invocations of {missing} of {function}:live"
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains("replaying: 100% of the window read"),
            "progress is shown: {stderr}"
        );
        assert!(out.stdout.is_empty(), "no verdict: {}", text(&out));
    }
}

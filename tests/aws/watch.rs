//! The watch after `promote` against moto: a canary passes and promotes, then `new`'s errors
//! rise while it serves everything, and the watch puts `old` back (exit 1), having judged `new`
//! against `old`'s error rate in the hour before the rollout and at this time of day yesterday
//! (written here as Lambda would have published them). moto has no metric delay: the playbook
//! says `metrics delay 0s`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::harness::*;

/// Writes `invocations` and `errors` of `version` in every `step`-th second from `from` to
/// `to` (epoch seconds), in requests of at most 500 datapoints.
fn put(aws: &Aws, f: &str, version: &str, (from, to, step): (i64, i64, usize), counts: (f64, f64)) {
    let seconds: Vec<i64> = (from..to).step_by(step).collect();
    aws.runtime.block_on(async {
        for chunk in seconds.chunks(250) {
            let mut request = aws.cloudwatch.put_metric_data().namespace("AWS/Lambda");
            for at in chunk {
                request = request
                    .metric_data(datum(f, version, "Invocations", *at, counts.0))
                    .metric_data(datum(f, version, "Errors", *at, counts.1));
            }
            request.send().await.expect("put metric data");
        }
    });
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_regression_during_the_watch_puts_old_back() {
    let aws = Aws::new();
    let f = unique("watched");
    aws.function(&f, Some(2));
    let started = now();
    // Old's past: 0.1% errors in the half hour before the rollout, and through the canary; and
    // 0.3% at this time of day yesterday.
    put(
        &aws,
        &f,
        "1",
        (started - 1_800, started + 30, 5),
        (1000.0, 1.0),
    );
    let yesterday = started - 86_400;
    put(
        &aws,
        &f,
        "1",
        (yesterday - 120, yesterday + 240, 1),
        (3000.0, 9.0),
    );
    // New is healthy for the canary.
    put(&aws, &f, "2", (started - 5, started + 15, 1), (1000.0, 1.0));
    let playbook = format!(
        "function {f:?}\nalias \"live\"\nhealth every 1s {{\n  metrics delay 0s\n  min invocations 10\n  error rate of new <= error rate of old + 1%\n}}\npublish \"canary\"\nshift 5% to new\nwait 2s until healthy\npromote\nwatch 60s\n"
    );
    let dir = temp(&playbook);
    let child = spawn(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    // Promoted, and watching: the lease stays on the alias at the watch.
    wait_for("the promote", || aws.alias(&f) == unsplit("2"));
    wait_for("the watch's lease", || {
        marker(&aws, &f).is_some_and(|m| m.contains(" s=5/5 "))
    });
    let promoted = now();
    // New now fails 20% of its calls.
    put(&aws, &f, "2", (promoted, promoted + 70, 1), (1000.0, 200.0));
    let out = child.wait_with_output().unwrap();
    let events = events(&out);
    ended(&out, &events, "rolled_back", 1);
    assert_eq!(aws.alias(&f), unsplit("1"), "old serves everything again");
    assert!(marker(&aws, &f).is_none(), "the lease given back");
    assert_eq!(
        traffic(&events, &f),
        [split("1", "2", 0.05), unsplit("2"), unsplit("1")],
        "{}",
        text(&out)
    );
    let started = events_of_kind(&events, "watch_started");
    assert_eq!(started.len(), 1, "{}", text(&out));
    let baseline = &started[0]["baselines"][0];
    assert_eq!(baseline["version"], "1");
    assert_eq!(
        baseline["windows"],
        serde_json::json!(["the hour before the rollout", "1 day before"]),
        "{baseline}"
    );
    // Pooled: above the hour before's 0.1%, for yesterday's 0.3%, but below that.
    let rate = baseline["values"]["error rate of old over 1s"]
        .as_str()
        .unwrap();
    // With the range its invocations allow: `0.17% (0.16% to 0.18%)`.
    let (rate, range) = rate.split_once(' ').unwrap();
    assert!(range.starts_with('(') && range.ends_with(')'), "{baseline}");
    let rate: f64 = rate.trim_end_matches('%').parse().unwrap();
    assert!(rate > 0.1 && rate < 0.3, "{baseline}");
    let checks = baseline["checks"].as_array().unwrap();
    assert!(
        checks.len() == 1
            && checks[0]
                .as_str()
                .unwrap()
                .starts_with("error rate of new over 1s <= 1.1"),
        "{baseline}"
    );
    let finished = events_of_kind(&events, "finished");
    let message = finished[0]["message"].as_str().unwrap();
    assert!(
        message.contains("rolled back at step 5: in the watch after promote"),
        "{message}"
    );
    assert!(!failed_evaluations(&events, &f).is_empty());
    assert!(events_of_kind(&events, "watch_passed").is_empty());
}

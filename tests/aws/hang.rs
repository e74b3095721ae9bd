//! Never hang: an endpoint that never answers ends a run in seconds with exit 5; a stall in the
//! middle of a bake shows as it happens, and the bake still ends on time; set-up mistakes end
//! before anything with exit 2 in one line.

use std::time::{Duration, Instant};

use crate::harness::*;

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn an_endpoint_that_never_answers_ends_the_run_with_exit_5_well_under_two_minutes() {
    let dir = temp(&canary(&["f"], ""));
    let started = Instant::now();
    let out = command_at(&dir, &["run", "--yes", "p.rollout"], &silent_endpoint())
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(took < Duration::from_secs(60), "took {took:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no answer in time") && stderr.contains("Nothing was done"),
        "{}",
        text(&out)
    );
    assert!(stderr.lines().count() <= 2, "{}", text(&out));
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_stall_mid_bake_shows_as_it_happens_and_the_bake_ends_on_time() {
    let aws = Aws::new();
    let proxy = Proxy::start(&endpoint());
    let f = unique("stall");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let dir = temp(&canary(&[&f], "").edit("wait 2s until healthy", "wait 30s until healthy"));
    let child = command_at(
        &dir,
        &["run", "--yes", "--format", "json", "p.rollout"],
        &proxy.url,
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    wait_for("the canary", || !aws.alias(&f).1.is_empty());
    let baking = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    proxy.silence(true);
    std::thread::sleep(Duration::from_secs(12));
    proxy.silence(false);
    let out = child.wait_with_output().unwrap();
    let bake = baking.elapsed();
    let events = events(&out);
    let stalled = events_of_kind(&events, "retrying")
        .into_iter()
        .filter(|e| {
            e["call"]
                .as_str()
                .unwrap()
                .contains("CloudWatch GetMetricData")
                && e["error"].as_str().unwrap().contains("no answer in time")
        })
        .count();
    assert!(stalled > 0, "the stall was shown: {}", text(&out));
    // 30s of traffic, and at most the 30s a last look may take past the end.
    assert!(bake < Duration::from_secs(65), "the bake took {bake:?}");
    ended(&out, &events, "promoted", 0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(aws.alias(&f), unsplit("2"), "unsplit, on new");
    assert_eq!(marker(&aws, &f), None, "lease released");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn set_up_mistakes_end_before_anything_with_exit_2_in_one_line() {
    let dir = temp(&canary(&["f"], ""));
    // (the mistake, the endpoint, AWS_REGION (`None`: unset), what is said)
    let cases: [(&str, &str, Option<&str>, &str); 3] = [
        (
            "a region with spaces",
            "http://127.0.0.1:9",
            Some("us east 1"),
            "\"us east 1\" is not a region's name",
        ),
        (
            "no region",
            "http://127.0.0.1:9",
            None,
            "no region: pass --region",
        ),
        (
            "an endpoint that is not a URL",
            "not a url",
            Some("us-east-1"),
            "\"not a url\" is not an endpoint URL",
        ),
    ];
    for (case, endpoint, region, said) in cases {
        let mut command = command_at(&dir, &["run", "--yes", "p.rollout"], endpoint);
        match region {
            Some(region) => command.env("AWS_REGION", region),
            None => command
                .env_remove("AWS_REGION")
                .env_remove("AWS_DEFAULT_REGION"),
        };
        let out = command
            .env("AWS_CONFIG_FILE", dir.join("none"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{case}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(said), "{case}: {}", text(&out));
        assert_eq!(stderr.trim().lines().count(), 1, "{case}: {}", text(&out));
    }
    // On the command line the same region is a usage error, before the playbook is read.
    let out = command_at(
        &dir,
        &["run", "--yes", "p.rollout", "--region", "us east 1"],
        "http://127.0.0.1:9",
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("invalid value 'us east 1' for '--region <REGION>'"),
        "{}",
        text(&out)
    );
}

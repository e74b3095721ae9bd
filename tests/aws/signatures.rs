//! `no new error signatures` against moto: the logs are written with `PutLogEvents` into
//! `/aws/lambda/FUNCTION`, one stream per version named as Lambda names them, and `rollout`
//! reads them with Logs Insights. moto 5.2.5 runs a query's `fields`, `sort` and `limit` but no
//! `filter`: it answers every line of the group, and rollout's own filters (the version in the
//! stream's name, the error pattern, the time range) do what Logs Insights' would.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_lambda::config::Credentials;

use crate::harness::*;

/// A CloudWatch Logs client for the moto server.
fn logs(aws: &Aws) -> aws_sdk_cloudwatchlogs::Client {
    let config = aws.runtime.block_on(
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .load(),
    );
    aws_sdk_cloudwatchlogs::Client::new(&config)
}

/// A version's log stream, named as Lambda names them, and its lines in each second.
type Stream<'a> = (&'a str, &'a dyn Fn(i64) -> Vec<String>);

/// Writes `function`'s log group with a stream for each version, each logging `lines(i)` in
/// every second from ten seconds ago to two minutes ahead (as `Aws::metrics` writes metrics), so
/// that whatever seconds a rollout judges hold them.
fn log_lines(aws: &Aws, function: &str, streams: &[Stream<'_>]) {
    let client = logs(aws);
    let group = format!("/aws/lambda/{function}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    aws.runtime.block_on(async {
        client
            .create_log_group()
            .log_group_name(&group)
            .send()
            .await
            .expect("create log group");
        for (stream, lines) in streams {
            client
                .create_log_stream()
                .log_group_name(&group)
                .log_stream_name(*stream)
                .send()
                .await
                .expect("create log stream");
            let mut request = client
                .put_log_events()
                .log_group_name(&group)
                .log_stream_name(*stream);
            for second in -10..120 {
                for (k, line) in lines(second).into_iter().enumerate() {
                    let event = InputLogEvent::builder()
                        .timestamp(now + second * 1000 + k as i64)
                        .message(line)
                        .build()
                        .unwrap();
                    request = request.log_events(event);
                }
            }
            request.send().await.expect("put log events");
        }
    });
}

/// `old`'s lines: a timeout each second, its numbers varying, and a line that is no error.
fn old_lines(i: i64) -> Vec<String> {
    vec![
        format!("2026-12-07T10:00:{:02}.000Z\t6f1c2a7e-0b7d-4c1e-9d55-2f4b8a1e{:04}\tERROR\ttimeout after {}ms", i.rem_euclid(60), i + 10, 3000 + i),
        format!("START RequestId: 6f1c2a7e-0b7d-4c1e-9d55-2f4b8a1e{:04} Version: 1", i + 10),
    ]
}

/// Runs a canary of `function` judged by `no new error signatures`.
fn canary_of(function: &str) -> std::process::Output {
    let dir = temp(&canary(&[function], "  no new error signatures\n"));
    rollout(&dir, &["run", "--yes", "--format", "json", "p.rollout"])
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_new_logged_error_signature_fails_the_check_and_is_listed() {
    let aws = Aws::new();
    let f = unique("signature");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let new_lines = |i: i64| {
        let mut lines = old_lines(i);
        lines.push(format!("[ERROR]\tKeyError: 'cart' id={}", 1234 + i * 7));
        lines
    };
    log_lines(
        &aws,
        &f,
        &[
            ("2026/12/07/[1]abc", &old_lines),
            ("2026/12/07/[2]def", &new_lines),
        ],
    );
    let out = canary_of(&f);
    let events = events(&out);
    ended(&out, &events, "rolled_back", 1);
    assert_eq!(aws.alias(&f), unsplit("1"), "old serves everything");
    let failed = failed_evaluations(&events, &f);
    let check = &failed.last().expect("a failed evaluation")["checks"][1];
    let detail = check["detail"].as_str().unwrap();
    assert_eq!(check["check"], "no new error signatures", "{check}");
    assert_eq!(check["verdict"], "fail", "{check}");
    assert!(
        detail.contains("1 new error signature that old did not log over the same time: ")
            && detail
                .contains("`[ERROR] KeyError: 'cart' id=<n>` (e.g. \"[ERROR] KeyError: 'cart' id="),
        "{detail}"
    );
    // The error rate passed: only the logs told.
    assert_eq!(failed.last().unwrap()["checks"][0]["verdict"], "pass");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn errors_old_logs_too_are_no_new_signature() {
    let aws = Aws::new();
    let f = unique("signature");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    log_lines(
        &aws,
        &f,
        &[
            ("2026/12/07/[1]abc", &old_lines),
            ("2026/12/07/[2]def", &old_lines),
        ],
    );
    let out = canary_of(&f);
    let events = events(&out);
    ended(&out, &events, "promoted", 0);
    let evaluations = events_of_kind(&events, "health_evaluated");
    let detail = evaluations.last().unwrap()["checks"][1]["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        detail.contains("new logged ")
            && !detail.contains("new logged 0 ")
            && detail.contains("; 0 new"),
        "{detail}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_log_group_that_does_not_exist_is_never_healthy() {
    let aws = Aws::new();
    let f = unique("signature");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let out = canary_of(&f);
    let events = events(&out);
    ended(&out, &events, "rolled_back", 1);
    let evaluations = events_of_kind(&events, "health_evaluated");
    let check = &evaluations.last().unwrap()["checks"][1];
    assert_eq!(check["verdict"], "inconclusive", "{check}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("could not read the logs"),
        "{check}"
    );
}

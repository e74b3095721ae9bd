//! Each rule of the simulated Lambda and CloudWatch, proved.

use super::*;
use crate::cloud::{
    AlarmKind, AliasUpdate, Clock, FunctionState, LambdaApi, Latest, MetricQuery, MetricsApi, Stat,
    UpdateStatus, ALARMS_PER_CALL,
};

const HEALTHY: Profile = Profile {
    error_rate: 0.0,
    median_ms: 100.0,
};

fn world() -> SimWorld {
    SimWorld::new(&SimConfig {
        functions: vec!["f".into()],
        alias: "live".into(),
        rps: 10.0,
        old: HEALTHY,
        new: HEALTHY,
        versions: 1,
        seed: 1,
        ..SimConfig::default()
    })
}

fn update(version: &str, routing: &[(&str, f64)], revision: &str) -> AliasUpdate {
    AliasUpdate {
        version: version.into(),
        routing: routing.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
        revision_id: revision.into(),
        description: None,
    }
}

fn invalid(result: Result<Alias, CloudError>) -> String {
    match result {
        Err(CloudError::InvalidParameter(message)) => message,
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

/// A world where version 2 of `f` was published and gets half the traffic.
async fn split_half() -> SimWorld {
    let w = world();
    publish(&w).await.unwrap();
    let rev = w.get_alias("f", "live").await.unwrap().revision_id;
    w.update_alias("f", "live", &update("1", &[("2", 0.5)], &rev))
        .await
        .unwrap();
    w
}

/// Publishes `$LATEST` of `f` as it is now.
async fn publish(w: &SimWorld) -> Result<String, CloudError> {
    let latest = Latest::of(&w.get_function("f", None).await?);
    w.publish_version("f", &latest, None).await
}

#[tokio::test(start_paused = true)]
async fn versions_are_numbered_by_the_service_and_an_unchanged_publish_returns_the_last() {
    let w = world();
    assert_eq!(publish(&w).await.unwrap(), "2");
    assert_eq!(publish(&w).await.unwrap(), "2");
    w.update_code("f", b"new zip").await.unwrap();
    w.clock().advance(UPDATE_TIME);
    assert_eq!(publish(&w).await.unwrap(), "3");
    let latest = Latest::of(&w.get_function("f", None).await.unwrap());
    assert!(matches!(
        w.publish_version("nope", &latest, None).await,
        Err(CloudError::NotFound(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn updates_go_through_in_progress_change_the_revision_twice_and_block_publishing_meanwhile() {
    let w = world();
    let before = w.get_function("f", None).await.unwrap().revision_id;
    let code = w.update_code("f", b"zip").await.unwrap();
    let info = w.get_function("f", None).await.unwrap();
    assert_eq!(info.last_update, UpdateStatus::InProgress);
    assert_eq!(
        info.code_sha256, code,
        "the update answers with the new code's hash"
    );
    assert_ne!(info.revision_id, before);
    assert!(matches!(
        w.publish_version("f", &Latest::of(&info), None).await,
        Err(CloudError::Busy(_))
    ));
    assert!(matches!(
        w.update_code("f", b"zip2").await,
        Err(CloudError::Busy(_))
    ));
    w.clock().advance(UPDATE_TIME);
    let done = w.get_function("f", None).await.unwrap();
    assert_eq!(done.last_update, UpdateStatus::Successful);
    assert_ne!(
        done.revision_id, info.revision_id,
        "changed again when done"
    );
    w.fail_next_update("f", "bad zip");
    w.update_code("f", b"zip3").await.unwrap();
    w.clock().advance(UPDATE_TIME);
    assert_eq!(
        w.get_function("f", None).await.unwrap().last_update,
        UpdateStatus::Failed("bad zip".into())
    );
}

#[tokio::test(start_paused = true)]
async fn a_publish_freezes_only_the_latest_that_was_read() {
    let w = world();
    let read = Latest::of(&w.get_function("f", None).await.unwrap());
    w.push_code_as_someone_else("f", "their-code");
    w.clock().advance(UPDATE_TIME);
    let stale = w.publish_version("f", &read, None).await;
    assert!(matches!(stale, Err(CloudError::Stale(_))), "{stale:?}");
    let now = Latest::of(&w.get_function("f", None).await.unwrap());
    let other_code = Latest {
        code_sha256: read.code_sha256.clone(),
        ..now.clone()
    };
    let mismatch = w.publish_version("f", &other_code, None).await;
    assert!(
        matches!(&mismatch, Err(CloudError::InvalidParameter(m)) if m.contains("CodeSHA256")),
        "{mismatch:?}"
    );
    assert_eq!(
        publish(&w).await.unwrap(),
        "2",
        "nothing was published before"
    );
    assert_eq!(
        w.get_function("f", Some("2")).await.unwrap().code_sha256,
        "their-code"
    );
}

#[tokio::test(start_paused = true)]
async fn snap_start_versions_are_pending_for_a_while_and_cannot_be_invoked_meanwhile() {
    let w = world();
    w.snap_start("f", Millis(90_000));
    let version = publish(&w).await.unwrap();
    let info = w.get_function("f", Some(&version)).await.unwrap();
    assert_eq!(info.state, FunctionState::Pending);
    assert!(matches!(
        w.invoke("f", &version, "{}").await,
        Err(CloudError::Busy(_))
    ));
    w.clock().advance(Millis(90_000));
    assert_eq!(
        w.get_function("f", Some(&version)).await.unwrap().state,
        FunctionState::Active
    );
    assert!(w.invoke("f", &version, "{}").await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn routing_rules_are_enforced() {
    let w = world();
    publish(&w).await.unwrap();
    w.update_code("f", b"zip").await.unwrap();
    w.clock().advance(UPDATE_TIME);
    publish(&w).await.unwrap(); // versions 1, 2, 3
    let rev = w.get_alias("f", "live").await.unwrap().revision_id;
    assert!(invalid(
        w.update_alias("f", "live", &update("$LATEST", &[("1", 0.1)], &rev))
            .await
    )
    .contains("$LATEST"));
    assert!(invalid(
        w.update_alias("f", "live", &update("1", &[("$LATEST", 0.1)], &rev))
            .await
    )
    .contains("$LATEST"));
    assert!(invalid(
        w.update_alias("f", "live", &update("1", &[("2", 0.1), ("3", 0.1)], &rev))
            .await
    )
    .contains("one additional version"));
    for weight in [1.0, -0.1, 1.5] {
        invalid(
            w.update_alias("f", "live", &update("1", &[("2", weight)], &rev))
                .await,
        );
    }
    assert!(invalid(
        w.update_alias("f", "live", &update("1", &[("9", 0.1)], &rev))
            .await
    )
    .contains("does not exist"));
    assert!(
        invalid(w.update_alias("f", "live", &update("7", &[], &rev)).await)
            .contains("does not exist")
    );
    invalid(
        w.update_alias("f", "live", &update("2", &[("2", 0.1)], &rev))
            .await,
    );
    // None of the rejected writes changed anything.
    assert_eq!(w.alias("f", "live").unwrap().revision_id, rev);
    let after = w
        .update_alias("f", "live", &update("1", &[("2", 0.0)], &rev))
        .await
        .unwrap();
    assert_eq!(after.additional(), Some(("2", 0.0)));
    let on_latest = update("$LATEST", &[], &after.revision_id);
    assert_eq!(
        w.update_alias("f", "live", &on_latest)
            .await
            .unwrap()
            .version,
        "$LATEST",
        "an alias may point at $LATEST alone"
    );
}

#[tokio::test(start_paused = true)]
async fn every_write_changes_the_revision_and_a_stale_one_is_a_conflict() {
    let w = world();
    publish(&w).await.unwrap();
    let first = w.get_alias("f", "live").await.unwrap().revision_id;
    let second = w
        .update_alias("f", "live", &update("1", &[("2", 0.05)], &first))
        .await
        .unwrap();
    assert_ne!(second.revision_id, first);
    let stale = w.update_alias("f", "live", &update("2", &[], &first)).await;
    assert!(matches!(stale, Err(CloudError::Stale(_))), "{stale:?}");
    assert_eq!(
        w.alias("f", "live").unwrap(),
        second,
        "a rejected write changes nothing"
    );
    let third = w
        .update_alias("f", "live", &update("2", &[], &second.revision_id))
        .await
        .unwrap();
    assert_ne!(third.revision_id, second.revision_id);
    assert!(matches!(
        w.get_alias("f", "nope").await,
        Err(CloudError::NotFound(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn metrics_follow_the_alias_weights_per_version() {
    let w = split_half().await;
    w.clock().advance(Millis::from_minutes(10));
    let epoch = w.clock().epoch();
    let query = |version: &str| MetricQuery {
        function: "f".into(),
        alias: "live".into(),
        version: version.into(),
        stat: crate::cloud::Stat::Invocations,
        start: Millis(epoch.0 - Millis::from_minutes(10).0),
        end: Millis(epoch.0 - Millis::from_minutes(1).0),
        custom: None,
    };
    let values = w
        .stats(&[query("1"), query("2"), query("3")])
        .await
        .unwrap();
    let (old, new) = (values[0].unwrap(), values[1].unwrap());
    assert!(
        (old / (old + new) - 0.5).abs() < 0.05,
        "old {old} new {new}"
    );
    assert_eq!(values[2], None, "a version without traffic has no data");
}

#[tokio::test(start_paused = true)]
async fn metrics_are_readable_only_after_ingestion_and_functions_report_their_timeout() {
    let w = SimWorld::new(&SimConfig {
        ingestion: Millis(30_000),
        timeout: Millis(15_000),
        ..SimConfig::default()
    });
    assert_eq!(
        w.get_function("f", Some("1")).await.unwrap().timeout,
        Millis(15_000)
    );
    let start = w.clock().epoch();
    let minute = |clock_at: Millis| MetricQuery {
        function: "f".into(),
        alias: "live".into(),
        version: "1".into(),
        stat: crate::cloud::Stat::Invocations,
        start,
        end: Millis(start.0 + clock_at.0),
        custom: None,
    };
    w.clock().advance(Millis::from_minutes(1));
    let now = w.stats(&[minute(Millis::from_minutes(1))]).await.unwrap()[0].unwrap();
    assert!(now < 4_000.0, "only half a minute has arrived: {now}");
    w.clock().advance(Millis(31_000));
    let later = w.stats(&[minute(Millis::from_minutes(1))]).await.unwrap()[0].unwrap();
    assert!(
        (later / 6_000.0 - 1.0).abs() < 0.05,
        "the whole minute: {later}"
    );
}

#[tokio::test(start_paused = true)]
async fn describe_alarms_answers_for_the_kinds_asked_metric_alarms_when_not_told() {
    let w = world();
    w.set_alarm("metric", AlarmState::Ok);
    w.set_alarm_of(AlarmKind::Composite, "composite", AlarmState::Alarm);
    let names = vec![
        "metric".to_string(),
        "composite".to_string(),
        "nope".to_string(),
    ];
    assert_eq!(
        w.describe_alarms(&names, &[]).await.unwrap(),
        vec![("metric".to_string(), AlarmState::Ok)]
    );
    assert_eq!(
        w.describe_alarms(&names, &[AlarmKind::Metric, AlarmKind::Composite])
            .await
            .unwrap(),
        vec![
            ("metric".to_string(), AlarmState::Ok),
            ("composite".to_string(), AlarmState::Alarm)
        ]
    );
    let too_many: Vec<String> = (0..=ALARMS_PER_CALL).map(|n| n.to_string()).collect();
    assert!(matches!(
        w.describe_alarms(&too_many, &[AlarmKind::Metric]).await,
        Err(CloudError::InvalidParameter(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn statistics_are_read_in_batches_per_range_and_every_page_of_partial_data() {
    let w = split_half().await;
    w.clock().advance(Millis::from_minutes(30));
    let epoch = w.clock().epoch().0;
    // 700 one-minute queries over one range, 500 over another, a few without data.
    let query = |n: usize, minutes: u64| MetricQuery {
        function: "f".into(),
        alias: "live".into(),
        version: ["1", "2", "9"][n % 3].into(),
        stat: [Stat::Invocations, Stat::Errors, Stat::DurationMax][n % 5 % 3],
        start: Millis(epoch - Millis::from_minutes(minutes).0),
        end: Millis(epoch - Millis::from_minutes(2).0),
        custom: None,
    };
    let queries: Vec<MetricQuery> = (0..700)
        .map(|n| query(n, 20))
        .chain((0..500).map(|n| query(n, 10)))
        .collect();
    let one_by_one = {
        let mut values = Vec::new();
        for q in &queries[..30] {
            values.push(w.stats(std::slice::from_ref(q)).await.unwrap()[0]);
        }
        values
    };
    let calls = w.calls().len();
    let batched = w.stats(&queries).await.unwrap();
    let sizes: Vec<usize> = w.calls()[calls..]
        .iter()
        .map(|c| match c {
            Call::GetMetricData { queries, .. } => queries.len(),
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(
        sizes,
        vec![500, 200, 500],
        "at most 500 a call, one range each"
    );
    assert_eq!(batched[..30], one_by_one[..]);
    assert!(batched.iter().any(Option::is_none) && batched.iter().any(Option::is_some));

    // A page of 7 datapoints: the rest comes as PartialData behind a NextToken.
    w.page_datapoints(7);
    let calls = w.calls().len();
    let paged = w.stats(&queries[..40]).await.unwrap();
    assert_eq!(paged, batched[..40]);
    let with_data = batched[..40].iter().flatten().count();
    assert_eq!(w.calls().len() - calls, with_data.div_ceil(7));
}

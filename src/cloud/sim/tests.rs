//! Each rule of the simulated Lambda and CloudWatch, proved.

use super::*;
use crate::cloud::{AliasUpdate, Clock, LambdaApi, MetricQuery, MetricsApi, UpdateStatus};

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

#[tokio::test]
async fn versions_are_numbered_by_the_service_and_an_unchanged_publish_returns_the_last() {
    let w = world();
    assert_eq!(w.publish_version("f", None).await.unwrap(), "2");
    assert_eq!(w.publish_version("f", Some("again")).await.unwrap(), "2");
    w.update_code("f", b"new zip").await.unwrap();
    w.clock().advance(UPDATE_TIME);
    assert_eq!(w.publish_version("f", None).await.unwrap(), "3");
    assert!(matches!(
        w.publish_version("nope", None).await,
        Err(CloudError::NotFound(_))
    ));
}

#[tokio::test]
async fn updates_go_through_in_progress_and_block_publishing_meanwhile() {
    let w = world();
    w.update_code("f", b"zip").await.unwrap();
    let info = w.get_function("f", None).await.unwrap();
    assert_eq!(info.last_update, UpdateStatus::InProgress);
    assert!(matches!(
        w.publish_version("f", None).await,
        Err(CloudError::Busy(_))
    ));
    assert!(matches!(
        w.update_code("f", b"zip2").await,
        Err(CloudError::Busy(_))
    ));
    w.clock().advance(UPDATE_TIME);
    assert_eq!(
        w.get_function("f", None).await.unwrap().last_update,
        UpdateStatus::Successful
    );
    w.fail_next_update("f", "bad handler");
    w.update_code("f", b"zip3").await.unwrap();
    w.clock().advance(UPDATE_TIME);
    assert_eq!(
        w.get_function("f", None).await.unwrap().last_update,
        UpdateStatus::Failed("bad handler".into())
    );
}

#[tokio::test]
async fn routing_rules_are_enforced() {
    let w = world();
    w.publish_version("f", None).await.unwrap();
    w.update_code("f", b"zip").await.unwrap();
    w.clock().advance(UPDATE_TIME);
    w.publish_version("f", None).await.unwrap(); // versions 1, 2, 3
    let rev = w.get_alias("f", "live").await.unwrap().revision_id;
    assert!(invalid(
        w.update_alias("f", "live", &update("$LATEST", &[], &rev))
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
}

#[tokio::test]
async fn every_write_changes_the_revision_and_a_stale_one_is_a_conflict() {
    let w = world();
    w.publish_version("f", None).await.unwrap();
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

#[tokio::test]
async fn metrics_follow_the_alias_weights_per_version() {
    let w = world();
    w.publish_version("f", None).await.unwrap();
    let rev = w.get_alias("f", "live").await.unwrap().revision_id;
    w.update_alias("f", "live", &update("1", &[("2", 0.5)], &rev))
        .await
        .unwrap();
    w.clock().advance(Millis::from_minutes(10));
    let epoch = w.clock().epoch();
    let query = |version: &str| MetricQuery {
        function: "f".into(),
        alias: "live".into(),
        version: version.into(),
        stat: crate::cloud::Stat::Invocations,
        start: Millis(epoch.0 - Millis::from_minutes(10).0),
        end: Millis(epoch.0 - Millis::from_minutes(1).0),
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

#[tokio::test]
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

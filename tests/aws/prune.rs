//! `keep N versions` against moto: after the promote, exactly the newest unused versions and
//! every used one are left. (moto has no `ListProvisionedConcurrencyConfigs` and lets a version
//! an alias routes to be deleted: those rules are tested in the simulated world.)

use aws_sdk_lambda::primitives::Blob;

use crate::harness::*;

/// Publishes versions 2 to `last` of `function`, then updates `$LATEST` once more, so that a
/// `publish` makes a new version (moto publishes after any code update; the fixtures have three
/// zips, so the code alternates).
fn publish_up_to(aws: &Aws, function: &str, last: u32) {
    aws.runtime.block_on(async {
        for code in 2..=last + 1 {
            aws.lambda
                .update_function_code()
                .function_name(function)
                .zip_file(Blob::new(zip(2 + code % 2)))
                .send()
                .await
                .expect("update code");
            if code <= last {
                let out = aws
                    .lambda
                    .publish_version()
                    .function_name(function)
                    .send()
                    .await
                    .expect("publish");
                assert_eq!(out.version(), Some(code.to_string().as_str()));
            }
        }
    });
}

/// The published versions of `function` that exist, oldest first.
fn published(aws: &Aws, function: &str) -> Vec<String> {
    let out = aws
        .runtime
        .block_on(
            aws.lambda
                .list_versions_by_function()
                .function_name(function)
                .send(),
        )
        .expect("list versions");
    let mut versions: Vec<String> = out
        .versions()
        .iter()
        .filter_map(|v| v.version().map(str::to_string))
        .filter(|v| v != "$LATEST")
        .collect();
    versions.sort_by_key(|v| v.parse::<u64>().unwrap());
    versions
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_promote_keeping_three_versions_deletes_the_older_unused_ones() {
    let aws = Aws::new();
    let f = unique("prune");
    aws.function(&f, None);
    publish_up_to(&aws, &f, 7);
    aws.runtime
        .block_on(
            aws.lambda
                .create_alias()
                .function_name(&f)
                .name("beta")
                .function_version("3")
                .send(),
        )
        .expect("create alias beta");
    aws.metrics(&f, "8", 1000.0, 2.0);
    let dir = temp(&format!("keep 3 versions\n{}", canary(&[&f], "")));

    // Before: old is 1, beta uses 3; of 2, 4, 5, 6 and 7 the three newest would stay.
    let plan = rollout(&dir, &["plan", "--live", "--format", "json", "p.rollout"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let view: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let live = &view["prune"]["live"][0];
    assert_eq!(live["delete"], serde_json::json!(["2", "4"]), "{view}");
    assert_eq!(live["referenced"]["3"], "alias beta", "{live}");
    assert_eq!(published(&aws, &f).len(), 7, "plan --live deletes nothing");

    let out = rollout(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    let events = events(&out);
    ended(&out, &events, "promoted", 0);
    assert_eq!(aws.alias(&f), unsplit("8"), "{}", text(&out));
    assert_eq!(
        published(&aws, &f),
        ["1", "3", "5", "6", "7", "8"],
        "old, beta's, the three newest unused and new: {}",
        text(&out)
    );
    let pruned = events_of_kind(&events, "pruned");
    assert_eq!(pruned.len(), 1, "{}", text(&out));
    assert_eq!(pruned[0]["function"], f.as_str());
    assert_eq!(pruned[0]["deleted"], serde_json::json!(["2", "4"]));
    assert_eq!(
        pruned[0]["kept"],
        serde_json::json!(["1", "3", "5", "6", "7", "8"])
    );
    assert!(events_of_kind(&events, "prune_failed").is_empty());
}

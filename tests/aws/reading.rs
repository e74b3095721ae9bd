//! Commands that only read: `status` and `plan --live`.

use serde_json::Value;

use crate::harness::*;

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn status_and_live_plan_read_without_writing() {
    let aws = Aws::new();
    let f = unique("status");
    aws.function(&f, Some(2));
    let dir = temp(&canary(&[&f], ""));
    let out = status_json(&dir, &f);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status.as_array().unwrap().len(), 1, "{status:#}");
    assert_eq!(status[0]["function"], f.as_str());
    assert_eq!(status[0]["serves"]["version"], "1", "{status:#}");
    assert_eq!(status[0]["split"], false, "{status:#}");
    assert_eq!(status[0]["lease"], Value::Null, "no rollout in progress");

    let out = rollout(&dir, &["plan", "--live", "--format", "json", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let live = &plan["live"][0];
    assert_eq!(live["function"], f.as_str(), "{plan:#}");
    assert_eq!(live["serves"]["version"], "1", "old = 1: {plan:#}");
    assert_eq!(
        live["publish"], "$LATEST differs from version 1: publish creates a new version",
        "{plan:#}"
    );
    // What was read is written into the calls: old is version 1.
    let shift = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "shift")
        .expect("a shift");
    let call = shift["calls"][0].as_str().unwrap();
    assert!(
        call.contains("--function-version 1 --routing-config"),
        "{call}"
    );
    assert_eq!(aws.alias(&f), unsplit("1"));
    assert_eq!(aws.versions(&f), 2, "nothing published: $LATEST and 1 only");

    let out = rollout(&dir, &["status", "--function", "nope", "--alias", "live"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nope:live does not exist"),
        "{}",
        text(&out)
    );
}

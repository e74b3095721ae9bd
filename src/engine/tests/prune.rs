//! `keep N versions`: what a successful promote deletes, what it never deletes, and that a
//! prune that fails leaves the rollout a success.

use super::*;
use crate::cloud::faults::{Decision, Faulty, Injected};
use crate::engine::Outcome;

/// [`CANARY`] with `keep N versions`.
fn keeping(n: u32) -> Plan {
    plan(&format!("keep {n} versions\n{CANARY}"))
}

/// A world whose function `f` has `versions` published, `live` serving version 1.
fn versions(versions: u64) -> SimWorld {
    SimWorld::new(&SimConfig {
        functions: vec!["f".into()],
        alias: "live".into(),
        rps: 50.0,
        old: HEALTHY,
        new: HEALTHY,
        versions,
        seed: 7,
        ..SimConfig::default()
    })
}

fn pruned(events: &[Event]) -> Vec<(Vec<String>, Vec<String>)> {
    picked(events, |e| match e {
        EventKind::Pruned { deleted, kept, .. } => Some((deleted.clone(), kept.clone())),
        _ => None,
    })
}

fn deletes(w: &SimWorld) -> Vec<String> {
    w.calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::DeleteVersion { version, .. } => Some(version),
            _ => None,
        })
        .collect()
}

#[test]
fn promote_with_keep_two_leaves_the_two_newest_unreferenced_and_old_and_new() {
    let w = versions(6);
    let r = run(&w, &keeping(2));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    // old is 1, new is 7; of 2 to 6, the two newest stay.
    assert_eq!(w.versions("f"), ["1", "5", "6", "7"]);
    assert_eq!(deletes(&w), ["2", "3", "4"], "oldest first");
    assert_eq!(
        pruned(&r.events),
        [(
            vec!["2".to_string(), "3".into(), "4".into()],
            vec!["1".to_string(), "5".into(), "6".into(), "7".into()]
        )]
    );
    let finished = r.events.last().unwrap();
    assert!(matches!(
        finished.kind,
        EventKind::Finished { exit_code: 0, .. }
    ));
}

#[test]
fn versions_an_alias_provisioned_concurrency_or_a_mapping_uses_are_kept_and_not_counted() {
    let w = versions(9);
    w.add_alias("f", "beta", "4", Some(("6", 0.1)));
    w.provision("f", "3", 5);
    w.map_events("f", Some("2"));
    w.map_events("f", None);
    let r = run(&w, &keeping(2));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    // old 1, new 10; 2, 3, 4 and 6 are used; of 5, 7, 8 and 9 the two newest stay.
    assert_eq!(deletes(&w), ["5", "7"]);
    assert_eq!(w.versions("f"), ["1", "2", "3", "4", "6", "8", "9", "10"]);
    let log = log(w.calls());
    for read in [
        "ListVersionsByFunction f",
        "ListAliases f",
        "ListProvisionedConcurrencyConfigs f",
        "ListEventSourceMappings f",
    ] {
        assert!(log.iter().any(|c| c == read), "{read} in {log:?}");
    }
}

#[test]
fn every_page_of_versions_is_read() {
    let w = versions(120);
    let r = run(&w, &keeping(1));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    // old 1, new 121, and the newest of the others.
    assert_eq!(w.versions("f"), ["1", "120", "121"]);
    assert_eq!(deletes(&w).len(), 118);
    let pages = log(w.calls())
        .into_iter()
        .filter(|c| c.starts_with("ListVersionsByFunction"))
        .count();
    assert_eq!(pages, 3, "122 listed, 50 a page");
}

#[test]
fn without_keep_or_without_promote_nothing_is_listed_or_deleted() {
    let untouched = |w: &SimWorld| {
        !w.calls().iter().any(|c| {
            matches!(
                c,
                Call::ListVersions { .. } | Call::DeleteVersion { .. } | Call::ListAliases { .. }
            )
        })
    };
    let w = versions(6);
    assert_eq!(run(&w, &plan(CANARY)).report.outcome, Outcome::Promoted);
    assert!(untouched(&w));
    assert_eq!(w.versions("f").len(), 7);

    let w = versions(6);
    w.set_new_profile("f", BROKEN);
    let r = run(&w, &keeping(1));
    assert_ne!(r.report.outcome, Outcome::Promoted);
    assert!(untouched(&w), "a rollout that failed deletes nothing");
}

#[test]
fn a_prune_that_fails_is_a_warning_and_the_rollout_still_succeeds() {
    let w = versions(6);
    let faulty = Faulty::new(&w, |_, call: &Call| match call {
        Call::DeleteVersion { version, .. } if version == "3" => {
            Decision::Fail(Injected::ExpiredCredentials)
        }
        _ => Decision::Pass,
    });
    let r = run_in(&faulty, &w, &keeping(1));
    assert_eq!(r.report.outcome, Outcome::Promoted);
    assert_eq!(r.report.outcome.exit_code(), 0);
    assert_eq!(w.versions("f"), ["1", "3", "4", "5", "6", "7"]);
    let failed = picked(&r.events, |e| match e {
        EventKind::PruneFailed { deleted, error, .. } => Some((deleted.clone(), error.clone())),
        _ => None,
    });
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, ["2"]);
    assert!(failed[0].1.contains("credentials"), "{}", failed[0].1);
    assert!(pruned(&r.events).is_empty());
}

#[test]
fn lambda_refuses_to_delete_a_version_an_alias_routes_to() {
    let w = versions(4);
    w.add_alias("f", "beta", "2", Some(("3", 0.5)));
    let runtime = crate::cloud::sim::clock::runtime();
    for version in ["1", "2", "3"] {
        let error = runtime
            .block_on(w.delete_version("f", version))
            .unwrap_err();
        assert!(
            error.to_string().contains("ResourceConflictException"),
            "{version}: {error}"
        );
    }
    let latest = runtime.block_on(w.delete_version("f", "$LATEST"));
    assert!(matches!(
        latest,
        Err(crate::cloud::CloudError::InvalidParameter(_))
    ));
    runtime.block_on(w.delete_version("f", "4")).unwrap();
    let again = runtime.block_on(w.delete_version("f", "4"));
    assert!(matches!(again, Err(crate::cloud::CloudError::NotFound(_))));
    assert_eq!(w.versions("f"), ["1", "2", "3"]);
}

#[test]
fn keep_changes_the_fingerprint_and_a_playbook_without_it_keeps_its_own() {
    let plain = plan(CANARY).fingerprint();
    assert_ne!(keeping(2).fingerprint(), plain);
    assert_ne!(keeping(2).fingerprint(), keeping(3).fingerprint());
    // Pinned: without `keep` the digest must stay what leases taken before `keep` carry.
    assert_eq!(plain, "0bbc222f");
}

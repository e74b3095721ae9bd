//! What the engine refuses before changing anything, and why, in typed form.

use super::*;
use crate::engine::{Outcome, Refusal};

#[test]
fn refuses_an_alias_split_by_someone_else_or_missing() {
    let w = world(&["f"], HEALTHY);
    write(&w, "f", "3", &[("2", 0.2)]);
    let writes = w.writes().len();
    let r = run(&w, &plan(CANARY));
    assert_eq!(
        r.report.outcome,
        Outcome::Refused(Refusal::Split {
            function: "f".into(),
            alias: "live".into(),
            version: "2".into(),
            weight: 0.2,
            by_rollout: false
        })
    );
    assert_eq!(r.report.outcome.exit_code(), 2);
    assert_eq!(w.writes().len(), writes, "nothing written");

    let r = run(&world(&["g"], HEALTHY), &plan(CANARY));
    assert!(
        matches!(&r.report.outcome, Outcome::Refused(Refusal::Unreadable { function, .. }) if function == "f"),
        "{:?}",
        r.report.outcome
    );

    let r = run(&world(&["f"], HEALTHY), &plan("publish\npromote\n"));
    assert_eq!(r.report.outcome, Outcome::Refused(Refusal::NoAlias));
}

#[test]
fn a_description_without_room_for_the_lease_is_refused_before_any_change() {
    let w = world(&["f"], HEALTHY);
    w.describe_alias("f", "live", &"x".repeat(200));
    let before = w.alias("f", "live").unwrap();
    let r = run(&w, &plan(CANARY));
    assert_eq!(
        r.report.outcome,
        Outcome::Refused(Refusal::DescriptionTooLong {
            function: "f".into(),
            alias: "live".into(),
            length: 200
        })
    );
    assert_eq!(w.alias("f", "live").unwrap(), before, "nothing written");
}

//! What the engine refuses before changing anything, and why, in typed form.

use super::*;
use crate::cloud::sim::DEFAULT_ROLE;
use crate::engine::reasons::Mismatch;
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
    let said = r.report.outcome.to_string();
    assert!(
        said.contains("rollout rollback --function f --alias live") && !said.contains("resume"),
        "a split by hand has nothing to resume: {said}"
    );

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

const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/other";
const DEAD_LETTERS: &str = "arn:aws:sqs:eu-west-1:123456789012:dead-letters";

#[test]
fn what_lambda_would_refuse_later_is_refused_before_the_first_write() {
    type SetUp = fn(&SimWorld);
    let cases: [(&str, SetUp); 3] = [
        ("$LATEST runs as another role", |w| {
            w.configure("f", None, OTHER_ROLE, None)
        }),
        ("old has a dead-letter queue, $LATEST none", |w| {
            w.configure("f", Some(1), DEFAULT_ROLE, Some(DEAD_LETTERS))
        }),
        ("the alias serves $LATEST", |w| {
            write(w, "f", "$LATEST", &[])
        }),
    ];
    for (case, set_up) in cases {
        let w = world(&["f"], HEALTHY);
        set_up(&w);
        let before = w.alias("f", "live").unwrap();
        let writes = w.writes().len();
        let r = run(&w, &plan(CANARY));
        let said = r.report.outcome.to_string();
        match &r.report.outcome {
            Outcome::Refused(Refusal::Unlike(mismatch)) => {
                let Mismatch {
                    setting,
                    old_value,
                    new_value,
                    ..
                } = mismatch.as_ref();
                let values = [old_value.as_str(), new_value.as_str()];
                assert!(
                    values.contains(&OTHER_ROLE) || values.contains(&DEAD_LETTERS),
                    "{case}: {said}"
                );
                assert!(said.contains(setting), "{case}: {said}");
            }
            Outcome::Refused(Refusal::OldIsLatest { .. }) => {
                assert!(case.contains("serves $LATEST"), "{case}")
            }
            other => panic!("{case}: {other:?}"),
        }
        assert_eq!(r.report.outcome.exit_code(), 2, "{case}");
        assert!(said.contains("Nothing was changed"), "{case}: {said}");
        assert_eq!(w.writes().len(), writes, "{case}: nothing written");
        assert_eq!(w.alias("f", "live").unwrap(), before, "{case}");
    }
}

//! `resume`: it continues only the playbook that started the rollout.

use super::*;
use crate::cloud::faults::{Decision, Faulty, Injected};
use crate::engine::reasons::Refusal;
use crate::engine::Outcome;

/// Every call fails once traffic has moved: the runner dies with the alias split and its lease
/// on it.
fn dies_after_the_shift(plan: &Plan) -> SimWorld {
    let w = world(&["f"], HEALTHY);
    let shifted = std::cell::Cell::new(false);
    let die = |_: usize, call: &Call| {
        if shifted.get() {
            return Decision::Fail(Injected::ServerError);
        }
        if let Call::UpdateAlias { update, .. } = call {
            shifted.set(!update.routing.is_empty());
        }
        Decision::Pass
    };
    let dead = Faulty::new(&w, die);
    run_with(&dead, &dead, &w, plan, Settings::default());
    w
}

#[test]
fn a_changed_playbook_is_refused_and_the_alias_left_as_it_was() {
    let started = plan(CANARY);
    // The bake no longer judges health, or another playbook of as many steps altogether.
    let unjudged = plan(&CANARY.edit("wait 5m until healthy", "wait 5m"));
    let other = plan(&CANARY.edit("shift 5% to new", "shift 50% to new"));
    for changed in [&unjudged, &other] {
        let w = dies_after_the_shift(&started);
        let left = w.alias("f", "live").unwrap();
        assert_eq!(serves(&w, "f"), serving("1", &[("4", 0.05)]));
        let settings = Settings {
            resume: true,
            take_over: true,
            ..settings("rescuer@ops:7")
        };
        let r = run_with(&w, &w, &w, changed, settings);
        assert!(
            matches!(
                &r.report.outcome,
                Outcome::Refused(Refusal::ChangedPlaybook { .. })
            ),
            "{:?}",
            r.report.outcome
        );
        assert_eq!(r.report.outcome.exit_code(), 2);
        assert!(r
            .report
            .outcome
            .to_string()
            .contains("Resume with the playbook and --set values that started it"));
        let now = w.alias("f", "live").unwrap();
        assert_eq!(
            (now.version, now.routing, now.description),
            (left.version, left.routing, left.description),
            "nothing written"
        );
    }
}

#[test]
fn the_same_playbook_resumes_whatever_its_layout() {
    let w = dies_after_the_shift(&plan(CANARY));
    let relaid = plan(&format!("# the same rollout, laid out again\n{CANARY}\n\n"));
    let settings = Settings {
        resume: true,
        take_over: true,
        ..settings("rescuer@ops:7")
    };
    let r = run_with(&w, &w, &w, &relaid, settings);
    assert_eq!(r.report.outcome, Outcome::Promoted);
    assert_eq!(serves(&w, "f"), serving("4", &[]));
}

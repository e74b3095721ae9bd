//! `no new error signatures` in the simulated world: a new logged error rolls back with it
//! listed, errors both versions log pass, a check on trial only shows, and logs that cannot be
//! read are never healthy.

use super::*;
use crate::cloud::sim::conditions::{Conditions, LoggedError};
use crate::engine::health::{Evaluation, Verdict};
use crate::engine::{Cause, Outcome};

/// Both versions fail 2% of the time, logging the same two kinds of error.
const NOISY: Profile = Profile {
    error_rate: 0.02,
    median_ms: 100.0,
};

const PLAYBOOK: &str = r#"
function "f"
alias "live"
health every 1m {
  min invocations 10
  error rate < 10%
  no new error signatures
}
publish
shift 10% to new
wait 5m until healthy
promote
"#;

/// A world where both versions are [`NOISY`] and `new` also logs `new_error` in 1% of its
/// invocations.
fn logging(new_error: Option<&str>) -> SimWorld {
    SimWorld::new(&SimConfig {
        functions: vec!["f".into()],
        alias: "live".into(),
        rps: 50.0,
        old: NOISY,
        new: NOISY,
        versions: 3,
        seed: 11,
        conditions: Conditions {
            new_signature: new_error.map(|message| LoggedError {
                message: message.into(),
                share: 0.01,
            }),
            ..Conditions::default()
        },
        ..SimConfig::default()
    })
}

/// Each evaluation's result of the check, in order.
fn signature_results(r: &Run) -> Vec<(Verdict, String)> {
    picked(&r.events, |e| match e {
        EventKind::HealthEvaluated(Evaluation { checks, .. }) => checks
            .iter()
            .find(|c| c.check.contains("error signatures"))
            .map(|c| (c.verdict, c.detail.clone())),
        _ => None,
    })
}

#[test]
fn a_new_logged_error_rolls_back_at_once_and_is_listed_with_a_sample() {
    let w = logging(Some("KeyError: 'cart'"));
    let r = run(&w, &plan(PLAYBOOK));
    let Outcome::RolledBack {
        step: 3,
        cause: Cause::Unhealthy(evaluation),
    } = &r.report.outcome
    else {
        panic!("{:?}", r.report.outcome)
    };
    assert!(
        evaluation
            .reason
            .contains("1 new error signature that old did not log over the same time: ")
            && evaluation
                .reason
                .contains("`ERROR KeyError: 'cart' (request <n>)`")
            && evaluation.reason.contains("(e.g. \"20"),
        "{}",
        evaluation.reason
    );
    // The error rate check passes meanwhile: only the logs tell.
    assert_eq!(evaluation.checks[0].verdict, Verdict::Pass);
    assert_eq!(signature_results(&r).len(), 1, "the first look fails it");
    assert_eq!(serves(&w, "f"), serving("1", &[]));
}

#[test]
fn errors_both_versions_log_are_not_new() {
    let w = logging(None);
    let r = run(&w, &plan(PLAYBOOK));
    assert_eq!(
        r.report.outcome,
        Outcome::Promoted,
        "{:?}",
        r.report.outcome
    );
    let results = signature_results(&r);
    assert!(
        results.iter().all(|(v, _)| *v == Verdict::Pass),
        "{results:?}"
    );
    let (_, last) = results.last().unwrap();
    // Not vacuous: new logged errors, of the signatures old logs too.
    assert!(
        last.contains("new logged ") && !last.contains("new logged 0 ") && last.contains("; 0 new"),
        "{last}"
    );
}

#[test]
fn a_new_signature_within_the_allowance_or_on_trial_does_not_roll_back() {
    for text in [
        PLAYBOOK.edit(
            "no new error signatures",
            "no new error signatures seen more than 1000 times",
        ),
        PLAYBOOK.edit("no new error signatures", "observe no new error signatures"),
    ] {
        let w = logging(Some("KeyError: 'cart'"));
        let r = run(&w, &plan(&text));
        assert_eq!(r.report.outcome, Outcome::Promoted, "{text}");
        let (verdict, detail) = signature_results(&r).pop().unwrap();
        assert!(
            detail.contains("KeyError: 'cart'") || detail.contains("1 new"),
            "{detail}"
        );
        assert!(
            verdict == Verdict::Pass || text.contains("observe"),
            "{detail}"
        );
    }
}

#[test]
fn logs_that_cannot_be_read_are_never_healthy() {
    let text = PLAYBOOK.edit(
        "no new error signatures",
        "no new error signatures in \"/aws/lambda/gone\"",
    );
    let w = logging(None);
    let r = run(&w, &plan(&text));
    assert!(
        matches!(
            r.report.outcome,
            Outcome::RolledBack {
                step: 3,
                cause: Cause::Inconclusive { .. }
            }
        ),
        "{:?}",
        r.report.outcome
    );
    let results = signature_results(&r);
    assert!(!results.is_empty());
    for (verdict, detail) in results {
        assert_eq!(verdict, Verdict::Inconclusive);
        assert!(
            detail.contains("could not read the logs") && detail.contains("does not exist"),
            "{detail}"
        );
    }
}

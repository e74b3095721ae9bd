//! `approve` gates: released by `rollout approve` from elsewhere, or by a person at the prompt
//! the caller passes in.

use super::*;
use crate::engine::{Approval, Ask, Cause, Outcome};
use crate::plan::Millis;

#[test]
fn an_approval_from_elsewhere_releases_the_gate() {
    let text = CANARY.replace(
        "wait 5m until healthy",
        "wait 1m until healthy\napprove \"go?\"",
    );
    let plan = plan(&text);
    let hooks = Hooks::compile(&plan);
    let w = world(&["f"], HEALTHY);
    let mut events = Vec::new();
    let settings = Settings {
        approval: Approval::Remote,
        ..settings("runner@ci:5")
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let services = Services {
        lambda: &w,
        metrics: &w,
        clock: &w,
        hooks: &hooks,
        events: &mut events,
    };
    let engine = Engine::new(services, settings);
    let approver = async {
        // What `rollout approve` does: wait for the gate in the lease, then set a=1.
        loop {
            crate::cloud::Clock::sleep(&w, Millis(1_000)).await;
            let alias = w.get_alias("f", "live").await.unwrap();
            let (user, marker) = Marker::parse(&alias.description);
            let Some(mut marker) = marker.filter(|m| m.gate) else {
                continue;
            };
            marker.approved = true;
            let update = AliasUpdate {
                version: alias.version.clone(),
                routing: alias.routing.clone(),
                revision_id: alias.revision_id.clone(),
                description: marker.describe(&user),
            };
            w.update_alias("f", "live", &update).await.unwrap();
            return;
        }
    };
    let (report, ()) = runtime.block_on(async { tokio::join!(engine.run(&plan), approver) });
    assert_eq!(report.outcome, Outcome::Promoted);
    let by = picked(&events, |e| match e {
        EventKind::Approved { by } => Some(by.clone()),
        _ => None,
    });
    assert_eq!(by, ["`rollout approve`"]);
}

#[test]
fn a_person_at_the_prompt_decides_the_gate() {
    fn yes(_: &str) -> bool {
        true
    }
    fn no(_: &str) -> bool {
        false
    }
    let plan = plan(&CANARY.replace("promote", "approve \"ship it?\"\npromote"));
    // While the person thinks, virtual time runs and health is judged: a version without
    // errors keeps every evaluation passing.
    let flawless = Profile {
        error_rate: 0.0,
        median_ms: 100.0,
    };
    for (answer, promoted) in [(yes as Ask, true), (no as Ask, false)] {
        let w = world(&["f"], flawless);
        let settings = Settings {
            approval: Approval::Prompt(answer),
            ..settings("person@desk:4")
        };
        let r = run_with(&w, &w, &w, &plan, settings);
        if promoted {
            assert_eq!(r.report.outcome, Outcome::Promoted);
            let by = picked(&r.events, |e| match e {
                EventKind::Approved { by } => Some(by.clone()),
                _ => None,
            });
            assert_eq!(by, ["the terminal"]);
        } else {
            assert_eq!(
                r.report.outcome,
                Outcome::RolledBack {
                    step: 4,
                    cause: Cause::ApprovalRefused
                }
            );
            assert_eq!(serves(&w, "f"), serving("1", &[]));
        }
    }
}

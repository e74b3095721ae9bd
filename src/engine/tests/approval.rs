//! `approve` gates: released by `rollout approve` from elsewhere, or by a person at the prompt
//! the caller passes in.

use super::*;
use crate::cloud::faults::{Decision, Faulty};
use crate::engine::{Approval, Ask, Cause, Outcome};
use crate::plan::Millis;

#[test]
fn an_approval_from_elsewhere_releases_the_gate() {
    let text = CANARY.edit(
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
    let runtime = crate::cloud::sim::clock::runtime();
    let services = Services {
        lambda: &w,
        metrics: &w,
        clock: &w,
        hooks: &hooks,
        events: &mut events,
        calendars: None,
        logs: None,
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
            marker.approved = Some("carol@desk".into());
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
    assert_eq!(
        by,
        ["carol@desk (`rollout approve`)"],
        "who approved, in the journal too"
    );
}

#[test]
fn a_person_at_the_prompt_decides_the_gate() {
    fn yes(_: &str) -> bool {
        true
    }
    fn no(_: &str) -> bool {
        false
    }
    let plan = plan(&CANARY.edit("promote", "approve \"ship it?\"\npromote"));
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

#[test]
fn a_long_holder_is_released_by_an_approval_that_races_its_heartbeat() {
    let text = CANARY.edit(
        "wait 5m until healthy",
        "wait 1m until healthy\napprove \"go?\"",
    );
    let plan = plan(&text);
    let w = world(&["f"], HEALTHY);
    // `rollout approve` writes a=1 just after the runner read the alias and just before its
    // heartbeat: the heartbeat meets a new RevisionId.
    let gate_writes = std::cell::Cell::new(0);
    let approve_first = |_: usize, call: &Call| {
        if let Call::UpdateAlias { update, .. } = call {
            let marker = update
                .description
                .as_deref()
                .and_then(|d| Marker::parse(d).1);
            if marker.is_some_and(|m| m.gate) {
                gate_writes.set(gate_writes.get() + 1);
                if gate_writes.get() == 2 {
                    let now = w.alias("f", "live").unwrap();
                    let (user, marker) = Marker::parse(&now.description);
                    let approved = Marker {
                        approved: Some("release-manager@ops".into()),
                        ..marker.expect("the runner's lease")
                    };
                    w.describe_alias("f", "live", &approved.describe(&user).unwrap());
                }
            }
        }
        Decision::Pass
    };
    let faulty = Faulty::new(&w, approve_first);
    let settings = Settings {
        approval: Approval::Remote,
        ..settings("release-bot-of-the-checkout-platform-team@ip-10-0-12-34.eu-west-1.compute.internal:4242")
    };
    let r = run_with(&faulty, &w, &w, &plan, settings);
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    assert_eq!(
        gate_writes.get(),
        3,
        "the heartbeat that lost the race read the alias and wrote again, carrying the approval"
    );
    assert!(
        r.events.iter().any(|e| matches!(
            &e.kind,
            EventKind::Approved { by } if by.starts_with("release-manager@ops")
        )),
        "the runner took the approval up"
    );
    assert_eq!(serves(&w, "f"), serving("4", &[]));
}

#[test]
fn a_rollback_from_elsewhere_during_the_gate_ends_saying_what_the_alias_serves_now() {
    let text = CANARY.edit("wait 5m until healthy", "approve \"go?\"");
    let plan = plan(&text);
    let w = world(&["f"], HEALTHY);
    // What `rollout rollback` does once the gate waits: old alone, the lease cleared.
    let rolled_back = std::cell::Cell::new(false);
    let rollback_first = |_: usize, call: &Call| {
        if let Call::GetAlias { .. } = call {
            let now = w.alias("f", "live").unwrap();
            let waiting = Marker::parse(&now.description).1.is_some_and(|m| m.gate);
            if waiting && !rolled_back.replace(true) {
                w.serve_as_someone_else("f", "live", "1", "");
            }
        }
        Decision::Pass
    };
    let faulty = Faulty::new(&w, rollback_first);
    let settings = Settings {
        approval: Approval::Remote,
        ..Settings::default()
    };
    let r = run_with(&faulty, &w, &w, &plan, settings);
    assert_eq!(r.report.outcome.exit_code(), 4, "{:?}", r.report.outcome);
    let said = r.report.outcome.to_string();
    assert!(
        said.contains("changed while waiting for approval: it serves version 1 (100%)")
            && said.ends_with("f:live serves version 1 (100%)"),
        "one story: {said}"
    );
}

//! Someone else on the alias: a write that meets a changed RevisionId overwrites nothing, two
//! runners never both proceed, and a lease is taken over only when stale and asked to.

use std::cell::Cell;

use super::*;
use crate::cloud::faults::{Decision, Faulty};
use crate::engine::{Change, Conflict, Outcome};

/// Someone else writes the alias just before the `n`-th UpdateAlias (1-based).
fn meddle_before_write(n: usize) -> impl Fn(usize, &Call) -> Decision {
    let writes = Cell::new(0);
    move |_, call| {
        if let Call::UpdateAlias { .. } = call {
            writes.set(writes.get() + 1);
            if writes.get() == n {
                return Decision::WriteFirst;
            }
        }
        Decision::Pass
    }
}

/// Lets the other runner go after every read of an alias, so that two runners both read
/// before either writes.
fn pause_after_reads(_: usize, call: &Call) -> Decision {
    match call {
        Call::GetAlias { .. } => Decision::Pause,
        _ => Decision::Pass,
    }
}

#[test]
fn a_stale_revision_stops_with_a_conflict_and_overwrites_nothing() {
    // Someone else writes the alias just before our first (lease), third (shift) and fourth
    // (step mark, whose conflict surfaces at the next heartbeat) alias writes.
    for (before_write, split_left) in [(1, false), (3, false), (4, true)] {
        let w = world(&["f"], HEALTHY);
        let meddler = Faulty::new(&w, meddle_before_write(before_write));
        let r = run_in(&meddler, &w, &plan(CANARY));
        let change = match &r.report.outcome {
            Outcome::Conflict(Conflict::LeaseTaken(change)) if before_write == 1 => change,
            Outcome::Conflict(Conflict::InStep { change, .. }) if before_write > 1 => change,
            other => panic!("{before_write}: {other:?}"),
        };
        assert!(
            matches!(change, Change::Written { function, .. } if function == "f"),
            "{before_write}: {change:?}"
        );
        assert_eq!(r.report.outcome.exit_code(), 4);
        let after = w.alias("f", "live").unwrap();
        let touched = format!("rev-{}", before_write + 1);
        assert_eq!(
            after.revision_id, touched,
            "{before_write}: nothing written after the other writer"
        );
        assert_eq!(
            after.additional().is_some(),
            split_left,
            "{before_write}: the split stays as it was"
        );
    }
}

/// Two runners on one alias at once.
fn race<L: LambdaApi>(lambda: &L, w: &SimWorld) -> (Report, Report) {
    let plan = plan(CANARY);
    let hooks = Hooks::compile(&plan);
    let (mut a_events, mut b_events) = (Vec::new(), Vec::new());
    let runtime = crate::cloud::sim::clock::runtime();
    let services = |events| Services {
        lambda,
        metrics: w,
        clock: w,
        hooks: &hooks,
        events,
        calendars: None,
        logs: None,
    };
    let a = Engine::new(services(&mut a_events), settings("alice@laptop:1"));
    let b = Engine::new(services(&mut b_events), settings("bob@ci:2"));
    runtime.block_on(async { tokio::join!(a.run(&plan), b.run(&plan)) })
}

#[test]
fn of_two_concurrent_runs_exactly_one_proceeds() {
    // B starts while A holds the lease.
    let w = world(&["f"], HEALTHY);
    let (a, b) = race(&w, &w);
    assert_eq!(a.outcome, Outcome::Promoted);
    match &b.outcome {
        Outcome::Conflict(Conflict::Held { marker, .. }) => {
            assert_eq!(marker.holder, "alice@laptop:1")
        }
        other => panic!("{other:?}"),
    }
    // Both read the alias before either writes: the RevisionId decides.
    let w = world(&["f"], HEALTHY);
    let (a, b) = race(&Faulty::new(&w, pause_after_reads), &w);
    let outcomes = [&a.outcome, &b.outcome];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| ***o == Outcome::Promoted)
            .count(),
        1,
        "{outcomes:?}"
    );
    let loser = outcomes.iter().find(|o| ***o != Outcome::Promoted).unwrap();
    assert!(
        matches!(loser, Outcome::Conflict(Conflict::LeaseTaken(_))),
        "{loser:?}"
    );
    assert_eq!(loser.exit_code(), 4);
    let alias = w.alias("f", "live").unwrap();
    assert_eq!(
        (alias.version.as_str(), alias.description.as_str()),
        ("4", ""),
        "one rollout, lease released"
    );
}

#[test]
fn a_stale_lease_is_taken_over_only_when_asked() {
    let stale = "[rollout h=gone@old:9 p=x s=2/4 o=1 n=- t=1795000000 b=1795000000 g=0 a=0]";
    let w = world(&["f"], HEALTHY);
    w.describe_alias("f", "live", &format!("owned by payments {stale}"));
    let r = run(&w, &plan(CANARY));
    match &r.report.outcome {
        Outcome::Conflict(Conflict::Held {
            marker,
            age,
            stale_after,
            ..
        }) => {
            assert_eq!(marker.holder, "gone@old:9");
            assert!(age >= stale_after, "{age} is stale");
        }
        other => panic!("{other:?}"),
    }
    let settings = Settings {
        take_over: true,
        ..settings("carol@desk:3")
    };
    let r = run_with(&w, &w, &w, &plan(CANARY), settings);
    assert_eq!(r.report.outcome, Outcome::Promoted);
    assert_eq!(
        w.alias("f", "live").unwrap().description,
        "owned by payments",
        "the user's text is kept"
    );
}

#[test]
fn resume_takes_over_without_asking_from_a_runner_of_this_machine_that_has_ended() {
    // A fresh lease: its heartbeat is seconds old.
    let fresh = |w: &SimWorld| {
        let beat = crate::cloud::Clock::unix(w);
        format!("[rollout h=me@here:9 p=f s=1/4 o=1 n=- t={beat} b={beat} g=0 a=0]")
    };
    fn gone(marker: &Marker) -> bool {
        marker.holder == "me@here:9"
    }
    fn alive(_: &Marker) -> bool {
        false
    }
    for (gone, expected) in [(gone as fn(&Marker) -> bool, true), (alive, false)] {
        let w = world(&["f"], HEALTHY);
        w.describe_alias("f", "live", &fresh(&w));
        let settings = Settings {
            resume: true,
            gone,
            ..settings("me@here:10")
        };
        let r = run_with(&w, &w, &w, &plan(CANARY), settings);
        let taken = picked(&r.events, |k| match k {
            EventKind::TakingOver { holder, why, .. } => Some((holder.clone(), why.clone())),
            _ => None,
        });
        if expected {
            assert_eq!(r.report.outcome, Outcome::Promoted);
            assert_eq!(
                taken,
                vec![(
                    "me@here:9".to_string(),
                    "its process on this machine has ended".to_string()
                )]
            );
        } else {
            assert!(
                matches!(r.report.outcome, Outcome::Conflict(Conflict::Held { .. })),
                "a live or foreign runner keeps its lease: {:?}",
                r.report.outcome
            );
            assert!(taken.is_empty());
        }
    }
}

#[test]
fn resume_never_takes_a_fresh_lease_whose_holder_it_cannot_prove_dead() {
    use crate::cloud::lease::{user_at_host, Identity};
    // A process of this user that has ended: its pid is free here.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let here = Identity::current().machine.clone().expect("Linux");
    let cases = [
        // This machine: the holder is provably gone.
        (Some(format!("{here}.0000beef")), true),
        // An identical container (same user, host name and pid; another pid namespace), and a
        // marker without an identity: nothing proves the holder dead.
        (Some("0badc0de.0000beef".to_string()), false),
        (None, false),
    ];
    for (id, taken) in cases {
        let w = world(&["f"], HEALTHY);
        let beat = crate::cloud::Clock::unix(&w);
        let marker = Marker {
            holder: format!("{}:{pid}", user_at_host()),
            id: id.clone(),
            plan: "f".into(),
            fingerprint: None,
            step: 1,
            steps: 4,
            old: "1".into(),
            new: None,
            step_started: beat,
            beat,
            gate: false,
            approved: None,
            control: Default::default(),
        };
        let description = marker.describe("").unwrap();
        w.describe_alias("f", "live", &description);
        let settings = Settings {
            resume: true,
            ..Settings::default()
        };
        let r = run_with(&w, &w, &w, &plan(CANARY), settings);
        if taken {
            assert_eq!(r.report.outcome, Outcome::Promoted, "{id:?}");
        } else {
            assert!(
                matches!(r.report.outcome, Outcome::Conflict(Conflict::Held { .. })),
                "{id:?}: {:?}",
                r.report.outcome
            );
            assert_eq!(r.report.outcome.exit_code(), 4);
            assert_eq!(
                w.alias("f", "live").unwrap().description,
                description,
                "{id:?}: the lease is left to its holder"
            );
        }
    }
}

#[test]
fn take_over_on_a_fresh_lease_says_what_would_take_it() {
    let w = world(&["f"], HEALTHY);
    let beat = crate::cloud::Clock::unix(&w);
    w.describe_alias(
        "f",
        "live",
        &format!("[rollout h=alice@laptop:1 p=x s=2/4 o=1 n=- t={beat} b={beat} g=0 a=0]"),
    );
    let settings = Settings {
        take_over: true,
        ..settings("bob@ci:2")
    };
    let r = run_with(&w, &w, &w, &plan(CANARY), settings);
    let said = r.report.outcome.to_string();
    assert_eq!(r.report.outcome.exit_code(), 4, "{said}");
    assert!(!said.contains("pass --take-over"), "{said}");
    assert!(
        said.contains("`run --take-over` takes only a lease without a heartbeat for 10m")
            && said.contains("rollout resume FILE --take-over"),
        "{said}"
    );
}

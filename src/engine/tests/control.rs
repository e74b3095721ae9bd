//! What people ask of a running rollout from another machine (`rollout pause`, `resume`,
//! `promote`): the requests go through the lease exactly as the commands write them
//! ([`crate::cloud::lease::ask`]), while the rollout runs on the same virtual clock.

use super::*;
use crate::cloud::lease::{ask, Asked, Request};
use crate::cloud::sim::SimWorld;
use crate::cloud::Clock;
use crate::engine::{Change, Conflict, Outcome};
use crate::plan::Millis;

/// Reads the alias every five seconds for requests, as `run` does.
fn steered_settings() -> Settings {
    Settings {
        control: Some(Millis(5_000)),
        ..Settings::default()
    }
}

/// Runs `plan` in `world`, reading requests as `run` does, while `person` acts on the same
/// clock.
fn steered(world: &SimWorld, plan: &Plan, person: impl AsyncFnOnce(&SimWorld)) -> Run {
    run_while(world, world, world, plan, steered_settings(), person)
}

/// Sleeps until `minutes` after the world's start.
async fn at_minute(w: &SimWorld, minutes: f64) {
    let at = Millis((minutes * 60_000.0) as u64);
    w.sleep(Millis(at.0.saturating_sub(w.now().0))).await;
}

/// Asks `request` of the rollout on `f`:`live` as `by`, and expects it written.
async fn asks(w: &SimWorld, by: &str, request: Request) {
    let asked = ask(w, "f", "live", &request, by, w.unix()).await;
    assert!(
        matches!(asked, Ok(Asked::Written(_))),
        "{request:?}: {asked:?}"
    );
}

/// The weight of `new` on the alias now.
fn weight(w: &SimWorld) -> Option<f64> {
    w.alias("f", "live").unwrap().additional().map(|(_, w)| w)
}

#[test]
fn a_paused_bake_outlasts_its_length_then_resumes_and_promote_ends_it_at_once() {
    let w = world(&["f"], HEALTHY);
    let r = steered(&w, &plan(BAKE_30M), async |w| {
        at_minute(w, 5.0).await;
        let pause = Request::Pause {
            reason: Some("looking at the dashboard".into()),
        };
        asks(w, "carol@desk", pause).await;
        // Past the bake's 30 minutes: still paused, still on 5%.
        at_minute(w, 45.0).await;
        assert_eq!(weight(w), Some(0.05), "paused: it has not promoted");
        let lease = Marker::parse(&w.alias("f", "live").unwrap().description).1;
        let paused = lease
            .and_then(|m| m.control.paused)
            .expect("the lease says paused");
        assert_eq!(paused.by, "carol@desk");
        assert_eq!(paused.reason.as_deref(), Some("looking at the dashboard"));
        asks(w, "dave@desk", Request::Resume).await;
        at_minute(w, 47.0).await;
        assert_eq!(weight(w), Some(0.05), "resumed, the bake goes on");
        asks(w, "dave@desk", Request::Promote { full: false }).await;
    });
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    let paused = picked(&r.events, |k| match k {
        EventKind::Paused { by, reason, .. } => Some((by.clone(), reason.clone())),
        _ => None,
    });
    assert_eq!(
        paused,
        [(
            "carol@desk".to_string(),
            Some("looking at the dashboard".to_string())
        )]
    );
    let unpaused = picked(&r.events, |k| match k {
        EventKind::Unpaused { by, paused_ms } => Some((by.clone(), *paused_ms)),
        _ => None,
    });
    assert_eq!(unpaused.len(), 1, "{unpaused:?}");
    assert_eq!(unpaused[0].0, "dave@desk");
    assert!(
        unpaused[0].1 >= Millis::from_minutes(39),
        "paused about 40 minutes: {:?}",
        unpaused[0].1
    );
    let asked = picked(&r.events, |k| match k {
        EventKind::PromoteAsked { by, full } => Some((by.clone(), *full)),
        _ => None,
    });
    assert_eq!(asked, [("dave@desk".to_string(), false)]);
    let promoted_at = r.events.last().unwrap().at_ms;
    assert!(
        (Millis::from_minutes(47).0..Millis::from_minutes(49).0).contains(&promoted_at),
        "promoted within a look of the request, not at the bake's end (~70m): {promoted_at} ms"
    );
    let passed = picked(&r.events, |k| match k {
        EventKind::BakePassed { reason } => Some(reason.clone()),
        _ => None,
    });
    assert!(
        passed[0].contains("while paused") && passed[0].contains("`rollout promote`"),
        "{passed:?}"
    );
    assert_eq!(serves(&w, "f"), serving("4", &[]));
}

#[test]
fn a_pause_keeps_traffic_where_it_is_until_resumed() {
    let text = BAKE_30M.edit(
        "wait 30m until healthy",
        "wait 2m\nshift 50% to new\nwait 2m until healthy",
    );
    let w = world(&["f"], HEALTHY);
    let r = steered(&w, &plan(&text), async |w| {
        at_minute(w, 1.0).await;
        asks(w, "carol@desk", Request::Pause { reason: None }).await;
        at_minute(w, 20.0).await;
        assert_eq!(weight(w), Some(0.05), "no shift while paused");
        asks(w, "carol@desk", Request::Resume).await;
    });
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    assert_eq!(
        traffic(&w),
        [
            serving("1", &[("4", 0.05)]),
            serving("1", &[("4", 0.5)]),
            serving("4", &[])
        ]
    );
    let shifted_at = r
        .events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::StepStarted { step: 4, .. }))
        .unwrap()
        .at_ms;
    assert!(
        shifted_at >= Millis::from_minutes(21).0,
        "the wait's clock stopped while paused: the second shift came a minute after the resume, at {shifted_at} ms"
    );
}

#[test]
fn a_violation_while_paused_still_rolls_back() {
    let w = world(&["f"], BROKEN);
    let r = steered(&w, &plan(BAKE_30M), async |w| {
        at_minute(w, 0.5).await;
        asks(w, "carol@desk", Request::Pause { reason: None }).await;
    });
    assert!(
        matches!(r.report.outcome, Outcome::RolledBack { .. }),
        "{:?}",
        r.report.outcome
    );
    let kinds: Vec<&str> = r
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Paused { .. } => Some("paused"),
            EventKind::RollingBack { .. } => Some("rolling back"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["paused", "rolling back"]);
    assert_eq!(serves(&w, "f"), serving("1", &[]));
}

#[test]
fn promote_full_ends_the_bake_and_skips_to_promote() {
    let text = BAKE_30M.edit(
        "wait 30m until healthy",
        "wait 10m until healthy\nshift 50% to new\nwait 10m until healthy",
    );
    let w = world(&["f"], HEALTHY);
    let r = steered(&w, &plan(&text), async |w| {
        at_minute(w, 4.0).await;
        asks(w, "dave@desk", Request::Promote { full: true }).await;
    });
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    assert_eq!(
        traffic(&w),
        [serving("1", &[("4", 0.05)]), serving("4", &[])],
        "the 50% step was skipped"
    );
    let steps = picked(&r.events, |k| match k {
        EventKind::StepStarted { step, .. } => Some(*step),
        _ => None,
    });
    assert_eq!(steps, [1, 2, 3, 6]);
    assert!(r.events.last().unwrap().at_ms < Millis::from_minutes(6).0);
}

#[test]
fn a_promote_asked_before_the_current_wait_began_is_not_acted_on() {
    let w = world(&["f"], HEALTHY);
    let r = steered(&w, &plan(BAKE_30M), async |w| {
        at_minute(w, 3.0).await;
        // A request stamped before the bake began (a clock behind, or one meant for an
        // earlier wait).
        let now = w.alias("f", "live").unwrap();
        let (user, marker) = Marker::parse(&now.description);
        let mut marker = marker.unwrap();
        marker.control.skip = Some(crate::cloud::lease::Skip {
            full: false,
            by: "late@desk".into(),
            at: w.unix() - 600,
        });
        write_description(w, &marker.describe(&user).unwrap()).await;
    });
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    let ignored = picked(&r.events, |k| match k {
        EventKind::PromoteIgnored { by, .. } => Some(by.clone()),
        _ => None,
    });
    assert_eq!(ignored, ["late@desk"]);
    assert!(
        r.events.last().unwrap().at_ms >= Millis::from_minutes(30).0,
        "the bake ran its length"
    );
}

#[test]
fn someone_moving_traffic_while_the_bake_waits_is_a_conflict_seen_within_seconds() {
    let w = world(&["f"], HEALTHY);
    let r = steered(&w, &plan(BAKE_30M), async |w| {
        at_minute(w, 5.0).await;
        let now = w.alias("f", "live").unwrap();
        let update = AliasUpdate {
            version: "1".into(),
            routing: [("4".to_string(), 0.2)].into(),
            revision_id: now.revision_id,
            description: None,
        };
        w.update_alias("f", "live", &update).await.unwrap();
    });
    let Outcome::Conflict(Conflict::InStep { change, .. }) = &r.report.outcome else {
        panic!("{:?}", r.report.outcome);
    };
    assert!(matches!(change, Change::Waiting { .. }), "{change:?}");
    assert!(r.events.last().unwrap().at_ms < Millis::from_minutes(5).0 + 10_000);
    assert_eq!(weight(&w), Some(0.2), "nothing overwritten");
}

/// Rewrites the description of `f`:`live`, leaving its routing.
async fn write_description(w: &SimWorld, description: &str) {
    let now = w.alias("f", "live").unwrap();
    let update = AliasUpdate {
        version: now.version,
        routing: now.routing,
        revision_id: now.revision_id,
        description: Some(description.to_string()),
    };
    w.update_alias("f", "live", &update).await.unwrap();
}

/// Writes a pause by `by` into the lease on `f`:`live`, as `rollout pause` does.
fn pause_now(w: &SimWorld, by: &str) {
    let now = w.alias("f", "live").unwrap();
    let (user, marker) = Marker::parse(&now.description);
    let mut marker = marker.expect("a lease");
    marker.control.paused = Some(crate::cloud::lease::Paused {
        by: by.into(),
        at: w.unix(),
        reason: None,
    });
    w.describe_alias("f", "live", &marker.describe(&user).unwrap());
}

#[test]
fn a_pause_written_between_the_runners_read_and_its_shift_holds_the_shift() {
    let text = BAKE_30M.edit(
        "wait 30m until healthy",
        "wait 2m until healthy\nshift 50% to new\nwait 2m until healthy",
    );
    let w = world(&["f"], HEALTHY);
    // Just before the write that moves traffic to 50% (after the runner's last read), a person
    // pauses: the write meets a new RevisionId, reads the pause, and does not move traffic.
    let paused_once = std::cell::Cell::new(false);
    let pause_first = |_: usize, call: &Call| {
        if let Call::UpdateAlias { update, .. } = call {
            let to_half = update.routing.values().any(|w| (*w - 0.5).abs() < 1e-9);
            if to_half && !paused_once.replace(true) {
                pause_now(&w, "carol@desk");
            }
        }
        crate::cloud::faults::Decision::Pass
    };
    let faulty = crate::cloud::faults::Faulty::new(&w, pause_first);
    let r = run_while(
        &faulty,
        &w,
        &w,
        &plan(&text),
        steered_settings(),
        async |w| {
            at_minute(w, 30.0).await;
            assert_eq!(weight(w), Some(0.05), "held at 5% while paused");
            asks(w, "dave@desk", Request::Resume).await;
        },
    );
    assert!(paused_once.get(), "the race was run");
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    let moved_to_half = moved_at(&r, |a| a.additional().is_some_and(|(_, w)| w > 0.4));
    assert!(
        moved_to_half >= Millis::from_minutes(30).0,
        "50% only after the resume: {moved_to_half}"
    );
}

#[test]
fn a_rollout_resumed_after_its_runner_died_keeps_the_pause() {
    let w = world(&["f"], HEALTHY);
    let beat = w.unix() - 3_600;
    let dead = Marker {
        holder: "ci@gone:1".into(),
        id: None,
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
        control: crate::cloud::lease::Control {
            paused: Some(crate::cloud::lease::Paused {
                by: "carol@desk".into(),
                at: beat,
                reason: Some("incident 42".into()),
            }),
            ..Default::default()
        },
    };
    w.describe_alias("f", "live", &dead.describe("").unwrap());
    let settings = Settings {
        resume: true,
        take_over: true,
        ..steered_settings()
    };
    let r = run_while(&w, &w, &w, &plan(BAKE_30M), settings, async |w| {
        at_minute(w, 20.0).await;
        assert_eq!(weight(w), None, "no traffic on new while paused");
        asks(w, "dave@desk", Request::Resume).await;
    });
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    let paused = picked(&r.events, |k| match k {
        EventKind::Paused { by, reason, .. } => Some((by.clone(), reason.clone())),
        _ => None,
    });
    assert_eq!(
        paused,
        [("carol@desk".to_string(), Some("incident 42".to_string()))]
    );
    assert!(r.events.last().unwrap().at_ms >= Millis::from_minutes(50).0);
}

#[test]
fn on_violation_pause_waits_for_a_person_who_may_accept_it() {
    let text = BAKE_30M.edit(
        "error rate < 1%",
        "error rate < 1%\n  on violation pause up to 2h",
    );
    let w = world(&["f"], BROKEN);
    let r = steered(&w, &plan(&text), async |w| {
        at_minute(w, 40.0).await;
        assert_eq!(weight(w), Some(0.05), "paused with traffic where it was");
        let lease = Marker::parse(&w.alias("f", "live").unwrap().description).1;
        let paused = lease
            .and_then(|m| m.control.paused)
            .expect("the lease says paused");
        assert_eq!(paused.by, "health-check");
        let reason = paused.reason.unwrap();
        assert!(reason.starts_with("f: "), "the violation: {reason}");
        asks(w, "dave@desk", Request::Resume).await;
    });
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    let passed = picked(&r.events, |k| match k {
        EventKind::BakePassed { reason } => Some(reason.clone()),
        _ => None,
    });
    assert!(
        passed.len() == 1 && passed[0].contains("accepted by dave@desk"),
        "{passed:?}"
    );
}

#[test]
fn on_violation_pause_rolls_back_when_nobody_decides_in_time() {
    let text = BAKE_30M.edit(
        "error rate < 1%",
        "error rate < 1%\n  on violation pause up to 1h",
    );
    let w = world(&["f"], BROKEN);
    let r = steered(&w, &plan(&text), async |w| {
        at_minute(w, 50.0).await;
        assert_eq!(weight(w), Some(0.05), "still waiting for a person");
    });
    let Outcome::RolledBack { cause, .. } = &r.report.outcome else {
        panic!("{:?}", r.report.outcome);
    };
    assert!(
        matches!(cause, crate::engine::Cause::Unhealthy(_)),
        "{cause}"
    );
    let end = r.events.last().unwrap().at_ms;
    assert!(end >= Millis::from_minutes(60).0, "after the hour: {end}");
    assert_eq!(serves(&w, "f"), serving("1", &[]));
}

//! Recovering a waved rollout in the simulated world: a runner killed and resumed, a person's
//! stop between waves, an alias someone changed meanwhile.

use super::*;
use crate::cloud::sim::clock::StopsAt;

/// Conducts `plan`'s waves in `worlds` until `at`, when the runner is killed; whether it had
/// ended by then.
fn kill_at(plan: &Plan, worlds: &Worlds, options: &SimOptions, at: Millis) -> bool {
    let settings = (run_settings(options), Some(at));
    conduct(plan, worlds, |w| w, &mut Vec::new(), settings, async {}).is_some()
}

/// Resumes `plan`'s waves in `worlds`, as `rollout resume` does.
fn resume(
    plan: &Plan,
    worlds: &Worlds,
    options: &SimOptions,
    sink: &mut dyn EventSink,
) -> crate::engine::waves::Waved {
    let settings = crate::engine::Settings {
        resume: true,
        ..run_settings(options)
    };
    conduct(plan, worlds, |w| w, sink, (settings, None), async {}).expect("no limit")
}

#[test]
fn a_runner_killed_in_the_second_wave_is_resumed_where_the_aliases_say() {
    let plan = waved(
        Some(Between {
            duration: Millis::from_minutes(5),
            healthy: true,
        }),
        WaveFailure::ThisWave,
    );
    let options = options(None);
    let worlds = worlds(&plan, &options);
    // Killed 23 minutes in: the first wave promoted at about 12 and was watched for 5 more;
    // the second bakes.
    assert!(
        !kill_at(&plan, &worlds, &options, Millis::from_minutes(23)),
        "still running when killed"
    );
    let step = |i: usize| serves(&worlds[i].2).2.map(|m| m.step);
    assert_eq!((step(0), step(1), step(2)), (Some(4), Some(3), None));
    let mut events: Vec<Event> = Vec::new();
    let resumed = resume(&plan, &worlds, &options, &mut events);
    assert_eq!(resumed.outcome, Outcome::Promoted);
    assert_eq!(
        waves_of(&events),
        [
            "started europe",
            "passed europe",
            "started rest",
            "passed rest"
        ]
    );
    // Not watched again before the wave that had started; before the next, both promoted ones.
    let watched: Vec<&str> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Watching { .. }))
        .filter_map(|e| e.region.as_deref())
        .collect();
    assert_eq!(watched, ["us-east-1", "eu-west-1"]);
    for (place, _, world) in &worlds {
        assert_eq!(serves(world), ("2".to_string(), true, None), "{place}");
    }
    let published = worlds[1]
        .2
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::PublishVersion { .. }))
        .count();
    assert_eq!(published, 1, "the second wave's new is not published again");
}

#[test]
fn stopped_between_waves_the_promoted_waves_keep_new_and_no_lease_is_left() {
    for (policy, first) in [(WaveFailure::ThisWave, "2"), (WaveFailure::EveryWave, "1")] {
        let plan = waved(
            Some(Between {
                duration: Millis::from_minutes(30),
                healthy: true,
            }),
            policy,
        );
        let options = options(None);
        let worlds = worlds(&plan, &options);
        let mut events: Vec<Event> = Vec::new();
        // Stopped 20 minutes in: the first wave promoted at about 12 and is watched.
        let waved = conduct(
            &plan,
            &worlds,
            |world| StopsAt {
                world,
                at: Millis::from_minutes(20),
            },
            &mut events,
            (run_settings(&options), None),
            async {},
        )
        .expect("no limit");
        assert!(
            matches!(waved.outcome, Outcome::Interrupted { .. }),
            "{policy:?}: {:?}",
            waved.outcome
        );
        assert_eq!(
            waves_of(&events),
            [
                "started first region",
                "passed first region",
                "failed europe, skipped europe+rest"
            ],
            "{policy:?}"
        );
        assert_eq!(
            serves(&worlds[0].2),
            (first.to_string(), true, None),
            "{policy:?}: the first wave as the policy says, its lease cleared"
        );
        assert!(worlds[1].2.calls().is_empty() && worlds[2].2.calls().is_empty());
    }
}

#[test]
fn a_kept_region_changed_by_hand_fails_its_own_wave_and_halts_the_one_running() {
    let plan = waved(None, WaveFailure::ThisWave);
    let options = options(None);
    let worlds = worlds(&plan, &options);
    // While the second wave bakes, someone puts old back in the first region by hand (the
    // lease marker left in the description): the first region's heartbeat meets their change.
    let by_hand = async {
        tokio::time::sleep(std::time::Duration::from_secs(18 * 60)).await;
        let first = worlds[0]
            .2
            .alias("checkout-api", "live")
            .expect("the alias");
        worlds[0]
            .2
            .serve_as_someone_else("checkout-api", "live", "1", &first.description);
    };
    let mut events: Vec<Event> = Vec::new();
    let waved = conduct(
        &plan,
        &worlds,
        |w| w,
        &mut events,
        (run_settings(&options), None),
        by_hand,
    )
    .expect("no limit");
    assert!(
        matches!(waved.outcome, Outcome::Conflict(_)),
        "{:?}",
        waved.outcome
    );
    assert_eq!(
        waves_of(&events),
        [
            "started first region",
            "passed first region",
            "started europe",
            "failed first region, skipped rest"
        ]
    );
    // The wave running was stopped and rolled back; the changed alias is left as it was made.
    assert_eq!(serves(&worlds[1].2), ("1".to_string(), true, None));
    let changed = worlds[0]
        .2
        .alias("checkout-api", "live")
        .expect("the alias");
    assert_eq!(changed.version, "1");
    assert!(worlds[2].2.calls().is_empty());
}

#[test]
fn resuming_over_a_promoted_region_changed_by_hand_is_a_conflict_that_writes_nothing() {
    let plan = waved(None, WaveFailure::ThisWave);
    let options = options(None);
    let worlds = worlds(&plan, &options);
    assert!(
        !kill_at(&plan, &worlds, &options, Millis::from_minutes(18)),
        "still running when killed"
    );
    let first = worlds[0]
        .2
        .alias("checkout-api", "live")
        .expect("the alias");
    worlds[0]
        .2
        .serve_as_someone_else("checkout-api", "live", "1", &first.description);
    let writes: Vec<usize> = worlds.iter().map(|(_, _, w)| w.writes().len()).collect();
    let resumed = resume(&plan, &worlds, &options, &mut Vec::new());
    assert!(
        matches!(resumed.outcome, Outcome::Conflict(_)),
        "{:?}",
        resumed.outcome
    );
    let after: Vec<usize> = worlds.iter().map(|(_, _, w)| w.writes().len()).collect();
    assert_eq!(writes, after, "nothing written");
}

#[test]
fn a_fleet_killed_half_way_through_a_shift_resumes_every_alias() {
    let mut plan = waved(None, WaveFailure::ThisWave);
    plan.targets.functions = vec!["checkout-api".into(), "cart-api".into()];
    let options = options(None);
    // Where the first alias of the first region gets its 10%, in a run that is not killed.
    let whole = worlds(&plan, &options);
    conduct(
        &plan,
        &whole,
        |w| w,
        &mut Vec::new(),
        (run_settings(&options), None),
        async {},
    )
    .expect("no limit");
    let shifted = whole[0]
        .2
        .timed_calls()
        .into_iter()
        .find(|(_, c)| matches!(c, Call::UpdateAlias { update, .. } if !update.routing.is_empty()))
        .map(|(at, _)| at)
        .expect("a shift");
    // The same run, killed just after that write: one alias split, the other not yet.
    let worlds = worlds(&plan, &options);
    assert!(
        !kill_at(&plan, &worlds, &options, Millis(shifted.0 + 1)),
        "still running when killed"
    );
    let split: Vec<bool> = ["checkout-api", "cart-api"]
        .iter()
        .map(|f| {
            !worlds[0]
                .2
                .alias(f, "live")
                .expect("alias")
                .routing
                .is_empty()
        })
        .collect();
    assert_eq!(split.iter().filter(|s| **s).count(), 1, "{split:?}");
    let resumed = resume(&plan, &worlds, &options, &mut Vec::new());
    assert_eq!(resumed.outcome, Outcome::Promoted);
    for f in ["checkout-api", "cart-api"] {
        let alias = worlds[0].2.alias(f, "live").expect("alias");
        assert_eq!(
            (alias.version.as_str(), alias.routing.len()),
            ("2", 0),
            "{f}"
        );
    }
}

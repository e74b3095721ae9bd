use super::*;
use crate::check::{check_source, Options};
use crate::cloud::call::Call;
use crate::cloud::lease::Marker;
use crate::cloud::sim::conditions::{Conditions, Onset};
use crate::engine::events::{Event, EventKind};
use crate::engine::Outcome;
use crate::plan::waves::{Between, WaveFailure};
use crate::plan::Millis;
use crate::simulation::{with_default_targets, Rates};

const CANARY: &str = "rollout \"checkout canary\"
function \"checkout-api\"
alias \"live\"
health every 1m {
  min invocations 50
  error rate < 1%
}
publish
shift 10% to new
wait 10m until healthy
promote
";

/// The canary in three waves: us-east-1, then eu-west-1, then us-west-2 in another account,
/// with `between` and `on_failure` as the waves block says them.
fn waved(between: Option<Between>, on_failure: WaveFailure) -> Plan {
    let between = between.map_or(String::new(), |b| {
        format!(
            "  between waves wait {}{}\n",
            b.duration,
            if b.healthy { " until healthy" } else { "" }
        )
    });
    let policy = match on_failure {
        WaveFailure::ThisWave => "this",
        WaveFailure::EveryWave => "every",
    };
    let waves = format!(
        "waves {{
  wave \"first region\" {{ region \"us-east-1\" }}
  wave \"europe\" {{ region \"eu-west-1\" }}
  wave \"rest\" {{
    region \"us-west-2\"
    account \"222222222222\" role \"arn:aws:iam::222222222222:role/rollout\"
  }}
{between}  on failure rollback {policy} wave
}}
"
    );
    let text = CANARY.replace("health every", &format!("{waves}health every"));
    let source = crate::diagnostic::source("waves.rollout", text);
    let checked = check_source(source, std::path::Path::new("."), &Options::default());
    let plan = checked
        .plan
        .unwrap_or_else(|| panic!("{:?}", checked.diags));
    with_default_targets(&plan)
}

fn options(bad: Option<&str>) -> SimOptions {
    let mut options = SimOptions::default();
    if let Some(region) = bad {
        options.regions.insert(
            region.to_string(),
            Rates {
                old: None,
                new: Some(0.08),
            },
        );
    }
    options
}

/// What `function`:live serves in `world`, and its lease.
fn serves(world: &SimWorld) -> (String, bool, Option<Marker>) {
    let alias = world.alias("checkout-api", "live").expect("the alias");
    let marker = Marker::parse(&alias.description).1;
    (alias.version.clone(), alias.routing.is_empty(), marker)
}

fn waves_of(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::WaveStarted { wave, .. } => Some(format!("started {wave}")),
            EventKind::WavePassed { wave } => Some(format!("passed {wave}")),
            EventKind::WaveFailed { wave, skipped, .. } => {
                Some(format!("failed {wave}, skipped {}", skipped.join("+")))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn three_waves_promote_everywhere_and_leave_no_lease() {
    let plan = waved(
        Some(Between {
            duration: Millis::from_minutes(30),
            healthy: true,
        }),
        WaveFailure::ThisWave,
    );
    let mut events: Vec<Event> = Vec::new();
    let (result, worlds) = run(&plan, &options(None), &mut events);
    assert_eq!(result.report.outcome, Outcome::Promoted);
    assert_eq!(
        waves_of(&events),
        [
            "started first region",
            "passed first region",
            "started europe",
            "passed europe",
            "started rest",
            "passed rest"
        ]
    );
    for (place, _, world) in &worlds {
        let (version, alone, lease) = serves(world);
        assert_eq!((version.as_str(), alone), ("2", true), "{place}");
        assert_eq!(lease, None, "{place}: the lease is released at the end");
    }
    // Each region's events say where they happened; the waves' own do not.
    assert!(events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Published { .. }))
        .all(|e| e.region.is_some()));
    let labels: Vec<&str> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Published { .. }))
        .filter_map(|e| e.region.as_deref())
        .collect();
    assert_eq!(labels, ["us-east-1", "eu-west-1", "222222222222/us-west-2"]);
    // The bake between waves judged the promoted ones: two bakes of 30m and more.
    let watches = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Watching { .. }))
        .count();
    assert_eq!(watches, 1 + 2, "one watch before europe, two before rest");
    assert!(
        result.simulated_ms >= 3 * 10 * 60_000 + 2 * 30 * 60_000,
        "{}",
        result.simulated_ms
    );
}

#[test]
fn a_bad_region_is_rolled_back_in_its_wave_and_the_later_waves_are_never_touched() {
    let plan = waved(None, WaveFailure::ThisWave);
    let mut events: Vec<Event> = Vec::new();
    let (result, worlds) = run(&plan, &options(Some("eu-west-1")), &mut events);
    assert!(
        matches!(result.report.outcome, Outcome::RolledBack { .. }),
        "{:?}",
        result.report.outcome
    );
    assert_eq!(
        waves_of(&events),
        [
            "started first region",
            "passed first region",
            "started europe",
            "failed europe, skipped rest"
        ]
    );
    let state: Vec<(String, bool, Option<Marker>)> =
        worlds.iter().map(|(_, _, w)| serves(w)).collect();
    assert_eq!(
        (&state[0].0, state[0].1, &state[0].2),
        (&"2".to_string(), true, &None),
        "the first wave keeps new, released"
    );
    assert_eq!(
        (&state[1].0, state[1].1, &state[1].2),
        (&"1".to_string(), true, &None),
        "the bad region serves old again"
    );
    assert!(
        worlds[2].2.calls().is_empty(),
        "the third wave is never touched: {:?}",
        worlds[2].2.calls()
    );
}

#[test]
fn rolling_back_every_wave_puts_old_back_in_the_waves_already_promoted() {
    let plan = waved(None, WaveFailure::EveryWave);
    let (result, worlds) = run(&plan, &options(Some("eu-west-1")), &mut Vec::new());
    assert!(matches!(result.report.outcome, Outcome::RolledBack { .. }));
    for (place, _, world) in &worlds[..2] {
        assert_eq!(serves(world), ("1".to_string(), true, None), "{place}");
    }
    let first = worlds[0].2.writes();
    assert!(
        first
            .iter()
            .any(|c| matches!(c, Call::UpdateAlias { update, .. } if update.version == "1")),
        "old written back in the first wave: {first:?}"
    );
}

#[test]
fn a_regression_after_promote_is_caught_between_waves_and_blocks_the_next() {
    let plan = waved(
        Some(Between {
            duration: Millis::from_minutes(30),
            healthy: true,
        }),
        WaveFailure::ThisWave,
    );
    // `new` goes bad 25 minutes in, after the first wave promoted (at about 12 minutes).
    let options = SimOptions {
        conditions: Conditions {
            onset: Some(Onset {
                at: Millis::from_minutes(25),
                error_rate: 0.08,
            }),
            ..Conditions::default()
        },
        ..options(None)
    };
    let mut events: Vec<Event> = Vec::new();
    let (result, worlds) = run(&plan, &options, &mut events);
    assert!(
        matches!(result.report.outcome, Outcome::RolledBack { .. }),
        "{:?}",
        result.report.outcome
    );
    assert_eq!(
        waves_of(&events),
        [
            "started first region",
            "passed first region",
            "failed first region, skipped europe+rest"
        ]
    );
    assert_eq!(serves(&worlds[0].2), ("1".to_string(), true, None));
    assert!(worlds[1].2.calls().is_empty() && worlds[2].2.calls().is_empty());
}

#[test]
fn a_regions_own_error_rate_is_that_regions_alone() {
    let options = options(Some("eu-west-1"));
    let plan = waved(None, WaveFailure::ThisWave);
    let places = plan.waves.as_ref().expect("waves").places();
    let rates: Vec<f64> = places
        .iter()
        .enumerate()
        .map(|(i, p)| in_region(&options, p, i).new.error_rate)
        .collect();
    assert_eq!(
        rates,
        [options.new.error_rate, 0.08, options.new.error_rate]
    );
}

#[test]
fn a_failing_region_stops_the_others_of_its_wave_before_they_promote() {
    let mut plan = waved(None, WaveFailure::ThisWave);
    let waves = plan.waves.as_mut().expect("waves");
    // One wave of two regions, the second of them bad, then the third.
    let europe = waves.waves.remove(1);
    waves.waves[0].places.extend(europe.places);
    let mut events: Vec<Event> = Vec::new();
    let (result, worlds) = run(&plan, &options(Some("eu-west-1")), &mut events);
    match &result.report.outcome {
        Outcome::RolledBack { cause, .. } => assert!(
            cause.to_string().contains("errors"),
            "the bad region's own failure is the outcome: {cause}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        waves_of(&events),
        ["started first region", "failed first region, skipped rest"]
    );
    for (place, _, world) in &worlds[..2] {
        assert_eq!(serves(world), ("1".to_string(), true, None), "{place}");
        let promoted = world
            .writes()
            .iter()
            .any(|c| matches!(c, Call::UpdateAlias { update, .. } if update.version == "2"));
        assert!(!promoted, "{place}: never promoted");
    }
    let stopped: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::RollingBack { reason } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        stopped.contains(&"another region of its wave failed"),
        "{stopped:?}"
    );
}

#[test]
fn a_promoted_wave_keeps_its_lease_at_the_last_step_while_the_next_one_runs() {
    let plan = waved(None, WaveFailure::ThisWave);
    let mut events: Vec<Event> = Vec::new();
    let (_, worlds) = run(&plan, &options(None), &mut events);
    // When the last wave started, in the first region's time (every clock started together).
    let rest = events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::WaveStarted { wave, .. } if wave == "rest"))
        .map(|e| e.at_ms)
        .expect("the last wave started");
    // The first region's writes after its promote: every one carries the lease at 4/4 (the
    // heartbeat while later waves run) up to the release, after the last wave started.
    let writes: Vec<(u64, Option<usize>)> = worlds[0]
        .2
        .timed_calls()
        .into_iter()
        .filter_map(|(at, c)| match c {
            Call::UpdateAlias { update, .. } => Some((
                at.0,
                Marker::parse(update.description.as_deref().unwrap_or_default())
                    .1
                    .map(|m| m.step),
            )),
            _ => None,
        })
        .collect();
    let promoted = writes
        .iter()
        .position(|(_, step)| *step == Some(4))
        .expect("promoted");
    let released = writes
        .iter()
        .position(|(_, step)| step.is_none())
        .expect("released");
    assert!(released > promoted, "{writes:?}");
    assert!(
        writes[promoted..released]
            .iter()
            .all(|(_, s)| *s == Some(4)),
        "{writes:?}"
    );
    assert!(
        writes[released].0 >= rest,
        "released at {} before the last wave began at {rest}: {writes:?}",
        writes[released].0
    );
    // Renewed while the next waves run: never longer than the heartbeat (2m) and a write's
    // turn between two writes.
    let longest = writes[promoted..=released]
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .max()
        .unwrap_or(0);
    assert!(
        longest <= 125_000,
        "{longest}ms without a write: {writes:?}"
    );
}

#[test]
fn a_function_with_nothing_new_in_a_wave_does_not_stop_the_waves() {
    let plan = waved(
        Some(Between {
            duration: Millis::from_minutes(10),
            healthy: true,
        }),
        WaveFailure::ThisWave,
    );
    let mut plan = plan;
    plan.targets.functions = vec!["checkout-api".into(), "cart-api".into()];
    let options = options(None);
    let worlds = worlds(&plan, &options);
    // In the first region, cart-api's $LATEST is what its alias serves.
    worlds[0].2.unchange_latest("cart-api");
    let mut events: Vec<Event> = Vec::new();
    let waved = conduct(
        &plan,
        &worlds,
        |w| w,
        &mut events,
        (run_settings(&options), None),
        async {},
    )
    .expect("no limit");
    assert_eq!(waved.outcome, Outcome::Promoted, "{:?}", waved.outcome);
    let unchanged = worlds[0].2.alias("cart-api", "live").expect("the alias");
    assert_eq!(
        (
            unchanged.version.as_str(),
            Marker::parse(&unchanged.description).1
        ),
        ("1", None)
    );
    for (place, _, world) in &worlds {
        let alias = world.alias("checkout-api", "live").expect("the alias");
        assert_eq!(alias.version, "2", "{place}");
        assert_eq!(Marker::parse(&alias.description).1, None, "{place}");
    }
}

mod recovery;

//! The engine in the simulated world: every step kind, the order of Lambda calls, and every way
//! a rollout can end. This file is the harness; each behaviour has a file of its own.

mod approval;
mod conflicts;
mod control;
#[path = "../../../tests/common/edit.rs"]
mod edit;
mod faults;
mod fleet;
mod health;
mod hooks;
mod prune;
mod refusals;
mod resume;
mod signals;
mod signatures;
mod steps;
mod watch;
mod windows;
mod worlds;

use std::collections::BTreeMap;
use std::path::Path;

use super::events::{Event, EventKind};
use super::{Engine, Report, Services, Settings};
use crate::check::{check_source, Options};
use crate::cloud::call::Call;
use crate::cloud::lease::Marker;
use crate::cloud::sim::traffic::Profile;
use crate::cloud::sim::{SimConfig, SimWorld};
use crate::cloud::{AliasUpdate, LambdaApi, MetricsApi};
use crate::diagnostic::source;
use crate::hooks::Hooks;
use crate::plan::Plan;
use edit::Edit;

const HEALTHY: Profile = Profile {
    error_rate: 0.001,
    median_ms: 100.0,
};
const BROKEN: Profile = Profile {
    error_rate: 0.05,
    median_ms: 100.0,
};

const CANARY: &str = r#"
function "f"
alias "live"
health every 1m {
  min invocations 10
  error rate < 1%
}
publish "canary"
shift 5% to new
wait 5m until healthy
promote
"#;

/// The checked plan of a playbook whose imports and hooks are in `tests/fixtures/lib`.
fn plan(text: &str) -> Plan {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lib");
    let checked = check_source(
        source("test.rollout", text.to_string()),
        &dir,
        &Options::default(),
    );
    checked.plan.unwrap_or_else(|| {
        let messages: Vec<&str> = checked.diags.iter().map(|d| d.message.as_str()).collect();
        panic!("invalid test playbook: {messages:?}")
    })
}

/// A world where alias `live` of each function serves version 1 of 3, `$LATEST` has changed,
/// and 50 invocations a second arrive.
fn world(functions: &[&str], new: Profile) -> SimWorld {
    SimWorld::new(&SimConfig {
        functions: functions.iter().map(|f| f.to_string()).collect(),
        alias: "live".into(),
        rps: 50.0,
        old: HEALTHY,
        new,
        versions: 3,
        seed: 7,
        ..SimConfig::default()
    })
}

/// Settings with this lease holder.
fn settings(holder: &str) -> Settings {
    Settings {
        holder: holder.to_string(),
        ..Settings::default()
    }
}

/// A finished run: its report and every event.
struct Run {
    report: Report,
    events: Vec<Event>,
}

/// Runs `plan` in `world`, calling Lambda through `lambda` and CloudWatch through `metrics`.
fn run_with<L: LambdaApi, M: MetricsApi>(
    lambda: &L,
    metrics: &M,
    world: &SimWorld,
    plan: &Plan,
    settings: Settings,
) -> Run {
    run_while(lambda, metrics, world, plan, settings, async |_| {})
}

/// [`run_with`], while `person` acts on the world's clock (as `rollout pause` would from
/// another machine).
fn run_while<L: LambdaApi, M: MetricsApi>(
    lambda: &L,
    metrics: &M,
    world: &SimWorld,
    plan: &Plan,
    settings: Settings,
    person: impl AsyncFnOnce(&SimWorld),
) -> Run {
    let mut events = Vec::new();
    let hooks = Hooks::compile(plan);
    let runtime = crate::cloud::sim::clock::runtime();
    let services = Services {
        lambda,
        metrics,
        clock: world,
        hooks: &hooks,
        events: &mut events,
        calendars: Some(world),
        logs: Some(world),
    };
    let report = runtime.block_on(async {
        let engine = Engine::new(services, settings);
        let (report, ()) = tokio::join!(engine.run(plan), person(world));
        report
    });
    Run { report, events }
}

/// When the first alias write whose result `moved` happened (ms since the start).
fn moved_at(r: &Run, moved: impl Fn(&crate::cloud::Alias) -> bool) -> u64 {
    r.events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::AliasUpdated { after, .. } if moved(after)))
        .expect("such a write")
        .at_ms
}

/// A canary with a 30-minute bake.
const BAKE_30M: &str = r#"
function "f"
alias "live"
health every 1m {
  min invocations 10
  error rate < 1%
}
publish
shift 5% to new
wait 30m until healthy
promote
"#;

/// Runs `plan` in `world`, calling Lambda through `lambda`.
fn run_in<L: LambdaApi>(lambda: &L, world: &SimWorld, plan: &Plan) -> Run {
    run_with(lambda, world, world, plan, Settings::default())
}

/// Runs `plan` in `world`.
fn run(world: &SimWorld, plan: &Plan) -> Run {
    run_in(world, world, plan)
}

/// Writes an alias of `world` as someone else would, before a run.
fn write(world: &SimWorld, function: &str, version: &str, routing: &[(&str, f64)]) {
    let revision_id = world.alias(function, "live").unwrap().revision_id;
    let runtime = crate::cloud::sim::clock::runtime();
    let update = AliasUpdate {
        version: version.into(),
        routing: routing.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
        revision_id,
        description: None,
    };
    runtime
        .block_on(world.update_alias(function, "live", &update))
        .unwrap();
}

/// What an alias serves: its primary version and the additional one with its weight.
type Serving = (String, Vec<(String, f64)>);

/// `version` with `routing`, as [`traffic`] lists it.
fn serving(version: &str, routing: &[(&str, f64)]) -> Serving {
    (
        version.to_string(),
        routing.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
    )
}

/// What the alias of `function` serves now.
fn serves(world: &SimWorld, function: &str) -> Serving {
    let alias = world.alias(function, "live").unwrap();
    (alias.version, alias.routing.into_iter().collect())
}

/// What each alias write of the rollout made the alias serve, in order; writes that only took
/// or renewed the lease (the routing stayed as it was) are left out.
fn traffic(w: &SimWorld) -> Vec<Serving> {
    let mut out = Vec::new();
    let mut last: BTreeMap<(String, String), Serving> = BTreeMap::new();
    for call in w.writes() {
        let Call::UpdateAlias {
            function,
            alias,
            update,
        } = call
        else {
            continue;
        };
        let now: Serving = (update.version, update.routing.into_iter().collect());
        // The first write of each alias takes the lease and moves nothing.
        match last.insert((function, alias), now.clone()) {
            Some(before) if before != now => out.push(now),
            _ => {}
        }
    }
    out
}

/// The step an alias write records in the lease.
fn lease_step(update: &AliasUpdate) -> Option<usize> {
    let description = update.description.as_deref()?;
    Marker::parse(description).1.map(|m| m.step)
}

/// The calls made, as a call log shows them.
fn log(calls: Vec<Call>) -> Vec<String> {
    calls.iter().map(Call::to_string).collect()
}

/// The events of one kind, picked out by `pick`.
fn picked<T>(events: &[Event], pick: impl Fn(&EventKind) -> Option<T>) -> Vec<T> {
    events.iter().filter_map(|e| pick(&e.kind)).collect()
}

#[test]
#[should_panic(expected = "the fixture has no")]
fn an_edit_of_a_fixture_that_matches_nothing_fails_the_test() {
    CANARY.edit("no such text", "anything");
}

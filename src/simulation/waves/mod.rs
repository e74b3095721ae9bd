//! A waved playbook in the simulated world: a world per region (each with its own account
//! limit, as Lambda's quota is per region), on one virtual clock, run by the engine's
//! [`Conductor`] as `run` does.

use std::cell::RefCell;

use super::{run_settings, world, SimOptions, SimResult};
use crate::cloud::limit::Limited;
use crate::cloud::retry::Retrying;
use crate::cloud::sim::traffic::Profile;
use crate::cloud::sim::SimWorld;
use crate::cloud::Clock;
use crate::engine::events::EventSink;
use crate::engine::waves::{Conductor, Region};
use crate::engine::Report;
use crate::hooks::Hooks;
use crate::plan::waves::{Place, Waves};
use crate::plan::Plan;

/// The options of one region's world: its own error rates where given, and its own seed so
/// that regions do not see the same traffic.
fn in_region(options: &SimOptions, place: &Place, index: usize) -> SimOptions {
    let rates = options.regions.get(&place.region).copied();
    let rates = rates.unwrap_or_default();
    let profile = |base: Profile, rate: Option<f64>| Profile {
        error_rate: rate.unwrap_or(base.error_rate),
        ..base
    };
    SimOptions {
        old: profile(options.old, rates.old),
        new: profile(options.new, rates.new),
        seed: options.seed.wrapping_add(index as u64 * 0x9e37_79b9),
        ..options.clone()
    }
}

/// Runs the waves of `plan` once, in a fresh world per region.
pub(super) fn simulate(plan: &Plan, options: &SimOptions, sink: &mut dyn EventSink) -> SimResult {
    run(plan, options, sink).0
}

/// A fresh world for each region of `plan`'s waves.
type Worlds = Vec<(Place, SimOptions, SimWorld)>;

/// A fresh world for each region of `plan`'s waves.
fn worlds(plan: &Plan, options: &SimOptions) -> Worlds {
    let places = plan.waves.as_ref().map(Waves::places).unwrap_or_default();
    places
        .iter()
        .enumerate()
        .map(|(i, place)| {
            let options = in_region(options, place, i);
            let world = world(plan, &options);
            (place.clone(), options, world)
        })
        .collect()
}

/// Conducts `plan`'s waves in `worlds`, each region's time kept by the clock `clock` makes of
/// its world, with `settings`, while `meanwhile` runs (someone else's doing, in tests); `None`
/// when it did not end within `limit` (the runner is then gone, as if killed, leaving the
/// worlds as they are).
fn conduct<'w, C: Clock>(
    plan: &Plan,
    worlds: &'w Worlds,
    clock: impl Fn(&'w SimWorld) -> C,
    sink: &mut dyn EventSink,
    (settings, limit): (crate::engine::Settings, Option<crate::plan::Millis>),
    meanwhile: impl std::future::Future<Output = ()>,
) -> Option<crate::engine::waves::Waved> {
    let runtime = crate::cloud::sim::clock::runtime();
    let paced: Vec<_> = worlds
        .iter()
        .map(|(_, o, w)| Limited::new(w, w, o.calls_per_second))
        .collect();
    let clouds: Vec<_> = paced
        .iter()
        .zip(worlds)
        .map(|(p, (_, _, w))| Retrying::new(p, w))
        .collect();
    let clocks: Vec<C> = worlds.iter().map(|(_, _, w)| clock(w)).collect();
    let regions: Vec<Region<'_, _, _, C>> = clouds
        .iter()
        .zip(worlds)
        .zip(&clocks)
        .map(|((cloud, (place, _, _)), clock)| Region {
            place: place.clone(),
            lambda: cloud,
            metrics: cloud,
            clock,
        })
        .collect();
    let hooks = Hooks::compile(plan);
    let events: RefCell<&mut dyn EventSink> = RefCell::new(sink);
    runtime.block_on(async {
        // One timeline: every world's clock starts now.
        for (_, _, world) in worlds {
            world.now();
        }
        let conductor = Conductor {
            plan,
            regions: &regions,
            hooks: &hooks,
            events: &events,
            settings,
            only: None,
        };
        let run = async {
            match limit {
                Some(limit) => {
                    let limit = std::time::Duration::from_millis(limit.0);
                    tokio::time::timeout(limit, conductor.run()).await.ok()
                }
                None => Some(conductor.run().await),
            }
        };
        futures_util::future::join(run, meanwhile).await.0
    })
}

/// Runs the waves of `plan` once, in a fresh world per region; what it did, and the worlds.
fn run(plan: &Plan, options: &SimOptions, sink: &mut dyn EventSink) -> (SimResult, Worlds) {
    let worlds = worlds(plan, options);
    let settings = run_settings(options);
    let waved = conduct(plan, &worlds, |w| w, sink, (settings, None), async {}).expect("no limit");
    // Each region's targets once (a kept region reports them again), with the version each
    // chose last.
    let mut versions: std::collections::BTreeMap<(String, String), (String, Option<String>)> =
        std::collections::BTreeMap::new();
    for (label, report) in &waved.regions {
        for (function, old, new) in &report.versions {
            let known = versions
                .entry((label.clone(), function.clone()))
                .or_insert((old.clone(), None));
            if new.is_some() {
                known.1 = new.clone();
            }
        }
    }
    let (mut new_invocations, mut new_errors) = (0, 0);
    for (place, _, world) in &worlds {
        for ((label, function), (_, new)) in &versions {
            if let (true, Some(new)) = (*label == place.label(), new) {
                let (invocations, errors) = world.served(function, new);
                new_invocations += invocations;
                new_errors += errors;
            }
        }
    }
    let failing = waved
        .regions
        .iter()
        .map(|(_, r)| r)
        .find(|r| r.outcome == waved.outcome);
    let report = Report {
        outcome: waved.outcome.clone(),
        first_traffic_ms: failing.and_then(|r| r.first_traffic_ms),
        detected_ms: failing.and_then(|r| r.detected_ms),
        ended_ms: waved.ended_ms,
        inconclusive: failing.is_some_and(|r| r.inconclusive),
        versions: versions
            .into_iter()
            .map(|((label, f), (o, n))| (format!("{f} in {label}"), o, n))
            .collect(),
        held_ms: waved.regions.iter().map(|(_, r)| r.held_ms).sum(),
    };
    let result = SimResult {
        aws_calls: worlds.iter().map(|(_, _, w)| w.calls().len()).sum(),
        simulated_ms: report.ended_ms,
        report,
        new_invocations,
        new_errors,
    };
    (result, worlds)
}

#[cfg(test)]
mod tests;

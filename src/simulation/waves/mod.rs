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

/// Runs the waves of `plan` once, in a fresh world per region; what it did, and the worlds.
fn run(
    plan: &Plan,
    options: &SimOptions,
    sink: &mut dyn EventSink,
) -> (SimResult, Vec<(Place, SimOptions, SimWorld)>) {
    let places = plan.waves.as_ref().map(Waves::places).unwrap_or_default();
    let worlds: Vec<(Place, SimOptions, SimWorld)> = places
        .iter()
        .enumerate()
        .map(|(i, place)| {
            let options = in_region(options, place, i);
            let world = world(plan, &options);
            (place.clone(), options, world)
        })
        .collect();
    let runtime = crate::cloud::sim::clock::runtime();
    let paced: Vec<_> = worlds
        .iter()
        .map(|(_, o, w)| Limited::new(w, w, o.calls_per_second))
        .collect();
    let clouds: Vec<_> = paced
        .iter()
        .zip(&worlds)
        .map(|(p, (_, _, w))| Retrying::new(p, w))
        .collect();
    let regions: Vec<Region<'_, _, _, SimWorld>> = clouds
        .iter()
        .zip(&worlds)
        .map(|(cloud, (place, _, world))| Region {
            place: place.clone(),
            lambda: cloud,
            metrics: cloud,
            clock: world,
        })
        .collect();
    let hooks = Hooks::compile(plan);
    let events: RefCell<&mut dyn EventSink> = RefCell::new(sink);
    let waved = runtime.block_on(async {
        // One timeline: every world's clock starts now.
        for (_, _, world) in &worlds {
            world.now();
        }
        Conductor {
            plan,
            regions: &regions,
            hooks: &hooks,
            events: &events,
            settings: run_settings(options),
            only: None,
        }
        .run()
        .await
    });
    let (mut new_invocations, mut new_errors) = (0, 0);
    for (place, _, world) in &worlds {
        for (label, report) in &waved.regions {
            if *label != place.label() {
                continue;
            }
            for (function, _, new) in &report.versions {
                if let Some(new) = new {
                    let (invocations, errors) = world.served(function, new);
                    new_invocations += invocations;
                    new_errors += errors;
                }
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
        versions: waved
            .regions
            .iter()
            .flat_map(|(label, r)| {
                r.versions
                    .iter()
                    .map(move |(f, o, n)| (format!("{f} in {label}"), o.clone(), n.clone()))
            })
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
    drop(regions);
    drop(clouds);
    drop(paced);
    (result, worlds)
}

#[cfg(test)]
mod tests;

//! The engine in the simulated world: one simulated rollout here, many in [`monte_carlo`]. This
//! drives the engine from above, as the commands do; the world itself (Lambda, CloudWatch,
//! traffic, virtual clock) is [`crate::cloud::sim`], below the engine.

#[cfg(test)]
mod calls;
pub mod exported;
pub mod monte_carlo;
mod waves;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cloud::limit::Limited;
use crate::cloud::retry::Retrying;
use crate::cloud::sim::conditions::Conditions;
use crate::cloud::sim::traffic::Profile;
use crate::cloud::sim::{SimConfig, SimWorld};
use crate::cloud::AlarmState;
use crate::engine::events::EventSink;
use crate::engine::{Approval, Engine, Report, Services, Settings};
use crate::hooks::Hooks;
use crate::plan::{Check, Millis, Plan, Selection, StepKind};

/// Function and alias used when the playbook and the command line name none.
pub const DEFAULT_FUNCTION: &str = "my-function";
/// See [`DEFAULT_FUNCTION`].
pub const DEFAULT_ALIAS: &str = "live";

/// The world a simulation runs in.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Invocations per second per function.
    pub rps: f64,
    /// How `old` behaves.
    pub old: Profile,
    /// How `new` behaves.
    pub new: Profile,
    /// How long an `approve` gate waits before the simulated approver says yes.
    pub approve_after: Millis,
    /// Seed of every random choice.
    pub seed: u64,
    /// Alarm states; alarms the plan names and this does not are `OK`.
    pub alarms: BTreeMap<String, AlarmState>,
    /// How long after an invocation ends its metrics become readable.
    pub ingestion: Millis,
    /// The functions' timeout.
    pub timeout: Millis,
    /// How long each control-plane call takes to answer.
    pub call_latency: Millis,
    /// The pace of control-plane calls the engine keeps, as `run --calls-per-second` sets it.
    pub calls_per_second: f64,
    /// The simulated account's limit of control-plane calls per second: 429 beyond it.
    pub account_limit: f64,
    /// How many functions each pattern or tag selection of the playbook finds in the simulated
    /// region.
    pub fleet: usize,
    /// How far the world departs from stationary traffic (`--world`).
    pub conditions: Conditions,
    /// Error rates of `old` and `new` in one region of a waved playbook, where they differ
    /// from `old` and `new` above (`--error-rate REGION:new=P`), by region.
    pub regions: BTreeMap<String, Rates>,
    /// Change Calendars the simulated SSM has (`--calendar NAME=closed:FROM..TO`).
    pub calendars: BTreeMap<String, crate::cloud::sim::calendar::SimCalendar>,
}

/// A region's own error rates, where given (fractions).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// `old`'s.
    pub old: Option<f64>,
    /// `new`'s.
    pub new: Option<f64>,
}

/// How long a simulated control-plane call takes by default: what a call within a region
/// typically takes.
pub const DEFAULT_CALL_LATENCY: Millis = Millis(60);

/// The simulated account's limit when the command line sets none: Lambda's documented 15
/// control-plane calls per second. The engine keeps its default pace below it.
pub const ACCOUNT_LIMIT: f64 = 15.0;

/// Functions a selection finds in the simulated region when the command line does not say.
pub const DEFAULT_FLEET: usize = 3;

impl Default for SimOptions {
    /// The default simulated world's traffic and timing.
    fn default() -> Self {
        let world = SimConfig::default();
        SimOptions {
            rps: world.rps,
            old: world.old,
            new: world.new,
            approve_after: Millis(0),
            seed: world.seed,
            alarms: BTreeMap::new(),
            ingestion: world.ingestion,
            timeout: world.timeout,
            call_latency: DEFAULT_CALL_LATENCY,
            calls_per_second: crate::cloud::limit::DEFAULT_CALLS_PER_SECOND,
            account_limit: ACCOUNT_LIMIT,
            fleet: DEFAULT_FLEET,
            conditions: Conditions::default(),
            regions: BTreeMap::new(),
            calendars: BTreeMap::new(),
        }
    }
}

/// What a simulated rollout did.
#[derive(Debug, Clone, Serialize)]
pub struct SimResult {
    /// The engine's report.
    pub report: Report,
    /// Invocations `new` served, over all functions.
    pub new_invocations: u64,
    /// Errors `new` served, over all functions.
    pub new_errors: u64,
    /// Calls made to the simulated Lambda and CloudWatch.
    pub aws_calls: usize,
    /// Virtual time the rollout took.
    pub simulated_ms: u64,
}

/// The plan with default targets filled in where it names none.
pub fn with_default_targets(plan: &Plan) -> Plan {
    let mut plan = plan.clone();
    if plan.targets.functions.is_empty() && plan.targets.select.is_empty() {
        plan.targets.functions = vec![DEFAULT_FUNCTION.to_string()];
    }
    if plan.targets.alias.is_none() {
        plan.targets.alias = Some(DEFAULT_ALIAS.to_string());
    }
    plan
}

/// The simulated region's functions and their tags: those the plan names, and `fleet` more
/// for each of its selections, named to match its pattern or carrying its tag.
fn region(plan: &Plan, fleet: usize) -> (Vec<String>, BTreeMap<String, BTreeMap<String, String>>) {
    let mut functions = plan.targets.functions.clone();
    let mut tags = BTreeMap::new();
    for (s, selection) in plan.targets.select.iter().enumerate() {
        for n in 1..=fleet {
            let name = match selection {
                Selection::Pattern(pattern) => {
                    pattern.replace('*', &format!("{n:04}")).replace('?', "x")
                }
                Selection::Tagged { key, value } => {
                    let name = format!("tagged-{s}-{n:04}");
                    tags.insert(name.clone(), BTreeMap::from([(key.clone(), value.clone())]));
                    name
                }
            };
            functions.push(name);
        }
    }
    functions.dedup();
    (functions, tags)
}

/// The fresh simulated world `plan` runs in: its functions (a fleet's found by their
/// selections), as many versions as `use version N` needs, and the alarms it names.
fn world(plan: &Plan, options: &SimOptions) -> SimWorld {
    let (functions, tags) = region(plan, options.fleet);
    let versions = plan
        .steps
        .iter()
        .filter_map(|s| match s.kind {
            StepKind::UseVersion { version } => Some(version),
            _ => None,
        })
        .max()
        .unwrap_or(1);
    let world = SimWorld::new(&SimConfig {
        functions,
        tags,
        call_latency: options.call_latency,
        calls_per_second: Some(options.account_limit),
        alias: plan.targets.alias.clone().unwrap_or_default(),
        rps: options.rps,
        old: options.old,
        new: options.new,
        versions,
        seed: options.seed,
        ingestion: options.ingestion,
        timeout: options.timeout,
        conditions: options.conditions.clone(),
        calendars: options.calendars.clone(),
    });
    for check in &plan.health.checks {
        if let Check::Alarm { name } = check {
            world.set_alarm(
                name,
                options.alarms.get(name).copied().unwrap_or(AlarmState::Ok),
            );
        }
    }
    world
}

/// The settings of a simulated run: approvals after `approve_after`, and a holder that is the
/// same in every run, so that the same seed gives the same events, lease markers included.
fn run_settings(options: &SimOptions) -> Settings {
    Settings {
        approval: Approval::After(options.approve_after),
        holder: "simulation".to_string(),
        ..Settings::default()
    }
}

/// Runs `plan` in `world` as `run` would, at the pace of calls `options` sets, telling `sink`.
fn run_in(plan: &Plan, options: &SimOptions, world: &SimWorld, sink: &mut dyn EventSink) -> Report {
    let settings = run_settings(options);
    let hooks = Hooks::compile(plan);
    let runtime = crate::cloud::sim::clock::runtime();
    let paced = Limited::new(world, world, options.calls_per_second);
    let cloud = Retrying::new(&paced, world);
    let services = Services {
        lambda: &cloud,
        metrics: &cloud,
        clock: world,
        hooks: &hooks,
        events: sink,
        calendars: Some(world),
        logs: Some(world),
    };
    runtime.block_on(Engine::new(services, settings).run(plan))
}

/// Runs `plan` once in a fresh simulated world.
pub fn simulate(plan: &Plan, options: &SimOptions, sink: &mut dyn EventSink) -> SimResult {
    let plan = with_default_targets(plan);
    if plan.waves.is_some() {
        return waves::simulate(&plan, options, sink);
    }
    let world = world(&plan, options);
    let report = run_in(&plan, options, &world, sink);
    let (mut new_invocations, mut new_errors) = (0, 0);
    for (function, _, new) in &report.versions {
        if let Some(new) = new {
            let (invocations, errors) = world.served(function, new);
            new_invocations += invocations;
            new_errors += errors;
        }
    }
    SimResult {
        aws_calls: world.calls().len(),
        simulated_ms: report.ended_ms,
        report,
        new_invocations,
        new_errors,
    }
}

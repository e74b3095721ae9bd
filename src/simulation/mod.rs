//! The engine in the simulated world: one simulated rollout here, many in [`monte_carlo`]. This
//! drives the engine from above, as the commands do; the world itself (Lambda, CloudWatch,
//! traffic, virtual clock) is [`crate::cloud::sim`], below the engine.

pub mod monte_carlo;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cloud::retry::Retrying;
use crate::cloud::sim::traffic::Profile;
use crate::cloud::sim::{SimConfig, SimWorld};
use crate::cloud::AlarmState;
use crate::engine::events::EventSink;
use crate::engine::{Approval, Engine, Report, Services, Settings};
use crate::hooks::Hooks;
use crate::plan::{Check, Millis, Plan, StepKind};

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
}

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
    if plan.targets.functions.is_empty() {
        plan.targets.functions = vec![DEFAULT_FUNCTION.to_string()];
    }
    if plan.targets.alias.is_none() {
        plan.targets.alias = Some(DEFAULT_ALIAS.to_string());
    }
    plan
}

/// Runs `plan` once in a fresh simulated world.
pub fn simulate(plan: &Plan, options: &SimOptions, sink: &mut dyn EventSink) -> SimResult {
    let plan = with_default_targets(plan);
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
        functions: plan.targets.functions.clone(),
        alias: plan.targets.alias.clone().unwrap_or_default(),
        rps: options.rps,
        old: options.old,
        new: options.new,
        versions,
        seed: options.seed,
        ingestion: options.ingestion,
        timeout: options.timeout,
    });
    for check in &plan.health.checks {
        if let Check::Alarm { name } = check {
            world.set_alarm(
                name,
                options.alarms.get(name).copied().unwrap_or(AlarmState::Ok),
            );
        }
    }
    let settings = Settings {
        approval: Approval::After(options.approve_after),
        // The same seed gives the same events, lease markers included.
        holder: "simulation".to_string(),
        ..Settings::default()
    };
    let hooks = Hooks::compile(&plan);
    let runtime = crate::cloud::sim::clock::runtime();
    let cloud = Retrying::new(&world, &world);
    let services = Services {
        lambda: &cloud,
        metrics: &cloud,
        clock: &world,
        hooks: &hooks,
        events: sink,
    };
    let report = runtime.block_on(Engine::new(services, settings).run(&plan));
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

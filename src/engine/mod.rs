//! The executor: runs a [`Plan`] step by step against any [`LambdaApi`], [`MetricsApi`] and
//! [`Clock`], judging health and rolling back on failure. There is no dry-run switch here: the
//! plan preview is the plan itself, and simulation is this engine in a simulated world.
//!
//! One idea a file, in the order a rollout meets them:
//!
//! | file | what the engine does there |
//! | --- | --- |
//! | `mod.rs` | the engine's parts: the services it talks to, the run's state, the lease; `run` |
//! | [`admit`] | reads each alias, decides whether this run may act on it, takes the lease |
//! | [`preflight`] | what Lambda would refuse later, found by reading before the first write |
//! | [`steps`] | runs the steps in order and does what each one says |
//! | [`versions`] | `update code`, `publish`, `use version`: waiting for updates, choosing `new` |
//! | [`alias`] | alias writes: shifting traffic, restoring `old`, each with the RevisionId read |
//! | [`lease`] | the lease marker written with every alias write; heartbeats; release |
//! | [`bake`] | judging health over time: evaluations every interval, the end of a bake |
//! | [`measure`] | one evaluation's reads: windows, newly settled periods, alarms; each check judged |
//! | [`series`] | a target's settled periods of its count checks, kept between looks; `old`'s past |
//! | [`signatures`] | `no new error signatures`: each look's Logs Insights reads, kept for the phase |
//! | [`health`] | one evaluation of one target: the verdict, its evidence, and any hold |
//! | [`ctx`] | hooks: what `ctx` shows them, answering what they ask |
//! | [`watch`] | the watch after `promote`: `new` judged against `old`'s rates before the rollout |
//! | [`approve`] | `approve` gates: a terminal prompt, `rollout approve`, or none |
//! | [`control`] | what people ask from any machine: `rollout pause`, `resume`, `promote` |
//! | [`window`] | deploy windows and change calendars: holding while they are closed |
//! | [`resume`] | continuing an interrupted rollout at the step its lease names |
//! | [`stop`] | why a step stopped the rollout, and how each stop ends it |
//! | [`outcome`] | how the rollout ended, with one `Display` and its exit code |
//! | [`reasons`] | why: each cause, conflict and fault as typed fields |
//! | `refusal` | why the engine would not start, or stopped before changing anything |
//! | [`events`] | what the engine tells the world, each decision with its evidence |

mod admit;
mod alias;
mod approve;
mod bake;
mod control;
mod ctx;
pub mod events;
pub mod health;
mod kept;
mod lease;
pub mod measure;
pub mod outcome;
mod preflight;
mod prune;
pub mod reasons;
mod refusal;
mod resume;
pub mod series;
mod signatures;
mod steps;
mod stop;
mod versions;
mod watch;
pub mod waves;
mod window;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;

use futures_util::StreamExt;

use crate::cloud::{Alias, Clock, LambdaApi, MetricsApi};
use crate::hooks::Hooks;
use crate::plan::{Millis, ParamValue, Plan, Script};
use events::{Event, EventKind, EventSink};
pub use kept::{Kept, Until};
pub use outcome::{Outcome, Report};
pub use reasons::{Cause, Change, Conflict, Fault, Refusal, Served, Trouble};
pub use watch::WATCH_DAYS;

/// How long to wait for a function update, or a version to become `Active`, before giving up.
pub const UPDATE_DEADLINE: Millis = Millis(300_000);

/// How long to wait for provisioned concurrency to be allocated after a move of traffic.
pub const ALLOCATION_DEADLINE: Millis = Millis(900_000);

/// How often a rollout run here reads its first alias, while it waits, for what `rollout pause`,
/// `resume` and `promote` ask: one `GetAlias` each time.
pub const CONTROL_POLL: Millis = Millis(5_000);

/// How many targets a step works on at once. The pace of calls is the rate limiter's to set
/// (below the engine); this only bounds what is held in memory meanwhile.
pub const FAN_OUT: usize = 64;

/// Asks a person a yes/no question and waits for the answer. It blocks, so the engine runs it
/// on a thread of its own and judges health meanwhile.
pub type Ask = fn(&str) -> bool;

/// How an `approve` gate is released.
#[derive(Debug, Clone, Copy)]
pub enum Approval {
    /// After this long (simulation), judging health meanwhile when `new` has traffic.
    After(Millis),
    /// Ask a person (the command line passes its terminal prompt), judging health meanwhile;
    /// anything but yes fails the step.
    Prompt(Ask),
    /// Pass at once (`--auto-approve`).
    Auto,
    /// Wait for `rollout approve` on the alias, from any machine, judging health meanwhile.
    Remote,
}

/// Choices of the caller that the plan does not make.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How approval gates are released.
    pub approval: Approval,
    /// Pause between polls of a function's update status.
    pub poll: Millis,
    /// Who this rollout is, in the lease marker: `user@host:pid`.
    pub holder: String,
    /// Its identity, which tells it apart from any other runner
    /// ([`crate::cloud::lease::Identity`]); `None` in the simulated world, whose runs must be
    /// the same for the same seed.
    pub id: Option<String>,
    /// Take over a lease whose heartbeat is older than `stale_after`.
    pub take_over: bool,
    /// A lease without a heartbeat for this long may be taken over.
    pub stale_after: Millis,
    /// How often a waiting rollout renews its lease.
    pub heartbeat: Millis,
    /// Continue the rollout the lease markers describe instead of starting one.
    pub resume: bool,
    /// Whether a lease's holder was a process of this machine that has ended: `resume` then
    /// takes the lease over without `--take-over`.
    pub gone: fn(&crate::cloud::lease::Marker) -> bool,
    /// Keep the lease after `promote`: a wave of a waved rollout stays held (at its last step)
    /// until the last wave passes, so that any machine can tell where the rollout is.
    pub keep: bool,
    /// How often a waiting rollout reads its first alias for what `rollout pause`, `resume`
    /// and `promote` ask; `None`: only when a write of its own finds the alias changed, and
    /// never held (the simulated world, whose runs nobody steers).
    pub control: Option<Millis>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            approval: Approval::After(Millis(0)),
            poll: Millis(1_000),
            holder: crate::cloud::lease::holder(),
            id: None,
            take_over: false,
            stale_after: Millis::from_minutes(10),
            heartbeat: Millis::from_minutes(2),
            resume: false,
            gone: crate::cloud::lease::gone_from_here,
            keep: false,
            control: None,
        }
    }
}

/// The services a rollout talks to: Lambda, CloudWatch and time, the compiled hooks, and where
/// its events go.
pub struct Services<'a, L, M, C> {
    /// Lambda.
    pub lambda: &'a L,
    /// CloudWatch.
    pub metrics: &'a M,
    /// Time, real or virtual.
    pub clock: &'a C,
    /// The plan's hooks, compiled.
    pub hooks: &'a Hooks,
    /// Where events go.
    pub events: &'a mut dyn EventSink,
    /// Where the playbook's change calendars are read (`None`: nowhere, and a playbook that
    /// names one is refused before anything changes).
    pub calendars: Option<&'a dyn crate::cloud::calendar::Calendars>,
    /// Where `no new error signatures` reads the logs (`None`: nowhere, and the check is
    /// inconclusive, never healthy).
    pub logs: Option<&'a dyn crate::cloud::logs::Logs>,
}

/// The services without the event sink, which the engine keeps apart so that work on many
/// targets at once can report as it goes.
struct Ports<'a, L, M, C> {
    lambda: &'a L,
    metrics: &'a M,
    clock: &'a C,
    hooks: &'a Hooks,
    calendars: Option<&'a dyn crate::cloud::calendar::Calendars>,
    logs: Option<&'a dyn crate::cloud::logs::Logs>,
}

/// What the plan says beyond its steps, kept for hooks and the lease.
#[derive(Debug)]
struct Playbook {
    /// The display name, or the functions joined.
    name: String,
    /// Number of steps.
    steps: usize,
    /// What the plan does, as a digest ([`Plan::fingerprint`]).
    fingerprint: String,
    params: BTreeMap<String, ParamValue>,
    functions: Vec<String>,
    on_failure: Option<Script>,
    on_success: Option<Script>,
    /// What one count check may spend of `1 - confidence` in one phase.
    alpha: f64,
    /// How health is judged.
    health: crate::plan::HealthSpec,
    /// When traffic may move.
    windows: Option<crate::plan::windows::Windows>,
    /// `keep N versions`: prune after `promote`.
    keep: Option<u32>,
    /// Whether a `watch` follows `promote`: the lease is kept, and the rollout ends after it.
    watch: bool,
}

impl Default for Playbook {
    fn default() -> Self {
        Playbook {
            name: String::new(),
            steps: 0,
            fingerprint: String::new(),
            params: BTreeMap::new(),
            functions: Vec::new(),
            on_failure: None,
            on_success: None,
            alpha: 0.01,
            health: crate::plan::HealthSpec::default_spec(),
            keep: None,
            windows: None,
            watch: false,
        }
    }
}

impl Playbook {
    fn of(plan: &Plan) -> Self {
        Playbook {
            alpha: crate::judge::check_alpha(&plan.health, crate::judge::phases(plan)),
            health: plan.health.clone(),
            windows: plan.windows.clone(),
            keep: plan.keep,
            watch: plan
                .steps
                .iter()
                .any(|s| matches!(s.kind, crate::plan::StepKind::Watch { .. })),
            name: plan.name.clone().unwrap_or_else(|| {
                let selections = plan.targets.select.iter().map(ToString::to_string);
                let names: Vec<String> = plan
                    .targets
                    .functions
                    .iter()
                    .cloned()
                    .chain(selections)
                    .collect();
                names.join("+")
            }),
            steps: plan.steps.len(),
            fingerprint: plan.fingerprint(),
            params: plan
                .params
                .iter()
                .map(|p| (p.name.clone(), p.value.clone()))
                .collect(),
            functions: plan.targets.functions.clone(),
            on_failure: plan.on_failure.clone(),
            on_success: plan.on_success.clone(),
        }
    }
}

/// One function of the rollout.
#[derive(Debug, Clone)]
struct Target {
    function: String,
    alias: String,
    old: String,
    new: Option<String>,
    /// The alias as last read or written.
    current: Alias,
    /// False when `publish` found nothing new for this function.
    active: bool,
    /// True once Lambda said the alias no longer exists (deleted while the rollout ran): there
    /// is nothing left to restore or release on it.
    gone: bool,
    /// The alias's description without the lease marker.
    user_description: String,
    /// When `new` reached the weight it has (epoch ms): count checks count from here.
    weight_since: Millis,
    /// The longest timeout of `old` and `new`: their metrics may arrive this late.
    timeout: Millis,
    /// The `$LATEST` that `publish` freezes, once read.
    latest: Option<crate::cloud::Latest>,
    /// Provisioned concurrency on the alias: each move of traffic waits for its allocation.
    provisioned: bool,
    /// The end of the newest settled period already judged.
    judged_until: Millis,
    /// An alias write of ours whose answer never came: it may have gone through.
    unsure: Option<crate::cloud::AliasUpdate>,
    /// When `new` first got traffic in this run (epoch ms): its warm-up counts from here.
    first_weight: Option<Millis>,
    /// The settled periods of the count checks, kept between looks.
    series: series::Series,
    /// Whether the newest period judged was held.
    holding: bool,
    /// How often Lambda retries a failed asynchronous event of this function.
    retries: u32,
    /// During the watch after `promote`: the health block with `old`'s metrics replaced by
    /// this function's values before the rollout.
    watched: Option<crate::plan::HealthSpec>,
}

/// Where the run is and what it has seen.
#[derive(Debug, Default)]
struct Progress {
    /// When the run began.
    start: Millis,
    /// When the run began, epoch ms: `old`'s past before it is what a watch compares with.
    began: Millis,
    targets: Vec<Target>,
    /// When `new` first got traffic.
    first_traffic: Option<Millis>,
    /// When the failing evaluation happened.
    detected: Option<Millis>,
    /// How long bakes were held, in all.
    held: Millis,
    /// The target whose failure stopped the rollout, for the `on failure` hook.
    failed_target: usize,
    /// The step being run (1-based; 0 before the first) and when it began (Unix seconds).
    step: usize,
    step_started: u64,
    /// What `no new error signatures` has read in the phase.
    signatures: signatures::Reads,
}

/// The lease this run holds on every alias.
#[derive(Debug, Default)]
struct Lease {
    /// Whether writes carry the lease marker.
    holding: bool,
    /// When the lease was last written (Unix seconds).
    last_beat: u64,
    /// Whether an `approve` gate is waiting.
    gate: bool,
    /// How long the last rewrite of every alias took: a fleet's heartbeat comes less often.
    sweep: Millis,
    /// Taking up the leases of a promoted wave ([`Kept`]): only aliases that carry one.
    kept: bool,
    /// What people asked through the lease, as seen and done.
    control: control::Controlled,
}

/// Runs a plan.
pub struct Engine<'a, L, M, C> {
    services: Ports<'a, L, M, C>,
    sink: RefCell<&'a mut dyn EventSink>,
    settings: Settings,
    playbook: Playbook,
    progress: Progress,
    lease: Lease,
}

impl<'a, L: LambdaApi, M: MetricsApi, C: Clock> Engine<'a, L, M, C> {
    /// An engine over these services.
    pub fn new(services: Services<'a, L, M, C>, settings: Settings) -> Self {
        let Services {
            lambda,
            metrics,
            clock,
            hooks,
            events,
            calendars,
            logs,
        } = services;
        Engine {
            services: Ports {
                lambda,
                metrics,
                clock,
                hooks,
                calendars,
                logs,
            },
            sink: RefCell::new(events),
            settings,
            playbook: Playbook::default(),
            progress: Progress::default(),
            lease: Lease::default(),
        }
    }

    /// Runs `plan` to its end and reports how it ended.
    pub async fn run(mut self, plan: &Plan) -> Report {
        self.progress.start = self.now();
        self.progress.began = self.services.clock.epoch();
        self.playbook = Playbook::of(plan);
        let mut outcome = self.execute(plan).await;
        let kept = self.settings.keep && outcome == Outcome::Promoted;
        if !matches!(outcome, Outcome::Conflict(_)) && !kept {
            if let Err(error) = self.release().await {
                outcome = self.rollback_failed(error);
            }
        }
        self.report(outcome)
    }

    /// Says how the run ended, and reports it.
    fn report(&self, outcome: Outcome) -> Report {
        self.emit(EventKind::Finished {
            outcome: outcome.name().to_string(),
            exit_code: outcome.exit_code(),
            message: outcome.to_string(),
        });
        let since_start = |t: Millis| t.0.saturating_sub(self.progress.start.0);
        Report {
            inconclusive: outcome.inconclusive(),
            outcome,
            first_traffic_ms: self.progress.first_traffic.map(since_start),
            detected_ms: self.progress.detected.map(since_start),
            ended_ms: self.elapsed(),
            held_ms: self.progress.held.0,
            versions: self
                .progress
                .targets
                .iter()
                .map(|t| (t.function.clone(), t.old.clone(), t.new.clone()))
                .collect(),
        }
    }

    fn now(&self) -> Millis {
        self.services.clock.now()
    }

    fn elapsed(&self) -> u64 {
        self.now().0.saturating_sub(self.progress.start.0)
    }

    fn emit(&self, kind: EventKind) {
        let at_ms = self.elapsed();
        self.sink.borrow_mut().emit(&Event {
            at_ms,
            region: None,
            kind,
        });
    }
}

/// Runs `work` (one future per target), at most [`FAN_OUT`] at once, and gives each one's
/// output in the order given.
async fn concurrently<F: Future>(work: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    futures_util::stream::iter(work)
        .buffered(FAN_OUT)
        .collect()
        .await
}

/// The first error of `results`, in target order, once all are done.
fn first_error<E>(results: Vec<Result<(), E>>) -> Result<(), E> {
    results.into_iter().collect()
}

#[cfg(test)]
mod tests;

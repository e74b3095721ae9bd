//! The simulated world: an in-memory Lambda (`lambda.rs`) and CloudWatch (`cloudwatch.rs`) that
//! enforce the rules the real services enforce, driven by the traffic model ([`traffic`]) with a
//! seeded random source ([`rng`]) on a virtual clock ([`clock`]). It stands where the AWS back end
//! stands, below the engine; `simulate` and the engine's tests run the engine in it. Every call is
//! logged as a typed [`Call`].
//!
//! Rules (each proved by a test in `tests.rs`): versions are numbered by the service; publishing an
//! unchanged `$LATEST` returns the last version; publishing while an update is in progress is
//! busy (409), and a publish whose RevisionId (412) or CodeSha256 (400) is not `$LATEST`'s is
//! refused; code updates go through `InProgress` before `Successful`, changing `$LATEST`'s
//! RevisionId at the update and again when it completes; SnapStart versions stay `Pending` for a
//! while and cannot be invoked meanwhile; an alias routes to at most one additional version, with
//! a weight in [0, 1), never `$LATEST` in a split, never an unknown version, never its own
//! primary; every alias write changes the RevisionId and a stale one is rejected (412); a
//! version an alias routes to cannot be deleted (409), nor `$LATEST` alone (400), and a deleted
//! version's number is never given again.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub mod calendar;
pub mod clock;
mod cloudwatch;
pub mod conditions;
mod lambda;
mod logs;
mod others;
mod profile;
pub mod rng;
pub mod signals;
pub mod traffic;
pub mod world;

use super::call::Call;
use super::{AlarmKind, AlarmState, Alias, Clock, CloudError};
use crate::plan::Millis;
use clock::VirtualClock;
use conditions::Conditions;
use traffic::{Profile, Share, Traffic};

/// How long a simulated code update stays `InProgress`.
pub const UPDATE_TIME: Millis = Millis(3_000);

/// The simulated world's set-up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Functions, each with `alias` pointing at version 1 and a changed `$LATEST`.
    pub functions: Vec<String>,
    /// The alias.
    pub alias: String,
    /// Invocations per second per function.
    pub rps: f64,
    /// How the version the alias serves at the start behaves.
    pub old: Profile,
    /// How every later version behaves.
    pub new: Profile,
    /// Versions published before the rollout (at least 1); the alias serves version 1.
    pub versions: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// How long after an invocation ends CloudWatch makes its metrics readable.
    pub ingestion: Millis,
    /// The functions' timeout, as `GetFunctionConfiguration` reports it.
    pub timeout: Millis,
    /// How long each control-plane call takes to answer.
    pub call_latency: Millis,
    /// The account's limit of control-plane calls per second: beyond it, calls are throttled
    /// (429). `None`: no limit.
    pub calls_per_second: Option<f64>,
    /// Tags of functions, by function.
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
    /// How far the world departs from stationary traffic.
    pub conditions: Conditions,
    /// Change Calendars by name (`simulate --calendar`).
    pub calendars: BTreeMap<String, calendar::SimCalendar>,
}

/// How much traffic the world served before the run, the alias on its first version alone:
/// `old`'s recent past, which a rollout may read.
pub const HISTORY: Millis = Millis(3_600_000);

/// How long CloudWatch takes by default to make Lambda's metrics readable after an invocation
/// ends: typically well under a minute.
pub const DEFAULT_INGESTION: Millis = Millis(45_000);

/// Lambda's default function timeout.
pub const DEFAULT_TIMEOUT: Millis = Millis(3_000);

impl Default for SimConfig {
    /// One function `f` with alias `live` at 100 invocations a second, both versions failing
    /// 0.1% of the time in about 120ms.
    fn default() -> Self {
        let healthy = Profile {
            error_rate: 0.001,
            median_ms: 120.0,
        };
        SimConfig {
            functions: vec!["f".to_string()],
            alias: "live".to_string(),
            rps: 100.0,
            old: healthy,
            new: healthy,
            versions: 1,
            seed: 1,
            ingestion: DEFAULT_INGESTION,
            timeout: DEFAULT_TIMEOUT,
            call_latency: Millis(0),
            calls_per_second: None,
            tags: BTreeMap::new(),
            conditions: Conditions::default(),
            calendars: BTreeMap::new(),
        }
    }
}

/// Provisioned concurrency on an alias: reallocated between the versions after every change of
/// weights, which takes [`ALLOCATION_TIME`].
#[derive(Debug, Clone, Copy)]
struct Provision {
    requested: u32,
    /// The allocation in progress is done at this time.
    ready_at: Millis,
}

/// How long Lambda takes to allocate provisioned concurrency anew after a change of weights.
pub const ALLOCATION_TIME: Millis = Millis(60_000);

/// The code and the configuration that weighted routing compares, of `$LATEST` or a version.
#[derive(Debug, Clone, PartialEq)]
struct Config {
    code: String,
    role: String,
    dead_letter: Option<String>,
}

impl Config {
    fn new(code: String) -> Self {
        Config {
            code,
            role: DEFAULT_ROLE.to_string(),
            dead_letter: None,
        }
    }
}

/// The execution role every simulated function runs as unless a test says otherwise.
pub const DEFAULT_ROLE: &str = "arn:aws:iam::123456789012:role/lambda";

#[derive(Debug, Clone)]
struct Version {
    config: Config,
    /// `Pending` until this time, as SnapStart versions are while their snapshot is made.
    active_at: Millis,
}

#[derive(Debug)]
struct Function {
    /// Published versions; version N is at index N - 1.
    versions: Vec<Version>,
    latest: Config,
    /// `$LATEST`'s RevisionId once the update in progress is done; it is one less meanwhile, as
    /// the service changes it at the update and again when the update completes.
    revision: u64,
    /// How long a version published now stays `Pending`.
    pending_for: Millis,
    /// `InProgress` until this time.
    update_done_at: Millis,
    /// Set by tests: the next code update fails with this reason.
    fail_next_update: Option<String>,
    last_update_failed: Option<String>,
    aliases: BTreeMap<String, Alias>,
    /// Provisioned concurrency by alias (or version).
    provisioned: BTreeMap<String, Provision>,
    /// Versions deleted (their numbers are never given again).
    deleted: BTreeSet<usize>,
    /// The function ARNs its event source mappings invoke.
    mappings: Vec<String>,
    /// Traffic generated up to here.
    generated_until: Millis,
    /// Its tags.
    tags: BTreeMap<String, String>,
}

#[derive(Debug)]
struct State {
    functions: BTreeMap<String, Function>,
    alarms: BTreeMap<String, (AlarmKind, AlarmState)>,
    traffic: Traffic,
    next_revision: u64,
    /// Every call and when it was answered.
    calls: Vec<(Millis, Call)>,
    old_versions: BTreeMap<String, String>,
    old: Profile,
    new: Profile,
    /// `new` behaviour of particular functions, replacing `new`.
    new_by_function: BTreeMap<String, Profile>,
    /// The functions' timeout.
    timeout: Millis,
    /// Datapoints `GetMetricData` returns per page.
    datapoints_per_page: usize,
    /// How long each control-plane call takes.
    call_latency: Millis,
    /// The account's limit of control-plane calls per second.
    calls_per_second: Option<f64>,
    /// When the control-plane calls of the last second arrived.
    recent: VecDeque<Millis>,
    /// Calls refused for the limit.
    throttled: usize,
    /// How often a failed asynchronous event is retried, as the event invoke config says.
    retries: u32,
    /// The error `new` logs and `old` does not, if any.
    new_signature: Option<conditions::LoggedError>,
    /// The rows of each Logs Insights query started, by its id.
    queries: Vec<Vec<crate::cloud::logs::LogRow>>,
}

/// Datapoints `GetMetricData` returns per call, at most.
const DATAPOINTS_PER_PAGE: usize = 100_800;

/// The simulated Lambda, CloudWatch and clock.
#[derive(Debug)]
pub struct SimWorld {
    clock: VirtualClock,
    state: RefCell<State>,
    calendars: calendar::Calendars,
}

impl SimWorld {
    /// A world set up as `config` says.
    pub fn new(config: &SimConfig) -> Self {
        let mut state = State {
            functions: BTreeMap::new(),
            alarms: BTreeMap::new(),
            traffic: Traffic::new(
                config.rps,
                config.seed,
                config.ingestion,
                HISTORY,
                config.conditions.clone(),
            ),
            next_revision: 1,
            calls: Vec::new(),
            old_versions: BTreeMap::new(),
            old: config.old,
            new: config.new,
            new_by_function: BTreeMap::new(),
            timeout: config.timeout,
            datapoints_per_page: DATAPOINTS_PER_PAGE,
            call_latency: config.call_latency,
            calls_per_second: config.calls_per_second,
            recent: VecDeque::new(),
            throttled: 0,
            retries: config.conditions.retries,
            new_signature: config.conditions.new_signature.clone(),
            queries: Vec::new(),
        };
        for name in &config.functions {
            let versions = (1..=config.versions.max(1))
                .map(|n| Version {
                    config: Config::new(format!("code-{n}")),
                    active_at: Millis(0),
                })
                .collect();
            let revision_id = state.revision();
            let alias = Alias {
                version: "1".to_string(),
                routing: BTreeMap::new(),
                revision_id,
                description: String::new(),
            };
            state.functions.insert(
                name.clone(),
                Function {
                    versions,
                    latest: Config::new("code-latest".to_string()),
                    revision: 1,
                    pending_for: Millis(0),
                    update_done_at: Millis(0),
                    fail_next_update: None,
                    last_update_failed: None,
                    aliases: BTreeMap::from([(config.alias.clone(), alias)]),
                    provisioned: BTreeMap::new(),
                    deleted: BTreeSet::new(),
                    mappings: Vec::new(),
                    generated_until: Millis(0),
                    tags: config.tags.get(name).cloned().unwrap_or_default(),
                },
            );
            state.old_versions.insert(name.clone(), "1".to_string());
        }
        let clock = VirtualClock::new();
        SimWorld {
            calendars: calendar::Calendars {
                start: clock.epoch(),
                by_name: config.calendars.clone(),
            },
            clock,
            state: RefCell::new(state),
        }
    }

    /// The virtual clock.
    #[cfg(test)]
    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    /// Every call made so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state
            .borrow()
            .calls
            .iter()
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// Every call made so far, with the virtual time it was answered at.
    pub fn timed_calls(&self) -> Vec<(Millis, Call)> {
        self.state.borrow().calls.clone()
    }

    /// Control-plane calls refused for the account's limit (429).
    pub fn throttled(&self) -> usize {
        self.state.borrow().throttled
    }

    /// Calls that changed something (writes), in order.
    #[cfg(test)]
    pub fn writes(&self) -> Vec<Call> {
        self.calls().into_iter().filter(Call::is_write).collect()
    }

    /// The alias as it is now.
    pub fn alias(&self, function: &str, alias: &str) -> Option<Alias> {
        let state = self.state.borrow();
        state.functions.get(function)?.aliases.get(alias).cloned()
    }

    /// Makes `$LATEST` equal to the last published version: a publish changes nothing.
    #[cfg(test)]
    pub fn unchange_latest(&self, function: &str) {
        let mut state = self.state.borrow_mut();
        let f = state.functions.get_mut(function).expect("known function");
        f.latest = f.versions.last().expect("a version").config.clone();
    }

    /// Someone else's `UpdateFunctionCode` of `$LATEST`.
    #[cfg(test)]
    pub fn push_code_as_someone_else(&self, function: &str, code: &str) {
        let now = self.clock.now();
        let mut state = self.state.borrow_mut();
        let f = state.functions.get_mut(function).expect("known function");
        f.start_update(now);
        f.latest.code = code.to_string();
    }

    /// Sets the execution role and dead-letter target of `$LATEST` (`None`) or of a version,
    /// as the world was before the rollout.
    #[cfg(test)]
    pub fn configure(
        &self,
        function: &str,
        version: Option<usize>,
        role: &str,
        dead_letter: Option<&str>,
    ) {
        let mut state = self.state.borrow_mut();
        let f = state.functions.get_mut(function).expect("known function");
        let config = match version {
            None => &mut f.latest,
            Some(n) => &mut f.versions[n - 1].config,
        };
        config.role = role.to_string();
        config.dead_letter = dead_letter.map(str::to_string);
    }

    /// Makes `GetMetricData` answer `datapoints` datapoints per page.
    #[cfg(test)]
    pub fn page_datapoints(&self, datapoints: usize) {
        self.state.borrow_mut().datapoints_per_page = datapoints.max(1);
    }

    /// Gives an alias provisioned concurrency, allocated.
    #[cfg(test)]
    pub fn provision(&self, function: &str, alias: &str, requested: u32) {
        let mut state = self.state.borrow_mut();
        let provision = Provision {
            requested,
            ready_at: Millis(0),
        };
        state
            .functions
            .get_mut(function)
            .expect("known function")
            .provisioned
            .insert(alias.to_string(), provision);
    }

    /// Makes the versions `function` publishes from now on stay `Pending` for `pending`, as
    /// SnapStart versions do.
    #[cfg(test)]
    pub fn snap_start(&self, function: &str, pending: Millis) {
        let mut state = self.state.borrow_mut();
        state
            .functions
            .get_mut(function)
            .expect("known function")
            .pending_for = pending;
    }

    /// Makes the next code update of `function` fail.
    #[cfg(test)]
    pub fn fail_next_update(&self, function: &str, reason: &str) {
        let mut state = self.state.borrow_mut();
        let f = state.functions.get_mut(function).expect("known function");
        f.fail_next_update = Some(reason.to_string());
    }

    /// Makes new versions of one function behave differently from the others.
    #[cfg(test)]
    pub fn set_new_profile(&self, function: &str, profile: Profile) {
        self.state
            .borrow_mut()
            .new_by_function
            .insert(function.to_string(), profile);
    }

    /// Sets a metric alarm's state.
    pub fn set_alarm(&self, name: &str, alarm: AlarmState) {
        self.set_alarm_of(AlarmKind::Metric, name, alarm);
    }

    /// Sets the state of an alarm of this kind.
    pub fn set_alarm_of(&self, kind: AlarmKind, name: &str, alarm: AlarmState) {
        self.state
            .borrow_mut()
            .alarms
            .insert(name.to_string(), (kind, alarm));
    }

    /// Invocations and errors served by a version so far.
    pub fn served(&self, function: &str, version: &str) -> (u64, u64) {
        let mut state = self.state.borrow_mut();
        state.generate_all(self.clock.now());
        state.traffic.served(function, version)
    }
}

impl Function {
    /// An update of `$LATEST` begins: it is `InProgress` for [`UPDATE_TIME`], and its RevisionId
    /// changes now and again when it completes.
    fn start_update(&mut self, now: Millis) {
        self.update_done_at = Millis(now.0 + UPDATE_TIME.0);
        self.revision += 2;
    }

    /// Published version `number` (a string, as qualifiers are).
    fn version(&self, number: &str) -> Option<&Version> {
        let n: usize = number.parse().ok()?;
        if self.deleted.contains(&n) {
            return None;
        }
        self.versions.get(n.checked_sub(1)?)
    }

    /// `$LATEST`'s RevisionId at `now`.
    fn latest_revision(&self, now: Millis) -> String {
        let revision = if now < self.update_done_at {
            self.revision - 1
        } else {
            self.revision
        };
        format!("latest-{revision}")
    }
}

impl State {
    fn revision(&mut self) -> String {
        let id = format!("rev-{}", self.next_revision);
        self.next_revision += 1;
        id
    }

    fn profile(&self, function: &str, version: &str) -> Profile {
        if self
            .old_versions
            .get(function)
            .is_some_and(|v| v == version)
        {
            self.old
        } else {
            self.new_by_function
                .get(function)
                .copied()
                .unwrap_or(self.new)
        }
    }

    /// Brings the traffic of every function up to `now` under the routing in force.
    fn generate_all(&mut self, now: Millis) {
        let names: Vec<String> = self.functions.keys().cloned().collect();
        for name in names {
            self.generate(&name, now);
        }
    }

    /// Brings `name`'s traffic up to `now` (run time) under the routing in force: the first
    /// time, with the world's history before the run.
    fn generate(&mut self, name: &str, now: Millis) {
        let now = Millis(now.0 + HISTORY.0);
        let Some(function) = self.functions.get(name) else {
            return;
        };
        let from = function.generated_until;
        if from >= now {
            return;
        }
        let old = self.old_versions.get(name);
        let share = |version: &String, weight: f64| Share {
            version: version.clone(),
            weight,
            profile: self.profile(name, version),
            new: old != Some(version),
        };
        let mut split = Vec::new();
        for alias in function.aliases.values() {
            let extra: f64 = alias.routing.values().sum();
            split.push(share(&alias.version, 1.0 - extra));
            for (version, weight) in &alias.routing {
                split.push(share(version, *weight));
            }
        }
        self.traffic.generate(name, from, now, &split);
        if let Some(function) = self.functions.get_mut(name) {
            function.generated_until = now;
        }
    }

    /// A function no update is in progress on, to change.
    fn idle_function_mut(&mut self, name: &str, now: Millis) -> Result<&mut Function, CloudError> {
        let f = self
            .functions
            .get_mut(name)
            .ok_or_else(|| CloudError::NotFound(format!("Function not found: {name}")))?;
        if now < f.update_done_at {
            return Err(CloudError::Busy(
                "ResourceConflictException: The operation cannot be performed at this time. An update is in progress for resource".into(),
            ));
        }
        Ok(f)
    }

    fn function(&self, name: &str) -> Result<&Function, CloudError> {
        self.functions
            .get(name)
            .ok_or_else(|| CloudError::NotFound(format!("Function not found: {name}")))
    }

    fn version_exists(&self, function: &str, version: &str) -> bool {
        self.functions
            .get(function)
            .is_some_and(|f| f.version(version).is_some())
    }
}

/// A stable hash standing in for the code's SHA-256.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests;

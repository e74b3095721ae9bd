//! The executor: runs a [`Plan`] step by step against any [`LambdaApi`], [`MetricsApi`] and
//! [`Clock`], judging health and rolling back on failure. There is no dry-run switch here: the
//! plan preview is the plan itself, and simulation is this engine in a simulated world.

pub mod events;
pub mod health;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cloud::lease::{self, Marker};
use crate::cloud::{
    Alias, AliasUpdate, Clock, CloudError, FunctionState, LambdaApi, MetricQuery, MetricsApi,
    UpdateStatus,
};
use crate::hooks::{CtxData, HookVerdict, Hooks, Request};
use crate::plan::{
    HealthSpec, Inconclusive, Millis, ParamValue, Percent, Plan, Script, StepKind, Which,
};
use events::{Event, EventKind, EventSink};
use health::{conclude, measure, CheckResult, Evaluation, Verdict, Versions};

/// How long to wait for a function update before giving up.
pub const UPDATE_DEADLINE: Millis = Millis(300_000);

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
    /// Who this rollout is, in the lease marker.
    pub holder: String,
    /// Take over a lease whose heartbeat is older than `stale_after`.
    pub take_over: bool,
    /// A lease without a heartbeat for this long may be taken over.
    pub stale_after: Millis,
    /// How often a waiting rollout renews its lease.
    pub heartbeat: Millis,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            approval: Approval::After(Millis(0)),
            poll: Millis(1_000),
            holder: lease::holder(),
            take_over: false,
            stale_after: Millis::from_minutes(10),
            heartbeat: Millis::from_minutes(2),
        }
    }
}

/// How a rollout ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// `new` serves all traffic.
    Promoted,
    /// `publish` returned the version already served; nothing was changed.
    NothingToRollOut,
    /// The plan ended without `promote` or `rollback`; traffic stays split as the plan left it.
    LeftSplit,
    /// `old` serves all traffic again.
    RolledBack {
        /// The step that failed (1-based), or that was `rollback`.
        step: usize,
        /// Why.
        reason: String,
    },
    /// The engine refused before changing any alias.
    Refused {
        /// Why, with what to do.
        reason: String,
    },
    /// A person stopped the rollout (Ctrl-C); `old` serves all traffic again.
    Interrupted {
        /// What was rolled back.
        reason: String,
    },
    /// Someone else changed an alias; nothing was overwritten.
    Conflict {
        /// What was found.
        reason: String,
    },
    /// AWS failed beyond what retries could fix; the state reached is in the reason.
    Failed {
        /// What failed and what the aliases serve now.
        reason: String,
    },
}

impl Outcome {
    /// The exit code of LANGUAGE.md §8.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Promoted | Outcome::NothingToRollOut | Outcome::LeftSplit => 0,
            Outcome::RolledBack { .. } => 1,
            Outcome::Refused { .. } => 2,
            Outcome::Interrupted { .. } => 3,
            Outcome::Conflict { .. } => 4,
            Outcome::Failed { .. } => 5,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Outcome::Promoted => "promoted",
            Outcome::NothingToRollOut => "nothing_to_roll_out",
            Outcome::LeftSplit => "left_split",
            Outcome::RolledBack { .. } => "rolled_back",
            Outcome::Refused { .. } => "refused",
            Outcome::Interrupted { .. } => "interrupted",
            Outcome::Conflict { .. } => "conflict",
            Outcome::Failed { .. } => "failed",
        }
    }
}

/// What a finished rollout reports besides its outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// How it ended.
    pub outcome: Outcome,
    /// When `new` first got traffic (ms since the start).
    pub first_traffic_ms: Option<u64>,
    /// When the failing evaluation happened (ms since the start).
    pub detected_ms: Option<u64>,
    /// When it ended (ms since the start).
    pub ended_ms: u64,
    /// True when a bake failed for want of a conclusive evaluation rather than a failing one.
    pub inconclusive: bool,
    /// `(function, old, new)` of each target, as far as known.
    pub versions: Vec<(String, String, Option<String>)>,
}

impl Report {
    /// Time from the first traffic on `new` to the failing evaluation.
    pub fn time_to_detect(&self) -> Option<Millis> {
        Some(Millis(self.detected_ms? - self.first_traffic_ms?))
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
    /// The alias's description without the lease marker.
    user_description: String,
}

/// Why a step stopped the rollout.
enum Stop {
    /// Unhealthy, a hook said no, or a step could not do its work: roll back.
    Fail(String),
    /// Someone else changed an alias: stop, overwrite nothing.
    Conflict(String),
    /// AWS failed: roll back if possible, then report.
    Cloud(String),
    /// The rollout ends here with this outcome.
    End(Outcome),
    /// A person asked to stop: roll back.
    Interrupted,
}

/// Runs a plan.
pub struct Engine<'a, L, M, C> {
    lambda: &'a L,
    metrics: &'a M,
    clock: &'a C,
    hooks: &'a Hooks,
    params: BTreeMap<String, ParamValue>,
    functions: Vec<String>,
    sink: &'a mut dyn EventSink,
    settings: Settings,
    start: Millis,
    targets: Vec<Target>,
    first_traffic: Option<Millis>,
    detected: Option<Millis>,
    inconclusive: bool,
    on_failure: Option<Script>,
    on_success: Option<Script>,
    /// The target whose failure stopped the rollout, for the `on failure` hook.
    failed_target: usize,
    /// The playbook's name and step count, for the lease marker.
    plan_name: String,
    steps: usize,
    /// The step being run (1-based; 0 before the first) and when it began (Unix seconds).
    step: usize,
    step_started: u64,
    /// When the lease was last written (Unix seconds).
    last_beat: u64,
    /// Whether writes carry the lease marker.
    holding: bool,
    /// Whether an `approve` gate is waiting.
    gate: bool,
    /// Continue the rollout the lease markers describe instead of starting one.
    resume: bool,
    /// From the marker: the step reached (1-based) and when it began.
    resume_at: Option<(usize, u64)>,
}

impl<'a, L: LambdaApi, M: MetricsApi, C: Clock> Engine<'a, L, M, C> {
    /// An engine over these services, running `hooks`, reporting to `sink`.
    pub fn new(
        lambda: &'a L,
        metrics: &'a M,
        clock: &'a C,
        hooks: &'a Hooks,
        sink: &'a mut dyn EventSink,
        settings: Settings,
    ) -> Self {
        Engine {
            lambda,
            metrics,
            clock,
            hooks,
            params: BTreeMap::new(),
            functions: Vec::new(),
            sink,
            settings,
            start: clock.now(),
            targets: Vec::new(),
            first_traffic: None,
            detected: None,
            inconclusive: false,
            on_failure: None,
            on_success: None,
            failed_target: 0,
            plan_name: String::new(),
            steps: 0,
            step: 0,
            step_started: 0,
            last_beat: 0,
            holding: false,
            gate: false,
            resume: false,
            resume_at: None,
        }
    }

    fn emit(&mut self, kind: EventKind) {
        let at_ms = self.clock.now().0.saturating_sub(self.start.0);
        self.sink.emit(&Event { at_ms, kind });
    }

    fn elapsed(&self) -> u64 {
        self.clock.now().0.saturating_sub(self.start.0)
    }

    /// Continues, instead of starting, the rollout whose lease the aliases carry.
    pub fn resuming(mut self) -> Self {
        self.resume = true;
        self
    }

    /// Runs `plan` to its end and reports how it ended.
    pub async fn run(mut self, plan: &Plan) -> Report {
        self.start = self.clock.now();
        self.params = plan
            .params
            .iter()
            .map(|p| (p.name.clone(), p.value.clone()))
            .collect();
        self.functions = plan.targets.functions.clone();
        self.on_failure = plan.on_failure.clone();
        self.on_success = plan.on_success.clone();
        self.plan_name = plan
            .name
            .clone()
            .unwrap_or_else(|| plan.targets.functions.join("+"));
        self.steps = plan.steps.len();
        let mut outcome = self.execute(plan).await;
        if !matches!(outcome, Outcome::Conflict { .. }) {
            if let Err(stop) = self.release().await {
                outcome = self.rollback_failed(stop);
            }
        }
        let (exit_code, message) = (outcome.exit_code(), describe(&outcome));
        self.emit(EventKind::Finished {
            outcome: outcome.name().to_string(),
            exit_code,
            message,
        });
        Report {
            outcome,
            first_traffic_ms: self.first_traffic.map(|t| t.0.saturating_sub(self.start.0)),
            detected_ms: self.detected.map(|t| t.0.saturating_sub(self.start.0)),
            ended_ms: self.elapsed(),
            inconclusive: self.inconclusive,
            versions: self
                .targets
                .iter()
                .map(|t| (t.function.clone(), t.old.clone(), t.new.clone()))
                .collect(),
        }
    }

    async fn execute(&mut self, plan: &Plan) -> Outcome {
        let Some(alias) = plan.targets.alias.clone() else {
            return Outcome::Refused {
                reason: "no alias to act on: add `alias \"NAME\"` to the playbook or pass --alias"
                    .into(),
            };
        };
        if plan.targets.functions.is_empty() {
            return Outcome::Refused {
                reason: "no function to act on: add `function \"NAME\"` to the playbook or pass --function".into(),
            };
        }
        self.emit(EventKind::Started {
            name: plan.name.clone(),
            functions: plan.targets.functions.clone(),
            alias: alias.clone(),
            steps: plan.steps.len(),
        });
        for function in &plan.targets.functions {
            let current = match self.lambda.get_alias(function, &alias).await {
                Ok(current) => current,
                Err(CloudError::NotFound(message)) => {
                    return Outcome::Refused {
                        reason: format!("{function}:{alias} cannot be read: {message}; check the function and alias names and the region"),
                    }
                }
                Err(other) => return Outcome::Failed { reason: format!("reading {function}:{alias}: {other}; nothing was changed") },
            };
            self.emit(EventKind::AliasRead {
                function: function.clone(),
                alias: current.clone(),
            });
            let (user_description, marker) = Marker::parse(&current.description);
            let (old, new) = match self.admit(
                function,
                &alias,
                &current,
                marker.as_ref(),
                plan.steps.len(),
            ) {
                Ok(versions) => versions,
                Err(outcome) => return outcome,
            };
            if let Some(marker) = marker.filter(|_| self.resume) {
                self.resume_at
                    .get_or_insert((marker.step, marker.step_started));
            }
            self.targets.push(Target {
                function: function.clone(),
                alias: alias.clone(),
                old,
                new,
                current,
                active: true,
                user_description,
            });
        }
        // Take the lease on every alias before anything else changes.
        self.holding = true;
        self.step_started = self.clock.unix();
        for i in 0..self.targets.len() {
            if let Err(stop) = self.hold(i).await {
                return match stop {
                    Stop::End(outcome) => outcome,
                    Stop::Conflict(reason) => Outcome::Conflict {
                        reason: format!(
                            "{reason}: another rollout took it first; nothing was overwritten"
                        ),
                    },
                    other => self.rollback_failed(other),
                };
            }
        }
        let (from, resumed_started) = match self.resume_at {
            Some((step, started)) => (step.max(1) - 1, Some(started)),
            None => (0, None),
        };
        if let Some((step, _)) = self.resume_at {
            self.first_traffic = self.traffic_on_new().then(|| self.clock.now());
            self.emit(EventKind::Resumed { step });
        }
        for (index, step) in plan.steps.iter().enumerate().skip(from) {
            let number = index + 1;
            self.emit(EventKind::StepStarted {
                step: number,
                text: step.kind.to_string(),
            });
            self.step = number;
            self.step_started = self.clock.unix();
            let result = if self.clock.interrupted() {
                Err(Stop::Interrupted)
            } else {
                self.mark(&step.kind).await;
                match resumed_started.filter(|_| index == from) {
                    Some(started) => self.resume_step(&step.kind, &plan.health, started).await,
                    None => self.step(&step.kind, &plan.health).await,
                }
            };
            let stop = match result {
                Ok(()) if self.clock.interrupted() => Stop::Interrupted,
                Ok(()) => continue,
                Err(stop) => stop,
            };
            return match stop {
                Stop::End(outcome) => {
                    if let Outcome::RolledBack { .. } = outcome {
                        Outcome::RolledBack {
                            step: number,
                            reason: "the playbook rolls back here".into(),
                        }
                    } else {
                        outcome
                    }
                }
                Stop::Conflict(reason) => {
                    self.emit(EventKind::StepFailed {
                        step: number,
                        reason: reason.clone(),
                    });
                    Outcome::Conflict {
                        reason: format!("{reason}; nothing was overwritten. {}", self.state_now()),
                    }
                }
                Stop::Fail(reason) => {
                    self.emit(EventKind::StepFailed {
                        step: number,
                        reason: reason.clone(),
                    });
                    match self.roll_back(&reason).await {
                        Ok(()) => Outcome::RolledBack {
                            step: number,
                            reason,
                        },
                        Err(stop) => self.rollback_failed(stop),
                    }
                }
                Stop::Interrupted => {
                    let reason = "interrupted by a person".to_string();
                    self.emit(EventKind::StepFailed {
                        step: number,
                        reason: reason.clone(),
                    });
                    match self.roll_back(&reason).await {
                        Ok(()) => Outcome::Interrupted {
                            reason: format!(
                                "stopped at step {number}; old serves all traffic again: {}",
                                self.state_now()
                            ),
                        },
                        Err(stop) => self.rollback_failed(stop),
                    }
                }
                Stop::Cloud(reason) => {
                    self.emit(EventKind::StepFailed {
                        step: number,
                        reason: reason.clone(),
                    });
                    match self.roll_back(&reason).await {
                        Ok(()) => Outcome::Failed {
                            reason: format!("{reason}; rolled back: {}", self.state_now()),
                        },
                        Err(stop) => self.rollback_failed(stop),
                    }
                }
            };
        }
        Outcome::LeftSplit
    }

    fn rollback_failed(&self, stop: Stop) -> Outcome {
        match stop {
            Stop::Conflict(reason) => Outcome::Conflict {
                reason: format!(
                    "rollback stopped: {reason}; nothing was overwritten. {}",
                    self.state_now()
                ),
            },
            Stop::Fail(reason) | Stop::Cloud(reason) => Outcome::Failed {
                reason: format!("rollback failed: {reason}. {}", self.state_now()),
            },
            Stop::End(outcome) => outcome,
            Stop::Interrupted => Outcome::Failed {
                reason: format!("interrupted during the rollback. {}", self.state_now()),
            },
        }
    }

    /// What every alias serves as far as the engine knows.
    fn state_now(&self) -> String {
        let parts: Vec<String> = self
            .targets
            .iter()
            .map(|t| format!("{}:{} serves {}", t.function, t.alias, t.current))
            .collect();
        parts.join("; ")
    }

    async fn step(&mut self, step: &StepKind, health: &HealthSpec) -> Result<(), Stop> {
        match step {
            StepKind::UpdateCode { zip } => {
                let bytes = std::fs::read(&zip.path)
                    .map_err(|e| Stop::Fail(format!("cannot read {}: {e}", zip.path.display())))?;
                for i in 0..self.targets.len() {
                    let function = self.targets[i].function.clone();
                    self.lambda
                        .update_code(&function, &bytes)
                        .await
                        .map_err(cloud)?;
                    self.wait_updated(&function).await?;
                    self.emit(EventKind::CodeUpdated { function });
                }
                Ok(())
            }
            StepKind::Publish { description } => {
                for i in 0..self.targets.len() {
                    let function = self.targets[i].function.clone();
                    self.wait_updated(&function).await?;
                    let version = self
                        .lambda
                        .publish_version(&function, description.as_deref())
                        .await
                        .map_err(cloud)?;
                    let unchanged = version == self.targets[i].old;
                    self.emit(EventKind::Published {
                        function: function.clone(),
                        version: version.clone(),
                        unchanged,
                    });
                    self.choose(i, version, unchanged).await?;
                }
                self.nothing_left()
            }
            StepKind::UseVersion { version } => {
                for i in 0..self.targets.len() {
                    let function = self.targets[i].function.clone();
                    let version = version.to_string();
                    match self.lambda.get_function(&function, Some(&version)).await {
                        Ok(_) => {}
                        Err(CloudError::NotFound(_)) => {
                            return Err(Stop::End(Outcome::Refused {
                                reason: format!(
                                    "{function} has no version {version}; nothing was changed"
                                ),
                            }))
                        }
                        Err(other) => return Err(cloud(other)),
                    }
                    let unchanged = version == self.targets[i].old;
                    self.choose(i, version, unchanged).await?;
                }
                self.nothing_left()
            }
            StepKind::Shift { weight } => self.shift(*weight).await,
            StepKind::Ramp {
                increments, every, ..
            } => {
                for weight in increments {
                    self.shift(*weight).await?;
                    self.bake(*every, health).await?;
                }
                Ok(())
            }
            StepKind::Wait { duration } => {
                self.emit(EventKind::Waiting {
                    duration_ms: *duration,
                    judged: false,
                });
                // In pieces no longer than the heartbeat, renewing the lease between them.
                let mut left = duration.0;
                while left > 0 {
                    let piece = left.min(self.settings.heartbeat.0.max(1));
                    self.clock.sleep(Millis(piece)).await;
                    if self.clock.interrupted() {
                        return Err(Stop::Interrupted);
                    }
                    left -= piece;
                    self.beat().await?;
                }
                Ok(())
            }
            StepKind::Bake { duration } => self.bake(*duration, health).await,
            StepKind::Approve { message } => {
                self.emit(EventKind::ApprovalRequested {
                    message: message.clone(),
                });
                let by = match self.settings.approval {
                    Approval::After(after) => {
                        if after.0 > 0 {
                            if self.traffic_on_new() {
                                self.judge_for(after, health, false).await?;
                            } else {
                                self.clock.sleep(after).await;
                            }
                        }
                        format!("simulation, after {after}")
                    }
                    Approval::Auto => "--auto-approve".to_string(),
                    Approval::Prompt(ask) => {
                        let question = message
                            .clone()
                            .unwrap_or_else(|| "Go on with the rollout?".to_string());
                        if !self.prompt(ask, question, health).await? {
                            return Err(Stop::Fail("approval refused at the terminal".into()));
                        }
                        "the terminal".to_string()
                    }
                    Approval::Remote => {
                        self.await_approval(health).await?;
                        "`rollout approve`".to_string()
                    }
                };
                self.emit(EventKind::Approved { by });
                Ok(())
            }
            StepKind::Run { script } => {
                for i in 0..self.targets.len() {
                    if !self.targets[i].active {
                        continue;
                    }
                    let verdict = self.run_hook(script, i).await;
                    if !verdict.healthy {
                        return Err(Stop::Fail(format!("{}: {}", script.name, verdict.reason)));
                    }
                }
                Ok(())
            }
            StepKind::Promote => {
                self.holding = false;
                for i in 0..self.targets.len() {
                    if !self.targets[i].active {
                        continue;
                    }
                    let new = self.targets[i]
                        .new
                        .clone()
                        .expect("checked: promote after a version");
                    self.write_alias(i, new, BTreeMap::new()).await?;
                }
                if let Some(script) = self.on_success.clone() {
                    // Reported, never undone: `new` already serves everything.
                    self.run_hook(&script, 0).await;
                }
                Err(Stop::End(Outcome::Promoted))
            }
            StepKind::Rollback => {
                self.restore_old().await?;
                Err(Stop::End(Outcome::RolledBack {
                    step: 0,
                    reason: String::new(),
                }))
            }
        }
    }

    /// Asks a person while judging health every interval; true only for a yes.
    async fn prompt(
        &mut self,
        ask: Ask,
        question: String,
        health: &HealthSpec,
    ) -> Result<bool, Stop> {
        let mut answer = tokio::task::spawn_blocking(move || ask(&question));
        loop {
            let answered = tokio::select! {
                result = &mut answer => Some(result.unwrap_or(false)),
                _ = self.clock.sleep(health.every) => None,
            };
            if let Some(yes) = answered {
                return Ok(yes);
            }
            if self.clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            if self.traffic_on_new() {
                self.judge_once(health).await?;
            }
        }
    }

    /// Whether this run may act on the alias, and its `old` and `new`. A fresh run needs an
    /// alias no rollout holds (or a stale lease and `--take-over`) that serves one version; a
    /// resumed run needs the lease it resumes, an alias that still matches it, and the same
    /// playbook.
    fn admit(
        &self,
        function: &str,
        alias: &str,
        current: &Alias,
        marker: Option<&Marker>,
        steps: usize,
    ) -> Result<(String, Option<String>), Outcome> {
        if let Some(marker) = marker {
            let age = self.clock.unix().saturating_sub(marker.beat);
            let stale = age * 1000 >= self.settings.stale_after.0;
            // A resumed rollout may take over a lease that still looks alive: the person resuming
            // says its runner is gone.
            if !(self.settings.take_over && (stale || self.resume)) {
                let hint = if stale {
                    format!(
                        "its last heartbeat was {} ago: pass --take-over to take it over",
                        Millis(age * 1000)
                    )
                } else {
                    format!(
                        "its last heartbeat was {} ago (stale after {}); if it is not running any more, wait, or pass --take-over",
                        Millis(age * 1000),
                        self.settings.stale_after
                    )
                };
                return Err(Outcome::Conflict {
                    reason: format!(
                        "{function}:{alias} is held by another rollout: {} running {:?}, at step {}/{} (old {}, new {}); {hint}",
                        marker.holder,
                        marker.plan,
                        marker.step,
                        marker.steps,
                        marker.old,
                        marker.new.as_deref().unwrap_or("not yet chosen")
                    ),
                });
            }
        }
        if !self.resume {
            if let Some((version, weight)) = current.additional() {
                return Err(Outcome::Refused {
                    reason: format!(
                        "{function}:{alias} is split ({:.2}% on version {version}): {}; finish it with `rollout resume`, or restore one version with `rollout rollback --function {function} --alias {alias}`",
                        weight * 100.0,
                        if marker.is_some() { "an interrupted rollout left it so" } else { "someone changed it by hand" }
                    ),
                });
            }
            return Ok((current.version.clone(), None));
        }
        let Some(marker) = marker else {
            return Err(Outcome::Refused {
                reason: format!("nothing to resume: no rollout holds {function}:{alias}"),
            });
        };
        if marker.steps != steps {
            return Err(Outcome::Refused {
                reason: format!(
                    "{function}:{alias} is held by a rollout of {} steps ({:?}), and this playbook has {steps}: resume with the playbook that started it",
                    marker.steps, marker.plan
                ),
            });
        }
        if !marker.matches(current) {
            return Err(Outcome::Conflict {
                reason: format!(
                    "{function}:{alias} serves {current}, which is not what the rollout left (old {}, new {}): someone changed it; nothing was overwritten",
                    marker.old,
                    marker.new.as_deref().unwrap_or("not yet chosen")
                ),
            });
        }
        Ok((marker.old.clone(), marker.new.clone()))
    }

    /// The step a resumed rollout stopped in: time already spent counts, a chosen `new` is not
    /// published again, and health is judged again before any more traffic moves.
    async fn resume_step(
        &mut self,
        step: &StepKind,
        health: &HealthSpec,
        started: u64,
    ) -> Result<(), Stop> {
        let spent = Millis(self.clock.unix().saturating_sub(started) * 1000);
        let chosen = self.targets.iter().all(|t| t.new.is_some());
        match step {
            StepKind::Publish { .. }
            | StepKind::UseVersion { .. }
            | StepKind::UpdateCode { .. }
                if chosen =>
            {
                Ok(())
            }
            StepKind::Wait { duration } => {
                let left = Millis(duration.0.saturating_sub(spent.0));
                self.step(
                    &StepKind::Wait {
                        duration: left.max(Millis(1)),
                    },
                    health,
                )
                .await
            }
            StepKind::Bake { duration } => {
                // At least one evaluation, whatever time has passed.
                let left =
                    Millis(duration.0.saturating_sub(spent.0)).max(health.every.min(*duration));
                self.bake(left, health).await
            }
            StepKind::Ramp {
                increments, every, ..
            } => {
                let weight = self
                    .targets
                    .iter()
                    .filter_map(|t| {
                        t.current
                            .additional()
                            .map(|(_, w)| Percent((w * 10_000.0).round() as u32))
                    })
                    .max()
                    .unwrap_or(Percent(0));
                if weight.0 > 0 {
                    self.bake(*every, health).await?;
                }
                for w in increments.iter().filter(|w| **w > weight) {
                    self.shift(*w).await?;
                    self.bake(*every, health).await?;
                }
                Ok(())
            }
            StepKind::Shift { .. } | StepKind::Promote if self.traffic_on_new() => {
                self.judge_for(health.every, health, true).await?;
                self.step(step, health).await
            }
            other => self.step(other, health).await,
        }
    }

    /// Marks the gate open in the lease and waits until `rollout approve` sets `a=1` on the
    /// first alias, judging health every interval while `new` has traffic.
    async fn await_approval(&mut self, health: &HealthSpec) -> Result<(), Stop> {
        self.gate = true;
        for i in 0..self.targets.len() {
            self.hold(i).await?;
        }
        let poll = Millis(health.every.0.min(5_000));
        let mut since_evaluation = Millis(0);
        loop {
            self.clock.sleep(poll).await;
            if self.clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            let t = &self.targets[0];
            let (function, alias) = (t.function.clone(), t.alias.clone());
            let now = self
                .lambda
                .get_alias(&function, &alias)
                .await
                .map_err(cloud)?;
            let (_, marker) = Marker::parse(&now.description);
            let ours = marker
                .as_ref()
                .is_some_and(|m| m.holder == self.settings.holder);
            if now.version != t.current.version || now.routing != t.current.routing || !ours {
                return Err(Stop::Conflict(format!(
                    "{function}:{alias} changed while waiting for approval: it serves {now}"
                )));
            }
            // `rollout approve` wrote the marker: carry on from its RevisionId.
            self.targets[0].current = now;
            if marker.is_some_and(|m| m.approved) {
                self.gate = false;
                return Ok(());
            }
            since_evaluation = Millis(since_evaluation.0 + poll.0);
            if since_evaluation >= health.every && self.traffic_on_new() {
                since_evaluation = Millis(0);
                if let Err(stop) = self.judge_once(health).await {
                    self.gate = false;
                    return Err(stop);
                }
            }
            self.beat().await?;
        }
    }

    /// Records `new` of target `i`, refusing versions whose role differs from `old`'s.
    async fn choose(&mut self, i: usize, version: String, unchanged: bool) -> Result<(), Stop> {
        let t = &self.targets[i];
        let (function, old) = (t.function.clone(), t.old.clone());
        if unchanged {
            self.targets[i].active = false;
            return Ok(());
        }
        let old_info = self
            .lambda
            .get_function(&function, Some(&old))
            .await
            .map_err(cloud)?;
        let new_info = self
            .lambda
            .get_function(&function, Some(&version))
            .await
            .map_err(cloud)?;
        if old_info.role != new_info.role {
            return Err(Stop::End(Outcome::Refused {
                reason: format!(
                    "{function}: version {old} runs as {} but version {version} as {}; weighted routing needs one execution role. Nothing was changed",
                    old_info.role, new_info.role
                ),
            }));
        }
        self.targets[i].new = Some(version.clone());
        self.emit(EventKind::VersionsChosen {
            function,
            old,
            new: version,
        });
        Ok(())
    }

    /// Ends with "nothing to roll out" when no target has a new version.
    fn nothing_left(&self) -> Result<(), Stop> {
        if self.targets.iter().any(|t| t.active) {
            Ok(())
        } else {
            Err(Stop::End(Outcome::NothingToRollOut))
        }
    }

    fn traffic_on_new(&self) -> bool {
        self.targets.iter().any(|t| {
            t.active
                && (t.current.additional().is_some() || t.new.as_ref() == Some(&t.current.version))
        })
    }

    /// Polls `$LATEST` until its last update is done.
    async fn wait_updated(&mut self, function: &str) -> Result<(), Stop> {
        let deadline = Millis(self.clock.now().0 + UPDATE_DEADLINE.0);
        // Polls back off from `poll` to five times it: fast for the usual few seconds, gentle
        // on the API for a long update.
        let mut pause = self.settings.poll;
        loop {
            let info = self
                .lambda
                .get_function(function, None)
                .await
                .map_err(cloud)?;
            match (info.state, info.last_update) {
                (FunctionState::Failed, _) => {
                    return Err(Stop::Fail(format!(
                        "{function} is in state Failed and cannot be published"
                    )))
                }
                (_, UpdateStatus::Failed(reason)) => {
                    return Err(Stop::Fail(format!(
                        "the last update of {function} failed: {reason}"
                    )))
                }
                (FunctionState::Active | FunctionState::Inactive, UpdateStatus::Successful) => {
                    return Ok(())
                }
                (FunctionState::Pending, _) | (_, UpdateStatus::InProgress) => {
                    if self.clock.now() >= deadline {
                        return Err(Stop::Cloud(format!(
                            "{function} was still updating after {UPDATE_DEADLINE}"
                        )));
                    }
                    if self.clock.interrupted() {
                        return Err(Stop::Interrupted);
                    }
                    self.clock.sleep(pause).await;
                    pause = Millis((pause.0 * 2).min(self.settings.poll.0 * 5));
                }
            }
        }
    }

    async fn shift(&mut self, weight: Percent) -> Result<(), Stop> {
        for i in 0..self.targets.len() {
            if !self.targets[i].active {
                continue;
            }
            let t = &self.targets[i];
            let new = t.new.clone().expect("checked: shift after a version");
            let routing = BTreeMap::from([(new, weight.as_weight())]);
            let old = t.old.clone();
            self.write_alias(i, old, routing).await?;
        }
        self.first_traffic.get_or_insert(self.clock.now());
        Ok(())
    }

    async fn restore_old(&mut self) -> Result<(), Stop> {
        self.holding = false;
        for i in 0..self.targets.len() {
            let t = &self.targets[i];
            if t.current.version == t.old && t.current.routing.is_empty() {
                continue;
            }
            let old = t.old.clone();
            self.write_alias(i, old, BTreeMap::new()).await?;
        }
        Ok(())
    }

    /// Writes an alias, passing the RevisionId last read.
    async fn write_alias(
        &mut self,
        i: usize,
        version: String,
        routing: BTreeMap<String, f64>,
    ) -> Result<(), Stop> {
        let t = &self.targets[i];
        let (function, alias, before) = (t.function.clone(), t.alias.clone(), t.current.clone());
        let update = AliasUpdate {
            version,
            routing,
            revision_id: before.revision_id.clone(),
            description: Some(self.description(i)?),
        };
        match self.lambda.update_alias(&function, &alias, &update).await {
            Ok(after) => {
                self.targets[i].current = after.clone();
                self.emit(EventKind::AliasUpdated {
                    function,
                    before,
                    after,
                });
                Ok(())
            }
            Err(CloudError::Conflict(message)) => Err(Stop::Conflict(format!(
                "{function}:{alias} was changed by someone else: {message}"
            ))),
            Err(other) => Err(cloud(other)),
        }
    }

    /// The alias description to write: the user's text, with the lease marker while holding.
    fn description(&self, i: usize) -> Result<String, Stop> {
        let t = &self.targets[i];
        if !self.holding {
            return Ok(t.user_description.clone());
        }
        let marker = Marker {
            holder: self.settings.holder.clone(),
            plan: self.plan_name.clone(),
            step: self.step,
            steps: self.steps,
            old: t.old.clone(),
            new: t.new.clone(),
            step_started: self.step_started,
            beat: self.clock.unix(),
            gate: self.gate,
            approved: false,
        };
        marker.describe(&t.user_description).ok_or_else(|| {
            Stop::End(Outcome::Refused {
                reason: format!(
                    "{}:{} has a description of {} characters; with the lease marker it would pass Lambda's {}. Shorten the description",
                    t.function,
                    t.alias,
                    t.user_description.chars().count(),
                    lease::DESCRIPTION_LIMIT
                ),
            })
        })
    }

    /// Rewrites the lease marker of target `i`, leaving its routing as it is.
    async fn hold(&mut self, i: usize) -> Result<(), Stop> {
        let (version, routing) = (
            self.targets[i].current.version.clone(),
            self.targets[i].current.routing.clone(),
        );
        self.write_alias(i, version, routing).await?;
        self.last_beat = self.clock.unix();
        Ok(())
    }

    /// Records the step in the lease before it runs, unless the step's own alias write will.
    async fn mark(&mut self, step: &StepKind) {
        if matches!(
            step,
            StepKind::Shift { .. } | StepKind::Ramp { .. } | StepKind::Promote | StepKind::Rollback
        ) {
            return;
        }
        // A failed mark is not a reason to stop: the next write carries the marker again, and
        // a conflict surfaces at that write.
        for i in 0..self.targets.len() {
            let _ = self.hold(i).await;
        }
    }

    /// Renews the lease when the last heartbeat is older than the interval.
    async fn beat(&mut self) -> Result<(), Stop> {
        if (self.clock.unix().saturating_sub(self.last_beat)) * 1000 < self.settings.heartbeat.0 {
            return Ok(());
        }
        for i in 0..self.targets.len() {
            self.hold(i).await?;
        }
        Ok(())
    }

    /// Clears the lease marker from every alias that still carries it.
    async fn release(&mut self) -> Result<(), Stop> {
        self.holding = false;
        for i in 0..self.targets.len() {
            let t = &self.targets[i];
            if t.current.description != t.user_description {
                self.hold(i).await?;
            }
        }
        Ok(())
    }

    /// Runs `on failure` (whose own failure never stops the rollback), then restores `old`.
    async fn roll_back(&mut self, reason: &str) -> Result<(), Stop> {
        if let Some(script) = self.on_failure.clone() {
            if !self.targets.is_empty() {
                self.run_hook(&script, self.failed_target).await;
            }
        }
        self.emit(EventKind::RollingBack {
            reason: reason.to_string(),
        });
        self.restore_old().await
    }

    /// What `ctx` shows a hook running for target `i`.
    fn ctx(&self, i: usize) -> CtxData {
        let t = self.targets.get(i);
        let weight = t.map_or(0.0, |t| match (&t.new, t.current.additional()) {
            (_, Some((_, w))) => w * 100.0,
            (Some(new), None) if *new == t.current.version => 100.0,
            _ => 0.0,
        });
        CtxData {
            function: t.map(|t| t.function.clone()).unwrap_or_default(),
            functions: self.functions.clone(),
            alias: t.map(|t| t.alias.clone()).unwrap_or_default(),
            old: t.map(|t| t.old.clone()).unwrap_or_default(),
            new: t.and_then(|t| t.new.clone()).unwrap_or_default(),
            weight,
            elapsed: self.elapsed() as f64 / 1000.0,
            params: self.params.clone(),
        }
    }

    /// Runs a hook for target `i`, answering what it asks through the engine's own services.
    async fn run_hook(&mut self, script: &Script, i: usize) -> HookVerdict {
        let data = self.ctx(i);
        let (function, alias, old, new) = (
            data.function.clone(),
            data.alias.clone(),
            data.old.clone(),
            data.new.clone(),
        );
        let mut running = self.hooks.start(script, data);
        while let Some(request) = running.receiver.recv().await {
            match request {
                Request::Log(message) => self.emit(EventKind::HookLog {
                    script: script.name.clone(),
                    message,
                }),
                Request::Metric {
                    stat,
                    which,
                    window,
                    reply,
                } => {
                    let version = match which {
                        Which::New => new.clone(),
                        Which::Old => old.clone(),
                    };
                    let query = MetricQuery {
                        function: function.clone(),
                        alias: alias.clone(),
                        version,
                        stat,
                        window,
                    };
                    // A failed read is no data: the hook decides, and no data is never healthy.
                    let value = self
                        .metrics
                        .stats(&[query])
                        .await
                        .ok()
                        .and_then(|v| v.into_iter().next().flatten());
                    let _ = reply.send(value);
                }
                Request::Invoke {
                    which,
                    payload,
                    reply,
                } => {
                    let qualifier = match which {
                        None => alias.clone(),
                        Some(Which::New) => new.clone(),
                        Some(Which::Old) => old.clone(),
                    };
                    let result = self
                        .lambda
                        .invoke(&function, &qualifier, &payload)
                        .await
                        .map_err(|e| e.to_string());
                    let _ = reply.send(result);
                }
            }
        }
        let verdict = running.verdict();
        self.emit(EventKind::Hook {
            function,
            script: script.name.clone(),
            healthy: verdict.healthy,
            reason: verdict.reason.clone(),
        });
        verdict
    }

    /// One health evaluation of target `i`: metrics and alarms, then script checks.
    async fn evaluate(&mut self, health: &HealthSpec, i: usize) -> Result<Evaluation, Stop> {
        let t = self.targets[i].clone();
        let new = t.new.clone().unwrap_or_default();
        let versions = Versions {
            function: &t.function,
            alias: &t.alias,
            old: &t.old,
            new: &new,
        };
        let measured = measure(self.metrics, health, &versions)
            .await
            .map_err(cloud)?;
        let mut checks = Vec::new();
        for (check, result) in health.checks.iter().zip(measured.checks) {
            let result = match (check, result) {
                (_, Some(result)) => result,
                (crate::plan::Check::Script { script }, None) => {
                    let verdict = self.run_hook(script, i).await;
                    CheckResult {
                        check: check.to_string(),
                        verdict: if verdict.healthy {
                            Verdict::Pass
                        } else {
                            Verdict::Fail
                        },
                        detail: format!("{}: {}", script.name, verdict.reason),
                    }
                }
                (_, None) => unreachable!("only script checks are left to the engine"),
            };
            checks.push(result);
        }
        Ok(conclude(health, &versions, measured.invocations, checks))
    }

    /// One evaluation of every active target, each an event; the first failing one fails the
    /// step. Returns the functions that passed.
    async fn judge_once(&mut self, health: &HealthSpec) -> Result<Vec<String>, Stop> {
        let mut passed = Vec::new();
        for i in 0..self.targets.len() {
            if !self.targets[i].active {
                continue;
            }
            let function = self.targets[i].function.clone();
            let evaluation = self.evaluate(health, i).await?;
            let (verdict, reason) = (evaluation.verdict, evaluation.reason.clone());
            self.emit(EventKind::HealthEvaluated(evaluation));
            match verdict {
                Verdict::Fail => {
                    self.detected = Some(self.clock.now());
                    self.failed_target = i;
                    return Err(Stop::Fail(format!("{function}: {reason}")));
                }
                Verdict::Pass => passed.push(function),
                Verdict::Inconclusive => {}
            }
        }
        Ok(passed)
    }

    /// `wait D until healthy`.
    async fn bake(&mut self, duration: Millis, health: &HealthSpec) -> Result<(), Stop> {
        self.emit(EventKind::Waiting {
            duration_ms: duration,
            judged: true,
        });
        self.judge_for(duration, health, true).await
    }

    /// Judges health every interval for `duration`. Any failing evaluation stops at once; when
    /// `decide`, the end needs a passing latest conclusive evaluation of every target (or the
    /// inconclusive policy).
    async fn judge_for(
        &mut self,
        duration: Millis,
        health: &HealthSpec,
        decide: bool,
    ) -> Result<(), Stop> {
        let mut waited = Millis(0);
        let mut latest: BTreeMap<String, Verdict> = BTreeMap::new();
        while waited < duration {
            let pause = Millis(health.every.0.min(duration.0 - waited.0));
            self.clock.sleep(pause).await;
            if self.clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            self.beat().await?;
            waited = Millis(waited.0 + pause.0);
            for function in self.judge_once(health).await? {
                latest.insert(function, Verdict::Pass);
            }
        }
        if !decide {
            return Ok(());
        }
        let unjudged: Vec<String> = self
            .targets
            .iter()
            .filter(|t| t.active && !latest.contains_key(&t.function))
            .map(|t| t.function.clone())
            .collect();
        if unjudged.is_empty() {
            self.emit(EventKind::BakePassed {
                reason: format!("healthy for {duration}"),
            });
            return Ok(());
        }
        match health.inconclusive {
            Inconclusive::Pass => {
                self.emit(EventKind::BakePassed {
                    reason: format!(
                        "no conclusive evaluation of {} and `inconclusive pass`",
                        unjudged.join(", ")
                    ),
                });
                Ok(())
            }
            Inconclusive::Fail => {
                self.detected = Some(self.clock.now());
                self.inconclusive = true;
                Err(Stop::Fail(format!(
                    "no conclusive evaluation of {} in {duration} (too few invocations or no data) and `inconclusive fail`",
                    unjudged.join(", ")
                )))
            }
        }
    }
}

fn cloud(error: CloudError) -> Stop {
    match error {
        CloudError::Conflict(message) => Stop::Conflict(message),
        other => Stop::Cloud(other.to_string()),
    }
}

/// One sentence for the end of a rollout.
pub fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Promoted => "promoted: new serves all traffic".to_string(),
        Outcome::NothingToRollOut => {
            "nothing to roll out: publish returned the version the alias already serves; nothing was changed".to_string()
        }
        Outcome::LeftSplit => "the plan ended without promote or rollback; traffic stays as the plan left it".to_string(),
        Outcome::RolledBack { step, reason } => format!("rolled back at step {step}: {reason}; old serves all traffic"),
        Outcome::Refused { reason } => format!("refused: {reason}"),
        Outcome::Interrupted { reason } => format!("interrupted: {reason}"),
        Outcome::Conflict { reason } => format!("conflict: {reason}"),
        Outcome::Failed { reason } => format!("failed: {reason}"),
    }
}

#[cfg(test)]
mod tests;

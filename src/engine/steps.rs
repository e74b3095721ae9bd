//! The steps in order, and what each one does. Every step starts with its mark in the lease and
//! ends either in the next step or in a [`Stop`] that [`Engine::settle`] turns into the outcome.

use std::collections::BTreeMap;

use super::events::EventKind;
use super::outcome::Outcome;
use super::reasons::Cause;
use super::stop::{Stop, WriteError};
use super::Engine;
use crate::cloud::{Clock, LambdaApi, MetricsApi};
use crate::plan::{HealthSpec, Millis, Percent, Plan, StepKind};

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// Admits the targets, then runs the steps (from the one a resumed rollout reached).
    pub(super) async fn execute(&mut self, plan: &Plan) -> Outcome {
        let resume_at = match self.admit_all(plan).await {
            Ok(resume_at) => resume_at,
            Err(outcome) => return outcome,
        };
        let from = resume_at.map_or(0, |at| at.step.max(1) - 1);
        // Past the step that chose `new`, a target without one had nothing new to roll out.
        let chooses = plan.steps.iter().position(|s| {
            matches!(
                s.kind,
                StepKind::Publish { .. } | StepKind::UseVersion { .. }
            )
        });
        if chooses.is_some_and(|chooses| from > chooses) {
            for t in &mut self.progress.targets {
                t.active = t.new.is_some();
            }
        }
        if let Some(at) = resume_at {
            self.progress.first_traffic = self.traffic_on_new().then(|| self.now());
            self.emit(EventKind::Resumed { step: at.step });
        }
        let mut index = from;
        while let Some(step) = plan.steps.get(index) {
            let number = index + 1;
            self.emit(EventKind::StepStarted {
                step: number,
                text: step.kind.to_string(),
            });
            self.progress.step = number;
            self.progress.step_started = self.services.clock.unix();
            let result = if self.services.clock.interrupted() {
                Err(Stop::Interrupted)
            } else {
                self.mark(&step.kind).await;
                match resume_at.filter(|_| index == from) {
                    Some(at) => self.resume_step(&step.kind, &plan.health, at.started).await,
                    None => self.step(&step.kind, &plan.health).await,
                }
            };
            let stop = match result {
                Ok(()) if self.services.clock.interrupted() => Stop::Interrupted,
                Ok(()) => {
                    index = self.next_step(plan, index);
                    continue;
                }
                Err(stop) => stop,
            };
            return self.settle(number, stop).await;
        }
        Outcome::LeftSplit
    }

    /// The step after `index`: the next one, or after `rollout promote --full` the next
    /// `promote` (when there is none, the next step, with a word).
    fn next_step(&mut self, plan: &Plan, index: usize) -> usize {
        if !std::mem::take(&mut self.lease.control.to_promote) {
            return index + 1;
        }
        let promote = plan.steps[index + 1..]
            .iter()
            .position(|s| matches!(s.kind, StepKind::Promote));
        match promote {
            Some(at) => index + 1 + at,
            None => {
                self.emit(EventKind::PromoteIgnored {
                    by: "`rollout promote --full`".to_string(),
                    reason: "no `promote` step follows: the steps go on in order".to_string(),
                });
                index + 1
            }
        }
    }

    /// Does what one step says.
    pub(super) async fn step(&mut self, step: &StepKind, health: &HealthSpec) -> Result<(), Stop> {
        match step {
            StepKind::UpdateCode { zip } => self.update_code(&zip.path).await,
            StepKind::Publish { description } => self.publish(description.as_deref()).await,
            StepKind::UseVersion { version } => self.use_version(*version).await,
            StepKind::Shift { weight } => {
                self.hold_while_paused(health).await?;
                self.shift(*weight).await
            }
            StepKind::Ramp {
                increments, every, ..
            } => self.ramp(increments, *every, health).await,
            StepKind::Wait { duration } => self.wait(*duration).await,
            StepKind::Bake { duration, shortest } => self.bake(*duration, *shortest, health).await,
            StepKind::Approve { message } => self.approve(message.as_deref(), health).await,
            StepKind::Run { script } => {
                for i in 0..self.progress.targets.len() {
                    if !self.progress.targets[i].active {
                        continue;
                    }
                    let verdict = self.run_hook(script, i).await;
                    if !verdict.healthy() {
                        return Err(Stop::fail(Cause::Hook {
                            script: script.name.clone(),
                            verdict,
                        }));
                    }
                }
                Ok(())
            }
            StepKind::Promote => {
                self.hold_while_paused(health).await?;
                // A watch that follows keeps the lease: the rollout is not over.
                self.lease.holding = self.settings.keep || self.playbook.watch;
                self.move_traffic(|t| {
                    let new = t.new.clone().expect("checked: promote after a version");
                    (new, BTreeMap::new())
                })
                .await?;
                if self.settings.keep {
                    self.hold_inactive().await?;
                }
                if self.playbook.watch {
                    return Ok(());
                }
                self.promoted().await
            }
            StepKind::Watch { duration } => {
                self.watch_promoted(*duration, health, None).await?;
                self.promoted().await
            }
            StepKind::Rollback => {
                self.restore_old().await?;
                Err(Stop::PlannedRollback)
            }
        }
    }

    /// The end of a promoted rollout (after its watch, if any): the `on success` hook, then the
    /// prune of `keep N versions`.
    pub(super) async fn promoted(&mut self) -> Result<(), Stop> {
        if let Some(script) = self.playbook.on_success.clone() {
            // Reported, never undone: `new` already serves everything.
            self.run_hook(&script, 0).await;
        }
        // A wave's lease is kept until the last wave: nothing is deleted meanwhile.
        if !self.settings.keep {
            self.prune().await;
        }
        Err(Stop::Promoted)
    }

    /// `ramp to P by S every D`, from the weights in `increments`: each shift (held while
    /// paused) and its bake; `rollout promote --full` leaves the rest out.
    pub(super) async fn ramp(
        &mut self,
        increments: &[Percent],
        every: Millis,
        health: &HealthSpec,
    ) -> Result<(), Stop> {
        for weight in increments {
            if self.lease.control.to_promote {
                break;
            }
            self.hold_while_paused(health).await?;
            self.shift(*weight).await?;
            self.bake(every, None, health).await?;
        }
        Ok(())
    }

    /// `wait D`: in pieces no longer than the heartbeat (and the reading of what people ask),
    /// renewing the lease between them; paused, its clock stops; `rollout promote` ends it.
    pub(super) async fn wait(&mut self, duration: Millis) -> Result<(), Stop> {
        self.emit(EventKind::Waiting {
            duration_ms: duration,
            judged: false,
            traffic_ms: None,
            shortest_ms: None,
            delay_ms: None,
        });
        let began = self.services.clock.unix();
        let mut left = duration.0;
        while left > 0 {
            let mut piece = left.min(self.settings.heartbeat.0.max(1));
            if let Some(every) = self.settings.control {
                piece = piece.min(every.0.max(1));
            }
            self.services.clock.sleep(Millis(piece)).await;
            if self.services.clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            self.poll_control().await?;
            if self.take_skip(began).is_some() {
                self.hold_all().await?;
                break;
            }
            // Paused: the wait's clock stops.
            if !self.paused() {
                left -= piece;
            }
            self.beat().await?;
        }
        Ok(())
    }

    /// Runs `on failure` (whose own failure never stops the rollback), then restores `old`.
    pub(super) async fn roll_back(&mut self, reason: &str) -> Result<(), WriteError> {
        if let Some(script) = self.playbook.on_failure.clone() {
            if !self.progress.targets.is_empty() {
                self.run_hook(&script, self.progress.failed_target).await;
            }
        }
        self.emit(EventKind::RollingBack {
            reason: reason.to_string(),
        });
        self.restore_old().await
    }
}

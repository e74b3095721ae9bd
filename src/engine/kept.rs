//! The promoted waves of a waved rollout. Their aliases keep the lease, at the last step, until
//! the last wave passes: any machine can then tell from the aliases alone how far the rollout
//! got. Meanwhile they are watched between waves, and at the end released, or restored to
//! `old` when a later wave fails and the playbook rolls back every wave.

use std::cell::Cell;
use std::rc::Rc;

use tokio::sync::Notify;

use super::events::EventKind;
use super::outcome::Outcome;
use super::reasons::{Cause, Conflict, Refusal};
use super::stop::Stop;
use super::{Engine, Playbook, Report};
use crate::cloud::{Clock, LambdaApi, MetricsApi};
use crate::plan::{Check, Expr, HealthSpec, Millis, Plan, Which};

/// What to do with aliases a waved rollout promoted and still holds.
#[derive(Debug, Clone)]
pub enum Kept {
    /// Keep them for this long, renewing the lease; `healthy`: judging them meanwhile, so that a
    /// failure restores `old` on them.
    Watch {
        /// How long.
        duration: Millis,
        /// Whether they are judged.
        healthy: bool,
    },
    /// Keep them, renewing the lease, until the wave that runs meanwhile ends.
    Hold(Rc<Until>),
    /// Put `old` back: a later wave failed and the playbook rolls back every wave.
    Restore {
        /// The wave that failed.
        wave: String,
    },
    /// Clear the lease: the last wave passed, or a later one failed and these keep `new`.
    Release,
}

/// The end of what runs while promoted waves are held.
#[derive(Debug, Default)]
pub struct Until {
    done: Cell<bool>,
    notify: Notify,
}

impl Until {
    /// Ends every hold that waits for it.
    pub fn end(&self) {
        self.done.set(true);
        self.notify.notify_waiters();
    }
}

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// Does `what` with the aliases of `plan` that this rollout promoted and holds. The outcome
    /// is `Promoted` while `new` still serves them (their lease kept, unless released), else how
    /// they ended.
    pub async fn kept(mut self, plan: &Plan, what: Kept) -> Report {
        self.settings.resume = true;
        self.settings.keep = true;
        self.lease.kept = true;
        self.progress.start = self.now();
        self.playbook = Playbook::of(plan);
        // The lease it takes again stays at the last step.
        self.progress.step = self.playbook.steps;
        let outcome = match self.admit_kept(plan).await {
            Ok(()) => self.on_kept(plan, what).await,
            Err(outcome) => outcome,
        };
        self.report(outcome)
    }

    /// Reads every alias that carries this rollout's lease and, when each is as its promoted
    /// wave left it, takes the lease again. When one is not (someone changed it, or its lease is
    /// at an earlier step), nothing of it is written, and the lease is cleared on the others,
    /// which are then no longer this rollout's to keep. A target for which `publish` found
    /// nothing new serves `old` and is not judged.
    async fn admit_kept(&mut self, plan: &Plan) -> Result<(), Outcome> {
        let steps = self.playbook.steps;
        self.admit_targets(plan).await?;
        for t in &mut self.progress.targets {
            t.active = t.new.is_some();
        }
        let step = |t: &super::Target| {
            crate::cloud::lease::Marker::parse(&t.current.description)
                .1
                .map_or(0, |m| m.step)
        };
        let as_left = |t: &super::Target| {
            step(t) == steps
                && t.current.routing.is_empty()
                && t.current.version == *t.new.as_ref().unwrap_or(&t.old)
        };
        let Some(i) = self.progress.targets.iter().position(|t| !as_left(t)) else {
            return self.take_lease().await;
        };
        let t = self.progress.targets.remove(i);
        let refused = if step(&t) < steps {
            Outcome::Refused(Refusal::NotPromoted {
                function: t.function.clone(),
                alias: t.alias.clone(),
                step: step(&t),
                steps,
            })
        } else {
            let marker = crate::cloud::lease::Marker::parse(&t.current.description).1;
            Outcome::Conflict(Conflict::NotAsLeft {
                function: t.function.clone(),
                alias: t.alias.clone(),
                serves: t.current.clone(),
                marker: Box::new(marker.expect("admitted on its lease")),
            })
        };
        self.progress.targets.retain(as_left);
        Err(match self.release().await {
            Ok(()) => refused,
            Err(error) => self.rollback_failed(error),
        })
    }

    async fn on_kept(&mut self, plan: &Plan, what: Kept) -> Outcome {
        let steps = self.playbook.steps;
        let releases = matches!(what, Kept::Release);
        let result = match what {
            Kept::Watch { duration, healthy } => {
                self.emit(EventKind::Watching {
                    duration_ms: duration,
                    judged: healthy,
                    left_out: left_out(&plan.health),
                });
                let watched = if healthy && self.progress.targets.iter().any(|t| t.active) {
                    self.bake(duration, None, &alone(&plan.health)).await
                } else {
                    self.wait(duration).await
                };
                match watched {
                    Ok(()) if self.services.clock.interrupted() => Err(Stop::Interrupted),
                    other => other,
                }
            }
            Kept::Hold(until) => self.hold_until(&until).await,
            Kept::Restore { wave } => Err(Stop::fail(Cause::LaterWave { wave })),
            Kept::Release => Ok(()),
        };
        let outcome = match result {
            // Still promoted, the lease kept.
            Ok(()) if !releases => return Outcome::Promoted,
            Ok(()) => Outcome::Promoted,
            // Stopped by a person while kept: what becomes of them is the waves' policy.
            Err(Stop::Interrupted) => {
                return Outcome::Interrupted {
                    step: steps,
                    aliases: self.aliases(),
                }
            }
            Err(stop) => match self.settle(steps, stop).await {
                conflict @ Outcome::Conflict(_) => return conflict,
                outcome => outcome,
            },
        };
        // Released, or restored: no lease is left on any of them (one for which `publish`
        // found nothing still carries it).
        match self.release().await {
            Ok(()) => outcome,
            Err(error) => self.rollback_failed(error),
        }
    }

    /// Renews the lease, as a wait does, until `until` ends or a person stops the rollout.
    async fn hold_until(&mut self, until: &Until) -> Result<(), Stop> {
        let clock = self.services.clock;
        loop {
            if until.done.get() {
                return Ok(());
            }
            tokio::select! {
                _ = clock.sleep(self.settings.heartbeat) => {}
                _ = until.notify.notified() => {}
            }
            if clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            if !until.done.get() {
                self.beat().await?;
            }
        }
    }
}

/// Whether `check` reads `old`.
fn reads_old(check: &Check) -> bool {
    fn of_old(expr: &Expr) -> bool {
        match expr {
            Expr::Metric { of, .. } => *of == Which::Old,
            Expr::Const { .. } => false,
            Expr::Binary { lhs, rhs, .. } => of_old(lhs) || of_old(rhs),
        }
    }
    match check {
        Check::Compare { lhs, rhs, .. } => of_old(lhs) || of_old(rhs),
        Check::Alarm { .. } | Check::Script { .. } => false,
        // New error signatures are those `old` did not log over the same time.
        Check::Signatures(_) => true,
    }
}

/// The checks a watch of promoted aliases leaves out, as written: those comparing with `old`,
/// which serves nothing there any more.
fn left_out(health: &HealthSpec) -> Vec<String> {
    health
        .checks
        .iter()
        .filter(|c| reads_old(c))
        .map(ToString::to_string)
        .collect()
}

/// `health` without the checks that read `old`.
fn alone(health: &HealthSpec) -> HealthSpec {
    HealthSpec {
        checks: health
            .checks
            .iter()
            .filter(|c| !reads_old(c))
            .cloned()
            .collect(),
        ..health.clone()
    }
}

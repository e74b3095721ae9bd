//! The promoted waves of a waved rollout. Their aliases keep the lease, at the last step, until
//! the last wave passes: any machine can then tell from the aliases alone how far the rollout
//! got. Meanwhile they are watched between waves, and at the end released, or restored to
//! `old` when a later wave fails and the playbook rolls back every wave.

use super::events::EventKind;
use super::outcome::Outcome;
use super::reasons::{Cause, Refusal};
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
    /// Put `old` back: a later wave failed and the playbook rolls back every wave.
    Restore {
        /// The wave that failed.
        wave: String,
    },
    /// Clear the lease: the last wave passed, or a later one failed and these keep `new`.
    Release,
}

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// Does `what` with the aliases of `plan` that this rollout promoted and holds. The outcome
    /// is `Promoted` while `new` still serves them, else how they ended.
    pub async fn kept(mut self, plan: &Plan, what: Kept) -> Report {
        self.settings.resume = true;
        self.settings.keep = true;
        self.progress.start = self.now();
        self.playbook = Playbook::of(plan);
        // The lease it takes again stays at the last step.
        self.progress.step = self.playbook.steps;
        let outcome = self.on_kept(plan, what).await;
        self.report(outcome)
    }

    async fn on_kept(&mut self, plan: &Plan, what: Kept) -> Outcome {
        let steps = self.playbook.steps;
        match self.admit_all(plan).await {
            Err(outcome) => return outcome,
            Ok(at) => {
                let reached = at.map_or(0, |at| at.step);
                if let Some(t) = self
                    .progress
                    .targets
                    .iter()
                    .find(|t| reached < steps || t.new.as_ref() != Some(&t.current.version))
                {
                    return Outcome::Refused(Refusal::NotPromoted {
                        function: t.function.clone(),
                        alias: t.alias.clone(),
                        step: reached,
                        steps,
                    });
                }
            }
        }
        let result = match what {
            Kept::Watch { duration, healthy } => {
                self.emit(EventKind::Watching {
                    duration_ms: duration,
                    judged: healthy,
                    left_out: left_out(&plan.health),
                });
                let watched = if healthy {
                    self.bake(duration, None, &alone(&plan.health)).await
                } else {
                    self.wait(duration).await
                };
                match watched {
                    Ok(()) if self.services.clock.interrupted() => Err(Stop::Interrupted),
                    other => other,
                }
            }
            Kept::Restore { wave } => Err(Stop::fail(Cause::LaterWave { wave })),
            Kept::Release => match self.release().await {
                Ok(()) => Ok(()),
                Err(error) => return self.rollback_failed(error),
            },
        };
        match result {
            Ok(()) => Outcome::Promoted,
            // Stopped by a person while kept: what becomes of them is the waves' policy.
            Err(Stop::Interrupted) => Outcome::Interrupted {
                step: steps,
                aliases: self.aliases(),
            },
            Err(stop) => self.settle(steps, stop).await,
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

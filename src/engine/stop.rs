//! Why a step stopped the rollout, and how each stop ends it: a failure rolls back, a conflict
//! overwrites nothing, an AWS fault rolls back and says so, and a few steps end the rollout on
//! purpose.

use super::events::EventKind;
use super::outcome::Outcome;
use super::reasons::{Cause, Change, Conflict, Fault, Refusal, Served, Trouble};
use super::Engine;
use crate::cloud::{Clock, CloudError, LambdaApi, MetricsApi};

/// Why the steps stopped.
#[derive(Debug)]
pub(super) enum Stop {
    /// Unhealthy, a hook said no, or a step could not do its work: roll back.
    Fail(Box<Cause>),
    /// Someone else changed an alias: stop, overwrite nothing.
    Conflict(Box<Change>),
    /// AWS failed: roll back if possible, then report.
    Cloud(Fault),
    /// Something Lambda would reject, found before it was tried: nothing changes.
    Refuse(Box<Refusal>),
    /// `publish` found nothing new for any function.
    NothingToRollOut,
    /// `promote` is done.
    Promoted,
    /// The playbook's `rollback` step restored `old`.
    PlannedRollback,
    /// A person asked to stop: roll back.
    Interrupted,
}

impl Stop {
    /// Roll back, for this cause.
    pub(super) fn fail(cause: Cause) -> Stop {
        Stop::Fail(Box::new(cause))
    }

    /// Stop without overwriting anything: someone else made this change.
    pub(super) fn conflict(change: Change) -> Stop {
        Stop::Conflict(Box::new(change))
    }

    /// Change nothing: Lambda would reject what comes next.
    pub(super) fn refuse(refusal: Refusal) -> Stop {
        Stop::Refuse(Box::new(refusal))
    }
}

/// Why an alias write did not happen.
#[derive(Debug)]
pub(super) enum WriteError {
    /// Someone else changed the alias.
    Conflict(Change),
    /// AWS failed.
    Cloud(Fault),
    /// The lease marker does not fit beside the user's description.
    Refuse(Refusal),
    /// A person paused the rollout just before this write, which was to move traffic: it was
    /// not made, and the step holds before trying again.
    Paused,
}

impl From<WriteError> for Stop {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Conflict(change) => Stop::conflict(change),
            WriteError::Cloud(fault) => Stop::Cloud(fault),
            WriteError::Refuse(refusal) => Stop::refuse(refusal),
            // Only writes that move traffic meet it, and they hold and try again.
            WriteError::Paused => {
                Stop::conflict(Change::Service("paused while moving traffic".to_string()))
            }
        }
    }
}

/// A failed call other than an alias write: still busy after the retries means someone else's
/// change is in progress.
pub(super) fn cloud(error: CloudError) -> Stop {
    match error {
        CloudError::Busy(message) => Stop::conflict(Change::Service(message)),
        other => Stop::Cloud(Fault::Call(other)),
    }
}

/// [`cloud`], for a call about one target's `function`.
pub(super) fn cloud_on(function: &str, error: CloudError) -> Stop {
    match error {
        CloudError::Busy(message) => {
            Stop::conflict(Change::Service(format!("{function}: {message}")))
        }
        error => Stop::Cloud(Fault::On {
            function: function.to_string(),
            error,
        }),
    }
}

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// Ends the rollout at step `number` as `stop` says, rolling back where it must.
    pub(super) async fn settle(&mut self, number: usize, stop: Stop) -> Outcome {
        let rollback = match stop {
            Stop::Promoted => return Outcome::Promoted,
            Stop::NothingToRollOut => return Outcome::NothingToRollOut,
            Stop::Refuse(refusal) => return Outcome::Refused(*refusal),
            Stop::PlannedRollback => {
                return Outcome::RolledBack {
                    step: number,
                    cause: Cause::Planned,
                }
            }
            Stop::Conflict(change) => {
                self.step_failed(number, change.to_string());
                // Say what the aliases serve now that someone else changed one, not what this
                // run last wrote.
                self.read_aliases().await;
                return Outcome::Conflict(Conflict::InStep {
                    change: *change,
                    aliases: self.aliases(),
                });
            }
            Stop::Fail(cause) => Rollback::Failure(*cause),
            Stop::Interrupted => Rollback::Interrupted,
            Stop::Cloud(fault) => Rollback::Fault(fault),
        };
        let reason = match &rollback {
            Rollback::Failure(cause) => cause.to_string(),
            Rollback::Interrupted => self.services.clock.stop_reason(),
            Rollback::Fault(fault) => fault.to_string(),
        };
        self.step_failed(number, reason.clone());
        if let Err(error) = self.roll_back(&reason).await {
            return self.rollback_failed(error);
        }
        match rollback {
            Rollback::Failure(cause) => Outcome::RolledBack {
                step: number,
                cause,
            },
            Rollback::Interrupted => Outcome::Interrupted {
                step: number,
                aliases: self.aliases(),
            },
            Rollback::Fault(fault) => Outcome::Failed(Trouble::Restored {
                fault,
                aliases: self.aliases(),
            }),
        }
    }

    fn step_failed(&self, step: usize, reason: String) {
        self.emit(EventKind::StepFailed { step, reason });
    }

    /// How the rollout ends when restoring `old`, or writing the lease, failed.
    pub(super) fn rollback_failed(&self, error: WriteError) -> Outcome {
        match error {
            WriteError::Conflict(change) => Outcome::Conflict(Conflict::InRollback {
                change,
                aliases: self.aliases(),
            }),
            WriteError::Cloud(fault) => Outcome::Failed(Trouble::RollbackFailed {
                fault,
                aliases: self.aliases(),
            }),
            WriteError::Refuse(refusal) => Outcome::Refused(refusal),
            // Restoring `old` moves no traffic forward and is never held by a pause.
            WriteError::Paused => Outcome::Conflict(Conflict::InRollback {
                change: Change::Service("paused while restoring old".to_string()),
                aliases: self.aliases(),
            }),
        }
    }

    /// Reads every alias again; one that cannot be read keeps what was last known of it.
    async fn read_aliases(&mut self) {
        self.each(async |engine, t| {
            match engine
                .services
                .lambda
                .get_alias(&t.function, &t.alias)
                .await
            {
                Ok(now) => t.current = now,
                Err(CloudError::NotFound(_)) => t.gone = true,
                Err(_) => {}
            }
        })
        .await;
    }

    /// What every alias serves as far as the engine knows.
    pub(super) fn aliases(&self) -> Vec<Served> {
        self.progress
            .targets
            .iter()
            .map(|t| Served {
                function: t.function.clone(),
                alias: t.alias.clone(),
                gone: t.gone,
                serves: t.current.clone(),
                on_old: t.current.version == t.old && t.current.routing.is_empty(),
            })
            .collect()
    }
}

/// What a rollback undoes.
enum Rollback {
    Failure(Cause),
    Interrupted,
    Fault(Fault),
}

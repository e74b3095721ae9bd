//! The reasons an outcome carries: why a rollout rolled back, was refused, met a conflict or
//! failed, each with typed fields and one `Display` that writes the sentence people read.

use std::fmt;
use std::path::PathBuf;

use super::health::Evaluation;
pub use super::refusal::{Mismatch, Refusal};
use crate::cloud::lease::Marker;
use crate::cloud::{Alias, CloudError};
use crate::hooks::HookVerdict;
use crate::plan::Millis;

/// Why a rollout rolled back.
#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    /// An evaluation failed: a check was violated or an alarm fired.
    Unhealthy(Evaluation),
    /// A bake ended without a conclusive evaluation of these functions, and the health block
    /// says `inconclusive fail`.
    Inconclusive {
        /// The functions never judged conclusively.
        functions: Vec<String>,
        /// How long the bake was.
        duration: Millis,
        /// Why each function was not judged, in words.
        why: Vec<String>,
    },
    /// A period was held (`old` failing as much as a check allows) and the health block says
    /// `shared failure rollback`.
    SharedFailure(Evaluation),
    /// A bake was held longer than `shared failure hold up to D` allows: `old` failed as much
    /// as `new` for so long that the release could not be judged.
    HeldTooLong {
        /// How long it was held.
        held: Millis,
        /// The longest hold allowed.
        at_most: Millis,
    },
    /// Traffic was to move, or a bake ran, outside the deploy windows (or while a change
    /// calendar was closed), and the playbook says `outside window rollback`.
    OutsideWindow {
        /// Which window or calendar, and until when.
        why: String,
    },
    /// A `run` step's hook said no, failed or timed out.
    Hook {
        /// The hook as the playbook names it.
        script: String,
        /// What it said.
        verdict: HookVerdict,
    },
    /// The person at the terminal said no at an `approve` gate.
    ApprovalRefused,
    /// The zip of `update code` could not be read.
    ZipUnreadable {
        /// Where it was looked for.
        path: PathBuf,
        /// Why it could not be read.
        error: String,
    },
    /// The function, or a version of it, is in state `Failed`.
    FunctionFailed {
        /// The function, with the version when it is one.
        function: String,
    },
    /// The last update of `$LATEST` failed.
    UpdateFailed {
        /// The function.
        function: String,
        /// The service's reason.
        reason: String,
    },
    /// Lambda could not allocate the alias's provisioned concurrency for the new weights.
    AllocationFailed {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// The service's reason.
        reason: String,
    },
    /// `$LATEST` is not what the run read (or uploaded): someone else changed its code or
    /// configuration, and it is not published.
    LatestChanged {
        /// The function.
        function: String,
        /// What was found, in the service's words or as the code hashes.
        detail: String,
    },
    /// The playbook's own `rollback` step.
    Planned,
    /// A later wave of a waved rollout failed, and the playbook rolls back every wave.
    LaterWave {
        /// The wave that failed.
        wave: String,
    },
    /// The watch after `promote` failed for this cause: `old` was put back.
    Watch(Box<Cause>),
}

/// Why the rollout stopped with a conflict.
#[derive(Debug, Clone, PartialEq)]
pub enum Conflict {
    /// Another rollout holds the alias.
    Held {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// Its lease.
        marker: Box<Marker>,
        /// How long ago its last heartbeat was.
        age: Millis,
        /// When a lease counts as stale.
        stale_after: Millis,
        /// Whether `--take-over` was given (to `run`, which takes only a stale lease).
        take_over: bool,
    },
    /// A resumed rollout finds the alias other than its lease says it left it.
    NotAsLeft {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// What it serves.
        serves: Alias,
        /// The lease.
        marker: Box<Marker>,
    },
    /// Another rollout wrote the alias between our read and our taking the lease.
    LeaseTaken(Change),
    /// The alias changed while a step ran; the rollout stopped there.
    InStep {
        /// What happened.
        change: Change,
        /// What each alias serves now.
        aliases: Vec<Served>,
    },
    /// The alias changed while old was being restored; the rollback stopped there.
    InRollback {
        /// What happened.
        change: Change,
        /// What each alias serves now.
        aliases: Vec<Served>,
    },
}

/// A change someone else made.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Our write met a RevisionId that had changed since we read it.
    Written {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// The service's message.
        message: String,
    },
    /// The alias changed while an `approve` gate waited.
    AtGate {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// What it serves now.
        serves: Alias,
    },
    /// The alias changed while the rollout waited, other than by what a person asked of it.
    Waiting {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// What it serves now.
        serves: Alias,
    },
    /// The service reported a conflict on another call.
    Service(String),
}

/// What failed in AWS.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// A call failed beyond what retries could fix.
    Call(CloudError),
    /// A call about one target failed beyond what retries could fix.
    On {
        /// The target's function.
        function: String,
        /// What failed.
        error: CloudError,
    },
    /// A function update did not finish, or a version did not become `Active`, in time.
    StillUpdating {
        /// The function, with the version when it was one.
        function: String,
        /// How long it was waited for.
        after: Millis,
    },
}

/// Why a rollout failed for want of AWS.
#[derive(Debug, Clone, PartialEq)]
pub enum Trouble {
    /// The region's functions could not be listed to resolve a selection; nothing changed.
    Listing(CloudError),
    /// An alias could not be read before anything changed.
    Read {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// What failed.
        error: CloudError,
    },
    /// A step failed in AWS; `old` was restored. (Not [`super::Outcome::RolledBack`], which
    /// is a rollout judged or planned to go back, exit 1: this one is an AWS failure, exit 5.)
    Restored {
        /// What failed.
        fault: Fault,
        /// What each alias serves now.
        aliases: Vec<Served>,
    },
    /// Restoring `old` (or writing the lease) failed.
    RollbackFailed {
        /// What failed.
        fault: Fault,
        /// What each alias serves as far as the engine knows.
        aliases: Vec<Served>,
    },
}

/// What one alias serves, as the engine last read or wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    /// The function.
    pub function: String,
    /// The alias.
    pub alias: String,
    /// What it serves (as last known, when it is gone).
    pub serves: Alias,
    /// Lambda said it no longer exists: someone deleted it while the rollout ran.
    pub gone: bool,
    /// Whether it serves `old` alone.
    pub on_old: bool,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Unhealthy(evaluation) => {
                write!(f, "{}: {}", evaluation.function, evaluation.reason)
            }
            Cause::Inconclusive {
                functions,
                duration,
                why,
            } => write!(
                f,
                "no conclusive evaluation of {} in {duration} ({}) and `inconclusive fail`",
                functions.join(", "),
                why.join("; ")
            ),
            Cause::SharedFailure(evaluation) => write!(
                f,
                "{}: {} and `shared failure rollback`",
                evaluation.function,
                evaluation
                    .holding
                    .as_ref()
                    .map_or_else(|| "held".to_string(), ToString::to_string)
            ),
            Cause::HeldTooLong { held, at_most } => write!(
                f,
                "held {held} while old failed as much as new, longer than the {at_most} `shared failure hold up to` allows: the release could not be judged"
            ),
            Cause::OutsideWindow { why } => {
                write!(f, "{why}, and the playbook says `outside window rollback`")
            }
            Cause::Hook { script, verdict } => write!(f, "{script}: {verdict}"),
            Cause::ApprovalRefused => f.write_str("approval refused at the terminal"),
            Cause::ZipUnreadable { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            Cause::FunctionFailed { function } => {
                write!(f, "{function} is in state Failed: Lambda cannot run it")
            }
            Cause::UpdateFailed { function, reason } => {
                write!(f, "the last update of {function} failed: {reason}")
            }
            Cause::AllocationFailed {
                function,
                alias,
                reason,
            } => write!(
                f,
                "the provisioned concurrency of {function}:{alias} could not be allocated: {reason}"
            ),
            Cause::LatestChanged { function, detail } => write!(
                f,
                "$LATEST of {function} changed since the rollout read it ({detail}): another deploy? Nothing was published"
            ),
            Cause::Planned => f.write_str("the playbook rolls back here"),
            Cause::Watch(cause) => write!(f, "in the watch after promote, {cause}"),
            Cause::LaterWave { wave } => write!(
                f,
                "wave \"{wave}\" failed, and the playbook rolls back every wave"
            ),
        }
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::Held {
                function,
                alias,
                marker,
                age,
                stale_after,
                take_over,
            } => {
                write!(
                    f,
                    "{function}:{alias} is held by another rollout: {} running {:?}, at step {}/{} (old {}, new {}); ",
                    marker.holder,
                    marker.plan,
                    marker.step,
                    marker.steps,
                    marker.old,
                    marker.new.as_deref().unwrap_or("not yet chosen")
                )?;
                if marker.server_side() {
                    write!(
                        f,
                        "a Step Functions execution holds it while it runs; `rollout rollback --function {function} --alias {alias}` stops it and restores old"
                    )
                } else if age >= stale_after {
                    write!(
                        f,
                        "its last heartbeat was {age} ago: pass --take-over to take it over"
                    )
                } else if *take_over {
                    write!(
                        f,
                        "its last heartbeat was {age} ago, and `run --take-over` takes only a lease without a heartbeat for {stale_after}. If its runner is gone, `rollout resume FILE --take-over` continues its rollout, or `rollout rollback --function {function} --alias {alias}` restores old"
                    )
                } else {
                    write!(
                        f,
                        "its last heartbeat was {age} ago (stale after {stale_after}); if it is not running any more, wait, or pass --take-over"
                    )
                }
            }
            Conflict::NotAsLeft {
                function,
                alias,
                serves,
                marker,
            } => write!(
                f,
                "{function}:{alias} serves {serves}, which is not what the rollout left (old {}, new {}): someone changed it; nothing was overwritten",
                marker.old,
                marker.new.as_deref().unwrap_or("not yet chosen")
            ),
            Conflict::LeaseTaken(change) => write!(
                f,
                "{change}: another rollout took it first; nothing was overwritten"
            ),
            Conflict::InStep { change, aliases } => {
                write!(f, "{change}; nothing was overwritten. {}", Aliases(aliases))
            }
            Conflict::InRollback { change, aliases } => write!(
                f,
                "rollback stopped: {change}; nothing was overwritten. {}",
                Aliases(aliases)
            ),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Written {
                function,
                alias,
                message,
            } => write!(
                f,
                "{function}:{alias} was changed by someone else: {message}"
            ),
            Change::AtGate {
                function,
                alias,
                serves,
            } => write!(
                f,
                "{function}:{alias} changed while waiting for approval: it serves {serves}"
            ),
            Change::Waiting {
                function,
                alias,
                serves,
            } => write!(
                f,
                "{function}:{alias} changed while the rollout waited: it serves {serves}, and its lease is not ours or someone rewrote its description"
            ),
            Change::Service(message) => f.write_str(message),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Call(error) => error.fmt(f),
            Fault::On { function, error } => write!(f, "{function}: {error}"),
            Fault::StillUpdating { function, after } => {
                write!(f, "{function} was still updating after {after}")
            }
        }
    }
}

impl fmt::Display for Trouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trouble::Listing(error) => write!(
                f,
                "listing the region's functions: {error}; nothing was changed"
            ),
            Trouble::Read {
                function,
                alias,
                error,
            } => write!(
                f,
                "reading {function}:{alias}: {error}; nothing was changed"
            ),
            Trouble::Restored { fault, aliases } => {
                write!(f, "{fault}; rolled back: {}", Aliases(aliases))
            }
            Trouble::RollbackFailed { fault, aliases } => {
                write!(f, "rollback failed: {fault}. {}", Aliases(aliases))?;
                let Some(first) = aliases.first() else {
                    return Ok(());
                };
                let functions: String = aliases
                    .iter()
                    .map(|a| format!(" --function {}", a.function))
                    .collect();
                let when = match fault {
                    Fault::Call(CloudError::Credentials(_))
                    | Fault::On {
                        error: CloudError::Credentials(_),
                        ..
                    } => ", once the credentials are fresh",
                    _ => "",
                };
                write!(
                    f,
                    ". To restore old{when}: rollout rollback{functions} --alias {}",
                    first.alias
                )
            }
        }
    }
}

impl fmt::Display for Served {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.gone {
            return write!(
                f,
                "{}:{} no longer exists (deleted while the rollout ran)",
                self.function, self.alias
            );
        }
        write!(f, "{}:{} serves {}", self.function, self.alias, self.serves)
    }
}

/// Every alias's state, `; `-separated.
pub(super) struct Aliases<'a>(pub(super) &'a [Served]);

impl fmt::Display for Aliases<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, served) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            served.fmt(f)?;
        }
        Ok(())
    }
}

//! The reasons an outcome carries: why a rollout rolled back, was refused, met a conflict or
//! failed, each with typed fields and one `Display` that writes the sentence people read.

use std::fmt;
use std::path::PathBuf;

use super::health::Evaluation;
use crate::cloud::lease::{Marker, DESCRIPTION_LIMIT};
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
}

/// Why the engine would not start, or stopped before changing anything.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Neither the playbook nor the command line names an alias.
    NoAlias,
    /// Neither the playbook nor the command line names a function.
    NoFunction,
    /// A pattern or tag selection matches no function of the region.
    NoMatch(String),
    /// The function or the alias does not exist.
    Unreadable {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// The service's message.
        message: String,
    },
    /// The alias already routes to two versions.
    Split {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// The additional version.
        version: String,
        /// Its weight in [0, 1).
        weight: f64,
        /// Whether an interrupted rollout (a lease) left it so, rather than someone by hand.
        by_rollout: bool,
    },
    /// `resume`, but no rollout holds the alias.
    NothingToResume {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
    },
    /// `resume` with a playbook other than the one that started the rollout.
    OtherPlaybook {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// The name of the playbook that holds the alias, as its lease says.
        plan: String,
        /// The number of steps of that playbook.
        held_steps: usize,
        /// Steps of the playbook given.
        steps: usize,
    },
    /// The lease names a playbook whose steps or health checks differ from this one's.
    ChangedPlaybook {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// The name of the playbook that holds the alias, as its lease says.
        plan: String,
        /// The fingerprint of that playbook.
        held: String,
        /// The fingerprint of the playbook given.
        given: String,
    },
    /// `use version N` names a version the function does not have.
    NoSuchVersion {
        /// The function.
        function: String,
        /// The version.
        version: String,
    },
    /// Alarms the health block checks do not exist.
    NoSuchAlarms {
        /// Their names.
        names: Vec<String>,
    },
    /// The alias serves `$LATEST`: Lambda routes weights only between published versions.
    OldIsLatest {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
    },
    /// `old` and what becomes `new` differ in a setting that Lambda requires to be the same on
    /// both versions of a weighted alias.
    Unlike(Box<Mismatch>),
    /// The alias's own description leaves no room for the lease marker.
    DescriptionTooLong {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// Characters in the user's description.
        length: usize,
    },
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
        marker: Marker,
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
        marker: Marker,
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

/// A setting in which `old` and what becomes `new` differ.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// The function.
    pub function: String,
    /// The setting: the execution role or the dead-letter target.
    pub setting: &'static str,
    /// `old`.
    pub old: String,
    /// Its value.
    pub old_value: String,
    /// What becomes `new`: a version, or `$LATEST` that `publish` will freeze.
    pub new: String,
    /// Its value.
    pub new_value: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Mismatch {
            function,
            setting,
            old,
            old_value,
            new,
            new_value,
        } = self;
        let new = if new == "$LATEST" {
            "$LATEST (what publish makes new)".to_string()
        } else {
            format!("version {new}")
        };
        write!(
            f,
            "{function}: the {setting} of version {old} is {old_value} but of {new} {new_value}; Lambda splits traffic only between versions with the same {setting}. Nothing was changed"
        )
    }
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
    /// A step failed in AWS; `old` was restored.
    RolledBack {
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
            } => write!(
                f,
                "no conclusive evaluation of {} in {duration} (too few invocations or no data) and `inconclusive fail`",
                functions.join(", ")
            ),
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
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoAlias => f.write_str(
                "no alias to act on: add `alias \"NAME\"` to the playbook or pass --alias",
            ),
            Refusal::NoFunction => f.write_str(
                "no function to act on: add `function \"NAME\"` to the playbook or pass --function",
            ),
            Refusal::NoMatch(why) => write!(
                f,
                "{why}: check the pattern or tag, and the region (`region` or --region)"
            ),
            Refusal::Unreadable {
                function,
                alias,
                message,
            } => write!(
                f,
                "{function}:{alias} cannot be read: {message}; check the function and alias names and the region"
            ),
            Refusal::Split {
                function,
                alias,
                version,
                weight,
                by_rollout,
            } => {
                let restore = format!("`rollout rollback --function {function} --alias {alias}`");
                let what = if *by_rollout {
                    format!("an interrupted rollout left it so; finish it with `rollout resume`, or restore one version with {restore}")
                } else {
                    format!("someone split it by hand (no rollout holds it); restore one version with {restore}, then run again")
                };
                write!(
                    f,
                    "{function}:{alias} is split ({:.2}% on version {version}): {what}",
                    weight * 100.0
                )
            }
            Refusal::NothingToResume { function, alias } => {
                write!(f, "nothing to resume: no rollout holds {function}:{alias}")
            }
            Refusal::OtherPlaybook {
                function,
                alias,
                plan,
                held_steps,
                steps,
            } => write!(
                f,
                "{function}:{alias} is held by a rollout of {held_steps} steps ({plan:?}), and this playbook has {steps}: resume with the playbook that started it"
            ),
            Refusal::ChangedPlaybook {
                function,
                alias,
                plan,
                held,
                given,
            } => write!(
                f,
                "{function}:{alias} is held by a rollout of {plan:?} whose steps and health checks differ from this playbook's (fingerprint {held}, this one {given}): continuing it could move traffic on evidence it never judged. Resume with the playbook and --set values that started it, or restore old with `rollout rollback --function {function} --alias {alias}`. Nothing was changed"
            ),
            Refusal::NoSuchVersion { function, version } => {
                write!(f, "{function} has no version {version}; nothing was changed")
            }
            Refusal::NoSuchAlarms { names } => write!(
                f,
                "no alarm named {}, metric or composite, in this account and region: check the names. Nothing was changed",
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Refusal::OldIsLatest { function, alias } => write!(
                f,
                "{function}:{alias} serves $LATEST, and Lambda splits traffic only between published versions: point the alias at a version first. Nothing was changed"
            ),
            Refusal::Unlike(mismatch) => mismatch.fmt(f),
            Refusal::DescriptionTooLong {
                function,
                alias,
                length,
            } => write!(
                f,
                "{function}:{alias} has a description of {length} characters; with the lease marker it would pass Lambda's {DESCRIPTION_LIMIT}. Shorten the description"
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
            Trouble::RolledBack { fault, aliases } => {
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

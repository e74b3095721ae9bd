//! Why the engine would not start, or stopped before changing anything: each refusal with
//! typed fields and the sentence people read.

use std::fmt;

use crate::cloud::lease::DESCRIPTION_LIMIT;

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
    /// A wave of a waved rollout that should have been promoted is held at an earlier step.
    NotPromoted {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// The step its lease reached.
        step: usize,
        /// The playbook's steps.
        steps: usize,
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
            Refusal::NotPromoted {
                function,
                alias,
                step,
                steps,
            } => write!(
                f,
                "{function}:{alias} is held at step {step}/{steps}, not promoted: resume the rollout (`rollout resume`) before it moves on"
            ),
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

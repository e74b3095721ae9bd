//! How a rollout ended, as data: each outcome carries its typed reason ([`super::reasons`]), one
//! `Display` writes the sentence people read, and one match maps it to the exit code.

use std::fmt;

use serde::ser::SerializeMap;
use serde::Serialize;

use super::reasons::{Aliases, Cause, Conflict, Refusal, Served, Trouble};
use crate::exit;
use crate::plan::Millis;

/// How a rollout ended.
#[derive(Debug, Clone, PartialEq)]
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
        cause: Cause,
    },
    /// The engine refused before changing any alias.
    Refused(Refusal),
    /// A person stopped the rollout (Ctrl-C); `old` serves all traffic again.
    Interrupted {
        /// The step it stopped at (1-based).
        step: usize,
        /// What each alias serves now.
        aliases: Vec<Served>,
    },
    /// Someone else changed an alias, or holds it; nothing was overwritten.
    Conflict(Conflict),
    /// AWS failed beyond what retries could fix.
    Failed(Trouble),
}

impl Outcome {
    /// The exit code of docs/language.md §8.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Promoted | Outcome::NothingToRollOut | Outcome::LeftSplit => exit::OK,
            Outcome::RolledBack { .. } => exit::ROLLED_BACK,
            Outcome::Refused(_) => exit::INVALID,
            Outcome::Interrupted { .. } => exit::INTERRUPTED,
            Outcome::Conflict(_) => exit::CONFLICT,
            // Permissions, credentials or region, found reading before any change.
            Outcome::Failed(Trouble::Read { error, .. }) if error.is_setup() => exit::INVALID,
            Outcome::Failed(_) => exit::INFRA,
        }
    }

    /// The outcome's name in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Promoted => "promoted",
            Outcome::NothingToRollOut => "nothing_to_roll_out",
            Outcome::LeftSplit => "left_split",
            Outcome::RolledBack { .. } => "rolled_back",
            Outcome::Refused(_) => "refused",
            Outcome::Interrupted { .. } => "interrupted",
            Outcome::Conflict(_) => "conflict",
            Outcome::Failed(_) => "failed",
        }
    }

    /// True when a bake rolled back for want of a conclusive evaluation rather than a failing one.
    pub fn inconclusive(&self) -> bool {
        matches!(
            self,
            Outcome::RolledBack {
                cause: Cause::Inconclusive { .. } | Cause::HeldTooLong { .. },
                ..
            }
        )
    }

    /// Why, in words, for the outcomes that have a reason.
    pub fn reason(&self) -> Option<String> {
        match self {
            Outcome::Promoted | Outcome::NothingToRollOut | Outcome::LeftSplit => None,
            Outcome::RolledBack { cause, .. } => Some(cause.to_string()),
            Outcome::Refused(refusal) => Some(refusal.to_string()),
            Outcome::Interrupted { step, aliases } if aliases.iter().all(|a| a.on_old) => {
                Some(format!(
                    "stopped at step {step}; old serves all traffic again: {}",
                    Aliases(aliases)
                ))
            }
            Outcome::Interrupted { step, aliases } => Some(format!(
                "stopped at step {step}; not every alias serves old: {}",
                Aliases(aliases)
            )),
            Outcome::Conflict(conflict) => Some(conflict.to_string()),
            Outcome::Failed(trouble) => Some(trouble.to_string()),
        }
    }
}

/// One sentence for the end of a rollout.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = self.reason().unwrap_or_default();
        match self {
            Outcome::Promoted => f.write_str("promoted: new serves all traffic"),
            Outcome::NothingToRollOut => f.write_str(
                "nothing to roll out: publish returned the version the alias already serves; nothing was changed",
            ),
            Outcome::LeftSplit => f.write_str(
                "the plan ended without promote or rollback; traffic stays as the plan left it",
            ),
            Outcome::RolledBack { step, .. } => {
                write!(f, "rolled back at step {step}: {reason}; old serves all traffic")
            }
            Outcome::Refused(_) => write!(f, "refused: {reason}"),
            Outcome::Interrupted { .. } => write!(f, "interrupted: {reason}"),
            Outcome::Conflict(_) => write!(f, "conflict: {reason}"),
            Outcome::Failed(_) => write!(f, "failed: {reason}"),
        }
    }
}

/// `{"outcome": "rolled_back", "step": 3, "reason": "…"}`: the name, the step where there is
/// one, and the reason in words.
impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("outcome", self.name())?;
        if let Outcome::RolledBack { step, .. } = self {
            map.serialize_entry("step", step)?;
        }
        if let Some(reason) = self.reason() {
            map.serialize_entry("reason", &reason)?;
        }
        map.end()
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
    /// How long bakes were held while `old` failed as much as `new` (ms).
    pub held_ms: u64,
}

impl Report {
    /// Time from the first traffic on `new` to the failing evaluation.
    pub fn time_to_detect(&self) -> Option<Millis> {
        Some(Millis(self.detected_ms? - self.first_traffic_ms?))
    }

    /// Time from the first traffic on `new` to the promotion, when it was promoted.
    pub fn time_to_promote(&self) -> Option<Millis> {
        let first = self.first_traffic_ms?;
        (self.outcome == Outcome::Promoted).then(|| Millis(self.ended_ms.saturating_sub(first)))
    }
}

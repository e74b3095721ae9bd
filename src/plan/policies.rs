//! What a bake does when it meets trouble other than a plain pass: a violation, and a period
//! `old` fails as much as `new` (a shared failure).

use serde::Serialize;

use super::Millis;

/// What a violated check does in a bake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Violation {
    /// Roll back (the default).
    Rollback,
    /// Pause with traffic where it is for a person to decide: `rollout resume` accepts the
    /// violation (the bake passes), `rollout rollback` restores `old`; after `at_most`
    /// without a decision it rolls back.
    Pause {
        /// The longest wait for a person.
        at_most: Millis,
    },
}

impl Violation {
    /// The default wait for a person: an hour.
    pub const DEFAULT_PAUSE: Millis = Millis(3_600_000);

    /// Whether a violation rolls back.
    pub fn is_rollback(&self) -> bool {
        *self == Violation::Rollback
    }
}

/// What a bake does in a period when `old` fails as much as a check allows `new`: a shared
/// failure (an outage of a dependency), not the release's doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SharedFailure {
    /// Hold: traffic stays, the bake's clock stops, health is still judged; for at most this
    /// long in all, after which the bake ends inconclusive.
    Hold {
        /// The longest hold.
        at_most: Millis,
    },
    /// Roll back, as for any failure.
    Rollback,
}

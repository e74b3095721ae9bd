//! The names of the states an exported definition has, as the follower of an execution reads
//! them back from its history (`run --on step-functions` tells it as a local run's events): the
//! one place that both writes and reads them.

use super::continuation::CONTINUED;
use super::judging::{SHARED, VIOLATED};
use super::RESTORE;

/// Where a bake whose alarm (or per-window check) is in `ALARM` fails.
pub(super) const UNHEALTHY: &str = "Unhealthy";
/// Where a bake that ended without enough evidence fails, under `inconclusive fail`.
pub(super) const INCONCLUSIVE: &str = "Inconclusive";
/// The end of an execution that promoted.
pub(super) const PROMOTED: &str = "Promoted";
/// The end of an execution whose functions had nothing new to publish.
pub(super) const NOTHING_NEW: &str = "Nothing new";

/// The state of step `n` that publishes target `t`'s `$LATEST`: with the RevisionId read, or
/// by its code alone (where Lambda reports no RevisionId).
pub(super) fn publish(n: usize, t: usize, by_code: bool) -> String {
    if by_code {
        format!("S{n} publish code f{t}")
    } else {
        format!("S{n} publish f{t}")
    }
}

/// What a state is to the follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Publishes a version: its result names it.
    Publish,
    /// A bake failed, for this reason.
    Failed(&'static str),
    /// The restore of `old` begins.
    Restore,
    /// The execution ends promoted.
    Promoted,
    /// The execution ends with nothing to roll out.
    NothingNew,
    /// The execution ends to continue in a fresh one.
    Continued,
    /// Anything else.
    Other,
}

/// A state's name read back: the step it belongs to (1-based), the target it acts on, and
/// what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// `S3 …`: a state of step 3.
    pub step: Option<usize>,
    /// `… f2`: a state acting on the third target.
    pub target: Option<usize>,
    /// What it is.
    pub kind: Kind,
}

impl State {
    /// What the state named `name` is.
    pub fn of(name: &str) -> State {
        let step = name
            .strip_prefix('S')
            .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<usize>().ok());
        let target = name
            .rsplit_once(" f")
            .and_then(|(_, t)| t.parse::<usize>().ok());
        let kind = match name {
            UNHEALTHY => Kind::Failed("an alarm of the health block is in ALARM"),
            VIOLATED => Kind::Failed("a count check of the health block was violated"),
            SHARED => Kind::Failed("old failed as much as a check allows new (a shared failure)"),
            INCONCLUSIVE => Kind::Failed(
                "the bake ended without enough evidence for a check (inconclusive fail)",
            ),
            RESTORE => Kind::Restore,
            PROMOTED => Kind::Promoted,
            NOTHING_NEW => Kind::NothingNew,
            CONTINUED => Kind::Continued,
            _ => match (step, target) {
                (Some(n), Some(t))
                    if name == publish(n, t, false) || name == publish(n, t, true) =>
                {
                    Kind::Publish
                }
                _ => Kind::Other,
            },
        };
        State { step, target, kind }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_name_reads_back_as_what_the_export_wrote() {
        assert_eq!(
            State::of(&publish(1, 2, false)),
            State {
                step: Some(1),
                target: Some(2),
                kind: Kind::Publish
            }
        );
        assert_eq!(State::of(&publish(3, 0, true)).kind, Kind::Publish);
        assert_eq!(
            State::of("S2 shift f1"),
            State {
                step: Some(2),
                target: Some(1),
                kind: Kind::Other
            }
        );
        assert_eq!(State::of(RESTORE).kind, Kind::Restore);
        assert_eq!(State::of(PROMOTED).kind, Kind::Promoted);
        assert_eq!(State::of(NOTHING_NEW).kind, Kind::NothingNew);
        assert_eq!(State::of(CONTINUED).kind, Kind::Continued);
        assert!(matches!(State::of(VIOLATED).kind, Kind::Failed(_)));
        assert!(matches!(State::of(UNHEALTHY).kind, Kind::Failed(_)));
        assert_eq!(
            State::of("Begin"),
            State {
                step: None,
                target: None,
                kind: Kind::Other
            }
        );
        // A step's other states that mention publishing are not the publishing call.
        assert_eq!(State::of("S1 published f0").kind, Kind::Other);
    }
}

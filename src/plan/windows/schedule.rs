//! When a rollout really runs, given its weekly windows: each step that moves traffic waits for
//! a window to open, and a bake's clock runs only while one is open. `plan` shows it; the engine
//! can ask the same question of the steps it has left.

use super::{Opening, Windows};
use crate::plan::Millis;

/// How long the schedule follows the windows: a rollout that does not end within a year of
/// them is not scheduled.
pub const SCHEDULE_LIMIT_MS: u64 = 366 * 86_400_000;

/// A piece of a rollout, as the windows see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// Moves traffic: starts only while a window is open, then takes this long (its calls),
    /// open or not.
    Move(Millis),
    /// A bake: `traffic` on its clock, which runs only while a window is open, then `settle`
    /// for the last of that traffic's metrics, open or not.
    Bake {
        /// The traffic judged.
        traffic: Millis,
        /// The metric delay after it.
        settle: Millis,
    },
    /// Anything else (publish, a plain wait, a hook): takes this long, open or not.
    Other(Millis),
}

/// When one leg runs (unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timed {
    /// When it really starts: a move once a window is open.
    pub starts_at: u64,
    /// When it ends.
    pub ends_at: u64,
    /// How long it waited for windows, before it started and (a bake) while its clock stood.
    pub waited: Millis,
    /// A bake that finds the windows closed before its clock has run out: the first instant
    /// it does. With `outside window rollback` the rollout rolls back there.
    pub interrupted_at: Option<u64>,
}

impl Windows {
    /// When each of `legs` runs, one after another from `start` (unix ms), as the weekly
    /// windows allow; `None` when they would not all end within [`SCHEDULE_LIMIT_MS`].
    /// Calendars are not known here: they can only delay it further.
    pub fn schedule(&self, start: u64, legs: &[Leg]) -> Option<Vec<Timed>> {
        let limit = start.saturating_add(SCHEDULE_LIMIT_MS);
        let mut at = start;
        let mut out = Vec::with_capacity(legs.len());
        for leg in legs {
            let timed = match *leg {
                Leg::Move(takes) => {
                    let starts_at = self.next_open(at, limit)?;
                    Timed {
                        starts_at,
                        ends_at: starts_at.saturating_add(takes.0),
                        waited: Millis(starts_at - at),
                        interrupted_at: None,
                    }
                }
                Leg::Bake { traffic, settle } => self.bake(at, traffic, settle, limit)?,
                Leg::Other(takes) => Timed {
                    starts_at: at,
                    ends_at: at.saturating_add(takes.0),
                    waited: Millis(0),
                    interrupted_at: None,
                },
            };
            if timed.ends_at > limit {
                return None;
            }
            at = timed.ends_at;
            out.push(timed);
        }
        Some(out)
    }

    /// The first instant from `at` when a window is open, if before `limit`.
    fn next_open(&self, at: u64, limit: u64) -> Option<u64> {
        match self.weekly_at(at) {
            Opening::Open { .. } => Some(at),
            Opening::Closed { opens_at } => (opens_at <= limit).then_some(opens_at),
        }
    }

    /// A bake from `at`: its clock runs while open, stands while closed.
    fn bake(&self, at: u64, traffic: Millis, settle: Millis, limit: u64) -> Option<Timed> {
        let mut now = at;
        let mut left = traffic.0;
        let mut waited = 0;
        let mut interrupted_at = None;
        while left > 0 {
            if now > limit {
                return None;
            }
            match self.weekly_at(now) {
                Opening::Open { closes_at } => {
                    let open_for = closes_at.map_or(u64::MAX, |c| c - now);
                    if open_for >= left {
                        now += left;
                        left = 0;
                    } else {
                        left -= open_for;
                        now += open_for;
                    }
                }
                Opening::Closed { opens_at } => {
                    if opens_at > limit {
                        return None;
                    }
                    interrupted_at.get_or_insert(now);
                    waited += opens_at - now;
                    now = opens_at;
                }
            }
        }
        Some(Timed {
            starts_at: at,
            ends_at: now.saturating_add(settle.0),
            waited: Millis(waited),
            interrupted_at,
        })
    }
}

//! The display of a fleet: with more than [`FLEET`] targets, the routine per-target events
//! (an alias read or moved, a version published, a healthy evaluation) are counted instead of
//! printed, one line per step and per evaluation round says the counts, and the status line
//! shows the step's progress with an estimate of what is left and the worst target's verdict.
//! Failures are always printed. JSON output is not affected: it keeps one event per target.

use std::collections::BTreeMap;

use crate::engine::events::{Event, EventKind};
use crate::engine::health::{Evaluation, Verdict};
use crate::plan::Millis;

/// Above this many targets, the display counts instead of listing.
pub(super) const FLEET: usize = 8;

/// What a fleet's targets did in the current step.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Targets of the rollout.
    targets: usize,
    /// When the step began (ms since the start).
    step_at: u64,
    /// Each routine action and how many targets did it in this step.
    done: BTreeMap<&'static str, usize>,
    /// Verdicts of the current evaluation round.
    verdicts: BTreeMap<&'static str, usize>,
    /// When the current round's evaluations came.
    round_at: Option<u64>,
    /// The worst evaluation of the current round.
    worst: Option<Evaluation>,
}

impl Tally {
    /// Whether the rollout is a fleet: counted rather than listed.
    pub(super) fn fleet(&self) -> bool {
        self.targets > FLEET
    }

    /// Takes in an event. Returns the lines to print before the event's own (summaries that
    /// the event closes), and whether the event itself was counted instead of printed.
    pub(super) fn absorb(&mut self, event: &Event) -> (Vec<String>, bool) {
        if let EventKind::Started { functions, .. } = &event.kind {
            self.targets = functions.len();
        }
        if !self.fleet() {
            return (Vec::new(), false);
        }
        let mut before = Vec::new();
        if let EventKind::HealthEvaluated(evaluation) = &event.kind {
            if self.round_at.is_some_and(|at| at != event.at_ms) {
                before.extend(self.round());
            }
            if evaluation.verdict == Verdict::Fail {
                return (before, false);
            }
            self.round_at = Some(event.at_ms);
            *self.verdicts.entry(word(evaluation.verdict)).or_default() += 1;
            if rank(evaluation) > self.worst.as_ref().map_or(0, rank) {
                self.worst = Some(evaluation.clone());
            }
            return (before, true);
        }
        let action = match &event.kind {
            EventKind::AliasRead { .. } => "read",
            EventKind::CodeUpdated { .. } => "code updated",
            EventKind::Published {
                unchanged: false, ..
            } => "published",
            EventKind::Published {
                unchanged: true, ..
            } => "unchanged",
            EventKind::VersionsChosen { .. } => "new chosen",
            EventKind::Provisioned { ready: false, .. } => "provisioned",
            EventKind::Provisioned { ready: true, .. } => "allocated",
            EventKind::AliasUpdated { before, after, .. }
                if before.version == after.version && before.routing == after.routing =>
            {
                "lease written"
            }
            EventKind::AliasUpdated { .. } => "shifted",
            EventKind::Hook { verdict, .. } if verdict.healthy() => "hooks passed",
            EventKind::StepStarted { .. } | EventKind::Finished { .. } => {
                before.extend(self.round());
                before.extend(self.step());
                self.step_at = event.at_ms;
                return (before, false);
            }
            EventKind::StepFailed { .. } | EventKind::RollingBack { .. } => {
                before.extend(self.round());
                before.extend(self.step());
                return (before, false);
            }
            _ => return (before, false),
        };
        *self.done.entry(action).or_default() += 1;
        (before, true)
    }

    /// The line closing an evaluation round, if one is open.
    fn round(&mut self) -> Option<String> {
        self.round_at.take()?;
        let counts = counts(&std::mem::take(&mut self.verdicts));
        let worst = self
            .worst
            .take()
            .filter(|w| w.verdict != Verdict::Pass)
            .map(|w| format!("; worst {}: {}", w.function, w.reason))
            .unwrap_or_default();
        Some(format!("  evaluated: {counts}{worst}"))
    }

    /// The line closing a step's actions, if any were counted.
    fn step(&mut self) -> Option<String> {
        if self.done.is_empty() {
            return None;
        }
        let done = std::mem::take(&mut self.done);
        Some(format!("  {} of {} targets", counts(&done), self.targets))
    }

    /// The step's progress for the status line: the action most targets have done so far, a
    /// bar, and the time left at the pace so far.
    pub(super) fn progress(&self, now_ms: u64) -> Option<String> {
        if !self.fleet() {
            return None;
        }
        let (action, done) = self
            .done
            .iter()
            .filter(|(a, _)| **a != "read")
            .max_by_key(|(_, n)| **n)
            .map(|(a, n)| (*a, *n))?;
        let share = done as f64 / self.targets as f64;
        let filled = ((share * 20.0).round() as usize).min(20);
        let spent = now_ms.saturating_sub(self.step_at);
        let left = if done > 0 && done < self.targets {
            let each = spent as f64 / done as f64;
            let ms = (each * (self.targets - done) as f64) as u64;
            format!(", about {} left", Millis(ms.div_ceil(1000) * 1000))
        } else {
            String::new()
        };
        Some(format!(
            "{action} {done}/{} [{}{}]{left}",
            self.targets,
            "=".repeat(filled),
            " ".repeat(20 - filled)
        ))
    }

    /// The verdicts of the round so far and the worst target's, for the status line.
    pub(super) fn verdicts(&self) -> Option<String> {
        if !self.fleet() || self.verdicts.is_empty() {
            return None;
        }
        let worst = self
            .worst
            .as_ref()
            .filter(|w| w.verdict != Verdict::Pass)
            .map(|w| format!(" | worst {}: {}", w.function, w.reason))
            .unwrap_or_default();
        Some(format!("{}{worst}", counts(&self.verdicts)))
    }
}

/// How bad an evaluation is: failed, then undecided, then passed.
fn rank(evaluation: &Evaluation) -> u8 {
    match evaluation.verdict {
        Verdict::Fail => 3,
        Verdict::Inconclusive => 2,
        Verdict::Pass => 1,
    }
}

fn word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "healthy",
        Verdict::Inconclusive => "undecided",
        Verdict::Fail => "unhealthy",
    }
}

/// `12 published, 3 unchanged`.
fn counts(counts: &BTreeMap<&'static str, usize>) -> String {
    let parts: Vec<String> = counts
        .iter()
        .map(|(what, n)| format!("{n} {what}"))
        .collect();
    parts.join(", ")
}

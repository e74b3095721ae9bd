//! When a rollout with windows really runs: each step's start in the windows' time zone, the
//! waits for a window to open, and the whole from a given instant (`plan --at`, default now).

use serde::Serialize;

use super::view::StepView;
use crate::plan::windows::{Leg, Outside, Windows, Zone};
use crate::plan::{Millis, StepKind};

/// The windows of a plan and when its steps run in them.
#[derive(Debug, Clone, Serialize)]
pub(super) struct WindowsView {
    /// The weekly windows, as a playbook writes them.
    pub(super) weekly: Vec<String>,
    /// The Change Calendars, read when the run starts.
    pub(super) calendars: Vec<String>,
    /// What the rollout does outside them.
    pub(super) outside: Outside,
    /// The instant the times are computed from (`--at`, or now), RFC 3339.
    pub(super) from: String,
    /// The zone the times are shown in: the first window's.
    pub(super) zone: Option<String>,
    /// Each step's real start, on the shortest path; empty when the windows leave the rollout
    /// no time within a year.
    pub(super) steps: Vec<StepRun>,
    /// When the rollout ends, RFC 3339, and how long it takes from `from`, waits included.
    pub(super) ends: Option<String>,
    /// The wall time from `from` to the end, waits for windows included.
    pub(super) wall_ms: Option<Millis>,
    /// How long the first step that moves traffic waits for a window to open.
    pub(super) first_wait_ms: Millis,
    /// When the first shift really happens, in the zone's words, when it waits.
    pub(super) first_shift: Option<String>,
    /// Steps whose bake a closing window interrupts (with `outside window rollback`, the
    /// rollout rolls back there).
    pub(super) interrupted: Vec<usize>,
}

/// One step's real start.
#[derive(Debug, Clone, Serialize)]
pub(super) struct StepRun {
    /// 1-based.
    pub(super) number: usize,
    /// RFC 3339, with the zone's offset.
    pub(super) runs_at: String,
    /// In the zone's words: `Mon 2026-12-07 09:00`.
    pub(super) local: String,
    /// How long it waited for windows.
    pub(super) waited_ms: Millis,
}

impl WindowsView {
    /// When `steps` (the preview's, with their shortest durations) run from `from` (unix ms),
    /// a bake's metrics settling `delay` after its traffic.
    pub(super) fn new(windows: &Windows, steps: &[StepView], delay: Millis, from: u64) -> Self {
        let utc = Zone::get("UTC").expect("the bundled database has UTC");
        let zone = windows.zone().unwrap_or(&utc);
        let mut legs = Vec::new();
        // The index in `legs` of each step's first leg.
        let mut firsts = Vec::new();
        for step in steps {
            firsts.push(legs.len());
            match &step.kind {
                StepKind::Shift { .. } | StepKind::Promote => legs.push(Leg::Move(step.min_ms)),
                StepKind::Bake { duration, shortest } => legs.push(Leg::Bake {
                    traffic: shortest.unwrap_or(*duration),
                    settle: delay,
                }),
                StepKind::Ramp {
                    increments, every, ..
                } => {
                    for _ in increments {
                        legs.push(Leg::Move(Millis(0)));
                        legs.push(Leg::Bake {
                            traffic: *every,
                            settle: delay,
                        });
                    }
                }
                _ => legs.push(Leg::Other(step.min_ms)),
            }
        }
        let timed = windows.schedule(from, &legs);
        let mut view = WindowsView {
            weekly: windows.weekly.iter().map(ToString::to_string).collect(),
            calendars: windows.calendars.clone(),
            outside: windows.outside,
            from: zone.rfc3339(from),
            zone: windows.zone().map(|z| z.name().to_string()),
            steps: Vec::new(),
            ends: None,
            wall_ms: None,
            first_wait_ms: Millis(0),
            first_shift: None,
            interrupted: Vec::new(),
        };
        let Some(timed) = timed else {
            return view;
        };
        for (i, step) in steps.iter().enumerate() {
            let end = firsts.get(i + 1).copied().unwrap_or(legs.len());
            let own = &timed[firsts[i]..end];
            let Some(first) = own.first() else {
                continue;
            };
            let waited: u64 = own.iter().map(|t| t.waited.0).sum();
            if own.iter().any(|t| t.interrupted_at.is_some()) {
                view.interrupted.push(step.number);
            }
            view.steps.push(StepRun {
                number: step.number,
                runs_at: zone.rfc3339(first.starts_at),
                local: zone.local(first.starts_at),
                waited_ms: Millis(waited),
            });
        }
        if let Some(moved) = legs
            .iter()
            .position(|l| matches!(l, Leg::Move(_)))
            .map(|i| timed[i])
        {
            view.first_wait_ms = moved.waited;
            if moved.waited.0 > 0 {
                view.first_shift = Some(format!("{} {}", zone.local(moved.starts_at), zone.name()));
            }
        }
        if let Some(last) = timed.last() {
            view.ends = Some(zone.rfc3339(last.ends_at));
            view.wall_ms = Some(Millis(last.ends_at - from));
        }
        view
    }
}

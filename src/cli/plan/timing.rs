//! How long each step of a preview takes, at the shortest and the longest.

use crate::engine::UPDATE_DEADLINE;
use crate::judge::settle::Settlement;
use crate::plan::{Millis, StepKind};

/// Shortest and longest time a step takes; `None` for no bound. A bake lasts until the traffic
/// it judges has settled: its duration and the metric delay, and up to a period more when it
/// starts within one. Steps act on all targets at once, at the pace of calls: `pace` is the
/// time one call per target takes at that pace. Hooks run one target after another. A bake
/// held while `old` fails as much as `new` lasts up to `hold` longer.
pub(super) fn step_duration(
    kind: &StepKind,
    functions: usize,
    pace: Millis,
    settlement: &Settlement,
    hold: Millis,
) -> (Millis, Option<Millis>) {
    let per_function = |d: Millis| Some(Millis(d.0 * functions as u64));
    // Calls per target: `publish` reads `$LATEST`, publishes and reads the new version, and
    // marks the lease; `update code` uploads, reads, and marks. Whole seconds: what a few
    // functions' calls take is lost in the rest.
    let paced = |calls: u64| Millis(pace.0 * calls / 1000 * 1000);
    let settled = |traffic: Millis| Millis(traffic.0 + settlement.delay.0);
    let aligned =
        |traffic: Millis| Millis(traffic.0 + settlement.delay.0 + settlement.period.0 + hold.0);
    match kind {
        StepKind::UpdateCode { .. } | StepKind::Publish { .. } => {
            (paced(3), Some(Millis(paced(4).0 + UPDATE_DEADLINE.0)))
        }
        StepKind::Wait { duration } => (*duration, Some(*duration)),
        // Nothing holds a watch: `old` serves nothing to fail beside `new`.
        StepKind::Watch { duration } => (
            settled(*duration),
            Some(Millis(settled(*duration).0 + settlement.period.0)),
        ),
        StepKind::Bake { duration, shortest } => (
            settled(shortest.unwrap_or(*duration)),
            Some(aligned(*duration)),
        ),
        StepKind::Ramp {
            increments, every, ..
        } => {
            let n = increments.len() as u64;
            (
                Millis(settled(*every).0 * n),
                Some(Millis(aligned(*every).0 * n)),
            )
        }
        StepKind::Approve { .. } => (Millis(0), None),
        StepKind::Run { script } => (Millis(0), per_function(script.timeout)),
        StepKind::UseVersion { .. }
        | StepKind::Shift { .. }
        | StepKind::Promote
        | StepKind::Rollback => (paced(1), Some(paced(2))),
    }
}

//! The window a replay may judge: two versions, wholly in the settled past, within what
//! CloudWatch keeps, at least one period long; and, once read, holding data at all. What fails
//! is invalid input (exit 2): a verdict without evidence would look like one with it.

use crate::engine::health::{Evaluation, Versions};
use crate::plan::{Millis, Plan};

/// How long CloudWatch keeps data of periods of a minute or more that a replay reads (it reads
/// one-minute periods): 15 days.
pub(super) const KEPT: Millis = Millis(15 * 86_400_000);

/// How long CloudWatch keeps high-resolution data (periods under a minute): 3 hours.
pub(super) const KEPT_FINE: Millis = Millis(3 * 3_600_000);

/// When a period has surely settled without `metrics delay`: a minute of ingestion plus
/// Lambda's longest timeout (15 minutes), since a replay does not read the function's own.
pub(super) const SETTLED_AFTER: Millis = Millis(16 * 60_000);

/// Why a window cannot be judged, in one sentence with what to do; `None` when it can.
pub(super) fn refuse(
    plan: &Plan,
    (old, new): (&str, &str),
    (from, to): (Millis, Millis),
    now: Millis,
    time: &dyn Fn(Millis) -> String,
) -> Option<String> {
    if old == new {
        return Some(format!(
            "--old and --new are both version {old}: a replay judges new against old, so name the version the alias served and the one rolled out"
        ));
    }
    if from >= to {
        return Some(format!(
            "--from {} is not before --to {}",
            time(from),
            time(to)
        ));
    }
    let period = plan.health.every.min(Millis::from_minutes(1));
    if to.0 - from.0 < period.0 {
        return Some(format!(
            "the window is {}, shorter than one period of metrics ({period}): there is nothing to judge; widen it",
            Millis(to.0 - from.0)
        ));
    }
    let settle = plan.health.delay.unwrap_or(SETTLED_AFTER);
    let settled = Millis(now.0.saturating_sub(settle.0));
    if to > settled {
        let delay = match plan.health.delay {
            Some(d) => format!("the playbook's `metrics delay` of {d}"),
            None => format!("{SETTLED_AFTER}: a minute of ingestion plus Lambda's longest timeout; `metrics delay` in the playbook sets it"),
        };
        return Some(format!(
            "--to {} is not in the settled past: CloudWatch may still be filling the periods after {} ({delay}); end the window by then",
            time(to),
            time(settled)
        ));
    }
    let kept = if period < Millis::from_minutes(1) {
        KEPT_FINE
    } else {
        KEPT
    };
    let oldest = Millis(now.0.saturating_sub(kept.0));
    if from < oldest {
        return Some(format!(
            "--from {} is older than CloudWatch keeps {period} periods ({kept}, so nothing before {}): start the window later",
            time(from),
            time(oldest)
        ));
    }
    None
}

/// Whether the evaluations read saw any invocation of `new`.
pub(super) fn new_invoked(evaluations: &[Evaluation]) -> bool {
    evaluations
        .iter()
        .any(|e| e.invocations.is_some_and(|n| n > 0.0))
}

/// Why the window proves nothing: `new`, or `old` that it is judged against, had no
/// invocations in it (`invoked` says, for `(old, new)`, whether each had any). Said of `new`
/// first: without it there is nothing to judge at all.
pub(super) fn no_data(
    invoked: (bool, bool),
    versions: &Versions<'_>,
    window: String,
) -> Option<String> {
    let Versions {
        function,
        alias,
        old,
        new,
    } = versions;
    let which = match invoked {
        (_, false) => format!("version {new}"),
        (false, true) => format!("version {old}, the old version new is judged against,"),
        (true, true) => return None,
    };
    Some(format!(
        "CloudWatch has no invocations of {which} of {function}:{alias} {window}: nothing to judge. Check the function, the alias, the versions, the region and the window (a function that does not exist has no metrics either)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::HealthSpec;

    fn plan(delay: Option<Millis>) -> Plan {
        Plan {
            name: None,
            targets: crate::plan::Targets {
                functions: vec!["f".into()],
                select: Vec::new(),
                alias: Some("live".into()),
                region: None,
            },
            params: Vec::new(),
            health: HealthSpec {
                delay,
                ..HealthSpec::default_spec()
            },
            on_failure: None,
            on_success: None,
            steps: Vec::new(),
            waves: None,
            windows: None,
            notify: Vec::new(),
            keep: None,
        }
    }

    #[test]
    fn only_a_settled_kept_window_of_two_versions_is_judged() {
        let day = 86_400_000;
        let now = Millis(100 * day);
        let time = |t: Millis| format!("{}m", t.0 / 60_000);
        let check = |plan: &Plan, old, new, from: u64, to: u64| {
            refuse(plan, (old, new), (Millis(from), Millis(to)), now, &time)
        };
        let p = plan(None);
        let hour = 3_600_000;
        assert_eq!(check(&p, "1", "2", now.0 - 2 * day, now.0 - day), None);
        let same = check(&p, "2", "2", now.0 - 2 * day, now.0 - day).unwrap();
        assert!(same.contains("both version 2"), "{same}");
        let future = check(&p, "1", "2", now.0 - hour, now.0 + hour).unwrap();
        assert!(future.contains("not in the settled past"), "{future}");
        let unsettled = check(&p, "1", "2", now.0 - hour, now.0 - 10 * 60_000).unwrap();
        assert!(unsettled.contains("16m"), "{unsettled}");
        // With a playbook's own short delay, ten minutes ago has settled.
        let quick = plan(Some(Millis::from_minutes(2)));
        assert_eq!(
            check(&quick, "1", "2", now.0 - hour, now.0 - 10 * 60_000),
            None
        );
        let ancient = check(&p, "1", "2", now.0 - 20 * day, now.0 - 19 * day).unwrap();
        assert!(ancient.contains("older than CloudWatch keeps"), "{ancient}");
        let short = check(&p, "1", "2", now.0 - day, now.0 - day + 1_000).unwrap();
        assert!(short.contains("shorter than one period"), "{short}");
    }

    #[test]
    fn periods_under_a_minute_are_kept_three_hours() {
        let now = Millis(100 * 86_400_000);
        let time = |t: Millis| format!("{}m", t.0 / 60_000);
        let hour = 3_600_000;
        let mut fine = plan(None);
        fine.health.every = Millis(10_000);
        let check = |plan: &Plan, from: u64| {
            refuse(
                plan,
                ("1", "2"),
                (Millis(now.0 - from), Millis(now.0 - hour)),
                now,
                &time,
            )
        };
        assert_eq!(check(&fine, 2 * hour), None);
        assert_eq!(check(&fine, 3 * hour), None, "exactly as old as kept");
        let old = check(&fine, 3 * hour + 60_000).unwrap();
        assert!(
            old.contains("older than CloudWatch keeps 10s periods (3h, so nothing before"),
            "{old}"
        );
        // The same window in minutes is kept 15 days.
        assert_eq!(check(&plan(None), 3 * hour + 60_000), None);
        assert_eq!(check(&plan(None), 4 * 86_400_000), None);
    }

    #[test]
    fn a_version_without_invocations_is_no_evidence_old_or_new() {
        let versions = Versions {
            function: "f",
            alias: "live",
            old: "1",
            new: "2",
        };
        let said = |invoked| no_data(invoked, &versions, "from A to B".into());
        assert_eq!(said((true, true)), None);
        let new = said((true, false)).unwrap();
        assert!(
            new.starts_with("CloudWatch has no invocations of version 2 of f:live from A to B: nothing to judge"),
            "{new}"
        );
        let old = said((false, true)).unwrap();
        assert!(
            old.starts_with("CloudWatch has no invocations of version 1, the old version new is judged against, of f:live from A to B: nothing to judge"),
            "{old}"
        );
        // Neither: new is named, as nothing at all can be judged without it.
        assert_eq!(said((false, false)), said((true, false)));
    }
}

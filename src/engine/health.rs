//! One evaluation of one target: what each check found, the verdict with its evidence, and
//! whether the rollout is held. [`super::measure`] reads and judges; this concludes.

use serde::Serialize;

use crate::judge::evidence::thousands;
use crate::judge::form::{judged, Judged};
use crate::judge::sequential::Assessment;
use crate::judge::settle::Settlement;
use crate::plan::{HealthSpec, Millis, Which};

/// Pass, fail, or not enough evidence to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Healthy: every check is met (count checks confidently).
    Pass,
    /// Unhealthy.
    Fail,
    /// Not enough evidence either way: never healthy by itself.
    Inconclusive,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// The check, as a playbook line with every window spelled out.
    pub check: String,
    /// Its verdict.
    pub verdict: Verdict,
    /// The measured values, such as `2.31% < 1%`, or why there are none.
    pub detail: String,
    /// For a count check, the sequential test's evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Assessment>,
    /// `observe`: judged and shown, never failing, holding or leaving a bake inconclusive.
    #[serde(rename = "observe_only", skip_serializing_if = "std::ops::Not::not")]
    pub observed: bool,
}

/// One evaluation of one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The function.
    pub function: String,
    /// The version judged (`new`).
    pub version: String,
    /// The verdict of the whole evaluation.
    pub verdict: Verdict,
    /// Invocations of `new` since it reached its weight, in settled periods.
    pub invocations: Option<f64>,
    /// Where the counts begin: the start of the period in which `new` reached its weight
    /// (epoch milliseconds).
    pub from_ms: Millis,
    /// The end of the newest settled period read (epoch milliseconds).
    pub until_ms: Millis,
    /// The minimum for a conclusive evaluation.
    pub min_invocations: u64,
    /// Each check.
    pub checks: Vec<CheckResult>,
    /// In words.
    pub reason: String,
    /// Periods of this phase held because `old` failed as much as a check allows: the bake's
    /// clock stood still in them.
    pub held_periods: usize,
    /// Why the newest period is held, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holding: Option<Hold>,
}

/// A period in which `old` failed as much as a check allows `new`: not the release's doing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hold {
    /// The check that holds it.
    pub check: String,
    /// `old`'s share in the period.
    pub old_rate: f64,
    /// `new`'s share in the period, when it had data.
    pub new_rate: Option<f64>,
    /// The share the check allows at `old`'s usual rate.
    pub allowed: f64,
}

impl std::fmt::Display for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "held: old fails as much, {:.2}%", self.old_rate * 100.0)?;
        if let Some(new) = self.new_rate {
            write!(f, " vs new's {:.2}%", new * 100.0)?;
        }
        write!(f, " (`{}` allows {:.2}%)", self.check, self.allowed * 100.0)
    }
}

/// The versions of one target.
#[derive(Debug, Clone)]
pub struct Versions<'a> {
    /// The function.
    pub function: &'a str,
    /// The alias.
    pub alias: &'a str,
    /// Its `old`.
    pub old: &'a str,
    /// Its `new`.
    pub new: &'a str,
}

impl Versions<'_> {
    /// The version `which` names.
    pub fn of(&self, which: Which) -> &str {
        match which {
            Which::New => self.new,
            Which::Old => self.old,
        }
    }
}

/// The settled time an evaluation reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settled {
    /// Where the counts of count checks begin: the period in which `new` reached its weight.
    pub since: Millis,
    /// The end of the newest settled period.
    pub until: Millis,
    /// The periods and the delay.
    pub settlement: Settlement,
}

/// The verdict of one evaluation from its checks' results: it fails on any failing check, and
/// passes only when every check passes and `min invocations` of `new` have been seen since it
/// reached its weight.
pub fn conclude(
    spec: &HealthSpec,
    versions: &Versions<'_>,
    settled: &Settled,
    measured: super::measure::Measured,
    mut checks: Vec<CheckResult>,
) -> Evaluation {
    for (i, check) in checks.iter_mut().enumerate() {
        check.observed = spec.observed.contains(&i);
    }
    let invocations = measured.invocations;
    let enough = invocations.is_some_and(|n| n >= spec.min_invocations as f64);
    // Checks on trial (`observe`) are shown, never decide.
    let deciding = || checks.iter().filter(|c| !c.observed);
    let (verdict, reason) = if let Some(failed) = deciding().find(|c| c.verdict == Verdict::Fail) {
        (Verdict::Fail, failed.detail.clone())
    } else if !enough {
        (
            Verdict::Inconclusive,
            match invocations {
                None => "no settled invocations of new yet".to_string(),
                Some(n) => format!(
                    "{} settled invocations of new, fewer than the {} needed",
                    thousands(n),
                    spec.min_invocations
                ),
            },
        )
    } else if let Some(unsure) = deciding().find(|c| c.verdict == Verdict::Inconclusive) {
        (Verdict::Inconclusive, unsure.detail.clone())
    } else {
        let details: Vec<&str> = checks.iter().map(|c| c.detail.as_str()).collect();
        // Count checks say what they counted; otherwise say how much traffic was judged.
        let counted = checks.iter().any(|c| c.evidence.is_some());
        let reason = if counted {
            details.join("; ")
        } else {
            let count = invocations.map_or("no".to_string(), thousands);
            format!("{count} invocations of new; {}", details.join("; "))
        };
        (Verdict::Pass, reason)
    };
    Evaluation {
        function: versions.function.to_string(),
        version: versions.new.to_string(),
        verdict,
        invocations,
        from_ms: settled.since,
        until_ms: settled.until,
        min_invocations: spec.min_invocations,
        checks,
        reason,
        held_periods: measured.held_periods,
        holding: measured.holding,
    }
}

/// An evaluation whose metrics could not be read (AWS failing, or no answer in time): every
/// check inconclusive, never healthy.
pub fn unread(
    spec: &HealthSpec,
    versions: &Versions<'_>,
    settled: &Settled,
    why: &str,
) -> Evaluation {
    let checks = spec
        .checks
        .iter()
        .enumerate()
        .map(|(i, check)| CheckResult {
            check: check.to_string(),
            verdict: Verdict::Inconclusive,
            detail: "not read".to_string(),
            evidence: None,
            observed: spec.observed.contains(&i),
        })
        .collect();
    Evaluation {
        function: versions.function.to_string(),
        version: versions.new.to_string(),
        verdict: Verdict::Inconclusive,
        invocations: None,
        from_ms: settled.since,
        until_ms: settled.until,
        min_invocations: spec.min_invocations,
        checks,
        reason: why.to_string(),
        held_periods: 0,
        holding: None,
    }
}

/// Whether every check that is not a count check passed in these results.
pub fn rest_all_passed(health: &HealthSpec, results: &[CheckResult]) -> bool {
    health
        .checks
        .iter()
        .zip(results)
        .filter(|(check, result)| {
            !matches!(judged(check), Judged::Sequential(_)) && !result.observed
        })
        .all(|(_, result)| result.verdict == Verdict::Pass)
}

//! The judge: pure and synchronous. Settled counts in, a verdict with its evidence out. The
//! engine gathers the counts; `simulate` measures the judge's quality; nothing here reads a clock
//! or calls a service.
//!
//! - [`settle`]: which periods have settled, from the clock and the metric delay;
//! - [`form`]: which checks are count checks, tested sequentially, and which are judged per window;
//! - [`sequential`]: the tests themselves, period by period, anytime-valid, with a final exact
//!   look (`last`); `evalue` is one period's evidence and [`dispersion`] how much `old` varies;
//! - [`evidence`]: the evidence in words;
//! - [`signatures`]: error lines as signatures, and the ones `new` logs that `old` does not;
//! - `bounds` and `special`: exact bounds on a proportion and the special functions behind them.
//!
//! `confidence` (default 99%) bounds the chance that a version which truly meets every check is
//! rolled back: its complement is shared equally by the phases that judge health (each bake,
//! each ramp increment, each approval gate) and, within a phase, by the count checks.

pub(crate) mod bounds;
pub mod dispersion;
mod evalue;
pub mod evidence;
pub mod form;
mod last;
pub mod sequential;
pub mod settle;
pub mod signatures;
mod special;

use crate::plan::{HealthSpec, Plan, StepKind};
use form::{judged, Judged};

/// How many phases of `plan` judge health: each bake, each ramp increment, each approval gate.
pub fn phases(plan: &Plan) -> usize {
    plan.steps
        .iter()
        .map(|step| match &step.kind {
            StepKind::Ramp { increments, .. } => increments.len(),
            kind if kind.judges_health() => 1,
            _ => 0,
        })
        .sum::<usize>()
        .max(1)
}

/// The share of `1 - confidence` that one count check may spend in one of `phases` phases.
pub fn check_alpha(spec: &HealthSpec, phases: usize) -> f64 {
    // Checks on trial (`observe`) spend none of it.
    let count_checks = spec
        .checks
        .iter()
        .enumerate()
        .filter(|(i, c)| matches!(judged(c), Judged::Sequential(_)) && !spec.observed.contains(i))
        .count()
        .max(1);
    (1.0 - spec.confidence.as_f64() / 100.0) / (phases.max(1) * count_checks) as f64
}

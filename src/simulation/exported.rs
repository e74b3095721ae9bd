//! How a plan exported to Step Functions judges compared with `run`, on simulated traffic: the
//! share of healthy `new` versions rolled back and of regressed ones caught, each judged both
//! ways ([`crate::export::as_exported`] is the plan as the execution judges it). `export` prints
//! it for a hundred runs; `cargo bench --bench exported` measures it on a thousand.

use crate::cloud::sim::traffic::Profile;
use crate::export::as_exported;
use crate::plan::{Check, CompareOp, Expr, Metric, Plan, StepKind};

use super::monte_carlo::{run_many, Summary};
use super::{with_default_targets, SimOptions};

/// Invocations a second of the compared runs.
const RPS: f64 = 50.0;

/// The outcome of [`compare`]: shares in percent of the runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Runs of each of the four sides.
    pub runs: usize,
    /// Invocations a second of each version.
    pub rps: f64,
    /// `old`'s error rate, in percent.
    pub old_errors: f64,
    /// The regressed `new`'s error rate, in percent: twice the playbook's error-rate threshold.
    pub regressed_errors: f64,
    /// A healthy `new` rolled back (or inconclusive), judged locally.
    pub healthy_local: f64,
    /// A healthy `new` rolled back (or inconclusive), judged as exported.
    pub healthy_exported: f64,
    /// A regressed `new` rolled back, judged locally.
    pub caught_local: f64,
    /// A regressed `new` rolled back, judged as exported.
    pub caught_exported: f64,
}

/// Whether the execution of `plan` judges anything: a bake or a ramp, and a metric check.
pub fn judges(plan: &Plan) -> bool {
    plan.steps
        .iter()
        .any(|s| matches!(s.kind, StepKind::Bake { .. } | StepKind::Ramp { .. }))
        && plan
            .health
            .checks
            .iter()
            .any(|c| matches!(c, Check::Compare { .. }))
}

/// `plan` simulated `runs` times each way, healthy and regressed, at [`RPS`] invocations a
/// second, `old` at the simulator's default error rate.
pub fn compare(plan: &Plan, runs: usize) -> Comparison {
    let threshold = plan.health.checks.iter().find_map(|c| match c {
        Check::Compare {
            lhs:
                Expr::Metric {
                    metric: Metric::ErrorRate,
                    ..
                },
            op: CompareOp::Lt | CompareOp::Le,
            rhs: Expr::Const { value, .. },
        } => Some(*value),
        _ => None,
    });
    let plan = with_default_targets(plan);
    let exported = as_exported(&plan);
    let healthy = SimOptions {
        rps: RPS,
        ..SimOptions::default()
    };
    let regressed = (threshold.unwrap_or(2.5) * 2.0).min(50.0);
    let bad = SimOptions {
        new: Profile {
            error_rate: regressed / 100.0,
            ..healthy.new
        },
        ..healthy.clone()
    };
    let share = |summary: &Summary| {
        100.0 * (summary.rolled_back + summary.inconclusive) as f64 / summary.runs as f64
    };
    let runs_of = |plan: &Plan, options: &SimOptions| share(&run_many(plan, options, runs));
    Comparison {
        runs,
        rps: RPS,
        old_errors: healthy.old.error_rate * 100.0,
        regressed_errors: regressed,
        healthy_local: runs_of(&plan, &healthy),
        healthy_exported: runs_of(&exported, &healthy),
        caught_local: runs_of(&plan, &bad),
        caught_exported: runs_of(&exported, &bad),
    }
}

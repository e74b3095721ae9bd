//! The Lambda calls a rollout makes on each target, in order, as data: written once here, made by
//! the engine, printed by `plan` as `aws` command lines and written as states by the Step
//! Functions export. A test runs every example in the simulated world and holds the engine's
//! calls to these (`engine::tests::calls`).
//!
//! Listed are the calls that read a target before the rollout, act on it, or wait for it. The
//! looks that judge health (CloudWatch `GetMetricData`, `DescribeAlarms`, hooks) follow the
//! traffic and the health block, and `plan` describes them with each step that judges.

use serde::Serialize;

use super::{Percent, Plan, StepKind};

/// A read before the first step, on each target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Read {
    /// `GetAlias`: what it serves is `old`, its RevisionId the first write's precondition.
    Alias,
    /// `GetProvisionedConcurrencyConfig` of the alias.
    Provisioned,
    /// `GetFunctionConfiguration` of a version, compared with `old`'s for weighted routing.
    Configuration(Qualifier),
}

/// Which version a configuration read or a wait asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Qualifier {
    /// The version the alias serves.
    Old,
    /// `$LATEST`, which `publish` freezes.
    Latest,
    /// The version `use version N` names.
    Numbered(u64),
}

/// One call of a step on one target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepCall {
    /// `UpdateAlias` recording the step in the lease, the traffic as it is.
    Mark,
    /// `UpdateFunctionCode` of `$LATEST` with the step's zip.
    UpdateCode,
    /// `GetFunctionConfiguration` of `$LATEST`, again until no update is in progress.
    AwaitLatest,
    /// `PublishVersion` of the `$LATEST` read, with its code hash and RevisionId.
    Publish,
    /// `GetFunctionConfiguration` of `new`, again until it is `Active`.
    AwaitNew,
    /// `UpdateAlias`: `old` serves the rest, `new` this weight; the lease at the step.
    Route(Percent),
    /// `UpdateAlias`: `new` serves everything; the lease given back.
    Promote,
    /// `UpdateAlias`: `new` serves everything; the lease kept, at the step, for the `watch`
    /// that follows.
    PromoteKept,
    /// `UpdateAlias`: `old` serves everything; the lease given back.
    Restore,
    /// `UpdateAlias`: the traffic as it is; the lease given back.
    Release,
}

/// The calls of one step on one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepCalls {
    /// In order.
    pub calls: Vec<StepCall>,
    /// Whether the step waits, renewing the lease with the write of its last alias write
    /// again (the heartbeat) as long as it does.
    pub heartbeat: bool,
}

impl StepCalls {
    /// Whether the step starts by recording itself in the lease with a write of its own, as the
    /// steps whose first call is not an alias write do.
    pub fn marks(&self) -> bool {
        self.calls.first() == Some(&StepCall::Mark)
    }
}

/// The calls of a step of this kind.
pub fn of(kind: &StepKind) -> StepCalls {
    use StepCall::*;
    let (calls, heartbeat) = match kind {
        StepKind::UpdateCode { .. } => (vec![Mark, UpdateCode, AwaitLatest], false),
        StepKind::Publish { .. } => (vec![Mark, AwaitLatest, Publish, AwaitNew], false),
        StepKind::UseVersion { .. } => (vec![Mark, AwaitNew], false),
        StepKind::Shift { weight } => (vec![Route(*weight)], false),
        StepKind::Ramp { increments, .. } => (increments.iter().map(|w| Route(*w)).collect(), true),
        StepKind::Wait { .. }
        | StepKind::Bake { .. }
        | StepKind::Approve { .. }
        | StepKind::Watch { .. } => (vec![Mark], true),
        StepKind::Run { .. } => (vec![Mark], false),
        StepKind::Promote => (vec![Promote], false),
        StepKind::Rollback => (vec![Restore], false),
    };
    StepCalls { calls, heartbeat }
}

/// The calls of step `index` of `plan`: those of its kind, but a `promote` that a `watch`
/// follows keeps the lease.
pub fn of_step(plan: &Plan, index: usize) -> StepCalls {
    let kind = &plan.steps[index].kind;
    let watched = matches!(
        plan.steps.get(index + 1).map(|s| &s.kind),
        Some(StepKind::Watch { .. })
    );
    match kind {
        StepKind::Promote if watched => StepCalls {
            calls: vec![StepCall::PromoteKept],
            heartbeat: false,
        },
        _ => of(kind),
    }
}

/// The reads on each target before the first step: the alias, its provisioned concurrency, the
/// configuration of `old` and of what becomes `new`. The lease is taken after them, with a
/// [`StepCall::Mark`] of step 0.
pub fn before(plan: &Plan) -> Vec<Read> {
    let mut reads = vec![
        Read::Alias,
        Read::Provisioned,
        Read::Configuration(Qualifier::Old),
    ];
    let new = plan.steps.iter().find_map(|step| match step.kind {
        StepKind::UpdateCode { .. } | StepKind::Publish { .. } => Some(Qualifier::Latest),
        StepKind::UseVersion { version } => Some(Qualifier::Numbered(version)),
        _ => None,
    });
    reads.extend(new.map(Read::Configuration));
    reads
}

/// The calls after the last step: a plan that ends without `promote` or `rollback` gives the
/// lease back and leaves the traffic split; so does a `watch` that passes, `new` serving
/// everything (one that fails restores `old`, as any failing step does).
pub fn after(plan: &Plan) -> Vec<StepCall> {
    match plan.steps.last().map(|s| &s.kind) {
        Some(StepKind::Promote | StepKind::Rollback) | None => Vec::new(),
        Some(StepKind::Watch { .. }) => vec![StepCall::Release],
        Some(_) => vec![StepCall::Release],
    }
}

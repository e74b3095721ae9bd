//! The preview `rollout plan` prints, as a model: each step with the exact AWS calls it makes,
//! when it can start, the traffic timeline and the total duration. A value with `Display`
//! ([`super::text`]) and `Serialize`, made from the same `Plan` the engine runs, with the calls of
//! [`crate::plan::calls`] that the engine makes.

use std::collections::BTreeMap;

use serde::Serialize;

use super::commands::Calls;
use super::judged::judged_by;
use super::notify::NotifyView;
use super::timing::step_duration;
use crate::judge::evidence::judging;
use crate::judge::settle::Settlement;
use crate::plan::calls::of_step;
use crate::plan::{HealthSpec, Millis, Param, Percent, Plan, SharedFailure, StepKind, Targets};

/// The timeout a function is assumed to have when nothing has read it: Lambda's default.
const ASSUMED_TIMEOUT: Millis = Millis(3_000);

/// The preview of a plan.
#[derive(Debug, Clone, Serialize)]
pub(super) struct PlanView {
    /// The playbook's display name.
    pub(super) name: Option<String>,
    /// What it acts on.
    pub(super) targets: Targets,
    /// Parameters in force.
    pub(super) params: Vec<Param>,
    /// How health is judged.
    pub(super) health: HealthSpec,
    /// The health checks as text.
    pub(super) checks: Vec<String>,
    /// How each check is judged, in the order of `checks`.
    pub(super) judged: Vec<String>,
    /// How long after a period ends its metrics are read.
    pub(super) metric_delay_ms: Millis,
    /// Where that delay comes from.
    pub(super) metric_delay: String,
    /// Read-only calls made before the first step.
    pub(super) preflight: Vec<String>,
    /// The steps.
    pub(super) steps: Vec<StepView>,
    /// The calls that restore `old` if any step fails.
    pub(super) on_failure: Vec<String>,
    /// The hook run after a failure, before the rollback.
    pub(super) on_failure_hook: Option<String>,
    /// The hook run after promote.
    pub(super) on_success_hook: Option<String>,
    /// Shortest total duration (no failure, instant approvals and updates).
    pub(super) min_duration_ms: Millis,
    /// Longest total duration without a failure; `None` when an approval gate can wait forever.
    pub(super) max_duration_ms: Option<Millis>,
    /// Weight of `new` over time on the shortest path: `(ms since start, percent)`.
    pub(super) timeline: Vec<(Millis, Percent)>,
    /// With `--live`: what each target is now, read with read-only calls.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) live: Vec<LiveTarget>,
    /// The waves, when the playbook has them: the steps above run in each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) waves: Option<WavesView>,
    /// When the steps really run, when the playbook has windows (`plan` fills it in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) windows: Option<super::windows::WindowsView>,
    /// Where notifications go, each with its call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) notify: Vec<NotifyView>,
    /// `keep N versions`: the prune after `promote`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) prune: Option<super::prune::PruneView>,
}

/// The waves on one timeline.
#[derive(Debug, Clone, Serialize)]
pub(super) struct WavesView {
    /// In order.
    pub(super) waves: Vec<WaveView>,
    /// The bake between waves, as written.
    pub(super) between: Option<String>,
    /// How long it lasts: its metrics settle after it when it judges.
    pub(super) between_ms: Millis,
    /// What a failure rolls back.
    pub(super) on_failure: crate::plan::waves::WaveFailure,
    /// Shortest total.
    pub(super) min_duration_ms: Millis,
    /// Longest total; `None` when an approval gate can wait forever.
    pub(super) max_duration_ms: Option<Millis>,
}

/// One wave on the timeline.
#[derive(Debug, Clone, Serialize)]
pub(super) struct WaveView {
    /// Its name.
    pub(super) name: String,
    /// Its regions (`ACCOUNT/REGION` in another account).
    pub(super) regions: Vec<String>,
    /// The roles it assumes, by account.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) roles: Vec<String>,
    /// Earliest start, ms after the rollout begins.
    pub(super) starts_ms: Millis,
    /// Earliest end.
    pub(super) ends_ms: Millis,
    /// Latest end; `None` after a gate that can wait forever.
    pub(super) latest_end_ms: Option<Millis>,
}

impl WavesView {
    /// The waves of `waves`, each taking `min`..`max` (the steps' durations), with the bake
    /// between them settling `delay` after its end when it judges.
    fn new(
        waves: &crate::plan::waves::Waves,
        min: Millis,
        max: Option<Millis>,
        delay: Millis,
    ) -> Self {
        let between_ms = waves.between.map_or(Millis(0), |b| {
            Millis(b.duration.0 + if b.healthy { delay.0 } else { 0 })
        });
        let (mut earliest, mut latest) = (Millis(0), Some(Millis(0)));
        let mut out = Vec::new();
        for (i, wave) in waves.waves.iter().enumerate() {
            if i > 0 {
                earliest = Millis(earliest.0 + between_ms.0);
                latest = latest.map(|l| Millis(l.0 + between_ms.0));
            }
            let starts_ms = earliest;
            earliest = Millis(earliest.0 + min.0);
            latest = latest.zip(max).map(|(a, b)| Millis(a.0 + b.0));
            out.push(WaveView {
                name: wave.name.clone(),
                regions: wave.places.iter().map(|p| p.label()).collect(),
                roles: wave
                    .places
                    .iter()
                    .filter_map(|p| p.account.as_ref())
                    .map(|a| a.role.clone())
                    .fold(Vec::new(), |mut roles, role| {
                        if !roles.contains(&role) {
                            roles.push(role);
                        }
                        roles
                    }),
                starts_ms,
                ends_ms: earliest,
                latest_end_ms: latest,
            });
        }
        WavesView {
            waves: out,
            between: waves.between.map(|b| {
                format!(
                    "wait {}{}",
                    b.duration,
                    if b.healthy { " until healthy" } else { "" }
                )
            }),
            between_ms,
            on_failure: waves.on_failure,
            min_duration_ms: earliest,
            max_duration_ms: latest,
        }
    }
}

/// A target as it is now (`plan --live`).
#[derive(Debug, Clone, Serialize)]
pub(super) struct LiveTarget {
    /// The function.
    pub(super) function: String,
    /// The alias.
    pub(super) alias: String,
    /// What the alias serves: its version is `old`.
    pub(super) serves: Option<crate::cloud::Alias>,
    /// `$LATEST`.
    pub(super) latest: Option<crate::cloud::FunctionInfo>,
    /// The last published version.
    pub(super) last_version: Option<String>,
    /// What `publish` would do, in words.
    pub(super) publish: String,
    /// Provisioned concurrency on the alias.
    pub(super) provisioned: Option<crate::cloud::Provisioned>,
    /// What could not be read.
    pub(super) error: Option<String>,
    /// Its region (`ACCOUNT/REGION` in another account), in a playbook with waves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) region: Option<String>,
}

/// One step of the preview.
#[derive(Debug, Clone, Serialize)]
pub(super) struct StepView {
    /// 1-based.
    pub(super) number: usize,
    /// The step as a playbook line.
    pub(super) text: String,
    /// The step as data.
    #[serde(flatten)]
    pub(super) kind: StepKind,
    /// Step definitions it came from.
    pub(super) via: Vec<String>,
    /// 1-based line of the playbook where it is written.
    pub(super) line: usize,
    /// Weight of `new` after the step, when it sets one.
    pub(super) weight_after: Option<Percent>,
    /// Earliest start, ms after the rollout begins.
    pub(super) earliest_ms: Millis,
    /// Latest start; `None` after a gate that can wait forever.
    pub(super) latest_ms: Option<Millis>,
    /// Shortest time the step takes.
    pub(super) min_ms: Millis,
    /// Longest time it takes; `None` when it can wait forever.
    pub(super) max_ms: Option<Millis>,
    /// The AWS calls it makes, as `aws` command lines; `<old>`, `<new>` and `<revision>` are
    /// known only when it runs.
    pub(super) calls: Vec<String>,
    /// What judges it.
    pub(super) judged_by: Vec<String>,
}

const NO_FUNCTION: &str = "<function>";

/// Function names the preview's header lists; a fleet's are counted.
pub(super) const SHOWN_NAMES: usize = 10;

/// Targets whose calls the preview spells out; a fleet's others do the same.
const SHOWN_TARGETS: usize = 3;
const NO_ALIAS: &str = "<alias>";

impl PlanView {
    /// The preview of `plan`; `source` is the playbook text, for line numbers; `timeout` the
    /// longest function timeout read live, if any.
    pub(super) fn new(
        plan: &Plan,
        source: &str,
        timeout: Option<Millis>,
        olds: &BTreeMap<String, String>,
        calls_per_second: f64,
    ) -> Self {
        let (delay, metric_delay) = match (plan.health.delay, timeout) {
            (Some(delay), _) => (delay, format!("`metrics delay {delay}`")),
            (None, Some(timeout)) => (
                Settlement::default_delay(timeout),
                format!("a minute of slack plus the functions' {timeout} timeout"),
            ),
            (None, None) => (
                Settlement::default_delay(ASSUMED_TIMEOUT),
                format!(
                    "a minute of slack plus the function's timeout, assumed {ASSUMED_TIMEOUT} (`plan --live` reads it)"
                ),
            ),
        };
        let settlement = Settlement::new(plan.health.every, delay);
        // A selection stands for the functions it will find, until `plan --live` resolves it.
        let mut functions: Vec<String> = plan.targets.functions.clone();
        functions.extend(plan.targets.select.iter().map(|s| format!("<each of {s}>")));
        if functions.is_empty() {
            functions.push(NO_FUNCTION.to_string());
        }
        let count = functions.len();
        // Each target's calls are the same but for its names: a fleet shows a few.
        functions.truncate(SHOWN_TARGETS);
        let others = count - functions.len();
        let pace = Millis((1_000.0 * count as f64 / calls_per_second).ceil() as u64);
        let alias = plan
            .targets
            .alias
            .clone()
            .unwrap_or_else(|| NO_ALIAS.to_string());
        let checks: Vec<String> = plan
            .health
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| match plan.health.observed.contains(&i) {
                true => format!("observe {c}"),
                false => c.to_string(),
            })
            .collect();
        let lines = crate::diagnostic::LineIndex::new(source);
        let mut steps = Vec::new();
        let mut earliest = Millis(0);
        let mut latest = Some(Millis(0));
        let mut weight = Percent(0);
        let mut timeline = vec![(Millis(0), Percent(0))];
        let fingerprint = plan.fingerprint();
        let targets: Vec<Calls> = functions
            .iter()
            .map(|function| Calls {
                function,
                alias: &alias,
                old: olds.get(function).map(String::as_str),
                steps: plan.steps.len(),
                fingerprint: &fingerprint,
            })
            .collect();
        for (i, step) in plan.steps.iter().enumerate() {
            // The longest a bake may last beyond its traffic: held by a shared failure, extended
            // while inconclusive, paused at a violation for a person.
            let shared = match plan.health.shared_failure {
                SharedFailure::Hold { at_most } => at_most,
                SharedFailure::Rollback => Millis(0),
            };
            let extend = plan.health.extend.unwrap_or(Millis(0));
            let person = match plan.health.violation {
                crate::plan::Violation::Pause { at_most } => at_most,
                crate::plan::Violation::Rollback => Millis(0),
            };
            let hold = Millis(shared.0 + extend.0 + person.0);
            let (min, max) = step_duration(&step.kind, count, pace, &settlement, hold);
            let mut calls: Vec<String> = targets
                .iter()
                .flat_map(|t| t.of(&step.kind, &of_step(plan, i), i + 1, weight))
                .collect();
            if others > 0 {
                calls.push(format!("… the same for the other {others} functions"));
            }
            let judged_by = judged_by(&step.kind, plan, &functions, others, &alias, &settlement);
            steps.push(StepView {
                number: i + 1,
                text: step.kind.to_string(),
                kind: step.kind.clone(),
                via: step.via.clone(),
                line: lines.line_column(source, step.span.start).0,
                weight_after: step.kind.weight_after(),
                earliest_ms: earliest,
                latest_ms: latest,
                min_ms: min,
                max_ms: max,
                calls,
                judged_by,
            });
            if let StepKind::Ramp {
                increments, every, ..
            } = &step.kind
            {
                let mut t = earliest;
                for w in increments {
                    timeline.push((t, *w));
                    t = Millis(t.0 + every.0 + settlement.delay.0);
                }
            } else if let Some(w) = step.kind.weight_after() {
                timeline.push((earliest, w));
            }
            weight = step.kind.weight_after().unwrap_or(weight);
            if i + 1 == plan.steps.len() {
                let last = steps.last_mut().expect("pushed above");
                last.calls
                    .extend(targets.iter().flat_map(|t| t.after(plan, weight)));
            }
            earliest = Millis(earliest.0 + min.0);
            latest = latest.zip(max).map(|(a, b)| Millis(a.0 + b.0));
        }
        timeline.push((earliest, weight));
        let on_failure = targets.iter().map(|t| t.restore()).collect();
        let mut preflight: Vec<String> = Vec::new();
        if !plan.targets.select.is_empty() {
            preflight.push("aws lambda list-functions (every page: the region's functions, for the selections)".to_string());
        }
        if plan
            .targets
            .select
            .iter()
            .any(|s| matches!(s, crate::plan::Selection::Tagged { .. }))
        {
            preflight.push(
                "aws lambda list-tags --resource '<each function's ARN>' (for `tagged`)"
                    .to_string(),
            );
        }
        preflight.extend(targets.iter().flat_map(|t| t.before(plan)));
        PlanView {
            name: plan.name.clone(),
            targets: plan.targets.clone(),
            params: plan.params.clone(),
            health: plan.health.clone(),
            judged: plan.health.checks.iter().map(judging).collect(),
            checks,
            metric_delay_ms: delay,
            metric_delay,
            preflight,
            steps,
            on_failure,
            on_failure_hook: plan.on_failure.as_ref().map(|s| s.name.clone()),
            on_success_hook: plan.on_success.as_ref().map(|s| s.name.clone()),
            min_duration_ms: earliest,
            max_duration_ms: latest,
            timeline,
            live: Vec::new(),
            waves: plan
                .waves
                .as_ref()
                .map(|w| WavesView::new(w, earliest, latest, delay)),
            windows: None,
            notify: plan.notify.iter().map(NotifyView::new).collect(),
            prune: super::prune::PruneView::new(plan, &functions[0]),
        }
    }
}

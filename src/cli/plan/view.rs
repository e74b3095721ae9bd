//! The preview `rollout plan` prints: each step with the exact AWS calls it makes, when it can
//! start, the traffic timeline and the total duration. A value with `Display` and `Serialize`,
//! made from the same `Plan` the engine runs; the engine never looks at it.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::engine::UPDATE_DEADLINE;
use crate::judge::evidence::judging;
use crate::judge::settle::Settlement;
use crate::plan::{
    Check, HealthSpec, Millis, Param, Percent, Plan, SharedFailure, StepKind, Targets,
};

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
const SHOWN_NAMES: usize = 10;

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
        let checks: Vec<String> = plan.health.checks.iter().map(Check::to_string).collect();
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
            let hold = match plan.health.shared_failure {
                SharedFailure::Hold { at_most } => at_most,
                SharedFailure::Rollback => Millis(0),
            };
            let (min, max) = step_duration(&step.kind, count, pace, &settlement, hold);
            let mut calls: Vec<String> = targets
                .iter()
                .flat_map(|t| t.of(&step.kind, i + 1, weight))
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
            let ends = !matches!(step.kind, StepKind::Promote | StepKind::Rollback);
            if i + 1 == plan.steps.len() && ends {
                // The plan ends with traffic as it is: the lease is given back.
                let last = steps.last_mut().expect("pushed above");
                last.calls.extend(
                    targets
                        .iter()
                        .map(|t| t.update_alias(&t.old(), Some(weight), Lease::Released)),
                );
            }
            earliest = Millis(earliest.0 + min.0);
            latest = latest.zip(max).map(|(a, b)| Millis(a.0 + b.0));
        }
        timeline.push((earliest, weight));
        let on_failure = targets
            .iter()
            .map(|t| t.update_alias(&t.old(), None, Lease::Released))
            .collect();
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
        preflight.extend(targets.iter().flat_map(|t| t.preflight(plan)));
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
        }
    }
}

/// Shortest and longest time a step takes; `None` for no bound. A bake lasts until the traffic
/// it judges has settled: its duration and the metric delay, and up to a period more when it
/// starts within one. Steps act on all targets at once, at the pace of calls: `pace` is the
/// time one call per target takes at that pace. Hooks run one target after another. A bake
/// held while `old` fails as much as `new` lasts up to `hold` longer.
fn step_duration(
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

/// A word or a single-quoted string, as a POSIX shell reads it.
fn shell(text: &str) -> String {
    // Placeholders such as `<old>` are quoted too: pasted unquoted, `<` is a redirection.
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/=,@+".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// `0.05` for 5%: the weight Lambda takes.
fn weight_text(weight: Percent) -> String {
    let text = format!("{:.4}", weight.as_weight());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One target as its calls are written: its names, `old` once `plan --live` has read it, and the
/// playbook's number of steps (for the lease marker).
struct Calls<'a> {
    function: &'a str,
    alias: &'a str,
    old: Option<&'a str>,
    steps: usize,
    /// The plan's fingerprint, which the lease carries.
    fingerprint: &'a str,
}

/// What an alias write does to the lease.
#[derive(Clone, Copy)]
enum Lease {
    /// Records the step reached (0: taken before the first step).
    At(usize),
    /// Gives it back: the user's description alone.
    Released,
}

impl Calls<'_> {
    /// `old`, as read live or as a placeholder.
    fn old(&self) -> String {
        self.old.map_or_else(|| shell("<old>"), shell)
    }

    /// An alias write: `version` alone, or with `new` at `weight`, the lease as `lease` says.
    fn update_alias(&self, version: &str, weight: Option<Percent>, lease: Lease) -> String {
        let routing = match weight.filter(|w| w.0 > 0) {
            Some(w) => format!(
                "{{\"AdditionalVersionWeights\":{{\"<new>\":{}}}}}",
                weight_text(w)
            ),
            None => "{\"AdditionalVersionWeights\":{}}".to_string(),
        };
        let description = match lease {
            Lease::At(step) => format!(
                "<the description> [rollout h=<you> i=<identity> p=<playbook> f={} s={step}/{} o=<old> n=<new> t=<began> b=<now> g=<gate> a=0]",
                self.fingerprint, self.steps
            ),
            Lease::Released => "<the description>".to_string(),
        };
        format!(
            "aws lambda update-alias --function-name {} --name {} --function-version {version} --routing-config '{routing}' --description {} --revision-id {}",
            shell(self.function),
            shell(self.alias),
            shell(&description),
            shell("<revision>")
        )
    }

    /// The read-only calls before the first write (the alias, and the configurations Lambda
    /// compares for weighted routing: `old`'s and that of what becomes `new`), then the lease.
    fn preflight(&self, plan: &Plan) -> Vec<String> {
        let f = shell(self.function);
        let configuration = |qualifier: &str| {
            format!("aws lambda get-function-configuration --function-name {f}{qualifier}")
        };
        let mut calls = vec![
            format!(
                "aws lambda get-alias --function-name {f} --name {}",
                shell(self.alias)
            ),
            format!(
                "aws lambda get-provisioned-concurrency-config --function-name {f} --qualifier {}",
                shell(self.alias)
            ),
            configuration(&format!(" --qualifier {}", self.old())),
        ];
        let new = plan.steps.iter().find_map(|step| match step.kind {
            StepKind::UpdateCode { .. } | StepKind::Publish { .. } => Some(String::new()),
            StepKind::UseVersion { version } => Some(format!(" --qualifier {version}")),
            _ => None,
        });
        calls.extend(new.map(|qualifier| configuration(&qualifier)));
        calls.push(self.update_alias(&self.old(), None, Lease::At(0)));
        calls
    }

    /// The calls of step `number` of this kind, with `weight` on `new` when it begins.
    fn of(&self, kind: &StepKind, number: usize, weight: Percent) -> Vec<String> {
        let f = shell(self.function);
        let wait = format!("aws lambda wait function-updated-v2 --function-name {f}");
        // Steps that move no traffic record themselves in the lease with a write of their own.
        let mark = self.update_alias(&self.old(), Some(weight), Lease::At(number));
        let heartbeat =
            "... and the same write every 2m while it waits (the lease's heartbeat)".to_string();
        match kind {
            StepKind::UpdateCode { zip } => vec![
                mark,
                format!(
                    "aws lambda update-function-code --function-name {f} --zip-file {}",
                    shell(&format!("fileb://{}", zip.path.display()))
                ),
                wait,
            ],
            StepKind::Publish { description } => vec![
                mark,
                wait,
                format!(
                    "aws lambda publish-version --function-name {f} --code-sha256 {} --revision-id {}{}",
                    shell("<the code read>"),
                    shell("<the revision read>"),
                    description
                        .as_ref()
                        .map_or(String::new(), |d| format!(" --description {}", shell(d)))
                ),
                format!(
                    "aws lambda wait function-active-v2 --function-name {f} --qualifier {}",
                    shell("<new>")
                ),
            ],
            StepKind::UseVersion { version } => vec![
                mark,
                format!(
                    "aws lambda wait function-active-v2 --function-name {f} --qualifier {version}"
                ),
            ],
            StepKind::Shift { weight } => {
                vec![self.update_alias(&self.old(), Some(*weight), Lease::At(number))]
            }
            StepKind::Ramp { increments, .. } => {
                let mut calls: Vec<String> = increments
                    .iter()
                    .map(|w| self.update_alias(&self.old(), Some(*w), Lease::At(number)))
                    .collect();
                calls.push(heartbeat);
                calls
            }
            StepKind::Promote => vec![self.update_alias(&shell("<new>"), None, Lease::Released)],
            StepKind::Rollback => vec![self.update_alias(&self.old(), None, Lease::Released)],
            StepKind::Wait { .. } | StepKind::Bake { .. } | StepKind::Approve { .. } => {
                vec![mark, heartbeat]
            }
            StepKind::Run { .. } => vec![mark],
        }
    }
}

fn judged_by(
    kind: &StepKind,
    plan: &Plan,
    functions: &[String],
    others: usize,
    alias: &str,
    settlement: &Settlement,
) -> Vec<String> {
    let (traffic, then) = match kind {
        StepKind::Bake {
            duration,
            shortest: None,
        } => (format!("{duration} of traffic on new"), String::new()),
        StepKind::Bake {
            duration,
            shortest: Some(shortest),
        } => (
            format!("{shortest}..{duration} of traffic on new"),
            format!("; after {shortest} it passes as soon as every check is confidently met"),
        ),
        StepKind::Ramp {
            increments,
            every: e,
            ..
        } => (
            format!(
                "{e} of traffic on new after each of the {} increments",
                increments.len()
            ),
            String::new(),
        ),
        StepKind::Run { script } => return vec![format!("hook {} must return true", script.name)],
        StepKind::Approve { .. } => {
            return vec![
                "a person: `rollout approve`, a terminal prompt, or --auto-approve".to_string(),
            ]
        }
        _ => return Vec::new(),
    };
    let held = match plan.health.shared_failure {
        SharedFailure::Hold { at_most } => format!(
            "; a period in which old fails as much as a check allows stops the clock (at most {at_most})"
        ),
        SharedFailure::Rollback => "; a period in which old fails as much rolls back".to_string(),
    };
    let mut out = vec![format!(
        "the metrics of {traffic}, each {} period read once settled, {} after it ends{then}{held}; from CloudWatch for {}{}, old's last hour once before the first look, then each period as it settles: aws cloudwatch get-metric-data --period {} with dimensions FunctionName, Resource={}, ExecutedVersion=<new>|<old>",
        settlement.period,
        settlement.delay,
        functions.join(", "),
        if others > 0 {
            format!(" and {others} more, all in as few calls as the API allows")
        } else {
            String::new()
        },
        settlement.period.0 / 1000,
        functions
            .iter()
            .map(|f| format!("{f}:{alias}"))
            .collect::<Vec<_>>()
            .join("|")
    )];
    for check in &plan.health.checks {
        if let Check::Alarm { name } = check {
            out.push(format!(
                "aws cloudwatch describe-alarms --alarm-names {}",
                shell(name)
            ));
        }
    }
    out
}

/// The timeline as a chart: columns are time, rows are weight thresholds.
fn chart(timeline: &[(Millis, Percent)], total: Millis, width: usize) -> Vec<String> {
    let weight_at = |t: u64| {
        timeline
            .iter()
            .rfind(|(at, _)| at.0 <= t)
            .map_or(Percent(0), |(_, w)| *w)
    };
    // A little past the end, so that the final weight shows.
    let span = (total.0 + total.0 / 20).max(1);
    let columns: Vec<Percent> = (0..width)
        .map(|c| weight_at(c as u64 * span / width as u64))
        .collect();
    let mut rows = Vec::new();
    for (label, threshold) in [
        ("100%", 10_000),
        (" 75%", 7_500),
        (" 50%", 5_000),
        (" 25%", 2_500),
        ("  >0", 1),
    ] {
        let bar: String = columns
            .iter()
            .map(|w| if w.0 >= threshold { '#' } else { ' ' })
            .collect();
        rows.push(format!("  {label} |{}", bar.trim_end()));
    }
    let end = Millis(span / 1000 * 1000).to_string();
    rows.push(format!("       +{}", "-".repeat(width)));
    rows.push(format!(
        "        0s{}{end}",
        " ".repeat(width.saturating_sub(2 + end.len()))
    ));
    rows
}

impl fmt::Display for PlanView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self
            .name
            .as_deref()
            .map(|n| format!(" {n:?}"))
            .unwrap_or_default();
        writeln!(f, "plan{name}")?;
        let names = &self.targets.functions;
        let mut shown: Vec<String> = if names.len() > SHOWN_NAMES {
            vec![format!(
                "{} functions: {}, … {}",
                names.len(),
                names[..SHOWN_NAMES - 1].join(", "),
                names[names.len() - 1]
            )]
        } else {
            names.clone()
        };
        shown.extend(
            self.targets
                .select
                .iter()
                .map(|s| format!("{s} (resolved when the run starts; `plan --live` lists them)")),
        );
        let functions = if shown.is_empty() {
            "no function named (pass --function)".to_string()
        } else {
            shown.join(", ")
        };
        let alias = self
            .targets
            .alias
            .as_deref()
            .unwrap_or("no alias named (pass --alias)");
        let region = self
            .targets
            .region
            .as_deref()
            .unwrap_or("from the AWS configuration");
        writeln!(f, "  functions: {functions}")?;
        writeln!(f, "  alias:     {alias}")?;
        writeln!(f, "  region:    {region}")?;
        for param in &self.params {
            let set = if param.overridden { " (--set)" } else { "" };
            writeln!(f, "  param {} = {}{set}", param.name, param.value)?;
        }
        let defaults = if self.health.defaulted {
            " (defaults: the playbook has no health block)"
        } else {
            ""
        };
        writeln!(f, "  health:    {}{defaults}", self.health)?;
        writeln!(
            f,
            "  metrics:   read {} after each period ends: {}",
            self.metric_delay_ms, self.metric_delay
        )?;
        for (check, judged) in self.checks.iter().zip(&self.judged) {
            writeln!(f, "    - {check}: {judged}")?;
        }
        if let Some(hook) = &self.on_failure_hook {
            writeln!(f, "  on failure: run {hook}, then roll back")?;
        }
        if let Some(hook) = &self.on_success_hook {
            writeln!(f, "  on success: run {hook}")?;
        }
        if !self.live.is_empty() {
            writeln!(f)?;
            writeln!(f, "live (read with read-only calls):")?;
            for t in &self.live {
                match (&t.serves, &t.error) {
                    (Some(serves), _) => writeln!(
                        f,
                        "  {}:{} serves {serves}: old = {}",
                        t.function, t.alias, serves.version
                    )?,
                    (None, Some(error)) => {
                        writeln!(f, "  {}:{} cannot be read: {error}", t.function, t.alias)?
                    }
                    (None, None) => {}
                }
                if let Some(latest) = &t.latest {
                    writeln!(
                        f,
                        "    $LATEST: {:?}, last update {:?}",
                        latest.state, latest.last_update
                    )?;
                }
                writeln!(f, "    publish: {}", t.publish)?;
                if let Some(p) = &t.provisioned {
                    writeln!(
                        f,
                        "    provisioned concurrency: {} environments; Lambda splits them between old and new by weight, and each move of traffic waits until they are allocated",
                        p.requested
                    )?;
                }
            }
        }
        writeln!(f)?;
        writeln!(
            f,
            "before step 1 (read-only; old = the version the alias serves; Lambda's rules checked):"
        )?;
        for call in &self.preflight {
            writeln!(f, "  {call}")?;
        }
        for step in &self.steps {
            writeln!(f)?;
            let latest = step
                .latest_ms
                .map_or("unbounded".to_string(), |l| l.to_string());
            let when = if Some(step.earliest_ms) == step.latest_ms {
                format!("starts at {}", step.earliest_ms)
            } else {
                format!("starts between {} and {latest}", step.earliest_ms)
            };
            let via = if step.via.is_empty() {
                String::new()
            } else {
                format!(" (from {})", step.via.join(" > "))
            };
            writeln!(
                f,
                "step {}  {}{via}  [line {}, {when}]",
                step.number, step.text, step.line
            )?;
            if let Some(w) = step.weight_after {
                writeln!(f, "  new gets {w} of the traffic")?;
            }
            for call in &step.calls {
                writeln!(f, "  {call}")?;
            }
            for judge in &step.judged_by {
                writeln!(f, "  judged by {judge}")?;
            }
        }
        writeln!(f)?;
        writeln!(
            f,
            "if a step fails: run the on-failure hook if any, then restore old:"
        )?;
        for call in &self.on_failure {
            writeln!(f, "  {call}")?;
        }
        writeln!(f)?;
        writeln!(f, "traffic on new over time (shortest path):")?;
        for row in chart(&self.timeline, self.min_duration_ms, 60) {
            writeln!(f, "{row}")?;
        }
        writeln!(f)?;
        let max = self.max_duration_ms.map_or(
            "unbounded (an approval gate waits for a person)".to_string(),
            |m| m.to_string(),
        );
        writeln!(
            f,
            "duration: at least {}, at most {max}",
            self.min_duration_ms
        )
    }
}

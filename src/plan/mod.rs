//! The plan: what a checked playbook will do, as data.
//!
//! The checker produces a [`Plan`]; `plan` prints it and the engine executes it. Every value is
//! resolved: parameters substituted, step definitions expanded, units checked.

pub mod calls;
mod display;
pub mod metrics;
pub mod names;
pub mod notify;
mod policies;
mod quantity;
pub mod signatures;
mod unit;
pub mod waves;
pub mod windows;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::span::Span;
use crate::syntax::ast::LiteralKind;
pub use crate::syntax::ast::{BinOp, CompareOp, HookEvent, Inconclusive, Metric, Which};
pub use display::quantity;
pub use metrics::{CustomMetric, Statistic};
pub use policies::{SharedFailure, Violation};
pub use quantity::{Millis, Percent, QuantityError};
pub use unit::Unit;

/// A checked playbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The `rollout "…"` display name.
    pub name: Option<String>,
    /// What the rollout acts on.
    pub targets: Targets,
    /// Every parameter with the value in force.
    pub params: Vec<Param>,
    /// How `until healthy` judges.
    pub health: HealthSpec,
    /// Runs after a failure, before the rollback.
    pub on_failure: Option<Script>,
    /// Runs after promote.
    pub on_success: Option<Script>,
    /// The steps, expanded, in order.
    pub steps: Vec<Step>,
    /// The regions and accounts it rolls out to, wave after wave; `None`: one region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waves: Option<waves::Waves>,
    /// When traffic may move: weekly windows and change calendars; `None`: at any time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<windows::Windows>,
    /// Where the rollout's progress is sent, in the order written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<notify::Destination>,
    /// `keep N versions`: after `promote`, the unreferenced versions left of each function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep: Option<u32>,
}

impl Plan {
    /// A digest of what the rollout does: its steps with their values and how health judges
    /// them, as text (so not where the files are, nor how the playbook is laid out, nor where
    /// notifications go, which moves no traffic). The lease carries it, and `resume` continues
    /// only the playbook that started the rollout.
    pub fn fingerprint(&self) -> String {
        let mut text = format!("{}; delay {:?}", self.health, self.health.delay);
        for metric in &self.health.metrics {
            text.push_str(&format!("; {metric}"));
        }
        for check in &self.health.checks {
            text.push_str(&format!("; {check}"));
        }
        for step in &self.steps {
            text.push_str(&format!("\n{}", step.kind));
        }
        if let Some(waves) = &self.waves {
            text.push_str(&format!("\n{waves}"));
        }
        if let Some(windows) = &self.windows {
            text.push_str(&format!("\n{windows}"));
        }
        if let Some(n) = self.keep {
            text.push_str(&format!("\nkeep {n} versions"));
        }
        // FNV-1a: the same text gives the same digest in every build and on every machine.
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("{:08x}", (hash ^ (hash >> 32)) as u32)
    }
}

/// Functions, alias and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Targets {
    /// Function names; empty when neither the file nor the command line names one.
    pub functions: Vec<String>,
    /// Selections resolved against the region's functions at the start of a run (their
    /// matches join `functions` then).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub select: Vec<Selection>,
    /// The alias whose traffic moves.
    pub alias: Option<String>,
    /// The AWS region, when named.
    pub region: Option<String>,
}

/// Functions chosen by what they are called or carry, rather than by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// A glob over function names: `*` any run of characters, `?` any one.
    Pattern(String),
    /// Functions with this tag.
    Tagged {
        /// The tag's key.
        key: String,
        /// Its value.
        value: String,
    },
}

impl Selection {
    /// A name from a playbook or the command line: a pattern when it has `*` or `?`, else
    /// `None` (a plain name).
    pub fn pattern(text: &str) -> Option<Selection> {
        text.contains(['*', '?'])
            .then(|| Selection::Pattern(text.to_string()))
    }

    /// `key=value` of `tagged "key=value"`, or `None` when it is not that shape.
    pub fn tagged(text: &str) -> Option<Selection> {
        let (key, value) = text.split_once('=')?;
        (!key.trim().is_empty()).then(|| Selection::Tagged {
            key: key.trim().to_string(),
            value: value.trim().to_string(),
        })
    }

    /// Whether `name`, with `tags`, is selected.
    pub fn selects(&self, name: &str, tags: &BTreeMap<String, String>) -> bool {
        match self {
            Selection::Pattern(pattern) => glob(pattern, name),
            Selection::Tagged { key, value } => tags.get(key) == Some(value),
        }
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selection::Pattern(pattern) => write!(f, "{pattern:?}"),
            Selection::Tagged { key, value } => write!(f, "tagged \"{key}={value}\""),
        }
    }
}

/// Whether `text` matches the glob `pattern` (`*` any run of characters, `?` any one), in time
/// linear in their lengths times the number of `*`.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut i, mut j) = (0, 0);
    // Where the last `*` was, and where in `text` it began to match.
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        match p.get(i) {
            Some('*') => {
                star = Some((i, j));
                i += 1;
            }
            Some(&c) if c == '?' || c == t[j] => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((si, sj)) => {
                    i = si + 1;
                    j = sj + 1;
                    star = Some((si, sj + 1));
                }
                None => return false,
            },
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// A parameter and the value in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: ParamValue,
    /// Whether `--set` gave the value.
    pub overridden: bool,
}

/// A typed parameter value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum ParamValue {
    /// `5%`
    Percent(Percent),
    /// `10m`
    Duration(Millis),
    /// `12.5`
    Number(f64),
    /// `"text"`
    String(String),
}

impl ParamValue {
    /// The type's name, as diagnostics say it.
    pub fn type_name(&self) -> &'static str {
        match self {
            ParamValue::Percent(_) => "a percentage",
            ParamValue::Duration(_) => "a duration",
            ParamValue::Number(_) => "a number",
            ParamValue::String(_) => "a string",
        }
    }
}

impl ParamValue {
    /// A value written outside a playbook (`--set`, a command-line option, a hook), typed as a
    /// playbook types it: `5%`, `10m`, `12`, `"text"`; `None` when it is none of them.
    pub fn parse(text: &str) -> Option<ParamValue> {
        let literal = crate::syntax::parse_literal(text)?;
        match &literal.kind {
            LiteralKind::Percent(t) => Percent::parse(t).ok().map(ParamValue::Percent),
            LiteralKind::Duration(t) => Millis::parse(t).ok().map(ParamValue::Duration),
            LiteralKind::Number(t) => Some(ParamValue::Number(t.parse().unwrap_or(f64::MAX))),
            LiteralKind::Str(s) => s.as_plain().map(ParamValue::String),
        }
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Percent(p) => p.fmt(f),
            ParamValue::Duration(d) => d.fmt(f),
            ParamValue::Number(n) => n.fmt(f),
            ParamValue::String(s) => f.write_str(s),
        }
    }
}

/// A rhai hook named by the playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Script {
    /// As written in the file.
    pub name: String,
    /// Resolved against the directory of the file that names it.
    pub path: PathBuf,
    /// How long one run may take.
    #[serde(rename = "timeout_ms")]
    pub timeout: Millis,
}

impl Script {
    /// How long one run may take when the playbook gives no `timeout`.
    pub const DEFAULT_TIMEOUT: Millis = Millis(5_000);
}

/// A local file named by the playbook (the zip of `update code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalFile {
    /// As written in the file.
    pub name: String,
    /// Resolved against the directory of the file that names it.
    pub path: PathBuf,
}

/// How health is judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthSpec {
    /// The evaluation interval.
    pub every: Millis,
    /// Fewer invocations of `new` in the window make an evaluation inconclusive.
    pub min_invocations: u64,
    /// What an inconclusive evaluation counts as.
    pub inconclusive: Inconclusive,
    /// `metrics delay`: how old a period's end must be before it is judged; `None` for the
    /// default, which depends on the function's timeout.
    pub delay: Option<Millis>,
    /// `confidence`: the chance that a version meeting every check is not rolled back.
    pub confidence: Percent,
    /// Checks that must all hold.
    pub checks: Vec<Check>,
    /// True when the file has no `health` block and these are the defaults.
    pub defaulted: bool,
    /// What a bake does when `old` fails as much as a check allows `new`.
    pub shared_failure: SharedFailure,
    /// `new`'s first traffic that latency (and optionally error) checks leave out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_up: Option<WarmUp>,
    /// `async`: the function is invoked asynchronously, so each failed event may be retried
    /// (its event invoke config says how often) and errors come in clusters.
    pub asynchronous: bool,
    /// What a violated check does in a bake.
    #[serde(skip_serializing_if = "Violation::is_rollback")]
    pub violation: Violation,
    /// `inconclusive extend up to D`: how much longer a bake still inconclusive at its end
    /// goes on judging before it fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extend: Option<Millis>,
    /// The checks (by their place in `checks`) marked `observe`: judged and shown, never
    /// failing, holding or leaving a bake inconclusive.
    #[serde(skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub observed: std::collections::BTreeSet<usize>,
    /// The metrics named by `metric` headers, which checks refer to by their place here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<CustomMetric>,
}

/// `warm up D [including errors]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WarmUp {
    /// How long after `new` first gets traffic its periods are left out.
    pub length: Millis,
    /// Whether error checks leave them out too (latency checks always do).
    pub errors: bool,
}

impl HealthSpec {
    /// `confidence` when the health block gives none: 99%.
    pub const DEFAULT_CONFIDENCE: Percent = Percent(9_900);

    /// The warm-up when the health block says nothing: `warm up 2m`. A new version's first
    /// environments start cold; two minutes covers the cold starts measured in the benchmark's
    /// worlds, at the cost of catching a latency regression two minutes later.
    pub const DEFAULT_WARM_UP: WarmUp = WarmUp {
        length: Millis(120_000),
        errors: false,
    };

    /// The longest hold when the health block says nothing: `shared failure hold up to 30m`.
    pub const DEFAULT_SHARED_FAILURE: SharedFailure = SharedFailure::Hold {
        at_most: Millis(1_800_000),
    };

    /// `health every 1m { min invocations 1; error rate < 1% }`: what `until healthy` uses
    /// when the file has no `health` block.
    pub fn default_spec() -> Self {
        let every = Millis::from_minutes(1);
        HealthSpec {
            every,
            min_invocations: 1,
            inconclusive: Inconclusive::Fail,
            delay: None,
            confidence: HealthSpec::DEFAULT_CONFIDENCE,
            shared_failure: HealthSpec::DEFAULT_SHARED_FAILURE,
            warm_up: Some(HealthSpec::DEFAULT_WARM_UP),
            asynchronous: false,
            observed: Default::default(),
            violation: Violation::Rollback,
            extend: None,
            metrics: Vec::new(),
            checks: vec![Check::Compare {
                lhs: Expr::Metric {
                    metric: Metric::ErrorRate,
                    of: Which::New,
                    over: every,
                },
                op: CompareOp::Lt,
                rhs: Expr::Const {
                    value: 1.0,
                    unit: Unit::Percent,
                },
            }],
            defaulted: true,
        }
    }
}

/// One health check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Check {
    /// `lhs op rhs`
    Compare {
        /// Left side.
        lhs: Expr,
        /// Operator.
        op: CompareOp,
        /// Right side.
        rhs: Expr,
    },
    /// A CloudWatch alarm that must not be in `ALARM`.
    Alarm {
        /// The alarm's name.
        name: String,
    },
    /// A rhai hook.
    Script {
        /// The script.
        script: Script,
    },
    /// `no new error signatures …`: read from the function's logs.
    Signatures(signatures::Signatures),
}

/// A typed health expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Expr {
    /// A CloudWatch metric of one version over a window.
    Metric {
        /// Which metric.
        metric: Metric,
        /// Of which version.
        of: Which,
        /// Over which window.
        over: Millis,
    },
    /// A constant; percentages in percent, durations in milliseconds.
    Const {
        /// The number.
        value: f64,
        /// Its unit.
        unit: Unit,
    },
    /// `lhs op rhs`
    Binary {
        /// Operator.
        op: BinOp,
        /// Left side.
        lhs: Box<Expr>,
        /// Right side.
        rhs: Box<Expr>,
    },
}

impl Expr {
    /// The metrics it reads, each with its window, in the order written.
    pub fn metrics(&self) -> Vec<(&Metric, Millis)> {
        match self {
            Expr::Metric { metric, over, .. } => vec![(metric, *over)],
            Expr::Const { .. } => Vec::new(),
            Expr::Binary { lhs, rhs, .. } => {
                let mut all = lhs.metrics();
                all.extend(rhs.metrics());
                all
            }
        }
    }

    /// The expression's unit (the checker has made sure it has one).
    pub fn unit(&self) -> Unit {
        match self {
            Expr::Metric { metric, .. } => Unit::of_metric(metric),
            Expr::Const { unit, .. } => *unit,
            Expr::Binary { op, lhs, rhs } => {
                Unit::combine(*op, lhs.unit(), rhs.unit()).unwrap_or(Unit::Number)
            }
        }
    }
}

/// A step of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// What it does.
    #[serde(flatten)]
    pub kind: StepKind,
    /// Where the step (or the call that expanded to it) is written in the playbook.
    pub span: Span,
    /// The step definitions it was expanded from, outermost first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
}

impl StepKind {
    /// Whether health is judged during the step: bakes, ramps, approval gates and the watch
    /// after `promote`.
    pub fn judges_health(&self) -> bool {
        matches!(
            self,
            StepKind::Bake { .. }
                | StepKind::Ramp { .. }
                | StepKind::Approve { .. }
                | StepKind::Watch { .. }
        )
    }
}

/// The steps of docs/language.md §4, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// `update code from "x.zip"`
    UpdateCode {
        /// The zip.
        zip: LocalFile,
    },
    /// `publish`
    Publish {
        /// The version description, when given.
        description: Option<String>,
    },
    /// `use version N`
    UseVersion {
        /// The version number.
        version: u64,
    },
    /// `shift P% to new`
    Shift {
        /// Weight of `new`.
        weight: Percent,
    },
    /// `ramp to P% by S% every D`
    Ramp {
        /// Weight it starts from.
        from: Percent,
        /// Final weight.
        to: Percent,
        /// Increment.
        by: Percent,
        /// Bake after each increment.
        every: Millis,
        /// The weights it shifts to, in order; the last is `to`.
        increments: Vec<Percent>,
    },
    /// `wait D`
    Wait {
        /// How long.
        duration: Millis,
    },
    /// `wait D until healthy`, or `wait MIN..MAX until healthy`
    Bake {
        /// How much traffic it judges; the longest, for an adaptive bake.
        duration: Millis,
        /// For an adaptive bake, the shortest: after it, the bake passes as soon as every check
        /// is confidently satisfied.
        #[serde(skip_serializing_if = "Option::is_none")]
        shortest: Option<Millis>,
    },
    /// `approve`
    Approve {
        /// What to ask.
        message: Option<String>,
    },
    /// `run "x.rhai"`
    Run {
        /// The script.
        script: Script,
    },
    /// `promote`
    Promote,
    /// `watch D`, right after `promote`: `new`, serving everything, is judged for D against
    /// `old`'s rates from before the rollout; a violation puts `old` back.
    Watch {
        /// How much traffic it judges.
        duration: Millis,
    },
    /// `rollback`
    Rollback,
}

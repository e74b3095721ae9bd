//! The syntax tree: what the file says, as written, with a span on every node.
//!
//! Values stay lexical here (`"5%"`, `"1h30m"`): turning them into numbers, and reporting the ones
//! that are out of range, is the checker's job, so that every such error is collected.

use crate::span::Span;

mod metrics;
mod waves;
mod windows;

pub use metrics::{CustomRef, Metric, MetricDef, MetricItem, MetricItemKind, Statistic};
pub use waves::{WaveDef, WaveItem, WaveItemKind, WaveScope, WavesBlock, WavesItem, WavesItemKind};
pub use windows::{DayRange, Outside, WeeklyWindow, WindowHeader, Word};

/// A parsed `.rollout` file.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// Headers and steps in source order.
    pub statements: Vec<Statement>,
}

/// One statement at the top level of a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// Configuration: targets, parameters, health, hooks, step definitions.
    Header(Header),
    /// Something the rollout does.
    Step(Step),
}

/// A header with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// What the header says.
    pub kind: HeaderKind,
    /// The whole header, blocks included.
    pub span: Span,
}

/// The headers of docs/language.md §3.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderKind {
    /// `rollout "name"`
    Rollout(Str),
    /// `function "a", "b-*", tagged "k=v"`
    Function(Vec<Selector>),
    /// `alias "live"`
    Alias(Str),
    /// `region "eu-west-1"`
    Region(Str),
    /// `param name = literal`
    Param {
        /// The parameter's name.
        name: Ident,
        /// Its default, which also fixes its type.
        value: Literal,
    },
    /// `import "file.rollout"`
    Import(Str),
    /// `health every D { … }`
    Health(HealthBlock),
    /// `waves { … }`
    Waves(WavesBlock),
    /// `window …`, `calendar …` or `outside window …`
    Window(WindowHeader),
    /// `notify eventbridge "bus"` / `notify sns "topic-arn"`
    Notify {
        /// The service.
        service: NotifyService,
        /// The bus (name or ARN) or the topic's ARN.
        target: Str,
    },
    /// `keep N versions`
    Keep(Value),
    /// `metric NAME { … }`
    Metric(MetricDef),
    /// `on failure run "x.rhai"` / `on success run "x.rhai"`
    OnHook {
        /// When the hook runs.
        event: HookEvent,
        /// The script.
        hook: HookRef,
    },
    /// `step name(a, b) { … }`
    StepDef(StepDef),
}

impl HeaderKind {
    /// The keyword that starts the header, as users write it.
    pub fn keyword(&self) -> &'static str {
        match self {
            HeaderKind::Rollout(_) => "rollout",
            HeaderKind::Function(_) => "function",
            HeaderKind::Alias(_) => "alias",
            HeaderKind::Region(_) => "region",
            HeaderKind::Param { .. } => "param",
            HeaderKind::Import(_) => "import",
            HeaderKind::Health(_) => "health",
            HeaderKind::Waves(_) => "waves",
            HeaderKind::Window(window) => window.keyword(),
            HeaderKind::Notify { .. } => "notify",
            HeaderKind::Keep(_) => "keep",
            HeaderKind::Metric(_) => "metric",
            HeaderKind::OnHook {
                event: HookEvent::Failure,
                ..
            } => "on failure",
            HeaderKind::OnHook {
                event: HookEvent::Success,
                ..
            } => "on success",
            HeaderKind::StepDef(_) => "step",
        }
    }
}

/// The service a `notify` line sends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyService {
    /// An Amazon EventBridge event bus: `PutEvents`.
    EventBridge,
    /// An Amazon SNS topic: `Publish`.
    Sns,
}

impl NotifyService {
    /// The word a playbook writes for it.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyService::EventBridge => "eventbridge",
            NotifyService::Sns => "sns",
        }
    }
}

/// When an `on … run` hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HookEvent {
    /// After a failure, before the rollback.
    Failure,
    /// After promote.
    Success,
}

/// `health every D { … }`
#[derive(Debug, Clone, PartialEq)]
pub struct HealthBlock {
    /// The evaluation interval, when given.
    pub every: Option<Value>,
    /// The block's lines.
    pub items: Vec<HealthItem>,
    /// The closing brace.
    pub close: Span,
}

/// One line of a `health` block.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthItem {
    /// What the line says.
    pub kind: HealthItemKind,
    /// The whole line.
    pub span: Span,
}

/// The lines a `health` block may hold.
#[derive(Debug, Clone, PartialEq)]
pub enum HealthItemKind {
    /// `min invocations N`
    MinInvocations(Value),
    /// `inconclusive pass|fail`
    Inconclusive(Inconclusive),
    /// `metrics delay D`
    MetricsDelay(Value),
    /// `confidence P`
    Confidence(Value),
    /// `shared failure hold [up to D]` (`Some`) or `shared failure rollback` (`None`)
    SharedFailure(Option<Option<Value>>),
    /// `warm up D [including errors]`
    WarmUp {
        /// How long.
        length: Value,
        /// Whether error checks leave it out too.
        errors: bool,
    },
    /// `async`
    Async,
    /// `alarm "name"`
    Alarm(Str),
    /// `script "x.rhai" [timeout D]`
    Script(HookRef),
    /// `METRIC … < …`
    Compare(Box<Comparison>),
    /// `no new error signatures [seen more than N times] [matching "RE"] [in "GROUP"]`
    Signatures(Box<SignaturesCheck>),
    /// `observe CHECK`: an alarm, script or comparison judged and shown, never failing a bake.
    Observe(Box<HealthItemKind>),
    /// `inconclusive extend up to D`
    InconclusiveExtend(Value),
    /// `on violation rollback` (`None`) or `on violation pause [up to D]` (`Some`)
    Violation(Option<Option<Value>>),
}

/// `no new error signatures …`: its optional parts, as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignaturesCheck {
    /// `seen more than N times`: N.
    pub more_than: Option<Value>,
    /// `matching "RE"`: which lines count as errors.
    pub matching: Option<Str>,
    /// `in "GROUP"`: the log group.
    pub log_group: Option<Str>,
}

/// What an evaluation without enough data counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Inconclusive {
    /// Counts as a failure (the default: fail closed).
    Fail,
    /// Counts as a pass.
    Pass,
}

/// `lhs OP rhs [over D]`
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Left operand.
    pub lhs: Expr,
    /// The comparison operator.
    pub op: CompareOp,
    /// Where the operator is.
    pub op_span: Span,
    /// Right operand.
    pub rhs: Expr,
    /// A window for every metric of the check that names none.
    pub over: Option<Value>,
}

/// `< <= > >= == !=`
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum CompareOp {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
}

impl CompareOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
        }
    }
}

/// `+ - * /`
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum BinOp {
    /// `+`
    #[serde(rename = "+")]
    Add,
    /// `-`
    #[serde(rename = "-")]
    Sub,
    /// `*`
    #[serde(rename = "*")]
    Mul,
    /// `/`
    #[serde(rename = "/")]
    Div,
}

impl BinOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }

    /// Binding strength: `*` and `/` bind tighter than `+` and `-`.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Add | BinOp::Sub => 1,
            BinOp::Mul | BinOp::Div => 2,
        }
    }
}

/// An arithmetic expression over metrics and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The forms of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A metric of `new` or `old`.
    Metric(MetricRef),
    /// A literal or a parameter.
    Value(Value),
    /// `( … )`, kept so that `fmt` prints what was written.
    Paren(Box<Expr>),
    /// `lhs op rhs`
    Binary {
        /// The operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
}

/// `p99 duration of old over 5m`
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRef {
    /// Which metric.
    pub metric: Metric,
    /// `of new` / `of old`, when written.
    pub of: Option<Which>,
    /// `over D`, when written.
    pub over: Option<Value>,
}

/// `new` or `old`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Which {
    /// The version being rolled out.
    New,
    /// The version the alias served before.
    Old,
}

impl Which {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Which::New => "new",
            Which::Old => "old",
        }
    }

    /// The other version.
    pub fn other(self) -> Which {
        match self {
            Which::New => Which::Old,
            Which::Old => Which::New,
        }
    }
}

/// A step with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What the step says.
    pub kind: StepKind,
    /// The whole step.
    pub span: Span,
}

/// The steps of docs/language.md §4.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// `update code from "x.zip"`
    UpdateCode(Str),
    /// `publish ["description"]`
    Publish(Option<Str>),
    /// `use version N`
    UseVersion(Value),
    /// `shift P to new`
    Shift(Value),
    /// `ramp to P by S every D`
    Ramp {
        /// Final weight.
        to: Value,
        /// Increment.
        by: Value,
        /// Bake between increments.
        every: Value,
    },
    /// `wait D [until healthy]`, or `wait MIN..MAX until healthy`
    Wait {
        /// How long; the shortest bake when `longest` is given.
        duration: Value,
        /// The longest an adaptive bake lasts.
        longest: Option<Value>,
        /// Whether health is judged meanwhile.
        until_healthy: bool,
    },
    /// `approve ["message"]`
    Approve(Option<Str>),
    /// `run "x.rhai" [timeout D]`
    Run(HookRef),
    /// `promote`
    Promote,
    /// `watch D`: after `promote`, judge `new` against `old`'s rates before the rollout
    Watch(Value),
    /// `rollback`
    Rollback,
    /// `name(args…)`
    Call {
        /// The step definition called.
        name: Ident,
        /// Its arguments.
        args: Vec<Value>,
    },
    /// `{ … }`
    Block(Block),
}

/// A rhai script named by the playbook, with its optional `timeout D`.
#[derive(Debug, Clone, PartialEq)]
pub struct HookRef {
    /// The path, relative to the file that names it.
    pub script: Str,
    /// How long one run may take.
    pub timeout: Option<Value>,
}

/// `{ steps }`
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The steps inside.
    pub steps: Vec<Step>,
    /// The closing brace.
    pub close: Span,
}

/// `step name(params) { body }`
#[derive(Debug, Clone, PartialEq)]
pub struct StepDef {
    /// Its name.
    pub name: Ident,
    /// Its parameters.
    pub params: Vec<Ident>,
    /// What it expands to.
    pub body: Block,
}

/// A name as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where.
    pub span: Span,
}

/// A literal or a parameter used bare.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Written out.
    Literal(Literal),
    /// A parameter (or a step argument) by name.
    Param(Ident),
}

impl Value {
    /// Where the value was written.
    pub fn span(&self) -> Span {
        match self {
            Value::Literal(literal) => literal.span,
            Value::Param(ident) => ident.span,
        }
    }
}

/// A literal, kept as its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    /// Its kind and text.
    pub kind: LiteralKind,
    /// Where.
    pub span: Span,
}

/// The four literal types.
#[derive(Debug, Clone, PartialEq)]
pub enum LiteralKind {
    /// `1h30m`
    Duration(String),
    /// `5%`, the text without `%`
    Percent(String),
    /// `12.5`
    Number(String),
    /// `"…"`
    Str(Str),
}

/// A string literal: text and `${name}` interpolations.
#[derive(Debug, Clone, PartialEq)]
pub struct Str {
    /// Its pieces, escapes already resolved.
    pub parts: Vec<StrPart>,
    /// Where, quotes included.
    pub span: Span,
}

/// One selection of functions in a `function` header.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// `tagged "key=value"` rather than a name or pattern.
    pub tagged: bool,
    /// The name, pattern or `key=value`.
    pub text: Str,
}

/// A piece of a string.
#[derive(Debug, Clone, PartialEq)]
pub enum StrPart {
    /// Characters, escapes resolved.
    Text(String),
    /// `${name}`
    Param(Ident),
}

impl Str {
    /// The text if the string has no interpolation.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                StrPart::Text(text) => out.push_str(text),
                StrPart::Param(_) => return None,
            }
        }
        Some(out)
    }
}

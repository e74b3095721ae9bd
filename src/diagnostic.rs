//! Diagnostics: every problem a user can meet, with a stable code, a pointed span and a hint.
//!
//! One type serves every stage (parse, check, command line) so that they are collected, sorted,
//! rendered and serialised the same way. The codes are an enum so that the reference in
//! `docs/language.md` can list them all and none is spelled two ways.

use std::fmt;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};
use serde::Serialize;

use crate::span::Span;

/// A source file as diagnostics show it: its display name and its text.
pub type Source = Arc<NamedSource<String>>;

/// Makes a [`Source`] from a display name and text.
pub fn source(name: impl AsRef<str>, text: String) -> Source {
    Arc::new(NamedSource::new(name, text))
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file is still valid.
    Warning,
    /// The file is invalid; nothing runs.
    Error,
}

macro_rules! codes {
    ($($variant:ident => $code:literal, $severity:ident, $what:literal;)*) => {
        /// The stable code of each diagnostic, shown as `rollout::<code>`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code {
            $(#[doc = $what] $variant,)*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as shown, without the `rollout::` prefix.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// Whether diagnostics with this code are errors or warnings.
            pub fn severity(self) -> Severity {
                match self {
                    $(Code::$variant => Severity::$severity,)*
                }
            }

            /// One line saying what the code is about.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Code::$variant => $what,)*
                }
            }
        }
    };
}

codes! {
    Io => "io", Error, "A file could not be read.";
    TooLarge => "too-large", Error, "A file larger than the tools read, or steps that expand past the limit.";
    Syntax => "syntax", Error, "The text does not follow the grammar.";
    HeaderAfterStep => "header-after-step", Error, "A header comes after the first step.";
    DuplicateHeader => "duplicate-header", Error, "A header that may appear once appears twice.";
    DuplicateParam => "duplicate-param", Error, "Two parameters share a name.";
    DuplicateStepDef => "duplicate-step", Error, "Two step definitions share a name.";
    DuplicateImport => "duplicate-import", Error, "The same file is imported twice.";
    DuplicateSetting => "duplicate-setting", Error, "A health or waves setting, or a wave's account, is given twice.";
    UnknownParam => "unknown-param", Error, "A name that is not a parameter.";
    ParamType => "param-type", Error, "A value of the wrong type for where it is used.";
    SetUnknown => "set-unknown", Error, "`--set` names a parameter the file does not declare.";
    SetValue => "set-value", Error, "`--set` gives a value that is not valid for the parameter.";
    UnknownStep => "unknown-step", Error, "A call to a step that is not defined.";
    StepArgs => "step-args", Error, "A step call with the wrong number of arguments.";
    RecursiveStep => "recursive-step", Error, "A step definition that calls itself.";
    BadTag => "bad-tag", Error, "A `tagged` selection that is not `key=value`.";
    BadName => "bad-name", Error, "A function, alias or region name that AWS does not accept.";
    EmptyWaves => "empty-waves", Error, "A `waves` block without a wave.";
    WaveWithoutRegion => "wave-without-region", Error, "A wave that names no region.";
    DuplicateWave => "duplicate-wave", Error, "Two waves share a name.";
    DuplicatePlace => "duplicate-place", Error, "A region (of one account) named twice, in one wave or in two.";
    BadAccount => "bad-account", Error, "A wave's account id that is not 12 digits.";
    BadRole => "bad-role", Error, "A role that is not an IAM role's ARN, or not one of the wave's account.";
    BadExternalId => "bad-external-id", Error, "An external id that STS does not accept.";
    RegionWithWaves => "region-with-waves", Error, "A `region` header or `--region` beside `waves`, which name the regions.";
    WavesWithoutPromote => "waves-without-promote", Error, "A playbook with waves whose steps do not end in `promote`.";
    UnknownTimeZone => "unknown-time-zone", Error, "A window's time zone that the IANA database does not know.";
    BadDay => "bad-day", Error, "A window's day that is not `mon` to `sun`.";
    BadTime => "bad-time", Error, "A window's time that is not HH:MM from 00:00 to 24:00.";
    InvertedRange => "inverted-range", Error, "A window's days that run backwards, such as `fri-mon`.";
    EmptyWindow => "empty-window", Error, "A window that closes when it opens: never open.";
    DuplicateWindow => "duplicate-window", Error, "A window or calendar given twice, or a day named twice in a window.";
    BadCalendar => "bad-calendar", Error, "A calendar that is not an SSM Change Calendar's name or ARN.";
    OutsideWithoutWindow => "outside-without-window", Error, "`outside window` in a playbook without a window or calendar.";
    BadBus => "bad-bus", Error, "A `notify eventbridge` bus that is not a bus's name or ARN.";
    BadTopic => "bad-topic", Error, "A `notify sns` topic that is not a standard topic's ARN.";
    DuplicateNotify => "duplicate-notify", Error, "The same `notify` destination named twice.";
    BadMetric => "bad-metric", Error, "A `metric` header that is incomplete, repeats a line or a name, or is used in a way its statistic does not allow.";
    KeepWithWaves => "keep-with-waves", Error, "`keep N versions` in a playbook with `waves`: not supported yet.";
    WatchPlacement => "watch-placement", Error, "A `watch` that does not directly follow `promote`, or a second one.";
    WatchWithWaves => "watch-with-waves", Error, "A `watch` after `promote` in a playbook with `waves`: not supported yet.";
    BadPattern => "bad-pattern", Error, "A `matching` pattern that is not a regular expression.";
    BadLogGroup => "bad-log-group", Error, "A log group name that CloudWatch Logs does not accept.";
    SignaturesWithWaves => "signatures-with-waves", Error, "`no new error signatures` in a playbook with `waves`: not supported yet.";
    TooDeep => "too-deep", Error, "Brackets, or step calls, nested deeper than the tools follow.";
    NoNewVersion => "no-new-version", Error, "Traffic moves before `publish` or `use version`.";
    SecondVersion => "second-version", Error, "A second `publish` or `use version`.";
    UpdateAfterVersion => "update-after-version", Error, "`update code` after `new` is chosen cannot change it.";
    PercentRange => "percent-range", Error, "A percentage outside what the step allows.";
    PercentPrecision => "percent-precision", Error, "A percentage with more than two decimals.";
    BadNumber => "bad-number", Error, "A number that is not valid where it is used.";
    ZeroDuration => "zero-duration", Error, "A duration of zero.";
    DurationPrecision => "duration-precision", Error, "A duration finer than a millisecond.";
    WindowTooShort => "window-too-short", Error, "A health `every` or `over` shorter than one second.";
    RampRange => "ramp-range", Error, "A ramp whose target is not above the weight it starts from.";
    BakeRange => "bake-range", Error, "A `wait MIN..MAX` whose bounds are not in order or that judges nothing.";
    DelayRange => "delay-range", Error, "A `metrics delay` longer than a day.";
    BakeTooShort => "bake-too-short", Error, "A bake shorter than one period of metrics, which can judge almost nothing.";
    ConfidenceRange => "confidence-range", Error, "A health `confidence` outside 50% to 99.99%.";
    AfterEnd => "after-end", Error, "Steps after `promote` or `rollback`, which never run.";
    VacuousCheck => "vacuous-check", Error, "A health check that can never fail, or never pass.";
    UnitMismatch => "unit-mismatch", Error, "A health expression mixing percent, duration and count.";
    MissingFile => "missing-file", Error, "A script or import that does not exist.";
    HookSyntax => "hook-syntax", Error, "A rhai hook that does not compile.";
    HookMember => "hook-member", Error, "A rhai hook using a member `ctx` does not have.";
    ImportCycle => "import-cycle", Error, "Files that import each other.";
    ImportContent => "import-content", Error, "An imported file holding more than params, health and steps.";
    ImportConflict => "import-conflict", Error, "Two imports define the same name.";
    OutputIsInput => "output-is-input", Error, "`--report` or `--journal` names a file the playbook reads.";
    EndsSplit => "ends-split", Warning, "The plan ends with traffic still split.";
    NoSteps => "no-steps", Warning, "The playbook has no steps.";
    DefaultHealth => "default-health", Warning, "`until healthy` without a `health` block.";
    NoTraffic => "no-traffic", Warning, "Health is judged while `new` gets no traffic.";
    UnusedStep => "unused-step", Warning, "A step definition that is never called.";
    MissingZip => "missing-zip", Warning, "The zip for `update code` does not exist yet.";
}

/// A label: a span in the diagnostic's source and what to say there.
#[derive(Debug, Clone)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What.
    pub text: String,
}

/// One diagnostic.
#[derive(Debug, Clone)]
pub struct Diag {
    /// Its stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// Spans in `source`; the first is the primary one.
    pub labels: Vec<Label>,
    /// What to write instead.
    pub help: String,
    /// The file the labels point into, when there is one.
    pub source: Option<Source>,
}

impl Diag {
    /// A diagnostic with the severity its code carries.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diag {
            code,
            severity: code.severity(),
            message: message.into(),
            labels: Vec::new(),
            help: String::new(),
            source: None,
        }
    }

    /// Points at `span` of `source`.
    pub fn at(mut self, source: &Source, span: Span, text: impl Into<String>) -> Self {
        self.source = Some(source.clone());
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// Adds a secondary label in the same source.
    pub fn also(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// The file `display` could not be read, for `error`.
    pub fn unreadable(display: &str, error: &crate::input::ReadError) -> Self {
        let code = match error {
            crate::input::ReadError::TooLarge { .. } => Code::TooLarge,
            _ => Code::Io,
        };
        Diag::new(code, format!("cannot read {display}: {error}"))
            .help(error.hint())
            .in_file(display)
    }

    /// About the file `name` as a whole (one that could not be read): named, with no place in it.
    pub fn in_file(mut self, name: &str) -> Self {
        self.source = Some(source(name, String::new()));
        self
    }

    /// Says what to do.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// Whether it makes the input invalid.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Line and column (1-based, columns in characters) of the primary label.
    pub fn position(&self) -> Option<(usize, usize)> {
        let source = self.source.as_ref()?;
        let label = self.labels.first()?;
        Some(line_column(source.inner(), label.span.start))
    }

    fn sort_key(&self) -> (usize, usize) {
        self.labels
            .first()
            .map_or((usize::MAX, usize::MAX), |l| (l.span.start, l.span.end))
    }
}

/// Line and column (1-based; the column counts characters) of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_column(text, offset)
}

/// Where each line of a text starts, to find many positions in it, each in logarithmic time.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// The index of `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// Line and column (1-based; the column counts characters) of byte `offset` in `text`, the
    /// text this index was made of.
    pub fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        (line, text[start..offset].chars().count() + 1)
    }
}

/// Every diagnostic as `--format json` prints it, each source indexed once.
pub fn json_diags(diags: &[Diag]) -> Vec<JsonDiag> {
    let mut indexes: std::collections::HashMap<String, LineIndex> = Default::default();
    diags
        .iter()
        .map(|diag| {
            let position = match (&diag.source, diag.labels.first()) {
                (Some(source), Some(label)) => {
                    let index = indexes
                        .entry(source.name().to_string())
                        .or_insert_with(|| LineIndex::new(source.inner()));
                    Some(index.line_column(source.inner(), label.span.start))
                }
                _ => None,
            };
            JsonDiag::at(diag, position)
        })
        .collect()
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diag {}

impl miette::Diagnostic for Diag {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("rollout::{}", self.code.as_str())))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.help.is_empty()).then(|| Box::new(&self.help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| &**s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.source.is_none() || self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().enumerate().map(|(i, l)| {
            let text = (!l.text.is_empty()).then(|| l.text.clone());
            if i == 0 {
                LabeledSpan::new_primary_with_span(text, l.span)
            } else {
                LabeledSpan::new_with_span(text, l.span)
            }
        })))
    }
}

/// Sorts diagnostics by file position and drops exact repeats (a step definition expanded
/// twice reports its problems once).
pub fn tidy(diags: &mut Vec<Diag>) {
    diags.sort_by_key(|d| {
        (
            d.source.as_ref().map(|s| s.name().to_string()),
            d.sort_key(),
        )
    });
    diags.dedup_by(|a, b| {
        a.code == b.code
            && a.message == b.message
            && a.sort_key() == b.sort_key()
            && a.source.as_ref().map(|s| s.name()) == b.source.as_ref().map(|s| s.name())
    });
}

/// How diagnostics are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Unicode and colour, for a terminal.
    Fancy,
    /// ASCII, no colour, fixed width: logs, pipes and tests.
    Plain,
}

/// Renders diagnostics as people read them.
pub fn render(diags: &[Diag], style: Style, width: usize) -> String {
    let theme = match style {
        Style::Fancy => GraphicalTheme::unicode(),
        Style::Plain => GraphicalTheme::none(),
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(width);
    let mut out = String::new();
    for diag in diags {
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, diag);
    }
    out
}

/// A diagnostic as `--format json` prints it.
#[derive(Debug, Serialize)]
pub struct JsonDiag {
    /// File name, as given.
    pub file: Option<String>,
    /// 1-based line of the primary span.
    pub line: Option<usize>,
    /// 1-based column of the primary span.
    pub column: Option<usize>,
    /// `rollout::…`
    pub code: String,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// What the primary label says.
    pub label: Option<String>,
    /// What to do.
    pub help: String,
}

impl JsonDiag {
    /// `diag`, whose primary label is at `position`.
    fn at(diag: &Diag, position: Option<(usize, usize)>) -> Self {
        JsonDiag {
            file: diag.source.as_ref().map(|s| s.name().to_string()),
            line: position.map(|p| p.0),
            column: position.map(|p| p.1),
            code: format!("rollout::{}", diag.code.as_str()),
            severity: diag.severity,
            message: diag.message.clone(),
            label: diag.labels.first().map(|l| l.text.clone()),
            help: diag.help.clone(),
        }
    }
}

/// The known name closest to `name`, if it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= (k.len().max(name.len()) / 3).max(1))
        .min()
        .map(|(_, k)| k)
}

/// Edits (insert, delete, replace, or swap two neighbours) that turn `a` into `b`: the optimal
/// string alignment distance, so that `wiat` is one edit from `wait`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: two back, one back, this one.
    let mut two: Vec<usize> = vec![0; b.len() + 1];
    let mut one: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (one[j - 1] + cost).min(one[j] + 1).min(row[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(two[j - 2] + 1);
            }
        }
        two = std::mem::replace(&mut one, row);
    }
    one[b.len()]
}

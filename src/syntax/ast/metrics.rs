//! The metrics a health check names (docs/language.md §5), and `metric` headers as written: a
//! CloudWatch metric the function publishes per version, named for health checks.

use super::{Ident, Str};
use crate::span::Span;

/// `metric NAME { … }`
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDef {
    /// The name health checks use.
    pub name: Ident,
    /// Its lines, in order.
    pub items: Vec<MetricItem>,
    /// The closing `}`.
    pub close: Span,
}

/// One line of a `metric` block with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricItem {
    /// What the line says.
    pub kind: MetricItemKind,
    /// The whole line.
    pub span: Span,
}

/// The lines of a `metric` block.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricItemKind {
    /// `namespace "Shop"`
    Namespace(Str),
    /// `name "OrdersPlaced"`
    Name(Str),
    /// `statistic sum`
    Statistic(Statistic),
    /// `version dimension "FunctionVersion"`
    VersionDimension(Str),
    /// `dimension "Service" = "checkout"`
    Dimension(Str, Str),
}

/// A CloudWatch statistic of one period.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// `sum`: a count.
    Sum,
    /// `average`
    Average,
    /// `minimum`
    Minimum,
    /// `maximum`
    Maximum,
    /// `sample count`: how many values were published, a count.
    SampleCount,
    /// `p99`, `p99.9`: the percentile, such as 99.0.
    Percentile(f64),
}

impl Statistic {
    /// The statistic as `GetMetricData` names it: `Sum`, `SampleCount`, `p99`.
    pub fn cloudwatch(self) -> String {
        match self {
            Statistic::Sum => "Sum".into(),
            Statistic::Average => "Average".into(),
            Statistic::Minimum => "Minimum".into(),
            Statistic::Maximum => "Maximum".into(),
            Statistic::SampleCount => "SampleCount".into(),
            Statistic::Percentile(p) => format!("p{p}"),
        }
    }

    /// Whether a period's value counts something (`sum`, `sample count`), so that periods add
    /// up and the sequential tests can judge it.
    pub fn counts(self) -> bool {
        matches!(self, Statistic::Sum | Statistic::SampleCount)
    }
}

impl std::fmt::Display for Statistic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Statistic::Sum => f.write_str("sum"),
            Statistic::Average => f.write_str("average"),
            Statistic::Minimum => f.write_str("minimum"),
            Statistic::Maximum => f.write_str("maximum"),
            Statistic::SampleCount => f.write_str("sample count"),
            Statistic::Percentile(p) => write!(f, "p{p}"),
        }
    }
}

/// `orders` or `orders per invocation` in a health check.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CustomRef {
    /// The name of its `metric` header.
    pub name: String,
    /// `per invocation`: divided by the version's invocations in the same periods.
    pub per_invocation: bool,
    /// Its place among the health spec's metrics; the checker sets it (0 as parsed).
    #[serde(skip)]
    pub index: usize,
    /// Whether its statistic counts (`sum`, `sample count`); the checker sets it.
    #[serde(skip)]
    pub counts: bool,
}

/// The metrics of docs/language.md §5.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// `invocations`
    Invocations,
    /// `errors`
    Errors,
    /// `error rate`
    ErrorRate,
    /// `throttles`
    Throttles,
    /// `pNN duration`; the text after `p`, such as `99` or `99.9`.
    Percentile(String),
    /// `avg duration`
    AvgDuration,
    /// `max duration`
    MaxDuration,
    /// `concurrency`
    Concurrency,
    /// `cold starts`: the share of invocations that started an execution environment.
    ColdStarts,
    /// `pNN init duration`; the text after `p`.
    InitPercentile(String),
    /// `avg init duration`
    AvgInitDuration,
    /// `max init duration`
    MaxInitDuration,
    /// A metric named by a `metric` header.
    Custom(CustomRef),
}

impl Metric {
    /// Whether it is read from beyond Lambda's own `AWS/Lambda` metrics: Lambda Insights' cold
    /// starts and init durations, or a `metric` header's.
    pub fn beyond_lambda(&self) -> bool {
        matches!(
            self,
            Metric::ColdStarts
                | Metric::InitPercentile(_)
                | Metric::AvgInitDuration
                | Metric::MaxInitDuration
                | Metric::Custom(_)
        )
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Metric::Invocations => f.write_str("invocations"),
            Metric::Errors => f.write_str("errors"),
            Metric::ErrorRate => f.write_str("error rate"),
            Metric::Throttles => f.write_str("throttles"),
            Metric::Percentile(p) => write!(f, "p{p} duration"),
            Metric::AvgDuration => f.write_str("avg duration"),
            Metric::MaxDuration => f.write_str("max duration"),
            Metric::Concurrency => f.write_str("concurrency"),
            Metric::ColdStarts => f.write_str("cold starts"),
            Metric::InitPercentile(p) => write!(f, "p{p} init duration"),
            Metric::AvgInitDuration => f.write_str("avg init duration"),
            Metric::MaxInitDuration => f.write_str("max init duration"),
            Metric::Custom(c) if c.per_invocation => write!(f, "{} per invocation", c.name),
            Metric::Custom(c) => f.write_str(&c.name),
        }
    }
}

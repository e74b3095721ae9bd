//! The units of health values, and how they combine.

use serde::Serialize;

use super::{BinOp, Metric};

/// The unit of a health value. Comparing or adding different units is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Invocations, errors, throttles, concurrency.
    Count,
    /// Percent; `1.0` is 1%.
    Percent,
    /// Milliseconds.
    Duration,
    /// A plain number, such as a factor.
    Number,
}

impl Unit {
    /// The unit a metric is measured in.
    pub fn of_metric(metric: &Metric) -> Unit {
        match metric {
            Metric::Invocations | Metric::Errors | Metric::Throttles | Metric::Concurrency => {
                Unit::Count
            }
            Metric::ErrorRate | Metric::ColdStarts => Unit::Percent,
            Metric::Percentile(_)
            | Metric::AvgDuration
            | Metric::MaxDuration
            | Metric::InitPercentile(_)
            | Metric::AvgInitDuration
            | Metric::MaxInitDuration => Unit::Duration,
            // A business metric's unit is its own: a plain number, which mixes with counts.
            Metric::Custom(_) => Unit::Number,
        }
    }

    /// Whether values of the two units may be compared, added or subtracted: counts and plain
    /// numbers mix freely (`invocations > 100`); other units must match.
    pub fn comparable(a: Unit, b: Unit) -> bool {
        a == b
            || matches!(
                (a, b),
                (Unit::Count, Unit::Number) | (Unit::Number, Unit::Count)
            )
    }

    /// The unit of `a op b`, or `None` when the units do not combine.
    pub fn combine(op: BinOp, a: Unit, b: Unit) -> Option<Unit> {
        match op {
            BinOp::Add | BinOp::Sub => {
                Unit::comparable(a, b).then(|| if a == Unit::Number { b } else { a })
            }
            BinOp::Mul => match (a, b) {
                (Unit::Number, u) | (u, Unit::Number) => Some(u),
                (Unit::Count, Unit::Count) => Some(Unit::Count),
                _ => None,
            },
            BinOp::Div => match (a, b) {
                (u, Unit::Number) => Some(u),
                (x, y) if Unit::comparable(x, y) => Some(Unit::Number),
                _ => None,
            },
        }
    }

    /// The unit's name, as diagnostics say it.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Count => "a count",
            Unit::Percent => "a percentage",
            Unit::Duration => "a duration",
            Unit::Number => "a plain number",
        }
    }
}

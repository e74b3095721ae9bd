//! Which checks the judge tests sequentially, and in what form. A count check compares a count
//! or a share of one version with a threshold that is a constant or moves with the other
//! version: `error rate < 1%`, `error rate of new <= error rate of old + 0.5%`, `errors < 5`,
//! `throttles <= 2 over 5m`, and a percentile against a constant (`p99 duration < 800ms` is
//! "at most 1% of calls slower than 800ms"). Every other check is judged per window.

use crate::plan::{BinOp, Check, CompareOp, Expr, Metric, Millis, Which};

/// How a check is judged.
#[derive(Debug, Clone, PartialEq)]
pub enum Judged {
    /// By a sequential test on the counts since `new` reached its weight.
    Sequential(Form),
    /// On each evaluation's latest settled window, as a plain comparison.
    PerWindow,
}

/// What a sequential check counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Family {
    /// Errors among invocations: `error rate`.
    ErrorRate,
    /// Invocations slower than this, among invocations: a percentile against a constant.
    SlowerThan(Millis),
    /// Events per window of this length: `errors`, `throttles`, a counted business metric.
    Events {
        /// What is counted.
        counted: Counted,
        /// The window the count is per.
        window: Millis,
    },
    /// Events per invocation: `cold starts` (a share), `orders per invocation`.
    PerInvocation(Counted),
}

/// What a count check counts besides invocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// `Errors`.
    Errors,
    /// `Throttles`.
    Throttles,
    /// Cold starts (Lambda Insights' `init_duration` samples).
    ColdStarts,
    /// The metric of the `metric` header at this place in the health spec.
    Custom(u8),
}

impl Family {
    /// Whether it counts failures among invocations (a share of them), which `old` may have as
    /// much as `new` in a shared outage: such periods are held.
    pub fn shares(self) -> bool {
        matches!(self, Family::ErrorRate | Family::SlowerThan(_))
    }
}

/// A count check as `subject ≤ a·other + b` (or `≥`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Form {
    /// What is counted.
    pub family: Family,
    /// The version whose share or rate is tested.
    pub subject: Which,
    /// The other version and its factor `a`, when the threshold moves with it.
    pub other: Option<(Which, f64)>,
    /// The constant part `b` of the threshold, as a share (0.01 for 1%) or as events per
    /// millisecond.
    pub offset: f64,
    /// True when the subject must stay at or below the threshold; false: at or above.
    pub upper: bool,
}

impl Form {
    /// The threshold when the other version's share is `other`.
    pub fn threshold(&self, other: f64) -> f64 {
        self.offset + self.other.map_or(0.0, |(_, a)| a * other)
    }
}

/// How a check is judged.
pub fn judged(check: &Check) -> Judged {
    let Check::Compare { lhs, op, rhs } = check else {
        return Judged::PerWindow;
    };
    let upper = match op {
        CompareOp::Lt | CompareOp::Le => true,
        CompareOp::Gt | CompareOp::Ge => false,
        CompareOp::Eq | CompareOp::Ne => return Judged::PerWindow,
    };
    percentile_form(lhs, rhs, upper)
        .or_else(|| percentile_form(rhs, lhs, !upper))
        .or_else(|| linear_form(lhs, rhs, upper))
        .map_or(Judged::PerWindow, Judged::Sequential)
}

/// `pNN duration [of X] < D`: at most (100 - NN)% of calls slower than D.
fn percentile_form(metric: &Expr, constant: &Expr, upper: bool) -> Option<Form> {
    let (
        Expr::Metric {
            metric: Metric::Percentile(p),
            of,
            ..
        },
        Expr::Const { value, .. },
    ) = (metric, constant)
    else {
        return None;
    };
    let q: f64 = p.parse().ok()?;
    Some(Form {
        family: Family::SlowerThan(Millis(value.round() as u64)),
        subject: *of,
        other: None,
        offset: 1.0 - q / 100.0,
        // The percentile stays below D exactly when the share slower than D stays below 1 - q.
        upper,
    })
}

/// What a linear expression of count metrics adds up to: a factor per version and a constant.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Linear {
    new: f64,
    old: f64,
    constant: f64,
    /// The family of every metric in it, when there is one.
    family: Option<Family>,
}

impl Linear {
    fn constant(value: f64) -> Self {
        Linear {
            new: 0.0,
            old: 0.0,
            constant: value,
            family: None,
        }
    }

    fn scaled(self, k: f64) -> Self {
        Linear {
            new: self.new * k,
            old: self.old * k,
            constant: self.constant * k,
            family: self.family,
        }
    }

    fn plus(self, other: Linear, sign: f64) -> Option<Linear> {
        let family = match (self.family, other.family) {
            (Some(a), Some(b)) if a != b => return None,
            (a, b) => a.or(b),
        };
        Some(Linear {
            new: self.new + sign * other.new,
            old: self.old + sign * other.old,
            constant: self.constant + sign * other.constant,
            family,
        })
    }

    fn is_constant(&self) -> bool {
        self.family.is_none()
    }
}

fn linear(expr: &Expr) -> Option<Linear> {
    match expr {
        Expr::Const { value, .. } => Some(Linear::constant(*value)),
        Expr::Metric { metric, of, over } => {
            let events = |counted| Family::Events {
                counted,
                window: *over,
            };
            let family = match metric {
                Metric::ErrorRate => Family::ErrorRate,
                Metric::Errors => events(Counted::Errors),
                Metric::Throttles => events(Counted::Throttles),
                Metric::ColdStarts => Family::PerInvocation(Counted::ColdStarts),
                Metric::Custom(c) if c.counts => {
                    let counted = Counted::Custom(u8::try_from(c.index).ok()?);
                    if c.per_invocation {
                        Family::PerInvocation(counted)
                    } else {
                        events(counted)
                    }
                }
                _ => return None,
            };
            let (new, old) = match of {
                Which::New => (1.0, 0.0),
                Which::Old => (0.0, 1.0),
            };
            Some(Linear {
                new,
                old,
                constant: 0.0,
                family: Some(family),
            })
        }
        Expr::Binary { op, lhs, rhs } => {
            let (a, b) = (linear(lhs)?, linear(rhs)?);
            match op {
                BinOp::Add => a.plus(b, 1.0),
                BinOp::Sub => a.plus(b, -1.0),
                BinOp::Mul if a.is_constant() => Some(b.scaled(a.constant)),
                BinOp::Mul if b.is_constant() => Some(a.scaled(b.constant)),
                BinOp::Div if b.is_constant() && b.constant != 0.0 => {
                    Some(a.scaled(1.0 / b.constant))
                }
                _ => None,
            }
        }
    }
}

/// `lhs OP rhs` with both sides linear in one count family.
fn linear_form(lhs: &Expr, rhs: &Expr, upper: bool) -> Option<Form> {
    // lhs - rhs ≤ 0 (upper) or ≥ 0.
    let difference = linear(lhs)?.plus(linear(rhs)?, -1.0)?;
    let family = difference.family?;
    let (subject, k_subject, other, k_other) = if difference.new != 0.0 {
        (Which::New, difference.new, Which::Old, difference.old)
    } else if difference.old != 0.0 {
        (Which::Old, difference.old, Which::New, difference.new)
    } else {
        return None;
    };
    // subject ≤ -(k_other / k_subject)·other - constant / k_subject, flipped for k_subject < 0.
    let a = -k_other / k_subject;
    let b = -difference.constant / k_subject;
    let upper = upper == (k_subject > 0.0);
    let offset = match family {
        Family::ErrorRate | Family::PerInvocation(Counted::ColdStarts) => b / 100.0,
        Family::PerInvocation(_) => b,
        Family::Events { window, .. } => {
            if a != 0.0 {
                // Rates of two versions with different traffic do not compare as counts.
                return None;
            }
            b / window.0.max(1) as f64
        }
        Family::SlowerThan(_) => return None,
    };
    Some(Form {
        family,
        subject,
        other: (a != 0.0).then_some((other, a)),
        offset,
        upper,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Unit;

    fn metric(metric: Metric, of: Which) -> Expr {
        Expr::Metric {
            metric,
            of,
            over: Millis::from_minutes(1),
        }
    }

    fn constant(value: f64, unit: Unit) -> Expr {
        Expr::Const { value, unit }
    }

    fn compare(lhs: Expr, op: CompareOp, rhs: Expr) -> Check {
        Check::Compare { lhs, op, rhs }
    }

    fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        }
    }

    #[test]
    fn an_error_rate_against_a_constant_or_old_is_sequential() {
        let rate = |of| metric(Metric::ErrorRate, of);
        assert_eq!(
            judged(&compare(
                rate(Which::New),
                CompareOp::Lt,
                constant(1.0, Unit::Percent)
            )),
            Judged::Sequential(Form {
                family: Family::ErrorRate,
                subject: Which::New,
                other: None,
                offset: 0.01,
                upper: true
            })
        );
        let relative = compare(
            rate(Which::New),
            CompareOp::Le,
            binary(BinOp::Add, rate(Which::Old), constant(0.5, Unit::Percent)),
        );
        assert_eq!(
            judged(&relative),
            Judged::Sequential(Form {
                family: Family::ErrorRate,
                subject: Which::New,
                other: Some((Which::Old, 1.0)),
                offset: 0.005,
                upper: true
            })
        );
        // The same check written the other way round.
        let flipped = compare(
            binary(BinOp::Sub, rate(Which::New), rate(Which::Old)),
            CompareOp::Lt,
            constant(0.5, Unit::Percent),
        );
        assert_eq!(judged(&flipped), judged(&relative));
        let twice = compare(
            binary(BinOp::Mul, constant(2.0, Unit::Number), rate(Which::Old)),
            CompareOp::Gt,
            rate(Which::New),
        );
        let Judged::Sequential(form) = judged(&twice) else {
            panic!()
        };
        assert_eq!(
            (form.other, form.offset, form.upper),
            (Some((Which::Old, 2.0)), 0.0, true)
        );
    }

    #[test]
    fn a_percentile_against_a_constant_counts_slow_calls() {
        let p99 = metric(Metric::Percentile("99".into()), Which::New);
        let Judged::Sequential(form) = judged(&compare(
            p99.clone(),
            CompareOp::Lt,
            constant(800.0, Unit::Duration),
        )) else {
            panic!()
        };
        assert_eq!(form.family, Family::SlowerThan(Millis(800)));
        assert!((form.offset - 0.01).abs() < 1e-12 && form.upper);
        let Judged::Sequential(reversed) = judged(&compare(
            constant(800.0, Unit::Duration),
            CompareOp::Gt,
            p99,
        )) else {
            panic!()
        };
        assert_eq!(reversed, form);
    }

    #[test]
    fn counts_per_window_and_what_stays_per_window() {
        let Judged::Sequential(form) = judged(&compare(
            metric(Metric::Errors, Which::New),
            CompareOp::Le,
            constant(6.0, Unit::Count),
        )) else {
            panic!()
        };
        assert_eq!(
            form.family,
            Family::Events {
                counted: Counted::Errors,
                window: Millis::from_minutes(1)
            }
        );
        assert!((form.offset - 6.0 / 60_000.0).abs() < 1e-15);
        for per_window in [
            compare(
                metric(Metric::Throttles, Which::New),
                CompareOp::Eq,
                constant(0.0, Unit::Count),
            ),
            compare(
                metric(Metric::Percentile("99".into()), Which::New),
                CompareOp::Lt,
                binary(
                    BinOp::Mul,
                    constant(1.2, Unit::Number),
                    metric(Metric::Percentile("99".into()), Which::Old),
                ),
            ),
            compare(
                metric(Metric::Invocations, Which::New),
                CompareOp::Gt,
                constant(100.0, Unit::Count),
            ),
            compare(
                metric(Metric::Errors, Which::New),
                CompareOp::Lt,
                metric(Metric::Errors, Which::Old),
            ),
            compare(
                binary(
                    BinOp::Div,
                    metric(Metric::Errors, Which::New),
                    metric(Metric::Invocations, Which::New),
                ),
                CompareOp::Lt,
                constant(0.01, Unit::Number),
            ),
            Check::Alarm { name: "a".into() },
        ] {
            assert_eq!(judged(&per_window), Judged::PerWindow, "{per_window:?}");
        }
    }
}

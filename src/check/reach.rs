//! What a health check can measure: the range of values each side can take, to find checks that
//! can never fail (they would promote a version failing every call) or never pass (they would
//! roll back every version), and divisions by zero.
//!
//! Ranges are conservative: where an operation's exact range is hard to know, a wider one is
//! used, so that a check is reported only when no metric whatsoever could change its verdict.

use crate::plan::{BinOp, CompareOp, Expr, Metric};

/// The values an expression can take: from `lo` to `hi`, each end reached or only approached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Range {
    lo: f64,
    lo_open: bool,
    hi: f64,
    hi_open: bool,
}

impl Range {
    fn closed(lo: f64, hi: f64) -> Range {
        Range {
            lo,
            lo_open: false,
            hi,
            hi_open: false,
        }
    }

    /// Every number.
    fn any() -> Range {
        Range {
            lo: f64::NEG_INFINITY,
            lo_open: true,
            hi: f64::INFINITY,
            hi_open: true,
        }
    }

    /// Whether this is exactly zero, as a divisor must never be.
    pub(super) fn is_zero(self) -> bool {
        self == Range::closed(0.0, 0.0)
    }

    fn neg(self) -> Range {
        Range {
            lo: -self.hi,
            lo_open: self.hi_open,
            hi: -self.lo,
            hi_open: self.lo_open,
        }
    }

    fn add(self, other: Range) -> Range {
        Range {
            lo: self.lo + other.lo,
            lo_open: self.lo_open || other.lo_open,
            hi: self.hi + other.hi,
            hi_open: self.hi_open || other.hi_open,
        }
    }

    /// By a constant: the ends scale (and swap for a negative factor).
    fn scale(self, factor: f64) -> Range {
        if factor == 0.0 {
            return Range::closed(0.0, 0.0);
        }
        let scaled = Range {
            lo: self.lo * factor,
            lo_open: self.lo_open,
            hi: self.hi * factor,
            hi_open: self.hi_open,
        };
        if factor > 0.0 {
            scaled
        } else {
            Range {
                lo: scaled.hi,
                lo_open: scaled.hi_open,
                hi: scaled.lo,
                hi_open: scaled.lo_open,
            }
        }
    }

    fn constant(self) -> Option<f64> {
        (self.lo == self.hi && !self.lo_open && !self.hi_open).then_some(self.lo)
    }

    fn mul(self, other: Range) -> Range {
        match (self.constant(), other.constant()) {
            (Some(c), _) => other.scale(c),
            (_, Some(c)) => self.scale(c),
            // Both vary: the hull of the corner products, ends taken as reached.
            _ => {
                let corners = [
                    self.lo * other.lo,
                    self.lo * other.hi,
                    self.hi * other.lo,
                    self.hi * other.hi,
                ];
                if corners.iter().any(|c| c.is_nan()) {
                    return Range::any();
                }
                Range::closed(
                    corners.iter().copied().fold(f64::INFINITY, f64::min),
                    corners.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                )
            }
        }
    }

    fn div(self, other: Range) -> Range {
        match other.constant() {
            Some(c) if c != 0.0 => self.scale(1.0 / c),
            // A division by zero is reported on its own; nothing is known of the quotient.
            Some(_) => Range::any(),
            // Non-negative by positive (which may come near zero): non-negative.
            None if self.lo >= 0.0 && other.lo >= 0.0 => Range {
                lo: 0.0,
                lo_open: false,
                hi: f64::INFINITY,
                hi_open: true,
            },
            None => Range::any(),
        }
    }
}

/// The values a metric can take. An error rate is a share of calls: from 0% up to 100%, which
/// it reaches only when every call fails, where no test can tell it from "nearly every": a
/// threshold of 100% or more is never crossed. Durations are longer than zero; counts are at
/// least zero.
fn metric(metric: &Metric) -> Range {
    match metric {
        Metric::ErrorRate | Metric::ColdStarts => Range {
            lo: 0.0,
            lo_open: false,
            hi: 100.0,
            hi_open: true,
        },
        Metric::Percentile(_)
        | Metric::AvgDuration
        | Metric::MaxDuration
        | Metric::InitPercentile(_)
        | Metric::AvgInitDuration
        | Metric::MaxInitDuration => Range {
            lo: 0.0,
            lo_open: true,
            hi: f64::INFINITY,
            hi_open: true,
        },
        Metric::Invocations | Metric::Errors | Metric::Throttles | Metric::Concurrency => Range {
            lo: 0.0,
            lo_open: false,
            hi: f64::INFINITY,
            hi_open: true,
        },
        Metric::Custom(c) if c.counts => Range {
            lo: 0.0,
            lo_open: false,
            hi: f64::INFINITY,
            hi_open: true,
        },
        // A business metric's average, extremes or percentiles may be any number.
        Metric::Custom(_) => Range::any(),
    }
}

/// The values `expr` can take.
pub(super) fn range(expr: &Expr) -> Range {
    match expr {
        Expr::Metric { metric: m, .. } => metric(m),
        Expr::Const { value, .. } => Range::closed(*value, *value),
        Expr::Binary { op, lhs, rhs } => {
            let (l, r) = (range(lhs), range(rhs));
            match op {
                BinOp::Add => l.add(r),
                BinOp::Sub => l.add(r.neg()),
                BinOp::Mul => l.mul(r),
                BinOp::Div => l.div(r),
            }
        }
    }
}

/// A check whose verdict no metric can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Always {
    /// It holds whatever the metrics say.
    Passes,
    /// It fails whatever the metrics say.
    Fails,
}

/// Whether `lhs op rhs` always holds, or never does.
pub(super) fn always(lhs: &Expr, op: CompareOp, rhs: &Expr) -> Option<Always> {
    // The difference lhs - rhs, compared with zero.
    let d = range(lhs).add(range(rhs).neg());
    let below = d.hi < 0.0 || (d.hi == 0.0 && d.hi_open);
    let at_most = d.hi <= 0.0;
    let above = d.lo > 0.0 || (d.lo == 0.0 && d.lo_open);
    let at_least = d.lo >= 0.0;
    let zero = d.constant() == Some(0.0);
    let (passes, fails) = match op {
        CompareOp::Lt => (below, at_least),
        CompareOp::Le => (at_most, above),
        CompareOp::Gt => (above, at_most),
        CompareOp::Ge => (at_least, below),
        CompareOp::Eq => (zero, below || above),
        CompareOp::Ne => (below || above, zero),
    };
    if passes {
        Some(Always::Passes)
    } else if fails {
        Some(Always::Fails)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Millis, Unit, Which};

    fn m(metric: Metric) -> Expr {
        Expr::Metric {
            metric,
            of: Which::New,
            over: Millis::from_minutes(1),
        }
    }

    fn c(value: f64) -> Expr {
        Expr::Const {
            value,
            unit: Unit::Number,
        }
    }

    fn bin(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        }
    }

    #[test]
    fn thresholds_outside_what_a_metric_measures_are_found() {
        use CompareOp::*;
        let rate = || m(Metric::ErrorRate);
        let errors = || m(Metric::Errors);
        let p99 = || m(Metric::Percentile("99".into()));
        let cases = [
            (rate(), Lt, c(100.0), Some(Always::Passes)),
            (rate(), Le, c(100.0), Some(Always::Passes)),
            (rate(), Lt, c(101.0), Some(Always::Passes)),
            (rate(), Lt, c(0.0), Some(Always::Fails)),
            (rate(), Ge, c(0.0), Some(Always::Passes)),
            (rate(), Gt, c(100.0), Some(Always::Fails)),
            (errors(), Lt, c(0.0), Some(Always::Fails)),
            (p99(), Gt, c(0.0), Some(Always::Passes)),
            (p99(), Le, c(0.0), Some(Always::Fails)),
            (errors(), Eq, c(-1.0), Some(Always::Fails)),
            (errors(), Ne, c(-1.0), Some(Always::Passes)),
            // Meaningful checks stay.
            (rate(), Lt, c(1.0), None),
            (rate(), Le, c(0.0), None),
            (rate(), Lt, c(99.99), None),
            (errors(), Le, c(0.0), None),
            (m(Metric::Invocations), Gt, c(0.0), None),
            (p99(), Lt, c(800.0), None),
            (rate(), Le, bin(BinOp::Add, rate(), c(0.5)), None),
            (p99(), Lt, bin(BinOp::Mul, c(1.2), p99()), None),
            (
                bin(BinOp::Div, errors(), m(Metric::Invocations)),
                Lt,
                c(0.01),
                None,
            ),
            (
                bin(BinOp::Div, errors(), m(Metric::Invocations)),
                Lt,
                c(0.0),
                Some(Always::Fails),
            ),
            (
                bin(BinOp::Sub, m(Metric::AvgDuration), m(Metric::AvgDuration)),
                Lt,
                c(50.0),
                None,
            ),
        ];
        for (lhs, op, rhs, expected) in cases {
            assert_eq!(always(&lhs, op, &rhs), expected, "{lhs} {op:?} {rhs}");
        }
        assert!(range(&bin(BinOp::Sub, c(1.0), c(1.0))).is_zero());
        assert!(!range(&errors()).is_zero());
    }
}

//! Plans as people read them: checks, expressions and steps in playbook syntax.

use std::fmt;

use super::{Check, Expr, HealthSpec, Millis, Percent, StepKind, Unit};

/// A number with its unit, as a playbook would write it.
pub fn quantity(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Percent => format!("{}%", trim(value)),
        Unit::Duration => {
            if value >= 1000.0 && (value / 1000.0).fract() == 0.0 {
                Millis(value as u64).to_string()
            } else {
                format!("{}ms", trim(value))
            }
        }
        Unit::Count | Unit::Number => trim(value),
    }
}

/// At most two decimals, no trailing zeros.
fn trim(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

impl Expr {
    fn precedence(&self) -> u8 {
        match self {
            Expr::Binary { op, .. } => op.precedence(),
            _ => u8::MAX,
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Metric { metric, of, over } => {
                write!(f, "{metric} of {} over {over}", of.as_str())
            }
            Expr::Const { value, unit } => f.write_str(&quantity(*value, *unit)),
            Expr::Binary { op, lhs, rhs } => {
                let p = op.precedence();
                if lhs.precedence() < p {
                    write!(f, "({lhs})")?;
                } else {
                    write!(f, "{lhs}")?;
                }
                write!(f, " {} ", op.as_str())?;
                // Operators group left to right, so an equal-precedence right side needs parentheses.
                if rhs.precedence() <= p {
                    write!(f, "({rhs})")
                } else {
                    write!(f, "{rhs}")
                }
            }
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Compare { lhs, op, rhs } => write!(f, "{lhs} {} {rhs}", op.as_str()),
            Check::Alarm { name } => write!(f, "alarm {name:?} not in ALARM"),
            Check::Script { script } => write!(f, "script {:?}", script.name),
            Check::Signatures(check) => check.fmt(f),
        }
    }
}

impl fmt::Display for HealthSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "every {}, at least {} invocation{} of new per bake, inconclusive {}, confidence {}",
            self.every,
            self.min_invocations,
            if self.min_invocations == 1 { "" } else { "s" },
            match (self.inconclusive, self.extend) {
                (_, Some(up)) => format!("fails after extending up to {up}"),
                (super::Inconclusive::Fail, None) => "fails".to_string(),
                (super::Inconclusive::Pass, None) => "passes".to_string(),
            },
            self.confidence
        )?;
        if let super::Violation::Pause { at_most } = self.violation {
            write!(f, ", a violation pauses up to {at_most} for a person")?;
        }
        match self.shared_failure {
            super::SharedFailure::Hold { at_most } => {
                write!(f, ", shared failures hold up to {at_most}")?
            }
            super::SharedFailure::Rollback => f.write_str(", shared failures roll back")?,
        }
        match self.warm_up {
            Some(w) if w.errors => write!(f, ", warm-up {} (latency and errors)", w.length)?,
            Some(w) => write!(f, ", warm-up {} (latency)", w.length)?,
            None => f.write_str(", no warm-up")?,
        }
        if self.asynchronous {
            f.write_str(", async (errors counted in clusters of retries)")?;
        }
        Ok(())
    }
}

impl fmt::Display for StepKind {
    /// The step as a playbook line, values resolved.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepKind::UpdateCode { zip } => write!(f, "update code from {:?}", zip.name),
            StepKind::Publish { description: None } => f.write_str("publish"),
            StepKind::Publish {
                description: Some(d),
            } => write!(f, "publish {d:?}"),
            StepKind::UseVersion { version } => write!(f, "use version {version}"),
            StepKind::Shift { weight } => write!(f, "shift {weight} to new"),
            StepKind::Ramp { to, by, every, .. } => write!(f, "ramp to {to} by {by} every {every}"),
            StepKind::Wait { duration } => write!(f, "wait {duration}"),
            StepKind::Bake {
                duration,
                shortest: None,
            } => write!(f, "wait {duration} until healthy"),
            StepKind::Bake {
                duration,
                shortest: Some(shortest),
            } => write!(f, "wait {shortest}..{duration} until healthy"),
            StepKind::Approve { message: None } => f.write_str("approve"),
            StepKind::Approve { message: Some(m) } => write!(f, "approve {m:?}"),
            StepKind::Run { script } => write!(f, "run {:?}", script.name),
            StepKind::Promote => f.write_str("promote"),
            StepKind::Watch { duration } => write!(f, "watch {duration}"),
            StepKind::Rollback => f.write_str("rollback"),
        }
    }
}

impl StepKind {
    /// The weight on `new` after the step, when the step sets one.
    pub fn weight_after(&self) -> Option<Percent> {
        match self {
            StepKind::Shift { weight } => Some(*weight),
            StepKind::Ramp { to, .. } => Some(*to),
            StepKind::Promote => Some(Percent::FULL),
            StepKind::Rollback => Some(Percent(0)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{BinOp, Metric, Which};

    fn metric(m: Metric, of: Which) -> Expr {
        Expr::Metric {
            metric: m,
            of,
            over: Millis::from_minutes(5),
        }
    }

    #[test]
    fn expressions_print_with_the_parentheses_they_need() {
        let sum = Expr::Binary {
            op: BinOp::Add,
            lhs: Box::new(metric(Metric::Errors, Which::New)),
            rhs: Box::new(metric(Metric::Errors, Which::Old)),
        };
        let half = Expr::Binary {
            op: BinOp::Div,
            lhs: Box::new(sum.clone()),
            rhs: Box::new(Expr::Const {
                value: 2.0,
                unit: Unit::Number,
            }),
        };
        assert_eq!(
            half.to_string(),
            "(errors of new over 5m + errors of old over 5m) / 2"
        );
        let minus = Expr::Binary {
            op: BinOp::Sub,
            lhs: Box::new(Expr::Const {
                value: 1.0,
                unit: Unit::Number,
            }),
            rhs: Box::new(sum),
        };
        assert_eq!(
            minus.to_string(),
            "1 - (errors of new over 5m + errors of old over 5m)"
        );
    }

    #[test]
    fn quantities_print_as_written() {
        assert_eq!(quantity(1.0, Unit::Percent), "1%");
        assert_eq!(quantity(0.25, Unit::Percent), "0.25%");
        assert_eq!(quantity(800.0, Unit::Duration), "800ms");
        assert_eq!(quantity(90_000.0, Unit::Duration), "1m30s");
        assert_eq!(quantity(812.456, Unit::Duration), "812.46ms");
        assert_eq!(quantity(1.2, Unit::Number), "1.2");
    }
}

//! The `health` block: settings, checks, and units of health expressions.

use super::load::Def;
use super::reach::{self, Always};
use super::values::{Scope, Want};
use super::Checker;
use crate::diagnostic::{Code, Diag};
use crate::plan::{
    Check, Expr, HealthSpec, Millis, ParamValue, Percent, SharedFailure, Unit, Violation, WarmUp,
};
use crate::span::Span;
use crate::syntax::ast::{self, ExprKind, HealthItemKind, Inconclusive, Metric, Which};

/// The longest `metrics delay`: a day. Lambda's metrics settle within minutes (and its longest
/// timeout is 15), and every bake lasts its traffic plus the delay.
pub(super) const MAX_DELAY: Millis = Millis(86_400_000);

impl Checker {
    /// The health spec in force: the file's (or an import's) block, or the defaults.
    pub(super) fn health(&mut self, def: Option<&Def<ast::HealthBlock>>) -> HealthSpec {
        let Some(def) = def else {
            return HealthSpec::default_spec();
        };
        let scope = Scope::top(def.file.clone());
        let block = &def.item;
        let every = block
            .every
            .as_ref()
            .and_then(|v| self.want_window(v, "`health every`", &scope))
            .unwrap_or(Millis::from_minutes(1));
        let mut spec = HealthSpec {
            every,
            min_invocations: 1,
            inconclusive: Inconclusive::Fail,
            delay: None,
            confidence: HealthSpec::DEFAULT_CONFIDENCE,
            checks: Vec::new(),
            defaulted: false,
            shared_failure: HealthSpec::DEFAULT_SHARED_FAILURE,
            warm_up: Some(HealthSpec::DEFAULT_WARM_UP),
            asynchronous: false,
            observed: Default::default(),
            violation: Violation::Rollback,
            extend: None,
            metrics: self.metrics.clone(),
        };
        let mut min_seen: Option<Span> = None;
        let mut inconclusive_seen: Option<Span> = None;
        let mut violation_seen: Option<Span> = None;
        let mut delay_seen: Option<Span> = None;
        let mut confidence_seen: Option<Span> = None;
        let mut shared_seen: Option<Span> = None;
        let mut warm_seen: Option<Span> = None;
        let mut async_seen: Option<Span> = None;
        for item in &block.items {
            match &item.kind {
                HealthItemKind::MinInvocations(value) => {
                    if self.once(&mut min_seen, item.span, "min invocations", &scope) {
                        if let Some(n) = self.want_count(value, 0, "`min invocations`", &scope) {
                            spec.min_invocations = n;
                        }
                    }
                }
                HealthItemKind::Inconclusive(policy) => {
                    if self.once(&mut inconclusive_seen, item.span, "inconclusive", &scope) {
                        spec.inconclusive = *policy;
                    }
                }
                HealthItemKind::MetricsDelay(value) => {
                    if self.once(&mut delay_seen, item.span, "metrics delay", &scope) {
                        spec.delay = self.want_delay(value, "`metrics delay`", &scope);
                    }
                }
                HealthItemKind::Confidence(value) => {
                    if self.once(&mut confidence_seen, item.span, "confidence", &scope) {
                        if let Some(c) = self.want_confidence(value, &scope) {
                            spec.confidence = c;
                        }
                    }
                }
                HealthItemKind::SharedFailure(hold) => {
                    if self.once(&mut shared_seen, item.span, "shared failure", &scope) {
                        spec.shared_failure = match hold {
                            None => SharedFailure::Rollback,
                            Some(None) => HealthSpec::DEFAULT_SHARED_FAILURE,
                            Some(Some(v)) => SharedFailure::Hold {
                                at_most: self
                                    .want_window(v, "`shared failure hold up to`", &scope)
                                    .unwrap_or(Millis(0)),
                            },
                        };
                    }
                }
                HealthItemKind::WarmUp { length, errors } => {
                    if self.once(&mut warm_seen, item.span, "warm up", &scope) {
                        // `warm up 0s`: no warm-up.
                        spec.warm_up = self
                            .want_delay(length, "`warm up`", &scope)
                            .filter(|length| length.0 > 0)
                            .map(|length| WarmUp {
                                length,
                                errors: *errors,
                            });
                    }
                }
                HealthItemKind::Async => {
                    if self.once(&mut async_seen, item.span, "async", &scope) {
                        spec.asynchronous = true;
                    }
                }
                HealthItemKind::InconclusiveExtend(value) => {
                    if self.once(&mut inconclusive_seen, item.span, "inconclusive", &scope) {
                        spec.inconclusive = Inconclusive::Fail;
                        spec.extend =
                            self.want_window(value, "`inconclusive extend up to`", &scope);
                    }
                }
                HealthItemKind::Violation(policy) => {
                    if self.once(&mut violation_seen, item.span, "on violation", &scope) {
                        spec.violation = match policy {
                            None => Violation::Rollback,
                            Some(None) => Violation::Pause {
                                at_most: Violation::DEFAULT_PAUSE,
                            },
                            Some(Some(v)) => Violation::Pause {
                                at_most: self
                                    .want_window(v, "`on violation pause up to`", &scope)
                                    .unwrap_or(Violation::DEFAULT_PAUSE),
                            },
                        };
                    }
                }
                HealthItemKind::Observe(check) => {
                    if let Some(check) = self.health_check(check, every, &scope) {
                        spec.observed.insert(spec.checks.len());
                        spec.checks.push(check);
                    }
                }
                check => {
                    if let Some(check) = self.health_check(check, every, &scope) {
                        spec.checks.push(check);
                    }
                }
            }
        }
        spec
    }

    /// `metrics delay D`, `warm up D`: a duration up to [`MAX_DELAY`], zero included (tests,
    /// high-resolution metrics; no warm-up).
    fn want_delay(&mut self, value: &ast::Value, purpose: &str, scope: &Scope) -> Option<Millis> {
        if let ast::Value::Literal(ast::Literal {
            kind: ast::LiteralKind::Duration(text),
            ..
        }) = value
        {
            if Millis::parse(text) == Err(crate::plan::QuantityError::Zero) {
                return Some(Millis(0));
            }
        }
        let delay = self.want_duration(value, purpose, scope)?;
        if delay <= MAX_DELAY {
            return Some(delay);
        }
        let diag = Diag::new(
            Code::DelayRange,
            format!(
                "a {} of {delay} is longer than {MAX_DELAY}",
                purpose.trim_matches('`')
            ),
        );
        self.diags.push(
            self.located(diag, value, scope, "too long").help(
                format!("CloudWatch makes Lambda's metrics readable within minutes; leave {purpose} out for the default, or write at most `1d`"),
            ),
        );
        None
    }

    /// `confidence P`: from 50% (a coin) to 99.99%.
    fn want_confidence(&mut self, value: &ast::Value, scope: &Scope) -> Option<Percent> {
        let p = self.want_percent(value, "`confidence`", scope)?;
        if (Percent(5_000)..=Percent(9_999)).contains(&p) {
            return Some(p);
        }
        let diag = Diag::new(
            Code::ConfidenceRange,
            format!("a confidence of {p} cannot be reached"),
        );
        self.diags.push(
            self.located(diag, value, scope, "out of range").help(
                "write a confidence from 50% to 99.99%, such as `99%` (the default) or `95%`",
            ),
        );
        None
    }

    /// Records a setting that may appear once; false (and a diagnostic) when seen before.
    /// Whether the setting `what` at `span` is the first of its kind; reports a second one.
    pub(super) fn once(
        &mut self,
        seen: &mut Option<Span>,
        span: Span,
        what: &str,
        scope: &Scope,
    ) -> bool {
        if let Some(first) = seen {
            self.diags.push(
                Diag::new(Code::DuplicateSetting, format!("`{what}` is set twice"))
                    .at(scope.source(), span, "set again here")
                    .also(*first, "first set here")
                    .help(format!("keep one `{what}` line")),
            );
            return false;
        }
        *seen = Some(span);
        true
    }

    /// An alarm, script or comparison line as a check (the grammar allows no other here).
    fn health_check(
        &mut self,
        kind: &HealthItemKind,
        every: Millis,
        scope: &Scope,
    ) -> Option<Check> {
        match kind {
            HealthItemKind::Alarm(name) => Some(Check::Alarm {
                name: self.string(name, scope)?,
            }),
            HealthItemKind::Script(name) => Some(Check::Script {
                script: self.script(name, scope)?,
            }),
            HealthItemKind::Compare(cmp) => self.comparison(cmp, every, scope),
            HealthItemKind::Signatures(check) => self.signatures(check, scope),
            other => unreachable!("not a check: {other:?}"),
        }
    }

    fn comparison(&mut self, cmp: &ast::Comparison, every: Millis, scope: &Scope) -> Option<Check> {
        let window = match &cmp.over {
            Some(v) => self.want_window(v, "`over`", scope)?,
            None => every,
        };
        let lhs = self.expr(&cmp.lhs, window, scope);
        let rhs = self.expr(&cmp.rhs, window, scope);
        let ((lhs, lu), (rhs, ru)) = (lhs?, rhs?);
        if !Unit::comparable(lu, ru) {
            self.diags.push(
                Diag::new(
                    Code::UnitMismatch,
                    format!("cannot compare {} with {}", lu.name(), ru.name()),
                )
                .at(
                    scope.source(),
                    cmp.lhs.span,
                    format!("this is {}", lu.name()),
                )
                .also(cmp.rhs.span, format!("this is {}", ru.name()))
                .help(unit_hint(lu, ru)),
            );
            return None;
        }
        if let Some(always) = reach::always(&lhs, cmp.op, &rhs) {
            let check = format!("{lhs} {} {rhs}", cmp.op.as_str());
            let span = Span::new(cmp.lhs.span.start, cmp.rhs.span.end);
            let (message, label, help) = match always {
                Always::Passes => (
                    format!("`{check}` can never fail: it would promote a version that fails every call"),
                    "always true",
                    "give a threshold the metric can cross: an error rate is between 0% and 100% (`error rate < 1%`), counts and durations are above zero (`errors < 5`, `p99 duration < 800ms`)",
                ),
                Always::Fails if lu == Unit::Duration => (
                    format!("`{check}` can never pass: it would roll back every version"),
                    "never true",
                    "every call takes some time, so a duration is above zero: give the longest you allow, such as `p99 duration < 800ms`",
                ),
                Always::Fails => (
                    format!("`{check}` can never pass: it would roll back every version"),
                    "never true",
                    "to allow no errors at all, write `errors <= 0` or `error rate <= 0%`; otherwise give a threshold above zero, such as `error rate < 1%`",
                ),
            };
            self.diags.push(
                Diag::new(Code::VacuousCheck, message)
                    .at(scope.source(), span, label)
                    .help(help),
            );
            return None;
        }
        Some(Check::Compare {
            lhs,
            op: cmp.op,
            rhs,
        })
    }

    /// Types an expression. `window` is the window of metrics that name none.
    fn expr(&mut self, expr: &ast::Expr, window: Millis, scope: &Scope) -> Option<(Expr, Unit)> {
        match &expr.kind {
            ExprKind::Metric(m) => {
                let mut metric = m.metric.clone();
                if let Metric::Custom(reference) = &m.metric {
                    match self.custom(reference, expr.span, scope)? {
                        Some(resolved) => metric = Metric::Custom(resolved),
                        // A bare name no `metric` header declares is a parameter's.
                        None if m.of.is_none() && m.over.is_none() && !reference.per_invocation => {
                            let ident = ast::Ident {
                                name: reference.name.clone(),
                                span: expr.span,
                            };
                            let value = ast::Expr {
                                kind: ExprKind::Value(ast::Value::Param(ident)),
                                span: expr.span,
                            };
                            if self.params.contains_key(&reference.name) {
                                return self.expr(&value, window, scope);
                            }
                            self.unknown_metric(&reference.name, expr.span, scope);
                            return None;
                        }
                        None => {
                            self.unknown_metric(&reference.name, expr.span, scope);
                            return None;
                        }
                    }
                }
                let over = match &m.over {
                    Some(v) => self.want_window(v, "`over`", scope)?,
                    None => window,
                };
                let unit = self.metric_unit(&metric, expr.span, scope)?;
                Some((
                    Expr::Metric {
                        metric,
                        of: m.of.unwrap_or(Which::New),
                        over,
                    },
                    unit,
                ))
            }
            ExprKind::Value(value) => {
                // A zero duration is a threshold like any other here (`p99 duration < 0ms`
                // is then said to never pass), not a bake or a window of nothing.
                if let ast::Value::Literal(ast::Literal {
                    kind: ast::LiteralKind::Duration(text),
                    ..
                }) = value
                {
                    if Millis::parse(text) == Err(crate::plan::QuantityError::Zero) {
                        let unit = Unit::Duration;
                        return Some((Expr::Const { value: 0.0, unit }, unit));
                    }
                }
                let (resolved, _) = self.value(value, scope)?;
                let (value, unit) = match resolved {
                    ParamValue::Percent(p) => (p.as_f64(), Unit::Percent),
                    ParamValue::Duration(d) => (d.0 as f64, Unit::Duration),
                    ParamValue::Number(n) => (n, Unit::Number),
                    ParamValue::String(_) => {
                        // Reuse the type error of a number position for the message and hint.
                        self.want(value, Want::Number, "a health check", scope);
                        return None;
                    }
                };
                Some((Expr::Const { value, unit }, unit))
            }
            ExprKind::Paren(inner) => self.expr(inner, window, scope),
            ExprKind::Binary { op, lhs: l, rhs: r } => {
                let lhs = self.expr(l, window, scope);
                let rhs = self.expr(r, window, scope);
                let ((lhs, lu), (rhs, ru)) = (lhs?, rhs?);
                let Some(unit) = Unit::combine(*op, lu, ru) else {
                    self.diags.push(
                        Diag::new(
                            Code::UnitMismatch,
                            format!("cannot {} {} and {}", verb(*op), lu.name(), ru.name()),
                        )
                        .at(scope.source(), l.span, format!("this is {}", lu.name()))
                        .also(r.span, format!("this is {}", ru.name()))
                        .help(unit_hint(lu, ru)),
                    );
                    return None;
                };
                if *op == ast::BinOp::Div && reach::range(&rhs).is_zero() {
                    self.diags.push(
                        Diag::new(Code::BadNumber, "this divides by zero")
                            .at(scope.source(), r.span, "zero")
                            .help("divide by a number other than zero, or by a metric such as `invocations`"),
                    );
                    return None;
                }
                Some((
                    Expr::Binary {
                        op: *op,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                    },
                    unit,
                ))
            }
        }
    }

    fn metric_unit(&mut self, metric: &Metric, span: Span, scope: &Scope) -> Option<Unit> {
        if let Metric::Percentile(p) | Metric::InitPercentile(p) = metric {
            let valid = p.parse::<f64>().is_ok_and(|v| v > 0.0 && v < 100.0)
                && p.split_once('.').is_none_or(|(_, f)| f.len() <= 2);
            if !valid {
                self.diags.push(
                    Diag::new(Code::BadNumber, format!("`p{p}` is not a percentile CloudWatch offers"))
                        .at(scope.source(), span, "invalid percentile")
                        .help("use a percentile above p0 and below p100 with at most two decimals, such as `p99` or `p99.9`"),
                );
                return None;
            }
        }
        Some(Unit::of_metric(metric))
    }
}

fn verb(op: ast::BinOp) -> &'static str {
    match op {
        ast::BinOp::Add => "add",
        ast::BinOp::Sub => "subtract",
        ast::BinOp::Mul => "multiply",
        ast::BinOp::Div => "divide",
    }
}

fn unit_hint(a: Unit, b: Unit) -> String {
    match (a, b) {
        (Unit::Percent, Unit::Number) | (Unit::Number, Unit::Percent) => {
            "write the number as a percentage, such as `1%`".into()
        }
        (Unit::Duration, Unit::Number) | (Unit::Number, Unit::Duration) => {
            "give the number a unit, such as `800ms`".into()
        }
        _ => "compare a metric with a value of its own kind: `error rate` with a percentage, durations with a duration, counts with a number; scale with a plain factor such as `1.2 *`".into(),
    }
}

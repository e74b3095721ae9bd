//! Literals to typed values, parameters resolved, and type errors that say what to write.

use std::collections::HashMap;
use std::rc::Rc;

use super::load::Loaded;
use super::Checker;
use crate::diagnostic::{Code, Diag, Source};
use crate::plan::{Millis, ParamValue, Percent, QuantityError};
use crate::span::Span;
use crate::syntax::ast::{Literal, LiteralKind, Str, StrPart, Value};

/// A step argument bound to a step definition's parameter.
#[derive(Debug, Clone)]
pub(super) struct Bound {
    pub(super) value: ParamValue,
    pub(super) span: Span,
    pub(super) source: Source,
    /// Where `--set` gave the value, when the argument is a parameter it set.
    pub(super) set_at: Option<(Source, Span)>,
}

/// Where names are looked up: the file being read and the arguments of the step call
/// being expanded, if any.
#[derive(Debug, Clone)]
pub(super) struct Scope {
    pub(super) file: Rc<Loaded>,
    pub(super) args: Rc<HashMap<String, Bound>>,
}

impl Scope {
    pub(super) fn top(file: Rc<Loaded>) -> Self {
        Scope {
            file,
            args: Rc::default(),
        }
    }

    pub(super) fn source(&self) -> &Source {
        &self.file.source
    }
}

/// The four types a value can have; what a position asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Want {
    Percent,
    Duration,
    Number,
    String,
}

impl Want {
    pub(super) fn name(self) -> &'static str {
        match self {
            Want::Percent => "a percentage",
            Want::Duration => "a duration",
            Want::Number => "a number",
            Want::String => "a string",
        }
    }

    pub(super) fn example(self) -> &'static str {
        match self {
            Want::Percent => "`5%`",
            Want::Duration => "`10m` or `1h30m`",
            Want::Number => "`50`",
            Want::String => "`\"text\"`",
        }
    }

    fn matches(self, value: &ParamValue) -> bool {
        matches!(
            (self, value),
            (Want::Percent, ParamValue::Percent(_))
                | (Want::Duration, ParamValue::Duration(_))
                | (Want::Number, ParamValue::Number(_))
                | (Want::String, ParamValue::String(_))
        )
    }
}

/// Converts a literal's text to its value. Strings may not interpolate here: a literal stands
/// on its own (parameter defaults and `--set`).
pub(super) fn literal(lit: &Literal, source: &Source) -> Result<ParamValue, Diag> {
    match &lit.kind {
        LiteralKind::Percent(text) => percent(text, lit.span, source).map(ParamValue::Percent),
        LiteralKind::Duration(text) => duration(text, lit.span, source).map(ParamValue::Duration),
        LiteralKind::Number(text) => Ok(ParamValue::Number(text.parse().unwrap_or(f64::MAX))),
        LiteralKind::Str(s) => s.as_plain().map(ParamValue::String).ok_or_else(|| {
            Diag::new(
                Code::UnknownParam,
                "a parameter default cannot interpolate other parameters",
            )
            .at(source, s.span, "`${…}` is not allowed here")
            .help("write the text out in full")
        }),
    }
}

fn percent(text: &str, span: Span, source: &Source) -> Result<Percent, Diag> {
    Percent::parse(text).map_err(|error| match error {
        QuantityError::TooPrecise => Diag::new(
            Code::PercentPrecision,
            format!("`{text}%` has more than two decimals"),
        )
        .at(source, span, "too precise")
        .help("Lambda weights have a resolution of 0.01%; round to two decimals"),
        QuantityError::TooLarge | QuantityError::Zero => {
            Diag::new(Code::PercentRange, format!("`{text}%` is far above 100%"))
                .at(source, span, "out of range")
                .help("a weight lies between 0% and 100%")
        }
    })
}

/// The longest duration a playbook may write: a year, the longest a Step Functions execution
/// runs, and far past any rollout.
pub(super) const MAX_DURATION: Millis = Millis(365 * 86_400_000);

/// `1h30m`, `500ms`, `1.5s`, exactly, in milliseconds; at most [`MAX_DURATION`].
fn duration(text: &str, span: Span, source: &Source) -> Result<Millis, Diag> {
    let parsed = Millis::parse(text).and_then(|d| {
        if d > MAX_DURATION {
            Err(QuantityError::TooLarge)
        } else {
            Ok(d)
        }
    });
    parsed.map_err(|error| match error {
        QuantityError::TooPrecise => Diag::new(
            Code::DurationPrecision,
            format!("`{text}` is not a whole number of milliseconds"),
        )
        .at(source, span, "finer than a millisecond")
        .help("durations have a resolution of 1ms; round it"),
        QuantityError::TooLarge => {
            Diag::new(Code::BadNumber, format!("`{text}` is longer than a year"))
                .at(source, span, "out of range")
                .help("write a duration of at most `365d`, the longest rollout takes")
        }
        QuantityError::Zero => Diag::new(Code::ZeroDuration, format!("`{text}` is zero"))
            .at(source, span, "zero duration")
            .help("write a duration longer than zero, such as `1s` (only `metrics delay` and `warm up` may be `0s`)"),
    })
}

impl Checker {
    /// Resolves a value to its typed form, reporting unknown names and invalid literals.
    pub(super) fn value(
        &mut self,
        value: &Value,
        scope: &Scope,
    ) -> Option<(ParamValue, Option<Bound>)> {
        match value {
            Value::Literal(lit) => {
                if let LiteralKind::Str(s) = &lit.kind {
                    return self.string(s, scope).map(|s| (ParamValue::String(s), None));
                }
                match literal(lit, scope.source()) {
                    Ok(v) => Some((v, None)),
                    Err(diag) => {
                        self.diags.push(diag);
                        None
                    }
                }
            }
            Value::Param(ident) => {
                if let Some(bound) = scope.args.get(&ident.name) {
                    return Some((bound.value.clone(), Some(bound.clone())));
                }
                match self.params.get(&ident.name) {
                    Some(entry) => {
                        let value = entry.value.clone()?;
                        Some((
                            value.clone(),
                            Some(Bound {
                                value,
                                span: entry.span,
                                source: entry.source.clone(),
                                set_at: entry.set_at.clone(),
                            }),
                        ))
                    }
                    None => {
                        self.unknown_param(&ident.name, ident.span, scope);
                        None
                    }
                }
            }
        }
    }

    /// `diag` pointing at `value` with `label`; when the value came from `--set`, at the `--set`
    /// that gave it, which is what to change.
    pub(super) fn located(&self, diag: Diag, value: &Value, scope: &Scope, label: &str) -> Diag {
        match self.set_at(value, scope) {
            Some((source, span)) => {
                let mut diag = diag.at(&source, span, label);
                diag.message = format!("`--set {}`: {}", source.inner(), diag.message);
                diag
            }
            None => diag.at(scope.source(), value.span(), label),
        }
    }

    /// Where `--set` gave `value`, when it is a parameter that `--set` set, directly or through
    /// step arguments.
    pub(super) fn set_at(&self, value: &Value, scope: &Scope) -> Option<(Source, Span)> {
        let Value::Param(ident) = value else {
            return None;
        };
        match scope.args.get(&ident.name) {
            Some(bound) => bound.set_at.clone(),
            None => self.params.get(&ident.name)?.set_at.clone(),
        }
    }

    /// A value that must be of type `want`, for `purpose` (such as "`shift`").
    pub(super) fn want(
        &mut self,
        value: &Value,
        want: Want,
        purpose: &str,
        scope: &Scope,
    ) -> Option<ParamValue> {
        let (resolved, origin) = self.value(value, scope)?;
        if want.matches(&resolved) {
            return Some(resolved);
        }
        let message = format!(
            "{purpose} needs {}, but {} is {}",
            want.name(),
            match value {
                Value::Param(ident) => format!("`{}`", ident.name),
                Value::Literal(_) => "this".to_string(),
            },
            resolved.type_name()
        );
        let help = match (&resolved, want) {
            (ParamValue::Number(n), Want::Percent) => format!("write it as a percentage: `{n}%`"),
            (ParamValue::Number(n), Want::Duration) => format!("give it a unit: `{n}s` or `{n}m`"),
            _ => format!("write {} such as {}", want.name(), want.example()),
        };
        let mut diag = Diag::new(Code::ParamType, message);
        match origin {
            // A step argument: point at the argument in the call, and at the use when both
            // are in the same file.
            Some(bound) if scope.args.contains_key(value_name(value)) => {
                diag = diag.at(
                    &bound.source,
                    bound.span,
                    format!("{} given here", resolved.type_name()),
                );
                if bound.source.name() == scope.source().name() {
                    diag = diag.also(value.span(), format!("used as {} here", want.name()));
                }
            }
            Some(bound) => {
                diag = diag.at(
                    scope.source(),
                    value.span(),
                    format!("{} needed here", want.name()),
                );
                if bound.source.name() == scope.source().name() {
                    diag = diag.also(
                        bound.span,
                        format!("declared as {} here", resolved.type_name()),
                    );
                }
            }
            None => {
                diag = diag.at(
                    scope.source(),
                    value.span(),
                    format!("{} needed here", want.name()),
                )
            }
        }
        self.diags.push(diag.help(help));
        None
    }

    pub(super) fn want_percent(
        &mut self,
        value: &Value,
        purpose: &str,
        scope: &Scope,
    ) -> Option<Percent> {
        match self.want(value, Want::Percent, purpose, scope)? {
            ParamValue::Percent(p) => Some(p),
            _ => None,
        }
    }

    pub(super) fn want_duration(
        &mut self,
        value: &Value,
        purpose: &str,
        scope: &Scope,
    ) -> Option<Millis> {
        match self.want(value, Want::Duration, purpose, scope)? {
            ParamValue::Duration(d) => Some(d),
            _ => None,
        }
    }

    /// A whole number of at least `min`.
    pub(super) fn want_count(
        &mut self,
        value: &Value,
        min: u64,
        purpose: &str,
        scope: &Scope,
    ) -> Option<u64> {
        let ParamValue::Number(n) = self.want(value, Want::Number, purpose, scope)? else {
            return None;
        };
        if n.fract() == 0.0 && n >= min as f64 && n <= u32::MAX as f64 {
            return Some(n as u64);
        }
        // Quoted as written: a long number read as a float would be quoted rounded.
        let written = match value {
            Value::Literal(lit) => scope
                .source()
                .inner()
                .get(lit.span.start..lit.span.end)
                .map_or_else(|| n.to_string(), str::to_string),
            Value::Param(ident) => format!("{n} (`{}`)", ident.name),
        };
        let diag = Diag::new(
            Code::BadNumber,
            format!(
                "{purpose} needs a whole number from {min} to {}, not {written}",
                u32::MAX
            ),
        );
        self.diags.push(
            self.located(diag, value, scope, "not a valid count")
                .help(format!("write a whole number such as `{}`", min.max(1))),
        );
        None
    }

    /// A duration that is a health window: at least one second.
    pub(super) fn want_window(
        &mut self,
        value: &Value,
        purpose: &str,
        scope: &Scope,
    ) -> Option<Millis> {
        let d = self.want_duration(value, purpose, scope)?;
        if d < Millis::SECOND {
            let diag = Diag::new(
                Code::WindowTooShort,
                format!("{purpose} of {d} is shorter than one second"),
            );
            self.diags.push(
                self.located(diag, value, scope, "too short")
                    .help("CloudWatch cannot judge a window under a second; use `1s` or more (metrics have one-minute granularity, so `1m` or more is usual)"),
            );
            return None;
        }
        Some(d)
    }

    /// A string with its `${name}` interpolations resolved.
    pub(super) fn string(&mut self, s: &Str, scope: &Scope) -> Option<String> {
        let mut out = String::new();
        let mut ok = true;
        for part in &s.parts {
            match part {
                StrPart::Text(text) => out.push_str(text),
                StrPart::Param(ident) => match self.value(&Value::Param(ident.clone()), scope) {
                    Some((value, _)) => out.push_str(&value.to_string()),
                    None => ok = false,
                },
            }
        }
        ok.then_some(out)
    }

    /// A string that must be plain text (a path known before parameters are).
    pub(super) fn plain_string(&mut self, s: &Str, source: &Source, what: &str) -> Option<String> {
        let plain = s.as_plain();
        if plain.is_none() {
            self.diags.push(
                Diag::new(
                    Code::UnknownParam,
                    format!("{what} cannot interpolate parameters"),
                )
                .at(source, s.span, "`${…}` is not allowed here")
                .help("write the path out in full"),
            );
        }
        plain
    }

    fn unknown_param(&mut self, name: &str, span: Span, scope: &Scope) {
        let known = self
            .params
            .keys()
            .chain(scope.args.keys())
            .map(String::as_str);
        let help = match crate::diagnostic::closest(name, known) {
            Some(close) => {
                format!("did you mean `{close}`? Otherwise declare it: `param {name} = …`")
            }
            None => format!("declare it with `param {name} = …` above the steps"),
        };
        self.diags.push(
            Diag::new(Code::UnknownParam, format!("unknown parameter `{name}`"))
                .at(scope.source(), span, "not a parameter")
                .help(help),
        );
    }
}

fn value_name(value: &Value) -> &str {
    match value {
        Value::Param(ident) => &ident.name,
        Value::Literal(_) => "",
    }
}

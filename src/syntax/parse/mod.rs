//! Pest pairs to AST: one builder per grammar rule.
//!
//! The grammar guarantees the shape of every pair, so the builders walk children in order;
//! a mismatch would be a bug in this file, not in the user's input.

use pest::error::InputLocation;
use pest::iterators::Pair;
use pest::Parser as _;

use super::ast::*;
use super::expected;
use crate::diagnostic::{Diag, Source};
use crate::span::Span;

pub use super::grammar::{Grammar, Rule};

mod metrics;
mod signatures;
mod windows;

/// The deepest nesting of brackets a file may have: far beyond any playbook, and well within
/// what the parser, the checker and the formatter follow without running out of stack.
pub const MAX_NESTING: usize = 100;

/// The most syntax errors reported for one file.
pub const MAX_SYNTAX_ERRORS: usize = 50;

/// Parses a whole file, or says every statement's syntax error: when the file does not parse,
/// each statement (up to the next newline or `;` outside brackets) is parsed on its own, so each
/// broken one is reported, up to [`MAX_SYNTAX_ERRORS`], in time linear in the file.
pub fn parse(source: &Source) -> Result<File, Vec<Diag>> {
    nesting(source).map_err(|diag| vec![diag])?;
    let text = source.inner();
    let first = match Grammar::parse(Rule::file, text) {
        Ok(mut pairs) => {
            let file = pairs.next().expect("the file rule always yields one pair");
            return Ok(build_file(file));
        }
        Err(error) => error,
    };
    let mut diags = Vec::new();
    let mut start = 0;
    for end in statement_ends(text).into_iter().chain([text.len()]) {
        let statement = &text[start..end];
        if !statement.trim().is_empty() {
            if let Err(mut error) = Grammar::parse(Rule::file, statement) {
                error.location = match error.location {
                    InputLocation::Pos(p) => InputLocation::Pos(p + start),
                    InputLocation::Span((a, b)) => InputLocation::Span((a + start, b + start)),
                };
                diags.push(expected::diagnose(error, source));
                if diags.len() == MAX_SYNTAX_ERRORS {
                    break;
                }
            }
        }
        start = end + 1;
    }
    if diags.is_empty() {
        // The statements parse alone but not together: say what the whole file says.
        diags.push(expected::diagnose(first, source));
    }
    Err(diags)
}

/// Where statements end: byte offsets of each newline or `;` outside brackets, strings and
/// comments.
fn statement_ends(text: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut depth = 0usize;
    for (i, c) in super::lex::outside(text) {
        match c {
            '\n' | ';' if depth == 0 => ends.push(i),
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    ends
}

/// Refuses brackets nested deeper than [`MAX_NESTING`], before anything recurses into them.
/// Brackets inside strings and comments do not count.
fn nesting(source: &Source) -> Result<(), Diag> {
    let mut depth = 0usize;
    for (i, c) in super::lex::outside(source.inner()) {
        match c {
            '(' | '{' | '[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(Diag::new(
                        crate::diagnostic::Code::TooDeep,
                        format!("brackets nested more than {MAX_NESTING} deep"),
                    )
                    .at(source, Span::new(i, i + 1), "one level too many")
                    .help("flatten the expression or the blocks; nothing needs this depth"));
                }
            }
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Parses one literal on its own, as `--set NAME=VALUE` gives it.
pub fn parse_literal(text: &str) -> Option<Literal> {
    let mut pairs = Grammar::parse(Rule::literal, text).ok()?;
    let pair = pairs.next()?;
    (pair.as_span().end() == text.len()).then(|| build_literal(pair))
}

fn build_file(pair: Pair<'_, Rule>) -> File {
    let mut statements = Vec::new();
    for child in pair.into_inner() {
        match child.as_rule() {
            Rule::EOI => {}
            Rule::rollout_header
            | Rule::function_header
            | Rule::alias_header
            | Rule::region_header
            | Rule::param_header
            | Rule::import_header
            | Rule::health_block
            | Rule::waves_block
            | Rule::window_header
            | Rule::calendar_header
            | Rule::outside_header
            | Rule::notify_header
            | Rule::keep_header
            | Rule::metric_header
            | Rule::on_hook
            | Rule::step_def => statements.push(Statement::Header(build_header(child))),
            _ => statements.push(Statement::Step(build_step(child))),
        }
    }
    File { statements }
}

fn build_selector(pair: Pair<'_, Rule>) -> Selector {
    let inner = pair.into_inner().next().unwrap();
    match inner.as_rule() {
        Rule::tagged => Selector {
            tagged: true,
            text: build_string(inner.into_inner().nth(1).unwrap()),
        },
        _ => Selector {
            tagged: false,
            text: build_string(inner),
        },
    }
}

fn build_header(pair: Pair<'_, Rule>) -> Header {
    let span = Span::from(pair.as_span());
    let rule = pair.as_rule();
    let mut inner = pair.into_inner();
    inner.next(); // the keyword
    let kind = match rule {
        Rule::rollout_header => HeaderKind::Rollout(build_string(inner.next().unwrap())),
        Rule::function_header => HeaderKind::Function(
            inner
                .filter(|p| p.as_rule() == Rule::selector)
                .map(build_selector)
                .collect(),
        ),
        Rule::alias_header => HeaderKind::Alias(build_string(inner.next().unwrap())),
        Rule::region_header => HeaderKind::Region(build_string(inner.next().unwrap())),
        Rule::param_header => {
            let name = build_ident(inner.next().unwrap());
            inner.next(); // `=`
            HeaderKind::Param {
                name,
                value: build_literal(inner.next().unwrap()),
            }
        }
        Rule::import_header => HeaderKind::Import(build_string(inner.next().unwrap())),
        Rule::health_block => HeaderKind::Health(build_health(inner)),
        Rule::waves_block => HeaderKind::Waves(build_waves(inner)),
        Rule::window_header | Rule::calendar_header | Rule::outside_header => {
            HeaderKind::Window(windows::build_window_header(rule, inner))
        }
        Rule::notify_header => HeaderKind::Notify {
            service: match inner.next().unwrap().as_rule() {
                Rule::kw_eventbridge => NotifyService::EventBridge,
                _ => NotifyService::Sns,
            },
            target: build_string(inner.next().unwrap()),
        },
        Rule::keep_header => HeaderKind::Keep(build_value(inner.next().unwrap())),
        Rule::metric_header => HeaderKind::Metric(metrics::build_metric_def(inner)),
        Rule::on_hook => {
            let event = match inner.next().unwrap().as_rule() {
                Rule::kw_failure => HookEvent::Failure,
                _ => HookEvent::Success,
            };
            inner.next(); // `run`
            HeaderKind::OnHook {
                event,
                hook: build_hook(inner),
            }
        }
        Rule::step_def => HeaderKind::StepDef(build_step_def(inner)),
        other => unreachable!("not a header rule: {other:?}"),
    };
    Header { kind, span }
}

fn build_health(inner: pest::iterators::Pairs<'_, Rule>) -> HealthBlock {
    let mut every = None;
    let mut items = Vec::new();
    let mut close = Span::default();
    for pair in inner {
        match pair.as_rule() {
            Rule::health_every => every = Some(build_value(pair.into_inner().nth(1).unwrap())),
            Rule::open_brace => {}
            Rule::close_brace => close = pair.as_span().into(),
            _ => items.push(build_health_item(pair)),
        }
    }
    HealthBlock {
        every,
        items,
        close,
    }
}

fn build_waves(inner: pest::iterators::Pairs<'_, Rule>) -> WavesBlock {
    let mut items = Vec::new();
    let mut close = Span::default();
    for pair in inner {
        match pair.as_rule() {
            Rule::open_brace => {}
            Rule::close_brace => close = pair.as_span().into(),
            _ => items.push(build_waves_item(pair)),
        }
    }
    WavesBlock { items, close }
}

fn build_waves_item(pair: Pair<'_, Rule>) -> WavesItem {
    let span = Span::from(pair.as_span());
    let rule = pair.as_rule();
    let mut inner = pair.into_inner();
    let kind = match rule {
        Rule::wave => {
            let name = build_string(inner.nth(1).unwrap());
            let mut items = Vec::new();
            let mut close = Span::default();
            for pair in inner {
                match pair.as_rule() {
                    Rule::open_brace => {}
                    Rule::close_brace => close = pair.as_span().into(),
                    _ => items.push(build_wave_item(pair)),
                }
            }
            WavesItemKind::Wave(WaveDef { name, items, close })
        }
        Rule::between_waves => WavesItemKind::Between {
            duration: build_value(inner.nth(3).unwrap()),
            until_healthy: inner.next().is_some(),
        },
        Rule::wave_failure => match inner.nth(3).unwrap().as_rule() {
            Rule::kw_every => WavesItemKind::OnFailure(WaveScope::EveryWave),
            _ => WavesItemKind::OnFailure(WaveScope::ThisWave),
        },
        other => unreachable!("not a waves item rule: {other:?}"),
    };
    WavesItem { kind, span }
}

fn build_wave_item(pair: Pair<'_, Rule>) -> WaveItem {
    let span = Span::from(pair.as_span());
    let rule = pair.as_rule();
    let mut inner = pair.into_inner();
    let kind = match rule {
        Rule::wave_regions => WaveItemKind::Regions(
            inner
                .filter(|p| p.as_rule() == Rule::string)
                .map(build_string)
                .collect(),
        ),
        Rule::wave_account => WaveItemKind::Account {
            id: build_string(inner.nth(1).unwrap()),
            role: build_string(inner.nth(1).unwrap()),
            external_id: inner
                .next()
                .map(|external| build_string(external.into_inner().nth(2).unwrap())),
        },
        other => unreachable!("not a wave item rule: {other:?}"),
    };
    WaveItem { kind, span }
}

fn build_health_item(pair: Pair<'_, Rule>) -> HealthItem {
    let span = Span::from(pair.as_span());
    let rule = pair.as_rule();
    let mut inner = pair.into_inner();
    let kind = match rule {
        Rule::min_invocations => HealthItemKind::MinInvocations(build_value(inner.nth(2).unwrap())),
        Rule::metrics_delay => HealthItemKind::MetricsDelay(build_value(inner.nth(2).unwrap())),
        Rule::confidence => HealthItemKind::Confidence(build_value(inner.nth(1).unwrap())),
        Rule::shared_failure => match inner.nth(2).unwrap().as_rule() {
            Rule::kw_rollback => HealthItemKind::SharedFailure(None),
            _ => HealthItemKind::SharedFailure(Some(inner.nth(2).map(build_value))),
        },
        Rule::warm_up => HealthItemKind::WarmUp {
            length: build_value(inner.nth(2).unwrap()),
            errors: inner.next().is_some(),
        },
        Rule::asynchronous => HealthItemKind::Async,
        Rule::inconclusive => match inner.nth(1).unwrap().as_rule() {
            Rule::kw_pass => HealthItemKind::Inconclusive(Inconclusive::Pass),
            Rule::kw_extend => {
                HealthItemKind::InconclusiveExtend(build_value(inner.nth(2).unwrap()))
            }
            _ => HealthItemKind::Inconclusive(Inconclusive::Fail),
        },
        Rule::violation_policy => match inner.nth(2).unwrap().as_rule() {
            Rule::kw_rollback => HealthItemKind::Violation(None),
            _ => HealthItemKind::Violation(Some(inner.nth(2).map(build_value))),
        },
        Rule::observed_check => {
            let check = build_health_item(inner.nth(1).unwrap());
            HealthItemKind::Observe(Box::new(check.kind))
        }
        Rule::alarm_check => HealthItemKind::Alarm(build_string(inner.nth(1).unwrap())),
        Rule::script_check => {
            inner.next(); // `script`
            HealthItemKind::Script(build_hook(inner))
        }
        Rule::signatures_check => {
            HealthItemKind::Signatures(Box::new(signatures::build_signatures(inner)))
        }
        Rule::comparison => {
            let lhs = build_expr(inner.next().unwrap());
            let op_pair = inner.next().unwrap();
            let rhs = build_expr(inner.next().unwrap());
            let over = inner.next().map(build_over);
            HealthItemKind::Compare(Box::new(Comparison {
                lhs,
                op: build_compare_op(&op_pair),
                op_span: op_pair.as_span().into(),
                rhs,
                over,
            }))
        }
        other => unreachable!("not a health item rule: {other:?}"),
    };
    HealthItem { kind, span }
}

fn build_compare_op(pair: &Pair<'_, Rule>) -> CompareOp {
    match pair.as_str() {
        "<" => CompareOp::Lt,
        "<=" => CompareOp::Le,
        ">" => CompareOp::Gt,
        ">=" => CompareOp::Ge,
        "==" => CompareOp::Eq,
        _ => CompareOp::Ne,
    }
}

fn build_over(pair: Pair<'_, Rule>) -> Value {
    build_value(pair.into_inner().nth(1).unwrap())
}

/// `expr` and `term` are both left-associative chains of one operator class.
fn build_expr(pair: Pair<'_, Rule>) -> Expr {
    let mut inner = pair.into_inner();
    let mut acc = build_operand(inner.next().unwrap());
    while let Some(op) = inner.next() {
        let op = match op.as_str() {
            "+" => BinOp::Add,
            "-" => BinOp::Sub,
            "*" => BinOp::Mul,
            _ => BinOp::Div,
        };
        let rhs = build_operand(inner.next().unwrap());
        let span = acc.span.to(rhs.span);
        acc = Expr {
            kind: ExprKind::Binary {
                op,
                lhs: Box::new(acc),
                rhs: Box::new(rhs),
            },
            span,
        };
    }
    acc
}

fn build_operand(pair: Pair<'_, Rule>) -> Expr {
    let span = Span::from(pair.as_span());
    match pair.as_rule() {
        Rule::term => build_expr(pair),
        Rule::metric_ref => Expr {
            kind: ExprKind::Metric(build_metric_ref(pair)),
            span,
        },
        Rule::value => Expr {
            kind: ExprKind::Value(build_value(pair)),
            span,
        },
        Rule::paren_expr => Expr {
            kind: ExprKind::Paren(Box::new(build_expr(pair.into_inner().nth(1).unwrap()))),
            span,
        },
        other => unreachable!("not an operand rule: {other:?}"),
    }
}

fn build_metric_ref(pair: Pair<'_, Rule>) -> MetricRef {
    let mut metric = None;
    let mut of = None;
    let mut over = None;
    for child in pair.into_inner() {
        match child.as_rule() {
            Rule::metric => metric = Some(metrics::build_metric(child)),
            Rule::kw_new => of = Some(Which::New),
            Rule::kw_old => of = Some(Which::Old),
            Rule::over => over = Some(build_over(child)),
            _ => {}
        }
    }
    MetricRef {
        metric: metric.expect("metric_ref starts with a metric"),
        of,
        over,
    }
}

fn build_step_def(mut inner: pest::iterators::Pairs<'_, Rule>) -> StepDef {
    let name = build_ident(inner.next().unwrap());
    let mut params = Vec::new();
    let mut body = None;
    for pair in inner {
        match pair.as_rule() {
            Rule::ident => params.push(build_ident(pair)),
            Rule::block => body = Some(build_block(pair)),
            _ => {}
        }
    }
    StepDef {
        name,
        params,
        body: body.expect("a step definition has a body"),
    }
}

fn build_block(pair: Pair<'_, Rule>) -> Block {
    let mut steps = Vec::new();
    let mut close = Span::default();
    for child in pair.into_inner() {
        match child.as_rule() {
            Rule::open_brace => {}
            Rule::close_brace => close = child.as_span().into(),
            _ => steps.push(build_step(child)),
        }
    }
    Block { steps, close }
}

fn build_step(pair: Pair<'_, Rule>) -> Step {
    let span = Span::from(pair.as_span());
    let rule = pair.as_rule();
    if rule == Rule::block {
        return Step {
            kind: StepKind::Block(build_block(pair)),
            span,
        };
    }
    let mut inner = pair.into_inner();
    let kind = match rule {
        Rule::update_step => StepKind::UpdateCode(build_string(inner.nth(3).unwrap())),
        Rule::publish_step => StepKind::Publish(inner.nth(1).map(build_string)),
        Rule::use_step => StepKind::UseVersion(build_value(inner.nth(2).unwrap())),
        Rule::shift_step => StepKind::Shift(build_value(inner.nth(1).unwrap())),
        Rule::ramp_step => {
            let mut values = inner
                .filter(|p| p.as_rule() == Rule::value)
                .map(build_value);
            StepKind::Ramp {
                to: values.next().unwrap(),
                by: values.next().unwrap(),
                every: values.next().unwrap(),
            }
        }
        Rule::wait_step => {
            let duration = build_value(inner.nth(1).unwrap());
            let mut longest = None;
            let mut until_healthy = false;
            for pair in inner {
                match pair.as_rule() {
                    Rule::value => longest = Some(build_value(pair)),
                    Rule::until_healthy => until_healthy = true,
                    _ => {}
                }
            }
            StepKind::Wait {
                duration,
                longest,
                until_healthy,
            }
        }
        Rule::approve_step => StepKind::Approve(inner.nth(1).map(build_string)),
        Rule::run_step => {
            inner.next(); // `run`
            StepKind::Run(build_hook(inner))
        }
        Rule::promote_step => StepKind::Promote,
        Rule::watch_step => StepKind::Watch(build_value(inner.nth(1).unwrap())),
        Rule::rollback_step => StepKind::Rollback,
        Rule::call_step => {
            let name = build_ident(inner.next().unwrap());
            let args = inner
                .filter(|p| p.as_rule() == Rule::value)
                .map(build_value)
                .collect();
            StepKind::Call { name, args }
        }
        other => unreachable!("not a step rule: {other:?}"),
    };
    Step { kind, span }
}

/// A script string and its optional `timeout D`.
fn build_hook(mut inner: pest::iterators::Pairs<'_, Rule>) -> HookRef {
    let script = build_string(inner.next().unwrap());
    let timeout = inner
        .next()
        .map(|t| build_value(t.into_inner().nth(1).unwrap()));
    HookRef { script, timeout }
}

fn build_value(pair: Pair<'_, Rule>) -> Value {
    let child = pair.into_inner().next().unwrap();
    match child.as_rule() {
        Rule::ident => Value::Param(build_ident(child)),
        _ => Value::Literal(build_literal(child)),
    }
}

fn build_literal(pair: Pair<'_, Rule>) -> Literal {
    let span = Span::from(pair.as_span());
    let child = pair.into_inner().next().unwrap();
    let text = child.as_str();
    let kind = match child.as_rule() {
        Rule::duration => LiteralKind::Duration(text.to_string()),
        Rule::percent => LiteralKind::Percent(text.trim_end_matches('%').to_string()),
        Rule::number => LiteralKind::Number(text.to_string()),
        _ => LiteralKind::Str(build_string(child)),
    };
    Literal { kind, span }
}

pub(super) fn build_string(pair: Pair<'_, Rule>) -> Str {
    let span = Span::from(pair.as_span());
    let mut parts: Vec<StrPart> = Vec::new();
    for child in pair.into_inner() {
        let piece = match child.as_rule() {
            Rule::text => child.as_str().to_string(),
            Rule::escape => match &child.as_str()[1..] {
                "n" => "\n".to_string(),
                "t" => "\t".to_string(),
                other => other.to_string(),
            },
            Rule::interpolation => {
                parts.push(StrPart::Param(build_ident(
                    child.into_inner().next().unwrap(),
                )));
                continue;
            }
            _ => continue,
        };
        match parts.last_mut() {
            Some(StrPart::Text(text)) => text.push_str(&piece),
            _ => parts.push(StrPart::Text(piece)),
        }
    }
    Str { parts, span }
}

pub(super) fn build_ident(pair: Pair<'_, Rule>) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: pair.as_span().into(),
    }
}

#[cfg(test)]
mod tests;

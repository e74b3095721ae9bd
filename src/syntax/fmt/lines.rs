//! How each kind of line is printed: a metric block's lines, a wave's, a window header, a
//! health check, an expression, a value.

use super::super::ast::*;

/// One line of a `metric` block.
pub(super) fn metric_item(kind: &MetricItemKind) -> String {
    match kind {
        MetricItemKind::Namespace(s) => format!("namespace {}", string(s)),
        MetricItemKind::Name(s) => format!("name {}", string(s)),
        MetricItemKind::Statistic(stat) => format!("statistic {stat}"),
        MetricItemKind::VersionDimension(s) => format!("version dimension {}", string(s)),
        MetricItemKind::Dimension(k, v) => format!("dimension {} = {}", string(k), string(v)),
    }
}

pub(super) fn wave_item(item: &WaveItemKind) -> String {
    match item {
        WaveItemKind::Regions(regions) => {
            let regions: Vec<String> = regions.iter().map(string).collect();
            format!("region {}", regions.join(", "))
        }
        WaveItemKind::Account {
            id,
            role,
            external_id,
        } => format!(
            "account {} role {}{}",
            string(id),
            string(role),
            external_id
                .as_ref()
                .map(|x| format!(" external id {}", string(x)))
                .unwrap_or_default()
        ),
    }
}

/// `window mon-fri, sat 09:00-16:00 "Europe/Berlin"`, `calendar "…"`, `outside window pause`.
pub(super) fn window_header(window: &WindowHeader) -> String {
    match window {
        WindowHeader::Weekly(weekly) => {
            let days: Vec<String> = weekly
                .days
                .iter()
                .map(|d| match &d.last {
                    Some(last) => format!("{}-{}", d.first.text, last.text),
                    None => d.first.text.clone(),
                })
                .collect();
            format!(
                "window {} {}-{} {}",
                days.join(", "),
                weekly.opens.text,
                weekly.closes.text,
                string(&weekly.zone)
            )
        }
        WindowHeader::Calendar(name) => format!("calendar {}", string(name)),
        WindowHeader::Outside(outside) => format!("outside window {}", outside.as_str()),
    }
}

pub(super) fn health_item(item: &HealthItemKind) -> String {
    match item {
        HealthItemKind::MinInvocations(v) => format!("min invocations {}", value(v)),
        HealthItemKind::Inconclusive(Inconclusive::Fail) => "inconclusive fail".to_string(),
        HealthItemKind::Inconclusive(Inconclusive::Pass) => "inconclusive pass".to_string(),
        HealthItemKind::MetricsDelay(v) => format!("metrics delay {}", value(v)),
        HealthItemKind::Confidence(v) => format!("confidence {}", value(v)),
        HealthItemKind::SharedFailure(None) => "shared failure rollback".to_string(),
        HealthItemKind::SharedFailure(Some(None)) => "shared failure hold".to_string(),
        HealthItemKind::SharedFailure(Some(Some(v))) => {
            format!("shared failure hold up to {}", value(v))
        }
        HealthItemKind::WarmUp { length, errors } => format!(
            "warm up {}{}",
            value(length),
            if *errors { " including errors" } else { "" }
        ),
        HealthItemKind::Async => "async".to_string(),
        HealthItemKind::Observe(check) => format!("observe {}", health_item(check)),
        HealthItemKind::InconclusiveExtend(v) => format!("inconclusive extend up to {}", value(v)),
        HealthItemKind::Violation(None) => "on violation rollback".to_string(),
        HealthItemKind::Violation(Some(None)) => "on violation pause".to_string(),
        HealthItemKind::Violation(Some(Some(v))) => {
            format!("on violation pause up to {}", value(v))
        }
        HealthItemKind::Alarm(s) => format!("alarm {}", string(s)),
        HealthItemKind::Script(h) => format!("script {}", hook(h)),
        HealthItemKind::Signatures(check) => {
            let mut out = "no new error signatures".to_string();
            if let Some(n) = &check.more_than {
                let n = value(n);
                let times = if n == "1" { "time" } else { "times" };
                out.push_str(&format!(" seen more than {n} {times}"));
            }
            if let Some(re) = &check.matching {
                out.push_str(&format!(" matching {}", string(re)));
            }
            if let Some(group) = &check.log_group {
                out.push_str(&format!(" in {}", string(group)));
            }
            out
        }
        HealthItemKind::Compare(cmp) => {
            let over = cmp
                .over
                .as_ref()
                .map(|v| format!(" over {}", value(v)))
                .unwrap_or_default();
            format!(
                "{} {} {}{over}",
                expr(&cmp.lhs),
                cmp.op.as_str(),
                expr(&cmp.rhs)
            )
        }
    }
}

/// An expression as written; parentheses are AST nodes, so none are added or lost.
pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Metric(m) => {
            let mut out = m.metric.to_string();
            if let Some(which) = m.of {
                out.push_str(" of ");
                out.push_str(which.as_str());
            }
            if let Some(over) = &m.over {
                out.push_str(" over ");
                out.push_str(&value(over));
            }
            out
        }
        ExprKind::Value(v) => value(v),
        ExprKind::Paren(inner) => format!("({})", expr(inner)),
        ExprKind::Binary { op, lhs, rhs } => {
            format!("{} {} {}", expr(lhs), op.as_str(), expr(rhs))
        }
    }
}

pub(super) fn hook(h: &HookRef) -> String {
    match &h.timeout {
        Some(t) => format!("{} timeout {}", string(&h.script), value(t)),
        None => string(&h.script),
    }
}

pub(super) fn value(v: &Value) -> String {
    match v {
        Value::Literal(lit) => literal(lit),
        Value::Param(ident) => ident.name.clone(),
    }
}

pub(super) fn literal(lit: &Literal) -> String {
    match &lit.kind {
        LiteralKind::Duration(text) | LiteralKind::Number(text) => text.clone(),
        LiteralKind::Percent(text) => format!("{text}%"),
        LiteralKind::Str(s) => string(s),
    }
}

/// A string literal with the escapes it needs.
pub fn string(s: &Str) -> String {
    let mut out = String::from("\"");
    for part in &s.parts {
        match part {
            StrPart::Text(text) => {
                for c in text.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\t' => out.push_str("\\t"),
                        c => out.push(c),
                    }
                }
            }
            StrPart::Param(ident) => {
                out.push_str("${");
                out.push_str(&ident.name);
                out.push('}');
            }
        }
    }
    out.push('"');
    out
}

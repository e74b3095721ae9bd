//! Builders of `metric` headers and of the metrics a health check names.

use pest::iterators::{Pair, Pairs};

use super::{build_ident, build_string, Rule};
use crate::span::Span;
use crate::syntax::ast::{CustomRef, Metric, MetricDef, MetricItem, MetricItemKind, Statistic};

/// `metric NAME { … }`, whose keyword `inner` has already passed.
pub(super) fn build_metric_def(mut inner: Pairs<'_, Rule>) -> MetricDef {
    let name = build_ident(inner.next().unwrap());
    let mut items = Vec::new();
    let mut close = name.span;
    for pair in inner {
        match pair.as_rule() {
            Rule::open_brace => {}
            Rule::close_brace => close = Span::from(pair.as_span()),
            _ => items.push(build_item(pair)),
        }
    }
    MetricDef { name, items, close }
}

fn build_item(pair: Pair<'_, Rule>) -> MetricItem {
    let span = Span::from(pair.as_span());
    let rule = pair.as_rule();
    let mut inner = pair.into_inner().filter(|p| {
        !matches!(
            p.as_rule(),
            Rule::kw_namespace
                | Rule::kw_name
                | Rule::kw_statistic
                | Rule::kw_version
                | Rule::kw_dimension
                | Rule::equals
        )
    });
    let kind = match rule {
        Rule::metric_namespace => MetricItemKind::Namespace(build_string(inner.next().unwrap())),
        Rule::metric_name => MetricItemKind::Name(build_string(inner.next().unwrap())),
        Rule::metric_statistic => MetricItemKind::Statistic(build_statistic(inner.next().unwrap())),
        Rule::version_dimension => {
            MetricItemKind::VersionDimension(build_string(inner.next().unwrap()))
        }
        Rule::fixed_dimension => MetricItemKind::Dimension(
            build_string(inner.next().unwrap()),
            build_string(inner.next().unwrap()),
        ),
        other => unreachable!("not a metric line: {other:?}"),
    };
    MetricItem { kind, span }
}

fn build_statistic(pair: Pair<'_, Rule>) -> Statistic {
    let first = pair.into_inner().next().unwrap();
    match first.as_rule() {
        Rule::kw_sum => Statistic::Sum,
        Rule::kw_average => Statistic::Average,
        Rule::kw_minimum => Statistic::Minimum,
        Rule::kw_maximum => Statistic::Maximum,
        Rule::kw_sample => Statistic::SampleCount,
        // The checker says which percentiles CloudWatch offers; the grammar's are numbers.
        _ => Statistic::Percentile(first.as_str()[1..].parse().unwrap_or(f64::NAN)),
    }
}

/// A metric of a health check (the `metric` rule).
pub(super) fn build_metric(pair: Pair<'_, Rule>) -> Metric {
    let mut inner = pair.into_inner();
    let first = inner.next().unwrap();
    let init = inner.next().is_some_and(|p| p.as_rule() == Rule::kw_init);
    match first.as_rule() {
        Rule::kw_invocations => Metric::Invocations,
        Rule::kw_errors => Metric::Errors,
        Rule::kw_error => Metric::ErrorRate,
        Rule::kw_throttles => Metric::Throttles,
        Rule::percentile if init => Metric::InitPercentile(first.as_str()[1..].to_string()),
        Rule::percentile => Metric::Percentile(first.as_str()[1..].to_string()),
        Rule::kw_avg if init => Metric::AvgInitDuration,
        Rule::kw_avg => Metric::AvgDuration,
        Rule::kw_max if init => Metric::MaxInitDuration,
        Rule::kw_max => Metric::MaxDuration,
        Rule::kw_cold => Metric::ColdStarts,
        Rule::custom_metric => {
            let mut parts = first.into_inner();
            Metric::Custom(CustomRef {
                name: parts.next().unwrap().as_str().to_string(),
                per_invocation: parts.next().is_some(),
                index: 0,
                counts: false,
            })
        }
        _ => Metric::Concurrency,
    }
}

//! `metric` headers: each names one CloudWatch metric the function publishes per version, with
//! everything `GetMetricData` needs; and the health checks' references to them.

use std::rc::Rc;

use super::load::Loaded;
use super::values::Scope;
use super::Checker;
use crate::diagnostic::{Code, Diag};
use crate::plan::{CustomMetric, Statistic};
use crate::span::Span;
use crate::syntax::ast::{self, CustomRef, HeaderKind, MetricItemKind, Statement};

/// The most `metric` headers a playbook may have (checks name them by a small index).
const MAX_METRICS: usize = 100;

/// The most dimensions CloudWatch lets a metric have.
const MAX_DIMENSIONS: usize = 30;

/// Names a `metric` header may not take: the words of the built-in metrics that are not
/// reserved, which a check would read as those.
const TAKEN: &[&str] = &["cold", "init"];

impl Checker {
    /// The `metric` headers of `files` (the playbook, and the file its health block comes from),
    /// each once, in the order written.
    pub(super) fn metric_defs(&mut self, files: &[Rc<Loaded>]) -> Vec<CustomMetric> {
        let mut out: Vec<(CustomMetric, Span)> = Vec::new();
        let mut read: Vec<&str> = Vec::new();
        for file in files {
            if read.contains(&file.source.name()) {
                continue;
            }
            read.push(file.source.name());
            let scope = Scope::top(file.clone());
            for statement in &file.file.statements {
                let Statement::Header(header) = statement else {
                    continue;
                };
                let HeaderKind::Metric(def) = &header.kind else {
                    continue;
                };
                if out.len() >= MAX_METRICS {
                    self.diags.push(
                        Diag::new(
                            Code::BadMetric,
                            format!("more than {MAX_METRICS} `metric` headers"),
                        )
                        .at(scope.source(), def.name.span, "one too many")
                        .help("judge a release on the few metrics that tell most; the rest belong on a dashboard"),
                    );
                    continue;
                }
                if let Some((_, first)) = out.iter().find(|(m, _)| m.name == def.name.name) {
                    self.diags.push(
                        Diag::new(
                            Code::BadMetric,
                            format!("metric `{}` is declared twice", def.name.name),
                        )
                        .at(scope.source(), def.name.span, "declared again here")
                        .also(*first, "first declared here")
                        .help("give each `metric` header its own name"),
                    );
                    continue;
                }
                match self.metric_def(def, header.span, &scope) {
                    Some(metric) => out.push((metric, def.name.span)),
                    // Said once: its uses are not reported again.
                    None => self.broken_metrics.push(def.name.name.clone()),
                }
            }
        }
        out.into_iter().map(|(m, _)| m).collect()
    }

    fn metric_def(
        &mut self,
        def: &ast::MetricDef,
        span: Span,
        scope: &Scope,
    ) -> Option<CustomMetric> {
        let name = &def.name.name;
        let looks_builtin = TAKEN.contains(&name.as_str())
            || (name.starts_with('p') && name[1..].starts_with(|c: char| c.is_ascii_digit()));
        if looks_builtin {
            self.diags.push(
                Diag::new(
                    Code::BadMetric,
                    format!("`{name}` cannot name a metric: checks read it as a built-in one"),
                )
                .at(scope.source(), def.name.span, "taken")
                .help("choose another name, such as `orders`"),
            );
            return None;
        }
        let mut namespace = None;
        let mut metric = None;
        let mut statistic = None;
        let mut version = None;
        let mut dimensions: Vec<(String, String)> = Vec::new();
        let mut ok = true;
        for item in &def.items {
            let seen = match &item.kind {
                MetricItemKind::Namespace(s) => set(&mut namespace, self.text(s, scope, 255)),
                MetricItemKind::Name(s) => set(&mut metric, self.text(s, scope, 255)),
                MetricItemKind::Statistic(stat) => {
                    if let Statistic::Percentile(p) = stat {
                        let two_decimals = ((p * 100.0).round() - p * 100.0).abs() < 1e-9;
                        if !(p.is_finite() && *p > 0.0 && *p < 100.0 && two_decimals) {
                            self.diags.push(
                                Diag::new(Code::BadNumber, format!("`{stat}` is not a percentile CloudWatch offers"))
                                    .at(scope.source(), item.span, "invalid percentile")
                                    .help("use a percentile above p0 and below p100 with at most two decimals, such as `p99` or `p99.9`"),
                            );
                            ok = false;
                        }
                    }
                    set(&mut statistic, Some(*stat))
                }
                MetricItemKind::VersionDimension(s) => set(&mut version, self.text(s, scope, 255)),
                MetricItemKind::Dimension(k, v) => {
                    match (self.text(k, scope, 255), self.text(v, scope, 1024)) {
                        (Some(k), Some(_)) if dimensions.iter().any(|(d, _)| *d == k) => {
                            self.diags.push(
                                Diag::new(
                                    Code::BadMetric,
                                    format!("dimension {k:?} is given twice"),
                                )
                                .at(scope.source(), item.span, "again here")
                                .help("a metric has one value per dimension: keep one line"),
                            );
                            ok = false;
                        }
                        (Some(k), Some(v)) => dimensions.push((k, v)),
                        _ => ok = false,
                    }
                    true
                }
            };
            if !seen {
                self.diags.push(
                    Diag::new(
                        Code::DuplicateSetting,
                        "this line of the `metric` block is given twice",
                    )
                    .at(scope.source(), item.span, "again here")
                    .help("keep one"),
                );
                ok = false;
            }
        }
        let missing: Vec<&str> = [
            (namespace.is_none(), "namespace \"…\""),
            (metric.is_none(), "name \"…\""),
            (statistic.is_none(), "statistic sum"),
            (version.is_none(), "version dimension \"…\""),
        ]
        .into_iter()
        .filter_map(|(missing, line)| missing.then_some(line))
        .collect();
        if !missing.is_empty() {
            self.diags.push(
                Diag::new(Code::BadMetric, format!("metric `{name}` does not say {}", missing.join(", ")))
                    .at(scope.source(), span, "incomplete")
                    .help("a `metric` block names the namespace, the metric's name, its statistic and the dimension that carries the version: `metric orders { namespace \"Shop\"; name \"OrdersPlaced\"; statistic sum; version dimension \"FunctionVersion\" }`"),
            );
            return None;
        }
        let version = version?;
        if dimensions.iter().any(|(k, _)| *k == version) || dimensions.len() + 1 > MAX_DIMENSIONS {
            self.diags.push(
                Diag::new(Code::BadMetric, format!("metric `{name}` has its version dimension {version:?} twice, or more than {MAX_DIMENSIONS} dimensions"))
                    .at(scope.source(), span, "here")
                    .help("the version dimension's value is the version; the fixed dimensions are the others"),
            );
            return None;
        }
        ok.then(|| CustomMetric {
            name: name.clone(),
            namespace: namespace.unwrap_or_default(),
            metric: metric.unwrap_or_default(),
            statistic: statistic.unwrap_or(Statistic::Sum),
            version_dimension: version,
            dimensions,
        })
    }

    /// A string of 1 to `max` characters.
    fn text(&mut self, s: &ast::Str, scope: &Scope, max: usize) -> Option<String> {
        let text = self.string(s, scope)?;
        if text.is_empty() || text.chars().count() > max {
            self.diags.push(
                Diag::new(
                    Code::BadMetric,
                    format!("CloudWatch takes 1 to {max} characters here"),
                )
                .at(scope.source(), s.span, "empty or too long")
                .help("write the name as the function publishes it"),
            );
            return None;
        }
        Some(text)
    }

    /// A check's reference to a declared metric, resolved: its place and whether it counts.
    /// `None` when no `metric` header names it.
    pub(super) fn custom(
        &mut self,
        reference: &CustomRef,
        span: Span,
        scope: &Scope,
    ) -> Option<Option<CustomRef>> {
        let Some(index) = self.metrics.iter().position(|m| m.name == reference.name) else {
            return Some(None);
        };
        let counts = self.metrics[index].statistic.counts();
        if reference.per_invocation && !counts {
            self.diags.push(
                Diag::new(
                    Code::BadMetric,
                    format!(
                        "`{} per invocation` divides a count, but metric `{}` reads the {}",
                        reference.name, reference.name, self.metrics[index].statistic
                    ),
                )
                .at(scope.source(), span, "not a count")
                .help("per invocation needs `statistic sum` (or `sample count`); compare an average or a percentile as it is"),
            );
            return None;
        }
        Some(Some(CustomRef {
            index,
            counts,
            ..reference.clone()
        }))
    }

    /// A name in a check that is neither a declared metric nor a parameter.
    pub(super) fn unknown_metric(&mut self, name: &str, span: Span, scope: &Scope) {
        if self.broken_metrics.iter().any(|b| b == name) {
            return;
        }
        let known: Vec<String> = self.metrics.iter().map(|m| m.name.clone()).collect();
        let help = match crate::diagnostic::closest(name, known.iter().map(String::as_str)) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("declare it: `metric {name} {{ namespace \"…\"; name \"…\"; statistic sum; version dimension \"…\" }}`, or `param {name} = …` for a value"),
        };
        self.diags.push(
            Diag::new(
                Code::UnknownParam,
                format!("unknown metric or parameter `{name}`"),
            )
            .at(scope.source(), span, "no `metric` or `param` declares it")
            .help(help),
        );
    }
}

/// Sets `slot` to `value` when it is empty; false when it was already set.
fn set<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = value;
    true
}

//! `no new error signatures`: its count, its pattern (a regular expression that compiles), its
//! log group (a name CloudWatch Logs accepts), and no `waves` beside it.

use super::load::Def;
use super::values::Scope;
use super::Checker;
use crate::diagnostic::{Code, Diag};
use crate::plan::signatures::Signatures;
use crate::plan::Check;
use crate::span::Span;
use crate::syntax::ast::{self, HealthItemKind};

impl Checker {
    /// The check, when its parts are valid (each problem reported).
    pub(super) fn signatures(
        &mut self,
        check: &ast::SignaturesCheck,
        scope: &Scope,
    ) -> Option<Check> {
        let more_than = match &check.more_than {
            Some(n) => self.want_count(n, 0, "`seen more than N times`", scope),
            None => Some(0),
        };
        let matching = match &check.matching {
            Some(s) => {
                let pattern = self.string(s, scope);
                pattern.and_then(|p| self.pattern(p, s.span, scope))
            }
            None => None,
        };
        let log_group = match &check.log_group {
            Some(s) => {
                let group = self.string(s, scope);
                group.and_then(|g| self.log_group(g, s.span, scope))
            }
            None => None,
        };
        let bad =
            |given: &Option<ast::Str>, found: &Option<String>| given.is_some() && found.is_none();
        if bad(&check.matching, &matching) || bad(&check.log_group, &log_group) {
            return None;
        }
        Some(Check::Signatures(Signatures::new(
            more_than?, matching, log_group,
        )))
    }

    /// A pattern regex-lite compiles (Logs Insights runs it too), that matches something.
    fn pattern(&mut self, pattern: String, span: Span, scope: &Scope) -> Option<String> {
        let problem = match regex_lite::Regex::new(&pattern) {
            _ if pattern.is_empty() => "an empty pattern would count every line".to_string(),
            Ok(_) => return Some(pattern),
            Err(e) => e
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string(),
        };
        self.diags.push(
            Diag::new(
                Code::BadPattern,
                format!("`matching {pattern:?}` is not a regular expression to match error lines with: {problem}"),
            )
            .at(scope.source(), span, "this pattern")
            .help("write a regular expression such as \"ERROR|Exception\" (`\\\\` for a backslash in a string)"),
        );
        None
    }

    /// A log group name: 1 to 512 of letters, digits, `_ - / . #`.
    fn log_group(&mut self, group: String, span: Span, scope: &Scope) -> Option<String> {
        let valid = |c: char| c.is_ascii_alphanumeric() || "_-/.#".contains(c);
        if (1..=512).contains(&group.len()) && group.chars().all(valid) {
            return Some(group);
        }
        self.diags.push(
            Diag::new(Code::BadLogGroup, format!("{group:?} is not a log group's name"))
                .at(scope.source(), span, "this log group")
                .help("a log group's name has 1 to 512 letters, digits and `_ - / . #`, such as \"/aws/lambda/checkout\"; leave `in` out for the function's own"),
        );
        None
    }

    /// Refuses `no new error signatures` beside `waves`: each of the health block's.
    pub(super) fn signatures_with_waves(
        &mut self,
        health: Option<&Def<ast::HealthBlock>>,
        waves: Span,
    ) {
        let Some(def) = health else { return };
        let scope = Scope::top(def.file.clone());
        for item in &def.item.items {
            let kind = match &item.kind {
                HealthItemKind::Observe(inner) => inner.as_ref(),
                other => other,
            };
            if matches!(kind, HealthItemKind::Signatures(_)) {
                self.diags.push(
                    Diag::new(
                        Code::SignaturesWithWaves,
                        "`no new error signatures` with `waves` is not supported yet",
                    )
                    .at(
                        scope.source(),
                        item.span,
                        "the logs of each wave's regions would be read",
                    )
                    .also(
                        Span::new(waves.start, waves.start + "waves".len()),
                        "the waves",
                    )
                    .help("leave the check out of a waved playbook, or roll out to one region"),
                );
            }
        }
    }
}

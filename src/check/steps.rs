//! Steps: expanding step definitions, and the order rules of a rollout
//! (a version before traffic moves, nothing after the end).

use std::collections::HashMap;
use std::rc::Rc;

use super::values::{Bound, Scope};
use super::Checker;
use crate::diagnostic::{Code, Diag, Source};
use crate::plan::{Millis, Percent, Step, StepKind};
use crate::span::Span;
use crate::syntax::ast::{self, Value};

/// The deepest chain of step calls expanded: far beyond any playbook, and well within what the
/// checker follows without running out of stack.
const MAX_CALL_DEPTH: usize = 64;

/// The most steps expanded, step definitions followed: far beyond any rollout, and few enough
/// that checking stays fast and small even when definitions call each other twice at each of
/// many levels (which would otherwise double the work with every level).
pub(crate) const MAX_EXPANDED_STEPS: usize = 100_000;

/// What the steps so far have done, for the order rules.
#[derive(Debug, Default)]
pub(super) struct Flow {
    /// The `publish`/`use version` that chose `new`.
    version: Option<(Source, Span)>,
    /// Weight on `new` after the steps so far.
    weight: Percent,
    /// Set by `promote`/`rollback`.
    ended: bool,
    /// Whether steps after the end were already reported.
    reported_after_end: bool,
    /// Whether judging health without traffic was already reported.
    reported_no_traffic: bool,
    /// Whether the missing `health` block was already reported.
    reported_default_health: bool,
    /// The expanded steps.
    pub(super) steps: Vec<Step>,
    /// Step definitions being expanded, innermost last.
    calls: Vec<String>,
    /// The span in the playbook of the outermost statement being expanded.
    root: Span,
    /// Statements expanded so far, calls and blocks included.
    expanded: usize,
    /// Set once `expanded` passed [`MAX_EXPANDED_STEPS`]: nothing more is expanded.
    overflowed: bool,
}

impl Flow {
    /// True when the plan ends with `promote` or `rollback`.
    pub(super) fn ended(&self) -> bool {
        self.ended
    }

    /// True when the steps expanded past the limit, so the plan's end is unknown.
    pub(super) fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Whether a step warned that `until healthy` has no `health` block to judge by.
    pub(super) fn default_health_reported(&self) -> bool {
        self.reported_default_health
    }

    /// The weight on `new` at the end.
    pub(super) fn weight(&self) -> Percent {
        self.weight
    }
}

impl Checker {
    /// Expands and checks the playbook's top-level steps.
    pub(super) fn steps(&mut self, steps: &[&ast::Step], scope: &Scope) -> Flow {
        let mut flow = Flow::default();
        for step in steps {
            flow.root = step.span;
            self.step(step, scope, &mut flow);
        }
        flow
    }

    fn step(&mut self, step: &ast::Step, scope: &Scope, flow: &mut Flow) {
        use ast::StepKind as A;
        if flow.overflowed {
            return;
        }
        flow.expanded += 1;
        if flow.expanded > MAX_EXPANDED_STEPS {
            flow.overflowed = true;
            let mut diag = Diag::new(
                Code::TooLarge,
                format!("the steps expand to more than {MAX_EXPANDED_STEPS} steps"),
            )
            .at(scope.source(), flow.root, "expands past the limit");
            if let Some(first) = flow.calls.first() {
                diag.message = format!(
                    "{} (through `{}`: step definitions that call others several times multiply)",
                    diag.message, first
                );
            }
            self.diags.push(diag.help(
                "a rollout needs far fewer steps: call each step definition once per use, or write a `ramp` instead of many shifts",
            ));
            return;
        }
        if let A::Block(block) = &step.kind {
            for inner in &block.steps {
                self.step(inner, scope, flow);
            }
            return;
        }
        if let A::Call { name, args } = &step.kind {
            self.call(name, args, step.span, scope, flow);
            return;
        }
        if let A::Watch(value) = &step.kind {
            self.watch(value, step.span, scope, flow);
            return;
        }
        if flow.ended {
            if !flow.reported_after_end {
                flow.reported_after_end = true;
                self.diags.push(
                    Diag::new(Code::AfterEnd, "steps after `promote` or `rollback` never run")
                        .at(scope.source(), step.span, "never runs")
                        .help("`promote` and `rollback` end the rollout; move them to the end or remove the steps after them"),
                );
            }
            return;
        }
        if let Some(kind) = self.step_kind(step, scope, flow) {
            flow.steps.push(Step {
                kind,
                span: flow.root,
                via: flow.calls.clone(),
            });
        }
    }

    /// Checks one step that is not a block or a call, and updates the flow.
    fn step_kind(&mut self, step: &ast::Step, scope: &Scope, flow: &mut Flow) -> Option<StepKind> {
        use ast::StepKind as A;
        let source = scope.source();
        Some(match &step.kind {
            A::UpdateCode(zip) => {
                if flow.version.is_some() {
                    self.diags.push(
                        Diag::new(
                            Code::UpdateAfterVersion,
                            "`update code` after `new` is chosen does not change `new`",
                        )
                        .at(source, step.span, "this updates `$LATEST` only")
                        .help("put `update code from …` before `publish`"),
                    );
                }
                StepKind::UpdateCode {
                    zip: self.zip(zip, scope)?,
                }
            }
            A::Publish(description) => {
                self.choose_version(step.span, "publish", scope, flow);
                let description = match description {
                    Some(d) => Some(self.string(d, scope)?),
                    None => None,
                };
                StepKind::Publish { description }
            }
            A::UseVersion(value) => {
                let version = self.want_count(value, 1, "`use version`", scope);
                self.choose_version(step.span, "use version", scope, flow);
                StepKind::UseVersion { version: version? }
            }
            A::Shift(value) => {
                self.need_version(step.span, "shift", scope, flow);
                let weight = self.want_percent(value, "`shift`", scope)?;
                if weight.0 == 0 || weight >= Percent::FULL {
                    let help = if weight >= Percent::FULL {
                        "to send all traffic to `new`, write `promote`"
                    } else {
                        "to send all traffic back to `old`, write `rollback`"
                    };
                    let diag = Diag::new(
                        Code::PercentRange,
                        format!("`shift` needs more than 0% and less than 100%, not {weight}"),
                    );
                    self.diags
                        .push(self.located(diag, value, scope, "out of range").help(help));
                    return None;
                }
                flow.weight = weight;
                StepKind::Shift { weight }
            }
            A::Ramp { to, by, every } => {
                self.need_version(step.span, "ramp", scope, flow);
                let to_p = self.want_percent(to, "`ramp to`", scope);
                let by_p = self.want_percent(by, "`ramp by`", scope);
                let every_d = self.want_duration(every, "`ramp every`", scope);
                let (to_p, by_p, every_d) = (to_p?, by_p?, every_d?);
                let mut ok = true;
                if to_p > Percent(9_999) {
                    ok = false;
                    let diag = Diag::new(
                        Code::PercentRange,
                        format!("`ramp to` goes at most to 99.99%, not {to_p}"),
                    );
                    self.diags
                        .push(self.located(diag, to, scope, "out of range").help(
                            "ramp to at most 99.99%, then `promote` to send all traffic to `new`",
                        ));
                } else if to_p <= flow.weight {
                    ok = false;
                    let diag = Diag::new(
                        Code::RampRange,
                        format!("`ramp to {to_p}` starts at {} already", flow.weight),
                    );
                    self.diags.push(
                        self.located(diag, to, scope, "not above the current weight")
                            .help(format!("ramp to a weight above {}", flow.weight)),
                    );
                }
                if by_p.0 == 0 {
                    ok = false;
                    let diag = Diag::new(Code::PercentRange, "`ramp by` must be more than 0%");
                    self.diags.push(
                        self.located(diag, by, scope, "a zero increment never arrives")
                            .help("ramp by a step such as `10%`"),
                    );
                }
                if !ok {
                    return None;
                }
                if !self.long_enough(every_d, every, scope) {
                    return None;
                }
                let from = flow.weight;
                let increments = increments(from, to_p, by_p);
                // Each bake of a ramp follows its shift, so `new` has traffic when judged.
                flow.weight = to_p;
                self.judged(step.span, scope, flow);
                StepKind::Ramp {
                    from,
                    to: to_p,
                    by: by_p,
                    every: every_d,
                    increments,
                }
            }
            A::Wait {
                duration,
                longest,
                until_healthy,
            } => {
                let first = self.want_duration(duration, "`wait`", scope)?;
                let longest = match longest {
                    Some(value) => Some((value, self.want_duration(value, "`wait`", scope)?)),
                    None => None,
                };
                match (longest, *until_healthy) {
                    (None, false) => StepKind::Wait { duration: first },
                    (None, true) => {
                        if !self.long_enough(first, duration, scope) {
                            return None;
                        }
                        self.judged(step.span, scope, flow);
                        StepKind::Bake {
                            duration: first,
                            shortest: None,
                        }
                    }
                    (Some((value, last)), judged) => {
                        if !judged {
                            self.diags.push(
                                Diag::new(Code::BakeRange, format!("`wait {first}..{last}` judges nothing"))
                                    .at(scope.source(), step.span, "a range without `until healthy`")
                                    .help(format!("an adaptive bake ends early on evidence, so it needs health: write `wait {first}..{last} until healthy`, or `wait {first}`")),
                            );
                            return None;
                        }
                        if first >= last {
                            let diag = Diag::new(Code::BakeRange, format!("the shortest bake {first} is not shorter than the longest {last}"));
                            let help = if first == last {
                                format!("the two bounds are equal: write a fixed bake `wait {first} until healthy`, or a longest bake above {first}, as in `wait {first}..{} until healthy`", Millis(first.0.saturating_mul(2)))
                            } else {
                                format!("write the shortest first, as in `wait {last}..{first} until healthy`, or a fixed bake `wait {first} until healthy`")
                            };
                            self.diags.push(
                                self.located(diag, value, scope, "not above the shortest")
                                    .help(help),
                            );
                            return None;
                        }
                        if !self.long_enough(last, value, scope) {
                            return None;
                        }
                        self.judged(step.span, scope, flow);
                        StepKind::Bake {
                            duration: last,
                            shortest: Some(first),
                        }
                    }
                }
            }
            A::Approve(message) => {
                let message = match message {
                    Some(m) => Some(self.string(m, scope)?),
                    None => None,
                };
                StepKind::Approve { message }
            }
            A::Run(script) => StepKind::Run {
                script: self.script(script, scope)?,
            },
            A::Promote => {
                self.need_version(step.span, "promote", scope, flow);
                flow.ended = true;
                flow.weight = Percent::FULL;
                StepKind::Promote
            }
            A::Rollback => {
                flow.ended = true;
                flow.weight = Percent(0);
                StepKind::Rollback
            }
            A::Call { .. } | A::Block(_) | A::Watch(_) => unreachable!("handled by `step`"),
        })
    }

    /// `watch D`: only directly after `promote`, once, and at least one period long.
    fn watch(&mut self, value: &Value, span: Span, scope: &Scope, flow: &mut Flow) {
        let after_promote = flow.ended
            && !flow.reported_after_end
            && matches!(flow.steps.last().map(|s| &s.kind), Some(StepKind::Promote));
        if !after_promote {
            let watched = matches!(
                flow.steps.last().map(|s| &s.kind),
                Some(StepKind::Watch { .. })
            );
            let (message, label, help) = if watched {
                (
                    "a second `watch` after `promote`".to_string(),
                    "a second watch",
                    "a promoted rollout is watched once: write one `watch` with the whole duration",
                )
            } else {
                (
                    "`watch` judges `new` after `promote`, and only there".to_string(),
                    "not directly after `promote`",
                    "put `watch D` right after `promote` (`promote; watch 1h`); before `promote`, judge with `wait D until healthy`",
                )
            };
            self.diags.push(
                Diag::new(Code::WatchPlacement, message)
                    .at(scope.source(), span, label)
                    .help(help),
            );
            flow.reported_after_end |= flow.ended && !watched;
            return;
        }
        let Some(duration) = self.want_duration(value, "`watch`", scope) else {
            return;
        };
        if !self.long_enough(duration, value, scope) {
            return;
        }
        if self.health_defaulted && !flow.reported_default_health {
            flow.reported_default_health = true;
            self.diags.push(default_health(scope.source(), span));
        }
        flow.steps.push(Step {
            kind: StepKind::Watch { duration },
            span: flow.root,
            via: flow.calls.clone(),
        });
    }

    fn call(
        &mut self,
        name: &ast::Ident,
        args: &[Value],
        span: Span,
        scope: &Scope,
        flow: &mut Flow,
    ) {
        let Some(def) = self.step_defs.get(&name.name).cloned() else {
            let help = match crate::diagnostic::closest(
                &name.name,
                self.step_defs.keys().map(String::as_str),
            ) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!(
                    "define it with `step {}(…) {{ … }}` above the steps",
                    name.name
                ),
            };
            self.diags.push(
                Diag::new(Code::UnknownStep, format!("unknown step `{}`", name.name))
                    .at(scope.source(), name.span, "no step by this name")
                    .help(help),
            );
            return;
        };
        if flow.calls.len() >= MAX_CALL_DEPTH {
            self.diags.push(
                Diag::new(
                    Code::TooDeep,
                    format!(
                        "step calls nested more than {MAX_CALL_DEPTH} deep: {} → …",
                        flow.calls[..3.min(flow.calls.len())].join(" → ")
                    ),
                )
                .at(scope.source(), span, "one call too many")
                .help("call the steps one after another instead of each from the last"),
            );
            return;
        }
        if flow.calls.contains(&name.name) {
            let mut chain = flow.calls.clone();
            chain.push(name.name.clone());
            self.diags.push(
                Diag::new(Code::RecursiveStep, format!("step `{}` calls itself: {}", name.name, chain.join(" → ")))
                    .at(scope.source(), span, "recursive call")
                    .help("a step definition expands in place, so it cannot call itself; write the repetition out"),
            );
            return;
        }
        let params = &def.item.params;
        if params.len() != args.len() {
            let mut diag = Diag::new(
                Code::StepArgs,
                format!(
                    "step `{}` takes {} argument{}, but {} {} given",
                    name.name,
                    params.len(),
                    if params.len() == 1 { "" } else { "s" },
                    args.len(),
                    if args.len() == 1 { "is" } else { "are" }
                ),
            )
            .at(scope.source(), span, "wrong number of arguments");
            if def.file.source.name() == scope.source().name() {
                diag = diag.also(def.item.name.span, "defined here");
            }
            let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
            self.diags
                .push(diag.help(format!("call it as `{}({})`", name.name, names.join(", "))));
            return;
        }
        let mut bound = HashMap::new();
        for (param, arg) in params.iter().zip(args) {
            let Some((value, _)) = self.value(arg, scope) else {
                return;
            };
            bound.insert(
                param.name.clone(),
                Bound {
                    value,
                    span: arg.span(),
                    source: scope.source().clone(),
                    set_at: self.set_at(arg, scope),
                },
            );
        }
        let inner = Scope {
            file: def.file.clone(),
            args: Rc::new(bound),
        };
        flow.calls.push(name.name.clone());
        for step in &def.item.body.steps {
            self.step(step, &inner, flow);
        }
        flow.calls.pop();
    }

    fn choose_version(&mut self, span: Span, what: &str, scope: &Scope, flow: &mut Flow) {
        if let Some((first_source, first)) = &flow.version {
            let mut diag = Diag::new(
                Code::SecondVersion,
                format!("`{what}` after `new` is already chosen"),
            )
            .at(scope.source(), span, "a second version");
            if first_source.name() == scope.source().name() {
                diag = diag.also(*first, "`new` is chosen here");
            }
            self.diags.push(
                diag.help("a rollout moves traffic to one new version; remove one of the two"),
            );
            return;
        }
        flow.version = Some((scope.source().clone(), span));
    }

    fn need_version(&mut self, span: Span, what: &str, scope: &Scope, flow: &Flow) {
        if flow.version.is_none() {
            self.diags.push(
                Diag::new(
                    Code::NoNewVersion,
                    format!("`{what}` before there is a new version"),
                )
                .at(scope.source(), span, "no new version yet")
                .help("start with `publish` (or `use version N`) so that `new` exists"),
            );
        }
    }

    /// Whether a bake of `traffic` (written as `value`) judges at least one period of metrics;
    /// a shorter one may judge almost none of `new`'s calls, whatever its traffic, and pass a
    /// failing version for want of evidence.
    pub(super) fn long_enough(&mut self, traffic: Millis, value: &Value, scope: &Scope) -> bool {
        let period = self.period;
        if traffic >= period {
            return true;
        }
        let diag = Diag::new(
            Code::BakeTooShort,
            format!(
                "a bake of {traffic} is shorter than one period of metrics ({period}): it judges whatever of `new`'s traffic falls in it, from a period's worth to almost none, and can pass a version that fails every call"
            ),
        );
        self.diags.push(
            self.located(diag, value, scope, "too short to judge")
                .help(format!("bake for at least {period} (Lambda's metrics come one minute at a time; `health every` sets a shorter period for high-resolution metrics)")),
        );
        false
    }

    /// A step that judges health: warns when `new` gets no traffic yet, or when the defaults apply.
    fn judged(&mut self, span: Span, scope: &Scope, flow: &mut Flow) {
        if flow.weight.0 == 0 && !flow.reported_no_traffic {
            flow.reported_no_traffic = true;
            self.diags.push(
                Diag::new(Code::NoTraffic, "health is judged while `new` gets no traffic")
                    .at(scope.source(), span, "`new` serves 0% here")
                    .help("`shift` some traffic to `new` first; without invocations every evaluation is inconclusive"),
            );
        }
        if self.health_defaulted && !flow.reported_default_health {
            flow.reported_default_health = true;
            self.diags.push(default_health(scope.source(), span));
        }
    }
}

/// `until healthy` at `span` of `source`, in a playbook without a `health` block.
pub(super) fn default_health(source: &Source, span: Span) -> Diag {
    Diag::new(Code::DefaultHealth, "`until healthy` without a `health` block uses the defaults")
        .at(source, span, "judged by the default health checks")
        .help("the defaults are `health every 1m { min invocations 1; error rate < 1% }`; add a `health` block to say what healthy means for this function")
}

/// The weights a ramp shifts to: `by` at a time from `from`, the last one `to`.
pub(crate) fn increments(from: Percent, to: Percent, by: Percent) -> Vec<Percent> {
    let mut out = Vec::new();
    let mut weight = from.0;
    while weight < to.0 {
        weight = (weight + by.0).min(to.0);
        out.push(Percent(weight));
    }
    out
}

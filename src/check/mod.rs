//! The checker: AST to [`Plan`], collecting every diagnostic of every file it reads.

mod health;
mod keep;
mod load;
mod metrics;
mod notify;
mod reach;
mod signatures;
mod steps;
mod values;
mod waves;
mod windows;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::diagnostic::{self, Code, Diag, Source};
use crate::plan::{names, LocalFile, Millis, Param, ParamValue, Plan, Script, Selection, Targets};
use crate::span::Span;
use crate::syntax::ast::{self, HeaderKind, HookEvent, Statement};
use load::{Def, Loaded};
use values::{Scope, Want};

/// What the command line adds to a playbook.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--set NAME=VALUE`, in order.
    pub sets: Vec<(String, String)>,
    /// `--function`, replacing the file's functions when not empty.
    pub functions: Vec<String>,
    /// `--alias`, replacing the file's alias.
    pub alias: Option<String>,
    /// `--region`, replacing the file's region.
    pub region: Option<String>,
    /// The text is not a file on disk (an editor's untitled or remote document): the files it
    /// names are not read, wherever its paths point.
    pub detached: bool,
}

/// The result of checking: the plan when there is no error, and every diagnostic.
#[derive(Debug)]
pub struct Checked {
    /// `Some` exactly when no diagnostic is an error.
    pub plan: Option<Plan>,
    /// Errors and warnings, sorted by position.
    pub diags: Vec<Diag>,
    /// Every file the playbook reads or names: itself, imports, hooks, zips. Nothing a command
    /// writes may be one of them.
    pub inputs: Vec<PathBuf>,
}

/// Checks the playbook at `path`, reading its imports and scripts relative to it.
pub fn check_path(path: &Path, options: &Options) -> Checked {
    let display = path.display().to_string();
    let mut checked = match load::read(path, display) {
        Ok(root) => check_loaded(root, path.canonicalize().ok(), options),
        Err(diags) => Checked {
            plan: None,
            diags,
            inputs: Vec::new(),
        },
    };
    checked.inputs.insert(0, path.to_path_buf());
    checked
}

/// Checks playbook text as if it were a file in `dir` (tests and benchmarks).
pub fn check_source(source: Source, dir: &Path, options: &Options) -> Checked {
    match crate::syntax::parse(&source) {
        Ok(file) => check_loaded(
            Rc::new(Loaded {
                source,
                dir: dir.to_path_buf(),
                file,
            }),
            None,
            options,
        ),
        Err(diags) => Checked {
            plan: None,
            diags,
            inputs: Vec::new(),
        },
    }
}

fn check_loaded(root: Rc<Loaded>, canonical: Option<PathBuf>, options: &Options) -> Checked {
    let mut checker = Checker::default();
    let plan = checker.plan(&root, canonical, options);
    let mut diags = std::mem::take(&mut checker.diags);
    diagnostic::tidy(&mut diags);
    let failed = diags.iter().any(Diag::is_error);
    Checked {
        plan: if failed { None } else { Some(plan) },
        diags,
        inputs: checker.inputs,
    }
}

/// A parameter in force.
#[derive(Debug)]
struct ParamEntry {
    /// `None` when its default was invalid (already reported).
    value: Option<ParamValue>,
    span: Span,
    source: Source,
    /// Where `--set` gave its value, when it did.
    set_at: Option<(Source, Span)>,
}

#[derive(Debug, Default)]
struct Checker {
    diags: Vec<Diag>,
    params: BTreeMap<String, ParamEntry>,
    step_defs: BTreeMap<String, Def<ast::StepDef>>,
    health_defaulted: bool,
    /// Hook files already compiled, so each is reported once.
    checked_hooks: HashSet<PathBuf>,
    /// The files read or named besides the playbook: imports, hooks, zips.
    inputs: Vec<PathBuf>,
    /// Whether the files the playbook names are left unread ([`Options::detached`]).
    detached: bool,
    /// The period the health block judges (one minute, or `every` when shorter): the least
    /// traffic a bake must judge.
    period: Millis,
    /// The metrics `metric` headers name, which health checks refer to.
    metrics: Vec<crate::plan::CustomMetric>,
    /// The names of `metric` headers that were reported invalid.
    broken_metrics: Vec<String>,
}

impl Checker {
    fn plan(&mut self, root: &Rc<Loaded>, canonical: Option<PathBuf>, options: &Options) -> Plan {
        self.detached = options.detached;
        let mut stack: Vec<PathBuf> = canonical.into_iter().collect();
        let defs = self.load_defs(root, &mut stack);
        for (name, def) in &defs.params {
            let value = match values::literal(&def.item.value, &def.file.source) {
                Ok(v) => Some(v),
                Err(diag) => {
                    self.diags.push(diag);
                    None
                }
            };
            self.params.insert(
                name.clone(),
                ParamEntry {
                    value,
                    span: def.item.value.span,
                    source: def.file.source.clone(),
                    set_at: None,
                },
            );
        }
        self.apply_sets(&options.sets);
        self.step_defs = defs.steps;
        self.health_defaulted = defs.health.is_none();
        let mut named = vec![root.clone()];
        named.extend(defs.health.as_ref().map(|d| d.file.clone()));
        self.metrics = self.metric_defs(&named);
        let health = self.health(defs.health.as_ref());
        self.period = health.every.min(Millis::from_minutes(1));

        let scope = Scope::top(root.clone());
        let headers = self.root_headers(&scope);
        let steps: Vec<&ast::Step> = root
            .file
            .statements
            .iter()
            .filter_map(|s| match s {
                Statement::Step(step) => Some(step),
                Statement::Header(_) => None,
            })
            .collect();
        let flow = self.steps(&steps, &scope);
        let waves = match &headers.waves {
            Some((block, span)) => {
                self.region_with_waves(headers.region_at, options.region.as_deref(), *span, &scope);
                self.waves_end_in_promote(&flow.steps, *span, &scope);
                self.signatures_with_waves(defs.health.as_ref(), *span);
                self.waves(block, *span, &scope, flow.default_health_reported())
            }
            None => None,
        };
        let windows = self.windows(&headers.windows, &scope);
        let keep = self.keep(&headers, &scope);
        // A file of definitions only is a library for others to import; anything else without
        // steps does nothing.
        let library = root.file.statements.iter().any(|s| {
            matches!(s, Statement::Header(h) if matches!(
                h.kind,
                ast::HeaderKind::Param { .. }
                    | ast::HeaderKind::Import(_)
                    | ast::HeaderKind::Health(_)
                    | ast::HeaderKind::Metric(_)
                    | ast::HeaderKind::StepDef(_)
            ))
        });
        if steps.is_empty() && !library {
            self.diags.push(
                Diag::new(Code::NoSteps, "the playbook has no steps: running it changes nothing")
                    .help("write the rollout's steps, such as `publish; shift 5% to new; wait 10m until healthy; promote`"),
            );
        }
        if let Some(last) = steps.last() {
            if !flow.ended() && !flow.overflowed() {
                self.diags.push(
                    Diag::new(
                        Code::EndsSplit,
                        format!(
                            "the plan ends without `promote` or `rollback`: `new` keeps {} of the traffic",
                            flow.weight()
                        ),
                    )
                    .at(scope.source(), last.span, "the rollout stops here")
                    .help("end with `promote` to finish on `new`, or `rollback` to go back to `old`; leave it out only if a later run will finish the rollout"),
                );
            }
        }
        self.unused_steps(root);

        let (mut functions, mut select) = if options.functions.is_empty() {
            (headers.functions, headers.select)
        } else {
            let (patterns, names): (Vec<&String>, Vec<&String>) = options
                .functions
                .iter()
                .partition(|f| Selection::pattern(f).is_some());
            (
                names.into_iter().cloned().collect(),
                patterns
                    .into_iter()
                    .filter_map(|p| Selection::pattern(p))
                    .collect(),
            )
        };
        functions.dedup();
        select.dedup();
        Plan {
            name: headers.name,
            targets: Targets {
                functions,
                select,
                alias: options.alias.clone().or(headers.alias),
                region: options.region.clone().or(headers.region),
            },
            params: self
                .params
                .iter()
                .filter_map(|(name, entry)| {
                    Some(Param {
                        name: name.clone(),
                        value: entry.value.clone()?,
                        overridden: entry.set_at.is_some(),
                    })
                })
                .collect(),
            health,
            on_failure: headers.on_failure,
            on_success: headers.on_success,
            steps: flow.steps,
            waves,
            windows,
            notify: headers.notify,
            keep,
        }
    }

    /// `--set NAME=VALUE`: the parameter must exist, and the value must be of its type.
    fn apply_sets(&mut self, sets: &[(String, String)]) {
        for (name, text) in sets {
            let source = diagnostic::source("--set", format!("{name}={text}"));
            let value_span = Span::new(name.len() + 1, name.len() + 1 + text.len());
            let Some(entry) = self.params.get(name) else {
                let help = match diagnostic::closest(name, self.params.keys().map(String::as_str)) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None if self.params.is_empty() => {
                        "this playbook declares no parameters".to_string()
                    }
                    None => format!(
                        "the playbook declares: {}",
                        self.params
                            .keys()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.diags.push(
                    Diag::new(
                        Code::SetUnknown,
                        format!("`--set {name}`: the playbook has no parameter `{name}`"),
                    )
                    .at(&source, Span::new(0, name.len()), "unknown parameter")
                    .help(help),
                );
                continue;
            };
            let Some(declared) = &entry.value else {
                continue;
            };
            let parsed = match crate::syntax::parse_literal(text)
                .map(|lit| values::literal(&lit, &source))
            {
                Some(Ok(value)) => Some(value),
                // A literal of the right kind that is not valid (`0.001%`): say why.
                Some(Err(invalid)) if !matches!(declared, ParamValue::String(_)) => {
                    let label = invalid
                        .labels
                        .first()
                        .map_or(String::new(), |l| l.text.clone());
                    self.diags.push(
                        Diag::new(
                            invalid.code,
                            format!("`--set {name}={text}`: {}", invalid.message),
                        )
                        .at(&source, value_span, label)
                        .help(invalid.help),
                    );
                    continue;
                }
                _ => None,
            };
            let value = match (declared, parsed) {
                (ParamValue::String(_), Some(v @ ParamValue::String(_))) => Some(v),
                (ParamValue::String(_), _) => Some(ParamValue::String(text.clone())),
                (_, Some(v)) if std::mem::discriminant(&v) == std::mem::discriminant(declared) => {
                    Some(v)
                }
                _ => None,
            };
            match value {
                Some(value) => {
                    let entry = self.params.get_mut(name).expect("looked up above");
                    entry.value = Some(value);
                    entry.set_at = Some((source.clone(), value_span));
                }
                None => {
                    let want = match declared {
                        ParamValue::Percent(_) => Want::Percent,
                        ParamValue::Duration(_) => Want::Duration,
                        ParamValue::Number(_) => Want::Number,
                        ParamValue::String(_) => Want::String,
                    };
                    self.diags.push(
                        Diag::new(
                            Code::SetValue,
                            format!(
                                "`--set {name}={text}`: `{name}` is {}",
                                declared.type_name()
                            ),
                        )
                        .at(&source, value_span, format!("not {}", declared.type_name()))
                        .help(format!(
                            "give {} such as {}",
                            want.name(),
                            want.example()
                        )),
                    );
                }
            }
        }
    }

    /// The playbook's own headers: name, targets and hooks.
    fn root_headers(&mut self, scope: &Scope) -> RootHeaders {
        let mut out = RootHeaders::default();
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        for statement in &scope.file.file.statements {
            let Statement::Header(header) = statement else {
                continue;
            };
            let keyword = header.kind.keyword();
            let once = matches!(
                header.kind,
                HeaderKind::Rollout(_)
                    | HeaderKind::Function(_)
                    | HeaderKind::Alias(_)
                    | HeaderKind::Region(_)
                    | HeaderKind::Waves(_)
                    | HeaderKind::Keep(_)
                    | HeaderKind::OnHook { .. }
            );
            if once {
                if let Some(first) = seen.get(keyword) {
                    self.diags.push(load::duplicate_header(
                        scope.source(),
                        keyword,
                        header.span,
                        *first,
                    ));
                    continue;
                }
                seen.insert(keyword, header.span);
            }
            match &header.kind {
                HeaderKind::Rollout(name) => out.name = self.string(name, scope),
                HeaderKind::Function(selectors) => {
                    for selector in selectors {
                        let Some(text) = self.string(&selector.text, scope) else {
                            continue;
                        };
                        if !selector.tagged {
                            if let Some(problem) = names::function(&text) {
                                self.bad_name(problem, selector.text.span, scope);
                                continue;
                            }
                            match Selection::pattern(&text) {
                                Some(pattern) => out.select.push(pattern),
                                None => out.functions.push(text),
                            }
                            continue;
                        }
                        match Selection::tagged(&text) {
                            Some(tagged) => out.select.push(tagged),
                            None => self.diags.push(
                                Diag::new(
                                    Code::BadTag,
                                    format!("`tagged {text:?}` names no tag: it must be `key=value`"),
                                )
                                .at(scope.source(), selector.text.span, "not `key=value`")
                                .help("write the tag as `tagged \"team=checkout\"`: the key, `=`, and the value"),
                            ),
                        }
                    }
                }
                HeaderKind::Alias(name) => out.alias = self.named(name, names::alias, scope),
                HeaderKind::Region(name) => {
                    out.region = self.named(name, names::region, scope);
                    out.region_at = Some(header.span);
                }
                HeaderKind::Waves(block) => out.waves = Some((block.clone(), header.span)),
                HeaderKind::Keep(n) => out.keep = Some((n.clone(), header.span)),
                HeaderKind::Window(window) => out.windows.push((window.clone(), header.span)),
                HeaderKind::Notify { service, target } => {
                    if let Some(destination) =
                        self.destination(*service, target, header.span, &out.notify, scope)
                    {
                        out.notify.push(destination);
                    }
                }
                HeaderKind::OnHook { event, hook } => {
                    let script = self.script(hook, scope);
                    match event {
                        HookEvent::Failure => out.on_failure = script,
                        HookEvent::Success => out.on_success = script,
                    }
                }
                HeaderKind::Param { .. }
                | HeaderKind::Import(_)
                | HeaderKind::Health(_)
                | HeaderKind::Metric(_)
                | HeaderKind::StepDef(_) => {}
            }
        }
        out
    }

    /// The string of an alias or region header, when `problem` finds nothing wrong with it.
    fn named(
        &mut self,
        name: &ast::Str,
        problem: fn(&str) -> Option<String>,
        scope: &Scope,
    ) -> Option<String> {
        let text = self.string(name, scope)?;
        match problem(&text) {
            None => Some(text),
            Some(problem) => {
                self.bad_name(problem, name.span, scope);
                None
            }
        }
    }

    fn bad_name(&mut self, problem: String, span: Span, scope: &Scope) {
        self.diags.push(
            Diag::new(Code::BadName, problem)
                .at(scope.source(), span, "AWS does not accept this name")
                .help("names reach AWS as they are written: Lambda takes letters, digits, `-` and `_` (a function up to 64, an alias up to 128, not only digits); a region is written like `eu-west-1`"),
        );
    }

    /// A rhai hook, which must exist and compile, with its timeout.
    fn script(&mut self, hook: &ast::HookRef, scope: &Scope) -> Option<Script> {
        let timeout = match &hook.timeout {
            Some(t) => self.want_duration(t, "`timeout`", scope)?,
            None => Script::DEFAULT_TIMEOUT,
        };
        let name = &hook.script;
        let written = self.string(name, scope)?;
        if self.detached {
            self.diags
                .push(load::not_read(&written, scope.source(), name.span));
            return None;
        }
        let path = load::relative(&scope.file.dir, &written);
        self.inputs.push(path.clone());
        if path.exists() && !path.is_file() {
            self.diags.push(
                Diag::new(Code::Io, format!("`{written}` is not a regular file"))
                    .at(scope.source(), name.span, "not a file")
                    .help("name a rhai file: rollout reads no directories, devices or pipes"),
            );
            return None;
        }
        if !path.is_file() {
            self.diags.push(
                Diag::new(Code::MissingFile, format!("`{written}` does not exist"))
                    .at(scope.source(), name.span, "no such file")
                    .help(format!(
                        "script paths are relative to the file that names them; looked for {}",
                        path.display()
                    )),
            );
            return None;
        }
        if self.checked_hooks.insert(path.clone()) {
            let display = path.display().to_string();
            self.diags.extend(crate::hooks::check_file(&path, &display));
        }
        Some(Script {
            name: written,
            path,
            timeout,
        })
    }

    /// The zip of `update code`: a build may produce it later, so a missing one only warns.
    fn zip(&mut self, name: &ast::Str, scope: &Scope) -> Option<LocalFile> {
        let written = self.string(name, scope)?;
        let path = load::relative(&scope.file.dir, &written);
        self.inputs.push(path.clone());
        if !self.detached && !path.is_file() {
            self.diags.push(
                Diag::new(Code::MissingZip, format!("`{written}` does not exist yet"))
                    .at(scope.source(), name.span, "no such file now")
                    .help(format!(
                        "build it before `rollout run`; the path is relative to the playbook: {}",
                        path.display()
                    )),
            );
        }
        Some(LocalFile {
            name: written,
            path,
        })
    }

    /// Step definitions of the playbook itself that no step reaches, directly or through other
    /// definitions: found on the definitions as written, so a chain that is refused as too deep
    /// or too large is not reported as unused too.
    fn unused_steps(&mut self, root: &Rc<Loaded>) {
        let mut used: HashSet<&str> = HashSet::new();
        let mut reached: Vec<&ast::Step> = root
            .file
            .statements
            .iter()
            .filter_map(|s| match s {
                Statement::Step(step) => Some(step),
                Statement::Header(_) => None,
            })
            .collect();
        while let Some(step) = reached.pop() {
            match &step.kind {
                ast::StepKind::Block(block) => reached.extend(&block.steps),
                ast::StepKind::Call { name, .. } => {
                    if let Some(def) = self.step_defs.get(&name.name) {
                        if used.insert(&name.name) {
                            reached.extend(&def.item.body.steps);
                        }
                    }
                }
                _ => {}
            }
        }
        for (name, def) in &self.step_defs {
            if !used.contains(name.as_str()) && def.file.source.name() == root.source.name() {
                self.diags.push(
                    Diag::new(Code::UnusedStep, format!("step `{name}` is never called"))
                        .at(&root.source, def.item.name.span, "defined but not used")
                        .help(format!(
                            "call it as a step, `{name}(…)`, or remove the definition"
                        )),
                );
            }
        }
    }
}

#[derive(Debug, Default)]
struct RootHeaders {
    name: Option<String>,
    functions: Vec<String>,
    select: Vec<Selection>,
    alias: Option<String>,
    region: Option<String>,
    /// The `region` header, when there is one.
    region_at: Option<Span>,
    /// The `waves` block and its header's span.
    waves: Option<(ast::WavesBlock, Span)>,
    /// The `window`, `calendar` and `outside window` headers, in order, with their spans.
    windows: Vec<(ast::WindowHeader, Span)>,
    /// Where notifications go, each once.
    notify: Vec<crate::plan::notify::Destination>,
    /// The `keep N versions` header: its count and its span.
    keep: Option<(ast::Value, Span)>,
    on_failure: Option<Script>,
    on_success: Option<Script>,
}

//! Reading files and following `import`s: which params, health block and step definitions are
//! in force, and from which file each comes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::Checker;
use crate::diagnostic::{self, Code, Diag, Source};
use crate::span::Span;
use crate::syntax::ast::{self, HeaderKind, Statement};

/// A parsed file and where it lives.
#[derive(Debug)]
pub(super) struct Loaded {
    /// Its text and display name.
    pub(super) source: Source,
    /// The directory paths in it are relative to.
    pub(super) dir: PathBuf,
    /// Its syntax tree.
    pub(super) file: ast::File,
}

/// Something defined in some file.
#[derive(Debug, Clone)]
pub(super) struct Def<T> {
    pub(super) item: T,
    pub(super) span: Span,
    pub(super) file: Rc<Loaded>,
}

impl<T> Def<T> {
    /// Whether two definitions are the same one (reached through two imports).
    fn same(&self, other: &Def<T>) -> bool {
        self.file.source.name() == other.file.source.name() && self.span.start == other.span.start
    }
}

/// A `param` declaration.
#[derive(Debug, Clone)]
pub(super) struct ParamDecl {
    pub(super) name: ast::Ident,
    pub(super) value: ast::Literal,
}

/// The definitions a file brings, its imports' included.
#[derive(Debug, Default)]
pub(super) struct Defs {
    pub(super) params: BTreeMap<String, Def<ParamDecl>>,
    pub(super) health: Option<Def<ast::HealthBlock>>,
    pub(super) steps: BTreeMap<String, Def<ast::StepDef>>,
}

/// Reads and parses a file; its problems are diagnostics.
pub(super) fn read(path: &Path, display: String) -> Result<Rc<Loaded>, Vec<Diag>> {
    let text = crate::input::read_text(path).map_err(|e| vec![Diag::unreadable(&display, &e)])?;
    let source = diagnostic::source(&display, text);
    let file = crate::syntax::parse(&source)?;
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(Rc::new(Loaded { source, dir, file }))
}

/// A file named by a text that is not on disk: it has no directory to be relative to, and
/// nothing is read on its behalf.
pub(super) fn not_read(written: &str, source: &Source, span: Span) -> Diag {
    Diag::new(
        Code::MissingFile,
        format!("`{written}` is not read: this playbook is not a file on disk"),
    )
    .at(source, span, "not read")
    .help("save the playbook as a file: the files it names are read relative to it")
}

/// Joins a path written in a file to that file's directory, for display and for reading.
pub(super) fn relative(dir: &Path, written: &str) -> PathBuf {
    if dir.as_os_str().is_empty() {
        PathBuf::from(written)
    } else {
        dir.join(written)
    }
}

impl Checker {
    /// Collects the definitions of `file` and of everything it imports. `stack` holds the
    /// canonical paths of the files being imported, to report cycles.
    pub(super) fn load_defs(&mut self, file: &Rc<Loaded>, stack: &mut Vec<PathBuf>) -> Defs {
        let mut imported = Defs::default();
        let mut seen_imports: Vec<(PathBuf, Span)> = Vec::new();
        for statement in &file.file.statements {
            let Statement::Header(header) = statement else {
                continue;
            };
            let HeaderKind::Import(name) = &header.kind else {
                continue;
            };
            let Some(written) = self.plain_string(name, &file.source, "an import path") else {
                continue;
            };
            if self.detached {
                self.diags.push(not_read(&written, &file.source, name.span));
                continue;
            }
            let path = relative(&file.dir, &written);
            let Ok(canonical) = path.canonicalize() else {
                self.diags.push(
                    Diag::new(Code::MissingFile, format!("`{written}` does not exist"))
                        .at(&file.source, name.span, "no such file")
                        .help(format!(
                            "import paths are relative to the importing file's directory; looked for {}",
                            path.display()
                        )),
                );
                continue;
            };
            if let Some((_, first)) = seen_imports.iter().find(|(p, _)| *p == canonical) {
                self.diags.push(
                    Diag::new(
                        Code::DuplicateImport,
                        format!("`{written}` is imported twice"),
                    )
                    .at(&file.source, header.span, "imported again here")
                    .also(*first, "first imported here")
                    .help("remove one of the two imports"),
                );
                continue;
            }
            seen_imports.push((canonical.clone(), header.span));
            if let Some(at) = stack.iter().position(|p| *p == canonical) {
                let chain: Vec<String> = stack[at..]
                    .iter()
                    .chain(std::iter::once(&canonical))
                    .map(|p| {
                        p.file_name().map_or_else(
                            || p.display().to_string(),
                            |n| n.to_string_lossy().into_owned(),
                        )
                    })
                    .collect();
                self.diags.push(
                    Diag::new(
                        Code::ImportCycle,
                        format!("import cycle: {}", chain.join(" → ")),
                    )
                    .at(&file.source, header.span, "this import closes the cycle")
                    .help("move the shared definitions into a file that imports neither"),
                );
                continue;
            }
            self.inputs.push(path.clone());
            let loaded = match read(&path, path.display().to_string()) {
                Ok(loaded) => loaded,
                Err(diags) => {
                    // A file that cannot be read is pointed at where it is imported.
                    self.diags.extend(diags.into_iter().map(|diag| {
                        if diag.labels.is_empty() {
                            diag.at(&file.source, name.span, "cannot be read")
                        } else {
                            diag
                        }
                    }));
                    continue;
                }
            };
            self.check_import_content(&loaded);
            stack.push(canonical);
            let defs = self.load_defs(&loaded, stack);
            stack.pop();
            self.merge_import(&mut imported, defs, file, header.span);
        }
        let own = self.own_defs(file);
        imported.params.extend(own.params);
        imported.steps.extend(own.steps);
        if own.health.is_some() {
            imported.health = own.health;
        }
        imported
    }

    /// An imported file lends definitions; targets, hooks and steps belong to the playbook.
    fn check_import_content(&mut self, loaded: &Loaded) {
        for statement in &loaded.file.statements {
            let (span, what) = match statement {
                Statement::Step(step) => (step.span, "steps".to_string()),
                Statement::Header(header) => match &header.kind {
                    HeaderKind::Param { .. }
                    | HeaderKind::Import(_)
                    | HeaderKind::Health(_)
                    | HeaderKind::StepDef(_) => continue,
                    other => (header.span, format!("`{}` headers", other.keyword())),
                },
            };
            self.diags.push(
                Diag::new(
                    Code::ImportContent,
                    format!("an imported file cannot hold {what}"),
                )
                .at(&loaded.source, span, "not allowed in an imported file")
                .help("imported files hold only `param`, `health`, `step` definitions and `import`s; move this into the playbook"),
            );
        }
    }

    fn merge_import(&mut self, into: &mut Defs, defs: Defs, file: &Rc<Loaded>, at: Span) {
        let conflict = |diags: &mut Vec<Diag>, what: &str, name: &str, a: &Source, b: &Source| {
            diags.push(
                Diag::new(
                    Code::ImportConflict,
                    format!(
                        "{what} `{name}` is defined by both {} and {}",
                        a.name(),
                        b.name()
                    ),
                )
                .at(&file.source, at, "this import brings a second definition")
                .help(format!(
                    "define `{name}` in this file to choose, or remove it from one of the imports"
                )),
            );
        };
        for (name, def) in defs.params {
            match into.params.get(&name) {
                Some(existing) if !existing.same(&def) => conflict(
                    &mut self.diags,
                    "parameter",
                    &name,
                    &existing.file.source,
                    &def.file.source,
                ),
                _ => {
                    into.params.insert(name, def);
                }
            }
        }
        for (name, def) in defs.steps {
            match into.steps.get(&name) {
                Some(existing) if !existing.same(&def) => conflict(
                    &mut self.diags,
                    "step",
                    &name,
                    &existing.file.source,
                    &def.file.source,
                ),
                _ => {
                    into.steps.insert(name, def);
                }
            }
        }
        if let Some(def) = defs.health {
            match &into.health {
                Some(existing) if !existing.same(&def) => conflict(
                    &mut self.diags,
                    "the health block",
                    "health",
                    &existing.file.source,
                    &def.file.source,
                ),
                _ => into.health = Some(def),
            }
        }
    }

    /// The definitions written in `file` itself, reporting duplicates and misplaced headers.
    fn own_defs(&mut self, file: &Rc<Loaded>) -> Defs {
        let mut defs = Defs::default();
        let mut first_step: Option<Span> = None;
        for statement in &file.file.statements {
            let header = match statement {
                Statement::Step(step) => {
                    first_step.get_or_insert(step.span);
                    continue;
                }
                Statement::Header(header) => header,
            };
            if let Some(step) = first_step {
                self.diags.push(
                    Diag::new(
                        Code::HeaderAfterStep,
                        format!("`{}` comes after the first step", header.kind.keyword()),
                    )
                    .at(&file.source, header.span, "header after a step")
                    .also(step, "the first step")
                    .help("move every header above the first step"),
                );
            }
            let def = |span| Def {
                item: (),
                span,
                file: file.clone(),
            };
            match &header.kind {
                HeaderKind::Param { name, value } => {
                    if let Some(first) = defs.params.get(&name.name) {
                        self.diags.push(
                            Diag::new(
                                Code::DuplicateParam,
                                format!("parameter `{}` is declared twice", name.name),
                            )
                            .at(&file.source, name.span, "declared again here")
                            .also(first.item.name.span, "first declared here")
                            .help("give each parameter its own name, or remove one declaration"),
                        );
                        continue;
                    }
                    let Def { span, file, .. } = def(header.span);
                    defs.params.insert(
                        name.name.clone(),
                        Def {
                            item: ParamDecl {
                                name: name.clone(),
                                value: value.clone(),
                            },
                            span,
                            file,
                        },
                    );
                }
                HeaderKind::StepDef(step) => {
                    if let Some(first) = defs.steps.get(&step.name.name) {
                        self.diags.push(
                            Diag::new(
                                Code::DuplicateStepDef,
                                format!("step `{}` is defined twice", step.name.name),
                            )
                            .at(&file.source, step.name.span, "defined again here")
                            .also(first.item.name.span, "first defined here")
                            .help("rename one of the two definitions"),
                        );
                        continue;
                    }
                    let Def { span, file, .. } = def(header.span);
                    defs.steps.insert(
                        step.name.name.clone(),
                        Def {
                            item: step.clone(),
                            span,
                            file,
                        },
                    );
                }
                HeaderKind::Health(block) => {
                    if let Some(first) = &defs.health {
                        self.diags.push(duplicate_header(
                            &file.source,
                            "health",
                            header.span,
                            first.span,
                        ));
                        continue;
                    }
                    let Def { span, file, .. } = def(header.span);
                    defs.health = Some(Def {
                        item: block.clone(),
                        span,
                        file,
                    });
                }
                _ => {}
            }
        }
        defs
    }
}

/// A header that may appear once, given twice.
pub(super) fn duplicate_header(source: &Source, keyword: &str, again: Span, first: Span) -> Diag {
    Diag::new(Code::DuplicateHeader, format!("`{keyword}` is given twice"))
        .at(source, again, "given again here")
        .also(first, "first given here")
        .help(format!("keep one `{keyword}` header and remove the other"))
}

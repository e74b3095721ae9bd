//! rhai hooks: a sandboxed engine, the `ctx` object, compiling at check time and running at run
//! time.
//!
//! A hook runs on a thread of its own. Whatever it asks of the world (`ctx.metric`, `ctx.invoke`,
//! `ctx.log`) travels as a [`Request`] to the rollout's task, which answers through the same
//! `LambdaApi` and `MetricsApi` the engine uses: the same hook behaves the same in `run`,
//! `simulate` and tests, and nothing but `ctx` reaches outside the sandbox.

mod ctx;
mod sandbox;
mod verdict;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use ctx::{CtxData, Request, MEMBERS};
pub use sandbox::{compile, Limits};
pub use verdict::{HookError, HookVerdict};

use crate::diagnostic::{self, Code, Diag};
use crate::plan::{Check, Plan, Script, StepKind};
use crate::span::Span;

/// The compiled hooks of a plan, by path. A hook that no longer compiles (its file changed since
/// `check`) is kept with its error and fails closed when it runs.
#[derive(Debug, Default, Clone)]
pub struct Hooks {
    compiled: BTreeMap<PathBuf, Result<Arc<rhai::AST>, String>>,
}

impl Hooks {
    /// Compiles every hook `plan` names.
    pub fn compile(plan: &Plan) -> Hooks {
        let mut compiled = BTreeMap::new();
        for script in scripts(plan) {
            compiled.entry(script.path.clone()).or_insert_with(|| {
                let text = crate::input::read_text(&script.path)
                    .map_err(|e| format!("cannot read {}: {e}", script.path.display()))?;
                compile(&text)
                    .map(Arc::new)
                    .map_err(|e| format!("does not compile: {e}"))
            });
        }
        Hooks { compiled }
    }

    /// Runs `script` on a blocking thread of the runtime (so that a paused clock does not move
    /// while it runs); its requests arrive on the returned channel, and the verdict when it ends.
    pub fn start(&self, script: &Script, data: CtxData) -> Running {
        let (requests, receiver) = tokio::sync::mpsc::unbounded_channel();
        let ast = self.compiled.get(&script.path).cloned();
        let timeout = script.timeout;
        let name = script.name.clone();
        let thread = tokio::task::spawn_blocking(move || match ast {
            Some(Ok(ast)) => sandbox::run(&ast, data, timeout, requests),
            Some(Err(why)) => HookVerdict::Broken(HookError::NotCompiled { name, why }),
            None => HookVerdict::Broken(HookError::Unknown(name)),
        });
        Running { receiver, thread }
    }
}

/// A hook being run.
#[derive(Debug)]
pub struct Running {
    /// What the hook asks for; closed when the hook ends.
    pub receiver: tokio::sync::mpsc::UnboundedReceiver<Request>,
    thread: tokio::task::JoinHandle<HookVerdict>,
}

impl Running {
    /// The verdict, once `receiver` has closed.
    pub async fn verdict(self) -> HookVerdict {
        self.thread
            .await
            .unwrap_or(HookVerdict::Broken(HookError::Crashed))
    }
}

/// Every hook a plan names: health scripts, `run` steps, `on failure` and `on success`.
pub fn scripts(plan: &Plan) -> Vec<&Script> {
    let mut out: Vec<&Script> = plan
        .health
        .checks
        .iter()
        .filter_map(|c| match c {
            Check::Script { script } => Some(script),
            _ => None,
        })
        .collect();
    out.extend(plan.steps.iter().filter_map(|s| match &s.kind {
        StepKind::Run { script } => Some(script),
        _ => None,
    }));
    out.extend(plan.on_failure.iter());
    out.extend(plan.on_success.iter());
    out
}

/// Checks a hook file before any rollout: it must compile, and use only members `ctx` has.
pub fn check_file(path: &Path, display: &str) -> Vec<Diag> {
    let text = match crate::input::read_text(path) {
        Ok(text) => text,
        Err(e) => return vec![Diag::unreadable(display, &e)],
    };
    let source = diagnostic::source(display, text.clone());
    let mut diags = Vec::new();
    if let Err(error) = compile(&text) {
        let (line, column) = (error.1.line().unwrap_or(1), error.1.position().unwrap_or(1));
        let start = offset(&text, line, column);
        let end = text[start..]
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(text.len(), |(i, _)| {
                start + i.max(1).min(text.len() - start)
            });
        diags.push(
            Diag::new(
                Code::HookSyntax,
                format!("hook does not compile: {}", error.0),
            )
            .at(&source, Span::new(start, end.max(start)), "here")
            .help(sandbox::hint(&error.0)),
        );
    }
    for (span, member) in ctx::members_used(&text) {
        if !MEMBERS.contains(&member.as_str()) {
            diags.push(
                Diag::new(Code::HookMember, format!("`ctx` has no member `{member}`"))
                    .at(&source, span, "unknown member")
                    .help(
                        match crate::diagnostic::closest(&member, MEMBERS.iter().copied()) {
                            Some(close) => format!("did you mean `ctx.{close}`?"),
                            None => format!("`ctx` offers {}", MEMBERS.join(", ")),
                        },
                    ),
            );
        }
    }
    diags
}

/// Byte offset of 1-based `line` and `column` (characters).
fn offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = &text[line_start.min(text.len())..];
    line_start
        + rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}

//! `rollout export FILE --to step-functions`: the plan as a state machine, or a CloudFormation
//! template holding it; what cannot run server-side refused with its line, what is approximated
//! warned about.

use super::output::out;
use super::{load, ExportArgs, ExportFormat};
use crate::diagnostic::LineIndex;
use crate::exit;
use crate::export::{compile, machine_name, template};

/// `plan` compiled for Step Functions, its warnings said on stderr; `None` after saying on
/// stderr, with the playbook lines, why it cannot run there (and `then`, what did not happen).
pub(super) fn compiled(
    plan: &crate::plan::Plan,
    source: &str,
    file: &std::path::Path,
    then: &str,
) -> Option<crate::export::Export> {
    let lines = LineIndex::new(source);
    let line = |offset: usize| lines.line_column(source, offset).0;
    let file = file.display();
    let at = |line: Option<usize>| match line {
        Some(line) => format!("{file}:{line}"),
        None => file.to_string(),
    };
    let find = |text: &str| source.find(text).map(line);
    match compile(plan, &line, &find) {
        Ok(export) => {
            for (line, warning) in &export.warnings {
                eprintln!("warning: {}: {warning}", at(*line));
            }
            Some(export)
        }
        Err(problems) => {
            for problem in &problems {
                eprintln!("error: {}: {}", at(problem.line), problem.message);
                eprintln!("  help: {}", problem.help);
            }
            eprintln!(
                "{file}: cannot run on Step Functions ({} problem{}); {then}",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            None
        }
    }
}

pub(super) fn run(args: &ExportArgs) -> i32 {
    let (plan, source) = match load::plan(&args.file, &args.playbook) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let Some(export) = compiled(&plan, &source, &args.file, "nothing was exported") else {
        return exit::INVALID;
    };
    let document = match args.format {
        ExportFormat::Asl => export.definition.clone(),
        ExportFormat::Cloudformation => template::cloudformation(&export, &machine_name(&plan)),
    };
    out(&format!(
        "{}\n",
        serde_json::to_string_pretty(&document).expect("JSON serialises")
    ));
    exit::OK
}

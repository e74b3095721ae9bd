//! Reading a playbook for the commands that act on it: diagnostics on stderr, the plan or exit 2.

use std::path::{Path, PathBuf};

use super::output::print_diags;
use super::PlaybookArgs;
use crate::check::check_path;
use crate::diagnostic::{Code, Diag};
use crate::plan::Plan;

/// The checked plan of `file`, its source text, or the exit code after printing why not. A file
/// the command would write (`args.outputs`) that the playbook or the command reads is refused:
/// a report or a journal never overwrites the playbook, an import, a hook, a zip or a file
/// named by an option such as `--world`.
pub(super) fn plan(file: &Path, args: &PlaybookArgs) -> Result<(Plan, String), i32> {
    let checked = check_path(file, &args.options());
    print_diags(&checked.diags);
    let clashes = clashes(&args.outputs, &checked.inputs, &args.reads);
    if !clashes.is_empty() {
        print_diags(&clashes);
        eprintln!("{}: nothing was done", file.display());
        return Err(crate::exit::INVALID);
    }
    match checked.plan {
        Some(plan) => Ok((plan, crate::input::read_text(file).unwrap_or_default())),
        None => {
            eprintln!("{}: invalid; nothing was done", file.display());
            Err(crate::exit::INVALID)
        }
    }
}

/// The outputs that are inputs (the playbook's `inputs`, or the command's own `reads`), each as
/// a diagnostic.
fn clashes(
    outputs: &[(&'static str, PathBuf)],
    inputs: &[PathBuf],
    reads: &[(&'static str, PathBuf)],
) -> Vec<Diag> {
    outputs
        .iter()
        .filter_map(|(option, output)| {
            let (input, what) = match inputs
                .iter()
                .find(|input| crate::input::same_file(output, input))
            {
                Some(input) if Some(input) == inputs.first() => {
                    (input, "the playbook itself".to_string())
                }
                Some(input) => (input, "a file the playbook reads".to_string()),
                None => {
                    let (read_by, input) = reads
                        .iter()
                        .find(|(_, input)| crate::input::same_file(output, input))?;
                    (input, format!("the file given to {read_by}"))
                }
            };
            Some(
                Diag::new(
                    Code::OutputIsInput,
                    format!(
                        "`{option} {}` would overwrite {}, {what}",
                        output.display(),
                        input.display()
                    ),
                )
                .help(format!(
                    "give {option} a file of its own, such as `{}`",
                    if *option == "--journal" {
                        "rollout-journal.jsonl"
                    } else {
                        "report.html"
                    }
                )),
            )
        })
        .collect()
}

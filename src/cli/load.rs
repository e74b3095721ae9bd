//! Reading a playbook for the commands that act on it: diagnostics on stderr, the plan or exit 2.

use std::path::Path;

use super::output::print_diags;
use super::PlaybookArgs;
use crate::check::check_path;
use crate::plan::Plan;

/// The checked plan of `file`, its source text, or the exit code after printing why not.
pub(super) fn plan(file: &Path, args: &PlaybookArgs) -> Result<(Plan, String), i32> {
    let checked = check_path(file, &args.options());
    print_diags(&checked.diags);
    match checked.plan {
        Some(plan) => Ok((plan, std::fs::read_to_string(file).unwrap_or_default())),
        None => {
            eprintln!("{}: invalid; nothing was done", file.display());
            Err(crate::exit::INVALID)
        }
    }
}

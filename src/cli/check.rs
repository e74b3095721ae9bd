//! `rollout check FILE…`

use serde::Serialize;

use super::output::{counts, out, print_diags};
use super::{CheckArgs, Format};
use crate::check::check_path;
use crate::diagnostic::JsonDiag;
use crate::exit;

#[derive(Serialize)]
struct JsonReport {
    valid: bool,
    files: Vec<JsonFile>,
    diagnostics: Vec<JsonDiag>,
}

#[derive(Serialize)]
struct JsonFile {
    file: String,
    valid: bool,
    errors: usize,
    warnings: usize,
}

pub(super) fn run(args: &CheckArgs) -> i32 {
    let options = args.playbook.options();
    let mut report = JsonReport {
        valid: true,
        files: Vec::new(),
        diagnostics: Vec::new(),
    };
    for file in &args.files {
        let checked = check_path(file, &options);
        let valid = checked.plan.is_some();
        report.valid &= valid;
        let errors = checked.diags.iter().filter(|d| d.is_error()).count();
        match args.format {
            Format::Text => {
                print_diags(&checked.diags);
                if !args.quiet {
                    let verdict = if valid { "ok" } else { "invalid" };
                    out(&format!(
                        "{}: {verdict} ({})\n",
                        file.display(),
                        counts(&checked.diags)
                    ));
                }
            }
            Format::Json => {
                report.files.push(JsonFile {
                    file: file.display().to_string(),
                    valid,
                    errors,
                    warnings: checked.diags.len() - errors,
                });
                report
                    .diagnostics
                    .extend(checked.diags.iter().map(JsonDiag::from));
            }
        }
    }
    if args.format == Format::Json {
        out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report).expect("the report serialises")
        ));
    }
    if report.valid {
        exit::OK
    } else {
        exit::INVALID
    }
}

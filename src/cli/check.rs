//! `rollout check FILE…`

use serde::Serialize;

use super::output::{counts, out, print_diags};
use super::{CheckArgs, Format};
use crate::check::check_path;
use crate::diagnostic::{json_diags, JsonDiag};
use crate::exit;
use crate::judge::evidence::judging;

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
    /// Each health check of a valid file and how it is judged.
    checks: Vec<JsonCheck>,
}

#[derive(Serialize)]
struct JsonCheck {
    check: String,
    judged: String,
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
        // The checks of a plan that judges health at all.
        let checks: Vec<JsonCheck> = checked
            .plan
            .iter()
            .filter(|plan| plan.steps.iter().any(|s| s.kind.judges_health()))
            .flat_map(|plan| &plan.health.checks)
            .map(|check| JsonCheck {
                check: check.to_string(),
                judged: judging(check),
            })
            .collect();
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
                    for check in &checks {
                        out(&format!("  {}: {}\n", check.check, check.judged));
                    }
                }
            }
            Format::Json => {
                report.files.push(JsonFile {
                    file: file.display().to_string(),
                    valid,
                    errors,
                    warnings: checked.diags.len() - errors,
                    checks,
                });
                report.diagnostics.extend(json_diags(&checked.diags));
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

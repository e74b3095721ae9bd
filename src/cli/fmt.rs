//! `rollout fmt [--check] FILE…`

use std::path::{Path, PathBuf};

use super::output::{out, print_diags};
use super::FmtArgs;
use crate::check::{check_source, Options};
use crate::diagnostic::{self, Code, Diag};
use crate::exit;
use crate::syntax::{fmt, parse};

pub(super) fn run(args: &FmtArgs) -> i32 {
    let mut status = exit::OK;
    let mut files = Vec::new();
    for path in &args.files {
        if let Err(diag) = collect(path, &mut files) {
            print_diags(&[diag]);
            status = exit::INVALID;
        }
    }
    for file in files {
        match format_file(&file) {
            Ok(None) => {}
            Ok(Some(_)) if args.check => {
                out(&format!("would reformat {}\n", file.display()));
                status = status.max(exit::ROLLED_BACK);
            }
            Ok(Some(formatted)) => {
                if let Err(e) = std::fs::write(&file, formatted) {
                    print_diags(&[Diag::new(
                        Code::Io,
                        format!("cannot write {}: {e}", file.display()),
                    )
                    .help("check that the file is writable")]);
                    status = exit::INVALID;
                } else if !args.quiet {
                    out(&format!("formatted {}\n", file.display()));
                }
            }
            Err(diags) => {
                print_diags(&diags);
                eprintln!(
                    "{}: not formatted: it has errors; fix them first",
                    file.display()
                );
                status = exit::INVALID;
            }
        }
    }
    status
}

/// A file, or every `.rollout` file below a directory, in name order.
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), Diag> {
    if !path.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|e| {
        Diag::new(Code::Io, format!("cannot read {}: {e}", path.display()))
            .help("check the path and its permissions")
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rollout") {
            out.push(path);
        }
    }
    Ok(())
}

/// The formatted text when it differs from the file.
fn format_file(path: &Path) -> Result<Option<String>, Vec<Diag>> {
    let text = crate::input::read_text(path)
        .map_err(|e| vec![Diag::unreadable(&path.display().to_string(), &e)])?;
    let source = diagnostic::source(path.display().to_string(), text);
    let file = parse(&source)?;
    // Formatting a file with errors could hide them (a header after the steps moves up, and
    // the file turns valid): such a file is left as it is until it is fixed.
    let dir = path.parent().unwrap_or(Path::new(""));
    let errors: Vec<Diag> = check_source(source.clone(), dir, &Options::default())
        .diags
        .into_iter()
        .filter(Diag::is_error)
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let formatted = fmt::format(&file, source.inner());
    // Belt and braces: the formatted text must parse to the same statements.
    let reparsed = parse(&diagnostic::source("formatted", formatted.clone())).ok();
    if !reparsed.is_some_and(|again| fmt::same_statements(&file, &again)) {
        return Err(vec![Diag::new(
            Code::Io,
            format!(
                "formatting {} would change its meaning; the file is left as it is",
                path.display()
            ),
        )
        .help(
            "this is a bug in `rollout fmt`; please report it with the file",
        )]);
    }
    Ok((formatted != *source.inner()).then_some(formatted))
}

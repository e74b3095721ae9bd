//! The terminal: diagnostics (colour only on a terminal, never with `NO_COLOR`), plain output,
//! and yes/no questions.

use std::io::{IsTerminal, Write};

use crate::diagnostic::{render, Diag, Style};

/// Width of plain output, fixed so that logs and tests see the same text.
const PLAIN_WIDTH: usize = 100;

/// The most diagnostics drawn for one file; the rest are counted.
const SHOWN: usize = 50;

/// Prints diagnostics to stderr, the first [`SHOWN`] drawn and the rest counted.
pub(super) fn print_diags(diags: &[Diag]) {
    if diags.is_empty() {
        return;
    }
    let terminal = std::io::stderr().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let style = if terminal && !no_color {
        Style::Fancy
    } else {
        Style::Plain
    };
    let shown = &diags[..diags.len().min(SHOWN)];
    eprint!("{}", render(shown, style, PLAIN_WIDTH));
    if diags.len() > SHOWN {
        eprintln!(
            "... and {} not shown (`--format json` lists every one)",
            counts(&diags[SHOWN..])
        );
    }
}

/// `N errors, M warnings`, for summaries.
pub(super) fn counts(diags: &[Diag]) -> String {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, 0) => "no problems".to_string(),
        (0, w) => plural(w, "warning"),
        (e, 0) => plural(e, "error"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

/// Asks a yes/no question on the terminal; true only for "y" or "yes".
pub(super) fn ask(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).is_ok()
        && matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Writes to stdout; a closed pipe (`rollout plan … | head`) is not an error worth a panic.
pub(super) fn out(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

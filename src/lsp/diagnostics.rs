//! The checker's diagnostics of a playbook, by the file each points into, as the editor shows
//! them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::document::Doc;
use super::text::{range, Position, Range};
use crate::check::check_source;
use crate::diagnostic::{source, Diag};

/// One diagnostic as the editor shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// Where, in its file.
    pub range: Range,
    /// `rollout::…`
    pub code: String,
    /// Error or warning.
    pub error: bool,
    /// What is wrong, then what to do.
    pub message: String,
    /// The other labels: where and what they say.
    pub related: Vec<(Range, String)>,
}

/// Every diagnostic of the playbook `text` at `path`, by the file it points into (the playbook,
/// an imported file, a hook), in the checker's order.
pub fn diagnostics(doc: Doc<'_>, text: &str) -> BTreeMap<PathBuf, Vec<Shown>> {
    let path = doc.path;
    let name = path.display().to_string();
    let dir = doc.dir().unwrap_or_default();
    let checked = check_source(source(&name, text.to_string()), &dir, &doc.options());
    let mut out: BTreeMap<PathBuf, Vec<Shown>> = BTreeMap::new();
    out.entry(path.to_path_buf()).or_default();
    for diag in &checked.diags {
        let (file, shown) = show(diag, path, &dir);
        out.entry(file).or_default().push(shown);
    }
    out
}

/// Where a diagnostic belongs and how it shows.
fn show(diag: &Diag, path: &Path, dir: &Path) -> (PathBuf, Shown) {
    let (file, text) = match &diag.source {
        Some(source) if source.name() != path.display().to_string() => {
            let named = Path::new(source.name());
            let file = if named.is_absolute() {
                named.to_path_buf()
            } else {
                dir.join(named)
            };
            (file, source.inner().as_str())
        }
        Some(source) => (path.to_path_buf(), source.inner().as_str()),
        None => (path.to_path_buf(), ""),
    };
    let mut labels = diag.labels.iter();
    let primary = labels.next().map(|l| range(text, l.span)).unwrap_or(Range {
        start: Position {
            line: 0,
            character: 0,
        },
        end: Position {
            line: 0,
            character: 0,
        },
    });
    let message = if diag.help.is_empty() {
        diag.message.clone()
    } else {
        format!("{}\nhelp: {}", diag.message, diag.help)
    };
    (
        file,
        Shown {
            range: primary,
            code: format!("rollout::{}", diag.code.as_str()),
            error: diag.severity == crate::diagnostic::Severity::Error,
            message,
            related: labels
                .map(|l| (range(text, l.span), l.text.clone()))
                .collect(),
        },
    )
}

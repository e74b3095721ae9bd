//! Formatting a document as `rollout fmt` would.

use super::document::Doc;
use crate::check::check_source;
use crate::diagnostic::{source, Diag};

/// The text in `rollout fmt`'s layout, or `None` when it has errors (which formatting could
/// hide, as `rollout fmt` refuses too).
pub fn format(doc: Doc<'_>, text: &str) -> Option<String> {
    let file = crate::syntax::parse(&source("playbook", text.to_string())).ok()?;
    let checked = check_source(
        source(doc.path.display().to_string(), text.to_string()),
        &doc.dir().unwrap_or_default(),
        &doc.options(),
    );
    if checked.diags.iter().any(Diag::is_error) {
        return None;
    }
    Some(crate::syntax::fmt::format(&file, text))
}

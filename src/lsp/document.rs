//! The document an editor asks about: where it lives, how the checker reads it, and the files
//! it imports.

use std::path::{Path, PathBuf};

use crate::check::Options;
use crate::diagnostic::source;
use crate::syntax::ast::{File, Header, HeaderKind, Statement};

/// Where a document lives: its path, and whether that is a file on disk, whose imports and
/// hooks are read beside it. A document that is not (an untitled buffer, a remote URI) gets
/// nothing read on its behalf, wherever its paths point.
#[derive(Debug, Clone, Copy)]
pub struct Doc<'a> {
    /// Its path (for a document elsewhere, its URI's path, a name only).
    pub path: &'a Path,
    /// Whether it is a file on disk.
    pub on_disk: bool,
}

impl Doc<'_> {
    /// The directory its paths are relative to, when it is on disk.
    pub(super) fn dir(&self) -> Option<PathBuf> {
        self.on_disk.then(|| {
            self.path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        })
    }

    /// How the checker reads it.
    pub(super) fn options(&self) -> Options {
        Options {
            detached: !self.on_disk,
            ..Options::default()
        }
    }
}

/// The AST of `text`, when it parses.
pub(super) fn parse(text: &str) -> Option<File> {
    crate::syntax::parse(&source("playbook", text.to_string())).ok()
}

/// The headers of a file, in order.
pub(super) fn headers(file: &File) -> impl Iterator<Item = &Header> {
    file.statements.iter().filter_map(|s| match s {
        Statement::Header(h) => Some(h),
        Statement::Step(_) => None,
    })
}

/// The files `text` imports (read relative to the document, when it is on disk), each with its
/// text, that parse.
pub(super) fn imports(doc: Doc<'_>, text: &str) -> Vec<(String, File)> {
    let (Some(dir), Some(file)) = (doc.dir(), parse(text)) else {
        return Vec::new();
    };
    headers(&file)
        .filter_map(|h| match &h.kind {
            HeaderKind::Import(s) => s.as_plain(),
            _ => None,
        })
        .filter_map(|name| {
            let text = crate::input::read_text(&dir.join(name)).ok()?;
            let file = parse(&text)?;
            Some((text, file))
        })
        .collect()
}

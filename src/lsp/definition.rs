//! Go to definition: where a parameter or a step definition is written, or the file an import
//! names.

use std::path::PathBuf;

use super::document::{headers, parse, Doc};
use super::text::{offset, range, word_at, Position, Range};
use crate::syntax::ast::{File, HeaderKind};

/// Where what is at `at` is defined: a parameter, a step definition (here or in an imported
/// file), or the imported file a string names, when it is a regular file (an editor sent to
/// `/dev/zero` would read it forever). The file and the range in it.
pub fn definition(doc: Doc<'_>, text: &str, at: Position) -> Option<(PathBuf, Range)> {
    let path = doc.path;
    let dir = doc.dir();
    let file = parse(text)?;
    let here = offset(text, at);
    for h in headers(&file) {
        if let HeaderKind::Import(s) = &h.kind {
            if s.span.start <= here && here <= s.span.end {
                let target = dir.as_ref()?.join(s.as_plain()?);
                if !target.is_file() {
                    return None;
                }
                let zero = Position {
                    line: 0,
                    character: 0,
                };
                return Some((
                    target,
                    Range {
                        start: zero,
                        end: zero,
                    },
                ));
            }
        }
    }
    let (_, word) = word_at(text, here)?;
    let mut places: Vec<(PathBuf, String, File)> =
        vec![(path.to_path_buf(), text.to_string(), file)];
    let names = headers(&places[0].2)
        .filter_map(|h| match &h.kind {
            HeaderKind::Import(s) => s.as_plain(),
            _ => None,
        })
        .collect::<Vec<_>>();
    for name in dir.iter().flat_map(|dir| names.iter().map(|n| dir.join(n))) {
        let imported = name;
        if let Ok(text) = crate::input::read_text(&imported) {
            if let Some(file) = parse(&text) {
                places.push((imported, text, file));
            }
        }
    }
    for (file_path, text, file) in &places {
        for h in headers(file) {
            let name = match &h.kind {
                HeaderKind::Param { name, .. } => name,
                HeaderKind::StepDef(def) => &def.name,
                _ => continue,
            };
            if name.name == word {
                return Some((file_path.clone(), range(text, name.span)));
            }
        }
    }
    None
}

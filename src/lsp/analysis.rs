//! What the editor asks of one playbook's text, answered without I/O beyond reading imported
//! files: the checker's diagnostics (by file), the formatter's layout, hovers, completions and
//! definitions. Nothing here may panic on half-typed text: every keystroke of every example is
//! a test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::check::{check_source, Options};
use crate::diagnostic::{source, Diag};
use crate::syntax::ast::{File, HeaderKind, Statement};
use crate::syntax::span::Span;

/// A place in a text: 0-based line and UTF-16 column, as the protocol counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 0-based line.
    pub line: u32,
    /// 0-based column in UTF-16 code units.
    pub character: u32,
}

/// A range of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Where it starts.
    pub start: Position,
    /// Where it ends (exclusive).
    pub end: Position,
}

/// The position of byte `offset` of `text`.
pub fn position(text: &str, offset: usize) -> Position {
    let offset = floor_char(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let character = text[start..offset].encode_utf16().count() as u32;
    Position { line, character }
}

/// The byte offset of `at` in `text` (clamped to the text).
pub fn offset(text: &str, at: Position) -> usize {
    let mut start = 0;
    for _ in 0..at.line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let mut units = 0;
    for (i, c) in text[start..end].char_indices() {
        if units >= at.character as usize {
            return start + i;
        }
        units += c.len_utf16();
    }
    end
}

fn floor_char(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The range of `span` in `text`.
pub fn range(text: &str, span: Span) -> Range {
    Range {
        start: position(text, span.start),
        end: position(text, span.end.max(span.start)),
    }
}

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
    fn dir(&self) -> Option<PathBuf> {
        self.on_disk.then(|| {
            self.path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        })
    }

    /// How the checker reads it.
    fn options(&self) -> Options {
        Options {
            detached: !self.on_disk,
            ..Options::default()
        }
    }
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

/// The word (letters, digits, `_`, `.` of a percentile) around byte `at`, and where it starts.
fn word_at(text: &str, at: usize) -> Option<(usize, &str)> {
    let at = floor_char(text, at.min(text.len()));
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '.' || c == '%';
    let start = text[..at]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(at, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .find(|(_, c)| !is_word(*c))
        .map_or(text.len(), |(i, _)| at + i);
    (start < end).then(|| (start, &text[start..end]))
}

/// What hovering at `at` shows, as Markdown.
pub fn hover(doc: Doc<'_>, text: &str, at: Position) -> Option<String> {
    let (_, word) = word_at(text, offset(text, at))?;
    if let Some((_, meaning)) = super::words::WORDS.iter().find(|(w, _)| *w == word) {
        return Some(format!("**{word}**: {meaning}"));
    }
    if let Some(p) = word.strip_prefix('p').filter(|p| p.parse::<f64>().is_ok()) {
        return Some(format!(
            "**{word}**: the {p}th percentile of Duration (`{word} duration`)"
        ));
    }
    if let Some(unit) = unit(word) {
        return Some(format!("**{word}**: {unit}"));
    }
    let file = parse(text)?;
    for (text, file) in std::iter::once((text.to_string(), file)).chain(imports(doc, text)) {
        for header in headers(&file) {
            match &header.kind {
                HeaderKind::Param { name, .. } if name.name == word => {
                    let written = text
                        .get(header.span.start..header.span.end)
                        .unwrap_or_default();
                    let value = resolved(doc, &text, word);
                    return Some(format!(
                        "```\n{written}\n```\nvalue in force: {}",
                        value.unwrap_or_else(|| "see the line".into())
                    ));
                }
                HeaderKind::StepDef(def) if def.name.name == word => {
                    let body = text
                        .get(header.span.start..header.span.end)
                        .unwrap_or_default();
                    return Some(format!("```\n{body}\n```"));
                }
                _ => {}
            }
        }
    }
    None
}

/// A unit's meaning, for a number with one (`10m`, `5%`, `500ms`).
fn unit(word: &str) -> Option<String> {
    let digits = word.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    if digits.len() == word.len() || digits.is_empty() {
        return None;
    }
    let unit = match digits {
        "%" => "a percentage (at most two decimals; Lambda weights have a 0.01% resolution)",
        "ms" => "a duration in milliseconds",
        "s" => "a duration in seconds",
        "m" => "a duration in minutes",
        "h" => "a duration in hours",
        "d" => "a duration in days",
        _ => return None,
    };
    Some(unit.to_string())
}

/// The value in force of parameter `name`, from the checked plan.
fn resolved(doc: Doc<'_>, text: &str, name: &str) -> Option<String> {
    let checked = check_source(
        source(doc.path.display().to_string(), text.to_string()),
        &doc.dir().unwrap_or_default(),
        &doc.options(),
    );
    let plan = checked.plan?;
    plan.params
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.value.to_string())
}

fn parse(text: &str) -> Option<File> {
    crate::syntax::parse(&source("playbook", text.to_string())).ok()
}

fn headers(file: &File) -> impl Iterator<Item = &crate::syntax::ast::Header> {
    file.statements.iter().filter_map(|s| match s {
        Statement::Header(h) => Some(h),
        Statement::Step(_) => None,
    })
}

/// The files `text` imports (read relative to the document, when it is on disk), each with its
/// text, that parse.
fn imports(doc: Doc<'_>, text: &str) -> Vec<(String, File)> {
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

/// One completion: the label, what kind, and a word of detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// What is inserted.
    pub label: String,
    /// `keyword`, `metric`, `parameter`, `step`.
    pub kind: &'static str,
    /// What it is.
    pub detail: String,
}

/// Statement keywords: steps and headers.
const STATEMENTS: &[&str] = &[
    "publish",
    "shift",
    "wait",
    "approve",
    "promote",
    "rollback",
    "ramp",
    "run",
    "use version",
    "update code from",
    "rollout",
    "function",
    "alias",
    "region",
    "param",
    "import",
    "health",
    "on failure run",
    "on success run",
    "step",
];

/// What a health block holds.
const HEALTH: &[&str] = &[
    "error rate",
    "errors",
    "invocations",
    "throttles",
    "p99 duration",
    "p95 duration",
    "avg duration",
    "max duration",
    "concurrency",
    "min invocations",
    "inconclusive fail",
    "inconclusive pass",
    "alarm",
    "script",
    "metrics delay",
    "confidence",
    "shared failure hold up to",
    "shared failure rollback",
    "warm up",
    "async",
    "of new",
    "of old",
    "over",
];

/// What fits at `at`: inside a `${`, parameter names; in a `health` block, metrics and
/// settings; elsewhere, statements and the step definitions to call.
pub fn complete(doc: Doc<'_>, text: &str, at: Position) -> Vec<Completion> {
    let at = floor_char(text, offset(text, at).min(text.len()));
    let before = &text[..at];
    let files: Vec<(String, File)> = parse(text)
        .map(|f| (text.to_string(), f))
        .into_iter()
        .chain(imports(doc, text))
        .collect();
    let params = || {
        files.iter().flat_map(|(_, f)| {
            headers(f).filter_map(|h| match &h.kind {
                HeaderKind::Param { name, .. } => Some(Completion {
                    label: name.name.clone(),
                    kind: "parameter",
                    detail: "parameter".into(),
                }),
                _ => None,
            })
        })
    };
    let in_interpolation = before
        .rfind("${")
        .is_some_and(|i| !before[i..].contains('}'));
    if in_interpolation {
        return params().collect();
    }
    let in_health = before.rfind("health").is_some_and(|i| {
        let after = &before[i..];
        after.matches('{').count() > after.matches('}').count()
    });
    let mut out: Vec<Completion> = if in_health {
        HEALTH
            .iter()
            .map(|m| Completion {
                label: m.to_string(),
                kind: "metric",
                detail: "health".into(),
            })
            .collect()
    } else {
        STATEMENTS
            .iter()
            .map(|k| Completion {
                label: k.to_string(),
                kind: "keyword",
                detail: "statement".into(),
            })
            .collect()
    };
    if !in_health {
        for (_, file) in &files {
            for h in headers(file) {
                if let HeaderKind::StepDef(def) = &h.kind {
                    let params: Vec<&str> = def.params.iter().map(|p| p.name.as_str()).collect();
                    out.push(Completion {
                        label: format!("{}({})", def.name.name, params.join(", ")),
                        kind: "step",
                        detail: "step definition".into(),
                    });
                }
            }
        }
    }
    out.extend(params());
    out
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<(PathBuf, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let path = e.unwrap().path();
                (path.extension().is_some_and(|x| x == "rollout"))
                    .then(|| (path.clone(), std::fs::read_to_string(&path).unwrap()))
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_keystroke_of_every_example_is_answered_without_a_panic() {
        for (path, text) in examples() {
            let ends: Vec<usize> = text.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
            for end in ends {
                let typed = &text[..end];
                let at = position(typed, typed.len());
                let doc = Doc {
                    path: &path,
                    on_disk: true,
                };
                diagnostics(doc, typed);
                hover(doc, typed, at);
                complete(doc, typed, at);
                definition(doc, typed, at);
                format(doc, typed);
            }
        }
    }

    #[test]
    fn positions_count_utf16_and_round_trip() {
        let text = "# café ☕ 𝄞\npublish\n";
        let at = text.find("publish").unwrap();
        assert_eq!(
            position(text, at),
            Position {
                line: 1,
                character: 0
            }
        );
        let clef = text.find('𝄞').unwrap();
        assert_eq!(position(text, clef).character, 9, "☕ is one unit, 𝄞 two");
        assert_eq!(offset(text, position(text, clef)), clef);
        assert_eq!(
            offset(
                text,
                Position {
                    line: 9,
                    character: 0
                }
            ),
            text.len()
        );
    }

    #[test]
    fn hovers_complete_and_definitions_know_the_playbook() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/two-stage.rollout");
        let text = std::fs::read_to_string(&path).unwrap();
        let path = Doc {
            path: &path,
            on_disk: true,
        };
        let at = |needle: &str| position(&text, text.find(needle).unwrap() + 1);
        assert!(hover(path, &text, at("publish"))
            .unwrap()
            .contains("freezes the $LATEST"));
        let items = complete(path, &text, position(&text, text.len()));
        assert!(items.iter().any(|c| c.label == "promote"));
        let health = text.find("health").unwrap();
        let inside = text[health..].find('\n').unwrap() + health + 1;
        let metrics = complete(path, &text, position(&text, inside));
        assert!(
            metrics.iter().any(|c| c.label == "error rate"),
            "{metrics:?}"
        );
    }
}

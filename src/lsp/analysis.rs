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

/// Every diagnostic of the playbook `text` at `path`, by the file it points into (the playbook,
/// an imported file, a hook), in the checker's order.
pub fn diagnostics(path: &Path, text: &str) -> BTreeMap<PathBuf, Vec<Shown>> {
    let name = path.display().to_string();
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let checked = check_source(source(&name, text.to_string()), &dir, &Options::default());
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

/// The text in `rollout fmt`'s layout, or `None` when it does not parse.
pub fn format(text: &str) -> Option<String> {
    let file = crate::syntax::parse(&source("playbook", text.to_string())).ok()?;
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

/// The meaning of each keyword, metric and unit, in the words of docs/language.md.
const WORDS: &[(&str, &str)] = &[
    ("rollout", "`rollout \"name\"`: the display name, in progress output and the lease"),
    ("function", "`function \"a\", \"checkout-*\", tagged \"team=x\"`: the functions that move together, by name, glob pattern or tag"),
    ("tagged", "`tagged \"key=value\"`: every function of the region with this tag"),
    ("alias", "`alias \"live\"`: the alias whose weighted routing moves"),
    ("region", "`region \"eu-west-1\"`: the AWS region"),
    ("param", "`param NAME = VALUE`: a parameter; `--set NAME=VALUE` overrides it"),
    ("import", "`import \"file.rollout\"`: parameters, health and step definitions from another file"),
    ("health", "`health every D { … }`: what healthy means, judged every D on settled metrics"),
    ("every", "how often health is judged, or a ramp's interval"),
    ("on", "`on failure run \"x.rhai\"` / `on success run \"x.rhai\"`: a hook at the end"),
    ("failure", "`on failure run`: runs before the rollback"),
    ("success", "`on success run`: runs after the promotion"),
    ("run", "`run \"x.rhai\"`: a rhai hook that must return true"),
    ("step", "`step NAME(PARAMS) { … }`: a step definition, called as `NAME(…)`"),
    ("timeout", "`run \"x.rhai\" timeout D`, `script \"x.rhai\" timeout D`: how long a hook may take (a hook that takes longer fails)"),
    ("update", "`update code from \"x.zip\"`: UpdateFunctionCode on $LATEST, then wait until it is Successful"),
    ("code", "`update code from \"x.zip\"`"),
    ("from", "`update code from \"x.zip\"`"),
    ("publish", "`publish [\"description\"]`: freezes the $LATEST read before the rollout into a numbered version, `new`"),
    ("use", "`use version N`: an existing version is `new`"),
    ("version", "`use version N`"),
    ("shift", "`shift P% to new`: the alias sends P% of invocations to `new`"),
    ("to", "`shift P% to new`, `ramp to P% by S% every D`"),
    ("new", "the version being rolled out"),
    ("old", "the version the alias served when the rollout began"),
    ("wait", "`wait D`, or `wait D until healthy`: a bake judging D of traffic as it settles (`wait MIN..MAX until healthy`: adaptive)"),
    ("until", "`wait D until healthy`"),
    ("healthy", "`wait D until healthy`: judged by the health block"),
    ("approve", "`approve [\"message\"]`: waits for a person (terminal, `rollout approve`, or --auto-approve)"),
    ("promote", "`promote`: `new` gets all traffic; the rollout ends"),
    ("rollback", "`rollback`: `old` gets all traffic; the rollout ends rolled back"),
    ("ramp", "`ramp to P% by S% every D`: shifts in increments, baking D after each"),
    ("by", "`ramp to P% by S% every D`: the increment"),
    ("min", "`min invocations N`: the least invocations of `new` per bake for a conclusive verdict"),
    ("invocations", "invocations (Sum) of a version; `min invocations N`: the sample-size guard"),
    ("inconclusive", "`inconclusive fail|pass`: what a bake without enough evidence counts as"),
    ("pass", "`inconclusive pass`"),
    ("fail", "`inconclusive fail`"),
    ("alarm", "`alarm \"NAME\"`: a CloudWatch alarm (metric or composite) that must not be in ALARM"),
    ("script", "`script \"x.rhai\"`: a rhai health check that must return true"),
    ("of", "`METRIC of new|old`: which version's metric"),
    ("over", "`METRIC over D`: the window the metric is read over"),
    ("errors", "errors (Sum) of a version"),
    ("error", "`error rate`: errors ÷ invocations, in percent"),
    ("rate", "`error rate`: errors ÷ invocations, in percent"),
    ("throttles", "throttles (Sum) of a version"),
    ("duration", "`pNN duration`, `avg duration`, `max duration`: Duration of a version, in milliseconds"),
    ("avg", "`avg duration`: the average Duration"),
    ("max", "`max duration`: the maximum Duration"),
    ("concurrency", "concurrent executions (Maximum) of a version"),
    ("metrics", "`metrics delay D`: a period is judged once its end is D old"),
    ("delay", "`metrics delay D`"),
    ("confidence", "`confidence P%`: the chance a version meeting every check is not rolled back"),
    ("shared", "`shared failure hold up to D` or `shared failure rollback`: what a bake does when old fails as much as a check allows new"),
    ("hold", "`shared failure hold up to D`: traffic stays, the bake's clock stops while old fails as much as new (default, up to 30m)"),
    ("up", "`shared failure hold up to D`, `warm up D`"),
    ("warm", "`warm up D [including errors]`: new's first D of traffic is left out of latency (and error) checks"),
    ("including", "`warm up D including errors`: error checks leave the warm-up out too"),
    ("async", "`async`: the function is invoked asynchronously; each failed event may be retried, so errors are counted in clusters"),
];

/// What hovering at `at` shows, as Markdown.
pub fn hover(path: &Path, text: &str, at: Position) -> Option<String> {
    let (_, word) = word_at(text, offset(text, at))?;
    if let Some((_, meaning)) = WORDS.iter().find(|(w, _)| *w == word) {
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
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for (text, file) in std::iter::once((text.to_string(), file)).chain(imports(&dir, text)) {
        for header in headers(&file) {
            match &header.kind {
                HeaderKind::Param { name, .. } if name.name == word => {
                    let written = text
                        .get(header.span.start..header.span.end)
                        .unwrap_or_default();
                    let value = resolved(path, &text, word);
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
fn resolved(path: &Path, text: &str, name: &str) -> Option<String> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let checked = check_source(
        source(path.display().to_string(), text.to_string()),
        &dir,
        &Options::default(),
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

/// The files `text` imports (read relative to `dir`), each with its text, that parse.
fn imports(dir: &Path, text: &str) -> Vec<(String, File)> {
    let Some(file) = parse(text) else {
        return Vec::new();
    };
    headers(&file)
        .filter_map(|h| match &h.kind {
            HeaderKind::Import(s) => s.as_plain(),
            _ => None,
        })
        .filter_map(|name| {
            let text = std::fs::read_to_string(dir.join(name)).ok()?;
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
pub fn complete(path: &Path, text: &str, at: Position) -> Vec<Completion> {
    let at = floor_char(text, offset(text, at).min(text.len()));
    let before = &text[..at];
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let files: Vec<(String, File)> = parse(text)
        .map(|f| (text.to_string(), f))
        .into_iter()
        .chain(imports(&dir, text))
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
/// file), or the imported file a string names. The file and the range in it.
pub fn definition(path: &Path, text: &str, at: Position) -> Option<(PathBuf, Range)> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let file = parse(text)?;
    let here = offset(text, at);
    for h in headers(&file) {
        if let HeaderKind::Import(s) = &h.kind {
            if s.span.start <= here && here <= s.span.end {
                let target = dir.join(s.as_plain()?);
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
    for name in headers(&places[0].2)
        .filter_map(|h| match &h.kind {
            HeaderKind::Import(s) => s.as_plain(),
            _ => None,
        })
        .collect::<Vec<_>>()
    {
        let imported = dir.join(name);
        if let Ok(text) = std::fs::read_to_string(&imported) {
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
                diagnostics(&path, typed);
                hover(&path, typed, at);
                complete(&path, typed, at);
                definition(&path, typed, at);
                format(typed);
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
        let at = |needle: &str| position(&text, text.find(needle).unwrap() + 1);
        assert!(hover(&path, &text, at("publish"))
            .unwrap()
            .contains("freezes the $LATEST"));
        let items = complete(&path, &text, position(&text, text.len()));
        assert!(items.iter().any(|c| c.label == "promote"));
        let health = text.find("health").unwrap();
        let inside = text[health..].find('\n').unwrap() + health + 1;
        let metrics = complete(&path, &text, position(&text, inside));
        assert!(
            metrics.iter().any(|c| c.label == "error rate"),
            "{metrics:?}"
        );
    }
}

#[cfg(test)]
mod words {
    use super::WORDS;

    #[test]
    fn every_keyword_of_the_grammar_has_a_meaning_to_hover() {
        let grammar = include_str!("../../grammar/rollout.pest");
        let start = grammar.find("keyword = _{").expect("the keyword rule");
        let end = start + grammar[start..].find("\n}").expect("its end");
        let missing: Vec<&str> = grammar[start..end]
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|k| !WORDS.iter().any(|(w, _)| w == k))
            .collect();
        assert!(missing.is_empty(), "no hover for {missing:?}");
    }
}

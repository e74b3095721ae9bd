//! What hovering over a word shows: a keyword's meaning, a unit's, or where a parameter or a
//! step definition is written (here or in an imported file) and a parameter's value in force.

use super::document::{headers, imports, parse, Doc};
use super::text::{offset, word_at, Position};
use crate::check::check_source;
use crate::diagnostic::source;
use crate::syntax::ast::HeaderKind;

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

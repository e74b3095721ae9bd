//! Completions: what may be typed at a place.

use super::document::{headers, imports, parse, Doc};
use super::text::{floor_char, offset, Position};
use crate::syntax::ast::{File, HeaderKind};

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
    "watch",
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
    "waves",
    "window",
    "calendar",
    "outside window pause",
    "outside window rollback",
    "notify eventbridge",
    "notify sns",
    "keep 3 versions",
    "metric",
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
    "cold starts",
    "p99 init duration",
    "avg init duration",
    "per invocation",
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
    "observe",
    "no new error signatures",
    "seen more than",
    "matching",
    "inconclusive extend up to",
    "on violation rollback",
    "on violation pause up to",
    "of new",
    "of old",
    "over",
];

/// What a `waves` block holds.
const WAVES: &[&str] = &[
    "wave",
    "region",
    "account",
    "role",
    "external id",
    "between waves wait",
    "until healthy",
    "on failure rollback this wave",
    "on failure rollback every wave",
];

/// What fits at `at`: inside a `${`, parameter names; in a `health` block, metrics and
/// settings; in a `waves` block, its lines; elsewhere, statements and the step definitions to
/// call.
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
    if in_waves(before) {
        return WAVES
            .iter()
            .map(|w| Completion {
                label: w.to_string(),
                kind: "keyword",
                detail: "waves".into(),
            })
            .chain(params())
            .collect();
    }
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

/// Whether `before` ends inside a `waves { … }` block: after the last `waves {`, more braces open
/// than close.
fn in_waves(before: &str) -> bool {
    let Some(start) = before.rmatch_indices("waves").find_map(|(i, _)| {
        let word_start = before[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        let opens = before[i + "waves".len()..]
            .trim_start_matches([' ', '\t'])
            .starts_with('{');
        (word_start && opens).then_some(i)
    }) else {
        return false;
    };
    let after = &before[start..];
    after.matches('{').count() > after.matches('}').count()
}

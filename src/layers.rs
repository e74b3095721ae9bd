//! The layers point one way: a test that reads every source file and fails when a module names
//! one above it, in a `use` (grouped or not) or a `crate::` path in code, or when two modules of
//! one layer name each other (a cycle). From the bottom: exit codes, bounded reading of input
//! files and the span of source text; diagnostics and syntax (which reports with them); the plan; the judge
//! (pure statistics and time); the cloud (back ends and the simulated world); hooks; the checker
//! (which compiles hooks at check time); the engine; notifications (the engine's events sent
//! to EventBridge and SNS); the event renderers, the exporter, the
//! language server and the replay of a past window; the simulation driver; the commands.

use std::collections::BTreeSet;
use std::path::Path;

const LAYERS: &[&[&str]] = &[
    &["exit", "input", "span"],
    &["diagnostic", "syntax"],
    &["plan"],
    &["judge"],
    &["cloud"],
    &["hooks"],
    &["check"],
    &["engine"],
    &["notify"],
    &["report", "export", "lsp", "replay"],
    &["simulation"],
    &["cli"],
];

fn layer(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` has no layer: add it to LAYERS"))
}

/// The top-level modules a source text names: `crate::NAME` in a path or a `use`, and the first
/// name of each item of a grouped `use crate::{NAME::…, NAME, …}`, over any number of lines.
fn named(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, prefix) in text.match_indices("crate::") {
        // `$crate::` is the crate too; `my_crate::` is not.
        if text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = text[at + prefix.len()..].trim_start();
        match rest.strip_prefix('{') {
            Some(group) => names.extend(heads(group)),
            None => names.extend(ident(rest)),
        }
    }
    names.remove("self");
    names
}

/// The first name of each item of a `use` group, from the text just after its `{`: `a` and `c`
/// of `a::b, c::{d, e}}`. Line comments between items are skipped.
fn heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let (mut depth, mut item_starts, mut comment) = (0usize, true, false);
    for (i, c) in group.char_indices() {
        match c {
            '\n' if comment => comment = false,
            _ if comment => {}
            '/' if group[i..].starts_with("//") => comment = true,
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_starts = true,
            c if item_starts && !c.is_whitespace() => {
                heads.extend(ident(&group[i..]));
                item_starts = false;
            }
            _ => {}
        }
    }
    heads
}

/// The identifier `text` starts with, if any.
fn ident(text: &str) -> Option<String> {
    let name: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// What a file of the top-level module `top` names above its layer, one line each.
fn upward(file: &str, top: &str, text: &str) -> Vec<String> {
    named(text)
        .into_iter()
        .filter(|name| layer(name) > layer(top))
        .map(|name| format!("{file} ({top}) names crate::{name}"))
        .collect()
}

/// `(file, top-level module, text)` of every source file below `dir`.
fn files(dir: &Path, out: &mut Vec<(String, String, String)>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path
                .strip_prefix(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
                .expect("below src");
            let top = relative
                .components()
                .next()
                .and_then(|c| c.as_os_str().to_str())
                .unwrap_or_default()
                .trim_end_matches(".rs")
                .to_string();
            let text = std::fs::read_to_string(&path).expect("readable source");
            out.push((relative.display().to_string(), top, text));
        }
    }
}

#[test]
fn no_module_names_one_above_it() {
    let mut all = Vec::new();
    files(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut all,
    );
    let wrong: Vec<String> = all
        .iter()
        .filter(|(_, top, _)| !["lib", "main", "layers"].contains(&top.as_str()))
        .flat_map(|(file, top, text)| upward(file, top, text))
        .collect();
    assert!(all.len() > 50, "read {} files", all.len());
    assert_eq!(wrong, Vec::<String>::new(), "imports that point up");
}

#[test]
fn no_two_modules_of_a_layer_name_each_other() {
    let mut all = Vec::new();
    files(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut all,
    );
    let mut names: std::collections::BTreeMap<&str, BTreeSet<String>> = Default::default();
    for (_, top, text) in &all {
        names.entry(top.as_str()).or_default().extend(named(text));
    }
    let cycles: Vec<String> = names
        .iter()
        .flat_map(|(a, named_by_a)| {
            let names = &names;
            named_by_a.iter().filter_map(move |b| {
                let back = names.get(b.as_str())?.contains(*a);
                (back && *a < b.as_str()).then(|| format!("{a} and {b} name each other"))
            })
        })
        .collect();
    assert_eq!(cycles, Vec::<String>::new());
}

#[test]
fn the_rule_catches_an_upward_import() {
    let grouped = "use crate::{\n    plan::Millis,\n    // the events\n    engine::{events::Event, Outcome},\n};\n";
    assert_eq!(
        upward("cloud/x.rs", "cloud", grouped),
        ["cloud/x.rs (cloud) names crate::engine"]
    );
    let path = "fn f() {\n    let x = crate::plan::Millis(1);\n    crate::cli::run(x);\n}\n";
    assert_eq!(
        upward("engine/x.rs", "engine", path),
        ["engine/x.rs (engine) names crate::cli"]
    );
    let one_line = "use crate::{check::Options, report::TextSink as Text};";
    assert_eq!(
        upward("hooks/x.rs", "hooks", one_line),
        [
            "hooks/x.rs (hooks) names crate::check",
            "hooks/x.rs (hooks) names crate::report"
        ]
    );
}

#[test]
fn the_rule_lets_downward_and_level_imports_pass() {
    let text = "use crate::{self as root, cloud::Alias, plan::{Millis, Plan}};\nuse crate::engine::events::Event;\nuse my_crate::cli::Run;\nlet x = crate::judge::Verdict::Pass;\nuse crate::export::{states, steps};\n";
    assert_eq!(upward("report/x.rs", "report", text), Vec::<String>::new());
    assert_eq!(
        named(text),
        BTreeSet::from(["cloud", "engine", "export", "judge", "plan"].map(String::from))
    );
}

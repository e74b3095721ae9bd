//! The layers point one way: a test that reads every source file and fails when a module names
//! one above it. From the bottom: exit codes and bounded reading of input files; diagnostics and syntax (which share the span and
//! the diagnostic type); the plan; the judge (pure statistics and time); the cloud (back ends and the simulated world); hooks; the
//! checker (which compiles hooks at check time); the engine; the event renderers; the simulation
//! driver; the commands.

use std::collections::BTreeSet;
use std::path::Path;

const LAYERS: &[&[&str]] = &[
    &["exit", "input"],
    &["diagnostic", "syntax"],
    &["plan"],
    &["judge"],
    &["cloud"],
    &["hooks"],
    &["check"],
    &["engine"],
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

/// The top-level modules a source text names as `crate::NAME`.
fn named(text: &str) -> BTreeSet<String> {
    text.match_indices("crate::")
        .map(|(at, prefix)| {
            text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// `(file, top-level module, modules it names)` of every source file below `dir`.
fn files(dir: &Path, out: &mut Vec<(String, String, BTreeSet<String>)>) {
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
            out.push((relative.display().to_string(), top, named(&text)));
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
    let mut wrong = Vec::new();
    for (file, top, names) in &all {
        if ["lib", "main", "layers"].contains(&top.as_str()) {
            continue;
        }
        for name in names {
            if name != top
                && layer(name) >= layer(top)
                && !LAYERS[layer(top)].contains(&name.as_str())
            {
                wrong.push(format!("{file} ({top}) names crate::{name}"));
            }
        }
    }
    assert!(all.len() > 50, "read {} files", all.len());
    assert_eq!(wrong, Vec::<String>::new(), "imports that point up");
}

#[test]
fn the_rule_catches_an_upward_import() {
    let names = named("use crate::engine::Outcome;\nlet x = crate::plan::Millis(1);");
    assert_eq!(
        names,
        BTreeSet::from(["engine".to_string(), "plan".to_string()])
    );
    assert!(layer("engine") > layer("cloud"));
    assert!(layer("hooks") < layer("check"));
}

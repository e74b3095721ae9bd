//! No input panics the parser, the checker, the planner or the formatter: random bytes, valid playbooks
//! truncated or mutated, brackets and step calls nested at any depth, and very long files.

use std::path::Path;

use proptest::prelude::*;
use rollout::check::{check_source, Options};
use rollout::diagnostic::source;
use rollout::syntax::{fmt, parse};

use crate::test::{rollout_files, root};

fn corpus() -> Vec<String> {
    let mut texts = Vec::new();
    for dir in ["examples", "tests/fixtures/ok", "tests/fixtures/err"] {
        for path in rollout_files(&root().join(dir)) {
            texts.push(std::fs::read_to_string(path).unwrap());
        }
    }
    texts
}

/// Everything a user could run on the text: check, plan when it is valid, and fmt when it parses
/// (which must then be idempotent and keep the statements).
fn exercise(text: &str) {
    let dir = root().join("tests/fixtures/ok");
    let options = Options {
        sets: vec![("canary".into(), "7%".into())],
        ..Options::default()
    };
    let checked = check_source(source("fuzz", text.to_string()), Path::new(&dir), &options);
    assert_eq!(
        checked.plan.is_some(),
        !checked.diags.iter().any(|d| d.is_error())
    );
    if let Some(plan) = &checked.plan {
        assert!(rollout::cli::plan::preview(plan, text).contains("duration"));
    }
    if let Ok(file) = parse(&source("fuzz", text.to_string())) {
        let once = fmt::format(&file, text);
        let reparsed = parse(&source("once", once.clone())).expect("formatted text parses");
        assert!(
            fmt::same_statements(&file, &reparsed),
            "fmt changed statements of {text:?}"
        );
        assert_eq!(
            fmt::format(&reparsed, &once),
            once,
            "fmt not idempotent on {text:?}"
        );
    }
}

/// One edit of a valid playbook.
#[derive(Debug, Clone)]
enum Edit {
    Truncate(usize),
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize),
}

fn apply(text: &str, edit: &Edit) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| i % (chars.len() + 1);
    match edit {
        Edit::Truncate(i) => chars[..at(*i)].iter().collect(),
        Edit::Delete(i, n) => {
            let start = at(*i);
            let end = (start + n).min(chars.len());
            chars[..start].iter().chain(&chars[end..]).collect()
        }
        Edit::Insert(i, s) => {
            let i = at(*i);
            let (before, after): (String, String) =
                (chars[..i].iter().collect(), chars[i..].iter().collect());
            format!("{before}{s}{after}")
        }
        Edit::Duplicate(i, n) => {
            let start = at(*i);
            let end = (start + n).min(chars.len());
            let piece: String = chars[start..end].iter().collect();
            let (before, after): (String, String) =
                (chars[..end].iter().collect(), chars[end..].iter().collect());
            format!("{before}{piece}{after}")
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    let token = prop_oneof![
        Just(";".to_string()),
        Just("\n".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("#".to_string()),
        Just("%".to_string()),
        Just("${".to_string()),
        Just(" over 5m".to_string()),
        Just(" shift 5% to new".to_string()),
        Just("(".to_string()),
        "[ -~]{0,8}",
    ];
    prop_oneof![
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 0usize..20).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), token).prop_map(|(i, s)| Edit::Insert(i, s)),
        (any::<usize>(), 0usize..40).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_text_from_the_language_alphabet_never_panics(text in "[a-z0-9%.;{}()\"#$ \n<>=*/+,-]{0,200}") {
        exercise(&text);
    }

    #[test]
    fn nesting_at_any_depth_is_followed_or_refused_never_overflows(depth in 1usize..400, kind in 0usize..3) {
        let text = match kind {
            0 => format!("function \"f\"\nalias \"live\"\npublish\n{}promote{}\n", "{ ".repeat(depth), " }".repeat(depth)),
            1 => format!(
                "health {{\n  p99 duration of new < {}800ms{}\n}}\npublish\nshift 5% to new\nwait 1m until healthy\npromote\n",
                "(".repeat(depth),
                ")".repeat(depth)
            ),
            _ => {
                let defs: String = (0..depth).map(|i| format!("step s{i}() {{ s{}() }}\n", i + 1)).collect();
                format!("{defs}step s{depth}() {{ promote }}\npublish\ns0()\n")
            }
        };
        exercise(&text);
        let checked = check_source(source("deep", text.clone()), Path::new("."), &Options::default());
        let refused = checked.diags.iter().any(|d| d.code.as_str() == "too-deep");
        // Braces nest `depth` deep, parentheses one more inside the health block, and the step
        // chain is `depth + 1` calls, the first included.
        let too_deep = match kind {
            0 => depth > 100,
            1 => depth + 1 > 100,
            _ => depth + 1 > 64,
        };
        prop_assert_eq!(refused, too_deep, "depth {} of kind {}", depth, kind);
    }

    #[test]
    fn mutated_playbooks_never_panic(pick in any::<usize>(), edits in proptest::collection::vec(edit(), 1..4)) {
        let corpus = corpus();
        let mut text = corpus[pick % corpus.len()].clone();
        for e in &edits {
            text = apply(&text, e);
        }
        exercise(&text);
    }
}

proptest! {
    // Each case is a file of thousands of lines: fewer cases.
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn very_long_playbooks_with_comments_and_errors_never_panic(steps in 1usize..5000, every in 1usize..50) {
        let body: String = (0..steps)
            .map(|i| {
                if i % every == 0 {
                    format!("shift {}% to nwe  # typo {i}\n", 1 + i % 90)
                } else {
                    format!("shift {}% to new  # step {i}\n", 1 + i % 90)
                }
            })
            .collect();
        exercise(&format!("function \"f\"\nalias \"live\"\npublish\n{body}promote\n"));
    }
}
